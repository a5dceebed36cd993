"""Sphinx extension: put each notebook's run record under its title.

The record comes from ``metadata.d2lutils`` (written by ``python -m d2lutils.book run``):
"Outputs computed in full mode on <device> with torch <version> in <seconds> s".
Notebooks listed in ``notebooks/PENDING.md`` say instead that their outputs are pending.
Nothing is typed by hand, so the line cannot drift from the stored outputs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx


def _pending(srcdir: Path) -> set[str]:
    path = srcdir / "notebooks" / "PENDING.md"
    if not path.exists():
        return set()
    return set(re.findall(r"notebooks/[\w./-]+\.ipynb", path.read_text(encoding="utf-8")))


def record_text(meta: dict[str, Any] | None, pending: bool) -> str:
    """The sentence shown on the page for a notebook's run record."""
    if pending:
        return ("Outputs pending: this notebook needs a full run on a GPU, which has not been done yet "
                "(see notebooks/PENDING.md). Its code is shown without outputs.")
    if not meta:
        return "Outputs not recorded: this notebook has not been executed by the book's runner."
    seconds = meta.get("seconds")
    took = f" in {seconds:g} s" if isinstance(seconds, (int, float)) else ""
    return (f"Outputs computed in {meta.get('mode', '?')} mode on {meta.get('device', '?')} "
            f"with torch {meta.get('torch', '?')}{took}.")


def _add_record(app: Sphinx, doctree: nodes.document) -> None:
    env = app.env
    source = Path(env.doc2path(env.docname))
    if source.suffix != ".ipynb":
        return
    nb = json.loads(source.read_text(encoding="utf-8"))
    rel = source.relative_to(Path(app.srcdir)).as_posix()
    text = record_text(nb.get("metadata", {}).get("d2lutils"), rel in _pending(Path(app.srcdir)))
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
