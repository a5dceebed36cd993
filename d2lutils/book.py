"""Execute the book's notebooks in place and record how their outputs were made.

Usage::

    python -m d2lutils.book run notebooks/02-preliminaries          # full mode (default)
    python -m d2lutils.book run --mode quick notebooks/.../x.ipynb   # never commit these outputs
    python -m d2lutils.book status                                   # fresh / stale / pending per notebook

After a run each notebook's metadata holds the run record ``d2lutils = {mode, device, cpu, torch,
matplotlib, d2lutils_sha256, seconds, source_sha256, outputs_sha256}``. ``source_sha256`` is the
SHA-256 (hex) of ``json.dumps([code cell sources in order], ensure_ascii=False)`` encoded as UTF-8,
where a cell source stored as a list of lines is first joined with ``""``. ``outputs_sha256`` hashes
the stored outputs (see :func:`outputs_sha256`) and ``d2lutils_sha256`` the package's sources (see
:func:`package_sha256`). The freshness test recomputes the first two: outputs are fresh only when
they were stored by a full-mode run of the current code and nothing has changed them since.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["source_sha256", "outputs_sha256", "package_sha256", "cpu_model", "kernel_data_env",
           "pending_notebooks", "notebook_status", "execute_notebook", "find_notebooks", "main"]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
PENDING_FILE = "PENDING.md"
# The runner writes the new notebook to ".<name>.ipynb.<random>.tmp" beside it, then renames it into place:
# a name that does not end in ".ipynb", so that a run killed mid-write leaves nothing pytest or nbval collect.
_TMP_SUFFIX = ".tmp"


def _join(text: Any) -> Any:
    return "".join(text) if isinstance(text, list) else text


def _source(cell: Mapping[str, Any]) -> str:
    return _join(cell.get("source", ""))


def source_sha256(nb: Mapping[str, Any]) -> str:
    """The hex SHA-256 of a notebook's code, as defined in the module docstring.

    Args:
        nb: a notebook as a dict (``json.load`` of the ``.ipynb``) or an ``nbformat`` node.
    """
    code = [_source(c) for c in nb["cells"] if c.get("cell_type") == "code"]
    return hashlib.sha256(json.dumps(code, ensure_ascii=False).encode("utf-8")).hexdigest()


def _is_json_mime(mime: str) -> bool:
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


def outputs_sha256(nb: Mapping[str, Any]) -> str:
    """The hex SHA-256 of a notebook's stored outputs, the same for a dict and an ``nbformat`` node.

    Each code cell contributes the list of its outputs, each output reduced to what a reader sees:
    ``output_type``, the stream ``name``, ``text``, ``data`` (MIME type → content) and, for errors,
    ``ename`` and ``evalue``. Text stored as a list of lines is joined with ``""``; execution counts
    and output metadata are left out. Any later change to the outputs (a quick run saved from
    JupyterLab, outputs cleared from some cells) changes the hash.

    Args:
        nb: a notebook as a dict (``json.load`` of the ``.ipynb``) or an ``nbformat`` node.
    """
    cells = []
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        outs = []
        for out in cell.get("outputs", []):
            item: dict[str, Any] = {"output_type": out.get("output_type")}
            for key in ("name", "ename", "evalue"):
                if key in out:
                    item[key] = out[key]
            if "text" in out:
                item["text"] = _join(out["text"])
            if "data" in out:
                item["data"] = {mime: value if _is_json_mime(mime) else _join(value)
                                for mime, value in out["data"].items()}
            outs.append(item)
        cells.append(outs)
    text = json.dumps(cells, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def package_sha256() -> str:
    """The hex SHA-256 of the sources of the installed ``d2lutils`` package.

    Every ``.py`` file of the package, in sorted order, contributes its relative path and its text
    with line endings normalised to ``\\n`` (so that a Windows checkout gives the same hash).
    Notebooks whose run record holds another value were run against an older library.
    """
    pkg = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for file in sorted(p for p in pkg.rglob("*.py") if "__pycache__" not in p.parts):
        digest.update(file.relative_to(pkg).as_posix().encode("utf-8") + b"\0")
        digest.update(file.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def cpu_model() -> str:
    """The CPU's model name, e.g. ``"Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"``.

    Read from ``/proc/cpuinfo`` on Linux and ``sysctl`` on macOS; otherwise
    ``platform.processor()`` or, failing that, the machine type (``"x86_64"``).
    """
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                return " ".join(value.split())
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                 timeout=10, check=True).stdout.strip()
            if out:
                return out
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def kernel_data_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``D2L_DATA_DIR`` and ``D2L_DATA_MIRROR`` as absolute paths, for kernels that start in another folder.

    A kernel runs from its notebook's folder, where a relative path would point somewhere else.
    Variables that are unset or empty are left out; a mirror given as a URL (``scheme://...``) is
    kept as it is.

    Args:
        environ: where to read the variables (default: ``os.environ``).
    """
    environ = os.environ if environ is None else environ
    result = {}
    for name in ("D2L_DATA_DIR", "D2L_DATA_MIRROR"):
        value = environ.get(name, "").strip()
        if not value:
            continue
        if name == "D2L_DATA_MIRROR" and "://" in value:
            result[name] = value
        else:
            result[name] = str(Path(value).expanduser().resolve())
    return result


