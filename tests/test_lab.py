"""A widget notebook in a real JupyterLab, as a reader uses it: open it in headless Chromium, Run All,
move a slider.

The test copies one notebook with ``d2l.interact`` panels into a temporary folder, starts ``jupyter lab``
there on 127.0.0.1 (a free port, a token, no browser, settings and workspaces in the temporary folder,
``D2L_MODE=quick`` and absolute data paths for the kernel), opens the notebook in Chromium (every request
not to 127.0.0.1 is aborted), runs all cells from the Run menu and waits for every code cell to finish.
It then checks what a reader sees: no traceback in any output, exactly one widget panel in each cell
that calls ``interact``, and a figure that is drawn again, differently, when the last slider of each panel
moves one step (an arrow key on the focused slider handle; SVG metadata such as the drawing time is
ignored). The server is shut down in a ``finally`` block, and every wait is bounded. A screenshot of the
first panel goes to _build/screenshots/lab-widget.png.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from test_site import CHROMIUM_ARGS, SCREENSHOTS, _require_chromium

ROOT = Path(__file__).resolve().parents[1]
# Two interact cells (a drop-down and sliders; one slider), plain tensor code otherwise: seconds in quick mode.
NOTEBOOK = ROOT / "notebooks" / "02-preliminaries" / "03-calculus-probability-information.ipynb"
SCREENSHOT = SCREENSHOTS / "lab-widget.png"
INTERACT = re.compile(r"\binteract\(")
# A traceback or an exception's name at the start of a line ("ValueError: ...") in an stderr/error output.
ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|^\s*\w*(?:Error|Exception)\b", re.M)
SERVER_START_S = 90  # bounded waits, in seconds, generous for a busy 2-core machine
LOAD_S = 90
RUN_ALL_S = 150
REDRAW_S = 30

pytestmark = pytest.mark.site  # slow, and needs Chromium: left out by `pytest tests -m "not site"` with the site


@dataclass
class LabRun:
    """What the reader saw in JupyterLab; ``seconds`` maps each phase to its wall time."""

    chromium: str = ""
    code_cells: int = 0
    interact_cells: list[int] = field(default_factory=list)  # indices among the code cells
    errors: list[str] = field(default_factory=list)  # text of stderr/error outputs with a traceback
    not_run: list[int] = field(default_factory=list)  # code cells without a prompt number after Run All
    panels: dict[int, int] = field(default_factory=dict)  # code cell index -> widget panels in its output
    moves: list[dict] = field(default_factory=list)  # per panel: slider, readout/figure before and after
    blocked: list[str] = field(default_factory=list)  # requests to hosts other than 127.0.0.1
    seconds: dict[str, float] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lab_env(home: Path) -> dict[str, str]:
    """The server's (and so the kernel's) environment: quick mode, live widgets, absolute data paths."""
    from d2lutils.book import kernel_data_env

    env = {k: v for k, v in os.environ.items() if k not in ("D2L_STATIC_WIDGETS", "MPLBACKEND")}
    env.update(kernel_data_env(env))
    env.update({
        "D2L_MODE": "quick",
        "OMP_NUM_THREADS": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        # Nothing from the user's own Jupyter or IPython setup, nothing written into their folders.
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
    })
    return env


def _write_settings(settings: Path) -> None:
    """Every cell in the page (no windowing), no news fetched from outside."""
    for rel, value in {"@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
                       "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                                      "checkForUpdates": False}}.items():
        target = settings / f"{rel}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value), encoding="utf-8")


def _api(base: str, token: str, path: str, method: str = "GET", timeout: float = 5) -> bytes:
    req = urllib.request.Request(f"{base}{path}", method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - 127.0.0.1 only
        return resp.read()


@contextmanager
def _jupyter_lab(root: Path, home: Path):
    """Run ``jupyter lab`` on 127.0.0.1 with ``root`` as its root folder; yield (base URL, token)."""
    port, token = _free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}/"
    settings = home / "settings"
    _write_settings(settings)
    log_path = home / "jupyter-lab.log"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--ServerApp.terminals_enabled=False",
           f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly", "--LanguageServerManager.autodetect=False",
           "--ServerApp.allow_root=True"]  # containers and CI often run as root

    def log() -> str:
        return log_path.read_text("utf-8", errors="replace")[-4000:] if log_path.exists() else ""

    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(cmd, cwd=root, env=_lab_env(home), stdout=log_file, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with status {proc.returncode}:\n{log()}", pytrace=False)
            try:
                _api(base, token, "api/status")
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer within {SERVER_START_S} s:\n{log()}", pytrace=False)
                time.sleep(0.5)
        yield base, token, log
    finally:
        try:  # a clean shutdown stops the kernels too
            _api(base, token, "api/shutdown", method="POST")
        except (urllib.error.URLError, OSError):
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


# In the page: for each code cell, its prompt, the number of widget panels and the stderr/error texts.
_CELLS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')].map(cell => ({
  prompt: (cell.querySelector('.jp-InputPrompt')?.textContent || '').trim(),
  panels: cell.querySelectorAll('.jp-OutputArea-output .widget-interact').length,
  stderr: [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
          .map(o => o.textContent),
}))"""

