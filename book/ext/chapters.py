"""Sphinx extension: the ``chapter-sections`` directive of the chapter pages (book/chapters/NN-*.md).

Written in a chapter page as::

    ```{chapter-sections} notebooks/03-linear-networks
    ```

it lists the chapter's notebooks in order, each linked by its title, with the time of its last full run
(``metadata.d2lutils.seconds``, written by ``python -m d2lutils.book run``) and the data sets its code
loads (names of :data:`d2lutils.data.DATASETS`), and ends with the chapter's total. Everything comes
from the notebooks, so the page cannot drift from them; it is rebuilt when a notebook changes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from d2lutils.data import DATASETS


def datasets_used(code: str) -> list[str]:
    """The data sets of the registry that a notebook's code loads: ``load_<name>``/``read_<name>`` or the
    quoted registry name (``download("airfoil")``), in registry order."""
    found = []
    for name in DATASETS:
        function = name.replace("-", "_")
        if re.search(rf"\b(?:load|read)_{function}\b|[\"']{re.escape(name)}[\"']", code):
            found.append(name)
    return found


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def chapter_summary(folder: Path) -> list[dict[str, Any]]:
    """One entry per notebook of a chapter folder, in file-name order: docname stem, seconds, device, data."""
    entries = []
    for path in sorted(folder.glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        code = "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                         for c in nb.get("cells", []) if c.get("cell_type") == "code")
        meta = nb.get("metadata", {}).get("d2lutils") or {}
        seconds = meta.get("seconds") if meta.get("mode") == "full" else None
        entries.append({"path": path, "seconds": seconds if isinstance(seconds, (int, float)) else None,
                        "device": meta.get("device"), "datasets": datasets_used(code)})
    return entries


class ChapterSections(SphinxDirective):
    """List a chapter's sections with their full-run times and data sets."""

    required_arguments = 1  # the chapter's folder, relative to the book's root: notebooks/NN-slug

    def run(self) -> list[nodes.Node]:
        srcdir = Path(self.env.srcdir)
        folder = srcdir / self.arguments[0]
        entries = chapter_summary(folder) if folder.is_dir() else []
        if not entries:
            raise self.error(f"chapter-sections: no notebooks in {self.arguments[0]}")
        items = nodes.bullet_list()
        for entry in entries:
            self.env.note_dependency(str(entry["path"]))
            docname = entry["path"].relative_to(srcdir).with_suffix("").as_posix()
            ref = addnodes.pending_xref("", refdomain="std", reftype="doc", reftarget="/" + docname,
                                        refdoc=self.env.docname, refexplicit=False, refwarn=True)
            ref += nodes.inline(docname, docname)
            para = nodes.paragraph("", "", ref)
            run = f"full run {_minutes(entry['seconds'])}" if entry["seconds"] is not None else "no full run yet"
            data = f"; reads {', '.join(entry['datasets'])}" if entry["datasets"] else ""
            para += nodes.Text(f": {run}{data}")
            items += nodes.list_item("", para)
        timed = [e["seconds"] for e in entries if e["seconds"] is not None]
        devices = sorted({e["device"] for e in entries if e["device"] and e["seconds"] is not None})
        used = [name for name in DATASETS if any(name in e["datasets"] for e in entries)]
        total = (f"A full run of the whole chapter took {_minutes(sum(timed))} on {', '.join(devices)}"
                 if timed else "No section of this chapter has had a full run yet")
        if len(timed) < len(entries):
            total += f" ({len(entries) - len(timed)} section(s) not yet run)"
        total += ". "
        if used:
            total += "Data sets, downloaded on first use: " + "; ".join(
                f"{name} ({DATASETS[name].description})" for name in used) + "."
        else:
            total += "Nothing to download: every example is made in the notebooks."
        return [items, nodes.paragraph(total, total, classes=["chapter-needs"])]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("chapter-sections", ChapterSections)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
