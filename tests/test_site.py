"""The website builds offline from the stored outputs with zero warnings, stays light, hides check
cells, and every page works in a real browser (headless Chromium, nothing fetched from outside).

The site is built once per pytest run (the module-scoped ``site`` fixture; with ``--dist loadfile``
this whole file runs on one worker) into a temporary folder, so that the build is always complete
(no stale pages from an earlier `make book`) and never races a `make book` in the checkout.
Screenshots and a summary (build time, size, pages, browser time) go to _build/screenshots/ in the
checkout, and the summary is also printed at the end of the pytest run (see tests/conftest.py).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "screenshots"
PAGE_LIMIT = 1024 * 1024  # an HTML page plus the images it shows
PNG_LIMIT = 150 * 1024  # a larger PNG is almost always a line plot that should be SVG
CJK = re.compile(r"[\u3400-\u9fff]")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.site


# --- the build, once ----------------------------------------------------------------------------


@dataclass
class Site:
    html: Path
    seconds: float
    returncode: int
    log: str


_SUMMARY: list[str] = []


def _report(record_property, *lines: str) -> None:
    """Print, keep for the end-of-run summary (tests/conftest.py) and write _build/screenshots/summary.txt."""
    _SUMMARY.extend(lines)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "summary.txt").write_text("\n".join(_SUMMARY) + "\n", encoding="utf-8")
    print("\n".join(lines))
    record_property("book_site_report", "\n".join(lines))


def _toc_files() -> list[str]:
    import yaml

    def files(entries: list[dict]) -> list[str]:  # chapters, then each chapter's sections, in reading order
        return [f for e in entries for f in ([e["file"]] if "file" in e else []) + files(e.get("sections", []))]

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [toc["root"]] + [f for part in toc["parts"] for f in files(part["chapters"])]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    out = tmp_path_factory.mktemp("site")
    jb = Path(sys.executable).parent / "jupyter-book"
    start = time.perf_counter()
    proc = subprocess.run([str(jb), "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    seconds = time.perf_counter() - start
    log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    html = out / "_build" / "html"
    if not (html / "index.html").exists():
        pytest.fail(f"jupyter-book build wrote no site ({seconds:.0f} s):\n{log[-6000:]}", pytrace=False)
    return Site(html, seconds, proc.returncode, log)


@pytest.fixture(scope="module")
def built_site(site: Site) -> Path:
    return site.html


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def test_site_builds_without_warnings(site, record_property):
    _report(record_property, f"site build: {site.seconds:.1f} s (full build, -W -n), "
                             f"_build/html {_dir_size(site.html) / 2**20:.1f} MiB")
    warnings = [ln for ln in site.log.splitlines() if re.search(r"\bWARNING\b", ln)]
    if warnings:
        pytest.fail(f"site build printed {len(warnings)} warning(s):\n" + "\n".join(warnings[:80]), pytrace=False)
    assert site.returncode == 0, f"jupyter-book build failed:\n{site.log[-6000:]}"


def test_site_has_every_page(built_site):
    assert (built_site / "index.html").exists()
    missing = [entry for entry in _toc_files() if not (built_site / f"{entry}.html").exists()]
    assert not missing, "_toc.yml entries with no page in the site (is the file there?): " + ", ".join(missing)


def test_every_notebook_page_shows_its_run_record(built_site):
    """The line under each notebook's title comes from its metadata (book/ext/runrecord.py), not from hand."""
    from d2lutils.book import notebook_status, pending_notebooks

    pending = pending_notebooks(ROOT / "notebooks")
    wrong = []
    for entry in _toc_files():
        if not entry.startswith("notebooks/"):
            continue
        page = (built_site / f"{entry}.html").read_text("utf-8")
        meta = json.loads((ROOT / f"{entry}.ipynb").read_text("utf-8"))["metadata"].get("d2lutils", {})
        if notebook_status(ROOT / f"{entry}.ipynb", pending) == "pending":
            expected = "Outputs pending"
        else:
            device, cpu = meta.get("device", ""), meta.get("cpu")
            if cpu and device.startswith("cpu ("):
                device = f"{device[:-1]}, {cpu})"  # the CPU model joins the cores (book/ext/runrecord.py)
            expected = f"Outputs computed in {meta.get('mode')} mode on {device}"
        if expected not in page:
            wrong.append(f"{entry}: no '{expected}'")
    assert not wrong, "run records missing from notebook pages:\n" + "\n".join(wrong)


def test_math_is_served_locally_not_from_a_cdn(built_site):
    page = (built_site / "notebooks/02-preliminaries/03-calculus-probability-information.html").read_text("utf-8")
    assert "cdn.jsdelivr.net" not in page and "mathjax@3" not in page
    assert re.search(r'<script[^>]+src="[^"]*mathjax[^"]*"', page, re.I), "no local MathJax script"
    mathjax = list(built_site.rglob("tex-chtml*.js")) + list(built_site.rglob("tex-mml-chtml*.js"))
    assert mathjax, "MathJax is not bundled with the site"


