#!/usr/bin/env bash
# Download the wheels the notebook runner needs on a GPU machine that has Python 3.12 and CUDA torch
# (plus numpy, matplotlib, pandas, tqdm) but no Jupyter packages, into .whl/ (ignored by git).
# Usage: bash tools/device-wheels.sh [python-version]     (default 3.12)
# Then, on that machine, from the repository root:
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
#   D2L_DATA_MIRROR=$PWD/.data python3 -m d2lutils.book run --skip-pending 03 04
# See tools/GPU.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYV="${1:-3.12}"
PIP="${PIP:-python3 -m pip}"
rm -rf .whl && mkdir -p .whl
# What d2lutils.book imports (nbclient, nbformat) and what runs the kernel (ipykernel and its needs).
# pip resolves the dependencies for the target Python; --only-binary makes that possible off-platform.
$PIP download --quiet --only-binary=:all: --python-version "$PYV" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d .whl \
    "nbclient>=0.9" "nbformat>=5.9" "ipykernel>=6.20" "matplotlib-inline>=0.1"
# The machine already has these (a second copy would shadow its own); keep the download small.
for pkg in numpy pandas matplotlib pillow packaging python_dateutil six pygments psutil typing_extensions \
           attrs pyyaml tqdm; do
    rm -f .whl/"${pkg}"-*.whl
done
du -sh .whl
ls .whl | sed 's/-py.*//; s/-cp.*//' | tr '\n' ' '; echo

# The data sets the chapters read, copied from the mirror (or the cache) into .data/ (ignored by git),
# laid out as a mirror, so the machine reads them with D2L_DATA_MIRROR=$PWD/.data.
DATASETS="${DATASETS:-fashion-mnist kaggle-house airfoil}"
.venv/bin/python - $DATASETS <<'PY'
import shutil, sys
from pathlib import Path
import d2lutils as d2l
out = Path(".data")
shutil.rmtree(out, ignore_errors=True)
for name in sys.argv[1:]:
    d2l.download(name)  # verified, from D2L_DATA_MIRROR or the canonical URL, into the cache
    for f in d2l.DATASETS[name].files:
        (out / f.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(d2l.data_dir() / f.path, out / f.path)
print("data:", ", ".join(sys.argv[1:]), f"({sum(p.stat().st_size for p in out.rglob('*') if p.is_file()) / 2**20:.1f} MiB in .data/)")
PY
