"""Tests of the book itself: the runner, stored outputs (freshness), the table of contents."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

import matplotlib
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
        nbformat.v4.new_code_cell("for name in ('D2L_DATA_DIR', 'D2L_DATA_MIRROR'):\n    print(os.environ.get(name))"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def _text(output: dict) -> str:
    return "".join(output.get("text", ""))


def test_runner_executes_and_records_metadata(tmp_path, monkeypatch, capfd):
    path = tmp_path / "tiny.ipynb"
    _tiny_notebook(path)
    # Relative data paths, as a reader might set them: the kernel starts in the notebook's folder.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("D2L_DATA_DIR", "cache")
    monkeypatch.setenv("D2L_DATA_MIRROR", "../mirror")
    replaced = []
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        replaced.append((str(src), str(dst)))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    assert book.notebook_status(path) == "unexecuted"
    capfd.readouterr()
    record = book.execute_notebook(path, mode="quick", timeout=120)
    assert "without encryption" not in capfd.readouterr().err  # the kernel's TCP warning is silenced
    nb = json.loads(path.read_text(encoding="utf-8"))
    meta = nb["metadata"]["d2lutils"]
    assert meta == record
    assert set(meta) == {"mode", "device", "cpu", "torch", "matplotlib", "d2lutils_sha256", "seconds",
                         "source_sha256", "outputs_sha256"}
    assert meta["mode"] == "quick" and meta["source_sha256"] == book.source_sha256(nb)
    assert meta["outputs_sha256"] == book.outputs_sha256(nb)
    assert meta["d2lutils_sha256"] == book.package_sha256()
    assert meta["cpu"] == book.cpu_model() and meta["matplotlib"] == matplotlib.__version__
    first = nb["cells"][1]["outputs"][0]
    assert _text(first) == "quick\nb\n"  # mode reached the kernel; carriage return collapsed
    widget_out = "".join(_text(o) for o in nb["cells"][2]["outputs"])
    assert "k = 2" in widget_out and "at k=2" in widget_out  # the static figure, drawn at the default
    paths = _text(nb["cells"][3]["outputs"][0])
    assert paths == f"{tmp_path.resolve() / 'cache'}\n{tmp_path.resolve().parent / 'mirror'}\n"
    assert "widgets" not in nb["metadata"]
    assert all("execution" not in c["metadata"] for c in nb["cells"])
    assert book.notebook_status(path) == "quick"
    # Written to a temporary file that pytest/nbval would not collect, then renamed into place.
    tmp_name = next(Path(src).name for src, dst in replaced if Path(dst) == path)
    assert tmp_name.startswith(".tiny.ipynb.") and not tmp_name.endswith(".ipynb")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.ipynb"]


def test_runner_leaves_the_notebook_byte_identical_when_a_cell_fails(tmp_path):
    from nbclient.exceptions import CellExecutionError

    path = tmp_path / "fails.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('before')"), nbformat.v4.new_code_cell("1 / 0"),
                nbformat.v4.new_code_cell("print('after')")]
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="old output\n")]
    nb.metadata["d2lutils"] = {"mode": "full", "source_sha256": "x"}
    nbformat.write(nb, path)
    before = path.read_bytes()
    with pytest.raises(CellExecutionError, match="ZeroDivisionError"):
        book.execute_notebook(path, mode="quick", timeout=120)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["fails.ipynb"]


def test_runner_removes_orphaned_temporary_files(tmp_path):
    path = tmp_path / "ok.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, path)
    orphan = tmp_path / ".ok.ipynb.k1ll3d.tmp"  # what a run killed while writing leaves behind
    orphan.write_text("{", encoding="utf-8")
    other = tmp_path / ".other.ipynb.abc.tmp"  # another notebook's: not this run's to remove
    other.write_text("{", encoding="utf-8")
    book.execute_notebook(path, mode="quick", timeout=120)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.ipynb.abc.tmp", "ok.ipynb"]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> Path:
    """The tiny notebook after a full-mode run by the book's runner (copy it before changing it)."""
    path = tmp_path_factory.mktemp("full") / "tiny.ipynb"
    _tiny_notebook(path)
    book.execute_notebook(path, mode="full", timeout=120)
    return path


def _copy(src: Path, folder: Path) -> Path:
    dst = folder / src.name
    dst.write_bytes(src.read_bytes())
    return dst


