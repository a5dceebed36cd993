"""Helpers of the optimization chapter: 2-D trajectories and a small regression-fitting loop.

The optimizers themselves are written in the notebooks (that is what the chapter teaches); these
functions only run them and record what happened, so every notebook of the chapter measures the same
way: loss against examples seen and against wall-clock time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes

from . import config
from .device import Timer, approx, try_gpu
from .loaders import TensorLoader
from .plot import set_axes, use_svg_display
from .train import _check_on_divergence, _divergence_error, _loss_total, _summed

__all__ = ["Optimizer", "run_2d", "show_trace_2d", "FitResult", "fit_regression"]


class Optimizer(Protocol):
    """What :func:`fit_regression` needs of an optimizer: ``zero_grad()`` and ``step()``.

    ``torch.optim`` optimizers qualify, and so does any small class written from scratch.
    """

    def zero_grad(self) -> None: ...

    def step(self) -> Any: ...


def run_2d(
    step: Callable[[float, float, dict[str, Any]], tuple[float, float]],
    start: tuple[float, float] = (-5.0, -2.0),
    steps: int = 20,
) -> list[tuple[float, float]]:
    """Run a 2-D update rule and return the points it visits, starting point included.

    Args:
        step: ``step(x1, x2, state) -> (x1, x2)``; ``state`` is a dict the rule may keep
            its own variables in (velocities, squared-gradient sums, the step count ...).
        start: the starting point.
        steps: how many updates to run.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    x1, x2 = float(start[0]), float(start[1])
    state: dict[str, Any] = {}
    points = [(x1, x2)]
    for _ in range(steps):
        x1, x2 = step(x1, x2, state)
        points.append((float(x1), float(x2)))
    return points


def show_trace_2d(
    f: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    traces: dict[str, Sequence[tuple[float, float]]] | Sequence[tuple[float, float]],
    xlim: tuple[float, float] = (-5.5, 1.0),
    ylim: tuple[float, float] = (-3.0, 1.5),
    levels: int = 15,
    figsize: tuple[float, float] = (4.5, 3.2),
    axes: Axes | None = None,
) -> Axes:
    """Draw the contours of ``f(x1, x2)`` and one or more optimization paths on top.

    Args:
        f: a function of two tensors (a grid) returning a tensor of the same shape.
        traces: a list of points, or a dict ``name -> list of points`` for several paths.
        xlim, ylim: the window.
        levels: number of contour levels.
        figsize: size of a new figure.
        axes: draw on these axes instead of a new figure.
    """
    named = {"": traces} if not isinstance(traces, dict) else traces
    if axes is None:
        use_svg_display()
        _, axes = plt.subplots(figsize=figsize)
    g1, g2 = torch.meshgrid(torch.linspace(*xlim, 60), torch.linspace(*ylim, 60), indexing="ij")
    axes.contour(g1.numpy(), g2.numpy(), f(g1, g2).numpy(), levels=levels, colors="#1f77b4", linewidths=0.6)
    for i, (name, points) in enumerate(named.items()):
        if len(points) == 0:
            raise ValueError(f"show_trace_2d: trace {name!r} is empty")
        xs, ys = zip(*points)
        axes.plot(xs, ys, "-o", color=f"C{(i + 1) % 10}", markersize=3, linewidth=1, label=name or None)
    set_axes(axes, "x1", "x2", xlim, ylim, legend=[n for n in named if n] or None)
    return axes


@dataclass
class FitResult:
    """What :func:`fit_regression` recorded.

    Attributes:
        examples: examples processed at each record.
        seconds: wall-clock seconds spent training (synchronised) at each record.
        loss: mean loss per example over the whole training set at each record.
        device: where it ran.
        diverged_epoch: with ``on_divergence="stop"``, the epoch (from 1; 0: before training) in which
            the recorded loss stopped being finite, after which training stopped; ``None`` otherwise.
    """

    examples: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    device: str = "cpu"
    diverged_epoch: int | None = None

    def summary(self) -> str:
        """One line: final loss, examples/sec and device (or the epoch in which training diverged)."""
        if self.diverged_epoch is not None:
            return f"diverged in epoch {self.diverged_epoch}: loss {self.loss[-1]}, stopped (on {self.device})"
        rate = self.examples[-1] / self.seconds[-1] if self.seconds and self.seconds[-1] > 0 else float("nan")
        return f"loss {self.loss[-1]:.4f}, about {approx(rate)} examples/sec on {self.device}"


