"""The glossary is whole: every key term a notebook introduces in bold is in book/glossary.md.

The convention (tools/glossary.py has the details): a notebook introduces a key term once as
``**English term (中文)**``; book/glossary.md lists it with the same Chinese name, and the entry's
definition says "First introduced in {doc}`Section x.y <../notebooks/...>`", linking the first notebook
in _toc.yml reading order that introduces the term. `python tools/glossary.py` lists what is missing,
`python tools/glossary.py --stub` prints the missing entries ready to paste.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIX = "Run `python tools/glossary.py` for the full list and `python tools/glossary.py --stub` for entries to paste."


def _load_tool():
    spec = importlib.util.spec_from_file_location("d2l_glossary_tool", ROOT / "tools" / "glossary.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


glossary = _load_tool()


@pytest.fixture(scope="module")
def report():
    assert (ROOT / "book" / "glossary.md").exists(), "book/glossary.md does not exist"
    return glossary.check(ROOT)


# --- the checker itself, on a small made-up book ------------------------------------------------


def _notebook(path: Path, *markdown: str) -> None:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": text} for text in markdown]
    cells.append({"cell_type": "code", "metadata": {}, "source": "x = 2 ** (3) ** 2  # **not (术语)**",
                  "outputs": [], "execution_count": None})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}), "utf-8")


def _small_book(root: Path, glossary_md: str) -> None:
    (root / "book").mkdir(parents=True)
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n"
        "  - caption: A\n    chapters:\n      - file: notebooks/01-a/01-first\n      - file: notebooks/01-a/02-second\n"
        "  - caption: B\n    chapters:\n      - file: book/glossary\n", "utf-8")
    _notebook(root / "notebooks/01-a/01-first.ipynb",
              "A **Tensor (张量)** holds numbers; **bias (偏置)** shifts; `**code (代码)**` is not a term.",
              "**multilayer perceptron (多层感知机, MLP)** and **epoch (轮次)**; "
              "**ReLU** (修正线性单元) is written wrong.")
    _notebook(root / "notebooks/01-a/02-second.ipynb",
              "Again **tensors (张量)**, then **bias (偏差)** of an estimator, **learning rate (学习率)**.",
              "```python\n**fenced (围栏)**\n```\n**hyperparameter tuning (调参)**")
    _notebook(root / "notebooks/99-draft/01-draft.ipynb", "**draft term (草稿)**")  # not in the toc
    (root / "book/glossary.md").write_text(glossary_md, "utf-8")


def test_checker_on_a_small_book(tmp_path):
    _small_book(tmp_path, """# Glossary

```{glossary}
:sorted:

tensor (张量)
  An array. First introduced in {doc}`Section 1.1 <../notebooks/01-a/01-first>`.

bias (偏置)
  The constant. First introduced in {doc}`/notebooks/01-a/02-second`.

multilayer perceptron (MLP, 多层感知机)
MLP (多层感知机)
  Layers. First introduced in [Section 1.1](../notebooks/01-a/01-first.ipynb).

epoch (迭代周期)
  A pass. First introduced in {doc}`../notebooks/01-a/01-first`.

hyperparameter tuning (调参)
  Tuning, with no link.

dropout
  No Chinese name. First introduced in {doc}`../notebooks/01-a/09-missing`.
```
""")
    report = glossary.check(tmp_path)
    intros = {i.text for i in report.intros}
    assert intros == {"Tensor (张量)", "bias (偏置)", "multilayer perceptron (多层感知机, MLP)", "epoch (轮次)",
                      "tensors (张量)", "bias (偏差)", "learning rate (学习率)", "hyperparameter tuning (调参)"}
    assert [first.text for first, _ in report.missing] == ["learning rate (学习率)"]
    assert [(i.text, [e.name for e in same]) for i, same in report.wrong_chinese] == [
        ("epoch (轮次)", ["epoch (迭代周期)"]), ("bias (偏差)", ["bias (偏置)"])]
    assert [e.name for e, first in report.no_link] == ["hyperparameter tuning (调参)"]
    assert report.no_link[0][1].docname == "notebooks/01-a/02-second"
    assert [(e.name, first.docname) for e, first in report.not_first] == [("bias (偏置)", "notebooks/01-a/01-first")]
    assert len(report.bad_terms) == 1 and "'dropout'" in report.bad_terms[0]
    assert len(report.bad_link) == 1 and "09-missing" in report.bad_link[0]
    assert any("**ReLU** (修正线性单元)" in n for n in report.notes)
    assert any("99-draft/01-draft.ipynb is not in _toc.yml" in n for n in report.notes)
    text = glossary.format_report(report)
    assert "learning rate (学习率)" in text and "Section 1.2" in text
    stub = glossary.stubs(report)
    assert "learning rate (学习率)\n  TODO" in stub
    assert "First introduced in {doc}`Section 1.2 <../notebooks/01-a/02-second>`." in stub


def test_checker_accepts_a_whole_glossary(tmp_path):
    _small_book(tmp_path, "")
    stub = glossary.stubs(glossary.check(tmp_path))
    (tmp_path / "book/glossary.md").write_text(f"# Glossary\n\n```{{glossary}}\n{stub}\n```\n", "utf-8")
    report = glossary.check(tmp_path)
    assert not report.missing
    # The stub gives one entry per (English, Chinese) pair; the "tensor" entry links the first notebook.
    tensor = next(e for e in report.entries if e.name == "Tensor (张量)")
    assert tensor.link == "notebooks/01-a/01-first"
    assert report.ok, glossary.format_report(report)


def test_term_parsing():
    assert glossary.parse_term("stochastic gradient descent (随机梯度下降, SGD)") == (
        "stochastic gradient descent", ("随机梯度下降",))
    assert glossary.parse_term("pooling layer （池化层, also 汇聚层）") == ("pooling layer", ("池化层", "汇聚层"))
    assert glossary.parse_term("reverse KL (反向 KL 散度)") == ("reverse KL", ("反向KL散度",))
    assert glossary.parse_term("ReLU (rectified linear unit)") is None
    assert glossary.parse_term("张量 (tensor)") is None
    assert glossary.english_keys("Leaves") & glossary.english_keys("leaf")
    assert glossary.english_keys("vector–Jacobian products") & glossary.english_keys("vector-Jacobian product")
    assert not glossary.english_keys("layer") & glossary.english_keys("player")


# --- the book -----------------------------------------------------------------------------------


def test_glossary_has_entries_written_english_chinese(report):
    assert report.entries, "book/glossary.md has no {glossary} directive with entries"
    if report.bad_terms:
        pytest.fail("glossary terms not written 'English (中文)':\n" + "\n".join(report.bad_terms), pytrace=False)


def test_every_key_term_is_in_the_glossary(report):
    """Each **English (中文)** of a notebook in _toc.yml is a glossary term with the same Chinese name."""
    if report.missing or report.wrong_chinese:
        pytest.fail(f"{glossary.format_report(report, parts=('terms',))}\n{FIX}", pytrace=False)


def test_glossary_links_where_each_term_is_first_introduced(report):
    """Each entry says 'First introduced in {doc}`...`', linking the first notebook that introduces it."""
    if report.no_link or report.bad_link or report.not_first:
        pytest.fail(f"{glossary.format_report(report, parts=('links',))}\n{FIX}", pytrace=False)
