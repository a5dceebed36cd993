"""Training utilities: metrics, evaluation and the classification training loop.

The loop keeps running sums on the device (one host synchronisation per epoch,
not per batch), uses bf16 autocast on CUDA, shows a progress bar and ends with
one line of results and throughput, e.g.::

    loss 0.412, train acc 0.851, test acc 0.836, 412,345 examples/sec on cuda:0
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from . import config
from .device import Timer, try_gpu
from .plot import Animator

__all__ = ["Accumulator", "accuracy", "cpu_has_bf16", "evaluate_accuracy", "TrainResult", "train_classifier"]


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
    """

    train_loss: float
    train_acc: float
    test_acc: float
    examples_per_sec: float
    device: str
    seconds: float
    history: dict[str, list[float]] = field(default_factory=dict)

    def summary(self) -> str:
        """The one-line report printed at the end of training."""
        return (f"loss {self.train_loss:.3f}, train acc {self.train_acc:.3f}, test acc {self.test_acc:.3f}, "
                f"{self.examples_per_sec:,.0f} examples/sec on {self.device}")


def _progress(total: int, desc: str) -> Any:
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="batch", file=sys.stderr, mininterval=0.5,
                bar_format="{desc} {percentage:3.0f}%|{bar:20}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]{postfix}")


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
    progress: bool = True,
) -> TrainResult:
    """Train a classifier, plot loss and accuracies per epoch, and print one line of results.

    Args:
        net: the model; it is moved to ``device``.
        train_iter, test_iter: iterables of ``(X, y)`` batches (a :class:`~d2lutils.loaders.TensorLoader`
            already on the device avoids every per-batch copy).
        loss: e.g. ``nn.CrossEntropyLoss()``; a loss with ``reduction="none"`` is averaged.
        num_epochs: passes over the training data (capped in quick mode, see :mod:`d2lutils.config`).
        optimizer: a ``torch.optim`` optimizer over ``net``'s parameters; or give ``lr``
            and plain minibatch SGD is used.
        lr: learning rate of the default SGD optimizer.
        device: where to train (default :func:`~d2lutils.device.try_gpu`).
        amp: bf16 autocast: ``None`` (default) on CUDA only; ``True`` also on a CPU that computes in
            bf16 natively (:func:`cpu_has_bf16`; elsewhere fp32); ``False`` never (fp32 everywhere).
        animate: draw the training curves.
        progress: show a progress bar.

    Returns:
        A :class:`TrainResult` (its ``summary()`` is the printed line).

    Raises:
        ValueError: neither ``optimizer`` nor ``lr`` given, or predictions and labels of mismatched shapes.
    """
    if optimizer is None and lr is None:
        raise ValueError("train_classifier needs an optimizer or a learning rate lr")
    if optimizer is not None and lr is not None:
        raise ValueError("train_classifier: give either optimizer or lr, not both")
    dev = torch.device(device) if device is not None else try_gpu()
    net.to(dev)
    if optimizer is None:
        optimizer = torch.optim.SGD(net.parameters(), lr=lr)  # type: ignore[arg-type]
    num_epochs = config.epochs(num_epochs)
    animator = Animator(xlabel="epoch", xlim=(1, num_epochs), legend=["train loss", "train acc", "test acc"]) \
        if animate else None
    try:
        batches = len(train_iter)  # type: ignore[arg-type]
    except TypeError:
        batches = 0
    bar = _progress(batches * num_epochs, "training") if progress and batches else None
    history: dict[str, list[float]] = {"train_loss": [], "train_acc": [], "test_acc": []}
    timer = Timer(dev)
    examples = 0
    train_loss = train_acc = test_acc = 0.0
    for epoch in range(num_epochs):
        net.train()
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev, dtype=torch.int64)
        n = 0
        timer.start()
        for X, y in train_iter:
            X, y = _to(dev, X, y)
            with _autocast(dev, amp):
                y_hat = net(X)
                _check_logits(y_hat, y, "train_classifier")
                l = loss(y_hat, y)
                if l.dim() > 0:
                    l = l.mean()
            optimizer.zero_grad()
            l.backward()
            optimizer.step()
            with torch.no_grad():
                loss_sum += l.detach().float() * y.shape[0]
                correct += _correct(y_hat.detach(), y)
            n += y.shape[0]
            if bar is not None:
                bar.update(1)
        timer.stop()
        examples += n
        if n == 0:
            raise ValueError("train_classifier: the training iterator yielded no examples")
        train_loss, train_acc = float(loss_sum) / n, float(correct) / n
        test_acc = evaluate_accuracy(net, test_iter, dev, amp)
        for key, value in zip(history, (train_loss, train_acc, test_acc)):
            history[key].append(value)
        if bar is not None:
            bar.set_postfix_str(f"loss {train_loss:.3f}, test acc {test_acc:.3f}", refresh=True)
        if animator is not None:
            animator.add(epoch + 1, (train_loss, train_acc, test_acc))
    if bar is not None:
        bar.close()
    result = TrainResult(train_loss, train_acc, test_acc, examples / max(timer.sum(), 1e-12),
                         str(dev), timer.sum(), history)
    print(result.summary())
    return result
