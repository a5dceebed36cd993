"""Tests of d2lutils.diagrams: every diagram is a deterministic, small figure whose text fits and does not collide."""

from __future__ import annotations

import io
import itertools

import matplotlib
import pytest
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from d2lutils import diagrams

DIAGRAMS = {
    "neuron": diagrams.neuron,
    "neuron_6": lambda: diagrams.neuron(6),
    "mlp": diagrams.mlp,
    "mlp_deep": lambda: diagrams.mlp((3, 8, 8, 6, 2)),
    "computational_graph": diagrams.computational_graph,
    "backprop_graph": diagrams.backprop_graph,
    "cross_correlation": diagrams.cross_correlation,
    "cross_correlation_other": lambda: diagrams.cross_correlation(torch.arange(16.0).reshape(4, 4),
                                                                  [[1, 0, -1]] * 3, position=(1, 1)),
    "padding_stride": diagrams.padding_stride,
    "channels": diagrams.channels,
    "lenet": diagrams.lenet,
    "receptive_field": diagrams.receptive_field,
    "receptive_field_3": lambda: diagrams.receptive_field(3, 3),
    "transposed_convolution": diagrams.transposed_convolution,
    "transposed_convolution_2": lambda: diagrams.transposed_convolution(stride=2),
    "inception": diagrams.inception,
    "inception_other": lambda: diagrams.inception(480, (192, (96, 208), (16, 48), 64)),
    "residual_blocks": diagrams.residual_blocks,
    "residual_blocks_1x1": lambda: diagrams.residual_blocks("1x1"),
    "dense_block": diagrams.dense_block,
    "dense_block_1": lambda: diagrams.dense_block(1),
    "dense_block_4": lambda: diagrams.dense_block(4),
    "depthwise_separable": diagrams.depthwise_separable,
    "depthwise_separable_2": lambda: diagrams.depthwise_separable(2),
    "depthwise_separable_4": lambda: diagrams.depthwise_separable(4),
    "unet": diagrams.unet,
    "unet_1": lambda: diagrams.unet(1),
    "unet_4": lambda: diagrams.unet(4, base_channels=32),
    "unrolled_rnn": diagrams.unrolled_rnn,
    "unrolled_rnn_1": lambda: diagrams.unrolled_rnn(1),
    "unrolled_rnn_4": lambda: diagrams.unrolled_rnn(4),
    "bptt_paths": diagrams.bptt_paths,
    "bptt_paths_1": lambda: diagrams.bptt_paths(1),
    "bptt_paths_4": lambda: diagrams.bptt_paths(4),
    "rnn_topologies": diagrams.rnn_topologies,
    "elman_jordan": diagrams.elman_jordan,
    "gru_cell": diagrams.gru_cell,
    "lstm_cell": diagrams.lstm_cell,
    "encoder_decoder": diagrams.encoder_decoder,
    "word2vec_models": diagrams.word2vec_models,
    "negative_sampling": diagrams.negative_sampling,
    "viterbi_trellis": diagrams.viterbi_trellis,
    "attention_pooling": diagrams.attention_pooling,
    "multi_head_attention": diagrams.multi_head_attention,
    "transformer_block": diagrams.transformer_block,
    "causal_kv_cache": diagrams.causal_kv_cache,
    "all_reduce": diagrams.all_reduce,
    "all_reduce_2": lambda: diagrams.all_reduce(2),
    "autoencoder": diagrams.autoencoder,
    "gan_training_loop": diagrams.gan_training_loop,
    "message_passing": diagrams.message_passing,
}


def svg_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "d2lutils", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def text_boxes(fig: Figure) -> list[tuple[str, object]]:
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    return [(t.get_text(), t.get_window_extent(renderer)) for ax in fig.axes for t in ax.texts if t.get_text()]


@pytest.mark.parametrize("name", DIAGRAMS)
def test_diagram_is_a_deterministic_small_svg(name: str) -> None:
    first, second = DIAGRAMS[name](), DIAGRAMS[name]()
    assert isinstance(first, Figure)
    svg = svg_bytes(first)
    assert svg == svg_bytes(second)
    assert len(svg) < 60_000, f"{name}: {len(svg)} bytes of SVG"
    assert b"<text" in svg  # text stays text (selectable, small), not glyph outlines
    assert first.get_size_inches()[0] <= 7.3  # at most 700 px wide: fonts are never scaled down on the page


@pytest.mark.parametrize("name", DIAGRAMS)
def test_diagram_text_fits_and_does_not_overlap(name: str) -> None:
    fig = DIAGRAMS[name]()
    boxes = text_boxes(fig)
    assert boxes
    bounds = fig.bbox
    for text, bb in boxes:
        assert bb.x0 >= bounds.x0 - 0.5 and bb.x1 <= bounds.x1 + 0.5, f"{name}: {text!r} sticks out sideways"
        assert bb.y0 >= bounds.y0 - 0.5 and bb.y1 <= bounds.y1 + 0.5, f"{name}: {text!r} sticks out vertically"
    for (t1, b1), (t2, b2) in itertools.combinations(boxes, 2):
        assert not b1.padded(-2).overlaps(b2.padded(-2)), f"{name}: {t1!r} overlaps {t2!r}"


