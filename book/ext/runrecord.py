"""Sphinx extension: put each notebook's run record under its title.

The record comes from ``metadata.d2lutils`` (written by ``python -m d2lutils.book run``):
"Outputs computed in full mode on cpu (2 cores, x86_64, <CPU model>) with torch <version> in <seconds> s"
(on a GPU: "on <GPU name> (CPU: <CPU model>)").
Notebooks that are pending (listed in ``notebooks/PENDING.md`` and holding no outputs, see
``d2lutils.book.notebook_status``) say instead that their outputs are pending.
Nothing is typed by hand, so the line cannot drift from the stored outputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

from d2lutils.book import notebook_status, pending_notebooks


def record_text(meta: dict[str, Any] | None, pending: bool) -> str:
    """The sentence shown on the page for a notebook's run record.

    Records written before the CPU model was recorded simply leave it out.
    """
    if pending:
        return ("Outputs pending: this notebook needs a full run on a GPU, which has not been done yet "
                "(see notebooks/PENDING.md). Its code is shown without outputs.")
    if not meta:
        return "Outputs not recorded: this notebook has not been executed by the book's runner."
    seconds = meta.get("seconds")
    took = f" in {seconds:g} s" if isinstance(seconds, (int, float)) else ""
    return (f"Outputs computed in {meta.get('mode', '?')} mode on {_machine(meta)} "
            f"with torch {meta.get('torch', '?')}{took}.")


def _machine(meta: dict[str, Any]) -> str:
    """``cpu (2 cores, x86_64, <CPU model>)`` or ``<GPU name> (CPU: <CPU model>)``."""
    device, cpu = str(meta.get("device", "?")), meta.get("cpu")
    if not cpu:
        return device
    if device.startswith("cpu (") and device.endswith(")"):
        return f"{device[:-1]}, {cpu})"
    return f"{device} (CPU: {cpu})"


def _add_record(app: Sphinx, doctree: nodes.document) -> None:
    env = app.env
    source = Path(env.doc2path(env.docname))
    if source.suffix != ".ipynb":
        return
    nb = json.loads(source.read_text(encoding="utf-8"))
    pending = notebook_status(source, pending_notebooks(Path(app.srcdir) / "notebooks")) == "pending"
    text = record_text(nb.get("metadata", {}).get("d2lutils"), pending)
    para = nodes.paragraph(text, text, classes=["run-record"])
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        doctree.insert(0, para)
        return
    title_index = next((i for i, child in enumerate(section.children) if isinstance(child, nodes.title)), -1)
    section.insert(title_index + 1, para)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-read", _add_record)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
