"""Training utilities: metrics, evaluation and the classification training loop.

The loop keeps running sums on the device (one host synchronisation per epoch,
not per batch), uses bf16 autocast on CUDA, shows a progress bar in live runs and
ends with one line of results and throughput, e.g.::

    loss 0.412, train acc 0.851, test acc 0.836, about 410,000 examples/sec on cuda:0

A run whose loss turns NaN or infinite stops at the end of that epoch with a
``FloatingPointError`` that names the epoch and what to try, instead of reporting
chance accuracy as if it were a result.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import torch
from torch import nn

from . import config
from .device import Timer, approx, try_gpu
from .plot import Animator
from .widgets import static_requested

__all__ = ["Accumulator", "accuracy", "cpu_has_bf16", "evaluate_accuracy", "ON_DIVERGENCE", "TrainResult",
           "train_classifier"]

#: What to do when the training loss turns NaN or infinite (the ``on_divergence`` argument).
ON_DIVERGENCE: tuple[str, ...] = ("raise", "stop")


class Accumulator:
    """Running sums of ``n`` quantities (e.g. total loss, correct predictions, examples).

    Args:
        n: how many quantities to sum.
    """

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"Accumulator(n) needs n >= 1, got {n}")
        self.data = [0.0] * n

    def add(self, *args: float) -> None:
        """Add one value to each sum (exactly ``n`` values)."""
        if len(args) != len(self.data):
            raise ValueError(f"Accumulator.add expects {len(self.data)} values, got {len(args)}")
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self) -> None:
        """Set every sum back to zero."""
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]


def _check_logits(y_hat: torch.Tensor, y: torch.Tensor, where: str) -> None:
    if y.dim() != 1:
        raise ValueError(f"{where}: labels must have shape (batch,), got {tuple(y.shape)}")
    if y_hat.dim() not in (1, 2) or y_hat.shape[0] != y.shape[0]:
        raise ValueError(
            f"{where}: predictions must have shape (batch, num_classes) or (batch,) matching "
            f"labels of shape {tuple(y.shape)}, got {tuple(y_hat.shape)}; "
            f"did you forget to flatten the output of the network?")


def _correct(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    pred = y_hat.argmax(dim=1) if y_hat.dim() == 2 else y_hat
    return (pred.to(y.dtype) == y).sum()


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """Number of correct predictions (a count, not a fraction).

    Args:
        y_hat: scores of shape ``(batch, num_classes)`` or predicted classes of shape ``(batch,)``.
        y: true classes of shape ``(batch,)``.

    Raises:
        ValueError: the shapes do not match.
    """
    _check_logits(y_hat, y, "accuracy")
    return float(_correct(y_hat, y))


def _to(device: torch.device, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return tuple(t if t.device == device else t.to(device, non_blocking=True) for t in tensors)


def cpu_has_bf16() -> bool:
    """Whether this CPU computes in bfloat16 natively (AVX-512 BF16 or AMX), so bf16 autocast speeds it up."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _autocast(device: torch.device, amp: bool | None) -> Any:
    # amp=None: bf16 on CUDA only (the default); True: also on a CPU with native bf16; False: never.
    if amp is not False and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    if amp is True and device.type == "cpu" and cpu_has_bf16():
        return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
    return nullcontext()


def evaluate_accuracy(
    net: nn.Module,
    data_iter: Iterable[tuple[torch.Tensor, torch.Tensor]],
    device: torch.device | str | None = None,
    amp: bool | None = None,
) -> float:
    """Fraction of correctly classified examples of ``data_iter``, with ``net`` in eval mode.

    Args:
        net: the classifier; its mode is restored afterwards.
        data_iter: an iterable of ``(X, y)`` batches.
        device: where to compute (default: the device of the first parameter of ``net``).
        amp: bf16 autocast: ``None`` on CUDA only, ``True`` also on a CPU with native bf16
            (:func:`cpu_has_bf16`), ``False`` never.
    """
    if device is None:
        params = list(net.parameters())
        device = params[0].device if params else torch.device("cpu")
    dev = torch.device(device)
    was_training = net.training
    net.eval()
    correct = torch.zeros((), device=dev, dtype=torch.int64)
    total = 0
    with torch.no_grad(), _autocast(dev, amp):
        for X, y in data_iter:
            X, y = _to(dev, X, y)
            y_hat = net(X)
            _check_logits(y_hat, y, "evaluate_accuracy")
            correct += _correct(y_hat, y)
            total += y.shape[0]
    net.train(was_training)
    if total == 0:
        raise ValueError("evaluate_accuracy: the data iterator yielded no examples")
    return float(correct) / total