def test_check_cells_are_hidden(built_site):
    # Notebooks missing from _toc.yml are not built (only_build_toc_files); tests/test_book.py reports them.
    for entry in _toc_files():
        nb_path = ROOT / f"{entry}.ipynb"
        if not nb_path.exists() or not (built_site / f"{entry}.html").exists():  # test_site_has_every_page
            continue
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        html = (built_site / f"{entry}.html").read_text("utf-8")
        for cell in nb["cells"]:
            if "remove-cell" in cell.get("metadata", {}).get("tags", []):
                src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                first = next((ln.strip() for ln in src.splitlines() if ln.strip().startswith("assert")), None)
                if first and len(first) > 20:
                    escaped = first.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                    assert first not in html and escaped not in html, f"{nb_path.name}: check cell shown: {first}"


def test_code_cells_have_copy_buttons_and_notebooks_a_download_link(built_site):
    """sphinx-copybutton is on every page with code; each notebook page links its .ipynb source."""
    for entry in _toc_files():
        if not entry.startswith("notebooks/") or not (built_site / f"{entry}.html").exists():
            continue
        html = (built_site / f"{entry}.html").read_text("utf-8")
        if 'class="cell_input' in html:
            assert re.search(r'<script[^>]+src="[^"]*copybutton\.js', html), f"{entry}: no copybutton.js"
        assert re.search(rf'<a href="[^"]*_sources/{re.escape(entry)}\.ipynb"', html), \
            f"{entry}: no download link to _sources/{entry}.ipynb (html.use_download_button in _config.yml)"
        assert (built_site / "_sources" / f"{entry}.ipynb").is_file(), f"_sources/{entry}.ipynb is not in the site"


# --- weight ---------------------------------------------------------------------------------------


def _pages(html_root: Path) -> list[Path]:
    skip = {"_static", "_sources", "_images"}
    return sorted(p for p in html_root.rglob("*.html") if not skip & set(p.relative_to(html_root).parts))


def _local_targets(page: Path, html_root: Path, html: str) -> set[Path]:
    """Files under _images that a page shows (img src, object data, source srcset)."""
    found = set()
    for ref in re.findall(r'(?:src|data|srcset)="([^"#?]+)', html):
        if ref.startswith(("http:", "https:", "data:", "//")):
            continue
        target = (page.parent / unquote(ref.split()[0])).resolve()
        if target.is_file() and (html_root / "_images") in target.parents:
            found.add(target)
    return found


def test_pages_are_light_and_plots_are_svg(built_site, record_property):
    weights, offenders, used_by = [], [], {}
    for page in _pages(built_site):
        html = page.read_text("utf-8")
        images = _local_targets(page, built_site, html)
        rel = page.relative_to(built_site).as_posix()
        for img in images:
            used_by.setdefault(img, []).append(rel)
        weights.append((page.stat().st_size + sum(i.stat().st_size for i in images), rel, len(images)))
        for m in re.finditer(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html):
            if len(m.group(1)) * 3 // 4 > PNG_LIMIT:
                offenders.append(f"{rel}: inline PNG of {len(m.group(1)) * 3 // 4 / 1024:.0f} KiB")
    for png in sorted((built_site / "_images").glob("*.png")):
        if png.stat().st_size > PNG_LIMIT:
            offenders.append(f"_images/{png.name}: {png.stat().st_size / 1024:.0f} KiB PNG, "
                             f"on {', '.join(used_by.get(png.resolve(), ['no page']))}")
    weights.sort(reverse=True)
    images = list((built_site / "_images").iterdir()) if (built_site / "_images").exists() else []
    kinds = sorted({p.suffix for p in images})
    _report(record_property,
            f"site size: {_dir_size(built_site) / 2**20:.1f} MiB in all "
            f"({_dir_size(built_site / '_static') / 2**20:.1f} MiB _static, mostly MathJax); {len(weights)} pages; "
            f"{len(images)} images ({', '.join(kinds) or 'none'})",
            "heaviest pages (HTML + own images): " + "; ".join(f"{rel} {w / 1024:.0f} KiB ({n} img)"
                                                            for w, rel, n in weights[:3]))
    heavy = [f"{rel}: {w / 1024:.0f} KiB with its {n} image(s)" for w, rel, n in weights if w > PAGE_LIMIT]
    assert not heavy, f"pages over {PAGE_LIMIT // 1024} KiB:\n" + "\n".join(heavy)
    assert not offenders, (f"PNG images over {PNG_LIMIT // 1024} KiB (plot lines as SVG: "
                           "d2lutils.plot / %config InlineBackend.figure_formats = ['svg']):\n" + "\n".join(offenders))