# True when Run All is over: no cell waiting ("[*]:"), and either every code cell has run ("[12]:") or an
# output shows an error (JupyterLab stops Run All at the first exception).
_RUN_ALL_OVER = """([n, errorText]) => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
  const prompts = cells.map(c => (c.querySelector('.jp-InputPrompt')?.textContent || '').trim());
  if (prompts.some(p => p === '[*]:')) return false;
  const error = new RegExp(errorText, 'm');
  const failed = [...document.querySelectorAll(
    '.jp-Notebook .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
    .some(o => error.test(o.textContent));
  return failed || (prompts.length === n && prompts.every(p => /^\\[\\d+\\]:$/.test(p)));
}"""

# A kernel has started and is idle. (The toolbar's execution indicator reads "idle" already while the status
# bar says "No Kernel | Initializing"; Run All then opens a "Select Kernel" dialog.)
_KERNEL_IDLE = """() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
  .some(item => /^(?!No Kernel).+\\|\\s*Idle$/.test(item.textContent.trim()))"""

# Scroll to the first error output, else to the first code cell that did not run.
_FIRST_PROBLEM = """() => {
  const error = document.querySelector(
    '.jp-Notebook .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
  const idle = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
    .find(c => !/^\\[\\d+\\]:$/.test((c.querySelector('.jp-InputPrompt')?.textContent || '').trim()));
  (error || idle)?.scrollIntoView();
}"""

# The figure of a panel: the HTML of its output widget, once it holds an image.
_FIGURE = """(panel) => {
  const out = panel.querySelector('.widget-output');
  return out && out.querySelector('img, svg') ? out.innerHTML : null;
}"""