@pytest.mark.parametrize("name", DIAGRAMS)
def test_diagram_text_does_not_cross_the_edge_of_a_shape(name: str) -> None:
    # A label lies wholly inside a box, cell or circle (its label) or wholly outside it, never across its edge.
    fig = DIAGRAMS[name]()
    boxes = text_boxes(fig)
    shapes = [p for p in fig.axes[0].patches if isinstance(p, (Rectangle, FancyBboxPatch, Circle))]
    assert shapes
    for patch in shapes:
        outline = patch.get_window_extent()
        for text, bb in boxes:
            bb = bb.padded(-2)  # 2 pixels of tolerance on every side
            inside = outline.x0 <= bb.x0 and bb.x1 <= outline.x1 and outline.y0 <= bb.y0 and bb.y1 <= outline.y1
            assert inside or not bb.overlaps(outline), f"{name}: {text!r} crosses the edge of {patch}"


@pytest.mark.parametrize("name", DIAGRAMS)
def test_diagram_draws_nothing_outside_the_canvas(name: str) -> None:
    fig = DIAGRAMS[name]()
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    bounds = fig.bbox.padded(0.5)
    ax = fig.axes[0]
    for artist in [*ax.patches, *ax.lines]:
        bb = artist.get_window_extent(renderer)
        assert bounds.x0 <= bb.x0 and bb.x1 <= bounds.x1 and bounds.y0 <= bb.y0 and bb.y1 <= bounds.y1, (
            f"{name}: {artist} reaches outside the canvas")


def test_text_checks_catch_text_outside_or_on_top_of_other_text() -> None:
    fig, ax = diagrams.canvas(4, 2)
    ax.text(3.9, 1, "sticks out", fontsize=10)
    (_, bb), = text_boxes(fig)
    assert bb.x1 > fig.bbox.x1
    ax.text(3.8, 1, "sticks out too", fontsize=10)
    (_, b1), (_, b2) = text_boxes(fig)
    assert b1.padded(-2).overlaps(b2.padded(-2))
    outline = diagrams.box(ax, (4, 1), 1, 1).get_window_extent()
    assert b2.padded(-2).overlaps(outline) and b2.x1 > outline.x1 > b2.x0  # across the box's edge


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def numbers(strings: list[str]) -> list[float]:
    return [float(s.replace("−", "-")) for s in strings]


def test_cross_correlation_shows_the_books_example() -> None:
    t = texts(diagrams.cross_correlation())
    assert "0·0 + 1·1 + 3·2 + 4·3 = 19" in t
    assert numbers(t[t.index("kernel") + 2:t.index("output")]) == [19, 25, 37, 43]


def test_padding_stride_output_matches_conv2d() -> None:
    X, K = torch.arange(9.0).reshape(1, 1, 3, 3), torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    t = texts(diagrams.padding_stride(padding=1, stride=2))
    expected = F.conv2d(X, K, padding=1, stride=2).flatten().tolist()
    assert numbers(t[t.index("kernel") + 2:t.index("output, stride 2")]) == expected
    assert "0·0 + 0·1 + 1·2 + 2·3 = 8" in t


def test_channels_output_is_the_sum_over_channels() -> None:
    X = torch.tensor([[[0.0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1.0, 0, 1], [0, 2, 0], [1, 0, 1]]])
    K = torch.tensor([[[-1.0, -1], [1, 1]], [[1.0, 0], [0, 0]]])
    t = texts(diagrams.channels(X, K))
    expected = F.conv2d(X[None], K[None]).flatten().tolist()  # [[7, 6], [6, 8]]
    assert numbers(t[t.index("output") - 4:t.index("output")]) == expected
    assert "output[0, 0] = 6 + 1 = 7" in t


@pytest.mark.parametrize("stride", [1, 2])
def test_transposed_convolution_output_matches_pytorch(stride: int) -> None:
    X, K = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    expected = F.conv_transpose2d(X[None, None], K[None, None], stride=stride).flatten().tolist()
    t = texts(diagrams.transposed_convolution(X, K, stride=stride))
    assert numbers(t[t.index("output") - len(expected):t.index("output")]) == expected
    assert [s for s in t if s.endswith("× kernel")] == ["1 × kernel", "2 × kernel", "3 × kernel", "4 × kernel"]


def test_computational_graph_values_and_gradients_match_autograd() -> None:
    a = torch.tensor(0.5, requires_grad=True)
    b = torch.tensor(2.0, requires_grad=True)
    e = (a * b + a.exp()).sin()
    e.backward()
    t = texts(diagrams.computational_graph(0.5, 2.0))
    assert f"$\\bar{{a}}$ = {a.grad.item():.4g}".replace("-", "−") in t
    assert f"$\\bar{{b}}$ = {b.grad.item():.4g}".replace("-", "−") in t
    assert f"{e.item():.4g}" in t


def test_lenet_lists_the_books_layers_and_shapes() -> None:
    t = texts(diagrams.lenet())
    for shape in ["1 × 28 × 28", "6 × 28 × 28", "6 × 14 × 14", "16 × 10 × 10", "16 × 5 × 5", "400", "120", "84"]:
        assert shape in t
    assert "5×5 conv, 6 channels, padding 2, sigmoid" in t
    assert "dense, 84 units, relu" in texts(diagrams.lenet("relu"))


def test_receptive_field_counts() -> None:
    assert "one unit of layer 2 sees 5×5 input pixels" in texts(diagrams.receptive_field())
    assert "one unit of layer 3 sees 7×7 input pixels" in texts(diagrams.receptive_field(3, 3))


