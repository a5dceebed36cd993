"""Tests of the data registry and downloads, against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.server
import io
import os
import re
import socket
import struct
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from d2lutils import data

ROOT = Path(__file__).resolve().parents[1]
MIRROR = os.environ.get("D2L_DATA_MIRROR", "")
needs_mirror = pytest.mark.skipif(
    not MIRROR or "://" in MIRROR, reason="needs D2L_DATA_MIRROR pointing to a local folder (CI sets ../shared/data)"
)

PAYLOAD = b"hello, data\n" * 1000
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the files of ``server.root``; ``/truncated/...`` promises more bytes than it sends."""

    def translate_path(self, path: str) -> str:
        return str(Path(self.server.root) / path.lstrip("/"))  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        if self.path.startswith("/truncated/"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve_folder(handler: type[http.server.BaseHTTPRequestHandler], root: Path, **state: object) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 with ``handler`` in a thread; ``state`` becomes attributes of the server.

    Yields the base URL; the server stops when the block ends. Shared with tests/test_data_faults.py.
    """
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.root = root  # type: ignore[attr-defined]
    for name, value in state.items():
        setattr(httpd, name, value)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A local HTTP server serving a temporary folder; yields (base URL, folder, request log)."""
    root = tmp_path / "served"
    root.mkdir()
    hits: list[str] = []
    with serve_folder(_Handler, root, hits=hits) as url:
        yield url, root, hits



def _register(monkeypatch: pytest.MonkeyPatch, *files: data.DataFile, name: str = "toy") -> None:
    monkeypatch.setitem(data.DATASETS, name, data.DataSet(name, tuple(files), "test licence", "a toy data set"))


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# --------------------------------------------------------------------------- registry

def test_registry_covers_every_mirror_file() -> None:
    sums = (ROOT.parent / "shared" / "data" / "SHA256SUMS")
    if MIRROR and "://" not in MIRROR:
        sums = Path(MIRROR) / "SHA256SUMS"
    if not sums.exists():
        pytest.skip("no SHA256SUMS of the data mirror beside the repository")
    listed = dict(line.split()[::-1] for line in sums.read_text().splitlines() if line.strip())
    expected = {path: (sha, (sums.parent / path).stat().st_size) for path, sha in listed.items()}
    registered = {f.path: (f.sha256, f.size) for ds in data.DATASETS.values() for f in ds.files}
    assert registered == expected


def test_registry_entries_are_complete() -> None:
    for name, ds in data.DATASETS.items():
        assert ds.name == name and ds.license and ds.description
        for f in ds.files:
            assert re.fullmatch(r"[0-9a-f]{64}", f.sha256), f.path
            assert isinstance(f.size, int) and f.size > 0, f"{f.path} has no size"
            assert f.urls or f.archive_url, f"{f.path} has no canonical URL"
            assert bool(f.archive_url) == bool(f.member), f.path


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(ValueError, match=r"unknown data set 'fashion_mnist'.*Did you mean 'fashion-mnist'"):
        data.download("fashion_mnist")


# --------------------------------------------------------------------------- downloads over HTTP

def test_good_file_is_downloaded_and_cached(server, cache, monkeypatch) -> None:
    base, root, hits = server
    (root / "toy.txt").write_bytes(PAYLOAD)
    _register(monkeypatch, data.DataFile("toy/toy.txt", PAYLOAD_SHA, (f"{base}/toy.txt",)))
    folder = data.download("toy")
    assert folder == cache / "toy"
    assert (folder / "toy.txt").read_bytes() == PAYLOAD
    assert _leftovers(cache) == ["toy.txt"]  # no temporary files
    data.download("toy")
    assert hits == ["/toy.txt"]  # the second call used the verified cache


def test_checksum_mismatch_raises_and_leaves_nothing(server, cache, monkeypatch) -> None:
    base, root, _ = server
    (root / "toy.txt").write_bytes(PAYLOAD + b"tampered")
    _register(monkeypatch, data.DataFile("toy/toy.txt", PAYLOAD_SHA, (f"{base}/toy.txt",)))
    with pytest.raises(data.DownloadError, match="SHA-256 mismatch") as err:
        data.download("toy")
    assert "toy/toy.txt" in str(err.value) and f"{base}/toy.txt" in str(err.value)
    assert _leftovers(cache) == []


def test_truncated_transfer_raises_and_leaves_nothing(server, cache, monkeypatch) -> None:
    base, _, _ = server
    _register(monkeypatch, data.DataFile("toy/toy.txt", PAYLOAD_SHA, (f"{base}/truncated/toy.txt",)))
    with pytest.raises(data.DownloadError, match="toy/toy.txt"):
        data.download("toy")
    assert _leftovers(cache) == []


def test_404_raises_with_the_url(server, cache, monkeypatch) -> None:
    base, _, _ = server
    _register(monkeypatch, data.DataFile("toy/toy.txt", PAYLOAD_SHA, (f"{base}/missing.txt",)))
    with pytest.raises(data.DownloadError, match=r"missing\.txt: HTTP Error 404"):
        data.download("toy")
    assert _leftovers(cache) == []


def test_offline_error_names_file_urls_and_variables(cache, monkeypatch) -> None:
    url = f"{_closed_port_url()}/toy.txt"
    _register(monkeypatch, data.DataFile("toy/toy.txt", PAYLOAD_SHA, (url,)))
    with pytest.raises(data.DownloadError) as err:
        data.download("toy")
    msg = str(err.value)
    for needle in ("toy/toy.txt", url, "D2L_DATA_MIRROR", "D2L_DATA_DIR", "Nothing was written"):
        assert needle in msg
    assert _leftovers(cache) == []


def test_corrupted_cache_file_is_detected_and_fetched_again(server, cache, monkeypatch, capsys) -> None:
    base, root, hits = server
    (root / "toy.txt").write_bytes(PAYLOAD)
    _register(monkeypatch, data.DataFile("toy/toy.txt", PAYLOAD_SHA, (f"{base}/toy.txt",)))
    path = data.download("toy") / "toy.txt"
    path.write_bytes(b"bit rot")
    data.download("toy")
    assert path.read_bytes() == PAYLOAD
    assert len(hits) == 2
    assert "does not match its SHA-256" in capsys.readouterr().out


def test_mirror_url_is_tried_before_canonical_url(server, cache, monkeypatch) -> None:
    base, root, hits = server
    (root / "mirror" / "toy").mkdir(parents=True)
    (root / "mirror" / "toy" / "toy.txt").write_bytes(PAYLOAD)
    _register(monkeypatch, data.DataFile("toy/toy.txt", PAYLOAD_SHA, (f"{base}/canonical/toy.txt",)))
    monkeypatch.setenv("D2L_DATA_MIRROR", f"{base}/mirror/")
    data.download("toy")
    assert hits == ["/mirror/toy/toy.txt"]


def test_falls_back_to_canonical_url_when_mirror_lacks_file(server, cache, monkeypatch, tmp_path) -> None:
    base, root, hits = server
    (root / "toy.txt").write_bytes(PAYLOAD)
    _register(monkeypatch, data.DataFile("toy/toy.txt", PAYLOAD_SHA, (f"{base}/toy.txt",)))
    monkeypatch.setenv("D2L_DATA_MIRROR", str(tmp_path / "empty-mirror"))
    assert (data.download("toy") / "toy.txt").read_bytes() == PAYLOAD
    assert hits == ["/toy.txt"]


def test_member_of_canonical_archive(server, cache, monkeypatch) -> None:
    base, root, _ = server
    with zipfile.ZipFile(root / "bundle.zip", "w") as zf:
        zf.writestr("bundle/toy.txt", PAYLOAD)
        zf.writestr("bundle/other.txt", b"other")
    _register(monkeypatch, data.DataFile("bundle/toy.txt", PAYLOAD_SHA, archive_url=f"{base}/bundle.zip",
                                         member="bundle/toy.txt"))
    assert (data.download("toy") / "toy.txt").read_bytes() == PAYLOAD
    assert _leftovers(cache) == ["toy.txt"]


def test_unwritable_cache_dir_has_a_clear_error(tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("D2L_DATA_DIR", str(blocker / "cache"))
    with pytest.raises(PermissionError, match="set D2L_DATA_DIR"):
        data.data_dir()


# --------------------------------------------------------------------------- archives

def test_extract_refuses_members_escaping_the_target(tmp_path) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("fine.txt", b"ok")
        zf.writestr("../escaped.txt", b"gotcha")
    dest = tmp_path / "out"
    with pytest.raises(ValueError, match="outside"):
        data.extract(evil, dest)
    assert not (tmp_path / "escaped.txt").exists()
    assert _leftovers(dest) == []  # checked before anything was written


def test_extract_refuses_absolute_tar_members_and_links(tmp_path) -> None:
    for name, kind in (("/etc/evil", tarfile.REGTYPE), ("link", tarfile.SYMTYPE)):
        archive = tmp_path / "evil.tar.gz"
        with tarfile.open(archive, "w:gz") as tf:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.SYMTYPE:
                info.linkname = "/etc/passwd"
                tf.addfile(info)
            else:
                info.size = 2
                tf.addfile(info, io.BytesIO(b"no"))
        with pytest.raises(ValueError, match="outside|links"):
            data.extract(archive, tmp_path / "out")


def test_extract_zip_and_tar(tmp_path) -> None:
    z = tmp_path / "a.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("d/x.txt", b"x")
    t = tmp_path / "b.tgz"
    with tarfile.open(t, "w:gz") as tf:
        info = tarfile.TarInfo("d/y.txt")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"y"))
    out = tmp_path / "out"
    data.extract(z, out)
    data.extract(t, out)
    assert (out / "d" / "x.txt").read_bytes() == b"x" and (out / "d" / "y.txt").read_bytes() == b"y"


