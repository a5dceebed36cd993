"""Sphinx extension: each script appears once per page.

Some extensions register an inline script both with the application and with the HTML builder, so
pages declared it twice: sphinx-thebe 0.3's ``const THEBE_JS_URL = ...`` made the browser stop with
"Identifier 'THEBE_JS_URL' has already been declared" (Thebe is now switched off, see sitefixes.py),
and sphinx-togglebutton's ``var togglebuttonSelector`` still comes twice. This extension drops repeated
entries from a page's script list, keeping the first, just before the page is rendered.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _dedupe_scripts(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        filename = str(getattr(script, "filename", script) or "")  # inline scripts: None or ""
        body = str(getattr(script, "attributes", {}).get("body", ""))
        key = (filename, body)
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _dedupe_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