def boxes_by_column(fig: Figure, split: float) -> tuple[list[str], list[str]]:
    """The labels of the boxes and circles left and right of x = ``split`` (data units), each list bottom to top."""
    ax = fig.axes[0]
    shapes = [p for p in ax.patches if isinstance(p, (FancyBboxPatch, Circle))]
    labelled = []
    for t in ax.texts:
        x, y = t.get_position()
        for p in shapes:
            if p.contains_point(ax.transData.transform((x, y))):
                labelled.append((x, y, t.get_text()))
                break
    left = [s for x, y, s in sorted(labelled, key=lambda e: e[1]) if x < split]
    right = [s for x, y, s in sorted(labelled, key=lambda e: e[1]) if x >= split]
    return left, right


def fill_of(fig: Figure, label: str) -> str:
    """The fill colour (hex) of the box whose label is ``label``."""
    ax = fig.axes[0]
    (t,) = [t for t in ax.texts if t.get_text() == label]
    point = ax.transData.transform(t.get_position())
    (p,) = [p for p in ax.patches if isinstance(p, FancyBboxPatch) and p.contains_point(point)]
    return matplotlib.colors.to_hex(p.get_facecolor())


def test_inception_draws_four_paths_and_sums_their_channels() -> None:
    fig = diagrams.inception()
    t = texts(fig)
    assert t.count("1×1 conv") == 4
    for label in ["3×3 conv\npadding 1", "5×5 conv\npadding 2", "3×3 max pool\npadding 1", "concatenate (channels)",
                  "input: 192 channels, h × w", "output: 256 channels, h × w", "64 + 128 + 32 + 32 = 256"]:
        assert label in t
    assert fill_of(fig, "3×3 max pool\npadding 1") == diagrams.FILL["grey"]
    assert fill_of(fig, "5×5 conv\npadding 2") == diagrams.FILL["orange"]
    assert fill_of(fig, "concatenate (channels)") == diagrams.FILL["purple"]
    # GoogLeNet's inception 4a: 480 channels in, 192 + 208 + 48 + 64 = 512 out; each arrow names its channels
    t = texts(diagrams.inception(480, (192, (96, 208), (16, 48), 64)))
    assert "output: 512 channels, h × w" in t and "192 + 208 + 48 + 64 = 512" in t
    assert {"480", "96", "16"} <= set(t)


@pytest.mark.parametrize("shortcut", ["identity", "1x1"])
def test_residual_blocks_orders(shortcut: str) -> None:
    fig = diagrams.residual_blocks(shortcut)
    t = texts(fig)
    assert "(a) post-activation" in t and "(b) pre-activation" in t
    conv1 = "3×3 conv, stride 2" if shortcut == "1x1" else "3×3 conv"
    post, pre = boxes_by_column(fig, split=7.2)
    extra = ["1×1 conv\nstride 2"] if shortcut == "1x1" else []  # the shortcut's box sits beside the stack
    post = [s for s in post if s not in extra]
    pre = [s for s in pre if s not in extra]
    assert post == ["input x", conv1, "batch norm", "ReLU", "3×3 conv", "batch norm", "+", "ReLU", "output"]
    assert pre == ["input x", "batch norm", "ReLU", conv1, "batch norm", "ReLU", "3×3 conv", "+", "output"]
    assert t.count("1×1 conv\nstride 2") == (2 if shortcut == "1x1" else 0)
    assert t.count("x") == (0 if shortcut == "1x1" else 2)  # the identity shortcut is labelled x
    assert t.count("F(x)") == 2


@pytest.mark.parametrize("num_layers", [1, 3, 4])
def test_dense_block_connects_every_earlier_output_to_every_later_layer(num_layers: int) -> None:
    fig = diagrams.dense_block(num_layers)
    t = texts(fig)
    reads = ["reads\n$c_0$", "reads\n$c_0 + k$"] + [f"reads\n$c_0 + {j}k$" for j in range(2, num_layers)]
    assert [s for s in t if s.startswith("reads\n")] == reads[:num_layers]
    last = "$c_0 + k$" if num_layers == 1 else f"$c_0 + {num_layers}k$"
    assert f"reads {last}\ntransition" in t
    assert [f"$H_{j}$" for j in range(1, num_layers + 1)] == [s for s in t if s.startswith("$H_") and s.endswith("$")]
    assert any(s.startswith("$H_\\ell$: batch norm, ReLU, 3×3 conv with $k$ output channels") for s in t)
    assert {"1×1 conv", "2×2 avg pool"} <= set(t)
    arrows = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
    arcs = [p for p in arrows if p.get_connectionstyle().rad != 0]
    # layer j (the transition is layer L + 1) reads maps 0..j-1: the map j-1 by a straight arrow, the others by arcs
    assert len(arcs) == num_layers * (num_layers + 1) // 2
    assert len(arrows) - len(arcs) == 2 * num_layers + 2  # map -> layer, layer -> map, transition -> output