# --------------------------------------------------------------------------- parsers and loaders

def test_read_idx_roundtrip_and_bad_files(tmp_path) -> None:
    arr = torch.arange(24, dtype=torch.uint8).reshape(2, 3, 4)
    raw = b"\x00\x00\x08\x03" + struct.pack(">3I", 2, 3, 4) + bytes(arr.flatten().tolist())
    good = tmp_path / "x-idx3-ubyte.gz"
    good.write_bytes(gzip.compress(raw))
    assert torch.equal(data.read_idx(good), arr)
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x03" + raw[4:])
    with pytest.raises(ValueError, match="magic"):
        data.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(raw[:-1])
    with pytest.raises(ValueError, match="header says"):
        data.read_idx(tmp_path / "short")


def test_fashion_mnist_label_names() -> None:
    assert data.fashion_mnist_labels(torch.tensor([0, 9])) == ["t-shirt", "ankle boot"]
    assert len(data.FASHION_MNIST_LABELS) == 10
    with pytest.raises(ValueError, match="0..9"):
        data.fashion_mnist_labels([10])


@needs_mirror
def test_fashion_mnist_from_the_mirror(cache, monkeypatch, full) -> None:
    monkeypatch.setenv("D2L_DATA_MIRROR", MIRROR)
    images, labels = data.read_fashion_mnist(train=False)
    assert images.shape == (10_000, 28, 28) and images.dtype == torch.uint8
    assert torch.bincount(labels).tolist() == [1000] * 10
    train_iter, test_iter = data.load_fashion_mnist(256, device="cpu")
    assert (train_iter.num_examples, test_iter.num_examples) == (60_000, 10_000)
    x, y = next(iter(train_iter))
    assert x.shape == (256, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert 0.0 <= x.min() and x.max() <= 1.0
    flat, _ = data.load_fashion_mnist(8, device="cpu", flatten=True)
    assert next(iter(flat))[0].shape == (8, 784)
    big, _ = data.load_fashion_mnist(8, device="cpu", resize=32)
    assert next(iter(big))[0].shape == (8, 1, 32, 32)


@needs_mirror
def test_quick_mode_caps_examples(cache, monkeypatch, quick) -> None:
    monkeypatch.setenv("D2L_DATA_MIRROR", MIRROR)
    train_iter, test_iter = data.load_mnist(100, device="cpu")
    assert train_iter.num_examples == test_iter.num_examples == 2_000  # the notice is config's (test_config)


@needs_mirror
def test_tabular_and_text_sets_from_the_mirror(cache, monkeypatch) -> None:
    monkeypatch.setenv("D2L_DATA_MIRROR", MIRROR)
    train, test = data.load_kaggle_house()
    assert train.shape == (1460, 81) and test.shape == (1459, 80)
    assert data.load_airfoil().shape == (1503, 6)
    assert data.read_timemachine().startswith("The Time Machine, by H. G. Wells")
    assert len(data.read_ptb("valid")) > 3000
    assert len(data.read_jaychou_lyrics()) == 63_282
    folder = data.download_extract("cmn-eng")
    assert (folder / "cmn.txt").stat().st_size == 1_315_138
    fra, cmn = data.read_translation("fra-eng"), data.read_translation("cmn-eng")
    assert len(fra) == 167_130 and fra[0] == ("Go.", "Va !")
    assert len(cmn) == 21_116 and cmn[0] == ("Hi.", "嗨。")
    assert sum("\u202f" in f for _, f in fra) > 6_000       # kept as in the file (see MANIFEST.md)
    with pytest.raises(ValueError, match="'fra-eng' or 'cmn-eng'"):
        data.read_translation("deu-eng")
    texts, labels = data.read_sentiment("rt-polarity")
    assert len(texts) == len(labels) == 10_662 and sum(labels) == 5_331
    assert sum("\u00e9" in t for t in texts) > 50                # cp1252 0xE9, not mojibake
    assert not any("\x85" in t or t != t.strip() for t in texts)
    texts, labels = data.read_sentiment("chnsenticorp")
    assert len(texts) == 7_766 and sum(labels) == 5_322
    assert [i for i, t in enumerate(texts) if not t] == [6_374]     # one empty review, as in the file
    with pytest.raises(ValueError, match="'rt-polarity' or 'chnsenticorp'"):
        data.read_sentiment("sst-2")
    dates = data.read_date()
    assert len(dates) == 50_000 and dates[0] == ("september 27, 1994", "1994-09-27")
    assert all(len(a) == 10 and a[4] == a[7] == "-" for _, a in dates)
    # every registered file arrives and verifies
    for name in data.DATASETS:
        data.download(name)


def test_bad_loader_arguments() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        data.load_fashion_mnist(0)
    with pytest.raises(ValueError, match="not both"):
        data.load_fashion_mnist(8, resize=32, flatten=True)
