"""Execute the book's notebooks in place and record how their outputs were made.

Usage::

    python -m d2lutils.book run notebooks/02-preliminaries          # full mode (default)
    python -m d2lutils.book run --mode quick notebooks/.../x.ipynb   # never commit these outputs
    python -m d2lutils.book status                                   # fresh / stale / pending per notebook

After a run each notebook's metadata holds ``d2lutils = {mode, device, torch,
seconds, source_sha256}``. ``source_sha256`` is the SHA-256 (hex) of
``json.dumps([code cell sources in order], ensure_ascii=False)`` encoded as
UTF-8, where a cell source stored as a list of lines is first joined with
``""``. The freshness test recomputes it to tell whether stored outputs still
belong to the code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["source_sha256", "pending_notebooks", "notebook_status", "execute_notebook", "find_notebooks", "main"]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
PENDING_FILE = "PENDING.md"


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def source_sha256(nb: dict[str, Any]) -> str:
    """The hex SHA-256 of a notebook's code, as defined in the module docstring.

    Args:
        nb: a notebook as a dict (``json.load`` of the ``.ipynb``) or an ``nbformat`` node.
    """
    code = [_source(c) for c in nb["cells"] if c.get("cell_type") == "code"]
    return hashlib.sha256(json.dumps(code, ensure_ascii=False).encode("utf-8")).hexdigest()


def pending_notebooks(root: Path | str = "notebooks") -> set[str]:
    """Notebook paths (relative to the repository root) listed in ``notebooks/PENDING.md``."""
    path = Path(root) / PENDING_FILE
    if not path.exists():
        return set()
    return set(re.findall(r"notebooks/[\w./-]+\.ipynb", path.read_text(encoding="utf-8")))


def notebook_status(path: Path | str, pending: set[str] | None = None) -> str:
    """One word for a stored notebook: ``fresh``, ``stale``, ``quick``, ``unexecuted``, ``pending`` or ``no-code``.

    ``pending`` (notebooks waiting for a GPU run) is reported only for listed notebooks
    that hold no quick-mode outputs; a listed notebook with quick outputs is ``quick``.
    """
    path = Path(path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    meta = nb.get("metadata", {}).get("d2lutils")
    rel = path.as_posix()
    listed = any(rel.endswith(p) for p in (pending or set()))
    if meta and meta.get("mode") == "quick":
        return "quick"
    if listed:
        return "pending"
    code = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    if not code:
        return "no-code"
    if not meta or not any(c.get("outputs") for c in code):
        return "unexecuted"
    if meta.get("mode") != "full":
        return "quick"
    return "fresh" if meta.get("source_sha256") == source_sha256(nb) else "stale"


def _collapse_carriage_returns(text: str) -> str:
    """Render ``\\r`` the way a terminal does: keep what was written last on each line."""
    return "\n".join(line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r")
                     for line in text.split("\n"))


# A progress bar caught before it finished ("training  10%|██ ..."): on a static page only the finished
# bar (100%) says something, so unfinished ones are dropped from stored stderr.
_UNFINISHED_BAR = re.compile(r"^\S[^|\n]*?\s\d{1,2}%\|")


def _drop_unfinished_bars(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not _UNFINISHED_BAR.match(line))


def _clean_outputs(nb: Any) -> None:
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        kept: list[Any] = []
        for out in cell.outputs:
            if out.output_type in ("display_data", "execute_result") and WIDGET_MIME in out.get("data", {}):
                continue  # a widget needs a live kernel; its static figure is a separate output
            if out.output_type == "stream" and kept and kept[-1].output_type == "stream" \
                    and kept[-1].name == out.name:
                kept[-1].text += out.text  # one block per stream, as a reader sees it in JupyterLab
                continue
            kept.append(out)
        for out in kept:
            if out.output_type == "stream":
                out.text = _collapse_carriage_returns(out.text)
                if out.name == "stderr":
                    out.text = _drop_unfinished_bars(out.text)
        cell.outputs = [out for out in kept if out.output_type != "stream" or out.text.strip()]
    nb.metadata.pop("widgets", None)


def _device_label() -> str:

    from .device import device_name, try_gpu

    dev = try_gpu()
    if dev.type == "cpu":
        return f"cpu ({os.cpu_count()} cores, {platform.machine()})"
    return device_name(dev)


def execute_notebook(path: Path | str, mode: str = "full", timeout: int = 3600) -> dict[str, Any]:
    """Execute one notebook in place with nbclient and store its outputs and run record.

    The kernel runs with ``D2L_MODE=mode``, ``D2L_STATIC_WIDGETS=1`` (widgets become static
    figures), fixed hash seeds and a fixed SVG date, from the notebook's folder. Widget state
    and execution timestamps are not stored. The file is replaced atomically only when every
    cell ran.

    Args:
        path: the ``.ipynb`` file.
        mode: ``"full"`` (what the book stores) or ``"quick"``.
        timeout: seconds allowed per cell.

    Returns:
        The run record written to ``metadata.d2lutils``.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell failed (the file is left unchanged).
    """
    import nbformat
    import torch
    from nbclient import NotebookClient

    from .config import read_mode

    mode = read_mode(mode)
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    env = {"D2L_MODE": mode, "D2L_STATIC_WIDGETS": "1", "PYTHONHASHSEED": "0", "SOURCE_DATE_EPOCH": "0"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    start = time.perf_counter()
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                                store_widget_state=False, resources={"metadata": {"path": str(path.parent)}})
        client.execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - start
    _clean_outputs(nb)
    record = {"mode": mode, "device": _device_label(), "torch": torch.__version__.split("+")[0],
              "seconds": round(seconds, 1), "source_sha256": source_sha256(nb)}
    nb.metadata["d2lutils"] = record
    nb.metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
    fd, tmp = tempfile.mkstemp(suffix=".ipynb", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.chmod(tmp, path.stat().st_mode & 0o777)  # keep the notebook's permissions (mkstemp makes 0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return record


def find_notebooks(targets: list[str], root: Path | str = "notebooks") -> list[Path]:
    """Expand targets into notebook paths: files, folders, or chapter numbers like ``"02"``.

    No target means every notebook under ``root``. Checkpoint folders are skipped.
    """
    root = Path(root)
    found: list[Path] = []
    for target in targets or [str(root)]:
        p = Path(target)
        if re.fullmatch(r"\d{1,2}", target):
            matches = sorted(root.glob(f"{int(target):02d}-*"))
            if not matches:
                raise FileNotFoundError(f"no chapter folder {int(target):02d}-* under {root}")
            p = matches[0]
        if p.is_dir():
            found += sorted(q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts)
        elif p.suffix == ".ipynb" and p.exists():
            found.append(p)
        else:
            raise FileNotFoundError(f"{target}: not a notebook, a folder or a chapter number")
    return found


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (``python -m d2lutils.book``)."""
    parser = argparse.ArgumentParser(prog="python -m d2lutils.book", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks in place and store their outputs")
    run.add_argument("targets", nargs="*", help="notebooks, folders or chapter numbers (default: all)")
    run.add_argument("--mode", default="full", help="full (default) or quick")
    run.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    run.add_argument("--skip-pending", action="store_true", help="skip notebooks listed in PENDING.md")
    status = sub.add_parser("status", help="show whether stored outputs are fresh")
    status.add_argument("targets", nargs="*")
    args = parser.parse_args(argv)
    notebooks = find_notebooks(args.targets)
    pending = pending_notebooks()
    if args.command == "status":
        for nb_path in notebooks:
            print(f"{notebook_status(nb_path, pending):10s} {nb_path.as_posix()}")
        return 0
    failed = 0
    for nb_path in notebooks:
        if args.skip_pending and any(nb_path.as_posix().endswith(p) for p in pending):
            print(f"skip (pending)  {nb_path}")
            continue
        print(f"run  {nb_path} ...", flush=True)
        try:
            record = execute_notebook(nb_path, args.mode, args.timeout)
        except Exception as exc:  # report every failing notebook, then fail
            failed += 1
            print(f"FAIL {nb_path}: {type(exc).__name__}: {str(exc)[-2000:]}", file=sys.stderr)
            continue
        size = nb_path.stat().st_size / 1000
        print(f"done {nb_path}: {record['seconds']} s on {record['device']}, {size:.0f} KB", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
