"""The glossary is whole: every key term a notebook introduces in bold is in book/glossary.md.

The convention (tools/glossary.py has the details): a notebook introduces a key term once as
``**English term (中文)**``, written as a {term} role that links its entry,
``**{term}`English terms (中文) <English term (中文)>`**``; book/glossary.md lists it with the same Chinese
name, under the heading of its initial letter, and the entry's definition says "First introduced in
{doc}`Section x.y <../notebooks/...>`", linking the first notebook in _toc.yml reading order that
introduces the term. `python tools/glossary.py` lists what is missing, `python tools/glossary.py --stub`
prints the missing entries ready to paste, `python tools/glossary.py --link` turns bold terms into roles.
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


def _a_to_z(stub: str) -> str:
    """Glossary entries laid out as the book's glossary: a jump bar, then one directive per letter."""
    blocks = stub.split("\n\n")
    letters = sorted({glossary.initial(b) for b in blocks})
    bar = " · ".join(f"{{ref}}`{x} <glossary-{x.lower()}>`" for x in letters)
    parts = [f"# Glossary\n\nJump to: {bar}\n"]
    for x in letters:
        body = "\n\n".join(b for b in blocks if glossary.initial(b) == x)
        parts.append(f"(glossary-{x.lower()})=\n## {x}\n\n```{{glossary}}\n:sorted:\n\n{body}\n```\n")
    return "\n".join(parts)


def test_checker_accepts_a_whole_glossary(tmp_path):
    _small_book(tmp_path, "")
    stub = glossary.stubs(glossary.check(tmp_path))
    (tmp_path / "book/glossary.md").write_text(_a_to_z(stub), "utf-8")
    report = glossary.check(tmp_path)
    assert not report.missing and not report.layout
    # The stub gives one entry per (English, Chinese) pair; the "tensor" entry links the first notebook.
    tensor = next(e for e in report.entries if e.name == "Tensor (张量)")
    assert tensor.link == "notebooks/01-a/01-first"
    assert tensor.heading == "T"
    # Every bold term is still plain bold: not linked to its entry until --link rewrites it.
    assert len(report.unlinked) == len(report.intros) == 8 and not report.ok
    assert len(glossary.link_notebooks(tmp_path)) == 2
    report = glossary.check(tmp_path)
    assert report.ok, glossary.format_report(report)


def test_bold_term_roles_count_as_introductions_and_must_target_their_entry(tmp_path):
    _small_book(tmp_path, "")
    stub = glossary.stubs(glossary.check(tmp_path))
    (tmp_path / "book/glossary.md").write_text(_a_to_z(stub), "utf-8")
    _notebook(tmp_path / "notebooks/01-a/01-first.ipynb",
              "A **{term}`Tensor (张量)`** holds numbers; **{term}`bias (偏置) <Tensor (张量)>`** shifts.",
              "**{term}`multilayer perceptrons (多层感知机, MLP) <multilayer perceptron (多层感知机)>`** and "
              "**{term}`epoch (轮次) <epochs (轮次)>`**; ``**{term}`code (代码)`**`` is code; "
              "**{term}`a layer <layer>`**.")
    report = glossary.check(tmp_path)
    first = [i for i in report.intros if i.docname.endswith("01-first")]
    assert [(i.text, i.target) for i in first] == [
        ("Tensor (张量)", "Tensor (张量)"), ("bias (偏置)", "Tensor (张量)"),
        ("multilayer perceptrons (多层感知机, MLP)", "multilayer perceptron (多层感知机)"),
        ("epoch (轮次)", "epochs (轮次)")]
    assert first[0].span == (2, 2 + len("**{term}`Tensor (张量)`**"))
    # A role whose target is another entry's term, or no term line at all, is wrong; so is plain bold.
    assert [(i.text, target) for i, target in report.bad_target] == [
        ("bias (偏置)", "bias (偏置)"), ("epoch (轮次)", "epoch (轮次)")]
    assert {i.docname for i, _ in report.unlinked} == {"notebooks/01-a/02-second"}
    assert any("'**{term}`a layer <layer>`**' does not show 'English (中文)'" in n for n in report.notes)
    text = glossary.format_report(report, parts=("roles",))
    assert "write **{term}`bias (偏置)`**" in text and "write **{term}`tensors (张量) <Tensor (张量)>`**" in text