def _run_in_lab(notebook: Path, workdir: Path, screenshot: Path | None = None) -> LabRun:
    """Open ``notebook`` (a copy) in JupyterLab in headless Chromium, Run All, move one slider per panel."""
    chromium = _require_chromium()
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the `playwright` package is missing: pip install -e '.[test]'", pytrace=False)

    missing = [m for m in ("jupyterlab", "ipykernel", "ipywidgets", "jupyterlab_widgets") if not find_spec(m)]
    if missing:  # jupyterlab_widgets is the frontend that draws ipywidgets in JupyterLab (an ipywidgets dependency)
        pytest.fail(f"missing for the JupyterLab test: {', '.join(missing)}: pip install -e '.[test]'", pytrace=False)

    root, home = workdir / "root", workdir / "home"
    root.mkdir(parents=True)
    home.mkdir(parents=True)
    # The copy starts with no outputs and no prompt numbers: "[n]:" on every cell then means it ran here.
    nb = json.loads(notebook.read_text("utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for cell in code:
        cell["outputs"], cell["execution_count"] = [], None
    (root / notebook.name).write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in code]
    result = LabRun(code_cells=len(sources), interact_cells=[i for i, s in enumerate(sources) if INTERACT.search(s)])

    t0 = time.perf_counter()
    with _jupyter_lab(root, home) as (base, token, log), sync_playwright() as pw:
        result.seconds["server start"] = time.perf_counter() - t0
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
                                     chromium_sandbox=False, timeout=120_000)
        result.chromium = browser.version
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
            context.set_default_timeout(30_000)

            def route(route_, request):
                if urlsplit(request.url).hostname == "127.0.0.1":
                    route_.continue_()
                else:
                    result.blocked.append(request.url)
                    route_.abort()

            context.route("**/*", route)
            page = context.new_page()
            try:
                t1 = time.perf_counter()
                page.goto(f"{base}lab/tree/{notebook.name}?reset&token={token}", timeout=LOAD_S * 1000)
                page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=LOAD_S * 1000)
                page.wait_for_function(_KERNEL_IDLE, timeout=LOAD_S * 1000, polling=500)
                result.seconds["open"] = time.perf_counter() - t1

                t1 = time.perf_counter()
                page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
                page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
                page.wait_for_function(_RUN_ALL_OVER, arg=[result.code_cells, ERROR_TEXT.pattern],
                                       timeout=RUN_ALL_S * 1000, polling=500)
                page.wait_for_function(_KERNEL_IDLE, timeout=RUN_ALL_S * 1000, polling=500)
                result.seconds["run all"] = time.perf_counter() - t1

                cells = page.evaluate(_CELLS)
                result.errors = [text for c in cells for text in c["stderr"] if ERROR_TEXT.search(text)]
                result.not_run = [i for i, c in enumerate(cells) if not re.fullmatch(r"\[\d+\]:", c["prompt"])]
                if result.errors or result.not_run:  # the test reports them; a screenshot shows the first
                    if screenshot is not None:
                        _what_is_shown(page, screenshot, scroll_to=_FIRST_PROBLEM)
                    return result
                result.panels = {i: cells[i]["panels"] for i in result.interact_cells if i < len(cells)}

                t1 = time.perf_counter()
                panels = page.locator(".jp-Notebook .widget-interact")
                for i in range(panels.count()):  # each panel has drawn its first figure
                    panels.nth(i).locator(".widget-output img, .widget-output svg").first.wait_for(
                        timeout=REDRAW_S * 1000)
                for i in range(panels.count()):
                    result.moves.append(_move_slider(page, panels.nth(i)))
                result.seconds["sliders"] = time.perf_counter() - t1
                if screenshot is not None and panels.count():
                    screenshot.parent.mkdir(parents=True, exist_ok=True)
                    panels.first.evaluate("panel => panel.closest('.jp-CodeCell').scrollIntoView()")
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(screenshot))
            except PlaywrightError as exc:
                pytest.fail(f"JupyterLab in Chromium: {str(exc).splitlines()[0]}\n{_what_is_shown(page, screenshot)}"
                            f"\nserver log:\n{log()}", pytrace=False)
            finally:
                context.close()
        finally:
            browser.close()
    result.seconds["total"] = time.perf_counter() - t0
    return result


def _what_is_shown(page, screenshot: Path | None, scroll_to: str | None = None) -> str:
    """For a failure message: the status bar, any dialog, the cells not run, error outputs; a screenshot
    (after running the JavaScript ``scroll_to``, if given)."""
    lines = []
    try:
        if scroll_to:
            page.evaluate(scroll_to)
            page.wait_for_timeout(300)
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
            lines.append(f"screenshot: {screenshot}")
        lines.append("status bar: " + " / ".join(page.locator(".jp-StatusBar-TextItem").all_inner_texts()))
        lines += [f"dialog: {text}" for text in page.locator(".jp-Dialog").all_inner_texts()]
        cells = page.evaluate(_CELLS)
        lines.append("code cell prompts: " + " ".join(c["prompt"] or "-" for c in cells))
        lines += [f"stderr/error output: {text[-800:]}" for c in cells for text in c["stderr"]][:3]
    except Exception as exc:  # noqa: BLE001 - the page may be gone; the first error is the one to report
        lines.append(f"(could not inspect the page: {str(exc).splitlines()[0]})")
    return "\n".join(lines)


