"""Faults of the data layer: endless or trickling sources, credentials, orphans, races, permissions, bad input.

Every server here runs on 127.0.0.1 inside the test, with bounded loops, and stops by itself.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import multiprocessing
import os
import stat
import struct
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from test_data import _closed_port_url, _register, serve_folder

from d2lutils import data, fetch

PAYLOAD = b"twelve bytes" * 1000  # 12,000 bytes
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()
ENDLESS_LIMIT = 64 << 20  # the endless body gives up after this many bytes (if the client never stops)
TRICKLE_STEPS = 60  # the trickling body sends 1 KB every 0.2 s, at most this many times


class _Handler(http.server.SimpleHTTPRequestHandler):
    """``/files/...`` serves ``server.root``; ``/endless/...`` and ``/trickle/...`` misbehave."""

    def translate_path(self, path: str) -> str:
        return str(Path(self.server.root) / path.split("?")[0].removeprefix("/files/"))  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        log = self.server.log  # type: ignore[attr-defined]
        log["paths"].append(self.path)
        log["auth"].append(self.headers.get("Authorization"))
        if self.path.startswith("/endless/"):
            self._stream(b"x" * 65536, ENDLESS_LIMIT // 65536, 0.0)
        elif self.path.startswith("/trickle/"):
            self._stream(b"y" * 1024, TRICKLE_STEPS, 0.2)
        else:
            super().do_GET()

    def _stream(self, chunk: bytes, steps: int, pause: float) -> None:
        """Send ``chunk`` ``steps`` times without a Content-Length; record how far it got."""
        log = self.server.log  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()
        sent, complete = 0, False
        try:
            for _ in range(steps):
                self.wfile.write(chunk)
                self.wfile.flush()
                sent += len(chunk)
                time.sleep(pause)
            complete = True
        except OSError:  # the client hung up
            pass
        finally:
            self.close_connection = True
            log["streams"].append((sent, complete))
            log["done"].set()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, dict]]:
    """A local HTTP server; yields (base URL, served folder, log of paths, auth headers and streams)."""
    root = tmp_path / "served"
    root.mkdir()
    log = {"paths": [], "auth": [], "streams": [], "done": threading.Event()}
    with serve_folder(_Handler, root, log=log) as url:
        yield url, root, log


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buf.getvalue()


def _tar_gz_bytes(members: dict[str, bytes], mode: int = 0o644, uid: int = 0) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(content), mode, uid, uid
            tf.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _archive_set(monkeypatch, folder: Path, filename: str, content: bytes, name: str = "toy-archive") -> None:
    """Put ``content`` into ``folder/filename`` and register it as data set ``name`` (found via the mirror)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / filename).write_bytes(content)
    _register(monkeypatch, data.DataFile(filename, hashlib.sha256(content).hexdigest(),
                                         (f"{_closed_port_url()}/{filename}",), size=len(content)), name=name)
    monkeypatch.setenv("D2L_DATA_MIRROR", str(folder))


# --------------------------------------------------------------------------- registry

def test_every_registered_file_has_its_size() -> None:
    for ds in data.DATASETS.values():
        for f in ds.files:
            assert isinstance(f.size, int) and f.size > 0, f.path
    icwb2 = {f.path: f for f in data.DATASETS["icwb2"].files}
    assert icwb2["icwb2-data/gold/pku_test_gold.utf8"].size == 718_331
    assert icwb2["icwb2-data/scripts/score"].member == "icwb2-data/scripts/score"


# --------------------------------------------------------------------------- bounded transfers

def test_endless_body_stops_past_the_registered_size(server, cache, monkeypatch) -> None:
    base, _, log = server
    _register(monkeypatch, data.DataFile("toy/toy.txt", PAYLOAD_SHA, (f"{base}/endless/toy.txt",),
                                         size=len(PAYLOAD)))
    with pytest.raises(data.DownloadError, match=r"more than the expected 12,000 bytes") as err:
        data.download("toy")
    assert "toy/toy.txt" in str(err.value) and f"{base}/endless/toy.txt" in str(err.value)
    assert log["done"].wait(60)  # the server's loop ends once the client hangs up
    assert log["streams"] == [(log["streams"][0][0], False)]  # it never got to send all 64 MB
    assert _files(cache) == []


def test_announced_size_beyond_the_registered_one_is_refused(server, cache, monkeypatch) -> None:
    base, root, _ = server
    (root / "big.txt").write_bytes(PAYLOAD * 2)
    _register(monkeypatch, data.DataFile("toy/toy.txt", PAYLOAD_SHA, (f"{base}/files/big.txt",), size=len(PAYLOAD)))
    with pytest.raises(data.DownloadError, match=r"announces 24,000 bytes, more than the expected 12,000"):
        data.download("toy")
    assert _files(cache) == []


