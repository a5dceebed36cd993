"""Data sets of the book: a registry, verified downloads, and loaders.

Every file the book reads is listed in :data:`DATASETS` with its canonical URL,
its SHA-256 and its licence. :func:`download` fetches a data set's files into
the cache folder ``$D2L_DATA_DIR`` (default ``~/.cache/d2lutils``), trying the
mirror ``$D2L_DATA_MIRROR`` (a folder or a base URL laid out like the cache)
before the canonical URLs. A file is verified by SHA-256 when it arrives *and*
each time it is found in the cache; it is written to a temporary file and
renamed into place only once verified, so a failed or corrupted transfer never
leaves a partial file behind.

The loaders on top (:func:`load_fashion_mnist`, :func:`load_kaggle_house`, ...)
parse the raw files themselves (an IDX reader instead of torchvision) and
return tensors or device-resident :class:`~d2lutils.loaders.TensorLoader`\\ s.
"""

from __future__ import annotations

import difflib
import gzip
import hashlib
import http.client
import io
import os
import shutil
import struct
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import torch

from . import config
from .device import try_gpu
from .loaders import TensorLoader

__all__ = [
    "DataFile", "DataSet", "DATASETS", "DownloadError", "data_dir", "download", "download_extract",
    "extract", "read_idx", "read_fashion_mnist", "load_fashion_mnist", "read_mnist", "load_mnist",
    "FASHION_MNIST_LABELS", "fashion_mnist_labels", "load_kaggle_house", "load_airfoil",
    "read_timemachine", "read_ptb", "read_jaychou_lyrics",
]

_CHUNK = 1 << 20
_TIMEOUT_S = 30


@dataclass(frozen=True)
class DataFile:
    """One file of a data set.

    Attributes:
        path: where the file lives relative to the cache folder and to the mirror,
            e.g. ``"fashion-mnist/train-images-idx3-ubyte.gz"`` (POSIX separators).
        sha256: the expected SHA-256 of the file's bytes (lower-case hex).
        urls: canonical URLs that serve exactly these bytes, tried in order.
        archive_url: a URL of an archive (``.zip``, ``.tar.gz``, ``.tgz``) holding the
            file as member ``member``; tried after ``urls``. Empty when there is none.
        member: the file's name inside the archive at ``archive_url``.
    """

    path: str
    sha256: str
    urls: tuple[str, ...] = ()
    archive_url: str = ""
    member: str = ""


@dataclass(frozen=True)
class DataSet:
    """A named data set: its files, licence and a one-line description.

    Attributes:
        name: the registry key, e.g. ``"fashion-mnist"``.
        files: the files that make up the data set.
        license: licence or attribution, as the upstream authors state it.
        description: what the data set is, in a few words.
    """

    name: str
    files: tuple[DataFile, ...]
    license: str
    description: str

    @property
    def folder(self) -> str:
        """The folder (relative to the cache) that holds all of the data set's files."""
        parents = {str(PurePosixPath(f.path).parent) for f in self.files}
        return parents.pop() if len(parents) == 1 else os.path.commonpath(sorted(parents))


_D2L = "http://d2l-data.s3-accelerate.amazonaws.com/"
_FMNIST = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_DLFS2 = "https://raw.githubusercontent.com/oreilly-japan/deep-learning-from-scratch-2/master/dataset/"
_PYGCN = "https://raw.githubusercontent.com/tkipf/pygcn/master/data/cora/"
_RT = ("https://raw.githubusercontent.com/dennybritz/cnn-text-classification-tf/"
       "5a4610cd713c184ffd9e4dade7ba811ded30e71c/data/rt-polaritydata/")
_RT_TGZ = "http://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz"
_FMNIST_LICENSE = "MIT, (c) 2017 Zalando SE; cite Xiao, Rasul & Vollgraf 2017"
_MNIST_LICENSE = "Y. LeCun, C. Cortes, C. J. C. Burges; usually listed as CC BY-SA 3.0"


def _idx_files(folder: str, base: str, sums: dict[str, str]) -> tuple[DataFile, ...]:
    return tuple(DataFile(f"{folder}/{name}", sha, (base + name,)) for name, sha in sums.items())