# --- a real browser -------------------------------------------------------------------------------


def _find_chromium() -> str | None:
    candidates = [os.environ.get("D2L_CHROMIUM"), "/usr/bin/chromium"] + [
        shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")]
    return next((c for c in candidates if c and os.path.isfile(c) and os.access(c, os.X_OK)), None)


def _require_chromium() -> str:
    """The Chromium to drive; without one the test skips, except under CI=true, where it fails."""
    chromium = _find_chromium()
    if chromium is None and os.environ.get("CI", "").lower() == "true":  # CI must run the browser test
        pytest.fail("CI=true but no Chromium found (/usr/bin/chromium, chromium, google-chrome or "
                    "$D2L_CHROMIUM): install it with `apt-get install chromium fonts-noto-cjk`", pytrace=False)
    if chromium is None:
        pytest.skip("no Chromium found (/usr/bin/chromium, chromium, google-chrome or $D2L_CHROMIUM): "
                    "install it with `apt-get install chromium fonts-noto-cjk` (.ci/run does) to run the browser test")
    return chromium


def test_missing_chromium_fails_under_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "_find_chromium", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but no Chromium"):
        _require_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="no Chromium found"):
        _require_chromium()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # the browser closing a connection early
        pass


@contextmanager
def _serve(directory: Path):
    server = _Server(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


_WAIT_FOR_MATHJAX = """async () => {
  const mj = window.MathJax;
  if (!mj || !mj.startup || !mj.startup.promise) return mj ? 'not started' : 'none';
  const timeout = new Promise(resolve => setTimeout(() => resolve('timeout'), 30000));
  return await Promise.race([mj.startup.promise.then(() => 'ok', e => 'error: ' + e), timeout]);
}"""

_INSPECT = r"""async () => {
  const out = {};
  const imgs = Array.from(document.images);
  for (const img of imgs) if (img.loading === 'lazy') img.loading = 'eager';
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(resolve => {
    img.addEventListener('load', resolve); img.addEventListener('error', resolve); setTimeout(resolve, 15000); })));
  out.images = imgs.length;
  out.brokenImages = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));

  const maths = Array.from(document.querySelectorAll('.math'));
  out.math = maths.length;
  out.mjx = document.querySelectorAll('mjx-container').length;
  out.unrendered = maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.trim().slice(0, 80));
  out.texErrors = Array.from(document.querySelectorAll('mjx-merror'))
    .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 80));

  // Raw TeX left in the text, outside code: text joined per block, typeset math shown as ⟨math⟩, so that
  // "$a_1$" split by markup and stray dollars around a formula ("$⟨math⟩$") are both caught.
  const skip = 'pre, code, kbd, samp, script, style, template, noscript, textarea, .highlight';
  const blockOf = el => el.closest('p, li, td, th, dt, dd, h1, h2, h3, h4, h5, h6, figcaption, caption, div') || el;
  const blocks = new Map();
  const add = (el, text) => { const b = blockOf(el); blocks.set(b, (blocks.get(b) || '') + text); };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      if (node.nodeType === Node.TEXT_NODE) {
        add(node.parentElement, node.textContent);
        return NodeFilter.FILTER_SKIP;
      }
      if (node.matches('mjx-container')) { add(node, '⟨math⟩'); return NodeFilter.FILTER_REJECT; }
      return node.matches(skip) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_SKIP;
    }});
  walker.nextNode();
  // A TeX command (\frac, \mathbf, \nabla: a backslash and two or more letters) is never prose; neither is
  // a dollar sign touching typeset math ("$⟨math⟩", the remains of a formula split by Markdown).
  const raw = /\\\(|\\\[|\\[A-Za-z]{2,}|\$\$|\$⟨math⟩|⟨math⟩\$|\$[^\s$]\$|\$[^\s$][^$\n]{0,300}?[^\s$\\]\$/;
  out.rawTex = [];
  for (const text of blocks.values()) {
    const m = text.match(raw);
    if (m) out.rawTex.push(text.slice(Math.max(0, m.index - 30), m.index + m[0].length + 30).replace(/\s+/g, ' '));
  }

  const inputs = Array.from(document.querySelectorAll('div.cell_input div.highlight'));
  out.codeCells = inputs.length;
  out.withoutCopy = inputs.filter(b => !b.querySelector('button.copybtn')).length;
  out.copyButtons = document.querySelectorAll('button.copybtn').length;
  out.ipynb = Array.from(document.querySelectorAll('a[href]')).map(a => a.href).filter(h => /\.ipynb$/.test(h));
  out.text = document.body.innerText;
  const font = sel => { const e = document.querySelector(sel); return e ? getComputedStyle(e).fontFamily : null; };
  out.fonts = {body: font('body'), h1: font('h1'), code: font('pre')};
  return out;
}"""

_MARK_CJK = """() => {
  const main = document.querySelector('main, article, .bd-article') || document.body;
  // the element whose own text holds the Chinese: inside a glossary link that is a span in the <strong>
  const own = e => Array.from(e.childNodes).some(n => n.nodeType === 3 && /[\\u3400-\\u9fff]/.test(n.textContent));
  const el = Array.from(main.querySelectorAll('strong, strong *, p')).find(e => own(e)
             && !e.closest('pre, code, table'));
  if (!el) return null;
  el.setAttribute('data-d2l-cjk', '1');
  el.scrollIntoView({block: 'center'});
  return el.textContent.trim().slice(0, 60);
}"""

_SCROLL_TO_FIGURE = """() => {
  const img = document.querySelector('div.cell_output img');
  if (img) img.scrollIntoView({block: 'center'});
  return img ? img.getAttribute('src') : null;
}"""


def _css_cjk_families() -> list[str]:
    css = (ROOT / "book" / "assets" / "custom.css").read_text(encoding="utf-8")
    return [f for f in re.findall(r'"([^"]+)"', css) if re.search(r"CJK|Han|PingFang|YaHei|WenQuanYi", f)]


def _has_cjk_font() -> bool:
    try:
        out = subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(out.strip())


def _platform_fonts(context, page) -> list[str]:
    """The fonts Chromium used for the text of the element marked data-d2l-cjk (DevTools protocol)."""
    cdp = context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "[data-d2l-cjk]"})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return [f"{f['familyName']} ({f['glyphCount']} glyphs)" for f in fonts]