@dataclass
class TrainResult:
    """What :func:`train_classifier` measured.

    Attributes:
        train_loss: mean training loss of the last epoch.
        train_acc: training accuracy of the last epoch (measured while training).
        test_acc: test accuracy after the last epoch.
        examples_per_sec: training examples processed per second (training steps only).
        device: the device the model trained on, as a string.
        seconds: total training time in seconds (without evaluation).
        history: per-epoch lists ``train_loss``, ``train_acc``, ``test_acc``.
        diverged_epoch: with ``on_divergence="stop"``, the epoch (from 1) whose loss was not finite and
            after which training stopped (that epoch's test accuracy is NaN: not evaluated); ``None``
            when training ran to the end.
    """

    train_loss: float
    train_acc: float
    test_acc: float
    examples_per_sec: float
    device: str
    seconds: float
    history: dict[str, list[float]] = field(default_factory=dict)
    diverged_epoch: int | None = None

    def summary(self) -> str:
        """The one-line report printed at the end of training."""
        if self.diverged_epoch is not None:
            return (f"diverged in epoch {self.diverged_epoch}: training loss {self.train_loss}, "
                    f"stopped (on {self.device})")
        return (f"loss {self.train_loss:.3f}, train acc {self.train_acc:.3f}, test acc {self.test_acc:.3f}, "
                f"about {approx(self.examples_per_sec)} examples/sec on {self.device}")


def _check_lr(lr: Any, where: str) -> None:
    if isinstance(lr, torch.Tensor) and lr.numel() == 1 and lr.is_floating_point():
        value = float(lr)
    elif isinstance(lr, Real) and not isinstance(lr, bool):
        value = float(lr)
    else:
        raise TypeError(f"{where}: lr must be a number, got {lr!r} ({type(lr).__name__}); write e.g. lr=0.1")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{where}: lr must be a finite positive number, got {value}")


def _check_on_divergence(on_divergence: str, where: str) -> None:
    if on_divergence not in ON_DIVERGENCE:
        raise ValueError(f"{where}: on_divergence must be 'raise' or 'stop', got {on_divergence!r}")


def _divergence_error(where: str, loss: float, epoch: int, num_epochs: int) -> FloatingPointError:
    """The error raised when the training loss is not finite (``epoch`` 0: before any update)."""
    if epoch == 0:
        return FloatingPointError(
            f"{where}: the loss is {loss} before training: check the features and labels for NaN or inf "
            f"values (e.g. torch.isfinite(X).all()).")
    return FloatingPointError(
        f"{where}: the training loss became {loss} in epoch {epoch} of {num_epochs}. Try a lower learning "
        f"rate, check the inputs for NaN or inf values (e.g. torch.isfinite(X).all()), or clip the gradients "
        f"(torch.nn.utils.clip_grad_norm_); on_divergence='stop' returns the run so far instead of raising.")


def _summed(loss: Any) -> bool:
    """Whether ``loss`` is a module that sums over the batch (``reduction="sum"``) instead of averaging."""
    return getattr(loss, "reduction", None) == "sum"