#: Maps each data-set name to its :class:`DataSet`; covers every file of the book's data mirror.
DATASETS: dict[str, DataSet] = {
    ds.name: ds
    for ds in [
        DataSet("fashion-mnist", _idx_files("fashion-mnist", _FMNIST, {
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        }), _FMNIST_LICENSE, "70,000 28x28 grey images of clothing in 10 classes (Zalando)"),
        DataSet("mnist", _idx_files("mnist", _MNIST, {
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        }), _MNIST_LICENSE, "70,000 28x28 grey images of handwritten digits"),
        DataSet("airfoil", (
            DataFile("airfoil_self_noise.dat",
                     "74c75fd71783f1e6b71f8a622b993dc592897a97cd689c5090a07147a1b097b3",
                     (_D2L + "airfoil_self_noise.dat",)),
        ), "NASA airfoil self-noise, UCI ML Repository (Brooks, Pope & Marcolini); CC BY 4.0",
            "1,503 wind-tunnel measurements: 5 features and the sound pressure level"),
        DataSet("kaggle-house", (
            DataFile("kaggle_house_pred_train.csv",
                     "1e18addf81e5e4d347cc17ee6075bbe4a42b7fa26b9e5b063e8f692a5f929d41",
                     (_D2L + "kaggle_house_pred_train.csv",)),
            DataFile("kaggle_house_pred_test.csv",
                     "8fdd3d829d4d986b58f845c9553b225e67dd8383624d90fb6ca1d4bed5798c1e",
                     (_D2L + "kaggle_house_pred_test.csv",)),
        ), "Ames Housing data (D. De Cock 2011) as in Kaggle's House Prices competition",
            "house sales in Ames, Iowa: 79 features and the sale price"),
        DataSet("timemachine", (
            DataFile("timemachine.txt", "8424dbd9532ac81f7e5f0b6add90e6952baea29158309d7d1bf3884f4e12c516",
                     (_D2L + "timemachine.txt",)),
        ), "Public domain (H. G. Wells, The Time Machine, Project Gutenberg)", "a novel as plain text"),
        DataSet("ptb", (
            DataFile("ptb.zip", "310d8f602882a5716613815ed75596e5764ea84ed04c5630eebaaf2b943ec5aa",
                     (_D2L + "ptb.zip",)),
        ), "Penn Treebank (LDC) as preprocessed by T. Mikolov; free for research purposes",
            "Penn Treebank sentences, one per line, split train/valid/test"),
        DataSet("jaychou-lyrics", (
            DataFile("jaychou_lyrics.txt.zip",
                     "3cfedd7d174111cdad5a27eaffaa6a2432a2842cf2590a03dd8a97610ea07043",
                     ("https://raw.githubusercontent.com/ShusenTang/Dive-into-DL-PyTorch/master/data/"
                      "jaychou_lyrics.txt.zip",)),
        ), "Lyrics by Jay Chou and his lyricists, copyrighted; distributed for teaching only",
            "Chinese song lyrics for character-level language models"),
        DataSet("fra-eng", (
            DataFile("fra-eng/fra.txt", "0bb85dbaa1c896844649094d7eaf2e34bee34e84fe362b26ce7e8f2e12aae104",
                     archive_url=_D2L + "fra-eng.zip", member="fra-eng/fra.txt"),
            DataFile("fra-eng/_about.txt", "79f39a53dbddaf7ab43c801f231089174a611f23987244056f9e3cb5aa79358b",
                     archive_url=_D2L + "fra-eng.zip", member="fra-eng/_about.txt"),
        ), "CC BY 2.0 FR; Tatoeba via manythings.org/anki", "English-French sentence pairs"),
        DataSet("cmn-eng", (
            DataFile("cmn-eng.zip", "6e21dfeab92f253deefb804de1c372572cc7e6108c9e9325db7155bc0fe1b83c",
                     ("https://raw.githubusercontent.com/lichenyu/demo_datesets/"
                      "0c0f8a1b4fbf9b294276c19eca82bf3b01d39831/cmn-eng.zip",
                      "http://www.manythings.org/anki/cmn-eng.zip")),
        ), "CC BY 2.0 FR; www.manythings.org/anki and tatoeba.org", "English-Chinese sentence pairs"),
        DataSet("addition", (
            DataFile("addition.txt", "34e0746f5014c11311c9452ee9050bf14e38eca44ec4aaf4d81eba2b38674009",
                     (_DLFS2 + "addition.txt",)),
        ), "MIT, (c) 2018 Koki Saitoh", "50,000 addition problems as character sequences"),
        DataSet("date", (
            DataFile("date.txt", "62e66a301ce8537868e725512d2a45663fc366526b7e42028cb703bda2b1c79a",
                     (_DLFS2 + "date.txt",)),
        ), "MIT, (c) 2018 Koki Saitoh", "50,000 dates in many formats paired with ISO dates"),
        DataSet("cora", tuple(
            DataFile(f"cora/{name}", sha, (_PYGCN + name,),
                     archive_url="https://linqs-data.soe.ucsc.edu/public/lbc/cora.tgz", member=f"cora/{name}")
            for name, sha in {
                "cora.content": "b8ebed0fd45e53995abafd1b70cf6a9fcc8f86abc5826d69b97fe6ca46e9c8ee",
                "cora.cites": "ec1a372391b7f0f60a6aff0084e8abd8f19f0faa7e1f2441a41c492042d5945e",
                "README": "ecfcfcdc830c6fe49a148c318044cd65d8335c9442c6ba5d9fba1bcee9bc7a0d",
            }.items()
        ), "LINQS Cora (McCallum et al. 2000; Sen et al. 2008); research use",
            "2,708 papers, 5,429 citations, bag-of-words features, 7 classes"),
        DataSet("rt-polarity", (
            DataFile("rt-polaritydata/rt-polarity.pos",
                     "d79ef14009bbf87cd6be21f91c3ea1a3cbcb73b34dfb4231aef7bbcd7677abc4",
                     (_RT + "rt-polarity.pos",), _RT_TGZ, "rt-polaritydata/rt-polarity.pos"),
            DataFile("rt-polaritydata/rt-polarity.neg",
                     "4af43bf489620b498a0852c5a8c6a535155dec7985fdfea782b8f7756b957ccc",
                     (_RT + "rt-polarity.neg",), _RT_TGZ, "rt-polaritydata/rt-polarity.neg"),
            DataFile("rt-polaritydata/rt-polaritydata.README.1.0.txt",
                     "67bc8e858b247a20eb5d6dec39d1fca89ea36112872b48ac8fddfb599dadbf49",
                     archive_url=_RT_TGZ, member="rt-polaritydata.README.1.0.txt"),
        ), "Sentence polarity data v1.0, B. Pang & L. Lee (ACL 2005); cite the paper",
            "10,662 movie-review snippets labelled positive/negative (Windows-1252 text)"),
        DataSet("chnsenticorp", (
            DataFile("ChnSentiCorp_htl_all.csv",
                     "1d414b9c65caf3a836abdb4efded621968502ad3338e1a9d885ae131c86083f0",
                     ("https://raw.githubusercontent.com/SophonPlus/ChineseNlpCorpus/master/datasets/"
                      "ChnSentiCorp_htl_all/ChnSentiCorp_htl_all.csv",)),
        ), "ChnSentiCorp hotel reviews (Songbo Tan, ICT/CAS) via SophonPlus; research use",
            "7,766 Chinese hotel reviews labelled positive/negative"),
    ]
}


