"""The outputs stored in the notebooks read cleanly on the site.

The site shows each notebook's stored outputs (from its full-mode run), so whatever a cell printed stays on
the page. These checks read the stored outputs only (no site build, no kernel), and fail on:

- object reprs shown as text: ``<Axes: xlabel=...>``, ``[<matplotlib.lines.Line2D at 0x...>]``,
  ``<Figure size 640x480 with 0 Axes>``, ``Text(0.5, 1.0, 'title')`` (end the cell with ``;``);
- progress bars (``100%|████| 2350/2350 [01:58<00:00]``): they belong to live runs, the summary line stays;
- text lines wider than 88 columns, which scroll sideways on the page (print tables that fit);
- a label printed with no result beside it (``tanh, lr 0.1:`` alone, its numbers in the next output).

A notebook that fails here needs its code fixed and a new full run (``make full CH=NN``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
MAX_COLUMNS = 88
# Outputs with one of these types are shown as a picture or HTML; their text/plain is only a fallback.
RICH_MIME = ("image/", "text/html", "text/markdown", "text/latex", "application/vnd.jupyter.widget-view+json")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
REPR = re.compile(r"<Axes(?:3D)?\b[^>]*>|<Figure size [^>]*>|<matplotlib\.[^>]*>|<[\w.]+ (?:object )?at 0x[0-9a-f]+>"
                  r"|^\[?Text\(-?[\d.e+-]+, -?[\d.e+-]+, '.*'\)\]?$", re.M)
PROGRESS = re.compile(r"\d{1,3}%\|[^|\n]*\||\[\d+:\d{2}(?::\d{2})?<|\b[a-z]+/s\]|\bs/it\]")
LABEL = re.compile(r"\S.{0,80}:\s*")  # a whole line that announces a value and has none: "tanh, lr 0.1: "
LABELLED = re.compile(r"\S[^:\n]{0,80}:(?:\s|$)")  # a line that starts with a label: "ReLU, lr 0.1: 0.849"


def shown_text(output: dict) -> str | None:
    """The text a reader sees for one stored output, or None where the page shows a picture or HTML."""
    kind = output.get("output_type")
    if kind == "stream":
        text = output.get("text", "")
    elif kind in ("execute_result", "display_data"):
        data = output.get("data", {})
        if any(mime.startswith(RICH_MIME) for mime in data):
            return None
        text = data.get("text/plain", "")
    else:
        return None
    return ANSI.sub("", "".join(text) if isinstance(text, list) else text)


def all_text(output: dict) -> str:
    """Every text an output stores, the fallbacks of pictures and widgets included."""
    if output.get("output_type") == "stream":
        text = output.get("text", "")
        return "".join(text) if isinstance(text, list) else text
    parts = [v for mime, v in output.get("data", {}).items() if mime.startswith("text/")]
    return "\n".join("".join(p) if isinstance(p, list) else str(p) for p in parts)


def columns(line: str) -> int:
    """Width of a line in a monospace font: Chinese and other wide characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def _label_only(line: str) -> bool:
    return bool(LABEL.fullmatch(line))


def findings(nb: dict) -> dict[str, list[str]]:
    """What is wrong with a notebook's stored outputs: check name -> ``cell N: excerpt`` lines."""
    found: dict[str, list[str]] = {"reprs": [], "progress": [], "wide": [], "labels": []}
    code_cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    for number, cell in enumerate(code_cells, 1):
        outputs = cell.get("outputs", [])
        for i, out in enumerate(outputs):
            bar = PROGRESS.search(all_text(out))
            if bar:
                line = next(ln for ln in all_text(out).splitlines() if bar.group(0) in ln)
                found["progress"].append(f"code cell {number}: {line.strip()[:100]}")
            text = shown_text(out)
            if text is None:
                continue
            found["reprs"] += [f"code cell {number}: {m.group(0)[:100]}" for m in REPR.finditer(text)]
            lines = text.splitlines()
            found["wide"] += [f"code cell {number}: {columns(ln)} columns: {ln[:60]}..."
                              for ln in lines if columns(ln.rstrip()) > MAX_COLUMNS and not PROGRESS.search(ln)]
            if out.get("output_type") != "stream":
                continue
            shown = [ln for ln in lines if ln.strip()]
            next_is_text = i + 1 == len(outputs) or outputs[i + 1].get("output_type") == "stream"
            for k, line in enumerate(shown):
                last = k + 1 == len(shown)
                if _label_only(line) and ((last and next_is_text) or (not last and LABELLED.match(shown[k + 1]))):
                    found["labels"].append(f"code cell {number}: {line.strip()!r} has no result beside it")
    return found


def _check(check: str, advice: str) -> None:
    problems = []
    for path in NOTEBOOKS:
        found = findings(json.loads(path.read_text(encoding="utf-8")))[check]
        problems += [f"{path.relative_to(ROOT)} {item}" for item in found]
    if problems:
        pytest.fail(f"{len(problems)} stored output(s) {advice}:\n" + "\n".join(problems[:60])
                    + (f"\n... and {len(problems) - 60} more" if len(problems) > 60 else ""), pytrace=False)


