"""Data sets of the book: a registry, verified downloads, and loaders.

Every file the book reads is listed in :data:`DATASETS` with its canonical URL,
its SHA-256, its size and its licence. :func:`download` fetches a data set's files
into the cache folder ``$D2L_DATA_DIR`` (default ``~/.cache/d2lutils``), trying the
mirror ``$D2L_DATA_MIRROR`` (a folder or a base URL laid out like the cache)
before the canonical URLs. A file is verified by SHA-256 when it arrives *and*
each time it is found in the cache; it is written to a temporary file and
renamed into place only once verified, so a failed or corrupted transfer never
leaves a partial file behind. A transfer stops past the file's registered size
and after a deadline (``$D2L_DOWNLOAD_DEADLINE`` seconds per file); see
:mod:`d2lutils.fetch` for these guards.

``D2L_DATA_DIR`` and ``D2L_DATA_MIRROR`` may be relative paths: they are resolved
against the current folder once, when this module is imported (or, for a value set
later, when it is first read), and written back into ``os.environ`` as absolute
paths, so that changing folders later and child processes (Jupyter kernels start
in the notebook's folder) see the same folders.

The loaders on top (:func:`load_fashion_mnist`, :func:`load_kaggle_house`, ...)
parse the raw files themselves (an IDX reader instead of torchvision) and
return tensors or device-resident :class:`~d2lutils.loaders.TensorLoader`\\ s.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import http.client
import io
import operator
import os
import shutil
import struct
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import torch

from . import config, fetch
from .device import try_gpu
from .fetch import DownloadError, extract
from .loaders import TensorLoader

__all__ = [
    "DataFile", "DataSet", "DATASETS", "DownloadError", "data_dir", "download", "download_extract",
    "extract", "read_idx", "read_fashion_mnist", "load_fashion_mnist", "read_mnist", "load_mnist",
    "FASHION_MNIST_LABELS", "fashion_mnist_labels", "load_kaggle_house", "load_airfoil",
    "read_timemachine", "read_ptb", "read_jaychou_lyrics", "read_translation", "read_sentiment",
    "read_date", "MAX_RESIZE",
]

#: The largest image side :func:`load_fashion_mnist` and :func:`load_mnist` resize to.
MAX_RESIZE = 1024


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
        size: the file's size in bytes; a transfer that goes past it is stopped. Every
            file of :data:`DATASETS` has one; ``None`` (no bound) is for ad-hoc entries.
    """

    path: str
    sha256: str
    urls: tuple[str, ...] = ()
    archive_url: str = ""
    member: str = ""
    size: int | None = None


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
_ICWB2_ZIP = "http://sighan.cs.uchicago.edu/bakeoff2005/data/icwb2-data.zip"
_FMNIST_LICENSE = "MIT, (c) 2017 Zalando SE; cite Xiao, Rasul & Vollgraf 2017"
_MNIST_LICENSE = "Y. LeCun, C. Cortes, C. J. C. Burges; usually listed as CC BY-SA 3.0"


def _idx_files(folder: str, base: str, files: dict[str, tuple[str, int]]) -> tuple[DataFile, ...]:
    return tuple(DataFile(f"{folder}/{name}", sha, (base + name,), size=size) for name, (sha, size) in files.items())


