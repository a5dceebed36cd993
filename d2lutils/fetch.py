"""The transport under :mod:`d2lutils.data`: bounded transfers, temporary files, safe extraction.

Everything here guards against a misbehaving source or an interrupted run:

- a transfer stops as soon as it passes the number of bytes it may have (the registered
  size of a file, or :data:`MAX_ARCHIVE_BYTES` for an archive) and when a deadline passes
  (``$D2L_DOWNLOAD_DEADLINE`` seconds per file, default :data:`DEFAULT_DEADLINE_S`);
- bytes go to a hidden ``.part`` file in the destination folder whose name records the
  host and process that wrote it, so the next run can tell an orphan (its process is
  gone) from a download in progress, and remove it;
- new files and folders get the permissions the umask allows (not ``0600``/``0700`` as
  :func:`tempfile.mkstemp` would give), so a cache can be shared by a group;
- credentials in a URL (``https://user:secret@host/...``) are sent as an HTTP
  ``Authorization`` header, never to a redirect target, and are replaced by ``***`` in
  every message (:func:`redact`);
- :func:`extract` checks every member of an archive before writing anything.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import socket
import tarfile
import time
import urllib.request
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = [
    "DEADLINE_ENV", "DEFAULT_DEADLINE_S", "MAX_ARCHIVE_BYTES", "DownloadError", "redact", "deadline_seconds",
    "sha256_file", "part_file", "temp_dir", "remove_orphans", "fetch", "copy_member", "extract", "ArchiveCache",
    "MANIFEST", "extraction_problem", "write_manifest",
]

#: Environment variable with the deadline, in seconds, for fetching one file (all sources together).
DEADLINE_ENV = "D2L_DOWNLOAD_DEADLINE"
#: Deadline in seconds for fetching one file when neither an argument nor ``$D2L_DOWNLOAD_DEADLINE`` sets one.
DEFAULT_DEADLINE_S = 900.0
#: The most bytes an archive of unregistered size may have (a bound on an endless response).
MAX_ARCHIVE_BYTES = 2 << 30

_CHUNK = 1 << 20
_SOCKET_TIMEOUT_S = 30.0
_ORPHAN_AGE_S = 24 * 3600  # a temporary file of another machine is an orphan after a day untouched
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]{8}\.(?:part|tmp|old)$")
_USERINFO = re.compile(r"(?<=://)[^/\s]*@")
#: The manifest :func:`write_manifest` puts into an extraction folder.
MANIFEST = ".d2l-extracted.json"


class DownloadError(RuntimeError):
    """Every source of a data file failed; the message names the file, the URLs and what to do."""


def redact(text: str) -> str:
    """Replace the user name and password of every URL in ``text`` by ``***``."""
    return _USERINFO.sub("***@", text)


def deadline_seconds(value: float | None = None) -> float:
    """Return the deadline for fetching one file: ``value``, else ``$D2L_DOWNLOAD_DEADLINE``, else the default.

    Raises:
        ValueError: the value is not a positive number of seconds (the message names its origin).
    """
    origin = "deadline_s"
    if value is None:
        raw = os.environ.get(DEADLINE_ENV, "").strip()
        if not raw:
            return DEFAULT_DEADLINE_S
        origin = DEADLINE_ENV
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ValueError(f"{origin} must be a positive number of seconds, got {value!r}")
    return float(value)


def sha256_file(path: Path) -> str:
    """Return the SHA-256 of the file at ``path`` (lower-case hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _temp_path(folder: Path, name: str, suffix: str) -> Path:
    return folder / f".{name}.{_HOST}-{os.getpid()}-{secrets.token_hex(4)}.{suffix}"


def part_file(folder: Path, name: str) -> Path:
    """Create an empty hidden file in ``folder`` to receive ``name``'s bytes, with umask permissions."""
    path = _temp_path(folder, name, "part")
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return path


def temp_dir(folder: Path, name: str, suffix: str = "tmp") -> Path:
    """Create an empty hidden folder in ``folder`` for ``name``, with umask permissions, and return it."""
    path = _temp_path(folder, name, suffix)
    os.mkdir(path, 0o777)
    return path


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphans(folder: Path, name: str) -> list[Path]:
    """Remove the temporary files and folders for ``name`` in ``folder`` that no live process owns.

    A temporary written on this machine is an orphan when its process is gone; one written
    elsewhere (a shared cache), or named by an older version of this module, when it has not
    changed for a day. Returns what was removed; what cannot be removed is left alone.
    """
    removed = []
    try:
        candidates = [p for p in folder.iterdir() if p.name.startswith(f".{name}.")]
    except OSError:
        return removed
    for path in candidates:
        m = _TEMP_NAME.match(path.name)
        if m and m["name"] != name:
            continue
        try:
            if m and m["host"] == _HOST:
                orphan = not _process_alive(int(m["pid"]))
            elif m or path.name.endswith((".part", ".archive")):
                orphan = time.time() - path.lstat().st_mtime > _ORPHAN_AGE_S
            else:
                orphan = False
            if orphan:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed.append(path)
        except OSError:
            pass
    return removed


def _open_url(url: str, timeout: float) -> Any:
    parts = urlsplit(url)
    auth = None
    if parts.username is not None or parts.password is not None:
        user_pass = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        auth = "Basic " + base64.b64encode(user_pass.encode()).decode("ascii")
        url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    request = urllib.request.Request(url)
    if auth:
        request.add_unredirected_header("Authorization", auth)  # never sent on to a redirect target
    return urllib.request.urlopen(request, timeout=timeout)


def _copy_bounded(src: BinaryIO, out: BinaryIO, max_bytes: int | None, deadline: float, deadline_s: float) -> int:
    read = getattr(src, "read1", src.read)  # read1 returns what has arrived instead of waiting for a full chunk
    got = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError(f"not complete after the {deadline_s:g} s deadline ({got:,} bytes so far); "
                               f"set {DEADLINE_ENV} to allow longer")
        chunk = read(_CHUNK)
        if not chunk:
            return got
        got += len(chunk)
        if max_bytes is not None and got > max_bytes:
            raise OSError(f"the source sent more than the expected {max_bytes:,} bytes; stopped there")
        out.write(chunk)


def fetch(source: str, dest: Path, *, max_bytes: int | None, deadline: float, deadline_s: float) -> int:
    """Copy ``source`` (a URL or a local path) into the existing file ``dest``; return the byte count.

    Args:
        source: ``scheme://...`` or a path.
        dest: a temporary file (see :func:`part_file`), never the final name.
        max_bytes: the transfer stops with an error past this many bytes (``None``: no bound).
        deadline: :func:`time.monotonic` time by which the transfer must be complete.
        deadline_s: the deadline's length, for the error message.

    Raises:
        OSError: the source is unreachable, sends too much, too little, or not in time
            (:class:`TimeoutError`); ``dest`` then holds a partial copy for the caller to remove.
    """
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError(f"the {deadline_s:g} s deadline had passed before this source was tried")
    if "://" not in source:
        with open(source, "rb") as src, open(dest, "wb") as out:
            return _copy_bounded(src, out, max_bytes, deadline, deadline_s)
    with _open_url(source, timeout=min(_SOCKET_TIMEOUT_S, remaining)) as response, open(dest, "wb") as out:
        announced = response.headers.get("Content-Length")
        expected = int(announced) if announced is not None and announced.isdigit() else None
        if expected is not None and max_bytes is not None and expected > max_bytes:
            raise OSError(f"the server announces {expected:,} bytes, more than the expected {max_bytes:,}")
        got = _copy_bounded(response, out, max_bytes, deadline, deadline_s)
    if expected is not None and got != expected:
        raise OSError(f"transfer truncated: got {got:,} of {expected:,} bytes")
    return got


def copy_member(archive: Path, member: str, dest: Path, size: int | None) -> None:
    """Write ``member`` of the zip or tar ``archive`` into ``dest``, refusing one not of ``size`` bytes.

    Raises:
        KeyError: no such member. OSError: the member is not a regular file or has the wrong size.
    """
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            info = zf.getinfo(member)
            _check_member_size(archive, member, info.file_size, size)
            with zf.open(info) as src, open(dest, "wb") as out:
                _copy_bounded(src, out, size, math.inf, math.inf)
        return
    with tarfile.open(archive) as tf:
        info = tf.getmember(member)
        src = tf.extractfile(info) if info.isfile() else None
        if src is None:
            raise OSError(f"{member} is not a regular file in {archive.name}")
        _check_member_size(archive, member, info.size, size)
        with src, open(dest, "wb") as out:
            _copy_bounded(src, out, size, math.inf, math.inf)


def _check_member_size(archive: Path, member: str, actual: int, size: int | None) -> None:
    if size is not None and actual != size:
        raise OSError(f"member {member} of {archive.name} has {actual:,} bytes, expected {size:,}")


def _check_members(names: Iterable[str], dest: Path, archive: Path) -> None:
    base = dest.resolve()
    for name in names:
        p = PurePosixPath(name.replace("\\", "/"))
        resolved = (base / p).resolve()
        if p.is_absolute() or ".." in p.parts or (resolved != base and base not in resolved.parents):
            raise ValueError(
                f"archive {archive.name} has a member {name!r} that would be written outside {dest}; "
                f"refusing to extract anything from it (the file may be corrupted or malicious)"
            )


def extract(archive: Path | str, dest: Path | str) -> Path:
    """Extract a ``.zip`` or tar archive into ``dest`` and return ``dest``.

    Every member is checked *before* anything is written: absolute paths, ``..``
    components and tar links or devices are refused, so an archive cannot write outside
    ``dest``. Tar members are extracted with the ``"data"`` filter where Python has it
    (3.12, 3.11.4, 3.10.12 and later): no setuid/setgid bits, no group/other write
    permission, no owners taken from the archive.

    Raises:
        ValueError: a member would escape ``dest`` or is a link (nothing is extracted).
        FileNotFoundError: ``archive`` does not exist.
    """
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise FileNotFoundError(f"no archive at {archive}")
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            _check_members(zf.namelist(), dest, archive)
            zf.extractall(dest)
        return dest
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        _check_members((m.name for m in members), dest, archive)
        links = [m.name for m in members if m.issym() or m.islnk() or m.isdev()]
        if links:
            raise ValueError(f"archive {archive.name} contains links or devices ({links[0]!r}); refusing to extract")
        if hasattr(tarfile, "data_filter"):
            tf.extractall(dest, filter="data")
        else:  # pragma: no cover (Python before 3.10.12 / 3.11.4); members checked above
            tf.extractall(dest)  # noqa: S202
    return dest


class ArchiveCache:
    """Archives fetched for the files they hold (during one download), each fetched once, removed at the end.

    Args:
        folder: where fetched archives are kept meanwhile (as hidden ``.part`` files).
    """

    def __init__(self, folder: Path) -> None:
        self.root = folder
        self.got: dict[str, Path | Exception] = {}

    def get(self, location: str, deadline: float, deadline_s: float) -> Path:
        """Return the archive at ``location`` (a URL or a path), fetching it on first use (see :func:`fetch`).

        Raises:
            OSError: the fetch failed, now or on an earlier call for the same location.
        """
        if location not in self.got:
            if "://" not in location and Path(location).is_file():
                self.got[location] = Path(location)  # an archive in a mirror folder is read where it is
            else:
                name = location.rstrip("/").rsplit("/", 1)[-1] or "archive"
                remove_orphans(self.root, name)
                part = part_file(self.root, name)
                try:
                    fetch(location, part, max_bytes=MAX_ARCHIVE_BYTES, deadline=deadline, deadline_s=deadline_s)
                    self.got[location] = part
                except Exception as err:
                    part.unlink(missing_ok=True)
                    self.got[location] = err  # the next file of the same archive need not wait for it again
        got = self.got[location]
        if isinstance(got, Exception):
            raise got
        return got

    def close(self) -> None:
        """Remove the archives this cache fetched (not those it read in place)."""
        for got in self.got.values():
            if isinstance(got, Path) and got.parent == self.root and got.name.endswith(".part"):
                got.unlink(missing_ok=True)


def extraction_problem(dest: Path, archives: dict[str, str]) -> str | None:
    """Say what is wrong with the extraction folder ``dest``, or return ``None`` when nothing is.

    ``dest`` is right when it holds the manifest :func:`write_manifest` wrote, for the same
    ``archives``, and every file the manifest lists has the recorded size and SHA-256.
    """
    if not dest.is_dir():
        return "missing"
    try:
        manifest = json.loads((dest / MANIFEST).read_text(encoding="utf-8"))
        files = {str(rel): (int(size), str(sha)) for rel, (size, sha) in manifest["files"].items()}
        if manifest["archives"] != archives:
            return "extracted from other archives"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return f"it has no readable {MANIFEST}"
    for rel, (size, sha) in files.items():
        path = dest / rel
        try:
            if path.stat().st_size != size or sha256_file(path) != sha:
                return f"{rel} was changed"
        except OSError:
            return f"{rel} is missing"
    return None


def write_manifest(folder: Path, archives: dict[str, str]) -> None:
    """Record in ``folder`` the size and SHA-256 of each file in it, and ``archives`` (path -> SHA-256)."""
    files = {p.relative_to(folder).as_posix(): [p.stat().st_size, sha256_file(p)]
             for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}
    text = json.dumps({"archives": archives, "files": files}, indent=1, ensure_ascii=False)
    (folder / MANIFEST).write_text(text, encoding="utf-8")