def test_no_object_reprs_in_outputs():
    _check("reprs", "show an object's repr, not a result (end the cell with `;` or call plt.show())")


def test_no_progress_bars_in_outputs():
    _check("progress", "hold a finished progress bar (keep the summary line; re-run with `make full`)")


def test_text_outputs_fit_88_columns():
    _check("wide", f"have lines wider than {MAX_COLUMNS} columns, which scroll sideways on the page")


def test_every_label_has_its_result_beside_it():
    _check("labels", "print a label alone, with its result elsewhere (print both in one call)")


# --- the checks themselves -------------------------------------------------------------------------


def _stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def _display(data: dict, kind: str = "display_data") -> dict:
    return {"output_type": kind, "data": data, "metadata": {}}


def _nb(*cells: list[dict]) -> dict:
    return {"cells": [{"cell_type": "code", "source": "", "outputs": outputs} for outputs in cells]}


def test_findings_catch_each_kind_of_junk():
    nb = _nb(
        [_display({"text/plain": "<Axes: xlabel='epoch', ylabel='loss'>"}, "execute_result")],
        [_display({"text/plain": "[<matplotlib.lines.Line2D at 0x7f3a2c1d5e10>]"}, "execute_result")],
        [_display({"text/plain": "<Figure size 640x480 with 0 Axes>"})],
        [_display({"text/plain": "Text(0.5, 1.0, 'training loss')"}, "execute_result")],
        [_stream("tanh, lr 0.1: "),
         _stream("training 100%|████████████████████| 2350/2350 [01:15<00:00], loss 0.337\n", "stderr"),
         _stream("loss 0.337, train acc 0.878\nReLU, lr 0.1: ")],
        [_display({"text/plain": "epoch 3/10 [00:12<00:40, 1.2it/s]",
                   "application/vnd.jupyter.widget-view+json": {"model_id": "x"}})],
        [_stream("x" * 89 + "\n" + "数" * 45 + "\n")],
        [_stream("sigmoid:\nReLU: 0.97\n")],
    )
    found = findings(nb)
    assert [f.split(":")[0] for f in found["reprs"]] == [f"code cell {n}" for n in (1, 2, 3, 4)]
    assert [f.split(":")[0] for f in found["progress"]] == ["code cell 5", "code cell 6"]
    assert found["wide"] == [f"code cell 7: 89 columns: {'x' * 60}...", f"code cell 7: 90 columns: {'数' * 45}..."]
    assert found["labels"] == ["code cell 5: 'tanh, lr 0.1:' has no result beside it",
                               "code cell 5: 'ReLU, lr 0.1:' has no result beside it",
                               "code cell 8: 'sigmoid:' has no result beside it"]


def test_findings_leave_clean_outputs_alone():
    nb = _nb(
        [_display({"image/svg+xml": "<svg/>", "text/plain": "<Figure size 450x300 with 1 Axes>"})],
        [_stream("<class 'torch.nn.parameter.Parameter'> tensor([-0.1568])\n")],
        [_stream("a warning: 5% of 100|x\n", "stderr")],
        [_stream("one-hot labels:\n tensor([[1., 0., 0.],\n        [0., 1., 0.]])\n")],
        [_stream("x" * 88 + "\n" + "数" * 44 + "\n")],
        [_stream("loss 0.337, train acc 0.878, test acc 0.827, 8,286 examples/sec on cpu\n")],
        [_stream("weights:\n"), _display({"image/png": "", "text/plain": "<Figure size 450x300 with 1 Axes>"})],
    )
    assert findings(nb) == {"reprs": [], "progress": [], "wide": [], "labels": []}


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def test_quick_mode_never_shows_in_reader_code():
    """``d2l.config`` (quick-mode plumbing) appears only in hidden check cells, never in code a reader sees."""
    found = []
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for number, cell in enumerate(nb["cells"]):
            source = "".join(cell.get("source", ""))
            if cell.get("cell_type") == "code" and "config." in source and "remove-cell" not in _tags(cell):
                found.append(f"{path.relative_to(ROOT).as_posix()} code cell {number}: "
                             f"{source.strip().splitlines()[0][:80]}")
    assert not found, ("quick mode must stay inside d2lutils or in cells tagged remove-cell:\n"
                       + "\n".join(found))


def test_scanner_finds_config_in_reader_code(tmp_path, monkeypatch):
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": "n = d2l.config.epochs(10)", "outputs": []},
                    {"cell_type": "code", "metadata": {"tags": ["remove-cell"]},
                     "source": "n = d2l.config.epochs(n)", "outputs": []}]}
    path = tmp_path / "notebooks" / "x.ipynb"
    path.parent.mkdir()
    path.write_text(json.dumps(nb), encoding="utf-8")
    monkeypatch.setitem(globals(), "NOTEBOOKS", [path])
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    with pytest.raises(AssertionError, match=r"x\.ipynb code cell 0"):
        test_quick_mode_never_shows_in_reader_code()