# A real list entry: "- notebooks/NN-chapter/NN-section.ipynb — reason" (the path may be in backticks,
# the bullet may be -, * or +). A path mentioned anywhere else is prose, not an entry.
_PENDING_ENTRY = re.compile(r"^\s{0,3}[-*+]\s+`?(notebooks/[\w./-]+?\.ipynb)(?![\w./-])`?(.*)$")


def pending_notebooks(root: Path | str = "notebooks") -> dict[str, str]:
    """The notebooks listed in ``<root>/PENDING.md``: repository-relative path → the reason given.

    Only list entries of the form ``- notebooks/NN-chapter/NN-section.ipynb — reason`` count; a path
    mentioned in the prose does not. This is the one parser of that file (the site's run-record
    extension and the tests use it too).

    Args:
        root: the ``notebooks`` folder that holds ``PENDING.md``; a missing file means an empty list.

    Raises:
        ValueError: a list entry names a notebook but gives no reason (the message names the line).
    """
    path = Path(root) / PENDING_FILE
    if not path.exists():
        return {}
    listed: dict[str, str] = {}
    in_code = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith(("```", "~~~")):
            in_code = not in_code
        match = None if in_code else _PENDING_ENTRY.match(line)
        if match:
            reason = match.group(2).strip().lstrip("—–-:").strip()
            if not reason:
                raise ValueError(f"{path}:{number}: give the reason after the path, as in "
                                 f"'- {match.group(1)} — what it needs': {line.strip()!r}")
            listed[match.group(1)] = reason
    return listed


def _is_listed(path: Path, pending: Mapping[str, str] | set[str]) -> bool:
    absolute = path.resolve().as_posix()
    return any(absolute == p or absolute.endswith("/" + p) for p in pending)


def _read_notebook(path: Path) -> dict[str, Any]:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable notebook (invalid JSON: {exc})") from exc
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list) \
            or not all(isinstance(c, dict) for c in nb["cells"]):
        raise ValueError(f"{path}: not a notebook (no list of cells at the top level)")
    if not isinstance(nb.get("metadata", {}), dict):
        raise ValueError(f"{path}: not a notebook (its metadata is not a JSON object)")
    return nb


def notebook_status(path: Path | str, pending: Mapping[str, str] | set[str] | None = None) -> str:
    """One word for a stored notebook; only ``fresh``, ``pending`` and ``no-code`` pass the freshness test.

    - ``fresh``: a full-mode run record whose ``source_sha256`` and ``outputs_sha256`` match the file;
    - ``stale``: the code changed after the run; ``quick``: the record is not from full mode;
    - ``edited``: the outputs changed after the run (a quick run saved over them, some cleared);
    - ``unverified``: a record from before ``outputs_sha256`` existed, so the outputs cannot be checked;
    - ``unexecuted``: no outputs at all, or outputs without a run record;
    - ``pending``: listed in ``PENDING.md`` (see :func:`pending_notebooks`) and holding no outputs at
      all; a listed notebook that holds outputs is judged like any other;
    - ``no-code``: no code cells.

    Args:
        path: the ``.ipynb`` file.
        pending: the result of :func:`pending_notebooks` (default: nothing is pending).

    Raises:
        ValueError: the file is not a notebook (the message names it).
    """
    path = Path(path)
    nb = _read_notebook(path)
    meta = nb.get("metadata", {}).get("d2lutils")
    code = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    if not code:
        return "no-code"
    has_outputs = any(c.get("outputs") for c in code)
    if not has_outputs:
        return "pending" if _is_listed(path, pending or {}) else "unexecuted"
    if not isinstance(meta, dict):
        return "unexecuted"
    if meta.get("mode") != "full":
        return "quick"
    if meta.get("source_sha256") != source_sha256(nb):
        return "stale"
    if "outputs_sha256" not in meta:
        return "unverified"
    return "fresh" if meta["outputs_sha256"] == outputs_sha256(nb) else "edited"


def _collapse_carriage_returns(text: str) -> str:
    """Render ``\\r`` the way a terminal does: keep what was written last on each line."""
    return "\n".join(line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r")
                     for line in text.split("\n"))


# A tqdm progress bar, finished or not: "training 100%|█████| 10/10 [00:10<00:00], loss 0.3" (with a total)
# or "training: 12batch [00:01, 9.8batch/s]" (without). Bars belong to live runs: the stored page keeps
# the summary line printed after training, and the wall-clock times in a bar would change on every run.
_PROGRESS_BAR = re.compile(r"^.*?\d{1,3}%\|[^|\n]*\|\s*\d[\d.]*[kMGTPE]?/\d[\d.]*[kMGTPE]?\s*\["
                           r"|^.*?\d[\d.]*[kMGTPE]?[A-Za-z]* \[\d+:\d{2}(?::\d{2})?,")


