import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch

import d2lutils as d2l


def test_plot_several_curves_with_legend_and_log_axis():
    x = torch.arange(1, 11).float()
    ax = d2l.plot(x, [x, x**2], xlabel="x", ylabel="y", legend=["x", "x^2"], yscale="log")
    assert len(ax.lines) == 2
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["x", "x^2"]
    assert ax.lines[1].get_ydata()[-1] == 100
    assert [line.get_label() for line in ax.lines] == ["x", "x^2"]  # a later ax.legend(loc=...) finds them
    plt.close("all")


def test_plot_y_only_uses_index_as_x():
    ax = d2l.plot([3.0, 1.0, 2.0])
    assert list(ax.lines[0].get_xdata()) == [0, 1, 2]
    plt.close("all")


def test_plot_rejects_bad_shapes():
    with pytest.raises(ValueError, match="1-D"):
        d2l.plot(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="3 x values but 2 y values"):
        d2l.plot([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="legend has 1 names for 2 curves"):
        d2l.plot([1, 2], [[1, 2], [3, 4]], legend=["a"])


def test_show_images_accepts_nchw_and_rejects_bad_shape():
    axes = d2l.show_images(torch.rand(6, 1, 8, 8), 2, 3, titles=list("abcdef"))
    assert len(axes) == 6 and axes[5].get_title() == "f"
    assert axes[0].images[0].get_interpolation() == "none"  # pixels unresampled: small SVG, sharp squares
    plt.close("all")
    with pytest.raises(ValueError, match=r"\(n, h, w\)"):
        d2l.show_images(torch.rand(8, 8), 1, 1)


def test_show_heatmaps_shape_check():
    fig = d2l.show_heatmaps(torch.rand(1, 2, 4, 5), "keys", "queries", titles=["a", "b"])
    assert len(fig.axes) == 3  # two heatmaps and the colour bar
    plt.close("all")


def test_show_heatmaps_colour_bars_are_true_for_every_panel():
    m = torch.stack([torch.rand(4, 5), 10 * torch.rand(4, 5)])[None]          # two panels, ranges 1 and 10
    fig = d2l.show_heatmaps(m, "keys", "queries")
    limits = {im.get_clim() for ax in fig.axes[:2] for im in ax.get_images()}
    assert limits == {(m.min().item(), m.max().item())}                        # one scale for both
    fig = d2l.show_heatmaps(m, "keys", "queries", share=False)
    assert len(fig.axes) == 4                                                  # a colour bar per panel
    assert fig.axes[0].get_images()[0].get_clim()[1] < 1 < fig.axes[1].get_images()[0].get_clim()[1]
    fig = d2l.show_heatmaps(m, "keys", "queries", norm=matplotlib.colors.LogNorm(1e-3, 10))
    assert len(fig.axes) == 3 and fig.axes[0].get_images()[0].get_clim() == (1e-3, 10)
    plt.close("all")
    with pytest.raises(ValueError, match="rows, cols, m, n"):
        d2l.show_heatmaps(torch.rand(3, 4, 5), "x", "y")


def _ticks(axes):
    axes.figure.canvas.draw()
    lo, hi = axes.get_xlim()
    return [t for t in axes.get_xticks() if lo <= t <= hi]


def test_animator_epoch_axis_has_integer_ticks():
    anim = d2l.Animator(xlabel="epoch", xlim=(1, 2), legend=["loss"])
    anim.add(1, 0.5)
    anim.add(2, 0.3)
    ticks = _ticks(anim.axes)
    assert ticks == [1.0, 2.0]


def test_plot_integer_x_gets_integer_ticks_and_fractional_x_keeps_fractions():
    ax = d2l.plot([1, 2, 3], [0.5, 0.4, 0.3], xlabel="epoch")
    assert all(float(t).is_integer() for t in _ticks(ax)) and len(_ticks(ax)) >= 2
    ax = d2l.plot([0.1, 0.2, 0.3], [1, 2, 3])
    assert not all(float(t).is_integer() for t in _ticks(ax))
    plt.close("all")


def test_animator_in_jupyter_updates_one_display(monkeypatch):
    """In a notebook the figure is displayed once and then updated in place, one output for the whole run."""
    import importlib

    import IPython.display

    plot_module = importlib.import_module("d2lutils.plot")  # d2lutils.plot is also the name of a function
    events = []

    class Handle:
        def update(self, obj):
            events.append("update")

    def display(obj, display_id=False):
        events.append("display")
        return Handle()

    monkeypatch.setattr(plot_module, "_in_jupyter", lambda: True)
    monkeypatch.setattr(IPython.display, "display", display)
    anim = d2l.Animator(legend=["a"])
    for i in range(3):
        anim.add(i + 1, i)
    assert events == ["display", "update", "update"]


def test_animator_outside_jupyter_keeps_data_and_does_not_crash():
    anim = d2l.Animator(xlabel="epoch", legend=["a", "b"])
    for i in range(3):
        anim.add(i, (i, None if i == 1 else 2 * i))
    assert anim.X == [[0, 1, 2], [0, 2]]
    assert anim.Y == [[0, 1, 2], [0, 4]]
    assert len(anim.axes.lines) == 2
    with pytest.raises(ValueError, match="expected 2"):
        anim.add(3, (1, 2, 3))


def test_interact_static_mode_draws_default_figure(monkeypatch, capsys):
    monkeypatch.setenv("D2L_STATIC_WIDGETS", "1")
    calls = []

    def draw(order=3, scale=1.0, kind="sin"):
        calls.append((order, scale, kind))
        plt.plot([0, 1], [0, scale])

    assert d2l.interact(draw, order=(1, 9, 2), scale=(0.0, 2.0), kind=["sin", "exp"]) is None
    assert calls == [(3, 1.0, "sin")]
    # Read on the website (no kernel) and in JupyterLab before the cell runs: true in both places.
    assert capsys.readouterr().out == ("Figure drawn once at order=3, scale=1, kind=sin; run this cell in "
                                       "JupyterLab for\ncontrols that redraw it.\n")
    plt.close("all")


@pytest.fixture
def displayed(monkeypatch):
    """Record what is passed to IPython's display() instead of showing it."""
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kwargs: shown.append(obj))
    monkeypatch.delenv("D2L_STATIC_WIDGETS", raising=False)
    return shown