@pytest.mark.parametrize("c_in, c_out, k", [(3, 8, 3), (32, 64, 3), (16, 16, 5)])
def test_depthwise_separable_multiply_add_formulas(c_in: int, c_out: int, k: int) -> None:
    t = texts(diagrams.depthwise_separable())
    assert "multiply-adds: $h \\cdot w \\cdot c_\\mathrm{in} \\cdot c_\\mathrm{out} \\cdot k^2$" in t
    (separable,) = [s for s in t if "standard" in s and s.startswith("multiply-adds")]
    assert "c_\\mathrm{in} \\cdot k^2 + h \\cdot w \\cdot c_\\mathrm{in} \\cdot c_\\mathrm{out}" in separable
    assert "3 filters, 3×3\none per channel" in t and "1×1×3\nfilter" in t
    # the formulas count what PyTorch computes (FLOPs = 2 x multiply-adds), and the ratio is 1/c_out + 1/k^2
    from torch.utils.flop_counter import FlopCounterMode

    h = w = 10
    x = torch.zeros(1, c_in, h, w)
    standard = torch.nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)
    depthwise = torch.nn.Conv2d(c_in, c_in, k, padding=k // 2, groups=c_in, bias=False)
    pointwise = torch.nn.Conv2d(c_in, c_out, 1, bias=False)
    with FlopCounterMode(display=False) as a:
        standard(x)
    with FlopCounterMode(display=False) as b:
        pointwise(depthwise(x))
    assert a.get_total_flops() == 2 * h * w * c_in * c_out * k * k
    assert b.get_total_flops() == 2 * (h * w * c_in * k * k + h * w * c_in * c_out)
    assert b.get_total_flops() / a.get_total_flops() == pytest.approx(1 / c_out + 1 / k**2)


@pytest.mark.parametrize("depth, base", [(1, 64), (3, 64), (4, 32)])
def test_unet_levels_channels_and_resolutions(depth: int, base: int) -> None:
    t = texts(diagrams.unet(depth, base_channels=base))
    scales = ["H × W"] + [f"H/{2 ** i} × W/{2 ** i}" for i in range(1, depth + 1)]
    for i, scale in enumerate(scales):  # encoder and decoder blocks at levels < depth; the bottleneck once
        assert t.count(f"3×3 conv ×2\n{base * 2 ** i} × {scale}") == (2 if i < depth else 1)
    assert len([s for s in t if s.startswith("3×3 conv ×2")]) == 2 * depth + 1
    for label in ["copy and concatenate", "2×2 max pool", "2×2 up-conv"]:
        assert t.count(label) == depth
    assert {"input image, H × W", "1×1 conv", "class scores, H × W"} <= set(t)


def test_mlp_draws_every_unit_and_edge() -> None:
    fig = diagrams.mlp((4, 5, 3))
    ax = fig.axes[0]
    assert len(ax.patches) == 4 + 5 + 3
    (edges,) = ax.lines  # all edges in one line, segments separated by NaN
    assert len(edges.get_xdata()) == 3 * (4 * 5 + 5 * 3)
    assert ["input layer", "hidden layer", "output layer"] == [s for s in texts(fig) if s.endswith("layer")]


def test_grid_geometry_and_values() -> None:
    fig, ax = diagrams.canvas(6, 4)
    g = diagrams.grid(ax, [[1, 2.5, "x"], [None, 0, -1]], (1, 3), cell=0.5, highlight=(0, 1, 2, 2))
    assert (g.rows, g.cols, g.right, g.bottom) == (2, 3, 2.5, 2.0)
    assert g.center(1, 2) == (2.25, 2.25) and g.corner(2, 3) == (2.5, 2.0)
    assert texts(fig) == ["1", "2.5", "x", "0", "−1"]  # a typographic minus
    assert len(ax.patches) == 6 + 1  # six cells and one highlight
    g = diagrams.grid(ax, (3, 2), (0, 4), shade=[(0, 0)])
    assert (g.rows, g.cols) == (3, 2) and len(texts(fig)) == 5


def test_graph_layered_layout() -> None:
    fig, ax = diagrams.canvas(10, 5)
    edges = [("a", "b"), ("a", "c", "x"), ("b", "d"), ("c", "d"), ("a", "d")]
    patches = diagrams.graph(ax, ["a", "b", "c", "d"], edges, origin=(1, 2.5), spacing=(3, 1.5), circles=["d"])
    assert isinstance(patches["d"], matplotlib.patches.Circle) and patches["d"].center == (7, 2.5)
    centres = {n: (p.get_x() + p.get_width() / 2, p.get_y() + p.get_height() / 2) for n, p in patches.items()
               if n != "d"}
    assert centres == {"a": (1, 2.5), "b": (4, 3.25), "c": (4, 1.75)}
    assert "x" in texts(fig)
    arc = diagrams.graph(ax, {"p": "P", "q": "Q"}, [("p", "q")], positions={"p": (1, 1), "q": (3, 1)},
                         bends={("p", "q"): 0.3})
    assert isinstance(arc["p"], FancyBboxPatch) and "P" in texts(fig)
    assert ax.patches[-1].get_connectionstyle().rad == 0.3


def test_layer_stack_places_boxes_and_annotations() -> None:
    fig, ax = diagrams.canvas(10, 3)
    boxes = diagrams.layer_stack(ax, ["in", "conv", "out"], (1.5, 1.5), size=(2, 1), gap=1, direction="right",
                                 annotations=["3 × 8", None])
    assert [b.get_x() for b in boxes] == [0.5, 3.5, 6.5]
    assert texts(fig) == ["in", "conv", "out", "3 × 8"]


def boxes(fig: Figure, fill: str) -> list[tuple[float, str]]:
    """(x, label) of the labelled boxes of one fill (a key of FILL), left to right."""
    ax = fig.axes[0]
    found = []
    for u in ax.texts:
        point = ax.transData.transform(u.get_position())
        if any(isinstance(p, FancyBboxPatch) and p.contains_point(point)
               and matplotlib.colors.to_hex(p.get_facecolor()) == diagrams.FILL[fill] for p in ax.patches):
            found.append((u.get_position()[0], u.get_text()))
    return sorted(found)


def arrows(fig: Figure, color: str | None = None, dashed: bool | None = None) -> list[FancyArrowPatch]:
    """The arrows of a diagram, optionally only those of one colour (a key of LINE) or only (not) dashed ones."""
    found = []
    for p in fig.axes[0].patches:
        if not isinstance(p, FancyArrowPatch):
            continue
        if color is not None and matplotlib.colors.to_hex(p.get_edgecolor()) != diagrams.LINE[color].lower():
            continue
        if dashed is not None and (p.get_linestyle() == "--") != dashed:
            continue
        found.append(p)
    return found


def ends(p: FancyArrowPatch) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where an arrow starts and ends (data units), before clipping at its patches."""
    return p._posA_posB  # matplotlib keeps the two end points here (no public getter)


def centre_of(fig: Figure, label: str) -> tuple[float, float]:
    """The position of the text ``label`` (it must occur once)."""
    (t,) = [t for t in fig.axes[0].texts if t.get_text() == label]
    return t.get_position()


@pytest.mark.parametrize("steps", [1, 3, 4])
def test_unrolled_rnn_has_one_column_and_one_recurrent_arrow_per_step(steps: int) -> None:
    fig = diagrams.unrolled_rnn(steps)
    t = texts(fig)
    sub = "₁₂₃₄"
    for name in "xho":
        assert [s for s in t if len(s) == 2 and s[0] == name and s[1] in sub] == [name + sub[i] for i in range(steps)]
    assert {"xₜ", "hₜ", "oₜ", "h₀", "unfold", f"unrolled over {steps} time step{'s' if steps > 1 else ''}"} <= set(t)
    w_hh, w_xh, w_hq = "W$_\\mathrm{hh}$", "W$_\\mathrm{xh}$", "W$_\\mathrm{hq}$"
    assert t.count(w_hh) == steps + 1  # one per recurrent arrow, one on the folded network's self-loop
    assert t.count(w_xh) == 2 and t.count(w_hq) == 2  # shown once on each side: the parameters are shared
    assert any(s.startswith("every time step uses the same parameters") for s in t)
    # the recurrence: one horizontal arrow into each h_t, from h_{t-1} (h_0 first), at the height of the states
    y_h = centre_of(fig, "h₀")[1]
    recurrent = [ends(p) for p in arrows(fig) if ends(p)[0][1] == ends(p)[1][1] == y_h]
    assert len(recurrent) == steps
    xs = [centre_of(fig, "h₀")[0]] + [centre_of(fig, f"h{sub[i]}")[0] for i in range(steps)]
    for (a, b), (x0, x1) in zip(sorted(recurrent), zip(xs, xs[1:])):
        assert x0 < a[0] < b[0] < x1
    (loop,) = [p for p in arrows(fig) if p.get_connectionstyle().rad != 0]  # the folded network's self-loop
    assert ends(loop)[0][0] == ends(loop)[1][0]


@pytest.mark.parametrize("steps", [1, 3, 4])
def test_bptt_paths_shows_the_jacobians_and_the_sum_over_steps(steps: int) -> None:
    fig = diagrams.bptt_paths(steps)
    t = texts(fig)
    sub = "₀₁₂₃₄"
    jacobians = [f"∂h{sub[k]}/∂h{sub[k - 1]}" for k in range(2, steps + 1)]
    assert [s for s in t if s.startswith("∂h")] == jacobians  # one label per recurrent backward arrow
    for k in range(1, steps + 1):
        assert {f"x{sub[k]}", f"h{sub[k]}", f"o{sub[k]}", f"L{sub[k]}"} <= set(t)
    assert {"L", "h₀", "W$_\\mathrm{hh}$", "backward: gradients"} <= set(t)
    chain = [s for s in t if "reaches h₁" in s]
    if steps == 1:
        assert chain == []
    else:
        assert chain == [f"L{sub[steps]} reaches h₁ only through the product {' · '.join(reversed(jacobians))}"]
    backward = arrows(fig, "vermillion", dashed=True)
    forward = arrows(fig, "ink", dashed=False)
    assert forward and not arrows(fig, "ink", dashed=True)
    # backward: L -> L_t, L_t -> o_t, o_t -> h_t, h_t -> h_{t-1}; each h_t's term for W_hh drops to the bus
    # (into a "+", except the last) and the bus runs from "+" to "+" into W_hh
    assert len(backward) == 3 * steps + (steps - 1) + (2 * steps - 1)
    assert sum(p.get_connectionstyle().rad != 0 for p in backward) == 3 * steps + steps - 1  # curved, beside
    assert texts(fig).count("+") == steps - 1  # the terms of ∂L/∂W_hh are added step by step
    assert any(s.startswith("∂L/∂W$_\\mathrm{hh}$ adds one term from every time step") for s in t)


def test_rnn_topologies_has_four_titled_panels() -> None:
    fig = diagrams.rnn_topologies()
    t = texts(fig)
    titles = ["one to many (1 → N)", "many to one (N → 1)", "many to many, aligned (N → N)",
              "many to many, unaligned (N → M)"]
    assert [s for s in t if s.startswith(("one to", "many to"))] == titles
    assert sum(s.startswith("e.g. ") for s in t) == 4 and "e.g. machine translation (encoder–decoder)" in t
    assert t.count("x") == 1 and t.count("o") == 1  # one input (1 → N), one output (N → 1)
    assert t.count("x₁") == 3 and t.count("o₁") == 3 and t.count("x₄") == 3 and t.count("o₄") == 2
    assert "o₃" in t and {"encoder", "decoder", "input", "hidden state", "output"} <= set(t)
    hidden = [p for p in fig.axes[0].patches if isinstance(p, FancyBboxPatch)
              and matplotlib.colors.to_hex(p.get_facecolor()) == diagrams.FILL["yellow"]]
    assert len(hidden) == 4 + 4 + 4 + 7 + 1  # the steps of the four panels and the legend
    assert len(arrows(fig)) == (3 + 1 + 4) + (3 + 4 + 1) + (3 + 4 + 4) + (6 + 4 + 3)


def test_elman_jordan_feeds_back_the_hidden_state_or_the_output() -> None:
    fig = diagrams.elman_jordan()
    t = texts(fig)
    assert {"(a) Elman network", "(b) Jordan network", "the hidden state is fed back", "the output is fed back",
            "context units\nhₜ₋₁", "state units\nyₜ₋₁", "hₜ = φ(W xₜ + U hₜ₋₁ + b)",
            "hₜ = φ(W xₜ + U yₜ₋₁ + b)"} <= set(t)
    assert t.count("hidden hₜ") == t.count("output yₜ") == t.count("input xₜ") == 2
    ys = {label: [y for s, (x, y) in ((u.get_text(), u.get_position()) for u in fig.axes[0].texts) if s == label]
          for label in ("hidden hₜ", "output yₜ")}
    # the dashed copy leaves the hidden layer in (a) and the output layer in (b)
    copies = sorted((line.get_xdata()[0], line.get_ydata()[0]) for line in fig.axes[0].lines
                    if line.get_linestyle() == "--")
    assert [y for _, y in copies] == [ys["hidden hₜ"][0], ys["output yₜ"][1]]
    assert len(arrows(fig, dashed=True)) == 2 and t.count("U") == 2


def test_gru_cell_gates_and_operations() -> None:
    t = texts(diagrams.gru_cell())
    assert {"reset gate\nσ", "update gate\nσ", "candidate\ntanh", "Rₜ", "Zₜ", "H̃ₜ", "Rₜ ⊙ hₜ₋₁", "hₜ₋₁", "hₜ",
            "xₜ", "[hₜ₋₁, xₜ]"} <= set(t)
    assert t.count("⊙") == 3 and t.count("+") == 1 and t.count("1−") == 1
    assert "hₜ = Zₜ ⊙ hₜ₋₁ + (1 − Zₜ) ⊙ H̃ₜ" in t


def test_lstm_cell_gates_and_the_green_cell_path() -> None:
    fig = diagrams.lstm_cell()
    t = texts(fig)
    for gate in ["forget gate\nσ", "input gate\nσ", "output gate\nσ"]:
        assert t.count(gate) == 1
    assert {"candidate\ntanh", "tanh", "Fₜ", "Iₜ", "Oₜ", "C̃ₜ", "Cₜ₋₁", "Cₜ", "hₜ₋₁", "hₜ", "xₜ"} <= set(t)
    assert t.count("⊙") == 3 and t.count("+") == 1
    assert {"Cₜ = Fₜ ⊙ Cₜ₋₁ + Iₜ ⊙ C̃ₜ", "hₜ = Oₜ ⊙ tanh(Cₜ)"} <= set(t)
    # the cell state's path: thick green arrows, all at one height, from the left edge to the right one
    cell = arrows(fig, "green")
    assert len(cell) == 3 and all(p.get_linewidth() > 2 for p in cell)
    ys = {y for p in cell for _, y in ends(p)}
    assert len(ys) == 1 and ys == {centre_of(fig, "Cₜ₋₁")[1]}
    xs = sorted(x for p in cell for x, _ in ends(p))
    left, right = centre_of(fig, "Cₜ₋₁")[0], centre_of(fig, "Cₜ")[0]
    assert xs[0] - left < 1.5 and right - xs[-1] < 0.5  # from the label C_{t-1} to the label C_t
    assert xs[0] < centre_of(fig, "+")[0] < xs[-1]  # through the forget gate's ⊙ and the +


def test_encoder_decoder_shifts_the_target_and_feeds_the_context_everywhere() -> None:
    fig = diagrams.encoder_decoder()
    t = texts(fig)
    source, target = ["they", "are", "watching", "<eos>"], ["ils", "regardent", "<eos>"]
    assert {"encoder", "decoder", "peeky (optional)", "context\nc = h₄"} <= set(t)

    def row(fill: str) -> list[str]:
        return [s for _, s in boxes(fig, fill)]

    assert row("blue") == source + ["<bos>"] + target[:-1]  # teacher forcing: the target shifted by one
    assert row("green") == target
    assert row("yellow") == ["h₁", "h₂", "h₃", "h₄", "s₁", "s₂", "s₃"]
    peeky = arrows(fig, "purple", dashed=True)
    assert len(peeky) == len(target)  # c enters every decoder step
    s_x = [centre_of(fig, f"s{k}")[0] for k in "₁₂₃"]
    for p, x in zip(sorted(peeky, key=lambda p: ends(p)[0][0]), s_x):
        (x0, _), (x1, y1) = ends(p)
        assert x0 == x1 and abs(x1 - x) < 0.55 and y1 < centre_of(fig, "s₁")[1]


@pytest.mark.parametrize("call, message", [
    (lambda: diagrams.mlp(()), "at least an input and an output"),
    (lambda: diagrams.mlp((4,)), "at least an input and an output"),
    (lambda: diagrams.mlp((4, 0, 3)), "layer size"),
    (lambda: diagrams.neuron(0), "n_inputs"),
    (lambda: diagrams.computational_graph(float("nan")), "finite"),
    (lambda: diagrams.cross_correlation([[1, 2], [3, 4]], [[1, 2, 3]] * 3), "larger than"),
    (lambda: diagrams.cross_correlation(position=(2, 0)), "outside"),
    (lambda: diagrams.cross_correlation([[1, 2], [3]]), "equal-length rows"),
    (lambda: diagrams.padding_stride(stride=0), "stride"),
    (lambda: diagrams.padding_stride(padding=0, K=[[1] * 4] * 4), "larger than"),
    (lambda: diagrams.channels(X=[[[1]]]), "2 channels"),
    (lambda: diagrams.channels(K=[[[1, 0], [0, 1]], [[1]]]), "kernel slices"),
    (lambda: diagrams.receptive_field(num_layers=4), "num_layers"),
    (lambda: diagrams.transposed_convolution(stride=3), "stride"),
    (lambda: diagrams.lenet(""), "activation"),
    (lambda: diagrams.inception(in_channels=0), "in_channels must be a positive integer"),
    (lambda: diagrams.inception(channels=(64, 96, (16, 32), 32)), r"channels must be \(c1, \(c2a, c2b\)"),
    (lambda: diagrams.inception(channels=(64, (96, 0), (16, 32), 32)), "c2b must be a positive integer"),
    (lambda: diagrams.residual_blocks("projection"), "shortcut must be 'identity' or '1x1'"),
    (lambda: diagrams.dense_block(0), "num_layers must be an integer from 1 to 4"),
    (lambda: diagrams.dense_block(5), "num_layers must be an integer from 1 to 4"),
    (lambda: diagrams.dense_block(2.0), "num_layers"),
    (lambda: diagrams.depthwise_separable(1), "in_channels must be an integer from 2 to 4"),
    (lambda: diagrams.unet(0), "depth must be an integer from 1 to 4"),
    (lambda: diagrams.unet(5), "depth"),
    (lambda: diagrams.unet(base_channels=0), "base_channels"),
    (lambda: diagrams.unrolled_rnn(0), "unrolled_rnn: steps must be an integer from 1 to 4, got 0"),
    (lambda: diagrams.unrolled_rnn(5), "steps must be an integer from 1 to 4"),
    (lambda: diagrams.unrolled_rnn(2.0), "steps"),
    (lambda: diagrams.bptt_paths(0), "bptt_paths: steps must be an integer from 1 to 4, got 0"),
    (lambda: diagrams.bptt_paths(-3), "steps"),
    (lambda: diagrams.bptt_paths(True), "steps"),
    (lambda: diagrams.canvas(0, 1), "positive"),
    (lambda: diagrams.grid(diagrams.canvas(4, 4)[1], (2, 2), (0, 4), highlight=(1, 1, 2, 2)), "does not fit"),
    (lambda: diagrams.grid(diagrams.canvas(4, 4)[1], [], (0, 4)), "non-empty"),
    (lambda: diagrams.grid(diagrams.canvas(4, 4)[1], (2, 2), (0, 4), highlight=[(0, 0, 1, 1)] * 2,
                           highlight_color=["blue"]), "colours"),
    (lambda: diagrams.graph(diagrams.canvas(4, 4)[1], ["a"], [("a", "b")]), "unknown nodes"),
    (lambda: diagrams.graph(diagrams.canvas(4, 4)[1], ["a", "b"], [("a", "b"), ("b", "a")]), "cycle"),
    (lambda: diagrams.graph(diagrams.canvas(4, 4)[1], ["a", "b"], [], positions={"a": (1, 1)}), "missing"),
    (lambda: diagrams.layer_stack(diagrams.canvas(4, 4)[1], ["a", "b"], (1, 1), annotations=[]), "annotations"),
    (lambda: diagrams.layer_stack(diagrams.canvas(4, 4)[1], ["a"], (1, 1), direction="left"), "direction"),
    (lambda: diagrams.arrow(diagrams.canvas(4, 4)[1], (0, 0), (1, 1), side=0), "side"),
])
def test_bad_input_raises_a_clear_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_word2vec_models_mirror_each_other() -> None:
    fig = diagrams.word2vec_models()
    assert {"CBOW: context → centre word", "skip-gram: centre word → context", "mean"} <= set(texts(fig))
    context = ["wₜ₋₂", "wₜ₋₁", "wₜ₊₁", "wₜ₊₂"]
    inputs, outputs = boxes(fig, "blue"), boxes(fig, "green")
    middle = (max(x for x, _ in inputs + outputs) + min(x for x, _ in inputs + outputs)) / 2
    # CBOW (left): four context words in, the centre word out; skip-gram (right): the reverse
    assert [s for x, s in inputs if x < middle] == context and [s for x, s in outputs if x < middle] == ["wₜ"]
    assert [s for x, s in inputs if x > middle] == ["wₜ"] and [s for x, s in outputs if x > middle] == context


@pytest.mark.parametrize("k", [1, 3, 5])
def test_negative_sampling_has_one_observed_and_k_noise_pairs(k: int) -> None:
    fig = diagrams.negative_sampling(k)
    t = texts(fig)
    assert t.count("label 1") == 1 and t.count("label 0") == k and t.count("σ") == k + 1
    assert [s for _, s in boxes(fig, "grey")] == [f"n{'₁₂₃₄₅'[i]}" for i in range(k)]
    assert [s for _, s in boxes(fig, "green")] == ["wₒ"] and [s for _, s in boxes(fig, "blue")] == ["wₜ"]
    assert any(f"i = 1 … {k}" in s for s in t)
    with pytest.raises(ValueError, match="k"):
        diagrams.negative_sampling(0)


def test_viterbi_trellis_draws_one_path_through_allowed_transitions() -> None:
    fig = diagrams.viterbi_trellis()
    t = texts(fig)
    assert {"B", "M", "E", "S"} <= set(t) and any(s.startswith("best path B E S B E") for s in t)
    assert len(arrows(fig, "vermillion")) == 4                  # five characters, four steps of the path
    # allowed transitions: 4 from the first column (it starts with B or S), 8 at each of the two middle
    # steps, 4 into the last column (it ends with E or S): 24 lines, the path's 4 drawn as arrows
    grey = [p for p in arrows(fig) if matplotlib.colors.to_hex(p.get_edgecolor()) == "#888888"]
    assert len(grey) + 4 == 4 + 8 + 8 + 4


def test_attention_pooling_weights_every_value_once() -> None:
    fig = diagrams.attention_pooling()
    t = texts(fig)
    assert [s for _, s in boxes(fig, "blue")] == ["k₁", "k₂", "k₃", "kₙ"]
    assert [s for _, s in boxes(fig, "green") if s.startswith("v")] == ["v₁", "v₂", "v₃", "vₙ"]
    assert [s for _, s in boxes(fig, "orange")] == [f"a(q, k{c})" for c in "₁₂₃ₙ"]
    assert t.count("×") == 4 and t.count("Σ") == 1 and {"α₁", "αₙ", "query q"} <= set(t)


def test_multi_head_attention_projects_attends_and_mixes() -> None:
    fig = diagrams.multi_head_attention()
    assert [s for _, s in boxes(fig, "blue")] == ["queries", "keys", "values"]
    assert {"concatenate the h heads", "scaled dot-product attention, head i", "output"} <= set(texts(fig))
    front = [s for _, s in boxes(fig, "orange") if s]                # labelled: the front copy of each stack
    assert len(front) == 4 and "W$_\\mathrm{o}$" in front


def test_transformer_block_has_two_sublayers_in_the_encoder_and_three_in_the_decoder() -> None:
    t = texts(fig := diagrams.transformer_block())
    assert t.count("add & norm") == 5 and t.count("position-wise FFN") == 2
    assert "multi-head self-attention" in t and any("cross-attention" in s for s in t)
    assert any(s.startswith("masked multi-head") for s in t) and t.count("× N") == 2
    del fig


def test_causal_kv_cache_masks_the_upper_triangle_and_appends_one_key() -> None:
    t = texts(diagrams.causal_kv_cache())
    assert t.count("0") == 15                                     # 6 x 6 mask: 15 entries above the diagonal
    assert {"k₆", "v₆", "α₆", "x₆ = i"} <= set(t) and "k₇" not in t


def test_all_reduce_has_one_replica_gradient_and_update_per_worker() -> None:
    for n in (2, 3):
        t = texts(fig := diagrams.all_reduce(n))
        assert t.count("replica of the model (w)") == n and t.count("w ← w − η ḡ") == n
        assert any(s.endswith(f") / {n} on every worker") for s in t)
        del fig
    with pytest.raises(ValueError):
        diagrams.all_reduce(4)  # wider than the page


def test_autoencoder_shows_the_bottleneck_and_the_reparameterization() -> None:
    t = texts(diagrams.autoencoder())
    assert {"encoder f", "decoder g", "z", "μ", "σ"} <= set(t)
    assert any("ε ~ N(0, I)" in s for s in t) and any("ELBO" in s for s in t)


def test_gan_training_loop_updates_each_network_from_its_own_loss() -> None:
    t = texts(diagrams.gan_training_loop())
    assert any(s.startswith("generator step") and "updates $\\theta_G$ only" in s for s in t)
    assert any(s.startswith("discriminator step") and "detached" in s for s in t)


def test_message_passing_weights_are_the_normalized_adjacency_of_node_1() -> None:
    t = texts(diagrams.message_passing())
    assert {"1/√8", "1/√12", "1/4 (self-loop)", "Σ", "W", "σ"} <= set(t) and t.count("1/√12") == 2