def test_every_page_in_a_real_browser(built_site, record_property):
    """Load every page in headless Chromium from a local server and check what a reader would see."""
    chromium = _require_chromium()
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the `playwright` package is missing: pip install -e '.[test]'", pytrace=False)

    toc = _toc_files()
    front = f"{toc[0]}.html"
    pages = [p.relative_to(built_site).as_posix() for p in _pages(built_site)]
    pages.remove("index.html")  # a redirect to the front page, checked below
    notebooks = [f"{e}.html" for e in toc if e.startswith("notebooks/") and f"{e}.html" in pages]
    static_html = {p: (built_site / p).read_text("utf-8") for p in pages}
    math_counts = {p: len(re.findall(r'class="(?:[^"]*\s)?math(?:\s[^"]*)?"', h)) for p, h in static_html.items()}
    # a bold key term: plain, or a glossary link (<strong><a ...><span ...>tensor (张量)</span></a></strong>)
    chinese_page = next((p for p in notebooks
                         if re.search(r"<strong>(?:<[^>]+>)*[^<]*[\u3400-\u9fff]", static_html[p])), None)
    figure_page = next((p for p in notebooks if p != chinese_page and math_counts[p]
                        and re.search(r'class="cell_output[^"]*"[\s\S]{0,2000}?<img', static_html[p])), None)
    shots = {front: "front-page.png", chinese_page: "notebook-chinese-text.png", figure_page: "notebook-figure.png"}
    shots.pop(None, None)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name in shots.values():  # only this test's own screenshots: other tests save theirs here too
        (SCREENSHOTS / name).unlink(missing_ok=True)

    failures: list[tuple[str, str]] = []  # (page, problem)
    external: list[str] = []
    timings: list[tuple[float, str]] = []
    totals = {"images": 0, "math": 0, "mjx": 0, "copy": 0}
    fonts_note = "not checked"
    start = time.perf_counter()
    with _serve(built_site) as base, sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
                                         chromium_sandbox=False, timeout=120_000)
        except PlaywrightError as exc:
            pytest.fail(f"{chromium} is there but did not start under Playwright: {exc}", pytrace=False)
        version = browser.version
        context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        context.set_default_timeout(60_000)

        def route(route_, request):
            host = urlsplit(request.url).hostname
            if host == "127.0.0.1":
                route_.continue_()
            else:
                external.append(request.url)
                route_.abort()

        context.route("**/*", route)

        # The site's root redirects to the front page.
        page = context.new_page()
        page.goto(base + "index.html")
        page.wait_for_url(base + front)
        page.close()

        for rel in pages:
            t0 = time.perf_counter()
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc, errors=errors: errors.append(f"JavaScript error: {exc}"))
            page.on("console", lambda msg, errors=errors: errors.append(
                f"console error: {msg.text} ({msg.location.get('url', '')})") if msg.type == "error" else None)
            n_external = len(external)
            try:
                page.goto(base + rel, wait_until="load")
                mathjax = page.evaluate(_WAIT_FOR_MATHJAX)
                info = page.evaluate(_INSPECT)
            except PlaywrightError as exc:
                failures.append((rel, f"did not load: {exc}".splitlines()[0]))
                page.close()
                continue
            problems = [e for e in errors if not any(url in e for url in external[n_external:])]
            problems += [f"request to {url} (blocked: the site must work offline)" for url in external[n_external:]]
            problems += [f"image not loaded: {src}" for src in info["brokenImages"]]
            if math_counts[rel]:
                if mathjax != "ok":
                    problems.append(f"MathJax did not finish typesetting: {mathjax}")
                if info["mjx"] < math_counts[rel] or info["unrendered"]:
                    problems.append(f"math not rendered: {math_counts[rel]} .math elements in the HTML, "
                                    f"{info['mjx']} mjx-container; e.g. {info['unrendered'][:3]}")
            problems += [f"TeX error: {err}" for err in info["texErrors"][:5]]
            problems += [f"raw TeX in the text: ...{snippet}..." for snippet in info["rawTex"][:5]]
            if info["withoutCopy"]:
                problems.append(f"{info['withoutCopy']} of {info['codeCells']} code cells have no copy button")
            if rel in notebooks:
                wanted = urljoin(base + rel, f"../../_sources/{rel[:-5]}.ipynb")
                if wanted not in info["ipynb"]:
                    problems.append(f"no .ipynb download link (expected {wanted}); links: {info['ipynb'][:3]}")
                else:
                    resp = context.request.get(wanted)
                    if not resp.ok or "cells" not in json.loads(resp.body() or b"{}"):
                        problems.append(f"the .ipynb download {wanted} is not served: HTTP {resp.status}")
            if rel == front:
                for command in ("make book", "make test"):
                    if command not in info["text"]:
                        problems.append(f"the front page does not show `{command}`")
                families = _css_cjk_families()
                for where, family in info["fonts"].items():
                    if family and families and families[0] not in family:
                        problems.append(f"{where} font-family has no CJK fallback ({families[0]}): {family}")
            totals["images"] += info["images"]
            totals["math"] += math_counts[rel]
            totals["mjx"] += info["mjx"]
            totals["copy"] += info["copyButtons"]
            if rel in shots:
                target = SCREENSHOTS / shots[rel]
                if rel == chinese_page:
                    marked = page.evaluate(_MARK_CJK)
                    if marked:
                        used = _platform_fonts(context, page)
                        fonts_note = f"'{marked}' on {rel} drawn with {', '.join(used)}"
                        if _has_cjk_font() and not any(f in u for u in used for f in _css_cjk_families()):
                            problems.append(f"Chinese text not drawn with a CJK font of custom.css: {fonts_note}")
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(target))
                elif rel == figure_page:
                    page.evaluate(_SCROLL_TO_FIGURE)
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(target))
                else:
                    page.screenshot(path=str(target), full_page=True)
            failures += [(rel, p) for p in problems]
            page.close()
            timings.append((time.perf_counter() - t0, rel))
        context.close()
        browser.close()
    seconds = time.perf_counter() - start

    timings.sort(reverse=True)
    _report(record_property,
            f"browser: {len(timings)} of {len(pages)} pages (+ index.html redirect) loaded in Chromium {version} "
            f"in {seconds:.1f} s ({seconds / max(len(timings), 1):.2f} s per page); slowest: "
            + ", ".join(f"{rel} {t:.1f} s" for t, rel in timings[:3]),
            f"browser: {totals['images']} images, {totals['math']} math elements -> {totals['mjx']} "
            "rendered by MathJax, "
            f"{totals['copy']} copy buttons, {len(external)} outside requests blocked, {len(failures)} problem(s)",
            f"fonts: {fonts_note}",
            "screenshots: " + ", ".join(f"_build/screenshots/{name} ({rel})" for rel, name in shots.items()))
    if failures:
        pages_with: dict[str, list[str]] = {}
        for rel, problem in failures:
            pages_with.setdefault(problem, []).append(rel)
        lines = []
        for problem, rels in pages_with.items():  # the same problem on many pages is one line
            if len(rels) > 3:
                lines.append(f"on {len(rels)} pages ({', '.join(rels[:2])}, ...): {problem}")
            else:
                lines += [f"{rel}: {problem}" for rel in rels]
        shown = "\n".join(lines[:80]) + (f"\n... and {len(lines) - 80} more" if len(lines) > 80 else "")
        pytest.fail(f"{len(failures)} problem(s) in the browser:\n{shown}", pytrace=False)