def _move_slider(page, panel) -> dict:
    """Move the panel's last slider one step with the keyboard; report its readout and figure before and after."""
    slider = panel.locator(".widget-slider").last
    if not slider.count():
        return {"slider": None}
    label = slider.locator(".widget-label").first.inner_text().strip()
    readout = slider.locator(".widget-readout").first
    before = {"readout": readout.inner_text().strip(), "figure": panel.evaluate(_FIGURE)}
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
    try:  # the kernel redraws: the output widget holds a new image
        page.wait_for_function(f"([panel, old]) => {{ const now = ({_FIGURE})(panel); "
                               "return now !== null && now !== old; }",
                               arg=[panel.element_handle(), before["figure"]], timeout=REDRAW_S * 1000, polling=200)
    except Exception:  # noqa: BLE001 - reported below as "figure unchanged"
        pass
    after = {"readout": readout.inner_text().strip(), "figure": panel.evaluate(_FIGURE)}
    return {"slider": label, "before": before, "after": after}


def _image_content(html: str | None) -> str | None:
    """The images in an output's HTML, decoded, without the SVG <metadata> (it holds the time of drawing):
    two drawings of the same figure give the same string."""
    if html is None:
        return None
    images = [unquote(src) for src in re.findall(r'src="(data:[^"]*)"', html)] or [html]
    return "\n".join(re.sub(r"<metadata>.*?</metadata>", "", img, flags=re.S) for img in images)


def test_widget_notebook_runs_in_jupyterlab(tmp_path, record_property):
    """Run All in a real JupyterLab: no tracebacks, one panel per interact cell, sliders redraw the figure."""
    run = _run_in_lab(NOTEBOOK, tmp_path, screenshot=SCREENSHOT)
    rel = NOTEBOOK.relative_to(ROOT).as_posix()
    line = (f"jupyterlab: {rel} in Chromium {run.chromium}: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in run.seconds.items())
            + f"; {len(run.interact_cells)} interact cells, panels {list(run.panels.values())}, "
            f"{len(run.blocked)} outside requests blocked; screenshot _build/screenshots/{SCREENSHOT.name}")
    print(line)
    record_property("book_site_report", line)

    assert run.interact_cells, f"{rel} has no interact( cell any more: pick another widget notebook"
    assert not run.errors, f"{len(run.errors)} output(s) with a traceback after Run All:\n" + \
        "\n---\n".join(e[-1500:] for e in run.errors[:3])
    assert not run.not_run, f"code cells (0-based) not run by Run All: {run.not_run}"
    wrong = {i: n for i, n in run.panels.items() if n != 1}
    assert not wrong, (f"interact cells must show exactly one widget panel; code cell index -> panels: {wrong} "
                       "(2: does d2lutils.interact display its panel and also return it? 0: is the ipywidgets "
                       "frontend, jupyterlab_widgets, installed and enabled?)")
    assert len(run.moves) == len(run.interact_cells), \
        f"{len(run.moves)} panels in the page for {len(run.interact_cells)} interact cells"
    for move in run.moves:
        assert move["slider"], "a panel without a slider: this test moves the last slider of each panel"
        before, after = move["before"], move["after"]
        assert after["readout"] != before["readout"], \
            f"slider {move['slider']!r}: the arrow key did not change its value ({before['readout']})"
        assert after["figure"] and _image_content(after["figure"]) != _image_content(before["figure"]), \
            f"slider {move['slider']!r} moved {before['readout']} -> {after['readout']} but the figure did not change"
