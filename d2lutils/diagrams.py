"""Diagrams for the book: architectures, computational graphs and sliding windows, drawn with matplotlib patches.

Every diagram is a pure function that returns a new :class:`~matplotlib.figure.Figure` (made without pyplot,
so Jupyter shows it exactly once when it is a cell's value). The drawing is deterministic and small as SVG:
text stays text, and each diagram is a few dozen patches. Chapters build their own diagrams from the
primitives: :func:`canvas` (a figure whose data units are a fixed number of inches), :func:`box`,
:func:`circle`, :func:`arrow`, :func:`grid` (a tensor as a grid of cells), :func:`layer_stack` (an
architecture: labelled boxes joined by arrows with shape annotations) and :func:`graph` (nodes and edges,
placed by coordinates or in layers). Colours come from the colour-blind-safe Okabe-Ito palette.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.patches as mpatches
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "FILL", "LINE", "FONT", "Grid", "canvas", "box", "circle", "arrow", "grid", "layer_stack", "graph",
    "neuron", "mlp", "computational_graph", "backprop_graph", "cross_correlation", "padding_stride", "channels",
    "lenet", "receptive_field", "transposed_convolution",
    "KIND", "inception", "residual_blocks", "dense_block", "depthwise_separable", "unet",
    "unrolled_rnn", "bptt_paths", "rnn_topologies", "elman_jordan", "gru_cell", "lstm_cell", "encoder_decoder",
    "word2vec_models", "negative_sampling", "viterbi_trellis", "attention_pooling",
    "multi_head_attention", "transformer_block", "causal_kv_cache", "all_reduce",
    "autoencoder", "gan_training_loop", "message_passing",
]

#: Light fills (Okabe-Ito hues, lightened) by role, e.g. data in blue, parameters in orange, results in green.
FILL = {"blue": "#cfe5f6", "orange": "#fde2b0", "green": "#bfe6d6", "yellow": "#f6efb0",
        "purple": "#efd2e3", "grey": "#e4e4e4", "white": "#ffffff"}
#: Strong line colours (Okabe-Ito) for highlights, backward passes and emphasis.
LINE = {"ink": "#222222", "blue": "#0072B2", "vermillion": "#D55E00", "green": "#009E73",
        "orange": "#E69F00", "purple": "#CC79A7", "grey": "#888888"}
#: Font size in points; diagrams are at most 7.3 inches wide, so text reads at 700 px without scaling down.
FONT = 10
_STAMPS = ("orange", "blue", "green", "purple")  # one fill per scattered kernel copy or window


def _fill(color: str) -> str:
    return FILL.get(color, color)


def _line(color: str) -> str:
    return LINE.get(color, color)


def _minus(s: str) -> str:
    return s.replace("-", "−")  # the typographic minus sign, as in the book's formulas


def _text(ax: Axes, xy: tuple[float, float], s: str, size: float = FONT, color: str = "ink", **kw: Any) -> None:
    kw.setdefault("ha", "center")
    kw.setdefault("va", "center")
    ax.text(xy[0], xy[1], s, fontsize=size, color=_line(color), **kw)


def canvas(width: float, height: float, unit: float = 0.5) -> tuple[Figure, Axes]:
    """Return a figure and axes whose data coordinates run over ``[0, width] x [0, height]``.

    One data unit is ``unit`` inches in both directions, so circles stay round and font sizes (in points)
    relate to the drawing the same way in every diagram. The axes fill the figure and are hidden.
    """
    if width <= 0 or height <= 0 or unit <= 0:
        raise ValueError(f"canvas: width, height and unit must be positive, got {width}, {height}, {unit}")
    fig = Figure(figsize=(width * unit, height * unit))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    return fig, ax


def box(ax: Axes, xy: tuple[float, float], w: float, h: float, label: str = "", color: str = "blue", *,
        fontsize: float = FONT, edgecolor: str = "ink", linewidth: float = 1.0) -> mpatches.FancyBboxPatch:
    """Draw a rounded box of size ``w`` x ``h`` centred at ``xy`` with ``label`` in its middle.

    ``color`` is a key of :data:`FILL` or any matplotlib colour; ``edgecolor`` a key of :data:`LINE` or a colour.
    """
    x, y = xy
    patch = mpatches.FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle=f"round,pad=0,rounding_size={min(w, h) / 6}",
                                    fc=_fill(color), ec=_line(edgecolor), lw=linewidth)
    ax.add_patch(patch)
    if label:
        _text(ax, xy, label, fontsize)
    return patch


def circle(ax: Axes, xy: tuple[float, float], r: float, label: str = "", color: str = "white", *,
           fontsize: float = FONT, edgecolor: str = "ink") -> mpatches.Circle:
    """Draw a circle of radius ``r`` centred at ``xy`` (a neuron, an operation) with ``label`` inside."""
    patch = mpatches.Circle(xy, r, fc=_fill(color), ec=_line(edgecolor), lw=1.0)
    ax.add_patch(patch)
    if label:
        _text(ax, xy, label, fontsize)
    return patch


def arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], label: str | None = None, *,
          color: str = "ink", linestyle: str = "-", rad: float = 0.0, side: int = 1, gap: float = 0.15,
          fontsize: float = FONT - 1, patchA: mpatches.Patch | None = None, patchB: mpatches.Patch | None = None,
          head: bool = True) -> mpatches.FancyArrowPatch:
    """Draw an arrow from ``start`` to ``end``, clipped at ``patchA`` / ``patchB`` when given.

    ``label`` is written at the middle, ``gap`` data units to the left of the direction of travel
    (``side=-1``: to the right), aligned so that it never covers the arrow: above a rightward arrow, to the
    right of a downward one. ``rad`` bends the arrow into an arc (0: straight); ``head=False`` draws a line.
    """
    if side not in (1, -1):
        raise ValueError(f"arrow: side must be 1 or -1, got {side}")
    patch = mpatches.FancyArrowPatch(start, end, arrowstyle="-|>" if head else "-", mutation_scale=11,
                                     color=_line(color), lw=1.1, linestyle=linestyle, patchA=patchA,
                                     patchB=patchB, shrinkA=1, shrinkB=1, connectionstyle=f"arc3,rad={rad}")
    ax.add_patch(patch)
    if label:
        (x0, y0), (x1, y1) = start, end
        dx, dy = x1 - x0, y1 - y0
        length = max((dx * dx + dy * dy) ** 0.5, 1e-9)
        nx, ny = -dy / length * side, dx / length * side  # unit normal on the label's side
        bulge = rad / 2  # an arc's midpoint lies rad / 2 * length to the right of the chord's midpoint
        mx, my = (x0 + x1) / 2 + dy * bulge, (y0 + y1) / 2 - dx * bulge
        ha = "left" if nx > 0.5 else "right" if nx < -0.5 else "center"
        va = "bottom" if ny > 0.5 else "top" if ny < -0.5 else "center"
        _text(ax, (mx + nx * gap, my + ny * gap), label, fontsize, color, ha=ha, va=va)
    return patch


@dataclass(frozen=True)
class Grid:
    """Where :func:`grid` drew a tensor: top-left corner ``(x, y)``, ``rows`` x ``cols`` cells of side ``cell``."""

    x: float
    y: float
    rows: int
    cols: int
    cell: float

    @property
    def right(self) -> float:
        """The x coordinate of the grid's right edge."""
        return self.x + self.cols * self.cell

    @property
    def bottom(self) -> float:
        """The y coordinate of the grid's bottom edge."""
        return self.y - self.rows * self.cell

    @property
    def middle(self) -> tuple[float, float]:
        """The centre of the whole grid."""
        return (self.x + self.right) / 2, (self.y + self.bottom) / 2

    def center(self, i: float, j: float) -> tuple[float, float]:
        """The centre of cell ``(i, j)`` (row ``i`` counted from the top, column ``j`` from the left)."""
        return self.x + (j + 0.5) * self.cell, self.y - (i + 0.5) * self.cell

    def corner(self, i: float, j: float) -> tuple[float, float]:
        """The top-left corner of cell ``(i, j)``; ``corner(rows, cols)`` is the grid's bottom-right corner."""
        return self.x + j * self.cell, self.y - i * self.cell


def _matrix(values: Any, name: str) -> list[list[Any]]:
    if hasattr(values, "tolist"):  # a tensor or an array
        values = values.tolist()
    rows = [list(r) for r in values] if values and all(isinstance(r, (list, tuple)) for r in values) else None
    if not rows or not rows[0] or any(len(r) != len(rows[0]) for r in rows):
        raise ValueError(f"{name}: expected a non-empty 2-D table of equal-length rows, got {values!r}")
    return rows


Window = tuple[int, int, int, int]  # (row, col, rows, cols) of a rectangle of cells


def grid(ax: Axes, values_or_shape: Any, origin: tuple[float, float], cell: float = 1.0, *, color: str = "blue",
         highlight: Window | Sequence[Window] = (), highlight_color: str | Sequence[str] = "vermillion",
         shade: Iterable[tuple[int, int]] = (), shade_color: str = "grey",
         fills: Mapping[tuple[int, int], str] | None = None, title: str | None = None, fmt: str = "{:g}",
         fontsize: float = FONT) -> Grid:
    """Draw a matrix as a grid of cells whose top-left corner is at ``origin``.

    ``values_or_shape`` is a 2-D table of values (nested lists, a tensor or an array; a string or ``None``
    entry is written as is or left empty; numbers go through ``fmt``) or a shape ``(rows, cols)`` for empty
    cells. ``highlight`` outlines rectangles ``(row, col, rows, cols)`` with thick lines (one colour each
    when ``highlight_color`` is a list); ``shade`` fills single cells with ``shade_color`` (padding, say);
    ``fills`` maps cells to their own fill colours; ``title`` goes above the grid.
    """
    if (isinstance(values_or_shape, tuple) and len(values_or_shape) == 2
            and all(isinstance(n, int) for n in values_or_shape)):
        rows, cols = values_or_shape
        if rows < 1 or cols < 1:
            raise ValueError(f"grid: shape must be positive, got {values_or_shape}")
        table: list[list[Any]] = [[None] * cols for _ in range(rows)]
    else:
        table = _matrix(values_or_shape, "grid")
        rows, cols = len(table), len(table[0])
    g = Grid(origin[0], origin[1], rows, cols, cell)
    shaded, fills = set(shade), dict(fills or {})
    for i in range(rows):
        for j in range(cols):
            fill = fills.get((i, j), shade_color if (i, j) in shaded else color)
            ax.add_patch(mpatches.Rectangle(g.corner(i + 1, j), cell, cell, fc=_fill(fill), ec=LINE["ink"], lw=0.8))
            v = table[i][j]
            if v is not None:
                _text(ax, g.center(i, j), v if isinstance(v, str) else _minus(fmt.format(v)), fontsize)
    windows = [highlight] if highlight and isinstance(highlight[0], int) else list(highlight)  # type: ignore[list-item]
    colors = [highlight_color] * len(windows) if isinstance(highlight_color, str) else list(highlight_color)
    if len(colors) != len(windows):
        raise ValueError(f"grid: {len(windows)} highlights need as many colours, got {len(colors)}")
    for (r, c, h, w), col in zip(windows, colors):
        if r < 0 or c < 0 or h < 1 or w < 1 or r + h > rows or c + w > cols:
            raise ValueError(f"grid: highlight {(r, c, h, w)} does not fit a {rows} x {cols} grid")
        ax.add_patch(mpatches.Rectangle(g.corner(r + h, c), w * cell, h * cell, fill=False, ec=_line(col), lw=2.6))
    if title:
        _text(ax, (g.middle[0], g.y + 0.12), title, fontsize, va="bottom")
    return g


def layer_stack(ax: Axes, labels: Sequence[str], origin: tuple[float, float], *, size: tuple[float, float] = (4.0, 0.7),
                gap: float = 0.6, direction: str = "down", colors: Sequence[str] | None = None,
                annotations: Sequence[str | None] | None = None, fontsize: float = FONT) -> list[mpatches.Patch]:
    """Draw an architecture: boxes with ``labels``, the first centred at ``origin``, joined by arrows.

    ``direction`` is ``"down"``, ``"up"`` or ``"right"``; consecutive boxes are ``gap`` data units apart.
    ``annotations`` (one per arrow, ``None`` for none) label the arrows, typically with the shape of the
    tensor that flows along them. ``colors`` gives one fill per box (default: all blue).
    """
    steps = {"down": (0.0, -1.0), "up": (0.0, 1.0), "right": (1.0, 0.0)}
    if direction not in steps:
        raise ValueError(f"layer_stack: direction must be one of {sorted(steps)}, got {direction!r}")
    if not labels:
        raise ValueError("layer_stack: labels must name at least one layer")
    colors = list(colors) if colors is not None else ["blue"] * len(labels)
    annotations = list(annotations) if annotations is not None else [None] * (len(labels) - 1)
    if len(colors) != len(labels) or len(annotations) != len(labels) - 1:
        raise ValueError(f"layer_stack: {len(labels)} labels need {len(labels)} colors and {len(labels) - 1} "
                         f"annotations, got {len(colors)} and {len(annotations)}")
    (w, h), (sx, sy) = size, steps[direction]
    pitch = (w if sx else h) + gap
    centers = [(origin[0] + k * pitch * sx, origin[1] + k * pitch * sy) for k in range(len(labels))]
    patches: list[mpatches.Patch] = [box(ax, c, w, h, lab, col, fontsize=fontsize)
                                     for c, lab, col in zip(centers, labels, colors)]
    for k, note in enumerate(annotations):
        (x0, y0), (x1, y1) = centers[k], centers[k + 1]
        start = (x0 + sx * w / 2, y0 + sy * h / 2)
        end = (x1 - sx * w / 2, y1 - sy * h / 2)
        side = -1 if direction == "down" else 1  # annotations to the left of a column, above a row
        arrow(ax, start, end, note, side=side, gap=0.12, fontsize=fontsize - 1)
    return patches


Edge = tuple[str, str] | tuple[str, str, str]


def graph(ax: Axes, nodes: Mapping[str, str] | Sequence[str], edges: Sequence[Edge], *,
          positions: Mapping[str, tuple[float, float]] | None = None, origin: tuple[float, float] = (1.0, 1.0),
          spacing: tuple[float, float] = (2.5, 1.2), node_size: tuple[float, float] = (1.2, 0.6),
          colors: Mapping[str, str] | None = None, circles: Iterable[str] = (), fontsize: float = FONT,
          bends: Mapping[tuple[str, str], float] | None = None) -> dict[str, mpatches.Patch]:
    """Draw a graph: ``nodes`` (name to label, or names that are their own labels) and ``edges``.

    An edge is ``(source, target)`` or ``(source, target, label)``; ``bends`` maps an edge to an arc
    radius. Nodes are boxes of ``node_size``, or circles (operations) for names in ``circles``, filled with
    ``colors[name]`` (default blue). Without ``positions``, nodes are laid out in layers: a node's layer is
    the length of the longest path reaching it, layer ``k`` is at ``x = origin[0] + k * spacing[0]``, and
    the nodes of a layer are stacked ``spacing[1]`` apart around ``y = origin[1]``, in the order given.
    Returns the patch of every node.
    """
    labels = dict(nodes) if isinstance(nodes, Mapping) else {n: n for n in nodes}
    pairs = [(e[0], e[1]) for e in edges]
    unknown = sorted({n for p in pairs for n in p} - set(labels))
    if unknown:
        raise ValueError(f"graph: edges mention unknown nodes {unknown}")
    if positions is None:
        layer = dict.fromkeys(labels, 0)
        for _ in range(len(labels) + 1):
            changed = False
            for a, b in pairs:
                if layer[b] < layer[a] + 1:
                    layer[b], changed = layer[a] + 1, True
            if not changed:
                break
        else:
            raise ValueError("graph: the edges contain a cycle; pass positions to draw it")
        columns: dict[int, list[str]] = {}
        for name in labels:
            columns.setdefault(layer[name], []).append(name)
        positions = {name: (origin[0] + k * spacing[0], origin[1] + ((len(col) - 1) / 2 - i) * spacing[1])
                     for k, col in columns.items() for i, name in enumerate(col)}
    missing = sorted(set(labels) - set(positions))
    if missing:
        raise ValueError(f"graph: positions missing for nodes {missing}")
    colors, round_nodes, bends = dict(colors or {}), set(circles), dict(bends or {})
    patches: dict[str, mpatches.Patch] = {}
    for name, label in labels.items():
        color = colors.get(name, "white" if name in round_nodes else "blue")
        if name in round_nodes:
            patches[name] = circle(ax, positions[name], node_size[1] / 2 + 0.05, label, color, fontsize=fontsize)
        else:
            patches[name] = box(ax, positions[name], *node_size, label, color, fontsize=fontsize)
    for edge in edges:
        a, b = edge[0], edge[1]
        arrow(ax, positions[a], positions[b], edge[2] if len(edge) == 3 else None, patchA=patches[a],
              patchB=patches[b], rad=bends.get((a, b), 0.0), fontsize=fontsize - 1)
    return patches


# ---------------------------------------------------------------------------------------------------------
# The book's diagrams


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")