def test_interact_live_mode_shows_one_panel(displayed):
    """interact() displays its panel once and returns None, so the cell does not show it a second time."""
    import ipywidgets

    def draw(order=3, scale=1.0, kind="exp", show=True, text="a fine film"):
        plt.plot([0, 1], [0, scale])

    assert d2l.interact(draw, order=(1, 9, 2), scale=(0.0, 2.0), kind=["sin", "exp"], show=True,
                        text="") is None
    assert len(displayed) == 1
    ui = displayed[0]
    assert isinstance(ui, ipywidgets.interactive)
    kinds = [type(c).__name__ for c in ui.children[:5]]
    assert kinds == ["IntSlider", "FloatSlider", "Dropdown", "Checkbox", "Text"]
    assert ui.children[0].value == 3 and ui.children[2].value == "exp"
    assert ui.children[4].value == "a fine film" and not ui.children[4].continuous_update
    plt.close("all")


@pytest.mark.parametrize(("control", "readout"), [
    ((0.5, 0.9999, 0.0001), ".4f"), ((0.0, 2.0), ".2f"), ((0.0, 1.0, 0.05), ".2f"), ((0.0, 0.3, 0.001), ".3f")])
def test_float_slider_readout_shows_the_step(displayed, control, readout):
    """A slider with step 0.0001 reads 0.9990, not 1.00."""

    def draw(beta=0.999):
        pass

    d2l.interact(draw, beta=control)
    assert displayed[0].children[0].readout_format == readout


def test_interact_rejects_unknown_parameter():
    def draw(a=1):
        pass

    with pytest.raises(ValueError, match="no parameter"):
        d2l.interact(draw, b=(0, 1))