#: Maps each data-set name to its :class:`DataSet`; covers every file of the book's data mirror.
DATASETS: dict[str, DataSet] = {
    ds.name: ds
    for ds in [
        DataSet("fashion-mnist", _idx_files("fashion-mnist", _FMNIST, {
            "train-images-idx3-ubyte.gz":
                ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26_421_880),
            "train-labels-idx1-ubyte.gz":
                ("a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29_515),
            "t10k-images-idx3-ubyte.gz":
                ("346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4_422_102),
            "t10k-labels-idx1-ubyte.gz":
                ("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5_148),
        }), _FMNIST_LICENSE, "70,000 28x28 grey images of clothing in 10 classes (Zalando)"),
        DataSet("mnist", _idx_files("mnist", _MNIST, {
            "train-images-idx3-ubyte.gz":
                ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9_912_422),
            "train-labels-idx1-ubyte.gz":
                ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28_881),
            "t10k-images-idx3-ubyte.gz":
                ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1_648_877),
            "t10k-labels-idx1-ubyte.gz":
                ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4_542),
        }), _MNIST_LICENSE, "70,000 28x28 grey images of handwritten digits"),
        DataSet("airfoil", (
            DataFile("airfoil_self_noise.dat",
                     "74c75fd71783f1e6b71f8a622b993dc592897a97cd689c5090a07147a1b097b3",
                     (_D2L + "airfoil_self_noise.dat",), size=59_984),
        ), "NASA airfoil self-noise, UCI ML Repository (Brooks, Pope & Marcolini); CC BY 4.0",
            "1,503 wind-tunnel measurements: 5 features and the sound pressure level"),
        DataSet("kaggle-house", (
            DataFile("kaggle_house_pred_train.csv",
                     "1e18addf81e5e4d347cc17ee6075bbe4a42b7fa26b9e5b063e8f692a5f929d41",
                     (_D2L + "kaggle_house_pred_train.csv",), size=460_676),
            DataFile("kaggle_house_pred_test.csv",
                     "8fdd3d829d4d986b58f845c9553b225e67dd8383624d90fb6ca1d4bed5798c1e",
                     (_D2L + "kaggle_house_pred_test.csv",), size=451_405),
        ), "Ames Housing data (D. De Cock 2011) as in Kaggle's House Prices competition",
            "house sales in Ames, Iowa: 79 features and the sale price"),
        DataSet("timemachine", (
            DataFile("timemachine.txt", "8424dbd9532ac81f7e5f0b6add90e6952baea29158309d7d1bf3884f4e12c516",
                     (_D2L + "timemachine.txt",), size=178_979),
        ), "Public domain (H. G. Wells, The Time Machine, Project Gutenberg)", "a novel as plain text"),
        DataSet("ptb", (
            DataFile("ptb.zip", "310d8f602882a5716613815ed75596e5764ea84ed04c5630eebaaf2b943ec5aa",
                     (_D2L + "ptb.zip",), size=1_981_551),
        ), "Penn Treebank (LDC) as preprocessed by T. Mikolov; free for research purposes",
            "Penn Treebank sentences, one per line, split train/valid/test"),
        DataSet("jaychou-lyrics", (
            DataFile("jaychou_lyrics.txt.zip",
                     "3cfedd7d174111cdad5a27eaffaa6a2432a2842cf2590a03dd8a97610ea07043",
                     ("https://raw.githubusercontent.com/ShusenTang/Dive-into-DL-PyTorch/master/data/"
                      "jaychou_lyrics.txt.zip",), size=52_607),
        ), "Lyrics by Jay Chou and his lyricists, copyrighted; distributed for teaching only",
            "Chinese song lyrics for character-level language models"),
        DataSet("fra-eng", (
            DataFile("fra-eng/fra.txt", "0bb85dbaa1c896844649094d7eaf2e34bee34e84fe362b26ce7e8f2e12aae104",
                     archive_url=_D2L + "fra-eng.zip", member="fra-eng/fra.txt", size=11_669_748),
            DataFile("fra-eng/_about.txt", "79f39a53dbddaf7ab43c801f231089174a611f23987244056f9e3cb5aa79358b",
                     archive_url=_D2L + "fra-eng.zip", member="fra-eng/_about.txt", size=1_441),
        ), "CC BY 2.0 FR; Tatoeba via manythings.org/anki", "English-French sentence pairs"),
        DataSet("cmn-eng", (
            DataFile("cmn-eng.zip", "6e21dfeab92f253deefb804de1c372572cc7e6108c9e9325db7155bc0fe1b83c",
                     ("https://raw.githubusercontent.com/lichenyu/demo_datesets/"
                      "0c0f8a1b4fbf9b294276c19eca82bf3b01d39831/cmn-eng.zip",
                      "http://www.manythings.org/anki/cmn-eng.zip"), size=563_282),
        ), "CC BY 2.0 FR; www.manythings.org/anki and tatoeba.org", "English-Chinese sentence pairs"),
        DataSet("addition", (
            DataFile("addition.txt", "34e0746f5014c11311c9452ee9050bf14e38eca44ec4aaf4d81eba2b38674009",
                     (_DLFS2 + "addition.txt",), size=650_000),
        ), "MIT, (c) 2018 Koki Saitoh", "50,000 addition problems as character sequences"),
        DataSet("date", (
            DataFile("date.txt", "62e66a301ce8537868e725512d2a45663fc366526b7e42028cb703bda2b1c79a",
                     (_DLFS2 + "date.txt",), size=2_050_000),
        ), "MIT, (c) 2018 Koki Saitoh", "50,000 dates in many formats paired with ISO dates"),
        DataSet("cora", tuple(
            DataFile(f"cora/{name}", sha, (_PYGCN + name,),
                     archive_url="https://linqs-data.soe.ucsc.edu/public/lbc/cora.tgz", member=f"cora/{name}",
                     size=size)
            for name, (sha, size) in {
                "cora.content": ("b8ebed0fd45e53995abafd1b70cf6a9fcc8f86abc5826d69b97fe6ca46e9c8ee", 7_823_427),
                "cora.cites": ("ec1a372391b7f0f60a6aff0084e8abd8f19f0faa7e1f2441a41c492042d5945e", 69_928),
                "README": ("ecfcfcdc830c6fe49a148c318044cd65d8335c9442c6ba5d9fba1bcee9bc7a0d", 1_560),
            }.items()
        ), "LINQS Cora (McCallum et al. 2000; Sen et al. 2008); research use",
            "2,708 papers, 5,429 citations, bag-of-words features, 7 classes"),
        DataSet("rt-polarity", (
            DataFile("rt-polaritydata/rt-polarity.pos",
                     "d79ef14009bbf87cd6be21f91c3ea1a3cbcb73b34dfb4231aef7bbcd7677abc4",
                     (_RT + "rt-polarity.pos",), _RT_TGZ, "rt-polaritydata/rt-polarity.pos", size=626_168),
            DataFile("rt-polaritydata/rt-polarity.neg",
                     "4af43bf489620b498a0852c5a8c6a535155dec7985fdfea782b8f7756b957ccc",
                     (_RT + "rt-polarity.neg",), _RT_TGZ, "rt-polaritydata/rt-polarity.neg", size=612_290),
            DataFile("rt-polaritydata/rt-polaritydata.README.1.0.txt",
                     "67bc8e858b247a20eb5d6dec39d1fca89ea36112872b48ac8fddfb599dadbf49",
                     archive_url=_RT_TGZ, member="rt-polaritydata.README.1.0.txt", size=1_682),
        ), "Sentence polarity data v1.0, B. Pang & L. Lee (ACL 2005); cite the paper",
            "10,662 movie-review snippets labelled positive/negative (Windows-1252 text)"),
        DataSet("chnsenticorp", (
            DataFile("ChnSentiCorp_htl_all.csv",
                     "1d414b9c65caf3a836abdb4efded621968502ad3338e1a9d885ae131c86083f0",
                     ("https://raw.githubusercontent.com/SophonPlus/ChineseNlpCorpus/master/datasets/"
                      "ChnSentiCorp_htl_all/ChnSentiCorp_htl_all.csv",), size=2_904_858),
        ), "ChnSentiCorp hotel reviews (Songbo Tan, ICT/CAS) via SophonPlus; research use",
            "7,766 Chinese hotel reviews labelled positive/negative"),
        DataSet("icwb2", tuple(
            DataFile(f"icwb2-data/{name}", sha, archive_url=_ICWB2_ZIP, member=f"icwb2-data/{name}", size=size)
            for name, (sha, size) in {
                "gold/pku_test_gold.utf8":
                    ("913f78b20b17ea1e154f6246644d7d624b2710641f109a15daee9d63c9fb88d4", 718_331),
                "gold/msr_test_gold.utf8":
                    ("cd1a8473841f1b2fcddd14d12599ad8872e6167feb64807af5bac2f6a32cb75d", 766_786),
                "gold/pku_training_words.utf8":
                    ("68fdbcef065d315e5dc3dc4c0e1b68997b1849141ba93b8fa2325fb088b5b0f3", 490_217),
                "gold/msr_training_words.utf8":
                    ("d5328d5cc8576c8e008e70ad33882aae4ce2cbbbf6cd1130c59a66a248961b8c", 1_065_391),
                "testing/pku_test.utf8":
                    ("48c2655b535ea33802c873373f3176e57d39ba1a45a4dbba164e9125d7ce149e", 509_588),
                "testing/msr_test.utf8":
                    ("8068b0c5a8f309e2ff2ba88dc26de7a8dac2f2684c9c7d8094337d9ce272f601", 560_226),
                "scripts/score":
                    ("7b9410b0d5433e22067e4c75f5bd9fa7ba13e16357bca5fd050e4493f3e5189e", 7_228),
            }.items()
        ), "SIGHAN Bakeoff 2005 (PKU: Peking University; MSR: Microsoft Research Asia); free for "
           "non-commercial research use, cite Emerson 2005",
            "Chinese word segmentation: PKU and MSR gold test sets (UTF-8, CRLF), unsegmented test text, "
            "training word lists and the official scorer"),
    ]
}


