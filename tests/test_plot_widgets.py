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
    plt.close("all")
    with pytest.raises(ValueError, match=r"\(n, h, w\)"):
        d2l.show_images(torch.rand(8, 8), 1, 1)


def test_show_heatmaps_shape_check():
    fig = d2l.show_heatmaps(torch.rand(1, 2, 4, 5), "keys", "queries", titles=["a", "b"])
    assert len(fig.axes) == 3  # two heatmaps and the colour bar
    plt.close("all")
    with pytest.raises(ValueError, match="rows, cols, m, n"):
        d2l.show_heatmaps(torch.rand(3, 4, 5), "x", "y")


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
    assert "Static figure at order=3, scale=1, kind=sin" in capsys.readouterr().out
    plt.close("all")


def test_interact_live_mode_builds_widgets(monkeypatch):
    monkeypatch.delenv("D2L_STATIC_WIDGETS", raising=False)
    pytest.importorskip("ipywidgets")

    def draw(order=3, scale=1.0, kind="exp", show=True):
        plt.plot([0, 1], [0, scale])

    ui = d2l.interact(draw, order=(1, 9, 2), scale=(0.0, 2.0), kind=["sin", "exp"], show=True)
    kinds = [type(c).__name__ for c in ui.children[:4]]
    assert kinds == ["IntSlider", "FloatSlider", "Dropdown", "Checkbox"]
    assert ui.children[0].value == 3 and ui.children[2].value == "exp"
    plt.close("all")


def test_interact_rejects_unknown_parameter():
    def draw(a=1):
        pass

    with pytest.raises(ValueError, match="no parameter"):
        d2l.interact(draw, b=(0, 1))