# --- navigation on a phone, code that fits, no Thebe ------------------------------------------------

PHONE = {"width": 390, "height": 844}  # an iPhone 12-15 in portrait, in CSS pixels
WIDE = {"width": 1400, "height": 900}
FIT_SHARE = 0.95  # code and output blocks that must fit the column at 1400 px without sideways scrolling


@contextmanager
def _browser(built_site: Path, **context_options):
    """A headless Chromium context on the site served from 127.0.0.1; requests elsewhere are aborted."""
    chromium = _require_chromium()
    from playwright.sync_api import sync_playwright

    def route(route_, request):
        if urlsplit(request.url).hostname == "127.0.0.1":
            route_.continue_()
        else:
            route_.abort()

    with _serve(built_site) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
                                     chromium_sandbox=False, timeout=120_000)
        context = browser.new_context(service_workers="block", **context_options)
        context.set_default_timeout(60_000)
        context.route("**/*", route)
        try:
            yield context, base
        finally:
            context.close()
            browser.close()


# The box of the first element matching the selector that a reader sees: at least 20x20 px of it inside the
# viewport, and the element (or one of its children) drawn on top at the middle of that part. Else null.
_ON_SCREEN = """(selector) => {
  for (const el of document.querySelectorAll(selector)) {
    const r = el.getBoundingClientRect();
    const left = Math.max(r.left, 0), right = Math.min(r.right, window.innerWidth);
    const top = Math.max(r.top, 0), bottom = Math.min(r.bottom, window.innerHeight);
    if (right - left < 20 || bottom - top < 20) continue;
    const hit = document.elementFromPoint((left + right) / 2, (top + bottom) / 2);
    if (hit && el.contains(hit)) return [r.left, r.top, r.width, r.height].map(Math.round);
  }
  return null;
}"""
_OFF_SCREEN = f"(selector) => ({_ON_SCREEN})(selector) === null"
BOOK_TOC = "nav.bd-docs-nav"  # the book's table of contents (left sidebar)
PAGE_TOC = "nav.page-toc"  # this page's sections (right sidebar)