_ENV_PATHS = ("D2L_DATA_DIR", "D2L_DATA_MIRROR")
_ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")


def _resolve_env_paths() -> None:
    """Make a relative ``D2L_DATA_DIR`` or ``D2L_DATA_MIRROR`` absolute (current folder), in ``os.environ``."""
    for var in _ENV_PATHS:
        value = os.environ.get(var, "").strip()
        if value and "://" not in value and not Path(value).expanduser().is_absolute():
            os.environ[var] = str(Path(value).expanduser().resolve())


_resolve_env_paths()


def data_dir() -> Path:
    """Return the cache folder ``$D2L_DATA_DIR`` (default ``~/.cache/d2lutils``), created if needed.

    The folder may be read-only: files that are already there and verify are used as they
    are, and only a missing or corrupted file needs write access.

    Raises:
        PermissionError: the folder does not exist and cannot be created; the message says
            which environment variable to change.
    """
    _resolve_env_paths()
    root = Path(os.environ.get("D2L_DATA_DIR", "").strip() or Path.home() / ".cache" / "d2lutils").expanduser()
    if not root.is_dir():
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise PermissionError(
                f"cannot create the data cache folder {root} ({err.strerror or err}); "
                f"set D2L_DATA_DIR to a folder you can write to"
            ) from err
    return root