def test_full_run_is_fresh(full_run, tmp_path):
    path = _copy(full_run, tmp_path)
    assert book.notebook_status(path) == "fresh"


def test_quick_outputs_saved_over_full_ones_are_not_fresh(full_run, tmp_path, monkeypatch):
    """A quick run saved over full outputs (nbconvert --inplace, or saving from JupyterLab) keeps the old record."""
    from nbclient import NotebookClient

    path = _copy(full_run, tmp_path)
    nb = nbformat.read(path, as_version=4)
    monkeypatch.setenv("D2L_MODE", "quick")
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
                   extra_arguments=["--IPKernelApp.log_level=ERROR"]).execute()
    nbformat.write(nb, path)
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["metadata"]["d2lutils"]["mode"] == "full"
    assert _text(stored["cells"][1]["outputs"][0]).startswith("quick")
    assert book.notebook_status(path) == "edited"


def test_outputs_cleared_from_all_but_one_cell_are_not_fresh(full_run, tmp_path):
    path = _copy(full_run, tmp_path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for cell in code[1:]:
        cell["outputs"] = []
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert book.notebook_status(path) == "edited"
    code[0]["outputs"] = []
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert book.notebook_status(path) == "unexecuted"


def _stored(path: Path, source: str, outputs: bool, **record) -> None:
    """Write a notebook with one code cell, its output if ``outputs``, and a matching full-mode record."""
    cell = {"cell_type": "code", "source": source, "metadata": {}, "execution_count": None,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": ["full\n"]}] if outputs else []}
    nb = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    nb["metadata"]["d2lutils"] = {"mode": "full", "seconds": 10.0, "source_sha256": book.source_sha256(nb),
                                  "outputs_sha256": book.outputs_sha256(nb), **record}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb), encoding="utf-8")


def test_status_detects_stale_outputs(tmp_path):
    path = tmp_path / "a.ipynb"
    _stored(path, "print('full')", outputs=True)
    assert book.notebook_status(path) == "fresh"
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"][0]["source"] = "print('changed')"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert book.notebook_status(path) == "stale"


def test_status_of_a_record_without_an_outputs_hash_is_unverified(tmp_path):
    path = tmp_path / "old.ipynb"
    _stored(path, "print('full')", outputs=True)
    nb = json.loads(path.read_text(encoding="utf-8"))
    del nb["metadata"]["d2lutils"]["outputs_sha256"]  # a record written before the hash existed
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert book.notebook_status(path) == "unverified"


PENDING_MD = """# Notebooks waiting for a full run on a GPU

Prose may mention notebooks/01-a/01-mentioned.ipynb, or `notebooks/01-a/03-example.ipynb — reason`,
without listing them.

- notebooks/01-a/02-listed.ipynb — needs a GPU for 20 epochs
* `notebooks/01-a/04-listed-with-outputs.ipynb`: a reason
- notebooks/01-a/05-listed-no-outputs.ipynb - also a reason

```text
- notebooks/01-a/06-in-a-code-block.ipynb — an example, not an entry
```
"""


def test_pending_means_a_list_entry_and_no_outputs(tmp_path):
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    (nbs / "PENDING.md").write_text(PENDING_MD, encoding="utf-8")
    pending = book.pending_notebooks(nbs)
    assert pending == {"notebooks/01-a/02-listed.ipynb": "needs a GPU for 20 epochs",
                       "notebooks/01-a/04-listed-with-outputs.ipynb": "a reason",
                       "notebooks/01-a/05-listed-no-outputs.ipynb": "also a reason"}
    chapter = nbs / "01-a"
    _stored(chapter / "01-mentioned.ipynb", "x = 1", outputs=True)
    _stored(chapter / "04-listed-with-outputs.ipynb", "x = 1", outputs=True)
    _stored(chapter / "05-listed-no-outputs.ipynb", "x = 1", outputs=False)
    _stored(chapter / "06-in-a-code-block.ipynb", "x = 1", outputs=False)
    for name in ("01-mentioned.ipynb", "04-listed-with-outputs.ipynb"):  # change the code: now stale
        nb = json.loads((chapter / name).read_text(encoding="utf-8"))
        nb["cells"][0]["source"] = "x = 2"
        (chapter / name).write_text(json.dumps(nb), encoding="utf-8")
    assert book.notebook_status(chapter / "01-mentioned.ipynb", pending) == "stale"  # prose is no listing
    assert book.notebook_status(chapter / "04-listed-with-outputs.ipynb", pending) == "stale"  # holds outputs
    assert book.notebook_status(chapter / "05-listed-no-outputs.ipynb", pending) == "pending"
    assert book.notebook_status(chapter / "06-in-a-code-block.ipynb", pending) == "unexecuted"


