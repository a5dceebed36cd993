"""Plotting helpers: SVG line plots, image grids, heatmaps and a live training ``Animator``.

Figures made here are plain matplotlib figures. In Jupyter, line plots are
rendered as SVG (crisp and small); outside Jupyter nothing here needs a screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["use_svg_display", "set_figsize", "set_axes", "plot", "show_images", "show_heatmaps", "Animator"]

ArrayLike = Any  # a list of numbers, a NumPy array or a 1-D tensor


def use_svg_display() -> None:
    """Render figures in Jupyter as SVG, with stable ids so stored outputs do not change from run to run."""
    matplotlib.rcParams["svg.hashsalt"] = "d2lutils"
    matplotlib.rcParams["svg.fonttype"] = "none"  # text as text, not glyph outlines: smaller, selectable
    matplotlib.rcParams["font.sans-serif"] = ["DejaVu Sans"]  # one name (then the browser's sans-serif)
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # no IPython: nothing to configure
        return
    if get_ipython() is not None:  # only inside a Jupyter kernel or IPython shell
        set_matplotlib_formats("svg")


def set_figsize(figsize: tuple[float, float] = (3.5, 2.5)) -> None:
    """Set the default size of new figures, in inches, and switch to SVG output."""
    use_svg_display()
    matplotlib.rcParams["figure.figsize"] = figsize


def set_axes(
    axes: Axes,
    xlabel: str | None = None,
    ylabel: str | None = None,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    xscale: str = "linear",
    yscale: str = "linear",
    legend: Sequence[str] | None = None,
) -> None:
    """Set labels, limits, scales (``"linear"`` or ``"log"``), legend and grid of ``axes``."""
    axes.set_xlabel(xlabel or "")
    axes.set_ylabel(ylabel or "")
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    if xlim is not None:
        axes.set_xlim(xlim)
    if ylim is not None:
        axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid(True, alpha=0.3)


def _integer_ticks_if_integral(axes: Axes, xs: Sequence[Sequence[float]], xscale: str) -> None:
    """Put x ticks on integers only when every x value is an integer (epochs: 1, 2 and not 1.0, 1.2, ...)."""
    values = [v for x in xs for v in x]
    if xscale == "linear" and values and all(float(v).is_integer() for v in values):
        # matplotlib's default locator (AutoLocator), restricted to integer ticks
        axes.xaxis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True,
                                                 min_n_ticks=1))


def _as_list(values: ArrayLike, name: str) -> list[float]:
    if isinstance(values, torch.Tensor):
        if values.dim() > 1:
            raise ValueError(f"plot: {name} must be 1-D, got a tensor of shape {tuple(values.shape)}")
        return values.detach().cpu().tolist()
    if hasattr(values, "ndim") and values.ndim > 1:
        raise ValueError(f"plot: {name} must be 1-D, got an array of shape {values.shape}")
    return list(values)


def _is_one_curve(values: Any) -> bool:
    if isinstance(values, torch.Tensor):
        return values.dim() == 1
    if hasattr(values, "ndim"):
        return values.ndim == 1
    return isinstance(values, (list, tuple)) and (len(values) == 0 or not hasattr(values[0], "__len__"))


def plot(
    X: ArrayLike | Sequence[ArrayLike],
    Y: ArrayLike | Sequence[ArrayLike] | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    legend: Sequence[str] | None = None,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    xscale: str = "linear",
    yscale: str = "linear",
    fmts: Sequence[str] = ("-", "m--", "g-.", "r:", "c-", "y--"),
    figsize: tuple[float, float] = (3.5, 2.5),
    axes: Axes | None = None,
) -> Axes:
    """Plot one or several curves on one pair of axes and return the axes.

    When every x value is an integer (epochs, steps, counts) the x ticks are integers too.

    Args:
        X: x values of every curve, or one sequence shared by all curves; if ``Y``
            is ``None``, ``X`` holds the y values and x runs 0, 1, 2, ...
        Y: y values: one sequence (one curve) or a list of sequences (several curves).
        xlabel, ylabel: axis labels.
        legend: one name per curve.
        xlim, ylim: axis limits.
        xscale, yscale: ``"linear"`` or ``"log"``.
        fmts: matplotlib format strings, used in turn.
        figsize: size of a new figure in inches (ignored when ``axes`` is given).
        axes: draw on these axes instead of a new figure.

    Raises:
        ValueError: a curve is not 1-D, x and y lengths differ, or the legend has the wrong length.
    """
    if Y is None:
        X, Y = None, X
    for name, values in (("X", X), ("Y", Y)):
        if getattr(values, "ndim", 1) > 1:
            raise ValueError(f"plot: {name} must be 1-D or a list of 1-D curves, got shape "
                             f"{tuple(values.shape)}; pass several curves as a list")
    ys = [Y] if _is_one_curve(Y) else list(Y)
    ys = [_as_list(y, "Y") for y in ys]
    if X is None:
        xs = [list(range(len(y))) for y in ys]
    elif _is_one_curve(X):
        xs = [_as_list(X, "X")] * len(ys)
    else:
        xs = [_as_list(x, "X") for x in X]
    if len(xs) != len(ys):
        raise ValueError(f"plot: got {len(xs)} x sequences for {len(ys)} curves")
    for i, (x, y) in enumerate(zip(xs, ys)):
        if len(x) != len(y):
            raise ValueError(f"plot: curve {i} has {len(x)} x values but {len(y)} y values")
    if legend is not None and len(legend) != len(ys):
        raise ValueError(f"plot: legend has {len(legend)} names for {len(ys)} curves")
    if axes is None:
        use_svg_display()
        _, axes = plt.subplots(figsize=figsize)
    for i, (x, y) in enumerate(zip(xs, ys)):
        # Labelled lines, so that a later axes.legend(...) call (e.g. to move it) finds them.
        axes.plot(x, y, fmts[i % len(fmts)], label=legend[i] if legend is not None else None)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)
    _integer_ticks_if_integral(axes, xs, xscale)
    return axes


def show_images(
    imgs: torch.Tensor | Sequence[Any],
    num_rows: int,
    num_cols: int,
    titles: Sequence[str] | None = None,
    scale: float = 1.5,
    cmap: str = "gray",
) -> list[Axes]:
    """Show images in a grid and return the axes.

    Args:
        imgs: a tensor of shape ``(n, h, w)``, ``(n, 1, h, w)`` or ``(n, 3, h, w)``,
            or a sequence of 2-D/3-D images; at most ``num_rows * num_cols`` are shown.
        num_rows, num_cols: grid size.
        titles: one title per image (optional).
        scale: inches per image.
        cmap: colour map for one-channel images.
    """
    if num_rows < 1 or num_cols < 1:
        raise ValueError(f"show_images: num_rows and num_cols must be positive, got {num_rows}, {num_cols}")
    if isinstance(imgs, torch.Tensor):
        if imgs.dim() == 4 and imgs.shape[1] in (1, 3):
            imgs = imgs.permute(0, 2, 3, 1)
            if imgs.shape[-1] == 1:
                imgs = imgs[..., 0]
        elif imgs.dim() != 3:
            raise ValueError(
                f"show_images: expected images of shape (n, h, w) or (n, c, h, w) with c in (1, 3), "
                f"got {tuple(imgs.shape)}")
        imgs = list(imgs.detach().cpu())
    if titles is not None and len(titles) < min(len(imgs), num_rows * num_cols):
        raise ValueError(f"show_images: {len(titles)} titles for {len(imgs)} images")
    fig, axes = plt.subplots(num_rows, num_cols, figsize=(num_cols * scale, num_rows * scale), squeeze=False)
    flat = list(axes.flatten())
    for i, ax in enumerate(flat):
        ax.axis("off")
        if i >= len(imgs):
            continue
        img = imgs[i]
        if isinstance(img, torch.Tensor):
            img = img.detach().cpu().numpy()
        # interpolation="none": the pixels as they are, which SVG embeds unresampled (a third of the
        # bytes of a resampled image) and browsers draw as sharp squares
        ax.imshow(img, cmap=cmap, interpolation="none")
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    fig.tight_layout()
    return flat


def show_heatmaps(
    matrices: torch.Tensor,
    xlabel: str,
    ylabel: str,
    titles: Sequence[str] | None = None,
    figsize: tuple[float, float] = (2.5, 2.5),
    cmap: str = "Reds",
    *,
    share: bool = True,
    norm: Normalize | None = None,
) -> Figure:
    """Show a grid of heatmaps, e.g. attention weights, with colour bars that are true for every panel.

    Args:
        matrices: a tensor of shape ``(rows, cols, m, n)`` (or ``(m, n)`` for one heatmap).
        xlabel, ylabel: axis labels.
        titles: one title per column of the grid.
        figsize: size of one heatmap in inches.
        cmap: colour map.
        share: one colour scale from the smallest to the largest entry of all panels and one colour bar
            (the default, for panels that compare, like attention weights); ``False``: each panel gets its
            own scale and its own colour bar (for panels of different ranges whose shapes matter).
        norm: a matplotlib normalization used by every panel, e.g. ``Normalize(0, 1)`` or
            ``LogNorm(1e-3, 1)``; implies one shared colour bar.
    """
    if matrices.dim() == 2:
        matrices = matrices[None, None]
    if matrices.dim() != 4:
        raise ValueError(f"show_heatmaps: expected shape (rows, cols, m, n), got {tuple(matrices.shape)}")
    data = matrices.detach().float().cpu()
    num_rows, num_cols = data.shape[:2]
    if norm is None and share:
        norm = Normalize(vmin=data.min().item(), vmax=data.max().item())
    use_svg_display()
    fig, axes = plt.subplots(num_rows, num_cols, figsize=(figsize[0] * num_cols, figsize[1] * num_rows),
                             sharex=True, sharey=True, squeeze=False)
    image = None
    for i in range(num_rows):
        for j in range(num_cols):
            ax = axes[i, j]
            image = ax.imshow(data[i, j].numpy(), cmap=cmap, norm=norm)
            if norm is None:
                fig.colorbar(image, ax=ax, shrink=0.6)
            if i == num_rows - 1:
                ax.set_xlabel(xlabel)
            if j == 0:
                ax.set_ylabel(ylabel)
            if titles:
                ax.set_title(titles[j])
    if norm is not None:
        fig.colorbar(image, ax=axes, shrink=0.6)
    return fig


def _in_jupyter() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class Animator:
    """Draw curves that grow point by point, e.g. the loss during training.

    In Jupyter the figure is displayed once and then updated in place after every
    :meth:`add` (one display handle), so the cell keeps exactly one figure, the last
    one. Outside Jupyter nothing is displayed; the data are kept and the figure
    (``self.fig``) can be saved at the end. Integer x values (epochs) get integer ticks.

    Args:
        xlabel, ylabel, legend, xlim, ylim, xscale, yscale, fmts: as in :func:`plot`.
        figsize: figure size in inches.
    """

    def __init__(
        self,
        xlabel: str | None = None,
        ylabel: str | None = None,
        legend: Sequence[str] | None = None,
        xlim: tuple[float, float] | None = None,
        ylim: tuple[float, float] | None = None,
        xscale: str = "linear",
        yscale: str = "linear",
        fmts: Sequence[str] = ("-", "m--", "g-.", "r:", "c-", "y--"),
        figsize: tuple[float, float] = (3.5, 2.5),
    ) -> None:
        use_svg_display()
        # A Figure made without pyplot is not shown again automatically at the end of the cell.
        self.fig = Figure(figsize=figsize)
        self.axes = self.fig.add_subplot()
        self._config = dict(xlabel=xlabel, ylabel=ylabel, xlim=xlim, ylim=ylim,
                            xscale=xscale, yscale=yscale, legend=legend)
        self.legend = list(legend) if legend else None
        self.fmts = tuple(fmts)
        self.X: list[list[float]] | None = None
        self.Y: list[list[float]] | None = None
        self._handle: Any = None

    def add(self, x: float, y: float | Sequence[float | None]) -> None:
        """Append one point to each curve and redraw (``None`` skips a curve at this x)."""
        ys = list(y) if isinstance(y, (list, tuple)) else [y]
        if self.Y is None:
            self.X = [[] for _ in ys]
            self.Y = [[] for _ in ys]
            if self.legend is not None and len(self.legend) != len(ys):
                raise ValueError(f"Animator: legend has {len(self.legend)} names but add() got {len(ys)} values")
        elif len(ys) != len(self.Y):
            raise ValueError(f"Animator: add() got {len(ys)} values, expected {len(self.Y)}")
        assert self.X is not None
        for i, v in enumerate(ys):
            if v is not None:
                self.X[i].append(float(x))
                self.Y[i].append(float(v))
        self.draw()

    def draw(self) -> None:
        """Redraw all curves (called by :meth:`add`)."""
        if self.Y is None or self.X is None:
            return
        self.axes.cla()
        for i, (x, y) in enumerate(zip(self.X, self.Y)):
            self.axes.plot(x, y, self.fmts[i % len(self.fmts)])
        set_axes(self.axes, **self._config)
        _integer_ticks_if_integral(self.axes, self.X, str(self._config["xscale"]))
        self.fig.tight_layout()
        if _in_jupyter():
            from IPython.display import display
            if self._handle is None:
                self._handle = display(self.fig, display_id=True)
            else:
                self._handle.update(self.fig)