def test_trickling_server_hits_the_deadline(server, cache, monkeypatch) -> None:
    base, _, log = server
    _register(monkeypatch, data.DataFile("toy/toy.txt", PAYLOAD_SHA, (f"{base}/trickle/toy.txt",), size=1 << 20))
    monkeypatch.setenv("D2L_DOWNLOAD_DEADLINE", "1")
    with pytest.raises(data.DownloadError, match=r"deadline") as err:
        data.download("toy")
    assert "D2L_DOWNLOAD_DEADLINE" in str(err.value)
    assert log["done"].wait(60)
    assert log["streams"][0][1] is False  # stopped long before the 60 chunks (12 s) were sent
    assert _files(cache) == []


def test_deadline_argument_and_bad_values(server, cache, monkeypatch) -> None:
    base, _, _ = server
    _register(monkeypatch, data.DataFile("toy/toy.txt", PAYLOAD_SHA, (f"{base}/trickle/toy.txt",), size=1 << 20))
    with pytest.raises(data.DownloadError, match=r"0.5 s deadline"):
        data.download("toy", deadline_s=0.5)
    for bad in (0, -1.0, float("nan"), float("inf"), "10", True):
        with pytest.raises(ValueError, match="deadline_s must be a positive number"):
            data.download("toy", deadline_s=bad)
    monkeypatch.setenv("D2L_DOWNLOAD_DEADLINE", "soon")
    with pytest.raises(ValueError, match="D2L_DOWNLOAD_DEADLINE must be a positive number"):
        data.download("toy")


# --------------------------------------------------------------------------- credentials

def test_credentials_in_urls_are_sent_but_never_shown(server, cache, monkeypatch) -> None:
    base, root, log = server
    (root / "toy").mkdir()
    (root / "toy" / "toy.txt").write_bytes(PAYLOAD)
    host = base.removeprefix("http://")
    _register(monkeypatch, data.DataFile("toy/toy.txt", PAYLOAD_SHA, (f"http://bob:canon-pw@{host}/files/none",),
                                         size=len(PAYLOAD)))
    monkeypatch.setenv("D2L_DATA_MIRROR", f"http://alice:s3cret%21@{host}/files/")
    assert (data.download("toy") / "toy.txt").read_bytes() == PAYLOAD
    assert log["auth"] == ["Basic YWxpY2U6czNjcmV0IQ=="]  # alice:s3cret!
    (cache / "toy" / "toy.txt").unlink()
    (root / "toy" / "toy.txt").unlink()
    with pytest.raises(data.DownloadError) as err:
        data.download("toy")
    msg = str(err.value)
    assert "s3cret" not in msg and "canon-pw" not in msg and "alice" not in msg
    assert f"http://***@{host}/files/toy/toy.txt" in msg and "D2L_DATA_MIRROR" in msg


def test_redact_hides_every_userinfo() -> None:
    text = "https://u:p@ss@host.org/x.zip, http://plain.org/y and ftp://token@z/"
    assert fetch.redact(text) == "https://***@host.org/x.zip, http://plain.org/y and ftp://***@z/"


# --------------------------------------------------------------------------- orphans

def test_orphaned_part_files_are_removed_on_the_next_download(server, cache, monkeypatch) -> None:
    base, root, _ = server
    (root / "toy.txt").write_bytes(PAYLOAD)
    _register(monkeypatch, data.DataFile("toy/toy.txt", PAYLOAD_SHA, (f"{base}/files/toy.txt",), size=len(PAYLOAD)))
    folder = cache / "toy"
    folder.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid, live_pid = int(dead.stdout), os.getppid()
    orphan = folder / f".toy.txt.{fetch._HOST}-{dead_pid}-0badf00d.part"  # its process is gone
    busy = folder / f".toy.txt.{fetch._HOST}-{live_pid}-0badf00d.part"  # its process still runs
    old = folder / ".toy.txt.k2j4h5l6.part"  # named by an older version, untouched for two days
    for p in (orphan, busy, old):
        p.write_bytes(b"partial")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    data.download("toy")
    assert _files(folder) == sorted(["toy.txt", busy.name])


# --------------------------------------------------------------------------- extraction