def test_pending_entry_without_a_reason_is_an_error(tmp_path):
    (tmp_path / "PENDING.md").write_text("- notebooks/01-a/02-b.ipynb\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"PENDING.md:1: give the reason"):
        book.pending_notebooks(tmp_path)
    assert book.pending_notebooks(tmp_path / "missing") == {}


def test_status_names_a_malformed_notebook(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "notebooks" / "01-a" / "01-bad.ipynb"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"cells": [', encoding="utf-8")
    with pytest.raises(ValueError, match=r"01-bad\.ipynb: not a readable notebook"):
        book.notebook_status(bad)
    bad.write_text('{"metadata": {}}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"01-bad\.ipynb: not a notebook"):
        book.notebook_status(bad)
    monkeypatch.chdir(tmp_path)
    assert book.main(["status"]) == 1
    assert "01-bad.ipynb: not a notebook" in capsys.readouterr().err


def test_status_lists_older_library_runs_and_ends_with_a_summary(tmp_path, monkeypatch, capsys):
    chapter = tmp_path / "notebooks" / "01-a"
    _stored(chapter / "01-current.ipynb", "x = 1", outputs=True, d2lutils_sha256=book.package_sha256())
    _stored(chapter / "02-older.ipynb", "x = 2", outputs=True, d2lutils_sha256="0" * 64, seconds=65.5)
    _stored(chapter / "03-pending.ipynb", "x = 3", outputs=False)
    (tmp_path / "notebooks" / "PENDING.md").write_text("- notebooks/01-a/03-pending.ipynb — GPU\n",
                                                       encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert book.main(["status"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "fresh      notebooks/01-a/01-current.ipynb",
        "fresh      notebooks/01-a/02-older.ipynb",
        "pending    notebooks/01-a/03-pending.ipynb",
        "",
        "Run against an older d2lutils (1; a rerun may change their outputs):",
        "  notebooks/01-a/02-older.ipynb",
        "",
        "3 notebooks: 2 fresh, 1 pending; 1 run against an older d2lutils; "
        "stored full runs took 76 s (1.3 min) in all",
    ]


def test_outputs_sha256_sees_what_a_reader_sees():
    def nb(text, count=1, data=None):
        out = {"output_type": "execute_result", "execution_count": count, "metadata": {"x": count},
               "data": data or {"text/plain": text}}
        return {"cells": [{"cell_type": "markdown", "source": "m"},
                          {"cell_type": "code", "source": "", "outputs": [out]}]}

    reference = book.outputs_sha256(nb("a\nb"))
    assert book.outputs_sha256(nb(["a\n", "b"])) == reference  # a list of lines, as stored on disk
    assert book.outputs_sha256(nb("a\nb", count=7)) == reference  # execution counts and metadata don't count
    assert book.outputs_sha256(nb("a\nc")) != reference
    json_data = {"application/json": ["a", "b"]}  # JSON data is not text: its lists are not joined
    assert book.outputs_sha256(nb("", data=json_data)) != book.outputs_sha256(nb("", data={"application/json": "ab"}))
    no_outputs = {"cells": [{"cell_type": "code", "source": "", "outputs": []}]}
    # A fixed value, so a change of the definition cannot go unnoticed.
    assert book.outputs_sha256(no_outputs) == hashlib.sha256(b"[[]]").hexdigest()


def test_package_sha256_follows_the_sources(tmp_path, monkeypatch):
    pkg = tmp_path / "d2lutils"
    pkg.mkdir()
    (pkg / "a.py").write_bytes(b"x = 1\n")
    (pkg / "book.py").write_bytes(b"y = 2\n")
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "c.py").write_bytes(b"ignored")
    monkeypatch.setattr(book, "__file__", str(pkg / "book.py"))
    first = book.package_sha256()
    (pkg / "__pycache__" / "c.py").write_bytes(b"still ignored")
    (pkg / "a.py").write_bytes(b"x = 1\r\n")  # a Windows checkout
    assert book.package_sha256() == first
    (pkg / "a.py").write_bytes(b"x = 3\n")
    assert book.package_sha256() != first


def test_cpu_model_names_the_processor():
    model = book.cpu_model()
    assert model and model == model.strip()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists() and "model name" in cpuinfo.read_text():
        line = next(ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name"))
        assert model == " ".join(line.split(":", 1)[1].split())


def test_kernel_data_env_makes_paths_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"D2L_DATA_DIR": "cache", "D2L_DATA_MIRROR": "https://example.org/d2l-data"}
    assert book.kernel_data_env(env) == {"D2L_DATA_DIR": str(tmp_path.resolve() / "cache"),
                                         "D2L_DATA_MIRROR": "https://example.org/d2l-data"}
    assert book.kernel_data_env({"D2L_DATA_MIRROR": "~/m", "D2L_DATA_DIR": ""}) == {
        "D2L_DATA_MIRROR": str(Path.home().resolve() / "m")}


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


def test_clean_outputs_drops_progress_bars():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("train()")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="training  10%|██    | 1/10 [00:01<00:09]\n"),
        nbformat.v4.new_output("stream", name="stdout", text="loss 0.300, test acc 0.900\n"),
        nbformat.v4.new_output("stream", name="stderr",
                               text="training 100%|██████| 10/10 [00:10<00:00], loss 0.3, test acc 0.9\n"),
        nbformat.v4.new_output("stream", name="stderr", text="a warning: 5% of 100|x\n"),
        nbformat.v4.new_output("stream", name="stderr", text="epochs: 12batch [00:01, 9.80batch/s]\n"),
    ]
    nb.cells = [cell]
    book._clean_outputs(nb)
    texts = [out.text for out in nb.cells[0].outputs]
    assert texts == ["loss 0.300, test acc 0.900\n", "a warning: 5% of 100|x\n"]


def test_conda_environment_lists_every_dependency():
    """environment.yml (for conda readers) names every package pyproject.toml installs."""
    if sys.version_info < (3, 11):
        pytest.skip("tomllib is part of Python from 3.11 on")
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += [r for r in extra if not r.startswith("d2lutils")]
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    listed = set()
    for dep in env["dependencies"]:
        for item in dep["pip"] if isinstance(dep, dict) else [dep]:
            listed.add(item.split(">")[0].split("=")[0].split("<")[0].strip().lower())
    conda_names = {"torch": "pytorch", "torch_geometric": "pytorch_geometric"}
    missing = []
    for req in requirements:
        name = req.split(">")[0].split("=")[0].split("<")[0].split("[")[0].strip().lower()
        if conda_names.get(name, name) not in listed:
            missing.append(name)
    assert not missing, f"environment.yml lacks {missing}"


def test_api_page_documents_every_module():
    """Appendix A (book/api.md) has an automodule for every public module of d2lutils."""
    page = (ROOT / "book" / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\.\. automodule:: d2lutils\.(\w+)$", page, flags=re.M))
    modules = {p.stem for p in (ROOT / "d2lutils").glob("*.py") if not p.stem.startswith("_")}
    assert modules - documented == set(), f"book/api.md lacks {sorted(modules - documented)}"
    assert documented - modules == set(), f"book/api.md names missing modules {sorted(documented - modules)}"


def test_site_run_record_names_the_cpu_model(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "book" / "ext"))
    from runrecord import record_text

    meta = {"mode": "full", "device": "cpu (2 cores, x86_64)", "torch": "2.13.0", "seconds": 3.9,
            "cpu": "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"}
    assert record_text(meta, pending=False) == (
        "Outputs computed in full mode on cpu (2 cores, x86_64, Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz) "
        "with torch 2.13.0 in 3.9 s.")
    gpu = {**meta, "device": "NVIDIA H100 80GB HBM3", "cpu": "AMD EPYC 9654"}
    assert "on NVIDIA H100 80GB HBM3 (CPU: AMD EPYC 9654) with torch" in record_text(gpu, pending=False)
    old = {k: v for k, v in meta.items() if k != "cpu"}  # a record written before the CPU model was kept
    assert record_text(old, pending=False) == (
        "Outputs computed in full mode on cpu (2 cores, x86_64) with torch 2.13.0 in 3.9 s.")
    assert record_text(meta, pending=True).startswith("Outputs pending")
