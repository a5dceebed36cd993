"""Benchmark: training steps of chapter 8's scaled ResNet, a plain DataLoader loop against d2lutils', in one run.

(a) baseline, the way tutorials write it: a ``torch.utils.data.DataLoader`` with 2 worker processes over
    a Dataset that converts one uint8 image at a time to a float tensor (as torchvision's ``ToTensor``
    does), a per-batch ``.to(device)``, the default NCHW memory layout, fp32, and the loss read back to
    the host every step.
(b) the same model, initialisation, optimizer and batches through d2lutils, one change at a time:
    (b1) the data set kept on the device (``d2l.load_fashion_mnist``) and ``d2l.train_classifier``
         (device-side metric sums); fp32, NCHW;
    (b2) + the ``channels_last`` (NHWC) memory layout of the model;
    (b3) + bf16 autocast (``amp=True``: on CUDA, and on a CPU that computes bf16 natively, see
         ``d2l.cpu_has_bf16``; elsewhere this row is skipped).

Every variant runs the same number of SGD steps (``--steps``, batch ``--batch-size``) after two warm-up
steps, and prints milliseconds per step and examples/sec (wall clock, device synchronised), and its ratio
to (a). Usage:  D2L_DATA_MIRROR=../shared/data python bench/resnet.py [--steps 60] [--batch-size 128]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import time

import torch
from torch import nn
from tutorial import FashionMNIST  # bench/tutorial.py: the per-example Dataset of baseline (a)

import d2lutils as d2l


def resnet(widths: tuple[int, ...] = (16, 32, 64), num_classes: int = 10) -> nn.Sequential:
    """The scaled ResNet for 28x28 images: a 3x3 stem, one basic residual block (``d2l.models.BasicBlock``)
    per stage (stride 2 from the second stage on), global average pooling and a dense layer. Seeded: every
    call returns the same weights."""
    torch.manual_seed(0)
    layers: list[nn.Module] = [nn.Conv2d(1, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]),
                               nn.ReLU()]
    c = widths[0]
    for i, w in enumerate(widths):
        layers.append(d2l.models.BasicBlock(c, w, stride=1 if i == 0 else 2))
        c = w
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))


def _optimizer(net: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)


def baseline(device: torch.device, steps: int, batch_size: int) -> float:
    """Seconds per training step of (a), averaged over ``steps`` steps after two warm-up steps."""
    X, y = d2l.read_fashion_mnist(train=True)
    n = (steps + 2) * batch_size
    loader = torch.utils.data.DataLoader(FashionMNIST(X[:n], y[:n]), batch_size=batch_size, shuffle=True,
                                         num_workers=2)
    net = resnet().to(device)
    opt, loss = _optimizer(net), nn.CrossEntropyLoss()
    net.train()
    start = 0.0
    for i, (Xb, yb) in enumerate(loader):
        if i == 2:  # the clock starts after two warm-up steps (worker start-up included in neither variant)
            d2l.synchronize(device)
            start = time.perf_counter()
        Xb, yb = Xb.to(device), yb.to(device)
        opt.zero_grad()
        l = loss(net(Xb), yb)
        l.backward()
        opt.step()
        l.item()  # the loss read back to the host every step, as tutorials print or accumulate it
    d2l.synchronize(device)
    return (time.perf_counter() - start) / steps


def d2lutils_loop(device: torch.device, steps: int, batch_size: int, channels_last: bool, amp: bool) -> float:
    """Seconds per training step of (b): ``d2l.train_classifier`` over device-resident data."""
    train, _ = d2l.load_fashion_mnist(batch_size, device=device)
    n = (steps + 2) * batch_size
    Xs, ys = train.tensors[0][:n], train.tensors[1][:n]
    net = resnet().to(device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    opt, loss = _optimizer(net), nn.CrossEntropyLoss()
    warm = d2l.load_array((Xs[:2 * batch_size], ys[:2 * batch_size]), batch_size)
    timed = d2l.load_array((Xs[2 * batch_size:], ys[2 * batch_size:]), batch_size)
    quiet = {"device": device, "amp": amp, "animate": False, "progress": False}
    # train_classifier evaluates on its test iterator after the epoch: give it one batch (not timed here,
    # since its Timer covers the training loop only)
    with contextlib.redirect_stdout(io.StringIO()):  # its one-line summary per call is not needed here
        d2l.train_classifier(net, warm, warm, loss, 1, optimizer=opt, **quiet)
        result = d2l.train_classifier(net, timed, warm, loss, 1, optimizer=opt, **quiet)
    return result.seconds / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    device = d2l.try_gpu()
    print(f"device: {d2l.device_name(device)}; torch {torch.__version__}; {os.cpu_count()} CPU cores, "
          f"{torch.get_num_threads()} torch threads")
    params = sum(p.numel() for p in resnet().parameters())
    print(f"model: scaled ResNet, {params:,} parameters; {args.steps} SGD steps of batch {args.batch_size}")
    a = baseline(device, args.steps, args.batch_size)
    rows = [("(a) DataLoader(2 workers), per-batch .to(device), NCHW, fp32", a)]
    rows.append(("(b1) d2lutils: device-resident data, NCHW, fp32",
                 d2lutils_loop(device, args.steps, args.batch_size, channels_last=False, amp=False)))
    rows.append(("(b2) d2lutils + channels_last, fp32",
                 d2lutils_loop(device, args.steps, args.batch_size, channels_last=True, amp=False)))
    if device.type == "cuda" or d2l.cpu_has_bf16():
        rows.append(("(b3) d2lutils + channels_last + bf16 autocast",
                     d2lutils_loop(device, args.steps, args.batch_size, channels_last=True, amp=True)))
    else:
        print("(b3) skipped: this CPU has no native bf16 (d2l.cpu_has_bf16() is False)")
    for name, seconds in rows:
        print(f"{name:62s} {1000 * seconds:8.1f} ms/step {args.batch_size / seconds:9,.0f} examples/sec "
              f"ratio {a / seconds:5.2f}x")


if __name__ == "__main__":
    main()
