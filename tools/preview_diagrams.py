"""Render every diagram of d2lutils.diagrams to PNG (to look at) and SVG (to measure) under _build/diagrams/.

Usage: .venv/bin/python tools/preview_diagrams.py [NAME ...]   (default: every diagram)
Prints each diagram's size in inches and the size of its SVG.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from d2lutils import diagrams  # noqa: E402

DIAGRAMS = ["neuron", "mlp", "computational_graph", "backprop_graph", "cross_correlation", "padding_stride",
            "channels", "lenet", "receptive_field", "transposed_convolution", "inception", "residual_blocks",
            "dense_block", "depthwise_separable", "unet"]


def main(names: list[str]) -> None:
    out = Path(__file__).resolve().parents[1] / "_build" / "diagrams"
    out.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context({"svg.hashsalt": "d2lutils", "svg.fonttype": "none"}):
        for name in names or DIAGRAMS:
            fig = getattr(diagrams, name)()
            fig.savefig(out / f"{name}.png", dpi=100)
            fig.savefig(out / f"{name}.svg", metadata={"Date": None})
            w, h = fig.get_size_inches()
            size = (out / f"{name}.svg").stat().st_size
            print(f"{name:24s} {w:4.1f} x {h:4.1f} in  {size / 1024:5.1f} KB SVG  -> {out / name}.png")


if __name__ == "__main__":
    main(sys.argv[1:])