def _corr2d(X: list[list[float]], K: list[list[float]], stride: int = 1) -> list[list[float]]:
    kh, kw = len(K), len(K[0])
    return [[sum(K[a][b] * X[i * stride + a][j * stride + b] for a in range(kh) for b in range(kw))
             for j in range((len(X[0]) - kw) // stride + 1)] for i in range((len(X) - kh) // stride + 1)]


def _check_kernel(fn: str, X: list[list[float]], K: list[list[float]]) -> None:
    if len(K) > len(X) or len(K[0]) > len(X[0]):
        raise ValueError(f"{fn}: the {len(K)} x {len(K[0])} kernel is larger than the {len(X)} x {len(X[0])} input")


def _products(X: list[list[float]], K: list[list[float]], i: int, j: int) -> str:
    def num(v: float) -> str:
        return f"({_minus(f'{v:g}')})" if v < 0 else f"{v:g}"

    return " + ".join(f"{num(X[i + a][j + b])}·{num(K[a][b])}" for a in range(len(K)) for b in range(len(K[0])))


def neuron(n_inputs: int = 3) -> Figure:
    """One neuron: inputs x1..xn, one weight per input, the weighted sum plus a bias, the activation, the output.

    ``n_inputs`` is 1 to 6; from 5 inputs on, the formula above the drawing is written with vectors.
    """
    _check_int("neuron: n_inputs", n_inputs, 1, 6)
    height = max(5.4, 1.3 * n_inputs + 2.8)
    fig, ax = canvas(12.6, height)
    mid = (height - 0.9) / 2 + 0.4
    ys = [mid + ((n_inputs - 1) / 2 - k) * 1.3 for k in range(n_inputs)]
    total = circle(ax, (5.6, mid), 0.6, "Σ", "white", fontsize=FONT + 4)
    for k, y in enumerate(ys):
        x_in = circle(ax, (1.0, y), 0.45, f"$x_{k + 1}$", "blue")
        arrow(ax, (1.0, y), (5.6, mid), None, patchA=x_in, patchB=total)
        t = 0.28  # weight labels near the inputs, where the edges are far apart
        _text(ax, (1.0 + t * 4.6, y + t * (mid - y) + 0.12), f"$w_{k + 1}$", FONT, "vermillion", va="bottom")
    bias = circle(ax, (5.6, mid + 1.8), 0.4, "$b$", "orange")
    arrow(ax, (5.6, mid + 1.8), (5.6, mid), None, patchA=bias, patchB=total)
    box(ax, (8.3, mid), 1.2, 0.9, "$f$", "yellow", fontsize=FONT + 2)
    arrow(ax, (6.2, mid), (7.7, mid), "$a$", gap=0.1)
    out = circle(ax, (11.0, mid), 0.45, "$h$", "green")
    arrow(ax, (8.9, mid), (11.0, mid), None, patchB=out)
    for x, caption in ((1.0, "inputs"), (3.3, "weights"), (5.6, "sum + bias"), (8.3, "activation"), (11.0, "output")):
        _text(ax, (x, 0.5), caption, FONT - 1, "grey")
    terms = " + ".join(f"w_{k + 1} x_{k + 1}" for k in range(n_inputs))
    if n_inputs > 4:
        terms = "\\mathbf{w}^\\top\\mathbf{x}"
    _text(ax, (6.3, height - 0.45), f"$h = f(a), \\quad a = {terms} + b$", FONT)
    return fig


def mlp(sizes: Sequence[int] = (4, 5, 3)) -> Figure:
    """A multilayer perceptron: one column of units per layer (input, hidden, output), every pair joined.

    ``sizes`` gives the number of units per layer, input first: 2 to 5 layers of 1 to 8 units each.
    """
    sizes = tuple(sizes)
    if len(sizes) < 2:
        raise ValueError(f"mlp: sizes needs at least an input and an output layer, got {sizes!r}")
    for n in sizes:
        _check_int("mlp: every layer size", n, 1, 8)
    if len(sizes) > 5:
        raise ValueError(f"mlp: at most 5 layers fit a page, got {len(sizes)}")
    pitch, height = 3.0, max(sizes) + 1.6
    fig, ax = canvas(pitch * (len(sizes) - 1) + 2.4, height)
    names = ["x"] + ["h" if len(sizes) == 3 else f"h^{{({k})}}" for k in range(1, len(sizes) - 1)] + ["o"]
    fills = ["blue"] + ["yellow"] * (len(sizes) - 2) + ["green"]
    centers = [[(1.2 + pitch * layer, height / 2 + 0.35 + (n - 1) / 2 - i) for i in range(n)]
               for layer, n in enumerate(sizes)]
    xs: list[float | None] = []
    ys: list[float | None] = []
    for left, right in zip(centers, centers[1:]):  # every edge in one line (NaN-separated): a small SVG
        for a in left:
            for b in right:
                xs += [a[0] + 0.36, b[0] - 0.36, None]
                ys += [a[1], b[1], None]
    ax.plot(xs, ys, color=LINE["grey"], lw=0.7)
    for layer, column in enumerate(centers):
        for i, xy in enumerate(column):
            circle(ax, xy, 0.36, f"${names[layer]}_{{{i + 1}}}$", fills[layer], fontsize=FONT - 1)
        if layer == 0:
            caption = "input layer"
        elif layer == len(sizes) - 1:
            caption = "output layer"
        else:
            caption = "hidden layer" if len(sizes) == 3 else f"hidden layer {layer}"
        _text(ax, (column[0][0], 0.45), caption, FONT - 1)
    return fig


def _num(v: float) -> str:
    return _minus(f"{v:.4g}")


def computational_graph(a: float = 0.5, b: float = 2.0) -> Figure:
    """Section 2.2's graph of ``e = sin(ab + exp(a))``: values forward (black), gradients backward (vermillion).

    Each node shows its value from the forward pass and, below it, its gradient from the backward pass;
    each dashed backward arrow is labelled with the local derivative that the gradient is multiplied by.
    """
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (a, b)):
        raise ValueError(f"computational_graph: a and b must be finite numbers, got {a!r} and {b!r}")
    c, u = a * b, math.exp(a)
    d = c + u
    gd = math.cos(d)
    values = {"a": a, "b": b, "c": c, "u": u, "d": d, "e": math.sin(d)}
    grads = {"a": gd * b + gd * u, "b": gd * a, "c": gd, "u": gd, "d": gd, "e": 1.0}
    names = {"a": "$a$", "b": "$b$", "c": "$c = ab$", "u": "$e^a$", "d": "$d = c + e^a$", "e": "$e = \\sin d$"}
    bars = {"a": "$\\bar{a}$", "b": "$\\bar{b}$", "c": "$\\bar{c}$", "u": "$\\overline{e^a}$", "d": "$\\bar{d}$",
            "e": "$\\bar{e}$"}
    pos = {"b": (1.4, 5.0), "a": (1.4, 1.4), "c": (5.4, 5.0), "u": (5.4, 1.4), "d": (9.1, 3.2), "e": (12.6, 3.2)}
    fig, ax = canvas(14.0, 7.0)
    patches = {}
    for n, (x, y) in pos.items():
        patches[n] = box(ax, (x, y), 2.3, 1.35, "", "blue" if n in "ab" else "green")
        _text(ax, (x, y + 0.36), names[n], FONT)
        _text(ax, (x, y), _num(values[n]), FONT - 1)
        _text(ax, (x, y - 0.38), f"{bars[n]} = {_num(grads[n])}", FONT - 1, "vermillion")
    local = {("b", "c"): "× $a$", ("a", "c"): "× $b$", ("a", "u"): "× $e^a$", ("c", "d"): "× 1", ("u", "d"): "× 1",
             ("d", "e"): "× $\\cos d$"}
    for (src, dst), factor in local.items():
        arrow(ax, pos[src], pos[dst], patchA=patches[src], patchB=patches[dst])
        arrow(ax, pos[dst], pos[src], factor, color="vermillion", linestyle="--", rad=0.4, patchA=patches[dst],
              patchB=patches[src], side=-1, gap=0.08)
    _text(ax, (0.3, 6.65), "forward: values, left to right", FONT, ha="left")
    _text(ax, (13.7, 6.65), "backward: gradients, × local derivative", FONT, "vermillion", ha="right")
    return fig


def backprop_graph() -> Figure:
    """Section 4.6's graph: an MLP with one hidden layer, cross-entropy loss and an L2 penalty, J = loss + penalty.

    Data and parameters are the leaves; circles are operations. Forward propagation runs left to right,
    backpropagation right to left; both weight matrices feed two operations, so their gradients have two terms.
    """
    nodes = {"X": "$\\mathbf{X}$", "W1": "$\\mathbf{W}^{(1)}$", "b1": "$\\mathbf{b}^{(1)}$", "mm1": "×, +",
             "Z": "$\\mathbf{Z}$", "relu": "ReLU", "H": "$\\mathbf{H}$", "W2": "$\\mathbf{W}^{(2)}$",
             "b2": "$\\mathbf{b}^{(2)}$", "mm2": "×, +", "O": "$\\mathbf{O}$", "y": "$y$", "ce": "CE",
             "loss": "$\\ell$", "l2": "L2", "s": "$s$", "add": "+", "J": "$J$"}
    pos = {"X": (0.7, 3.0), "mm1": (2.0, 3.0), "W1": (2.0, 1.6), "b1": (2.0, 4.4), "Z": (3.3, 3.0),
           "relu": (4.6, 3.0), "H": (5.9, 3.0), "mm2": (7.2, 3.0), "W2": (7.2, 1.6), "b2": (7.2, 4.4),
           "O": (8.5, 3.0), "ce": (9.8, 3.0), "y": (9.8, 4.4), "loss": (11.1, 3.0), "l2": (9.8, 0.6),
           "s": (11.1, 0.6), "add": (12.3, 1.8), "J": (13.5, 1.8)}
    edges = [("X", "mm1"), ("W1", "mm1"), ("b1", "mm1"), ("mm1", "Z"), ("Z", "relu"), ("relu", "H"), ("H", "mm2"),
             ("W2", "mm2"), ("b2", "mm2"), ("mm2", "O"), ("O", "ce"), ("y", "ce"), ("ce", "loss"), ("W1", "l2"),
             ("W2", "l2"), ("l2", "s"), ("loss", "add"), ("s", "add"), ("add", "J")]
    colors = {**dict.fromkeys(("X", "y"), "blue"), **dict.fromkeys(("W1", "b1", "W2", "b2"), "orange"),
              **dict.fromkeys(("Z", "H", "O", "loss", "s", "J"), "green")}  # data, parameters, computed values
    fig, ax = canvas(14.2, 5.9)
    graph(ax, nodes, edges, positions=pos, node_size=(0.95, 0.8), colors=colors,
          circles=["mm1", "relu", "mm2", "ce", "l2", "add"], fontsize=FONT - 1)
    x = 0.3
    legend = (("blue", "data"), ("orange", "parameter"), ("green", "computed value"), ("white", "operation"))
    for color, label in legend:
        if color == "white":
            circle(ax, (x + 0.25, 5.5), 0.22)
        else:
            box(ax, (x + 0.25, 5.5), 0.5, 0.4, "", color)
        _text(ax, (x + 0.65, 5.5), label, FONT - 1, ha="left")
        x += 0.95 + 0.16 * len(label)
    _text(ax, (13.9, 5.5), "forward →,  backward ←", FONT - 1, ha="right")
    return fig


def cross_correlation(X: Any = None, K: Any = None, position: tuple[int, int] = (0, 0)) -> Figure:
    """Section 7.2: the window at ``position`` of a 2-D input, the kernel, the output and one entry's arithmetic.

    ``X`` (up to 6 x 6) and ``K`` are 2-D tables (nested lists, tensors, arrays); ``position`` is the output
    entry ``(row, col)`` whose window is outlined. The default is the book's example: a 3 x 3 input 0..8 and the
    2 x 2 kernel ``[[0, 1], [2, 3]]``.
    """
    X = _matrix(X if X is not None else [[0, 1, 2], [3, 4, 5], [6, 7, 8]], "cross_correlation: X")
    K = _matrix(K if K is not None else [[0, 1], [2, 3]], "cross_correlation: K")
    _check_kernel("cross_correlation", X, K)
    Y = _corr2d(X, K)
    i, j = position
    if not (0 <= i < len(Y) and 0 <= j < len(Y[0])):
        raise ValueError(f"cross_correlation: position {position} is outside the {len(Y)} x {len(Y[0])} output")
    if len(X) > 6 or len(X[0]) > 6:
        raise ValueError("cross_correlation: inputs up to 6 x 6 fit the page")
    top = len(X) + 1.3
    fig, ax = canvas(len(X[0]) + len(K[0]) + len(Y[0]) + 4.6, top + 0.7)
    gx = grid(ax, X, (0.4, top), highlight=(i, j, len(K), len(K[0])), title="input")
    _text(ax, (gx.right + 0.7, top - len(K) / 2), "$\\star$", FONT + 14)
    gk = grid(ax, K, (gx.right + 1.4, top), color="orange", title="kernel")
    _text(ax, (gk.right + 0.7, top - len(K) / 2), "=", FONT + 6)
    grid(ax, Y, (gk.right + 1.4, top), color="green", highlight=(i, j, 1, 1), title="output")
    _text(ax, (0.4, 0.6), f"{_products(X, K, i, j)} = {_minus(f'{Y[i][j]:g}')}", FONT, ha="left")
    return fig


def padding_stride(X: Any = None, K: Any = None, padding: int = 1, stride: int = 2) -> Figure:
    """Section 7.3: the zero-padded input (padding shaded), two window positions one stride apart, the output.

    ``padding`` (0 to 2) zeros are added on every side of ``X``; the first two windows of the top row are
    outlined, ``stride`` (1 to 3) columns apart, and their arithmetic is written out. The default is the book's
    3 x 3 input 0..8 and kernel ``[[0, 1], [2, 3]]`` with padding 1 and stride 2.
    """
    X = _matrix(X if X is not None else [[0, 1, 2], [3, 4, 5], [6, 7, 8]], "padding_stride: X")
    K = _matrix(K if K is not None else [[0, 1], [2, 3]], "padding_stride: K")
    _check_int("padding_stride: padding", padding, 0, 2)
    _check_int("padding_stride: stride", stride, 1, 3)
    n, m, p = len(X), len(X[0]), padding
    P = [[X[r - p][c - p] if p <= r < n + p and p <= c < m + p else 0 for c in range(m + 2 * p)]
         for r in range(n + 2 * p)]
    _check_kernel("padding_stride", P, K)
    if len(P) > 7 or len(P[0]) > 7:
        raise ValueError("padding_stride: padded inputs up to 7 x 7 fit the page")
    Y = _corr2d(P, K, stride)
    if len(Y[0]) < 2:
        raise ValueError(f"padding_stride: stride {stride} leaves room for only one window position per row")
    kh, kw = len(K), len(K[0])
    top = len(P) + 0.9
    fig, ax = canvas(len(P[0]) + kw + len(Y[0]) + 4.6, top + 0.7)
    pad_cells = [(r, c) for r in range(len(P)) for c in range(len(P[0])) if not (p <= r < n + p and p <= c < m + p)]
    gp = grid(ax, P, (0.4, top), shade=pad_cells, highlight=[(0, 0, kh, kw), (0, stride, kh, kw)],
              highlight_color=["vermillion", "blue"], title=f"input, padding {p}")
    _text(ax, (gp.right + 0.7, top - kh / 2), "$\\star$", FONT + 14)
    gk = grid(ax, K, (gp.right + 1.4, top), color="orange", title="kernel")
    _text(ax, (gk.right + 0.7, top - kh / 2), "=", FONT + 6)
    grid(ax, Y, (gk.right + 1.4, top), color="green", highlight=[(0, 0, 1, 1), (0, 1, 1, 1)],
         highlight_color=["vermillion", "blue"], title=f"output, stride {stride}")
    for row, (col, color) in enumerate(((0, "vermillion"), (stride, "blue"))):
        line = f"{_products(P, K, 0, col)} = {_minus(f'{Y[0][row]:g}')}"
        _text(ax, (gk.x, top - kh - 1.2 - 0.6 * row), line, FONT, color, ha="left")
    return fig


def channels(X: Any = None, K: Any = None) -> Figure:
    """Section 7.4: two input channels, each cross-correlated with its own kernel slice, and the sum.

    ``X`` has shape (2, h, w) and ``K`` shape (2, kh, kw); the default is the book's example.
    """
    X = X.tolist() if hasattr(X, "tolist") else X
    K = K.tolist() if hasattr(K, "tolist") else K
    X = X if X is not None else [[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 0, 1], [0, 2, 0], [1, 0, 1]]]
    K = K if K is not None else [[[-1, -1], [1, 1]], [[1, 0], [0, 0]]]
    if len(X) != 2 or len(K) != 2:
        raise ValueError(f"channels: X and K need exactly 2 channels, got {len(X)} and {len(K)}")
    Xs = [_matrix(x, "channels: X") for x in X]
    Ks = [_matrix(k, "channels: K") for k in K]
    if len(Xs[0]) > 4 or len(Xs[0][0]) > 4 or any(len(x) != len(Xs[0]) or len(x[0]) != len(Xs[0][0]) for x in Xs):
        raise ValueError("channels: both channels must have the same shape, at most 4 x 4")
    if len(Ks[0]) != len(Ks[1]) or len(Ks[0][0]) != len(Ks[1][0]):
        raise ValueError("channels: both kernel slices must have the same shape")
    for x, k in zip(Xs, Ks):
        _check_kernel("channels", x, k)
    Ys = [_corr2d(x, k) for x, k in zip(Xs, Ks)]
    S = [[a + b for a, b in zip(r0, r1)] for r0, r1 in zip(*Ys)]
    cell, h = 0.8, len(Xs[0])
    row_h = h * cell + 1.1
    fig, ax = canvas((len(Xs[0][0]) + 2 * len(Ys[0][0]) + len(Ks[0][0])) * cell + 6.8, 2 * row_h + 1.1)
    kh, kw = len(Ks[0]), len(Ks[0][0])
    for c in range(2):
        top = 2 * row_h + 0.1 - c * row_h - 0.4
        gx = grid(ax, Xs[c], (0.4, top), cell, highlight=(0, 0, kh, kw), title=f"input channel {c}")
        _text(ax, (gx.right + 0.55, top - kh * cell / 2), "$\\star$", FONT + 12)
        gk = grid(ax, Ks[c], (gx.right + 1.1, top), cell, color="orange", title=f"kernel {c}")
        _text(ax, (gk.right + 0.55, top - kh * cell / 2), "=", FONT + 4)
        gy = grid(ax, Ys[c], (gk.right + 1.1, top), cell, color="yellow", highlight=(0, 0, 1, 1))
        if c == 0:
            y0 = gy
    x_sum = y0.right + 1.5
    _text(ax, (y0.middle[0], y0.bottom - 0.55), "+", FONT + 6)
    gs = grid(ax, S, (x_sum, y0.bottom - 0.55 + len(S) * cell / 2), cell, color="green", highlight=(0, 0, 1, 1),
              title="output")
    arrow(ax, (y0.middle[0] + 0.4, y0.bottom - 0.55), (x_sum - 0.1, gs.middle[1]))
    _text(ax, (0.4, 0.45), _minus(f"output[0, 0] = {Ys[0][0][0]:g} + {Ys[1][0][0]:g} = {S[0][0]:g}"), FONT, ha="left")
    return fig


def lenet(activation: str = "sigmoid") -> Figure:
    """Section 7.6: LeNet as the book trains it on 28 x 28 Fashion-MNIST images, with the shape after each layer."""
    if not isinstance(activation, str) or not activation:
        raise ValueError(f"lenet: activation must be a name such as 'sigmoid', got {activation!r}")
    labels = ["input image", f"5×5 conv, 6 channels, padding 2, {activation}", "2×2 average pooling, stride 2",
              f"5×5 conv, 16 channels, {activation}", "2×2 average pooling, stride 2", "flatten",
              f"dense, 120 units, {activation}", f"dense, 84 units, {activation}", "dense, 10 units"]
    shapes = ["1 × 28 × 28", "6 × 28 × 28", "6 × 14 × 14", "16 × 10 × 10", "16 × 5 × 5", "400", "120", "84"]
    colors = ["blue"] + ["orange", "grey"] * 2 + ["grey"] + ["yellow"] * 3
    fig, ax = canvas(9.6, 13.4)
    x, top, pitch = 3.5, 12.8, 0.75 + 0.72
    layer_stack(ax, labels, (x, top), size=(6.2, 0.75), gap=0.72, colors=colors, annotations=shapes)
    arrow(ax, (x, top - 8 * pitch - 0.375), (x, 0.5))
    _text(ax, (x, 0.3), "10 class scores", FONT)
    for first, last, name in ((1, 4, "convolutional\nencoder"), (6, 8, "dense\nlayers")):
        y0, y1 = top - first * pitch + 0.375, top - last * pitch - 0.375
        ax.plot([6.85, 7.0, 7.0, 6.85], [y0, y0, y1, y1], color=LINE["grey"], lw=1.0)
        _text(ax, (7.2, (y0 + y1) / 2), name, FONT - 1, "grey", ha="left")
    return fig


def receptive_field(kernel_size: int = 3, num_layers: int = 2) -> Figure:
    """Section 7.7: stacked k x k convolutions; one unit of the last layer and the input region it sees.

    With two 3 x 3 layers the unit sees 3 x 3 units of the first layer and 5 x 5 input pixels.
    """
    _check_int("receptive_field: kernel_size", kernel_size, 2, 4)
    _check_int("receptive_field: num_layers", num_layers, 1, 3)
    k, L = kernel_size, num_layers
    sizes = [3 + (L - layer) * (k - 1) for layer in range(L + 1)]  # input first; the last layer is 3 x 3
    cell = min(0.7, (14.4 - 1.6 * L - 0.8) / sum(sizes))  # at most 14.4 units, 7.2 inches, wide
    width = sum(sizes) * cell + 1.6 * L + 0.8
    height = sizes[0] * cell + 2.0
    fig, ax = canvas(width, height)
    x, top = 0.4, sizes[0] * cell + 1.2
    grids = []
    for layer, n in enumerate(sizes):
        r = 1 + (L - layer) * (k - 1)  # receptive field of the last layer's centre unit, in this layer
        start = (n - r) // 2
        title = "input" if layer == 0 else f"layer {layer}"
        offset = (sizes[0] - n) * cell / 2
        grids.append(grid(ax, (n, n), (x, top - offset), cell, shade=[(start + i, start + j) for i in range(r)
                          for j in range(r)], shade_color="orange", title=f"{title}: {n}×{n}", fontsize=FONT - 1))
        grids[-1] = (grids[-1], start, r)
        x += n * cell + 1.6
    for (g0, s0, r0), (g1, s1, r1) in zip(grids, grids[1:]):
        for corner_i in (0, r1):  # the top and the bottom edge of the region, joined to the previous region
            ax.plot([g1.corner(s1 + corner_i, s1)[0], g0.corner(s0 + corner_i * r0 // r1, s0 + r0)[0]],
                    [g1.corner(s1 + corner_i, s1)[1], g0.corner(s0 + corner_i * r0 // r1, s0 + r0)[1]],
                    color=LINE["vermillion"], lw=0.9, linestyle="--")
        _text(ax, ((g0.right + g1.x) / 2, grids[0][0].bottom - 0.12), f"{k}×{k} conv →", FONT - 1, "grey",
              va="top")
    r_in = 1 + L * (k - 1)
    _text(ax, (0.4, 0.3), f"one unit of layer {L} sees {r_in}×{r_in} input pixels", FONT, ha="left")
    return fig


def transposed_convolution(X: Any = None, K: Any = None, stride: int = 1) -> Figure:
    """Section 7.8: every input value scatters a scaled copy of the kernel into the output; the copies add up.

    The default is the book's example: ``X = [[1, 2], [3, 4]]``, ``K = [[1, 0], [1, 1]]``, stride 1.
    """
    X = _matrix(X if X is not None else [[1, 2], [3, 4]], "transposed_convolution: X")
    K = _matrix(K if K is not None else [[1, 0], [1, 1]], "transposed_convolution: K")
    _check_int("transposed_convolution: stride", stride, 1, 2)
    if len(X) * len(X[0]) > 4 or len(K) > 3 or len(K[0]) > 3:
        raise ValueError("transposed_convolution: at most 4 input values and a 3 x 3 kernel fit the page")
    kh, kw = len(K), len(K[0])
    oh, ow = (len(X) - 1) * stride + kh, (len(X[0]) - 1) * stride + kw
    Y: list[list[float]] = [[0] * ow for _ in range(oh)]
    stamps = []
    for i in range(len(X)):
        for j in range(len(X[0])):
            T: list[list[Any]] = [[None] * ow for _ in range(oh)]
            for a in range(kh):
                for b in range(kw):
                    T[i * stride + a][j * stride + b] = X[i][j] * K[a][b]
                    Y[i * stride + a][j * stride + b] += X[i][j] * K[a][b]
            stamps.append((i, j, T))
    cell = min(0.8, (14.4 - 0.9 * len(stamps) - 0.6) / ((len(stamps) + 1) * ow))  # at most 7.2 inches wide
    width = (len(stamps) + 1) * ow * cell + 0.9 * len(stamps) + 0.6
    top_rows = max(len(X), kh) * 0.8
    fig, ax = canvas(width, top_rows + oh * cell + 2.6)
    top = top_rows + oh * cell + 2.0
    fills = {(i, j): _STAMPS[n] for n, (i, j, _) in enumerate(stamps)}
    gx = grid(ax, X, (width / 2 - 2.6, top), 0.8, fills=fills, title="input")
    grid(ax, K, (gx.right + 1.2, top), 0.8, color="orange", title="kernel")
    x, row_top = 0.3, oh * cell + 0.9
    for n, (i, j, T) in enumerate(stamps):
        cells = {(r, c): _STAMPS[n] for r in range(oh) for c in range(ow) if T[r][c] is not None}
        g = grid(ax, T, (x, row_top), cell, color="white", fills=cells, title=f"{X[i][j]:g} × kernel",
                 fontsize=FONT - 1)
        _text(ax, (g.right + 0.45, g.middle[1]), "=" if n == len(stamps) - 1 else "+", FONT + 4)
        x = g.right + 0.9
    grid(ax, Y, (x, row_top), cell, color="green", title="output", fontsize=FONT - 1)
    _text(ax, (0.3, 0.35), f"stride {stride}: a {len(X)}×{len(X[0])} input and a {kh}×{kw} kernel give "
          f"{oh}×{ow}", FONT, ha="left")
    return fig


# ---------------------------------------------------------------------------------------------------------
# Chapter 8: modern convolutional networks

#: Fills by kind of layer in chapter 8's architecture diagrams, with LeNet's colours (conv orange, pooling grey).
KIND = {"data": "blue", "conv": "orange", "pool": "grey", "norm": "yellow", "act": "white", "concat": "purple",
        "output": "green"}


def _line_to(ax: Axes, xs: Sequence[float], ys: Sequence[float], color: str = "ink", head: bool = True, *,
             linestyle: str = "-", lw: float = 1.1) -> None:
    """A polyline through ``(xs[i], ys[i])`` whose last segment ends in an arrow head (when ``head``)."""
    if len(xs) > 2:
        ax.plot(xs[:-1], ys[:-1], color=_line(color), lw=lw, linestyle=linestyle, solid_capstyle="butt")
    arrow(ax, (xs[-2], ys[-2]), (xs[-1], ys[-1]), color=color, head=head, linestyle=linestyle).set_linewidth(lw)


def _check_channels(fn: str, name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{fn}: {name} must be a positive integer, got {value!r}")


def inception(in_channels: int = 192, channels: tuple[int, tuple[int, int], tuple[int, int], int] = (
        64, (96, 128), (16, 32), 32)) -> Figure:
    """Section 8.3: the Inception block, four parallel paths whose outputs are concatenated along the channels.

    From the input at the bottom: a 1×1 convolution; a 1×1 convolution (fewer channels) then a 3×3 one; a 1×1
    then a 5×5 convolution; a 3×3 max pooling then a 1×1 convolution. Padding keeps the height and width, so
    only the channel counts differ, and the block's output has their sum. ``channels`` gives each path's output
    channels in the order of the d2l ``Inception(c1, c2, c3, c4)``; the default is GoogLeNet's first block
    (inception 3a: 192 channels in, 64 + 128 + 32 + 32 = 256 out). Each arrow is labelled with the number of
    channels that flows along it.
    """
    fn = "inception"
    _check_channels(fn, "in_channels", in_channels)
    if not (isinstance(channels, (tuple, list)) and len(channels) == 4 and all(
            isinstance(c, (tuple, list)) and len(c) == 2 for c in channels[1:3])):
        raise ValueError(f"{fn}: channels must be (c1, (c2a, c2b), (c3a, c3b), c4) as in d2l's Inception, "
                         f"got {channels!r}")
    c1, (c2a, c2b), (c3a, c3b), c4 = channels
    for name, c in (("c1", c1), ("c2a", c2a), ("c2b", c2b), ("c3a", c3a), ("c3b", c3b), ("c4", c4)):
        _check_channels(fn, f"channels' {name}", c)
    total = c1 + c2b + c3b + c4
    fig, ax = canvas(14.4, 8.4)
    xs, w, h = (1.95, 5.45, 8.95, 12.45), 3.1, 0.95
    y_in, y_bus, y1, y2, y_cat, y_out = 0.55, 1.5, 2.65, 4.45, 6.15, 7.75
    paths = [[("1×1 conv", "conv", c1)],
             [("1×1 conv", "conv", c2a), ("3×3 conv\npadding 1", "conv", c2b)],
             [("1×1 conv", "conv", c3a), ("5×5 conv\npadding 2", "conv", c3b)],
             [("3×3 max pool\npadding 1", "pool", in_channels), ("1×1 conv", "conv", c4)]]
    box(ax, (7.2, y_in), 6.0, 0.7, f"input: {in_channels} channels, h × w", KIND["data"])
    ax.plot([7.2, 7.2], [y_in + 0.35, y_bus], [xs[0], xs[-1]], [y_bus, y_bus], color=LINE["ink"], lw=1.1)
    _text(ax, (7.3, (y_in + 0.35 + y_bus) / 2), f"{in_channels}", FONT - 1, ha="left")
    for x, path in zip(xs, paths):
        arrow(ax, (x, y_bus), (x, y1 - h / 2))
        for level, (label, kind, _) in enumerate(path):
            box(ax, (x, (y1, y2)[level]), w, h, label, KIND[kind])
        if len(path) == 2:
            arrow(ax, (x, y1 + h / 2), (x, y2 - h / 2))
            _text(ax, (x + 0.1, (y1 + y2) / 2), f"{path[0][2]}", FONT - 1, ha="left")
        top = (y1, y2)[len(path) - 1] + h / 2
        arrow(ax, (x, top), (x, y_cat - 0.35))
        _text(ax, (x + 0.1, (y2 + h / 2 + y_cat - 0.35) / 2), f"{path[-1][2]}", FONT - 1, ha="left")
    box(ax, (7.2, y_cat), 13.6, 0.7, "concatenate (channels)", KIND["concat"])
    arrow(ax, (7.2, y_cat + 0.35), (7.2, y_out - 0.35))
    _text(ax, (7.3, (y_cat + y_out) / 2), f"{c1} + {c2b} + {c3b} + {c4} = {total}", FONT - 1, ha="left")
    box(ax, (7.2, y_out), 6.0, 0.7, f"output: {total} channels, h × w", KIND["output"])
    return fig


def residual_blocks(shortcut: str = "identity") -> Figure:
    """Section 8.5: two residual blocks side by side, (a) post-activation and (b) pre-activation.

    (a) is the order of the 2015 ResNet: 3×3 conv, batch norm, ReLU, 3×3 conv, batch norm, then the shortcut is
    added and a ReLU follows the addition. (b) is the 2016 pre-activation order: batch norm, ReLU, 3×3 conv,
    batch norm, ReLU, 3×3 conv, then the addition with nothing after it, so the shortcut path stays an identity
    from block to block. The stack computes F(x); the shortcut bypasses it. ``shortcut="1x1"`` draws a 1×1
    convolution (stride 2) on the shortcut, used when the block halves the height and width and changes the
    number of channels (its first 3×3 convolution then has stride 2); the default ``"identity"`` is a plain line.
    """
    if shortcut not in ("identity", "1x1"):
        raise ValueError(f"residual_blocks: shortcut must be 'identity' or '1x1', got {shortcut!r}")
    conv1 = "3×3 conv, stride 2" if shortcut == "1x1" else "3×3 conv"
    conv, bn, relu = ("3×3 conv", "conv"), ("batch norm", "norm"), ("ReLU", "act")
    orders = {"(a) post-activation": [(conv1, "conv"), bn, relu, conv, bn, None, relu],
              "(b) pre-activation": [bn, relu, (conv1, "conv"), bn, relu, conv, None]}
    w, h, pitch, y0 = 3.0, 0.56, 1.1, 0.55
    fig, ax = canvas(14.4, 10.5)
    for cx, (title, layers) in zip((3.0, 10.2), orders.items()):
        box(ax, (cx, y0), w, h, "input x", KIND["data"])
        ys = [y0 + pitch * (k + 1) for k in range(len(layers) + 1)]
        bottom = y0 + h / 2
        for layer, y in zip(layers + [("output", "output")], ys):
            if layer is None:  # the addition
                circle(ax, (cx, y), 0.3, "+", "white", fontsize=FONT + 2)
                arrow(ax, (cx, bottom), (cx, y - 0.3))
                _text(ax, (cx - 0.12, (bottom + y - 0.3) / 2), "F(x)", FONT - 1, ha="right")
                bottom, y_add = y + 0.3, y
            else:
                box(ax, (cx, y), w, h, layer[0], KIND[layer[1]])
                arrow(ax, (cx, bottom), (cx, y - h / 2))
                bottom = y + h / 2
        xs = cx + 2.55  # the shortcut: branch off above the input, run up on the right, enter the addition
        y_branch = y0 + h / 2 + 0.2
        ax.plot([cx], [y_branch], "o", color=LINE["ink"], ms=3.5)
        if shortcut == "1x1":
            y_box = (y_branch + y_add) / 2
            ax.plot([cx, xs, xs], [y_branch, y_branch, y_box - 0.45], color=LINE["ink"], lw=1.1)
            box(ax, (xs, y_box), 1.7, 0.9, "1×1 conv\nstride 2", KIND["conv"])
            _line_to(ax, [xs, xs, cx + 0.3], [y_box + 0.45, y_add, y_add])
        else:
            _line_to(ax, [cx, xs, xs, cx + 0.3], [y_branch, y_branch, y_add, y_add])
            _text(ax, (xs + 0.12, (y_branch + y_add) / 2), "x", FONT - 1, ha="left")
        _text(ax, (cx + 0.8, 10.15), title, FONT + 1)
    return fig


def _stack(ax: Axes, x: float, y: float, n: int, w: float, h: float, color: str, step: float = 0.12) -> tuple[
        float, float]:
    """Draw ``n`` feature maps (rectangles ``w`` x ``h``) stacked back to front, the front one's bottom-left at
    ``(x, y)``; each map behind is ``step`` up and to the right. Returns the stack's right and top edges."""
    for i in reversed(range(n)):
        ax.add_patch(mpatches.Rectangle((x + i * step, y + i * step), w, h, fc=_fill(color), ec=LINE["ink"], lw=0.8))
    return x + w + (n - 1) * step, y + h + (n - 1) * step


_MAPS = (("blue", "blue"), ("yellow", "orange"), ("green", "green"), ("purple", "purple"), ("grey", "grey"))


def dense_block(num_layers: int = 3) -> Figure:
    """Section 8.6: a DenseNet dense block of ``num_layers`` (1 to 4) layers, then a transition layer.

    The input x0 has c0 channels; layer H_l (batch norm, ReLU, 3×3 conv) reads the concatenation of x0 and every
    earlier layer's output and adds k new channels (the growth rate), so the layers read c0, c0 + k, c0 + 2k, ...
    channels. Each feature map has its own colour and an arrow to every later layer (straight to the next one,
    arcs over the row to the others); the transition layer (1×1 conv to half the channels, then 2×2 average
    pooling with stride 2) reads all of them.
    """
    _check_int("dense_block: num_layers", num_layers, 1, 4)
    L = num_layers
    y, mh, step, sw = 2.3, 1.3, 0.12, 0.4  # the maps' bottom, height, offset per map, width
    hw, tw = 0.8, 2.0  # widths of a layer box and of the transition
    natural = (sw + 3 * step) + L * (hw + sw + step) + tw + 1.7  # the last: room for the output's label
    gap = min(0.9, (13.6 - natural) / (2 * L + 2))
    arc_top = y + mh + 0.5 + 0.35 / 2 * (natural + (2 * L + 1) * gap)  # the highest arc: from x0 to the transition
    fig, ax = canvas(14.4, arc_top + 0.3)
    x, mid = 0.4 + (13.6 - natural - (2 * L + 2) * gap) / 2, y + mh / 2
    maps, layers = [], []  # (left, right, top, colour) per feature map; centre x per layer
    for i in range(L + 1):
        if i:
            layers.append(x + hw / 2)
            box(ax, (x + hw / 2, mid), hw, 1.0, f"$H_{i}$", KIND["conv"])
            arrow(ax, (x + hw, mid), (x + hw + gap, mid))
            x += hw + gap
        right, top = _stack(ax, x, y, 4 if i == 0 else 2, sw, mh, _MAPS[i][0], step)
        maps.append((x, right, top, _MAPS[i][1]))
        arrow(ax, (right, mid), (right + gap, mid))
        x = right + gap
    tx = x + tw / 2
    box(ax, (tx, mid + 0.35), tw, 0.7, "1×1 conv", KIND["conv"], fontsize=FONT - 1)
    box(ax, (tx, mid - 0.35), tw, 0.7, "2×2 avg pool", KIND["pool"], fontsize=FONT - 1)
    arrow(ax, (tx + tw / 2, mid), (tx + tw / 2 + gap + 0.6, mid))
    ox = tx + tw / 2 + gap + 0.6
    o_right, _ = _stack(ax, ox, y + mh / 4, 3, sw * 0.8, mh / 2, KIND["output"], 0.1)
    for j, cx in enumerate(layers + [tx], start=1):  # map i feeds target j (layer j or the transition)
        span, sources = (hw if j <= L else tw), range(j - 1)
        for n, i in enumerate(sources):
            left, right, top, color = maps[i]
            end = (cx - span / 2 + span * (n + 1) / (len(sources) + 1), mid + (0.5 if j <= L else 0.7))
            arrow(ax, ((left + right) / 2, top), end, color=color, rad=-0.35)
    below = y - 0.2
    counts = ["$c_0$"] + [f"$c_0 + {'' if j == 1 else j}k$" for j in range(1, L + 1)]
    for cx, count in zip(layers, counts):
        _text(ax, (cx, below), f"reads\n{count}", FONT - 1, va="top")
    _text(ax, (tx, below), f"reads {counts[L]}\ntransition", FONT - 1, va="top")
    for i, (left, right, _, _) in enumerate(maps):
        _text(ax, ((left + right) / 2, below), f"$x_{i}$\n{'$c_0$' if i == 0 else '$k$'}", FONT - 1, "grey",
              va="top")
    _text(ax, ((ox + o_right) / 2, below), f"$(c_0 + {'' if L == 1 else L}k)/2$\nh/2 × w/2", FONT - 1, va="top")
    _text(ax, (0.4, 0.25), "$H_\\ell$: batch norm, ReLU, 3×3 conv with $k$ output channels (the growth rate)\n"
          "the arrows into a layer are concatenated along the channels", FONT - 1, ha="left", va="bottom")
    return fig


_CHANNELS = ("blue", "yellow", "purple", "grey")  # one fill per input channel


def _grid_stack(ax: Axes, x: float, top: float, n: int, size: int, cell: float, fills: Sequence[str],
                step: tuple[float, float]) -> tuple[float, float, float]:
    """Draw ``n`` empty ``size`` x ``size`` grids, the front one's top-left corner at ``(x, top)``, each one behind
    ``step`` up and to the right, filled with ``fills[i]``. Returns the stack's right edge, top and bottom.

    Each grid is one rectangle and one line through its inner edges (a small SVG), layered front over back."""
    side = size * cell
    for i in reversed(range(n)):
        x0, y0, z = x + i * step[0], top + i * step[1] - side, 1.0 + 0.01 * (n - i)
        ax.add_patch(mpatches.Rectangle((x0, y0), side, side, fc=_fill(fills[i]), ec=LINE["ink"], lw=0.8, zorder=z))
        xs: list[float | None] = []
        ys: list[float | None] = []
        for t in range(1, size):
            xs += [x0 + t * cell, x0 + t * cell, None, x0, x0 + side, None]
            ys += [y0, y0 + side, None, y0 + t * cell, y0 + t * cell, None]
        if xs:
            ax.plot(xs, ys, color=LINE["ink"], lw=0.8, zorder=z + 0.005)
    return x + side + (n - 1) * step[0], top + (n - 1) * step[1], top - side


def depthwise_separable(in_channels: int = 3) -> Figure:
    """Section 8.7: a standard convolution next to a depthwise separable one, with their multiply-add counts.

    (a) A standard k×k convolution: one output channel needs a filter of k×k×c_in weights that mixes space and
    channels at once; c_out such filters cost h·w·c_in·c_out·k² multiply-adds. (b) The separable version: a
    depthwise k×k convolution with one filter per input channel (channel i gives map i, nothing is mixed), then
    a pointwise 1×1 convolution that mixes the c_in maps into each output channel: h·w·c_in·k² + h·w·c_in·c_out,
    (1/c_out + 1/k²) times the standard cost. ``in_channels`` (2 to 4) is how many channels are drawn.
    """
    _check_int("depthwise_separable: in_channels", in_channels, 2, 4)
    n, size, cell, k = in_channels, 5, 0.32, 3
    cin, cout = "$c_\\mathrm{in}$", "$c_\\mathrm{out}$"
    step, spread = (0.24, 0.24), (0.46, 0.5)  # the depthwise filters are drawn apart: each belongs to one channel
    fills, orange, green = _CHANNELS[:n], [KIND["conv"]] * n, [KIND["output"]]
    # per item: number of grids, their size, fills, offset per grid, where the front grid sits, the caption
    inputs = (n, size, fills, step, "top", f"input: {cin} = {n}\nchannels, h × w")
    output = (1, size, green, step, "top", f"one output\nchannel (of {cout})")
    rows = [("(a) standard convolution: every filter mixes space and channels",
             "multiply-adds: $h \\cdot w \\cdot c_\\mathrm{in} \\cdot c_\\mathrm{out} \\cdot k^2$",
             [inputs, (n, k, orange, step, "mid", f"one filter\n{k}×{k}×{n}"), output]),
            ("(b) depthwise separable: first space, per channel; then channels, per pixel",
             "multiply-adds: $h \\cdot w \\cdot c_\\mathrm{in} \\cdot k^2 + h \\cdot w \\cdot c_\\mathrm{in} \\cdot "
             "c_\\mathrm{out}$ = $(1/c_\\mathrm{out} + 1/k^2)$ × standard",
             [inputs, (n, k, fills, spread, "bottom", f"{n} filters, {k}×{k}\none per channel"),
              (n, size, fills, step, "top", f"{n} maps\n(depthwise)"), (n, 1, orange, step, "mid", f"1×1×{n}\nfilter"),
              output])]
    fig, ax = canvas(14.4, 10.6)
    for top, (title, cost, items) in zip((8.85, 3.75), rows):
        bottom, x = top - size * cell, 0.5
        _text(ax, (x, top + 1.25), title, FONT + 1, ha="left")
        for i, (count, side, colors, offset, align, caption) in enumerate(items):
            front = {"top": top, "mid": top - (size - side) * cell / 2, "bottom": bottom + side * cell}[align]
            right, _, _ = _grid_stack(ax, x, front, count, side, cell, colors, offset)
            _text(ax, ((x + right) / 2, bottom - 0.2), caption, FONT - 1, va="top")
            if i < len(items) - 1:  # convolve, then the result; the pointwise step convolves the maps again
                operator = "=" if i % 2 else "$\\star$"
                _text(ax, (right + 0.45, top - size * cell / 2), operator, FONT + (6 if i % 2 else 14))
            x = right + 0.9
        _text(ax, (0.5, bottom - 1.35), cost, FONT, ha="left")
    return fig


def _scale(i: int) -> str:
    return "H × W" if i == 0 else f"H/{2 ** i} × W/{2 ** i}"


def unet(depth: int = 3, base_channels: int = 64) -> Figure:
    """Section 8.8: the U-Net, an encoder going down, a bottleneck, a decoder going up, skip connections across.

    Each box is two 3×3 convolutions (with padding, as most implementations; the 2015 paper cropped instead)
    and names the channels and resolution, relative to the H × W input, of its output. The encoder halves the
    resolution ``depth`` (1 to 4; the paper: 4) times by 2×2 max pooling and doubles the channels, starting from
    ``base_channels``; the decoder doubles the resolution by 2×2 up-convolutions (transposed convolutions that
    halve the channels), concatenates the encoder's maps of the same resolution ("copy and concatenate"), and
    a final 1×1 convolution gives one score per class and pixel.
    """
    _check_int("unet: depth", depth, 1, 4)
    _check_int("unet: base_channels", base_channels, 1, 1024)
    D, w, h, pitch = depth, 2.8, 0.9, 1.6
    dx = min(1.2, 2.0 / (D - 1)) if D > 1 else 0.0  # the U narrows by dx per level
    ys = [0.7 + (D - i) * pitch for i in range(D + 1)]
    y_top = ys[0] + pitch
    fig, ax = canvas(14.4, y_top + 0.6)

    def block(xy: tuple[float, float], width: float, i: int) -> None:
        box(ax, xy, width, h, f"3×3 conv ×2\n{base_channels * 2 ** i} × {_scale(i)}", KIND["conv"])

    def down(x: float, y0: float, y1: float, label: str, color: str, side: int) -> None:  # side 1: label right
        arrow(ax, (x, y0), (x, y1), color=color)
        _text(ax, (x + 0.12 * side, (y0 + y1) / 2), label, FONT - 1, color, ha="left" if side > 0 else "right")

    x_enc = [2.0 + i * dx for i in range(D)]
    x_dec = [12.4 - i * dx for i in range(D)]
    box(ax, (x_enc[0], y_top), 3.2, 0.7, f"input image, {_scale(0)}", KIND["data"])
    down(x_enc[0], y_top - 0.35, ys[0] + h / 2, "", "ink", 1)
    box(ax, (x_dec[0], y_top), 3.2, 0.7, f"class scores, {_scale(0)}", KIND["output"])
    down(x_dec[0], ys[0] + h / 2, y_top - 0.35, "1×1 conv", "blue", -1)
    for i in range(D):
        block((x_enc[i], ys[i]), w, i)
        block((x_dec[i], ys[i]), w, i)
        down(x_enc[i], ys[i] - h / 2, ys[i + 1] + h / 2, "2×2 max pool", "vermillion", 1)
        arrow(ax, (x_enc[i] + w / 2, ys[i]), (x_dec[i] - w / 2, ys[i]), "copy and concatenate", color="grey",
              gap=0.08)
        x_up = x_dec[i + 1] if i + 1 < D else x_dec[i]
        down(x_up, ys[i + 1] + h / 2, ys[i] - h / 2, "2×2 up-conv", "green", -1)
    block((7.2, ys[D]), x_dec[D - 1] - x_enc[D - 1] + 1.2, D)
    return fig


# ---------------------------------------------------------------------------------------------------------
# Chapters 9 and 10: recurrent networks

#: The three parameter matrices of chapter 9's RNN, written upright like the states' Unicode subscripts.
_W = {"xh": "W$_\\mathrm{xh}$", "hh": "W$_\\mathrm{hh}$", "hq": "W$_\\mathrm{hq}$"}
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _sub(name: str, t: int) -> str:
    """``name`` with the integer ``t`` as a Unicode subscript: ``_sub("h", 12) == "h₁₂"``."""
    return f"{name}{str(t).translate(_SUB)}"


def _dot(ax: Axes, x: float, y: float, color: str = "ink") -> None:
    """A junction: where a line branches."""
    ax.plot([x], [y], "o", color=_line(color), ms=3.5)


def _op(ax: Axes, xy: tuple[float, float], label: str, r: float = 0.28) -> mpatches.Circle:
    """An elementwise operation (⊙, +, 1−) as a small white circle."""
    return circle(ax, xy, r, label, "white", fontsize=FONT + (1 if len(label) == 1 else -1))


def unrolled_rnn(steps: int = 3) -> Figure:
    """Section 9.4: a recurrent network folded (left) and unrolled over ``steps`` (1 to 4) time steps (right).

    Folded, the hidden state h feeds back into itself through W_hh (the self-loop). Unrolled, the inputs
    x₁, ..., x_T are at the bottom, the hidden states h₁, ..., h_T in the middle, joined left to right by the
    recurrence (each arrow labelled W_hh), with h₀ entering on the left, and the outputs o₁, ..., o_T on top.
    W_xh and W_hq are written once: every time step uses the same parameters.
    """
    _check_int("unrolled_rnn: steps", steps, 1, 4)
    w, h = 0.9, 0.7
    y_x, y_h, y_o, x0 = 1.5, 3.5, 5.5, 5.7  # rows; the column of h₀
    pitch = min(2.2, (13.65 - x0) / steps)
    fig, ax = canvas(x0 + steps * pitch + 0.75, 6.9)
    fx = 1.2  # the folded network
    box(ax, (fx, y_x), w, h, "xₜ", "blue")
    box(ax, (fx, y_h), w, h, "hₜ", "yellow")
    box(ax, (fx, y_o), w, h, "oₜ", "green")
    arrow(ax, (fx, y_x + h / 2), (fx, y_h - h / 2), _W["xh"], side=-1, gap=0.1)
    arrow(ax, (fx, y_h + h / 2), (fx, y_o - h / 2), _W["hq"], side=-1, gap=0.1)
    arrow(ax, (fx + w / 2, y_h + 0.2), (fx + w / 2, y_h - 0.2), _W["hh"], rad=-2.6, gap=0.1)  # the self-loop
    _text(ax, (fx + 0.9, 6.5), "recurrent network", FONT)
    arrow(ax, (3.55, y_h + 1.0), (4.75, y_h + 1.0), "unfold", gap=0.08)
    box(ax, (x0, y_h), w, h, "h₀", "grey")
    for t in range(1, steps + 1):
        c = x0 + t * pitch
        box(ax, (c, y_x), w, h, _sub("x", t), "blue")
        box(ax, (c, y_h), w, h, _sub("h", t), "yellow")
        box(ax, (c, y_o), w, h, _sub("o", t), "green")
        arrow(ax, (c, y_x + h / 2), (c, y_h - h / 2), _W["xh"] if t == 1 else None, side=-1, gap=0.1)
        arrow(ax, (c, y_h + h / 2), (c, y_o - h / 2), _W["hq"] if t == 1 else None, side=-1, gap=0.1)
        arrow(ax, (c - pitch + w / 2, y_h), (c - w / 2, y_h), _W["hh"], gap=0.08)  # the recurrence
    _text(ax, ((x0 + c) / 2, 6.5), f"unrolled over {steps} time step{'s' if steps > 1 else ''}", FONT)
    _text(ax, (0.3, 0.45), f"every time step uses the same parameters {_W['xh']}, {_W['hh']}, {_W['hq']}",
          FONT - 1, "grey", ha="left")
    return fig


def bptt_paths(steps: int = 3) -> Figure:
    """Section 9.7: backpropagation through time in an RNN unrolled over ``steps`` (1 to 4) time steps.

    Forward (ink): x_t and h_{t-1} give h_t (through W_hh), h_t gives the output o_t, o_t the loss term L_t,
    and the L_t combine into the loss L (their mean). Backward (vermillion, dashed): the gradient flows from L
    into every L_t, down to o_t and h_t, and from h_t back to h_{t-1}, multiplied on the way by the Jacobian
    ∂h_t/∂h_{t-1} written on each arrow, so the path from L_T to h₁ goes through their product. Every h_t also
    sends its own term down to W_hh, where the terms of all the steps are added: that is ∂L/∂W_hh.
    """
    _check_int("bptt_paths: steps", steps, 1, 4)
    T, w, h = steps, 1.0, 0.7
    y_bus, y_x, y_h, y_o, y_l, y_L = 1.5, 2.55, 4.2, 5.8, 7.3, 8.8
    c0 = 4.2
    pitch = min(4.0, (13.4 - c0) / max(T - 1, 1))
    cs = [c0 + t * pitch for t in range(T)]
    fig, ax = canvas(14.4, 10.1)
    grad = {"color": "vermillion", "linestyle": "--"}
    wx = 1.3
    box(ax, (wx, y_bus), 1.1, 0.7, _W["hh"], "orange")
    h0 = box(ax, (wx, y_h), w, h, "h₀", "grey")
    x_loss = (cs[0] + cs[-1]) / 2
    loss = box(ax, (x_loss, y_L), w, h, "L", "green")
    prev, prev_x = h0, wx
    for t, c in enumerate(cs, start=1):
        box(ax, (c - 0.3, y_x), 0.8, h, _sub("x", t), "blue")
        ht = box(ax, (c, y_h), w, h, _sub("h", t), "yellow")
        ot = box(ax, (c, y_o), w, h, _sub("o", t), "green")
        lt = box(ax, (c, y_l), w, h, _sub("L", t), "green")
        arrow(ax, (c - 0.3, y_x + h / 2), (c - 0.3, y_h - h / 2))
        arrow(ax, (prev_x, y_h), (c, y_h), _W["hh"], patchA=prev, patchB=ht, side=-1, gap=0.08)
        for (a, pa), (b, pb) in (((y_h, ht), (y_o, ot)), ((y_o, ot), (y_l, lt))):
            arrow(ax, (c, a), (c, b), patchA=pa, patchB=pb)
            arrow(ax, (c, b), (c, a), patchA=pb, patchB=pa, rad=0.4, **grad)
        arrow(ax, (c, y_l), (x_loss, y_L), patchA=lt, patchB=loss)
        arrow(ax, (x_loss, y_L), (c, y_l), patchA=loss, patchB=lt, rad=0.25, **grad)
        if t > 1:
            arrow(ax, (c, y_h), (prev_x, y_h), f"∂{_sub('h', t)}/∂{_sub('h', t - 1)}", patchA=ht, patchB=prev,
                  rad=0.35, side=-1, gap=0.06, **grad)
        prev, prev_x = ht, c
    # each step's own term of ∂L/∂W_hh drops to the bus, where the terms are added on the way to W_hh
    ends = [wx + 0.55] + [c + 0.3 + 0.22 for c in cs[:-1]]  # where the bus enters W_hh, then each "+"
    for t, c in enumerate(cs, start=1):
        if t < T:
            _op(ax, (c + 0.3, y_bus), "+", 0.22)
            _line_to(ax, [c + 0.3, c + 0.3], [y_h - h / 2, y_bus + 0.22], **grad)
            arrow(ax, (c + 0.08, y_bus), (ends[t - 1], y_bus), **grad)
        else:
            _line_to(ax, [c + 0.3, c + 0.3, ends[t - 1]], [y_h - h / 2, y_bus, y_bus], **grad)
    _text(ax, (0.3, 9.75), "forward: states, outputs, losses", FONT, ha="left")
    _text(ax, (14.1, 9.75), "backward: gradients", FONT, "vermillion", ha="right")
    _text(ax, (wx + 0.75, 0.85), f"∂L/∂{_W['hh']} adds one term from every time step", FONT - 1, "vermillion",
          ha="left")
    if T > 1:
        chain = " · ".join(f"∂{_sub('h', t)}/∂{_sub('h', t - 1)}" for t in range(T, 1, -1))
        _text(ax, (wx + 0.75, 0.35), f"{_sub('L', T)} reaches h₁ only through the product {chain}", FONT - 1,
              "vermillion", ha="left")
    return fig


def _chain(ax: Axes, x0: float, y0: float, inputs: Sequence[str | None], outputs: Sequence[str | None],
           pitch: float = 1.05) -> list[float]:
    """An unrolled RNN in small boxes: one column per time step, the first column at ``x0``, inputs at ``y0``.

    ``inputs[t]`` / ``outputs[t]`` label the input / output box of step ``t`` (``None``: the step has none).
    Returns the columns' x coordinates.
    """
    w, h, rise = 0.66, 0.55, 1.05
    xs = [x0 + t * pitch for t in range(len(inputs))]
    for t, (x, i, o) in enumerate(zip(xs, inputs, outputs)):
        box(ax, (x, y0 + rise), w, h, "", "yellow")
        if t:
            arrow(ax, (x - pitch + w / 2, y0 + rise), (x - w / 2, y0 + rise))
        if i is not None:
            box(ax, (x, y0), w, h, i, "blue", fontsize=FONT - 1)
            arrow(ax, (x, y0 + h / 2), (x, y0 + rise - h / 2))
        if o is not None:
            box(ax, (x, y0 + 2 * rise), w, h, o, "green", fontsize=FONT - 1)
            arrow(ax, (x, y0 + rise + h / 2), (x, y0 + 2 * rise - h / 2))
    return xs


def rnn_topologies() -> Figure:
    """Section 9.8: the four ways an RNN maps an input sequence to an output sequence, one panel each.

    One to many (1 → N: one input, an output at every step, e.g. image captioning, text generation); many to
    one (N → 1: an output after the last step only, e.g. sentiment classification); many to many, aligned
    (N → N: one output per input, e.g. tagging, a language model); many to many, unaligned (N → M: an encoder
    reads all N inputs, then a decoder emits M outputs, e.g. machine translation). Inputs are blue, hidden
    states yellow, outputs green; the hidden states are joined left to right by the recurrence.
    """
    xs4, os4 = [_sub("x", t) for t in range(1, 5)], [_sub("o", t) for t in range(1, 5)]
    panels = [("one to many (1 → N)", "e.g. image captioning, text generation",
               ["x", None, None, None], os4),
              ("many to one (N → 1)", "e.g. sentiment classification",
               xs4, [None, None, None, "o"]),
              ("many to many, aligned (N → N)", "e.g. tagging, language model",
               xs4, os4),
              ("many to many, unaligned (N → M)", "e.g. machine translation (encoder–decoder)",
               xs4 + [None] * 3, [None] * 4 + [_sub("o", t) for t in range(1, 4)])]
    fig, ax = canvas(14.4, 10.0)
    for k, (title, example, inputs, outputs) in enumerate(panels):
        left, bottom = 0.3 + 7.2 * (k % 2), 1.45 + 4.7 * (1 - k // 2)
        pitch = min(1.05, 5.8 / (len(inputs) - 1))
        span = (len(inputs) - 1) * pitch
        x0 = left + (6.6 - span) / 2
        xs = _chain(ax, x0, bottom, inputs, outputs, pitch)
        _text(ax, (left + 3.3, bottom + 3.5), title, FONT + 1)
        _text(ax, (left + 3.3, bottom + 2.98), example, FONT - 1, "grey")
        if k == 3:  # the encoder's steps have no outputs, the decoder's no inputs: room for their names
            _text(ax, ((xs[0] + xs[3]) / 2, bottom + 2.1), "encoder", FONT - 1, "grey")
            _text(ax, ((xs[4] + xs[6]) / 2, bottom), "decoder", FONT - 1, "grey")
    x = 0.3
    for color, label in (("blue", "input"), ("yellow", "hidden state"), ("green", "output")):
        box(ax, (x + 0.25, 0.35), 0.5, 0.4, "", color)
        _text(ax, (x + 0.65, 0.35), label, FONT - 1, ha="left")
        x += 1.0 + 0.15 * len(label)
    return fig


def elman_jordan() -> Figure:
    """Section 9.8: (a) an Elman network feeds the hidden state back, (b) a Jordan network feeds the output back.

    In both, the fed-back value is copied into context (or state) units and read by the hidden layer at the
    next time step, next to the new input: h_t = φ(W x_t + U h_{t-1} + b) in Elman's network,
    h_t = φ(W x_t + U y_{t-1} + b) in Jordan's. The dashed arrow is the copy, delayed by one time step.
    """
    fig, ax = canvas(14.4, 7.5)
    w, h = 2.0, 0.75
    y_x, y_h, y_y = 1.6, 3.5, 5.4
    panels = [("(a) Elman network", "the hidden state is fed back", "context units\nhₜ₋₁", y_h,
               "hₜ = φ(W xₜ + U hₜ₋₁ + b)"),
              ("(b) Jordan network", "the output is fed back", "state units\nyₜ₋₁", y_y,
               "hₜ = φ(W xₜ + U yₜ₋₁ + b)")]
    for k, (title, subtitle, context, y_from, formula) in enumerate(panels):
        px = 2.3 + 7.2 * k
        cx = px + 3.1
        box(ax, (px, y_x), w, h, "input xₜ", "blue")
        box(ax, (px, y_h), w, h, "hidden hₜ", "yellow")
        box(ax, (px, y_y), w, h, "output yₜ", "green")
        box(ax, (cx, y_x), 2.2, 0.95, context, "grey")
        arrow(ax, (px, y_x + h / 2), (px, y_h - h / 2), "W", side=-1, gap=0.1)
        arrow(ax, (px, y_h + h / 2), (px, y_y - h / 2), "V", side=-1, gap=0.1)
        arrow(ax, (cx - 0.8, y_x + 0.475), (px + 0.55, y_h - h / 2), "U", side=-1, gap=0.1)
        _line_to(ax, [px + w / 2, cx, cx], [y_from, y_from, y_x + 0.475], linestyle="--")
        _text(ax, (cx + 0.12, (y_from + y_x + 0.475) / 2 + (0.3 if k else 0)), "copy,\nused at\nt + 1",
              FONT - 1, "grey", ha="left")
        _text(ax, (px + 1.7, 7.05), title, FONT + 1)
        _text(ax, (px + 1.7, 6.5), subtitle, FONT - 1, "grey")
        _text(ax, (px + 1.7, 0.45), formula, FONT)
    return fig


def _hop(ax: Axes, x: float, y: float, vertical: bool = True) -> None:
    """A white gap in a line at ``(x, y)`` where another line crosses over it (drawn after this one)."""
    xs, ys = ([x, x], [y - 0.14, y + 0.14]) if vertical else ([x - 0.14, x + 0.14], [y, y])
    ax.plot(xs, ys, color="white", lw=4, solid_capstyle="butt")


def gru_cell() -> Figure:
    """Section 10.1: a gated recurrent unit (GRU), from the inputs x_t and h_{t-1} to the new state h_t.

    The reset gate R_t and the update gate Z_t are sigmoid layers of [h_{t-1}, x_t] (values in (0, 1)); the
    candidate state H̃_t is a tanh layer of x_t and R_t ⊙ h_{t-1}, so the reset gate decides how much of the
    old state the candidate sees. The update gate mixes: h_t = Z_t ⊙ h_{t-1} + (1 − Z_t) ⊙ H̃_t, with the
    elementwise operations (⊙, +, 1−) as circles. Where Z_t is near 1 the old state passes along the top line
    unchanged.
    """
    fig, ax = canvas(14.4, 8.0)
    y_top, y_g, y_bus, w, h = 7.2, 3.0, 1.5, 2.1, 1.0
    xr, xz, xc = 3.4, 6.0, 9.0
    x_a, x_plus, x_one = 10.6, 12.6, 11.6  # the ⊙ with Z_t on the top line, the +, the 1−
    y_r, y_z, y_c = 4.9, 5.9, 4.3  # the heights at which R_t ⊙ h_{t-1}, Z_t and H̃_t run to the right
    box(ax, (xr, y_g), w, h, "reset gate\nσ", "orange")
    box(ax, (xz, y_g), w, h, "update gate\nσ", "orange")
    box(ax, (xc, y_g), w, h, "candidate\ntanh", "yellow")
    # inputs: h_{t-1} runs along the top and drops to the bus, where x_t joins it; the candidate reads x_t
    _text(ax, (0.3, y_top), "hₜ₋₁", FONT + 1, ha="left")
    _text(ax, (13.75, y_top), "hₜ", FONT + 1, ha="left")
    _line_to(ax, [1.6, 1.6, xz, xz], [y_top, y_bus, y_bus, y_g - h / 2])
    _dot(ax, 1.6, y_top)
    ax.plot([2.3, 2.3], [0.6, y_bus], color=LINE["ink"], lw=1.1)
    _dot(ax, 2.3, y_bus)
    _text(ax, (2.3, 0.35), "xₜ", FONT + 1)
    _text(ax, (2.45, y_bus - 0.12), "[hₜ₋₁, xₜ]", FONT - 1, "grey", ha="left", va="top")
    arrow(ax, (xr, y_bus), (xr, y_g - h / 2))
    _dot(ax, xr, y_bus)
    arrow(ax, (xc - 0.4, 0.6), (xc - 0.4, y_g - h / 2))
    _text(ax, (xc - 0.4, 0.35), "xₜ", FONT + 1)
    # the reset gate scales h_{t-1} before the candidate sees it
    _op(ax, (xr, y_r), "⊙")
    arrow(ax, (xr, y_g + h / 2), (xr, y_r - 0.28))
    _text(ax, (xr + 0.1, (y_g + h / 2 + y_r - 0.28) / 2), "Rₜ", FONT, ha="left")
    arrow(ax, (xr, y_top), (xr, y_r + 0.28))
    _dot(ax, xr, y_top)
    # the update gate: Z_t to the top line's ⊙, 1 − Z_t to the candidate's ⊙
    _line_to(ax, [xz, xz, x_a, x_a], [y_g + h / 2, y_z, y_z, y_top - 0.28])
    _dot(ax, x_a, y_z)
    _text(ax, (xz + 0.1, (y_g + h / 2 + y_r) / 2), "Zₜ", FONT, ha="left")
    _hop(ax, xz, y_r)
    _line_to(ax, [xr + 0.28, xc - 1.45, xc - 1.45, xc - w / 2], [y_r, y_r, y_g, y_g])
    _text(ax, ((xr + xz) / 2 + 0.1, y_r + 0.1), "Rₜ ⊙ hₜ₋₁", FONT - 1, va="bottom")
    _op(ax, (x_one, y_z), "1−")
    arrow(ax, (x_a, y_z), (x_one - 0.28, y_z))
    _op(ax, (x_plus, y_z), "⊙")
    arrow(ax, (x_one + 0.28, y_z), (x_plus - 0.28, y_z))
    _line_to(ax, [xc, xc, x_plus, x_plus], [y_g + h / 2, y_c, y_c, y_z - 0.28])
    _text(ax, (xc + 0.1, (y_g + h / 2 + y_c) / 2), "H̃ₜ", FONT, ha="left")
    # the top line: h_{t-1}, scaled by Z_t, plus (1 − Z_t) ⊙ H̃_t gives h_t
    _op(ax, (x_a, y_top), "⊙")
    _op(ax, (x_plus, y_top), "+")
    arrow(ax, (1.3, y_top), (x_a - 0.28, y_top))
    arrow(ax, (x_a + 0.28, y_top), (x_plus - 0.28, y_top))
    arrow(ax, (x_plus, y_z + 0.28), (x_plus, y_top - 0.28))
    arrow(ax, (x_plus + 0.28, y_top), (13.6, y_top))
    _text(ax, (14.1, 1.6), "hₜ = Zₜ ⊙ hₜ₋₁ + (1 − Zₜ) ⊙ H̃ₜ", FONT, ha="right")
    _text(ax, (14.1, 0.95), "σ: sigmoid, ⊙: elementwise product", FONT - 1, "grey", ha="right")
    return fig


def lstm_cell() -> Figure:
    """Section 10.2: a long short-term memory (LSTM) cell, with the cell state's path highlighted in green.

    The forget, input and output gates F_t, I_t, O_t (σ) and the candidate cell C̃_t (tanh) are computed
    from [h_{t-1}, x_t]. The cell state runs straight along the top: C_t = F_t ⊙ C_{t-1} + I_t ⊙ C̃_t, only an
    elementwise product and a sum on the way, which is why gradients survive many steps along it. The
    hidden state is h_t = O_t ⊙ tanh(C_t).
    """
    fig, ax = canvas(14.4, 8.6)
    y_top, y_g, y_bus, w, h = 7.3, 3.0, 1.5, 1.9, 1.0
    xf, xi, xc, xo = 2.9, 5.1, 7.3, 9.5
    x_ic, y_ic, x_out, y_out = 6.2, 5.0, 11.3, 4.3
    green = {"color": "green", "lw": 2.2}
    for x, label, color in ((xf, "forget gate\nσ", "orange"), (xi, "input gate\nσ", "orange"),
                            (xc, "candidate\ntanh", "yellow"), (xo, "output gate\nσ", "orange")):
        box(ax, (x, y_g), w, h, label, color)
        arrow(ax, (x, y_bus), (x, y_g - h / 2))
        if x != xo:
            _dot(ax, x, y_bus)
    # inputs: h_{t-1} along the bottom, joined by x_t; every gate reads both
    _text(ax, (0.3, y_bus), "hₜ₋₁", FONT + 1, ha="left")
    ax.plot([1.25, xo], [y_bus, y_bus], color=LINE["ink"], lw=1.1)
    ax.plot([1.7, 1.7], [0.6, y_bus], color=LINE["ink"], lw=1.1)
    _dot(ax, 1.7, y_bus)
    _text(ax, (1.7, 0.35), "xₜ", FONT + 1)
    # the cell state along the top
    _text(ax, (0.3, y_top), "Cₜ₋₁", FONT + 1, "green", ha="left")
    _text(ax, (13.7, y_top), "Cₜ", FONT + 1, "green", ha="left")
    _op(ax, (xf, y_top), "⊙")
    _op(ax, (x_ic, y_top), "+")
    _line_to(ax, [1.25, xf - 0.28], [y_top, y_top], **green)
    _line_to(ax, [xf + 0.28, x_ic - 0.28], [y_top, y_top], **green)
    _line_to(ax, [x_ic + 0.28, 13.55], [y_top, y_top], **green)
    _text(ax, ((xf + 13.55) / 2, y_top + 0.55), "the cell state: only ⊙ and + on its way, so gradients flow "
          "along it for many steps", FONT - 1, "green")
    # the gates' outputs
    arrow(ax, (xf, y_g + h / 2), (xf, y_top - 0.28))
    _text(ax, (xf + 0.1, 5.2), "Fₜ", FONT, ha="left")
    _op(ax, (x_ic, y_ic), "⊙")
    _line_to(ax, [xi, xi, x_ic - 0.28], [y_g + h / 2, y_ic, y_ic])
    _text(ax, (xi + 0.1, 4.2), "Iₜ", FONT, ha="left")
    _line_to(ax, [xc, xc, x_ic + 0.28], [y_g + h / 2, y_ic, y_ic])
    _text(ax, (xc + 0.1, 4.2), "C̃ₜ", FONT, ha="left")
    arrow(ax, (x_ic, y_ic + 0.28), (x_ic, y_top - 0.28))
    # the hidden state: the output gate scales tanh of the new cell state
    _dot(ax, x_out, y_top)
    box(ax, (x_out, 5.85), 1.0, 0.6, "tanh", "white")
    arrow(ax, (x_out, y_top), (x_out, 6.15))
    _op(ax, (x_out, y_out), "⊙")
    arrow(ax, (x_out, 5.55), (x_out, y_out + 0.28))
    _line_to(ax, [xo, xo, x_out - 0.28], [y_g + h / 2, y_out, y_out])
    _text(ax, (xo + 0.1, (y_g + h / 2 + y_out) / 2), "Oₜ", FONT, ha="left")
    arrow(ax, (x_out + 0.28, y_out), (13.55, y_out))
    _text(ax, (13.7, y_out), "hₜ", FONT + 1, ha="left")
    _text(ax, (14.1, 1.75), "Cₜ = Fₜ ⊙ Cₜ₋₁ + Iₜ ⊙ C̃ₜ", FONT, ha="right")
    _text(ax, (14.1, 1.1), "hₜ = Oₜ ⊙ tanh(Cₜ)", FONT, ha="right")
    return fig


def encoder_decoder() -> Figure:
    """Section 10.6: sequence to sequence learning with an RNN encoder and an RNN decoder.

    The encoder reads the source tokens "they are watching <eos>" into its hidden states h₁, ..., h₄; its
    final state is the context c, which initialises the decoder's state. The decoder reads <bos> and the
    target "ils regardent <eos>" shifted by one (the ground truth during training: teacher forcing) and
    predicts the next token at every step. The dashed arrows feed c into every decoder step as an extra
    input (the optional "peeky" variant).
    """
    source, target = ["they", "are", "watching", "<eos>"], ["ils", "regardent", "<eos>"]
    n, m = len(source), len(target)
    pitch, tw, th, hw, hh = 1.6, 1.4, 0.55, 1.1, 0.7  # column pitch, token and state boxes
    y_bus, y_in, y_h, y_out = 0.45, 1.4, 2.95, 4.5
    ex = [1.4 + i * pitch for i in range(n)]
    x_ctx = ex[-1] + 1.75
    dx = [x_ctx + 1.75 + j * (pitch + 0.1) for j in range(m)]
    fig, ax = canvas(14.4, 6.9)
    for i, (x, tok) in enumerate(zip(ex, source)):
        box(ax, (x, y_in), tw, th, tok, "blue", fontsize=FONT - 1)
        box(ax, (x, y_h), hw, hh, _sub("h", i + 1), "yellow")
        arrow(ax, (x, y_in + th / 2), (x, y_h - hh / 2))
        if i:
            arrow(ax, (x - pitch + hw / 2, y_h), (x - hw / 2, y_h))
    box(ax, (x_ctx, y_h), 1.4, 0.95, f"context\nc = {_sub('h', n)}", "purple")
    arrow(ax, (ex[-1] + hw / 2, y_h), (x_ctx - 0.7, y_h))
    arrow(ax, (x_ctx + 0.7, y_h), (dx[0] - hw / 2, y_h))
    inputs = ["<bos>"] + target[:-1]
    shift = hw / 2 - 0.12  # the decoder's tokens sit left of their state, making room for the peeky arrows
    for j, (x, tok_in, tok_out) in enumerate(zip(dx, inputs, target)):
        box(ax, (x - 0.3, y_in), tw, th, tok_in, "blue", fontsize=FONT - 1)
        box(ax, (x, y_h), hw, hh, _sub("s", j + 1), "yellow")
        box(ax, (x, y_out), tw, th, tok_out, "green", fontsize=FONT - 1)
        arrow(ax, (x - 0.3, y_in + th / 2), (x - 0.3, y_h - hh / 2))
        arrow(ax, (x, y_h + hh / 2), (x, y_out - th / 2))
        if j:
            arrow(ax, (dx[j - 1] + hw / 2, y_h), (x - hw / 2, y_h))
        arrow(ax, (x + shift, y_bus), (x + shift, y_h - hh / 2), color="purple", linestyle="--")
        if j < m - 1:
            _dot(ax, x + shift, y_bus, "purple")
    ax.plot([x_ctx, x_ctx, dx[-1] + shift], [y_h - 0.475, y_bus, y_bus], color=LINE["purple"], lw=1.1,
            linestyle="--")
    _text(ax, (x_ctx + 0.12, y_bus + 0.1), "peeky (optional)", FONT - 1, "purple", ha="left", va="bottom")
    enc_mid, dec_mid = (ex[0] + ex[-1]) / 2, (dx[0] + dx[-1]) / 2
    _text(ax, (enc_mid, 6.45), "encoder", FONT + 1)
    _text(ax, (enc_mid, 5.95), "reads the source sentence", FONT - 1, "grey")
    _text(ax, (dec_mid, 6.45), "decoder", FONT + 1)
    _text(ax, (dec_mid, 5.7), "reads <bos> and the target shifted by one\n(teacher forcing), predicts the next token",
          FONT - 1, "grey")
    return fig


def word2vec_models() -> Figure:
    """Section 11.2: the two word2vec models, CBOW (left) and skip-gram (right), with a window of 2.

    CBOW: the four context words w_{t-2}, w_{t-1}, w_{t+1}, w_{t+2} (one-hot, blue) each select their row of the
    shared input matrix W_in (orange); the rows are averaged into h, W_out turns h into one score per vocabulary
    word, and a softmax over the vocabulary predicts the centre word w_t (green). Skip-gram: the centre word
    selects its row of W_in, which is h; W_out and the softmax give one distribution, and that same
    distribution scores each of the four context words. The losses are written under the panels.
    """
    fig, ax = canvas(14.4, 9.2)
    w_in, w_out = "W$_\\mathrm{in}$", "W$_\\mathrm{out}$"
    bw, bh = 1.25, 0.6                                   # word boxes
    y_in, y_w, y_mean, y_h, y_sm, y_out = 0.95, 2.35, 3.65, 4.75, 6.0, 7.2
    # CBOW (left panel)
    cx = 3.55
    xs = [cx + (k - 1.5) * 1.55 for k in range(4)]
    for x, label in zip(xs, ["wₜ₋₂", "wₜ₋₁", "wₜ₊₁", "wₜ₊₂"]):
        box(ax, (x, y_in), bw, bh, label, "blue")
        arrow(ax, (x, y_in + bh / 2), (x, y_w - 0.3))
    box(ax, (cx, y_w), 6.0, 0.6, f"{w_in} (V × d): each word selects its row", "orange", fontsize=FONT - 1)
    mean = circle(ax, (cx, y_mean), 0.44, "mean", "white", fontsize=FONT - 2)
    for x in xs:
        arrow(ax, (x, y_w + 0.3), (cx, y_mean), patchB=mean)
    box(ax, (cx, y_h), 1.0, 0.55, "h", "yellow")
    arrow(ax, (cx, y_mean + 0.44), (cx, y_h - 0.275))
    box(ax, (cx, y_sm), 3.4, 0.6, "softmax over V words", "purple", fontsize=FONT - 1)
    arrow(ax, (cx, y_h + 0.275), (cx, y_sm - 0.3), f"{w_out} (d × V)", side=-1, gap=0.12)
    box(ax, (cx, y_out), bw, bh, "wₜ", "green")
    arrow(ax, (cx, y_sm + 0.3), (cx, y_out - bh / 2))
    _text(ax, (cx, 8.75), "CBOW: context → centre word", FONT + 1)
    _text(ax, (cx, 8.2), "the mean of the context rows predicts wₜ", FONT - 1, "grey")
    _text(ax, (cx, 0.25), "loss: −log P(wₜ | wₜ₋₂, wₜ₋₁, wₜ₊₁, wₜ₊₂)", FONT - 1)
    # skip-gram (right panel)
    sx = 10.85
    box(ax, (sx, y_in), bw, bh, "wₜ", "blue")
    box(ax, (sx, y_w), 3.0, 0.6, f"{w_in}: the row of wₜ", "orange", fontsize=FONT - 1)
    arrow(ax, (sx, y_in + bh / 2), (sx, y_w - 0.3))
    box(ax, (sx, y_h), 1.0, 0.55, "h", "yellow")
    arrow(ax, (sx, y_w + 0.3), (sx, y_h - 0.275))
    box(ax, (sx, y_sm), 3.4, 0.6, "softmax over V words", "purple", fontsize=FONT - 1)
    arrow(ax, (sx, y_h + 0.275), (sx, y_sm - 0.3), f"{w_out} (d × V)", side=-1, gap=0.12)
    for k, label in enumerate(["wₜ₋₂", "wₜ₋₁", "wₜ₊₁", "wₜ₊₂"]):
        x = sx + (k - 1.5) * 1.55
        box(ax, (x, y_out), bw, bh, label, "green")
        arrow(ax, (sx + (k - 1.5) * 0.6, y_sm + 0.3), (x, y_out - bh / 2))
    _text(ax, (sx, 8.75), "skip-gram: centre word → context", FONT + 1)
    _text(ax, (sx, 8.2), "one distribution scores every context word", FONT - 1, "grey")
    _text(ax, (sx, 0.25), "loss: −Σⱼ log P(wₜ₊ⱼ | wₜ), j = ±1, ±2", FONT - 1)
    return fig


def negative_sampling(k: int = 3) -> Figure:
    """Section 11.3: one training example of skip-gram with negative sampling (``k`` noise words).

    One column of words: the observed context word wₒ (green) on top, ``k`` noise words n₁ … n_k (grey, drawn
    from the unigram distribution to the power 0.75) below it, and the centre word wₜ (blue) at the bottom. Each
    word selects its vector: the output vectors u (rows of W_out) for the context and noise words, the input
    vector v (a row of W_in) for the centre word. v rises into one dot product per row; each goes through a
    sigmoid and is scored by binary cross-entropy against label 1 (the observed pair) or 0 (a noise pair). The
    loss underneath: k + 1 sigmoids replace a softmax over the whole vocabulary.
    """
    _check_int("k", k, 1, 5)
    y_v, dy = 1.5, 1.15
    rows = [y_v + dy * (k + 1 - i) for i in range(k + 1)]          # rows[0]: the observed pair, on top
    fig, ax = canvas(12.6, rows[0] + 1.2)
    xw, xu, xd, xs, xl, bh = 3.3, 5.6, 7.7, 9.3, 11.0, 0.6
    for i, y in enumerate(rows):
        observed = i == 0
        word = "wₒ" if observed else f"n{'₁₂₃₄₅'[i - 1]}"
        box(ax, (xw, y), 1.2, bh, word, "green" if observed else "grey")
        arrow(ax, (xw + 0.6, y), (xu - 0.5, y), "W$_\\mathrm{out}$ row" if observed else None, gap=0.08)
        box(ax, (xu, y), 1.0, bh, f"u({word})", "yellow", fontsize=FONT - 1)
        dot = circle(ax, (xd, y), 0.3, "·", "white", fontsize=FONT + 4)
        arrow(ax, (xu + 0.5, y), (xd - 0.3, y))
        arrow(ax, (xd, y - dy), (xd, y), patchB=dot)  # v rises through every dot
        box(ax, (xs, y), 0.8, bh, "σ", "purple")
        arrow(ax, (xd + 0.3, y), (xs - 0.4, y))
        arrow(ax, (xs + 0.4, y), (xl - 0.65, y))
        _text(ax, (xl, y), "label 1" if observed else "label 0", FONT, "green" if observed else "ink",
              ha="left")
    box(ax, (xw, y_v), 1.2, bh, "wₜ", "blue")
    box(ax, (xu, y_v), 1.0, bh, "v", "yellow")
    arrow(ax, (xw + 0.6, y_v), (xu - 0.5, y_v), "W$_\\mathrm{in}$ row", gap=0.08)
    arrow(ax, (xu + 0.5, y_v), (xd, y_v), head=False)
    _text(ax, (xw, rows[0] + 0.65), "observed context", FONT - 1, "grey")
    _text(ax, (xw, y_v - 0.6), "centre word", FONT - 1, "grey")
    noise_mid = (rows[1] + rows[-1]) / 2
    _text(ax, (1.25, noise_mid), f"k = {k} noise\nwords drawn\nfrom U(w)$^{{0.75}}$/Z", FONT - 1, "grey",
          linespacing=1.4)
    _text(ax, (6.3, 0.45), _minus(f"loss: −log σ(v·u(wₒ)) − Σᵢ log σ(−v·u(nᵢ)),  i = 1 … {k}"), FONT)
    return fig


def viterbi_trellis() -> Figure:
    """Section 11.6: the trellis of BMES tagging for 希腊的经济 with the Viterbi path.

    One column per character of 希腊的经济, labelled in pinyin (no CJK font is needed), one row per tag (B, M, E, S
    from the top). Thin grey lines join every pair of tags allowed to follow each other (B and M go to M or E; E
    and S go to B or S); the eight impossible pairs have no line. Columns start with B or S only and end with E
    or S only (the other nodes of the first and last columns are greyed). The best path B E S B E is drawn in
    vermillion with arrows, and the words it spells are written below the columns.
    """
    chars, tags, path = ["xī", "là", "de", "jīng", "jì"], "BMES", [0, 2, 3, 0, 2]
    allowed = {0: (1, 2), 1: (1, 2), 2: (0, 3), 3: (0, 3)}
    x0, dx, top, dy, r = 2.2, 2.6, 6.4, 1.35, 0.36
    fig, ax = canvas(x0 + dx * 4 + 1.4, 9.0)

    def pos(t: int, j: int) -> tuple[float, float]:
        return x0 + t * dx, top - j * dy

    for t in range(len(chars) - 1):
        for i, nexts in allowed.items():
            for j in nexts:
                dead = (t == 0 and i in (1, 2)) or (t == len(chars) - 2 and j in (0, 1))
                if not dead and not (path[t] == i and path[t + 1] == j):
                    arrow(ax, pos(t, i), pos(t + 1, j), color="grey", head=False)
    nodes = {}
    for t, ch in enumerate(chars):
        _text(ax, (pos(t, 0)[0], top + 1.0), f"$x_{t + 1}$: {ch}", FONT + 1)
        for j in range(4):
            dead = (t == 0 and j in (1, 2)) or (t == len(chars) - 1 and j in (0, 1))
            color = "orange" if path[t] == j else "grey" if dead else "white"
            nodes[t, j] = circle(ax, pos(t, j), r, tags[j], color, edgecolor="grey" if dead else "ink")
    for j, tag in enumerate(["B (begin)", "M (middle)", "E (end)", "S (single)"]):
        _text(ax, (0.15, pos(0, j)[1]), tag, FONT - 1, ha="left")
    for t in range(len(chars) - 1):
        arrow(ax, pos(t, path[t]), pos(t + 1, path[t + 1]), color="vermillion",
              patchA=nodes[t, path[t]], patchB=nodes[t + 1, path[t + 1]])
    _text(ax, (pos(2, 0)[0], 1.05), "best path B E S B E → xīlà / de / jīngjì (Greece / 's / economy)", FONT,
          "vermillion")
    _text(ax, (pos(2, 0)[0], 0.4), "grey lines: allowed transitions; B→B, B→S, M→B, M→S, E→M, E→E, S→M, "
          "S→E are impossible", FONT - 2, "grey")
    return fig


def attention_pooling() -> Figure:
    """Section 12.1: attention pooling, the output as a softmax-weighted sum of the values.

    A query q (yellow, left) runs along a bus to one score box a(q, kᵢ) (orange) per key kᵢ (blue, below
    its box); columns 1, 2, 3, ⋯, n are the n key-value pairs. One softmax (purple) turns the n scores into
    weights α₁, ..., αₙ that are non-negative and sum to 1; each weight multiplies its own value vᵢ (green,
    the value paired with kᵢ), and the products are summed (Σ) into the output f(q) = Σᵢ αᵢ vᵢ.
    """
    fig, ax = canvas(14.4, 9.6)
    cols = ["₁", "₂", "₃", "ₙ"]
    xs = [4.1, 6.6, 9.1, 12.6]
    x_dots = 10.85                                       # the "⋯" between column 3 and column n
    y_key, y_bus, y_score, y_sm, y_mul, y_sum, y_out = 0.75, 1.75, 2.85, 4.35, 5.85, 7.25, 8.6
    kw, kh, sw, sh, r = 0.9, 0.6, 1.75, 0.65, 0.28       # key boxes, score boxes, ⊗ radius
    # the query and its bus (drawn first: the key arrows cross it with a gap)
    box(ax, (1.25, y_bus), 1.3, 0.65, "query q", "yellow")
    ax.plot([1.9, xs[-1] - 0.5], [y_bus, y_bus], color=LINE["ink"], lw=1.1)
    for i, (x, c) in enumerate(zip(xs, cols)):
        box(ax, (x, y_key), kw, kh, f"k{c}", "blue")
        box(ax, (x, y_score), sw, sh, f"a(q, k{c})", "orange", fontsize=FONT - 1)
        arrow(ax, (x - 0.5, y_bus), (x - 0.5, y_score - sh / 2))
        if i < len(xs) - 1:
            _dot(ax, x - 0.5, y_bus)
            _hop(ax, x, y_bus, vertical=False)
        arrow(ax, (x, y_key + kh / 2), (x, y_score - sh / 2)).set_zorder(3)  # above the gap
        arrow(ax, (x, y_score + sh / 2), (x, y_sm - 0.35))
        _op(ax, (x, y_mul), "×")
        arrow(ax, (x, y_sm + 0.35), (x, y_mul - r), f"α{c}", side=-1, gap=0.1)
        box(ax, (x + 1.05, y_mul), 0.8, kh, f"v{c}", "green")
        arrow(ax, (x + 0.65, y_mul), (x + r, y_mul))
    for y in (y_key, y_score, y_mul):
        _text(ax, (x_dots + (0.35 if y == y_mul else 0.0), y), "⋯", FONT + 2)
    x0, x1 = xs[0] - sw / 2, xs[-1] + sw / 2
    box(ax, ((x0 + x1) / 2, y_sm), x1 - x0, 0.7,
        "softmax over the n scores:  αᵢ = exp a(q, kᵢ) / Σⱼ exp a(q, kⱼ)", "purple")
    x_sum = (xs[0] + xs[-1]) / 2
    total = circle(ax, (x_sum, y_sum), 0.36, "Σ", "white", fontsize=FONT + 2)
    for x in xs:
        arrow(ax, (x, y_mul + r), (x_sum, y_sum), patchB=total)
    box(ax, (x_sum, y_out), 3.1, 0.65, "output f(q) = Σᵢ αᵢ vᵢ", "green")
    arrow(ax, (x_sum, y_sum + 0.36), (x_sum, y_out - 0.325))
    # row labels on the left
    for y, label in ((y_key, "keys"), (y_score, "scores"), (y_sm, "weights"), (y_mul, "values")):
        _text(ax, (0.25, y), label, FONT - 1, "grey", ha="left")
    _text(ax, (0.25, y_mul - 0.45), "(vᵢ paired\nwith kᵢ)", FONT - 2, "grey", ha="left", va="top")
    return fig


def multi_head_attention() -> Figure:
    """Section 12.5: multi-head attention with h heads, drawn from the inputs (bottom) to the output (top).

    The queries, keys and values (blue) each pass through h linear projections W_q⁽ⁱ⁾, W_k⁽ⁱ⁾, W_v⁽ⁱ⁾
    (orange, stacked: one copy per head) to d/h features; every head runs scaled dot-product attention
    (purple, stacked) on its own projections; the h outputs are concatenated (yellow) back to d features
    and a last linear layer W_o (orange) mixes them into the output (green).
    """
    fig, ax = canvas(14.4, 9.6)
    xs = [3.2, 7.2, 11.2]
    y_in, y_proj, y_att, y_cat, y_o, y_out = 0.7, 2.55, 4.55, 6.35, 7.75, 9.0
    step = 0.1                                           # offset of the copies behind the front box

    def stacked(x: float, y: float, w: float, h: float, label: str, color: str, n: int = 3) -> None:
        for k in range(n - 1, 0, -1):                    # back copies first, front box last
            box(ax, (x + k * step, y + k * step), w, h, "", color)
        box(ax, (x, y), w, h, label, color)

    for x, name, sub in zip(xs, ["queries", "keys", "values"], "qkv"):
        box(ax, (x, y_in), 1.7, 0.6, name, "blue")
        stacked(x, y_proj, 1.7, 0.8, f"W$_\\mathrm{{{sub}}}^{{(i)}}$", "orange")
        arrow(ax, (x, y_in + 0.3), (x, y_proj - 0.4))
        arrow(ax, (x, y_proj + 0.4 + 2 * step), (x, y_att - 0.4), "d/h" if sub == "v" else None,
              side=-1, gap=0.1)
    stacked(xs[1], y_att, 9.6, 0.8, "scaled dot-product attention, head i", "purple")
    box(ax, (xs[1], y_cat), 4.2, 0.6, "concatenate the h heads", "yellow")
    arrow(ax, (xs[1], y_att + 0.4 + 2 * step), (xs[1], y_cat - 0.3), "h × d/h", side=-1, gap=0.1)
    box(ax, (xs[1], y_o), 1.7, 0.6, "W$_\\mathrm{o}$", "orange")
    arrow(ax, (xs[1], y_cat + 0.3), (xs[1], y_o - 0.3), "d", side=-1, gap=0.1)
    box(ax, (xs[1], y_out), 1.7, 0.6, "output", "green")
    arrow(ax, (xs[1], y_o + 0.3), (xs[1], y_out - 0.3))
    _text(ax, (xs[2] + 1.35, y_proj), "h copies,\none per head", FONT - 1, "grey", ha="left")
    _text(ax, (0.25, y_att + 1.35), "every head: softmax(Q$_i$K$_i^\\top$/√(d/h)) V$_i$", FONT - 1, "grey",
          ha="left")
    _text(ax, (xs[1] + 1.1, y_o), "mixes the heads", FONT - 1, "grey", ha="left")
    return fig


def transformer_block() -> Figure:
    """Section 13.1: the Transformer's encoder block (left) and decoder block (right), inputs at the bottom.

    Each block is a stack of sublayers, each followed by "add & norm": the sublayer's input is carried past
    it on a residual connection, added to its output, and the sum is layer-normalized (the original post-norm
    order). The encoder block has multi-head self-attention and a position-wise feed-forward network; the
    decoder block has masked (causal) multi-head self-attention, multi-head cross-attention whose queries come
    from the decoder and whose keys and values are the encoder's output, and the feed-forward network. Both
    read token embeddings scaled by √d plus positional encodings; each is repeated N times ("× N" frames), and
    the decoder ends in a linear layer and softmax over the target vocabulary.
    """
    fig, ax = canvas(14.4, 11.3)
    w, h = 3.8, 0.62
    xe, xd = 4.1, 10.5
    y_tok, y_emb = 0.5, 1.55

    def column(x, labels, y0, side):
        """Sublayers and their add & norm boxes from y0 up; residuals on ``side`` (-1 left, 1 right)."""
        bottom, ys = y0, []
        y = y0 + 1.05
        for label, color in labels:
            box(ax, (x, y), w, h, label, color)
            y_norm = y + 1.0
            box(ax, (x, y_norm), w, h, "add & norm", "yellow")
            arrow(ax, (x, bottom), (x, y - h / 2))
            arrow(ax, (x, y + h / 2), (x, y_norm - h / 2))
            y_branch = (bottom + y - h / 2) / 2
            _dot(ax, x, y_branch)
            xs = x + side * (w / 2 + 0.45)
            _line_to(ax, [x, xs, xs, x + side * w / 2], [y_branch, y_branch, y_norm, y_norm])
            ys.append(y)
            bottom = y_norm + h / 2
            y = y_norm + 1.15
        return ys, bottom

    for x, tokens in ((xe, "source tokens"), (xd, "target tokens (shifted right)")):
        box(ax, (x, y_tok), w, h, tokens, "blue", fontsize=FONT - 1)
        box(ax, (x, y_emb), w, h, "embedding · √d + positions", "grey", fontsize=FONT - 1)
        arrow(ax, (x, y_tok + h / 2), (x, y_emb - h / 2))
    enc_ys, enc_top = column(xe, [("multi-head self-attention", "purple"),
                                  ("position-wise FFN", "orange")], y_emb + h / 2, -1)
    dec_ys, dec_top = column(xd, [("masked multi-head\nself-attention", "purple"),
                                  ("multi-head\ncross-attention", "purple"),
                                  ("position-wise FFN", "orange")], y_emb + h / 2, 1)
    # the frames of the repeated blocks, with "× N"
    pad = 0.85
    for x, top, side in ((xe, enc_top, -1), (xd, dec_top, 1)):
        y0 = y_emb + h / 2 + 0.15
        ax.add_patch(mpatches.FancyBboxPatch(
            (x - w / 2 - pad, y0), w + 2 * pad, top + 0.12 - y0, boxstyle="round,pad=0,rounding_size=0.3",
            fc="none", ec=LINE["grey"], lw=1.0, linestyle="--"))
        _text(ax, (x + side * (w / 2 + pad + 0.2), (y0 + top) / 2), "× N", FONT + 2,
              ha="left" if side > 0 else "right")
    # the decoder's head
    y_out = dec_top + 0.95
    box(ax, (xd, y_out), w, h, "linear + softmax", "green")
    arrow(ax, (xd, dec_top), (xd, y_out - h / 2))
    # the encoder's output: keys and values of every cross-attention
    y_enc = enc_top + 0.55
    x_mid = xe + w / 2 + 1.1
    _text(ax, (xe, y_enc + 0.1), "encoder output", FONT - 1, "grey", va="bottom")
    ax.plot([xe, xe, x_mid], [enc_top, y_enc - 0.1, y_enc - 0.1], color=LINE["ink"], lw=1.1)
    _line_to(ax, [x_mid, x_mid, xd - w / 2], [y_enc - 0.1, dec_ys[1], dec_ys[1]])
    _text(ax, (x_mid - 0.1, y_enc - 0.02), "keys, values", FONT - 1, ha="right", va="bottom")
    _text(ax, (xe, y_enc + 0.85), "encoder block", FONT + 1)
    _text(ax, (xd, y_out + h / 2 + 0.45), "decoder block", FONT + 1)
    return fig


def causal_kv_cache() -> Figure:
    """Section 13.2: the causal mask of a decoder-only Transformer and generation with a KV cache.

    Left: the T x T matrix of attention weights of one head for the six characters "the ti"; query t
    (a row) may attend to keys 1..t (blue), the keys after it are masked (grey, weight 0). Right: step
    t = 6 of generation with a KV cache: only the new token's query, key and value are computed; k₆ and
    v₆ (vermillion) are appended to the keys and values cached at steps 1..5, and one row of t weights,
    softmax(q₆ kᵢ / √d), mixes the cached values into the output o₆: the last row of the left matrix.
    """
    tokens = ["t", "h", "e", "␣", "t", "i"]
    n, cell = len(tokens), 0.62
    fig, ax = canvas(14.4, 6.6)
    # left: the mask
    g = grid(ax, [[None if j <= i else "0" for j in range(n)] for i in range(n)], (1.35, 5.0), cell,
             color="blue", shade=[(i, j) for i in range(n) for j in range(n) if j > i],
             highlight=(n - 1, 0, 1, n), fontsize=FONT - 1)
    for j, tok in enumerate(tokens):
        _text(ax, (g.center(0, j)[0], g.y + 0.22), tok, FONT - 1, va="bottom")
        _text(ax, (g.x - 0.2, g.center(j, 0)[1]), f"{_sub('q', j + 1)} {tok}", FONT - 1, ha="right")
    _text(ax, (g.middle[0], g.y + 0.85), "keys (positions 1 … T)", FONT - 1, "grey")
    _text(ax, (g.middle[0], 6.25), "causal mask: query t sees keys 1 … t", FONT + 1)
    _text(ax, (g.middle[0], g.bottom - 0.35), "blue: softmax weights; grey: masked, weight 0\n"
          "row t: p(next character | first t)", FONT - 1, "grey", va="top")
    # right: one step with the cache
    x0, kc, vc = 6.9, 4.6, 2.0               # left edge of the caches, y of the key and value rows
    _text(ax, (10.6, 6.25), "step t = 6 with a KV cache", FONT + 1)
    box(ax, (x0 + 0.55, 5.45), 1.1, 0.5, "x₆ = i", "blue", fontsize=FONT - 1)
    _text(ax, (x0 + 1.3, 5.45), "q₆, k₆, v₆: computed for the new token only", FONT - 1,
          "grey", ha="left")
    fills = {(0, n - 1): "orange"}
    kg = grid(ax, [[_sub("k", j + 1) for j in range(n)]], (x0, kc + cell / 2), cell, color="grey",
              fills=fills, highlight=(0, n - 1, 1, 1), fontsize=FONT - 1)
    wg = grid(ax, [[_sub("α", j + 1) for j in range(n)]], (x0, (kc + vc) / 2 + cell / 2), cell,
              color="blue", highlight=(0, 0, 1, n), fontsize=FONT - 1)
    vg = grid(ax, [[_sub("v", j + 1) for j in range(n)]], (x0, vc + cell / 2), cell, color="grey",
              fills=fills, highlight=(0, n - 1, 1, 1), fontsize=FONT - 1)
    for gg, label in ((kg, "keys: k₁ … k₅ from the\ncache, k₆ appended"),
                      (vg, "values: v₁ … v₅ from the\ncache, v₆ appended")):
        _text(ax, (gg.right + 0.2, gg.middle[1]), label, FONT - 1, ha="left")
    _text(ax, (wg.right + 0.2, wg.middle[1]), "one row of t weights:\nsoftmax(q₆·kᵢ/√d)", FONT - 1, ha="left")
    arrow(ax, (x0 + 0.55, 5.2), (x0 + 0.55, kg.y + 0.02))
    arrow(ax, (kg.middle[0], kg.bottom), (wg.middle[0], wg.y))
    arrow(ax, (wg.middle[0], wg.bottom), (vg.middle[0], vg.y))
    box(ax, (vg.middle[0], 0.55), 4.0, 0.55, "o₆ = Σ αᵢ vᵢ  →  next character", "green",
        fontsize=FONT - 1)
    arrow(ax, (vg.middle[0], vg.bottom), (vg.middle[0], 0.83))
    _text(ax, (vg.middle[0] + 2.2, 0.55), "cache size:\n2 × layers × t × d", FONT - 1, "grey", ha="left")
    return fig


def all_reduce(num_workers: int = 3) -> Figure:
    """Section 16.3: one step of data-parallel training with a ring all-reduce.

    The global minibatch of n·B examples is cut into ``num_workers`` shards of B; every worker holds a
    replica of the same parameters w, computes the gradient g_k of the mean loss on its shard, the ring
    all-reduce (each worker passes chunks to its neighbour) leaves the average ḡ = (g₁ + … + g_n) / n on
    every worker, and every worker applies the same update, so the replicas stay identical.

    Args:
        num_workers: 2 or 3 (more would not fit the page's width).

    Raises:
        ValueError: ``num_workers`` is not 2 or 3.
    """
    _check_int("all_reduce: num_workers", num_workers, 2, 3)
    n = num_workers
    gap, w, h = 4.1, 3.5, 0.62
    left = 2.3
    xs = [left + w / 2 + k * gap for k in range(n)]
    width = xs[-1] + w / 2 + 0.4
    fig, ax = canvas(max(width, 14.6), 8.6)
    y_batch, y_shard, y_model, y_grad, y_ring, y_upd = 7.9, 6.75, 5.55, 4.35, 3.0, 1.0
    # the global minibatch, cut into shards of one colour per worker
    x0, x1 = xs[0] - w / 2, xs[-1] + w / 2
    seg = (x1 - x0) / n
    for k in range(n):
        label = f"examples {k if k > 1 else ''}B+1 … {k + 1}B" if k else "examples 1 … B"
        box(ax, (x0 + seg * (k + 0.5), y_batch), seg, h, label, "blue", fontsize=FONT - 1)
    _text(ax, (x0 - 0.25, y_batch), "global\nminibatch", FONT - 1, ha="right")
    steps = [(y_shard, "1  shard"), (y_model, "2  forward"), (y_grad, "3  backward"),
             (y_ring, "4  all-reduce"), (y_upd, "5  update")]
    for y, label in steps:
        _text(ax, (0.15, y), label, FONT - 1, "grey", ha="left")
    ring_y = y_ring
    for k, x in enumerate(xs):
        arrow(ax, (x, y_batch - h / 2), (x, y_shard + h / 2))
        box(ax, (x, y_shard), w, h, f"worker {k + 1}: its B examples", "blue", fontsize=FONT - 1)
        arrow(ax, (x, y_shard - h / 2), (x, y_model + h / 2))
        box(ax, (x, y_model), w, h, "replica of the model (w)", "orange", fontsize=FONT - 1)
        arrow(ax, (x, y_model - h / 2), (x, y_grad + h / 2))
        box(ax, (x, y_grad), w, h, f"gradient {_sub('g', k + 1)} (mean loss)", "purple",
            fontsize=FONT - 1)
        arrow(ax, (x, y_grad - h / 2), (x, ring_y + 0.3))
        circle(ax, (x, ring_y), 0.3, f"{k + 1}", "grey", fontsize=FONT - 1)
        arrow(ax, (x, ring_y - 0.3), (x, y_upd + h / 2))
        box(ax, (x, y_upd), w, h, "w ← w − η ḡ", "green", fontsize=FONT)
    # the ring: each worker sends to its right neighbour, the last back to the first
    for k in range(n - 1):
        arrow(ax, (xs[k] + 0.32, ring_y), (xs[k + 1] - 0.32, ring_y), color="vermillion")
    ax.add_patch(mpatches.FancyArrowPatch((xs[-1], ring_y - 0.32), (xs[0], ring_y - 0.32),
                                          arrowstyle="-|>", mutation_scale=11, color=LINE["vermillion"],
                                          lw=1.1, connectionstyle="arc3,rad=-0.12", shrinkA=1, shrinkB=1))
    mid = (xs[0] + xs[-1]) / 2
    _text(ax, (mid, ring_y - 0.95), "ring all-reduce: ḡ = (" + " + ".join(
        _sub("g", k + 1) for k in range(n)) + f") / {n} on every worker", FONT - 1,
          "vermillion", va="top",
          bbox={"fc": "white", "ec": "none", "pad": 1.0})
    _text(ax, (mid, 0.2), "the same update everywhere: the replicas stay identical", FONT - 1, "grey")
    return fig


def autoencoder() -> Figure:
    """Section 14.1: an autoencoder, and the variational autoencoder's random code.

    Top row: the input x (784 pixels) goes through the encoder f to a short code z (the bottleneck, k
    numbers), the decoder g rebuilds x̂ from it, and the loss compares x̂ with the input x itself (no
    label anywhere). Bottom row: in a VAE the encoder outputs a mean μ and a standard deviation σ, and the
    code is z = μ + σ ⊙ ε with noise ε ~ N(0, I) drawn outside the network (the reparameterization
    trick), so the gradient flows back through μ and σ but not into ε.
    """
    fig, ax = canvas(14.4, 7.5)
    y_top, y_vae = 5.2, 1.95
    # the input and the reconstruction as small pixel grids
    box(ax, (1.0, y_top), 1.4, 1.4, "x", "blue")
    _text(ax, (1.0, y_top - 0.95), "input", FONT - 1, "grey")
    enc = mpatches.Polygon([(2.3, y_top + 1.0), (4.6, y_top + 0.45), (4.6, y_top - 0.45),
                            (2.3, y_top - 1.0)], closed=True, fc=_fill("orange"), ec=_line("ink"), lw=1.0)
    ax.add_patch(enc)
    _text(ax, (3.4, y_top), "encoder f")
    box(ax, (5.45, y_top), 0.9, 0.9, "z", "purple")
    _text(ax, (5.45, y_top + 0.75), "code (k numbers)", FONT - 1, "grey")
    dec = mpatches.Polygon([(6.3, y_top + 0.45), (8.6, y_top + 1.0), (8.6, y_top - 1.0),
                            (6.3, y_top - 0.45)], closed=True, fc=_fill("orange"), ec=_line("ink"), lw=1.0)
    ax.add_patch(dec)
    _text(ax, (7.5, y_top), "decoder g")
    box(ax, (9.9, y_top), 1.4, 1.4, "x̂", "green")
    _text(ax, (9.9, y_top - 0.95), "reconstruction", FONT - 1, "grey")
    arrow(ax, (1.7, y_top), (2.3, y_top))
    arrow(ax, (4.6, y_top), (5.0, y_top))
    arrow(ax, (5.9, y_top), (6.3, y_top))
    arrow(ax, (8.6, y_top), (9.2, y_top))
    box(ax, (12.9, y_top), 2.1, 0.9, "loss ℓ(x, x̂)\n‖x − x̂‖²", "grey", fontsize=FONT - 1)
    arrow(ax, (10.6, y_top), (11.85, y_top))
    # the input is its own target: a line from x over the top to the loss
    ax.plot([1.0, 1.0, 12.9], [y_top + 0.7, y_top + 1.45, y_top + 1.45], color=LINE["blue"], lw=1.1)
    arrow(ax, (12.9, y_top + 1.45), (12.9, y_top + 0.45), color="blue")
    _text(ax, (7.0, y_top + 1.6), "the input is also the target (no labels)", FONT - 1, "blue", va="bottom")
    # VAE branch
    _text(ax, (0.3, y_vae + 1.25), "variational autoencoder: a random code", FONT, "ink", ha="left")
    box(ax, (1.0, y_vae), 1.4, 0.9, "x", "blue")
    enc2 = mpatches.Polygon([(2.3, y_vae + 0.7), (4.3, y_vae + 0.35), (4.3, y_vae - 0.35),
                             (2.3, y_vae - 0.7)], closed=True, fc=_fill("orange"), ec=_line("ink"), lw=1.0)
    ax.add_patch(enc2)
    _text(ax, (3.25, y_vae), "encoder", FONT - 1)
    arrow(ax, (1.7, y_vae), (2.3, y_vae))
    box(ax, (5.1, y_vae + 0.55), 0.8, 0.6, "μ", "purple")
    box(ax, (5.1, y_vae - 0.55), 0.8, 0.6, "σ", "purple")
    arrow(ax, (4.3, y_vae + 0.2), (4.7, y_vae + 0.5))
    arrow(ax, (4.3, y_vae - 0.2), (4.7, y_vae - 0.5))
    circle(ax, (6.4, y_vae - 0.55), 0.28, "⊙", "white", fontsize=FONT + 1)
    circle(ax, (7.4, y_vae), 0.28, "+", "white", fontsize=FONT + 1)
    box(ax, (6.4, y_vae - 1.5), 1.9, 0.6, "ε ~ N(0, I)", "yellow", fontsize=FONT - 1)
    arrow(ax, (5.5, y_vae - 0.55), (6.12, y_vae - 0.55))
    arrow(ax, (6.4, y_vae - 1.2), (6.4, y_vae - 0.83))
    arrow(ax, (5.5, y_vae + 0.55), (7.4, y_vae + 0.55), head=False)
    arrow(ax, (7.4, y_vae + 0.55), (7.4, y_vae + 0.28))
    arrow(ax, (6.68, y_vae - 0.55), (7.4, y_vae - 0.55), head=False)
    arrow(ax, (7.4, y_vae - 0.55), (7.4, y_vae - 0.28))
    box(ax, (8.55, y_vae), 0.9, 0.7, "z", "purple")
    arrow(ax, (7.68, y_vae), (8.1, y_vae))
    _text(ax, (8.55, y_vae - 0.65), "z = μ + σ ⊙ ε", FONT - 1, "grey", va="top")
    box(ax, (10.05, y_vae), 1.2, 0.9, "decoder", "orange", fontsize=FONT - 1)
    arrow(ax, (9.0, y_vae), (9.45, y_vae))
    box(ax, (12.75, y_vae), 2.7, 1.0, "loss: −ELBO =\nreconstruction + KL", "grey", fontsize=FONT - 1)
    arrow(ax, (10.65, y_vae), (11.4, y_vae), "x̂")
    _text(ax, (5.3, y_vae - 1.5), "random input, needs no gradient", FONT - 1, "grey", ha="right")
    return fig


def _centre(patch: Any) -> tuple[float, float]:
    """The centre of a rectangular patch (a :func:`box`)."""
    return (patch.get_x() + patch.get_width() / 2, patch.get_y() + patch.get_height() / 2)


def gan_training_loop() -> Figure:
    """Section 14.2: one GAN training iteration, forward passes solid, parameter updates dashed.

    Noise z goes through the generator to fake samples; real data and fake samples both go through the
    discriminator, which outputs the probability of "real". The discriminator loss (bottom) updates only
    the discriminator's parameters, with the fake samples detached; the non-saturating generator loss (top)
    is backpropagated through the frozen discriminator and updates only the generator's parameters.
    """
    fig, ax = canvas(14.6, 8.0)
    h = 1.0
    y_top, y_mid, y_low = 4.9, 3.75, 2.6
    z = box(ax, (1.25, y_top), 2.0, h, "noise\n$z \\sim \\mathcal{N}(0, I)$", "blue", fontsize=FONT - 1)
    g = box(ax, (4.15, y_top), 2.4, h, "generator $G$\nparameters $\\theta_G$", "orange")
    fake = box(ax, (7.1, y_top), 2.0, h, "fake\n$G(z)$", "grey")
    real = box(ax, (7.1, y_low), 2.0, h, "real\n$x \\sim p_{data}$", "blue")
    d = box(ax, (10.2, y_mid), 2.6, h, "discriminator $D$\nparameters $\\theta_D$", "purple")
    out = box(ax, (13.35, y_mid), 2.0, h, "$D(\\cdot)$ =\nP(real)", "green")
    for a, b in ((z, g), (g, fake), (fake, d), (real, d), (d, out)):
        arrow(ax, _centre(a), _centre(b), patchA=a, patchB=b)
    # the two losses
    box(ax, (10.1, 7.1), 7.6, 1.05, "generator step: $-\\log D(G(z))$ (non-saturating)\n"
             "updates $\\theta_G$ only; the gradient flows through $D$", "yellow",
             edgecolor="vermillion", fontsize=FONT - 1)
    box(ax, (10.1, 0.65), 7.6, 1.05, "discriminator step: $-\\log D(x) - \\log(1 - D(G(z)))$\n"
             "updates $\\theta_D$ only; $G(z)$ is detached", "yellow", edgecolor="blue",
             fontsize=FONT - 1)
    arrow(ax, (13.35, y_mid + h / 2), (13.35, 7.1 - 1.05 / 2))
    arrow(ax, (13.35, y_mid - h / 2), (13.35, 0.65 + 1.05 / 2))
    # updates: dashed, in the colour of their loss's frame
    arrow(ax, (6.3, 7.1), (4.15, y_top + h / 2), "update $\\theta_G$", color="vermillion",
          linestyle="--", rad=0.25, side=-1)
    arrow(ax, (10.9, 0.65 + 1.05 / 2), (10.9, y_mid - h / 2), "update $\\theta_D$", color="blue",
          linestyle="--", side=-1)
    _text(ax, (0.3, 0.65), "solid: forward pass\ndashed: parameter update", FONT - 1, "grey", ha="left")
    return fig




def message_passing() -> Figure:
    """Section 15.1: one GCN layer as message passing, seen from node 1 of a six-node graph.

    Nodes are circles; node 1 (vermillion outline) has the neighbours 2, 3 and 4, and nodes 5 and 6 are two
    edges away (grey: a second layer would reach them). Each neighbour j, and node 1 itself through its
    self-loop, sends its feature vector h_j (a small blue grid) along an arrow labelled with the normalized
    weight 1/√(d̃₁ d̃ⱼ), where d̃ is the degree plus one for the self-loop
    (d̃ = 4, 2, 3, 3 for nodes 1 to 4). The weighted
    vectors are summed (Σ), mapped by the weight matrix W (orange), which every node shares, and passed
    through the nonlinearity σ (purple) to give node 1's new vector h₁′ (green).
    """
    fig, ax = canvas(14.6, 7.4)
    pos = {1: (6.2, 3.4), 2: (2.6, 5.6), 3: (2.6, 1.4), 4: (6.2, 6.5), 5: (9.6, 6.5), 6: (4.8, 0.8)}
    r = 0.42
    # plain edges first (the arrows to node 1 are drawn on top of them)
    for a, b in ((3, 6), (4, 5)):
        arrow(ax, pos[a], pos[b], head=False, color="grey", gap=0.1)
    nodes = {}
    for k, xy in pos.items():
        edge = "vermillion" if k == 1 else "ink"
        nodes[k] = circle(ax, xy, r, str(k), "grey" if k > 4 else "white", edgecolor=edge)
    nodes[1].set_linewidth(2.2)
    weights = {2: "1/√8", 3: "1/√12", 4: "1/√12"}
    sides = {2: 1, 3: -1, 4: 1}
    for j, w in weights.items():
        arrow(ax, pos[j], pos[1], w, patchA=nodes[j], patchB=nodes[1], color="vermillion",
              side=sides[j], gap=0.12)
    # the self-loop below node 1
    x1, y1 = pos[1]
    arrow(ax, (x1 - 0.3, y1 - 0.3), (x1 + 0.3, y1 - 0.3), rad=1.6, color="vermillion")
    _text(ax, (x1, y1 - 1.35), "1/4 (self-loop)", FONT - 1, "vermillion", va="top")
    # feature vectors next to the nodes
    vec = {1: (x1 + 0.6, y1 + 1.0), 2: (0.45, 6.25), 3: (0.45, 2.05), 4: (4.1, 7.15), 5: (10.2, 7.15)}
    for k, (x, y) in vec.items():
        grid(ax, (1, 3), (x, y), 0.38, color="grey" if k > 4 else "blue")
        _text(ax, (x + 0.57, y - 0.55), f"h$_{k}$", FONT - 1, va="top")
    # sum, shared weights, nonlinearity, output
    y = y1
    s = circle(ax, (8.4, y), 0.36, "Σ", "white", fontsize=FONT + 2)
    arrow(ax, (x1 + r, y), (8.4 - 0.36, y), patchB=s)
    box(ax, (9.9, y), 1.2, 0.8, "W", "orange")
    arrow(ax, (8.76, y), (9.3, y))
    box(ax, (11.45, y), 1.0, 0.8, "σ", "purple")
    arrow(ax, (10.5, y), (10.95, y))
    g = grid(ax, (1, 3), (12.75, y + 0.19), 0.38, color="green")
    arrow(ax, (11.95, y), (g.x - 0.05, y))
    _text(ax, (g.middle[0], y - 0.45), "h$_1'$", FONT - 1, va="top")
    _text(ax, (9.9, y - 0.65), "shared by\nall nodes", FONT - 2, "grey", va="top")
    _text(ax, (9.6, 5.75), "two edges away:\nreached by a 2nd layer", FONT - 2, "grey", va="top")
    _text(ax, (10.9, 0.35), "d̃ = degree + 1:  d̃$_1$ = 4, d̃$_2$ = 2, d̃$_3$ = d̃$_4$ = 3", FONT - 2, "grey")
    _text(ax, (10.9, 1.1), "h$_1'$ = σ(W$^\\top$ Σ$_j$ h$_j$ / √(d̃$_1$d̃$_j$)),  j ∈ {1, 2, 3, 4}",
          FONT - 1, "ink")
    return fig