def _race_worker(cache: str, mirror: str, content: bytes, barrier, results) -> None:
    """One of two processes extracting the same archive at once (both extract before either renames)."""
    os.environ["D2L_DATA_DIR"], os.environ["D2L_DATA_MIRROR"] = cache, mirror
    from d2lutils import data as d

    d.DATASETS["toy-archive"] = d.DataSet("toy-archive", (
        d.DataFile("toy.zip", hashlib.sha256(content).hexdigest(), ("http://127.0.0.1:9/toy.zip",), size=len(content)),
    ), "test", "test")
    real_extract = d.extract

    def extract_then_wait(archive, dest):
        out = real_extract(archive, dest)
        barrier.wait(120)
        return out

    d.extract = extract_then_wait
    try:
        folder = d.download_extract("toy-archive")
        results.put(("ok", str(folder), sorted(p.name for p in folder.rglob("*.txt"))))
    except BaseException as err:  # noqa: BLE001 (reported to the parent)
        results.put(("error", repr(err), []))


def test_two_processes_extracting_at_once(tmp_path, cache) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    content = _zip_bytes({f"toy/{i}.txt": str(i).encode() * 100 for i in range(20)})
    (mirror / "toy.zip").write_bytes(content)
    # fork starts in milliseconds (the children run no torch code); spawn re-imports torch in each child
    ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_race_worker, args=(str(cache), str(mirror), content, barrier, results))
             for _ in range(2)]
    for p in procs:
        p.start()
    try:
        outcomes = [results.get(timeout=300) for _ in procs]
    finally:
        for p in procs:
            p.join(60)
            if p.is_alive():
                p.terminate()
    expected = ("ok", str(cache / "extracted" / "toy-archive"), sorted(f"{i}.txt" for i in range(20)))
    assert outcomes == [expected, expected]
    leftovers = [p.name for p in (cache / "extracted").iterdir() if p.name != "toy-archive"]
    assert leftovers == []


def test_altered_or_deleted_extracted_files_are_extracted_again(tmp_path, cache, monkeypatch, capsys) -> None:
    _archive_set(monkeypatch, tmp_path / "mirror", "toy.zip", _zip_bytes({"toy/a.txt": b"alpha", "toy/b.txt": b"beta"}))
    folder = data.download_extract("toy-archive")
    (folder / "toy" / "a.txt").write_bytes(b"alphA")  # same size, other bytes
    (folder / "toy" / "b.txt").unlink()
    again = data.download_extract("toy-archive")
    assert again == folder
    assert (folder / "toy" / "a.txt").read_bytes() == b"alpha" and (folder / "toy" / "b.txt").read_bytes() == b"beta"
    assert "extracting again" in capsys.readouterr().out
    assert [p.name for p in folder.parent.iterdir()] == ["toy-archive"]
    (folder / fetch.MANIFEST).write_text("{not json")
    (folder / "toy" / "a.txt").unlink()
    assert (data.download_extract("toy-archive") / "toy" / "a.txt").read_bytes() == b"alpha"
    assert "no readable" in capsys.readouterr().out


def test_download_extract_of_a_tar_gz(tmp_path, cache, monkeypatch) -> None:
    content = _tar_gz_bytes({"toy/a.txt": b"alpha", "toy/sub/b.txt": b"beta"})
    _archive_set(monkeypatch, tmp_path / "mirror", "toy.tar.gz", content)
    folder = data.download_extract("toy-archive")
    assert folder == cache / "extracted" / "toy-archive"
    assert (folder / "toy" / "a.txt").read_bytes() == b"alpha"
    assert (folder / "toy" / "sub" / "b.txt").read_bytes() == b"beta"


def test_member_of_a_canonical_tar_gz(server, cache, monkeypatch) -> None:
    base, root, log = server
    (root / "bundle.tgz").write_bytes(_tar_gz_bytes({"bundle/toy.txt": PAYLOAD, "bundle/other.txt": b"other"}))
    _register(monkeypatch, *(
        data.DataFile(f"bundle/{n}", hashlib.sha256(c).hexdigest(), archive_url=f"{base}/files/bundle.tgz",
                      member=f"bundle/{n}", size=len(c))
        for n, c in (("toy.txt", PAYLOAD), ("other.txt", b"other"))))
    folder = data.download("toy")
    assert (folder / "toy.txt").read_bytes() == PAYLOAD and (folder / "other.txt").read_bytes() == b"other"
    assert log["paths"] == ["/files/bundle.tgz"]  # fetched once for both members
    assert _files(cache) == ["bundle/other.txt", "bundle/toy.txt"]


