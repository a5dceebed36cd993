"""Tests of the book itself: the runner, stored outputs (freshness), the table of contents."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest
import yaml

from d2lutils import book

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def test_source_sha256_matches_the_design_definition():
    nb = {"cells": [
        {"cell_type": "markdown", "source": "# title"},
        {"cell_type": "code", "source": ["import torch\n", "x = 1"]},
        {"cell_type": "code", "source": "print('数据')"},
    ]}
    expected = hashlib.sha256(
        json.dumps(["import torch\nx = 1", "print('数据')"], ensure_ascii=False).encode("utf-8")).hexdigest()
    assert book.source_sha256(nb) == expected
    # A fixed value, so a change of the definition cannot go unnoticed.
    assert expected == "0ce335031f6fccfb007f489baa3aeb24db46c665f05195561fc764fa078e0d8e"


def _tiny_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Tiny"),
        nbformat.v4.new_code_cell("import os, sys\nprint(os.environ['D2L_MODE'])\nprint('a\\rb')"),
        nbformat.v4.new_code_cell("import d2lutils as d2l\nd2l.interact(lambda k=2: print('k =', k), k=(1, 5))"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_runner_executes_and_records_metadata(tmp_path):
    path = tmp_path / "tiny.ipynb"
    _tiny_notebook(path)
    assert book.notebook_status(path) == "unexecuted"
    record = book.execute_notebook(path, mode="quick", timeout=120)
    nb = json.loads(path.read_text(encoding="utf-8"))
    meta = nb["metadata"]["d2lutils"]
    assert meta == record
    assert set(meta) == {"mode", "device", "torch", "seconds", "source_sha256"}
    assert meta["mode"] == "quick" and meta["source_sha256"] == book.source_sha256(nb)
    first = nb["cells"][1]["outputs"][0]
    assert "".join(first["text"]) == "quick\nb\n"  # mode reached the kernel; carriage return collapsed
    widget_out = "".join("".join(o.get("text", "")) for o in nb["cells"][2]["outputs"])
    assert "k = 2" in widget_out and "Static figure at k=2" in widget_out
    assert "widgets" not in nb["metadata"]
    assert all("execution" not in c["metadata"] for c in nb["cells"])
    assert book.notebook_status(path) == "quick"


def test_status_detects_stale_outputs(tmp_path):
    path = tmp_path / "tiny.ipynb"
    _tiny_notebook(path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "full\n"}]
    nb["metadata"]["d2lutils"] = {"mode": "full", "source_sha256": book.source_sha256(nb)}
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert book.notebook_status(path) == "fresh"
    nb["cells"][1]["source"] = "print('changed')"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert book.notebook_status(path) == "stale"


def test_find_notebooks_by_chapter_number():
    found = book.find_notebooks(["02"], root=ROOT / "notebooks")
    assert found and all("02-" in p.parent.name for p in found)
    with pytest.raises(FileNotFoundError):
        book.find_notebooks(["99"], root=ROOT / "notebooks")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_stored_outputs_are_fresh_full_mode(path):
    """Every notebook stores outputs of a full-mode run of its current code (or is listed as pending)."""
    pending = book.pending_notebooks(ROOT / "notebooks")
    status = book.notebook_status(path, pending)
    rel = path.relative_to(ROOT).as_posix()
    assert status in ("fresh", "pending", "no-code"), (
        f"{rel}: stored outputs are {status}; run `make full CH={path.parent.name[:2]}` "
        f"(or python -m d2lutils.book run {rel}) and commit the result")
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert "kernelspec" in nb["metadata"], f"{rel}: no kernelspec (the site build needs it)"
    assert path.stat().st_size < 1_000_000, f"{rel}: {path.stat().st_size} bytes stored"


def _toc_files(node) -> list[str]:
    files = []
    if isinstance(node, dict):
        if "file" in node:
            files.append(node["file"])
        for value in node.values():
            files += _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            files += _toc_files(item)
    return files


def test_toc_lists_every_notebook_and_every_entry_exists():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    entries = [toc["root"]] + _toc_files(toc.get("parts", []))
    assert len(entries) == len(set(entries)), "an entry appears twice in _toc.yml"
    for entry in entries:
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), f"_toc.yml: {entry} missing"
    listed = {e for e in entries if e.startswith("notebooks/")}
    on_disk = {p.relative_to(ROOT).with_suffix("").as_posix() for p in NOTEBOOKS}
    assert on_disk - listed == set(), f"notebooks not in _toc.yml: {sorted(on_disk - listed)}"


def test_notebook_names_follow_the_layout():
    for path in NOTEBOOKS:
        rel = path.relative_to(ROOT / "notebooks")
        assert len(rel.parts) == 2, rel
        chapter, section = rel.parts
        assert chapter[:2].isdigit() and chapter[2] == "-", rel
        assert section[:2].isdigit() and section[2] == "-", rel


def test_clean_outputs_drops_unfinished_progress_bars():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("train()")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="training  10%|██    | 1/10 [00:01<00:09]\n"),
        nbformat.v4.new_output("stream", name="stdout", text="loss 0.300, test acc 0.900\n"),
        nbformat.v4.new_output("stream", name="stderr", text="training 100%|██████| 10/10 [00:10<00:00]\n"),
        nbformat.v4.new_output("stream", name="stderr", text="a warning: 5% of 100|x\n"),
    ]
    nb.cells = [cell]
    book._clean_outputs(nb)
    texts = [out.text for out in nb.cells[0].outputs]
    assert texts == ["loss 0.300, test acc 0.900\n",
                     "training 100%|██████| 10/10 [00:10<00:00]\na warning: 5% of 100|x\n"]


def test_conda_environment_lists_every_dependency():
    """environment.yml (for conda readers) names every package pyproject.toml installs."""
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += [r for r in extra if not r.startswith("d2lutils")]
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    listed = set()
    for dep in env["dependencies"]:
        for item in dep["pip"] if isinstance(dep, dict) else [dep]:
            listed.add(item.split(">")[0].split("=")[0].split("<")[0].strip().lower())
    conda_names = {"torch": "pytorch"}
    missing = []
    for req in requirements:
        name = req.split(">")[0].split("=")[0].split("<")[0].split("[")[0].strip().lower()
        if conda_names.get(name, name) not in listed:
            missing.append(name)
    assert not missing, f"environment.yml lacks {missing}"