def _first_notebook_page() -> str:
    return next(f"{e}.html" for e in _toc_files() if e.startswith("notebooks/"))


def _wait(page, script: str, selector: str) -> bool:
    """Wait (up to 15 s, for a loaded machine) until the script holds for the selector."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(script, arg=selector, timeout=15_000)
    except PlaywrightTimeout:
        return False
    return True


def test_phone_sidebars_open_when_tapped(built_site, record_property):
    """At 390 px the visible ☰ opens the book's contents and the contents icon this page's sections.

    With pydata-sphinx-theme 0.17 and sphinx-book-theme 1.3 a tap only showed a tooltip (the themes listen
    on hidden copies of the buttons); book/assets/sidebar-toggles.js passes the click on.
    """
    rel = _first_notebook_page()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    with _browser(built_site, viewport=PHONE, is_mobile=True, has_touch=True) as (context, base):
        page = context.new_page()
        page.goto(base + rel, wait_until="load")
        for toggle, target, name, shot in [(".primary-toggle", BOOK_TOC, "☰", "phone-sidebar-open.png"),
                                           (".secondary-toggle", PAGE_TOC, "contents icon", "phone-contents-open.png")]:
            if page.evaluate(_ON_SCREEN, target):
                problems.append(f"{target} is already on screen at {PHONE['width']} px, before tapping {name}")
                continue
            buttons = page.locator(toggle).filter(visible=True)
            if buttons.count() != 1:
                problems.append(f"{buttons.count()} visible {toggle} buttons ({name}) at {PHONE['width']} px, not 1")
                continue
            buttons.first.tap()
            if not _wait(page, _ON_SCREEN, target):
                problems.append(f"tapping the visible {name} ({toggle}) did not bring {target} on screen")
                continue
            page.screenshot(path=str(SCREENSHOTS / shot))
            page.keyboard.press("Escape")
            if not _wait(page, _OFF_SCREEN, target):
                problems.append(f"Escape did not close the sidebar that {name} opened")
    _report(record_property, f"phone ({PHONE['width']}x{PHONE['height']}) on {rel}: "
                             + ("; ".join(problems) if problems else "☰ and the contents icon open their sidebars")
                             + "; screenshots _build/screenshots/phone-sidebar-open.png, phone-contents-open.png")
    assert not problems, "\n".join(problems)


def test_menu_button_hides_and_shows_the_sidebar_on_a_wide_screen(built_site):
    rel = _first_notebook_page()
    with _browser(built_site, viewport=WIDE) as (context, base):
        page = context.new_page()
        page.goto(base + rel, wait_until="load")
        assert page.evaluate(_ON_SCREEN, BOOK_TOC), f"the book's contents are not shown at {WIDE['width']} px"
        button = page.locator(".primary-toggle").filter(visible=True)
        assert button.count() == 1, f"{button.count()} visible ☰ buttons at {WIDE['width']} px, not 1"
        button.first.click()
        assert _wait(page, _OFF_SCREEN, BOOK_TOC), f"clicking ☰ at {WIDE['width']} px did not hide the contents"
        button.first.click()
        assert _wait(page, _ON_SCREEN, BOOK_TOC), "clicking ☰ again did not bring the contents back"


# Every code block (pre) and HTML output (tables) of the article: does it fit its column, or scroll sideways?
_BLOCK_WIDTHS = """async () => {
  await document.fonts.ready;
  const article = document.querySelector('article') || document.body;
  return Array.from(article.querySelectorAll('pre, div.cell_output div.output.text_html')).map(b => ({
    kind: b.closest('div.cell_output') ? 'output' : 'code',
    over: b.scrollWidth - b.clientWidth,
    first: (b.textContent.split('\\n').find(line => line.trim()) || '').trim().slice(0, 70),
  }));
}"""


def test_code_and_outputs_fit_at_1400px(built_site, record_property):
    """At 1400 px, at least 95 % of code cells and outputs fit their column without a sideways scrollbar."""
    pages = [p.relative_to(built_site).as_posix() for p in _pages(built_site)]
    pages = [p for p in pages if "<pre" in (built_site / p).read_text("utf-8")]
    blocks = []
    with _browser(built_site, viewport=WIDE) as (context, base):
        page = context.new_page()
        for rel in pages:
            page.goto(base + rel, wait_until="load")
            blocks += [dict(b, page=rel) for b in page.evaluate(_BLOCK_WIDTHS)]
    wide = sorted((b for b in blocks if b["over"] > 1), key=lambda b: -b["over"])
    counts = {kind: (sum(b["kind"] == kind for b in blocks), sum(b["kind"] == kind for b in wide))
              for kind in ("code", "output")}
    share = 1 - len(wide) / max(len(blocks), 1)
    worst = [f"{b['page']}: {b['kind']} {b['over']} px too wide: {b['first']}" for b in wide[:20]]
    _report(record_property,
            f"fit at {WIDE['width']} px: {len(blocks) - len(wide)} of {len(blocks)} blocks ({share:.1%}) on "
            f"{len(pages)} pages; scrolling sideways: {counts['code'][1]} of {counts['code'][0]} code, "
            f"{counts['output'][1]} of {counts['output'][0]} outputs", *(["widest:"] + worst[:10] if wide else []))
    assert share >= FIT_SHARE, (f"only {share:.1%} of code and output blocks fit at {WIDE['width']} px "
                                f"(at least {FIT_SHARE:.0%} must; code lines within 88 characters, tables that "
                                f"fit); {len(wide)} scroll sideways, the widest:\n" + "\n".join(worst))


def test_no_thebe_and_a_favicon(built_site):
    """No page carries Thebe's configuration (a Binder repository unrelated to the book); pages have an icon.

    (index.html only redirects to the front page.)
    """
    problems = []
    for page in _pages(built_site):
        rel = page.relative_to(built_site).as_posix()
        html = page.read_text("utf-8")
        if re.search(r"thebe|binder-examples", html, re.I):
            problems.append(f"{rel}: Thebe configuration or script")
        icon = re.search(r'<link rel="icon" href="([^"]+)"', html)
        if rel != "index.html" and not (icon and (page.parent / icon.group(1)).resolve().is_file()):
            problems.append(f"{rel}: no favicon (" + (icon.group(1) if icon else '<link rel="icon"> missing') + ")")
    assert not problems, "\n".join(problems[:20])


def test_chapter_pages_list_their_sections(built_site):
    """Each chapter of the sidebar opens a page that links its sections with their full-run times and data."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    chapters = [c for part in toc["parts"] for c in part["chapters"] if c.get("sections")]
    assert chapters, "_toc.yml has no chapter page with sections nested under it"
    problems = []
    for chapter in chapters:
        page = built_site / f"{chapter['file']}.html"
        html = page.read_text("utf-8") if page.is_file() else ""
        article = html[html.find("<article"):html.find("</article>")]
        for section in chapter["sections"]:
            href = os.path.relpath(built_site / f"{section['file']}.html", page.parent)
            if f'href="{href}"' not in article:
                problems.append(f"{chapter['file']}: no link to {section['file']}")
        if "A full run of the whole chapter took" not in article and "has had a full run" not in article:
            problems.append(f"{chapter['file']}: no total time of the chapter's full runs")
    assert not problems, "\n".join(problems)