class DownloadError(RuntimeError):
    """Every source of a data file failed; the message names the file, the URLs and what to do."""


def data_dir() -> Path:
    """Return the cache folder ``$D2L_DATA_DIR`` (default ``~/.cache/d2lutils``), created if needed.

    Raises:
        PermissionError: the folder cannot be created or written; the message says which
            environment variable to change.
    """
    root = Path(os.environ.get("D2L_DATA_DIR") or Path.home() / ".cache" / "d2lutils").expanduser()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise PermissionError(
            f"cannot create the data cache folder {root} ({err.strerror or err}); "
            f"set D2L_DATA_DIR to a folder you can write to"
        ) from err
    if not os.access(root, os.W_OK | os.X_OK):
        raise PermissionError(
            f"the data cache folder {root} is not writable; set D2L_DATA_DIR to a folder you can write to"
        )
    return root


def _dataset(name: str) -> DataSet:
    if not isinstance(name, str) or name not in DATASETS:
        close = difflib.get_close_matches(str(name), DATASETS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown data set {name!r}.{hint} Known data sets: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _mirror_location(mirror: str, relpath: str) -> str:
    if "://" in mirror:
        return mirror.rstrip("/") + "/" + relpath
    return str(Path(mirror).expanduser() / relpath)


def _fetch(source: str, dest: Path) -> None:
    """Copy ``source`` (a URL or a local path) into ``dest`` (which must not be the final name)."""
    if "://" in source:
        with urllib.request.urlopen(source, timeout=_TIMEOUT_S) as response, open(dest, "wb") as out:
            expected = response.headers.get("Content-Length")
            got = 0
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                got += len(chunk)
            if expected is not None and got != int(expected):
                raise OSError(f"transfer truncated: got {got:,} of {int(expected):,} bytes")
    else:
        shutil.copyfile(source, dest)


def _member_from_archive(archive: Path, member: str, dest: Path) -> None:
    """Write ``member`` of the zip or tar ``archive`` into ``dest``."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf, zf.open(member) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, _CHUNK)
        return
    with tarfile.open(archive) as tf:
        src = tf.extractfile(member)
        if src is None:
            raise OSError(f"{member} is not a regular file in {archive.name}")
        with src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, _CHUNK)


def _sources(f: DataFile) -> list[tuple[str, str]]:
    """(location, archive member or "") of every place to try, mirror first."""
    out: list[tuple[str, str]] = []
    mirror = os.environ.get("D2L_DATA_MIRROR", "").strip()
    if mirror:
        out.append((_mirror_location(mirror, f.path), ""))
        if f.archive_url:
            out.append((_mirror_location(mirror, f.archive_url.rsplit("/", 1)[-1]), f.member))
    out.extend((url, "") for url in f.urls)
    if f.archive_url:
        out.append((f.archive_url, f.member))
    return out


def _download_file(f: DataFile, root: Path) -> Path:
    target = root / f.path
    if target.exists():
        if _sha256(target) == f.sha256:
            return target
        print(f"{target} does not match its SHA-256 (corrupted or changed); fetching it again")
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    tried: list[str] = []
    for location, member in _sources(f):
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        os.close(fd)
        tmp = Path(tmp_name)
        archive = tmp.with_suffix(".archive")
        try:
            if member:
                _fetch(location, archive)
                _member_from_archive(archive, member, tmp)
            else:
                _fetch(location, tmp)
            digest = _sha256(tmp)
            if digest != f.sha256:
                raise OSError(f"SHA-256 mismatch: expected {f.sha256[:12]}…, got {digest[:12]}…")
            os.replace(tmp, target)
            return target
        except (OSError, http.client.HTTPException, zipfile.BadZipFile, tarfile.TarError, KeyError, ValueError) as err:
            what = f"{location} (member {member})" if member else location
            tried.append(f"  - {what}: {err}")
        finally:
            tmp.unlink(missing_ok=True)
            archive.unlink(missing_ok=True)
    mirror = os.environ.get("D2L_DATA_MIRROR", "")
    raise DownloadError(
        f"could not get {f.path} (SHA-256 {f.sha256}). Tried:\n" + "\n".join(tried) + "\n"
        f"Nothing was written to {target}. What to do: check your internet connection; or set "
        f"D2L_DATA_MIRROR (now {mirror or 'unset'}) to a folder or base URL that holds {f.path}; or download "
        f"{(f.urls or (f.archive_url,))[0]} yourself and put the file at {target} "
        f"(the cache folder is D2L_DATA_DIR={root})."
    )


def download(name: str) -> Path:
    """Make sure every file of data set ``name`` is in the cache, verified; return their folder.

    Files already cached are checked against their SHA-256 and fetched again when
    they do not match. Sources are tried in order: ``$D2L_DATA_MIRROR`` (folder or
    base URL, same layout as the cache), then the canonical URLs.

    Args:
        name: a key of :data:`DATASETS`, e.g. ``"fashion-mnist"`` or ``"kaggle-house"``.

    Returns:
        The cache folder that holds the data set's files, e.g.
        ``download("kaggle-house") / "kaggle_house_pred_train.csv"``.

    Raises:
        ValueError: unknown data-set name.
        PermissionError: the cache folder is not writable.
        DownloadError: every source of a file failed (the message lists them).
    """
    ds = _dataset(name)
    root = data_dir()
    for f in ds.files:
        _download_file(f, root)
    return root / ds.folder


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
    components and tar links are refused, so an archive cannot write outside ``dest``.

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
        tf.extractall(dest)  # noqa: S202 (members checked above)
    return dest


def download_extract(name: str) -> Path:
    """Download the archive(s) of data set ``name`` and extract them; return the extraction folder.

    The folder is ``$D2L_DATA_DIR/extracted/<name>/``; it is extracted again when missing.
    """
    ds = _dataset(name)
    folder = download(name)
    dest = data_dir() / "extracted" / name
    archives = [data_dir() / f.path for f in ds.files if f.path.endswith((".zip", ".tar.gz", ".tgz", ".tar"))]
    if not archives:
        return folder
    if not dest.is_dir():
        tmp = Path(tempfile.mkdtemp(dir=dest.parent if dest.parent.exists() else data_dir(), prefix=".extract-"))
        try:
            for a in archives:
                extract(a, tmp)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


# --------------------------------------------------------------------------- image data sets

def read_idx(path: Path | str) -> torch.Tensor:
    """Read an IDX file (the MNIST format, optionally gzip-compressed) into a ``uint8`` tensor.

    Raises:
        ValueError: the file is not an unsigned-byte IDX file or its size does not match its header.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    count = 1
    for s in shape:
        count *= s
    if len(raw) - header != count:
        raise ValueError(f"{path}: header says shape {shape} ({count:,} bytes) but the file holds "
                         f"{len(raw) - header:,}; delete it so it is downloaded again")
    return torch.frombuffer(bytearray(raw[header:]), dtype=torch.uint8).reshape(shape)


#: Names of the ten Fashion-MNIST classes, in label order.
FASHION_MNIST_LABELS: tuple[str, ...] = (
    "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
)


def fashion_mnist_labels(labels: Iterable[int] | torch.Tensor) -> list[str]:
    """Return the class names of Fashion-MNIST label indices (a tensor or a sequence of ints)."""
    values = labels.tolist() if isinstance(labels, torch.Tensor) else list(labels)
    if isinstance(values, int):
        values = [values]
    bad = [v for v in values if not isinstance(v, int) or not 0 <= v < 10]
    if bad:
        raise ValueError(f"Fashion-MNIST labels are integers 0..9, got {bad[:5]}")
    return [FASHION_MNIST_LABELS[v] for v in values]


def _read_idx_pair(name: str, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    folder = download(name)
    split = "train" if train else "t10k"
    images = read_idx(folder / f"{split}-images-idx3-ubyte.gz")
    labels = read_idx(folder / f"{split}-labels-idx1-ubyte.gz").long()
    return images, labels


def read_fashion_mnist(train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Return all Fashion-MNIST images ``(N, 28, 28)`` as ``uint8`` and labels ``(N,)`` as ``int64``.

    ``train=True`` gives the 60,000 training examples, ``False`` the 10,000 test examples.
    Not capped in quick mode (use :func:`load_fashion_mnist` for training).
    """
    return _read_idx_pair("fashion-mnist", train)


def read_mnist(train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Return all MNIST images ``(N, 28, 28)`` as ``uint8`` and labels ``(N,)`` as ``int64``."""
    return _read_idx_pair("mnist", train)


def _image_loaders(
    name: str,
    batch_size: int,
    resize: int | Sequence[int] | None,
    device: torch.device | str | None,
    seed: int,
    flatten: bool,
) -> tuple[TensorLoader, TensorLoader]:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if flatten and resize is not None:
        raise ValueError("use either flatten=True or resize=..., not both")
    dev = torch.device(device) if device is not None else try_gpu()
    loaders = []
    for train in (True, False):
        images, labels = _read_idx_pair(name, train)
        what = f"{name} {'training' if train else 'test'} images"
        n = config.examples(len(labels), what)
        images, labels = images[:n], labels[:n]
        x = images.to(dev).unsqueeze(1).float().div_(255)  # (N, 1, 28, 28) in [0, 1]
        if resize is not None:
            size = (resize, resize) if isinstance(resize, int) else tuple(resize)
            if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
                raise ValueError(f"resize must be a positive int or (height, width), got {resize!r}")
            x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)
        if flatten:
            x = x.reshape(len(x), -1)  # (N, 784)
        loaders.append(TensorLoader(x, labels.to(dev), batch_size=batch_size, shuffle=train,
                                    device=dev, seed=seed))
    return loaders[0], loaders[1]


def load_fashion_mnist(
    batch_size: int,
    resize: int | Sequence[int] | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    flatten: bool = False,
) -> tuple[TensorLoader, TensorLoader]:
    """Return ``(train_iter, test_iter)`` over Fashion-MNIST, kept on ``device``.

    Images are ``float32`` in ``[0, 1]`` of shape ``(batch, 1, 28, 28)`` (or
    ``(batch, 784)`` with ``flatten=True``, or resized bilinearly to ``resize``);
    labels are ``int64``. The training loader reshuffles every epoch (seeded);
    the test loader keeps the file order. In quick mode both are capped at
    ``config.QUICK_EXAMPLES`` examples.

    Args:
        batch_size: examples per minibatch.
        resize: an int or ``(height, width)`` to resize the images to.
        device: where the data live (default :func:`~d2lutils.device.try_gpu`).
        seed: seed of the shuffling.
        flatten: return each image as a 784-vector.
    """
    return _image_loaders("fashion-mnist", batch_size, resize, device, seed, flatten)


def load_mnist(
    batch_size: int,
    resize: int | Sequence[int] | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    flatten: bool = False,
) -> tuple[TensorLoader, TensorLoader]:
    """Return ``(train_iter, test_iter)`` over MNIST digits; the same options as :func:`load_fashion_mnist`."""
    return _image_loaders("mnist", batch_size, resize, device, seed, flatten)


# --------------------------------------------------------------------------- tabular and text data sets

def load_kaggle_house():
    """Return the Kaggle house-price data as two pandas DataFrames ``(train, test)``.

    ``train`` has 1,460 rows and 81 columns (``Id``, 79 features, ``SalePrice``);
    ``test`` has 1,459 rows and no ``SalePrice``. Missing values (``NA``) are NaN.
    """
    import pandas as pd

    folder = download("kaggle-house")
    return (pd.read_csv(folder / "kaggle_house_pred_train.csv"),
            pd.read_csv(folder / "kaggle_house_pred_test.csv"))


def load_airfoil() -> torch.Tensor:
    """Return the NASA airfoil self-noise data as a ``float32`` tensor of shape ``(1503, 6)``.

    Columns: frequency (Hz), angle of attack (degrees), chord length (m), free-stream
    velocity (m/s), suction-side displacement thickness (m), and the target, the scaled
    sound pressure level (dB). Raw values, not standardised.
    """
    path = download("airfoil") / "airfoil_self_noise.dat"
    rows = [line.split("\t") for line in path.read_text(encoding="ascii").splitlines() if line.strip()]
    return torch.tensor([[float(v) for v in row] for row in rows], dtype=torch.float32)


def read_timemachine() -> str:
    """Return the text of H. G. Wells' *The Time Machine* (d2l's trimmed version) as one string."""
    return (download("timemachine") / "timemachine.txt").read_text(encoding="ascii")


def read_ptb(split: str = "train") -> list[list[str]]:
    """Return the Penn Treebank ``split`` (``train``, ``valid`` or ``test``) as a list of token lists."""
    if split not in ("train", "valid", "test"):
        raise ValueError(f"split must be 'train', 'valid' or 'test', got {split!r}")
    with zipfile.ZipFile(download("ptb") / "ptb.zip") as zf:
        text = zf.read(f"ptb/ptb.{split}.txt").decode("ascii")
    return [line.split() for line in text.splitlines()]


def read_jaychou_lyrics() -> str:
    """Return the Jay Chou lyrics corpus (Chinese, UTF-8) as one string."""
    with zipfile.ZipFile(download("jaychou-lyrics") / "jaychou_lyrics.txt.zip") as zf:
        return io.TextIOWrapper(zf.open("jaychou_lyrics.txt"), encoding="utf-8").read()