def _loss_total(l: torch.Tensor, summed: bool, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the loss to differentiate and the batch's total loss over its ``n`` examples (detached).

    A vector (``reduction="none"``) is averaged; a scalar is the batch mean, or the batch sum when
    ``summed``. A summed loss is differentiated as it is (its gradients are ``n`` times larger).
    """
    if l.dim() > 0:
        l = l.mean()
        return l, l.detach().float() * n
    total = l.detach().float()
    return l, total if summed else total * n


def _progress(total: int, desc: str) -> Any:
    # tqdm.auto: a widget bar inside Jupyter (one output, updated in place), a text bar in a terminal.
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="batch", mininterval=0.5,
                bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]{postfix}")


def train_classifier(
    net: nn.Module,
    train_iter: Iterable[tuple[torch.Tensor, torch.Tensor]],
    test_iter: Iterable[tuple[torch.Tensor, torch.Tensor]],
    loss: nn.Module,
    num_epochs: int,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float | None = None,
    device: torch.device | str | None = None,
    amp: bool | None = None,
    animate: bool = True,
    progress: bool | None = None,
    on_divergence: str = "raise",
    scheduler: Any = None,
) -> TrainResult:
    """Train a classifier, plot loss and accuracies per epoch, and print one line of results.

    Args:
        net: the model; it is moved to ``device``.
        train_iter, test_iter: iterables of ``(X, y)`` batches (a :class:`~d2lutils.loaders.TensorLoader`
            already on the device avoids every per-batch copy).
        loss: e.g. ``nn.CrossEntropyLoss()``. A loss with ``reduction="none"`` (or a function returning
            one loss per example) is averaged over the batch; with ``reduction="sum"`` the summed loss is
            differentiated as it is (so its gradients are batch-size times larger: scale ``lr``), and the
            reported loss is still the mean per example.
        num_epochs: passes over the training data; capped in quick mode (see :mod:`d2lutils.config`),
            so pass the number the text asks for.
        optimizer: a ``torch.optim`` optimizer over ``net``'s parameters; or give ``lr``
            and plain minibatch SGD is used.
        lr: learning rate of the default SGD optimizer, a finite positive number.
        device: where to train (default :func:`~d2lutils.device.try_gpu`).
        amp: bf16 autocast: ``None`` (default) on CUDA only; ``True`` also on a CPU that computes in
            bf16 natively (:func:`cpu_has_bf16`; elsewhere fp32); ``False`` never (fp32 everywhere).
        animate: draw the training curves (one figure, redrawn in place after every epoch).
        progress: show a progress bar (``tqdm.auto``: a widget in Jupyter); ``None`` (default) shows it
            except in the book's stored runs (``D2L_STATIC_WIDGETS=1``), which keep only the summary line.
        on_divergence: when an epoch's training loss is NaN or infinite, ``"raise"`` (default) raises
            ``FloatingPointError``; ``"stop"`` stops, prints a line saying so and returns the result with
            ``diverged_epoch`` set (for sweeps that show which settings diverge).
        scheduler: a learning-rate scheduler of ``optimizer`` (``torch.optim.lr_scheduler``), stepped after
            every minibatch, so size it in steps: ``num_epochs * len(train_iter)`` (e.g. ``OneCycleLR``
            with ``total_steps`` or ``CosineAnnealingLR`` with ``T_max``). In quick mode the epochs are
            capped; a scheduler sized for the full run then simply stops early.

    Returns:
        A :class:`TrainResult` (its ``summary()`` is the printed line).

    Raises:
        ValueError: neither ``optimizer`` nor ``lr`` given (or both), ``lr`` not finite and positive,
            ``num_epochs`` not a positive integer, predictions and labels of mismatched shapes, or an empty
            training iterator.
        TypeError: ``lr`` is not a number (e.g. the string ``"0.1"``).
        FloatingPointError: the training loss became NaN or infinite (``on_divergence="raise"``); the
            message names the epoch and what to try.
    """
    where = "train_classifier"
    if optimizer is None and lr is None:
        raise ValueError("train_classifier needs an optimizer or a learning rate lr")
    if optimizer is not None and lr is not None:
        raise ValueError("train_classifier: give either optimizer or lr, not both")
    if scheduler is not None and optimizer is None:
        raise ValueError("train_classifier: a scheduler needs the optimizer it schedules; pass both")
    if scheduler is not None and getattr(scheduler, "optimizer", optimizer) is not optimizer:
        raise ValueError("train_classifier: the scheduler belongs to another optimizer than the one given")
    if lr is not None:
        _check_lr(lr, where)
    _check_on_divergence(on_divergence, where)
    num_epochs = config.epochs(num_epochs)
    dev = torch.device(device) if device is not None else try_gpu()
    net.to(dev)
    if optimizer is None:
        optimizer = torch.optim.SGD(net.parameters(), lr=lr)  # type: ignore[arg-type]
    summed = _summed(loss)
    xlim = (1, num_epochs) if num_epochs > 1 else (0.5, 1.5)  # one epoch: one point, centred
    animator = Animator(xlabel="epoch", xlim=xlim, legend=["train loss", "train acc", "test acc"]) if animate else None
    try:
        batches = len(train_iter)  # type: ignore[arg-type]
    except TypeError:
        batches = 0
    show_bar = progress if progress is not None else not static_requested()
    bar = _progress(batches * num_epochs, "training") if show_bar and batches else None
    history: dict[str, list[float]] = {"train_loss": [], "train_acc": [], "test_acc": []}
    timer = Timer(dev)
    examples = 0
    train_loss = train_acc = test_acc = 0.0
    diverged: int | None = None
    try:
        for epoch in range(1, num_epochs + 1):
            net.train()
            loss_sum = torch.zeros((), device=dev)
            correct = torch.zeros((), device=dev, dtype=torch.int64)
            n = 0
            timer.start()
            for X, y in train_iter:
                X, y = _to(dev, X, y)
                with _autocast(dev, amp):
                    y_hat = net(X)
                    _check_logits(y_hat, y, where)
                    l, total = _loss_total(loss(y_hat, y), summed, y.shape[0])
                optimizer.zero_grad()
                l.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                with torch.no_grad():
                    loss_sum += total
                    correct += _correct(y_hat.detach(), y)
                n += y.shape[0]
                if bar is not None:
                    bar.update(1)
            timer.stop()
            examples += n
            if n == 0:
                raise ValueError("train_classifier: the training iterator yielded no examples")
            train_loss, train_acc = float(loss_sum) / n, float(correct) / n
            if not math.isfinite(train_loss):
                if on_divergence == "raise":
                    raise _divergence_error(where, train_loss, epoch, num_epochs)
                diverged, test_acc = epoch, float("nan")
            else:
                test_acc = evaluate_accuracy(net, test_iter, dev, amp)
            for key, value in zip(history, (train_loss, train_acc, test_acc)):
                history[key].append(value)
            if diverged is not None:
                break
            if bar is not None:
                bar.set_postfix_str(f"loss {train_loss:.3f}, test acc {test_acc:.3f}", refresh=True)
            if animator is not None:
                animator.add(epoch, (train_loss, train_acc, test_acc))
    finally:
        if bar is not None:
            bar.close()
    result = TrainResult(train_loss, train_acc, test_acc, examples / max(timer.sum(), 1e-12),
                         str(dev), timer.sum(), history, diverged)
    print(result.summary())
    return result