# Diagrams of d2lutils.diagrams that the notebooks show as numbered figures (myst-nb cell metadata
# mystnb.figure.{caption,name} and mystnb.image.alt), with the page that references each from its prose.
FIGURES = {
    "fig-autograd-graph": "notebooks/02-preliminaries/02-autograd",
    "fig-neuron": "notebooks/04-multilayer-perceptrons/01-perceptrons-and-mlps",
    "fig-mlp": "notebooks/04-multilayer-perceptrons/01-perceptrons-and-mlps",
    "fig-cross-correlation": "notebooks/07-convolutional-networks/02-convolution-layers",
    "fig-padding-stride": "notebooks/07-convolutional-networks/03-padding-and-stride",
    "fig-channels": "notebooks/07-convolutional-networks/04-channels",
    "fig-lenet": "notebooks/07-convolutional-networks/06-lenet",
    "fig-receptive-field": "notebooks/07-convolutional-networks/07-receptive-fields",
    "fig-transposed-convolution": "notebooks/07-convolutional-networks/08-transposed-convolution",
    "fig-inception": "notebooks/08-modern-cnns/03-googlenet",
    "fig-residual-blocks": "notebooks/08-modern-cnns/05-resnet",
    "fig-dense-block": "notebooks/08-modern-cnns/06-densenet",
    "fig-depthwise-separable": "notebooks/08-modern-cnns/07-mobilenet",
    "fig-unet": "notebooks/08-modern-cnns/08-unet",
    "fig-unrolled-rnn": "notebooks/09-recurrent-networks/04-recurrent-neural-networks",
    "fig-bptt-paths": "notebooks/09-recurrent-networks/07-backpropagation-through-time",
    "fig-rnn-topologies": "notebooks/09-recurrent-networks/08-rnn-topologies",
    "fig-elman-jordan": "notebooks/09-recurrent-networks/08-rnn-topologies",
    "fig-gru-cell": "notebooks/10-modern-rnns/01-gru",
    "fig-lstm-cell": "notebooks/10-modern-rnns/02-lstm",
    "fig-encoder-decoder": "notebooks/10-modern-rnns/06-seq2seq",
    "fig-word2vec-models": "notebooks/11-word-embeddings/02-word2vec",
    "fig-negative-sampling": "notebooks/11-word-embeddings/03-efficient-word2vec",
    "fig-viterbi-trellis": "notebooks/11-word-embeddings/06-hmm-crf-viterbi",
    "fig-attention-pooling": "notebooks/12-attention/01-queries-keys-values",
    "fig-mha-diagram": "notebooks/12-attention/05-multi-head-attention",
    "fig-transformer-block": "notebooks/13-transformers/01-transformer",
    "fig-causal-kv-cache": "notebooks/13-transformers/02-gpt",
    "fig-autoencoder": "notebooks/14-generative-models/01-autoencoders",
    "fig-gan-loop": "notebooks/14-generative-models/02-gans",
    "fig-message-passing": "notebooks/15-graph-neural-networks/01-gcn",
    "fig-all-reduce-step": "notebooks/16-computational-performance/03-distributed-data-parallel",
}
_FIGURE = re.compile(r'<figure[^>]*\bid="(?P<id>[^"]+)"[^>]*>(?P<body>[\s\S]*?)</figure>')
_HASHY_ALT = re.compile(r"^[0-9a-f]{16,}(?:\.\w+)?$")


