"""Sphinx extension: two fixes to what Jupyter Book 1.x and its themes put on every page.

- **No Thebe.** Jupyter Book always loads sphinx-thebe, which writes into every page a configuration that
  starts kernels on Binder from an unrelated example repository (binder-examples/jupyter-stacks-datascience)
  and declares a script from a CDN. This book has no public repository for Binder yet, so the extension's
  event handlers are disconnected and its style sheet dropped: no Thebe code or configuration reaches the
  pages. The launch buttons that do work (the .ipynb download) are unaffected.
- **Working sidebar buttons.** ``sidebar-toggles.js`` (in ``book/assets``) makes the visible ☰ and
  contents buttons open the sidebars on phones and ☰ collapse the left sidebar on wide screens; the file
  explains the theme bug it works around.

tests/test_site.py checks both in the built site and in a browser.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

SIDEBAR_SCRIPT = "sidebar-toggles.js"


def switch_off_thebe(app: Sphinx) -> int:
    """Disconnect every event handler that sphinx-thebe registered and drop its CSS; return how many."""
    removed = 0
    for listeners in app.events.listeners.values():
        for listener in list(listeners):
            if getattr(listener.handler, "__module__", "").split(".")[0] == "sphinx_thebe":
                app.disconnect(listener.id)
                removed += 1
    app.registry.css_files = [(name, attrs) for name, attrs in app.registry.css_files if "thebe" not in name]
    return removed


def setup(app: Sphinx) -> dict[str, Any]:
    # Local extensions are set up after Jupyter Book's own ones, so sphinx-thebe's handlers exist by now.
    switch_off_thebe(app)
    app.add_js_file(SIDEBAR_SCRIPT, defer="defer")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