def test_link_rewrites_markdown_cells_only_in_nbformat_layout_and_is_idempotent(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    _small_book(tmp_path, "")
    stub = glossary.stubs(glossary.check(tmp_path))
    (tmp_path / "book/glossary.md").write_text(_a_to_z(stub), "utf-8")
    path = tmp_path / "notebooks/01-a/01-first.ipynb"
    nb = nbformat.v4.new_notebook(metadata={"language_info": {"name": "python"}, "title": "Über 张量"})
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 1.1 First\n\nA **Tensor (张量)** holds numbers;\n"
                                      "**tensors (张量)** and **bias (偏置)**, not `**code (代码)**`.\n"
                                      "```\n**fenced (围栏)**\n```\n**What you will learn**"),
        nbformat.v4.new_code_cell("x = 2 ** (3) ** 2  # **not (术语)**\n**Tensor (张量)**",
                                  outputs=[nbformat.v4.new_output("stream", text="**Tensor (张量)**\n")]),
        nbformat.v4.new_markdown_cell(["**multilayer perceptron (多层感知机, MLP)** and\n", "**epoch (轮次)**\n"]),
    ]
    nbformat.write(nb, path)
    before = nbformat.read(path, as_version=4)
    assert [line.split(":")[0] for line in glossary.link_notebooks(tmp_path)] == [
        "notebooks/01-a/01-first.ipynb", "notebooks/01-a/02-second.ipynb"]
    text = path.read_text(encoding="utf-8")
    assert text == nbformat.writes(nbformat.reads(text, as_version=4)) + "\n"  # nbformat's own layout
    after = nbformat.reads(text, as_version=4)
    assert after.cells[1] == before.cells[1] and after.metadata == before.metadata
    assert after.cells[0].source == (
        "# 1.1 First\n\nA **{term}`Tensor (张量)`** holds numbers;\n"
        "**{term}`tensors (张量) <Tensor (张量)>`** and **{term}`bias (偏置)`**, not `**code (代码)**`.\n"
        "```\n**fenced (围栏)**\n```\n**What you will learn**")
    assert json.loads(text)["cells"][2]["source"] == [
        "**{term}`multilayer perceptron (多层感知机, MLP) <multilayer perceptron (多层感知机)>`** and\n",
        "**{term}`epoch (轮次)`**\n"]
    assert glossary.link_notebooks(tmp_path) == []  # idempotent
    assert path.read_text(encoding="utf-8") == text
    assert glossary.check(tmp_path).ok


def test_glossary_layout_is_checked(tmp_path):
    _small_book(tmp_path, """# Glossary

Jump to: {ref}`B <glossary-b>` · {ref}`T <glossary-t>`

(glossary-b)=
## B

```{glossary}
bias (偏置)
  The constant. First introduced in {doc}`/notebooks/01-a/01-first`.

tensor (张量)
  An array. First introduced in {doc}`/notebooks/01-a/01-first`.
```

## E

```{glossary}
epoch (轮次)
  A pass. First introduced in {doc}`/notebooks/01-a/01-first`.
```

(glossary-m)=
## M

```{glossary}
multilayer perceptron (多层感知机)
  Layers. First introduced in {doc}`/notebooks/01-a/01-first`.
```
""")
    report = glossary.check(tmp_path)
    assert [e.heading for e in report.entries] == ["B", "B", "E", "M"]
    assert len(report.layout) == 3 and not report.ok
    assert "tensor (张量) is under '## B'; it belongs under '## T'" in report.layout[0]
    assert "'## E' has no '(glossary-...)=' label" in report.layout[1]
    assert "does not link {ref}`M <glossary-m>`" in report.layout[2]


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
    assert glossary.english_keys("axes") & glossary.english_keys("axis")
    assert glossary.english_keys("matrices") & glossary.english_keys("matrix")
    assert glossary.english_keys("indices") & glossary.english_keys("index")


# --- the book -----------------------------------------------------------------------------------


def test_glossary_has_entries_written_english_chinese(report):
    assert report.entries, "book/glossary.md has no {glossary} directive with entries"
    if report.bad_terms:
        pytest.fail("glossary terms not written 'English (中文)':\n" + "\n".join(report.bad_terms), pytrace=False)


def test_every_key_term_is_in_the_glossary(report):
    """Each **English (中文)** of a notebook in _toc.yml is a glossary term with the same Chinese name."""
    if report.missing or report.wrong_chinese:
        pytest.fail(f"{glossary.format_report(report, parts=('terms',))}\n{FIX}", pytrace=False)


def test_glossary_is_laid_out_a_to_z(report):
    """One {glossary} directive per initial letter under '## X', each linked from the jump bar."""
    if report.layout:
        pytest.fail(glossary.format_report(report, parts=("terms",)), pytrace=False)


def test_every_bold_term_links_its_glossary_entry(report):
    """Each **English (中文)** of a notebook is a {term} role whose target is its entry's term line."""
    if report.unlinked or report.bad_target:
        pytest.fail(glossary.format_report(report, parts=("roles",)), pytrace=False)


def test_glossary_links_where_each_term_is_first_introduced(report):
    """Each entry says 'First introduced in {doc}`...`', linking the first notebook that introduces it."""
    if report.no_link or report.bad_link or report.not_first:
        pytest.fail(f"{glossary.format_report(report, parts=('links',))}\n{FIX}", pytrace=False)