def _mirror() -> str:
    _resolve_env_paths()
    return os.environ.get("D2L_DATA_MIRROR", "").strip()


def _dataset(name: str) -> DataSet:
    if not isinstance(name, str) or name not in DATASETS:
        close = difflib.get_close_matches(str(name), DATASETS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown data set {name!r}.{hint} Known data sets: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def _mirror_location(mirror: str, relpath: str) -> str:
    if "://" in mirror:
        return mirror.rstrip("/") + "/" + relpath
    return str(Path(mirror).expanduser() / relpath)


def _sources(f: DataFile) -> list[tuple[str, str]]:
    """(location, archive member or "") of every place to try, mirror first."""
    out: list[tuple[str, str]] = []
    mirror = _mirror()
    if mirror:
        out.append((_mirror_location(mirror, f.path), ""))
        if f.archive_url:
            out.append((_mirror_location(mirror, f.archive_url.rsplit("/", 1)[-1]), f.member))
    out.extend((url, "") for url in f.urls)
    if f.archive_url:
        out.append((f.archive_url, f.member))
    return out


def _not_writable(folder: Path, what: str, err: OSError) -> PermissionError:
    return PermissionError(
        f"cannot write {what} into the data cache folder {folder} ({err.strerror or err}): it is missing there "
        f"or does not verify; set D2L_DATA_DIR to a folder you can write to"
    )


_FETCH_ERRORS = (OSError, http.client.HTTPException, zipfile.BadZipFile, tarfile.TarError, KeyError, ValueError)


def _download_file(f: DataFile, root: Path, deadline_s: float, archives: fetch.ArchiveCache) -> Path:
    target = root / f.path
    fetch.remove_orphans(target.parent, target.name)
    if target.is_file():
        if (f.size is None or target.stat().st_size == f.size) and fetch.sha256_file(target) == f.sha256:
            return target
        print(f"{target} does not match its SHA-256 (corrupted or changed); fetching it again")
    try:
        target.unlink(missing_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = fetch.part_file(target.parent, target.name)
    except OSError as err:
        raise _not_writable(target.parent, f.path, err) from err
    deadline = time.monotonic() + deadline_s
    tried: list[str] = []
    try:
        for location, member in _sources(f):
            try:
                if member:
                    fetch.copy_member(archives.get(location, deadline, deadline_s), member, tmp, f.size)
                else:
                    fetch.fetch(location, tmp, max_bytes=f.size, deadline=deadline, deadline_s=deadline_s)
                size = tmp.stat().st_size
                if f.size is not None and size != f.size:
                    raise OSError(f"got {size:,} bytes, expected {f.size:,}")
                digest = fetch.sha256_file(tmp)
                if digest != f.sha256:
                    raise OSError(f"SHA-256 mismatch: expected {f.sha256[:12]}…, got {digest[:12]}…")
                os.replace(tmp, target)
                return target
            except _FETCH_ERRORS as err:
                what = f"{location} (member {member})" if member else location
                tried.append(f"  - {what}: {err}")
    finally:
        tmp.unlink(missing_ok=True)
    mirror = _mirror()
    raise DownloadError(fetch.redact(
        f"could not get {f.path} (SHA-256 {f.sha256}). Tried:\n" + "\n".join(tried) + "\n"
        f"Nothing was written to {target}. What to do: check your internet connection; or set "
        f"D2L_DATA_MIRROR (now {mirror or 'unset'}) to a folder or base URL that holds {f.path}; or download "
        f"{(f.urls or (f.archive_url,))[0]} yourself and put the file at {target} "
        f"(the cache folder is D2L_DATA_DIR={root})."
    ))


def download(name: str, *, deadline_s: float | None = None) -> Path:
    """Make sure every file of data set ``name`` is in the cache, verified; return their folder.

    Files already cached are checked against their SHA-256 and fetched again when
    they do not match. Sources are tried in order: ``$D2L_DATA_MIRROR`` (folder or
    base URL, same layout as the cache), then the canonical URLs. A transfer stops
    when it passes the file's registered size, and each file must arrive within the
    deadline (all its sources together).

    Args:
        name: a key of :data:`DATASETS`, e.g. ``"fashion-mnist"`` or ``"kaggle-house"``.
        deadline_s: seconds allowed per file; default ``$D2L_DOWNLOAD_DEADLINE``, else
            :data:`d2lutils.fetch.DEFAULT_DEADLINE_S` (15 minutes).

    Returns:
        The cache folder that holds the data set's files, e.g.
        ``download("kaggle-house") / "kaggle_house_pred_train.csv"``.

    Raises:
        ValueError: unknown data-set name, or a deadline that is not a positive number.
        PermissionError: a file must be fetched but the cache folder is not writable.
        DownloadError: every source of a file failed (the message lists them; credentials
            in URLs are shown as ``***``).
    """
    ds = _dataset(name)
    seconds = fetch.deadline_seconds(deadline_s)
    root = data_dir()
    archives = fetch.ArchiveCache(root)
    try:
        for f in ds.files:
            _download_file(f, root, seconds, archives)
    finally:
        archives.close()
    return root / ds.folder


def download_extract(name: str, *, deadline_s: float | None = None) -> Path:
    """Download the archive(s) of data set ``name`` and extract them; return the extraction folder.

    The folder is ``$D2L_DATA_DIR/extracted/<name>/``. It holds a manifest of the size and
    SHA-256 of every extracted file, checked on each call: a file that was changed or
    deleted makes it extract again. Extraction goes to a temporary folder renamed into
    place, so processes extracting at once never see a half-written folder (the first
    rename wins and the others use its result). A data set without archives returns
    :func:`download`'s folder.

    Raises:
        The errors of :func:`download`; PermissionError when the folder must be (re)written
        but the cache is not writable.
    """
    ds = _dataset(name)
    folder = download(name, deadline_s=deadline_s)
    root = data_dir()
    archives = {f.path: f.sha256 for f in ds.files if f.path.endswith(_ARCHIVE_SUFFIXES)}
    if not archives:
        return folder
    dest = root / "extracted" / name
    for _ in range(3):  # another process may replace the folder between our check and our rename
        problem = fetch.extraction_problem(dest, archives)
        if problem is None:
            return dest
        if problem != "missing":
            print(f"{dest}: {problem}; extracting again")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fetch.remove_orphans(dest.parent, name)
            tmp = fetch.temp_dir(dest.parent, name)
        except OSError as err:
            raise _not_writable(dest.parent, f"the extracted files of {name}", err) from err
        old = tmp.with_suffix(".old")
        try:
            for path in archives:
                extract(root / path, tmp)
            fetch.write_manifest(tmp, archives)
            if problem != "missing":  # move the bad folder aside (removed below), unless repaired meanwhile
                if fetch.extraction_problem(dest, archives) is None:
                    return dest
                try:
                    os.rename(dest, old)
                except FileNotFoundError:
                    pass
            try:
                os.rename(tmp, dest)
            except OSError:
                if not dest.is_dir():
                    raise
                continue  # another process was first: check its folder and use it
            return dest
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)
    raise DownloadError(f"could not extract {name} into {dest}: other processes kept replacing it; try again")


# --------------------------------------------------------------------------- image data sets

def read_idx(path: Path | str) -> torch.Tensor:
    """Read an IDX file (the MNIST format, optionally gzip-compressed) into a ``uint8`` tensor.

    Raises:
        ValueError: the file is not an unsigned-byte IDX file, is cut short (in its header, its data
            or its gzip stream) or is longer than its header says; the message names the file.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise ValueError(f"{path} is not a complete gzip file ({err}); delete it so it is downloaded again") from err
    if len(raw) < 4:
        raise ValueError(f"{path} is not an IDX file: it has {len(raw)} bytes, fewer than the 4 of a magic number")
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: the header of a {ndim}-dimensional IDX file has {header} bytes but the file "
                         f"holds only {len(raw)}; delete it so it is downloaded again")
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


def _int_like(value: object) -> int | None:
    """``value`` as an int when it is integer-like (``int``, ``np.int64``, a 0-d integer tensor), else ``None``."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _resize_size(resize: object) -> tuple[int, int] | None:
    """Check ``resize`` (``None``, an int or ``(height, width)``) and return ``(height, width)``."""
    if resize is None:
        return None
    allowed = f"resize must be a positive integer (at most {MAX_RESIZE}) or a (height, width) pair of them"
    side = _int_like(resize)
    if side is not None:
        sides: tuple[int | None, ...] = (side, side)
    else:
        try:
            if isinstance(resize, (str, bytes)):
                raise TypeError
            values = tuple(resize)  # type: ignore[call-overload]
        except TypeError:
            raise TypeError(f"{allowed}, got {resize!r}") from None
        if len(values) != 2:
            raise ValueError(f"{allowed}, got {len(values)} values: {resize!r}")
        sides = tuple(_int_like(v) for v in values)
        if None in sides:
            raise TypeError(f"{allowed}, got {resize!r}")
    if not all(1 <= s <= MAX_RESIZE for s in sides):  # type: ignore[operator]
        raise ValueError(f"{allowed}, got {resize!r}")
    return sides[0], sides[1]  # type: ignore[return-value]


def _image_loaders(
    name: str,
    batch_size: int,
    resize: int | Sequence[int] | None,
    device: torch.device | str | None,
    seed: int,
    flatten: bool,
) -> tuple[TensorLoader, TensorLoader]:
    batch = _int_like(batch_size)
    if batch is None or batch < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    size = _resize_size(resize)
    if flatten and size is not None:
        raise ValueError("use either flatten=True or resize=..., not both")
    dev = torch.device(device) if device is not None else try_gpu()
    loaders = []
    for train in (True, False):
        images, labels = _read_idx_pair(name, train)
        what = f"{name} {'training' if train else 'test'} images"
        n = config.examples(len(labels), what)
        images, labels = images[:n], labels[:n]
        x = images.to(dev).unsqueeze(1).float().div_(255)  # (N, 1, 28, 28) in [0, 1]
        if size is not None:
            x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)
        if flatten:
            x = x.reshape(len(x), -1)  # (N, 784)
        loaders.append(TensorLoader(x, labels.to(dev), batch_size=batch, shuffle=train,
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
        resize: an int or ``(height, width)`` to resize the images to, each side from 1 to
            :data:`MAX_RESIZE`; integer-like values such as ``np.int64(32)`` are accepted.
        device: where the data live (default :func:`~d2lutils.device.try_gpu`).
        seed: seed of the shuffling.
        flatten: return each image as a 784-vector.

    Raises:
        TypeError: ``resize`` is not an integer or a pair of integers (``2.5``, ``True``, ``"32"``).
        ValueError: ``resize`` is out of range or not a pair, ``batch_size`` is not a positive
            integer, or both ``resize`` and ``flatten`` are given. All are checked before any data is read.
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


def read_translation(name: str) -> list[tuple[str, str]]:
    """Return the sentence pairs of a Tatoeba translation set as ``(English, other)`` string pairs (section 10.7).

    ``"fra-eng"``: the 167,130 English-French pairs of ``fra-eng/fra.txt``; ``"cmn-eng"``: the 21,116
    English-Chinese pairs of ``cmn.txt`` inside ``cmn-eng.zip`` (simplified and traditional script mixed).
    The strings are as in the file: no lower-casing, and the French side keeps its narrow no-break spaces
    (U+202F) and no-break spaces (U+00A0) before punctuation.
    """
    if name == "fra-eng":
        text = (download("fra-eng") / "fra.txt").read_text(encoding="utf-8")
    elif name == "cmn-eng":
        with zipfile.ZipFile(download("cmn-eng") / "cmn-eng.zip") as zf:
            text = zf.read("cmn.txt").decode("utf-8")
    else:
        raise ValueError(f"unknown translation set {name!r}: choose 'fra-eng' or 'cmn-eng'")
    pairs = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("\t")
        if len(fields) < 2:
            raise ValueError(f"{name}: line {number} has no tab-separated translation: {line[:60]!r}")
        pairs.append((fields[0], fields[1]))
    return pairs


def read_sentiment(name: str) -> tuple[list[str], list[int]]:
    """Return a sentiment data set as ``(texts, labels)``, label 1 positive and 0 negative (section 11.5).

    ``"rt-polarity"``: Pang & Lee's 10,662 movie-review snippets (5,331 positive first, then 5,331
    negative), decoded from Windows-1252, lower-cased and tokenised by the authors (tokens separated by
    spaces), trailing spaces stripped. ``"chnsenticorp"``: the 7,766 ChnSentiCorp hotel reviews in file
    order (5,322 positive, 2,444 negative), unsegmented; one review (index 6,374) is empty in the file
    and is kept, so the counts match the published ones. Neither set has an official train/test split.
    """
    if name == "rt-polarity":
        folder = download("rt-polarity")
        texts, labels = [], []
        for label, member in ((1, "rt-polarity.pos"), (0, "rt-polarity.neg")):
            # splitlines() would also break at U+0085 etc.; the files use LF only
            lines = (folder / member).read_bytes().decode("cp1252").split("\n")
            lines = [line.strip() for line in lines if line.strip()]
            texts += lines
            labels += [label] * len(lines)
        return texts, labels
    if name == "chnsenticorp":
        path = download("chnsenticorp") / "ChnSentiCorp_htl_all.csv"
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        if rows[0] != ["label", "review"]:
            raise ValueError(f"{path}: expected the header 'label,review', got {rows[0]!r}")
        texts, labels = [], []
        for number, row in enumerate(rows[1:], 2):
            if len(row) != 2 or row[0] not in ("0", "1"):
                raise ValueError(f"{path}: row {number} is not 'label,review': {row!r:.60}")
            labels.append(int(row[0]))
            texts.append(row[1].strip())
        return texts, labels
    raise ValueError(f"unknown sentiment set {name!r}: choose 'rt-polarity' or 'chnsenticorp'")


def read_date() -> list[tuple[str, str]]:
    """Return the 50,000 pairs of DLFS2's date-format task as ``(question, answer)`` (section 12.4).

    Each line of ``date.txt`` is a date written in one of many formats, padded with spaces to 29
    characters, then ``_`` and the date in ISO form ``YYYY-MM-DD``; the question keeps its padding
    stripped and the answer is the 10 characters after the ``_``.
    """
    text = (download("date") / "date.txt").read_text(encoding="ascii")
    pairs = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        question, sep, answer = line.partition("_")
        if not sep or len(answer) != 10:
            raise ValueError(f"date.txt: line {number} is not 'question_YYYY-MM-DD': {line!r}")
        pairs.append((question.rstrip(), answer))
    return pairs


def read_jaychou_lyrics() -> str:
    """Return the Jay Chou lyrics corpus (Chinese, UTF-8) as one string."""
    with zipfile.ZipFile(download("jaychou-lyrics") / "jaychou_lyrics.txt.zip") as zf:
        return io.TextIOWrapper(zf.open("jaychou_lyrics.txt"), encoding="utf-8").read()