def test_figures_have_numbered_captions_alt_text_and_references(built_site):
    """Each diagram is a numbered figure with its caption and a real alt text, and the prose links to it."""
    problems = []
    for name, doc in FIGURES.items():
        html = (built_site / f"{doc}.html").read_text(encoding="utf-8")
        figures = {m["id"]: m["body"] for m in _FIGURE.finditer(html)}
        body = figures.get(name)
        if body is None:
            problems.append(f"{doc}: no <figure id={name!r}> (figures there: {sorted(figures)})")
            continue
        caption = re.search(r"<figcaption>([\s\S]*?)</figcaption>", body)
        if not caption or not re.search(r"Fig\. \d+(?:\.\d+)*", caption[1]):
            problems.append(f"{doc}#{name}: no numbered caption ('Fig. N')")
        alts = re.findall(r'<img[^>]*\balt="([^"]*)"', body)
        if not alts or any(len(a) < 20 or _HASHY_ALT.match(a) for a in alts):
            problems.append(f"{doc}#{name}: alt text {alts!r} does not describe the figure")
        if not re.search(rf'href="#{re.escape(name)}"', html) and name != "fig-lenet":
            problems.append(f"{doc}: the prose does not reference #{name} ({{numref}})")
    assert not problems, "\n".join(problems)


def test_figure_screenshots(built_site, record_property):
    """Screenshots of two diagrams with their captions, for a reader's look (and the closing note)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = {"fig-lenet": "figure-lenet-with-caption.png", "fig-padding-stride": "figure-padding-stride.png"}
    with _browser(built_site, viewport={"width": 1400, "height": 1000}) as (context, base):
        page = context.new_page()
        for name, shot in shots.items():
            page.goto(f"{base}{FIGURES[name]}.html", wait_until="load")
            figure = page.locator(f"figure#{name}")
            assert figure.count() == 1, f"{FIGURES[name]}: figure#{name} not found"
            figure.scroll_into_view_if_needed()
            assert figure.locator("img").evaluate("img => img.naturalWidth") > 0, f"{name}: image not loaded"
            figure.screenshot(path=str(SCREENSHOTS / shot))
    _report(record_property, "figures: " + ", ".join(f"_build/screenshots/{s}" for s in shots.values()))
