"""The website builds offline from the stored outputs with zero warnings, and hides check cells."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"


@pytest.fixture(scope="module")
def built_site() -> Path:
    jb = Path(sys.executable).parent / "jupyter-book"
    start = time.perf_counter()
    proc = subprocess.run([str(jb), "build", str(ROOT), "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    seconds = time.perf_counter() - start
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"jupyter-book build failed ({seconds:.0f} s):\n{log[-6000:]}"
    assert not re.search(r"\bWARNING\b", log), f"site build printed warnings:\n{log[-6000:]}"
    print(f"site built in {seconds:.1f} s")
    return HTML


def test_site_has_every_page(built_site):
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    assert (built_site / "index.html").exists()
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    for entry in files:
        assert (built_site / f"{entry}.html").exists(), entry


def test_math_is_served_locally_not_from_a_cdn(built_site):
    page = (built_site / "notebooks/02-preliminaries/03-calculus-probability-information.html").read_text("utf-8")
    assert "cdn.jsdelivr.net" not in page and "mathjax@3" not in page
    assert re.search(r'<script[^>]+src="[^"]*mathjax[^"]*"', page, re.I), "no local MathJax script"
    mathjax = list(built_site.rglob("tex-chtml*.js")) + list(built_site.rglob("tex-mml-chtml*.js"))
    assert mathjax, "MathJax is not bundled with the site"


def test_check_cells_are_hidden(built_site):
    import json

    for nb_path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        html = (built_site / nb_path.relative_to(ROOT).with_suffix(".html")).read_text("utf-8")
        for cell in nb["cells"]:
            if "remove-cell" in cell.get("metadata", {}).get("tags", []):
                src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                first = next((ln.strip() for ln in src.splitlines() if ln.strip().startswith("assert")), None)
                if first and len(first) > 20:
                    escaped = first.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                    assert first not in html and escaped not in html, f"{nb_path.name}: check cell shown: {first}"