def test_archive_member_of_another_size_is_not_unpacked(server, cache, monkeypatch) -> None:
    base, root, _ = server
    (root / "bundle.zip").write_bytes(_zip_bytes({"bundle/toy.txt": b"\0" * 10_000_000}))
    _register(monkeypatch, data.DataFile("bundle/toy.txt", PAYLOAD_SHA, archive_url=f"{base}/files/bundle.zip",
                                         member="bundle/toy.txt", size=len(PAYLOAD)))
    with pytest.raises(data.DownloadError, match=r"member bundle/toy.txt of .* has 10,000,000 bytes, expected 12,000"):
        data.download("toy")
    assert _files(cache) == []


def test_tar_extraction_drops_setuid_bits_and_owners(tmp_path) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(_tar_gz_bytes({"d/run.sh": b"#!/bin/sh\n"}, mode=0o4777, uid=12345))
    data.extract(archive, tmp_path / "out")
    st = (tmp_path / "out" / "d" / "run.sh").stat()
    assert not st.st_mode & (stat.S_ISUID | stat.S_ISGID | stat.S_IWGRP | stat.S_IWOTH)
    assert st.st_uid == os.getuid()


# --------------------------------------------------------------------------- permissions and paths

@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_cache_files_and_folders_follow_the_umask(tmp_path, cache, monkeypatch, umask) -> None:
    _archive_set(monkeypatch, tmp_path / "mirror", "toy.zip", _zip_bytes({"toy/a.txt": b"alpha"}))
    old = os.umask(umask)
    try:
        data.download_extract("toy-archive")
    finally:
        os.umask(old)
    for path in (cache / "toy.zip", cache / "extracted" / "toy-archive" / "toy" / "a.txt"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path
    for path in (cache / "extracted", cache / "extracted" / "toy-archive"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o777 & ~umask, path


def _deny_writes_under(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make writes under ``folder`` fail as on a read-only file system, even for root (who ignores chmod)."""
    inside = lambda p: Path(os.fsdecode(p)).absolute().is_relative_to(folder)  # noqa: E731

    def guard(real, *path_args: int):
        def wrapper(*args, **kwargs):
            if any(inside(args[i]) for i in path_args if i < len(args)):
                if real is os.mkdir and os.path.exists(args[0]):
                    raise FileExistsError(17, "File exists", args[0])
                raise PermissionError(13, "Permission denied (read-only test cache)", args[0])
            return real(*args, **kwargs)
        return wrapper

    real_open = os.open
    for name, positions in (("mkdir", (0,)), ("replace", (0, 1)), ("rename", (0, 1)), ("unlink", (0,)),
                            ("rmdir", (0,))):
        monkeypatch.setattr(os, name, guard(getattr(os, name), *positions))
    monkeypatch.setattr(os, "open", lambda path, flags, *a, **k: (
        guard(real_open, 0)(path, flags, *a, **k) if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        else real_open(path, flags, *a, **k)))
    monkeypatch.setattr(os, "access", lambda path, mode, *a, **k: (
        False if mode & os.W_OK and inside(path) else os.path.exists(path)))


def test_read_only_cache_with_verified_files_is_used(tmp_path, cache, monkeypatch) -> None:
    _archive_set(monkeypatch, tmp_path / "mirror", "toy.zip", _zip_bytes({"toy/a.txt": b"alpha"}))
    folder = data.download_extract("toy-archive")
    monkeypatch.delenv("D2L_DATA_MIRROR")
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*")}
    paths = [cache, *before]
    for p in paths:
        p.chmod(p.stat().st_mode & ~0o222)
    try:
        with monkeypatch.context() as m:
            _deny_writes_under(m, cache)
            assert data.download("toy-archive") == cache
            assert data.download_extract("toy-archive") == folder
    finally:
        for p in paths:
            p.chmod(p.stat().st_mode | 0o200)
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*")} == before


def test_read_only_cache_missing_a_file_says_so(tmp_path, cache, monkeypatch) -> None:
    _archive_set(monkeypatch, tmp_path / "mirror", "toy.zip", _zip_bytes({"toy/a.txt": b"alpha"}))
    cache.mkdir()
    with monkeypatch.context() as m:
        _deny_writes_under(m, cache)
        with pytest.raises(PermissionError, match=r"toy\.zip.*set D2L_DATA_DIR"):
            data.download("toy-archive")


def test_relative_data_dir_and_mirror_are_resolved_once(tmp_path, monkeypatch) -> None:
    work = tmp_path / "work"
    (work / "rel-mirror").mkdir(parents=True)
    (work / "rel-mirror" / "toy.txt").write_bytes(PAYLOAD)
    _register(monkeypatch, data.DataFile("toy.txt", PAYLOAD_SHA, (f"{_closed_port_url()}/toy.txt",),
                                         size=len(PAYLOAD)))
    monkeypatch.chdir(work)
    monkeypatch.setenv("D2L_DATA_DIR", "rel-cache")
    monkeypatch.setenv("D2L_DATA_MIRROR", "rel-mirror")
    assert data.data_dir() == (work / "rel-cache").resolve()
    assert os.environ["D2L_DATA_DIR"] == str((work / "rel-cache").resolve())  # what child processes inherit
    assert os.environ["D2L_DATA_MIRROR"] == str((work / "rel-mirror").resolve())
    elsewhere = tmp_path / "notebooks"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # as a kernel started in a notebook's folder
    assert data.download("toy") == (work / "rel-cache").resolve()
    assert (work / "rel-cache" / "toy.txt").read_bytes() == PAYLOAD
    assert not (elsewhere / "rel-cache").exists()


# --------------------------------------------------------------------------- bad input to the loaders

def _idx(array: np.ndarray) -> bytes:
    return gzip.compress(b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
                         + array.astype(np.uint8).tobytes())


@pytest.fixture
def tiny_fashion_mnist(tmp_path, cache, monkeypatch) -> None:
    """Replace Fashion-MNIST by 12 random images per split, served from a local mirror."""
    rng = np.random.default_rng(0)
    mirror = tmp_path / "mirror"
    (mirror / "fashion-mnist").mkdir(parents=True)
    files = []
    for split in ("train", "t10k"):
        for kind, array in (("images-idx3", rng.integers(0, 256, (12, 28, 28))),
                            ("labels-idx1", rng.integers(0, 10, 12))):
            raw = _idx(array)
            path = f"fashion-mnist/{split}-{kind}-ubyte.gz"
            (mirror / path).write_bytes(raw)
            files.append(data.DataFile(path, hashlib.sha256(raw).hexdigest(), (f"{_closed_port_url()}/x",),
                                       size=len(raw)))
    _register(monkeypatch, *files, name="fashion-mnist")
    monkeypatch.setenv("D2L_DATA_MIRROR", str(mirror))


@pytest.mark.parametrize("resize, error", [
    (2.5, TypeError), (True, TypeError), ("32", TypeError), ((32, 2.5), TypeError), ((32, None), TypeError),
    (100_000, ValueError), (0, ValueError), (-3, ValueError), ((32,), ValueError), ((32, 32, 3), ValueError),
])
def test_bad_resize_is_refused_before_anything_is_read(resize, error, cache, monkeypatch) -> None:
    monkeypatch.setitem(data.DATASETS, "fashion-mnist", data.DataSet("fashion-mnist", (), "", ""))
    monkeypatch.setattr(data, "download", lambda *a, **k: pytest.fail("read data before checking resize"))
    with pytest.raises(error, match=r"resize must be a positive integer \(at most 1024\)"):
        data.load_fashion_mnist(4, resize=resize, device="cpu")


def test_integer_like_resize_and_batch_size_are_accepted(tiny_fashion_mnist) -> None:
    train_iter, test_iter = data.load_fashion_mnist(np.int64(4), resize=np.int64(32), device="cpu")
    assert next(iter(train_iter))[0].shape == (4, 1, 32, 32)
    train_iter, _ = data.load_fashion_mnist(4, resize=(np.int32(20), 24), device="cpu")
    assert next(iter(train_iter))[0].shape == (4, 1, 20, 24)
    with pytest.raises(ValueError, match="batch_size"):
        data.load_fashion_mnist(True, device="cpu")


def test_read_idx_names_the_file_on_a_short_header_or_truncated_gzip(tmp_path) -> None:
    raw = b"\x00\x00\x08\x03" + struct.pack(">3I", 2, 3, 4) + bytes(24)
    short = tmp_path / "short-header-idx3-ubyte"
    short.write_bytes(raw[:10])
    with pytest.raises(ValueError, match=r"short-header-idx3-ubyte.*header"):
        data.read_idx(short)
    cut = tmp_path / "cut-idx3-ubyte.gz"
    cut.write_bytes(gzip.compress(raw)[:-12])
    with pytest.raises(ValueError, match=r"cut-idx3-ubyte\.gz"):
        data.read_idx(cut)
    empty = tmp_path / "empty-idx1-ubyte"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty-idx1-ubyte"):
        data.read_idx(empty)