def _drop_progress_bars(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not _PROGRESS_BAR.match(line))


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
                    out.text = _drop_progress_bars(out.text)
        cell.outputs = [out for out in kept if out.output_type != "stream" or out.text.strip()]
    nb.metadata.pop("widgets", None)


def _device_label() -> str:
    from .device import device_name, try_gpu

    dev = try_gpu()
    if dev.type == "cpu":
        return f"cpu ({os.cpu_count()} cores, {platform.machine()})"
    return device_name(dev)


def _version(package: str) -> str:
    try:
        return metadata.version(package).split("+")[0]
    except metadata.PackageNotFoundError:
        return "not installed"


def _remove_orphans(path: Path) -> None:
    """Delete temporary files left beside ``path`` by an earlier run that was killed while writing."""
    for orphan in path.parent.glob(f".{glob.escape(path.name)}.*{_TMP_SUFFIX}"):
        orphan.unlink(missing_ok=True)


def execute_notebook(path: Path | str, mode: str = "full", timeout: int = 3600) -> dict[str, Any]:
    """Execute one notebook in place with nbclient and store its outputs and run record.

    The kernel runs with ``D2L_MODE=mode``, ``D2L_STATIC_WIDGETS=1`` (widgets become static
    figures), fixed hash seeds and a fixed SVG date, from the notebook's folder, with
    ``D2L_DATA_DIR`` and ``D2L_DATA_MIRROR`` made absolute (:func:`kernel_data_env`). Widget state,
    execution timestamps and progress bars are not stored. The file is replaced atomically only
    when every cell ran; temporary files left by a killed run of the same notebook are removed.

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
    from nbclient import NotebookClient

    from .config import read_mode

    mode = read_mode(mode)
    path = Path(path)
    _remove_orphans(path)
    nb = nbformat.read(path, as_version=4)
    env = {"D2L_MODE": mode, "D2L_STATIC_WIDGETS": "1", "PYTHONHASHSEED": "0", "SOURCE_DATE_EPOCH": "0",
           **kernel_data_env()}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    start = time.perf_counter()
    try:
        # The kernel's log goes to this terminal; at level ERROR it no longer warns about running over
        # TCP on 127.0.0.1 (a loopback connection to a kernel this process started).
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                                store_widget_state=False, resources={"metadata": {"path": str(path.parent)}},
                                extra_arguments=["--IPKernelApp.log_level=ERROR"])
        client.execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - start
    _clean_outputs(nb)
    record = {"mode": mode, "device": _device_label(), "cpu": cpu_model(), "torch": _version("torch"),
              "matplotlib": _version("matplotlib"), "d2lutils_sha256": package_sha256(),
              "seconds": round(seconds, 1), "source_sha256": source_sha256(nb), "outputs_sha256": outputs_sha256(nb)}
    nb.metadata["d2lutils"] = record
    nb.metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TMP_SUFFIX, dir=path.parent)
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


def _print_status(notebooks: list[Path], pending: Mapping[str, str]) -> int:
    """``status``: one line per notebook, the notebooks run against an older d2lutils, a summary line."""
    current = package_sha256()
    counts: dict[str, int] = {}
    older: list[str] = []
    full_seconds = 0.0
    for nb_path in notebooks:
        try:
            status = notebook_status(nb_path, pending)
            meta = _read_notebook(nb_path).get("metadata", {}).get("d2lutils")
        except (OSError, ValueError) as exc:
            status, meta = "error", None
            print(f"error      {exc}", file=sys.stderr)
        else:
            print(f"{status:10s} {nb_path.as_posix()}")
        counts[status] = counts.get(status, 0) + 1
        if isinstance(meta, dict) and meta.get("mode") == "full" and status not in ("pending", "unexecuted"):
            seconds = meta.get("seconds")
            full_seconds += seconds if isinstance(seconds, (int, float)) else 0.0
            if meta.get("d2lutils_sha256") != current:
                older.append(nb_path.as_posix())
    if older:
        print(f"\nRun against an older d2lutils ({len(older)}; a rerun may change their outputs):")
        for name in older:
            print(f"  {name}")
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    print(f"\n{len(notebooks)} notebook{'s' if len(notebooks) != 1 else ''}: {parts}; "
          f"{len(older)} run against an older d2lutils; "
          f"stored full runs took {full_seconds:,.0f} s ({full_seconds / 60:.1f} min) in all")
    return 1 if counts.get("error") else 0


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
        return _print_status(notebooks, pending)
    failed = 0
    for nb_path in notebooks:
        if args.skip_pending and _is_listed(nb_path, pending):
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