def _half_squared_error(p: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((p - y) ** 2 / 2).mean()


def fit_regression(
    model: Callable[[torch.Tensor], torch.Tensor],
    optimizer: Optimizer,
    features: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    num_epochs: int,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    records_per_epoch: int = 10,
    device: torch.device | str | None = None,
    seed: int = 0,
    verbose: bool = True,
    on_divergence: str = "raise",
) -> FitResult:
    """Minibatch training of a regression model with any optimizer; records the full-data loss.

    The data are moved to ``device`` once and batched there (:class:`~d2lutils.loaders.TensorLoader`).
    The loss over the whole training set is recorded ``records_per_epoch`` times per epoch; the time
    spent evaluating it is not counted in ``seconds``.

    Args:
        model: a module or function mapping ``(batch, d)`` features to ``(batch,)`` or ``(batch, 1)``;
            a ``(batch, 1)`` output is reshaped to ``(batch,)`` before the loss sees it.
        optimizer: anything with ``zero_grad()`` and ``step()`` over the model's parameters.
        features, labels: the training set, ``(n, d)`` and ``(n,)``.
        batch_size: examples per update (a positive integer).
        num_epochs: passes over the data; capped in quick mode (see :mod:`d2lutils.config`), so pass
            the number the text asks for.
        loss: ``loss(prediction, target)``; default half squared error averaged over the batch. A loss
            with ``reduction="none"`` is averaged; with ``reduction="sum"`` the summed loss is
            differentiated as it is, and the recorded loss is still the mean per example.
        records_per_epoch: how often to record the full-data loss.
        device: where to train (default :func:`~d2lutils.device.try_gpu`); the model's
            parameters must already be there.
        seed: seed of the minibatch order.
        verbose: print the summary line at the end.
        on_divergence: when a recorded loss is NaN or infinite, ``"raise"`` (default) raises
            ``FloatingPointError``; ``"stop"`` stops and returns the records so far (the last one not
            finite) with ``diverged_epoch`` set: for learning-rate sweeps that show which rates diverge.

    Raises:
        ValueError: features and labels of the wrong shapes, a bad ``batch_size`` or ``num_epochs``, or
            an ``on_divergence`` other than ``"raise"`` and ``"stop"``.
        TypeError: ``optimizer`` has no ``zero_grad()`` and ``step()`` (e.g. a learning rate was passed).
        FloatingPointError: the loss is NaN or infinite (``on_divergence="raise"``); the message names the
            epoch and what to try.
    """
    where = "fit_regression"
    if features.dim() != 2 or labels.dim() != 1 or len(features) != len(labels):
        raise ValueError(f"fit_regression needs features (n, d) and labels (n,), got "
                         f"{tuple(features.shape)} and {tuple(labels.shape)}")
    if not (callable(getattr(optimizer, "zero_grad", None)) and callable(getattr(optimizer, "step", None))):
        raise TypeError(f"fit_regression needs an optimizer with zero_grad() and step(), got {optimizer!r} "
                        f"({type(optimizer).__name__}); e.g. torch.optim.SGD(net.parameters(), lr=0.1)")
    _check_on_divergence(on_divergence, where)
    num_epochs = config.epochs(num_epochs)
    dev = torch.device(device) if device is not None else try_gpu()
    loss_fn = loss or _half_squared_error
    summed = _summed(loss_fn)
    X, y = features.to(dev), labels.to(dev)
    loader = TensorLoader(X, y, batch_size=batch_size, shuffle=True, device=dev, seed=seed)
    every = max(1, len(loader) // max(1, records_per_epoch))
    result = FitResult(device=str(dev))
    timer = Timer(dev)

    def predict(inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        out = model(inputs)
        return out.reshape(targets.shape) if out.shape != targets.shape and out.numel() == targets.numel() else out

    def record(n: int, epoch: int) -> bool:
        # Record the full-data mean loss; return False when it is not finite (and training must stop).
        with torch.no_grad():
            _, total = _loss_total(loss_fn(predict(X, y), y), summed, len(y))
        value = float(total) / len(y)
        result.loss.append(value)
        result.examples.append(n)
        result.seconds.append(timer.sum())
        if math.isfinite(value):
            return True
        if on_divergence == "raise":
            raise _divergence_error(where, value, epoch, num_epochs)
        result.diverged_epoch = epoch
        return False

    seen = 0
    finite = record(0, 0)
    for epoch in range(1, num_epochs + 1):
        if not finite:
            break
        for i, (xb, yb) in enumerate(loader):
            timer.start()
            optimizer.zero_grad()
            l, _ = _loss_total(loss_fn(predict(xb, yb), yb), summed, len(yb))
            l.backward()
            optimizer.step()
            timer.stop()
            seen += len(yb)
            if (i + 1) % every == 0 or i + 1 == len(loader):
                finite = record(seen, epoch)
                if not finite:
                    break
    if verbose:
        print(result.summary())
    return result
