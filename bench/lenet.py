"""Benchmark: LeNet on Fashion-MNIST, the usual tutorial pipeline against d2lutils', in one run.

(a) baseline, written the way the d2l book trains LeNet: sigmoid LeNet, batch 256, SGD lr 0.9, a
    ``torch.utils.data.DataLoader`` with 4 worker processes over a Dataset that converts one uint8 image
    at a time to a float tensor (as torchvision's ``ToTensor`` does), a per-batch ``.to(device)``, fp32,
    and metrics read back to the host every batch.
(b) the same model, initialisation and hyperparameters through d2lutils: the data set kept on the
    device (``d2l.load_fashion_mnist``), ``d2l.train_classifier`` (device-side metric sums, bf16 autocast
    on CUDA and on a CPU with native bf16, see ``d2l.cpu_has_bf16``), ``channels_last`` memory layout, and
    optionally ``torch.compile``.

Prints examples/sec (training only, wall clock, synchronised) and test accuracy of each, and the ratio.
Usage:  D2L_DATA_MIRROR=../shared/data python bench/lenet.py [--epochs 10] [--train-examples N] [--compile]
On a 2-core CPU use a shortened run, e.g. ``--epochs 1 --train-examples 20000``.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn
from tutorial import FashionMNIST  # bench/tutorial.py: the per-example Dataset of baseline (a)

import d2lutils as d2l


def lenet() -> nn.Sequential:
    """Sigmoid LeNet as in the d2l book (28x28 inputs, padding 2), Xavier-uniform initialisation."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))
    for m in net.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
    return net


def baseline(device: torch.device, epochs: int, n_train: int) -> tuple[float, float]:
    Xtr, ytr = d2l.read_fashion_mnist(train=True)
    Xte, yte = d2l.read_fashion_mnist(train=False)
    train = torch.utils.data.DataLoader(FashionMNIST(Xtr[:n_train], ytr[:n_train]), batch_size=256,
                                        shuffle=True, num_workers=4)
    test = torch.utils.data.DataLoader(FashionMNIST(Xte, yte), batch_size=256, shuffle=False, num_workers=4)
    net = lenet().to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.9)
    loss = nn.CrossEntropyLoss()
    seen, seconds = 0, 0.0
    for _ in range(epochs):
        net.train()
        d2l.synchronize(device)
        start = time.perf_counter()
        metric = d2l.Accumulator(3)
        for X, y in train:
            X, y = X.to(device), y.to(device)
            opt.zero_grad()
            y_hat = net(X)
            l = loss(y_hat, y)
            l.backward()
            opt.step()
            with torch.no_grad():  # as d2l's train_ch6: metrics read back to the host every batch
                metric.add(float(l) * X.shape[0], d2l.accuracy(y_hat, y), X.shape[0])
            seen += X.shape[0]
        d2l.synchronize(device)
        seconds += time.perf_counter() - start
    net.eval()
    correct = total = 0
    with torch.no_grad():
        for X, y in test:
            X, y = X.to(device), y.to(device)
            correct += (net(X).argmax(dim=1) == y).sum().item()
            total += len(y)
    return seen / seconds, correct / total


def fast(device: torch.device, epochs: int, n_train: int, compile_: bool) -> tuple[float, float]:
    train, test = d2l.load_fashion_mnist(256, device=device)
    train.tensors = (train.tensors[0][:n_train], train.tensors[1][:n_train])
    train.num_examples = len(train.tensors[1])
    net = lenet().to(device)
    # channels_last (NHWC) lets the convolution kernels of both oneDNN (CPU) and cuDNN (GPU) skip layout
    # conversions; measured about 1.8x faster for this model on a 2-core CPU.
    net = net.to(memory_format=torch.channels_last)
    train.tensors = (train.tensors[0].contiguous(memory_format=torch.channels_last), train.tensors[1])
    test.tensors = (test.tensors[0].contiguous(memory_format=torch.channels_last), test.tensors[1])
    model = torch.compile(net) if compile_ else net
    if compile_:  # compile before the clock starts: a warm-up step on a copy, so training starts from the same weights
        state = {k: v.clone() for k, v in net.state_dict().items()}
        X, y = next(iter(train))
        nn.CrossEntropyLoss()(model(X), y).backward()
        net.load_state_dict(state)
        net.zero_grad(set_to_none=True)
    # amp=True: bf16 autocast on CUDA, and on a CPU that computes in bf16 natively (AVX-512 BF16, AMX);
    # on other CPUs it trains in fp32.
    result = d2l.train_classifier(model, train, test, nn.CrossEntropyLoss(), epochs, lr=0.9, device=device,
                                  amp=True, animate=False, progress=False)
    return result.examples_per_sec, result.test_acc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--train-examples", type=int, default=60_000)
    parser.add_argument("--compile", action="store_true", help="torch.compile the model in (b)")
    args = parser.parse_args()
    device = d2l.try_gpu()
    print(f"device: {d2l.device_name(device)}, torch {torch.__version__}, {os.cpu_count()} CPU cores, "
          f"{args.epochs} epochs of {args.train_examples:,} training examples")
    rate_a, acc_a = baseline(device, args.epochs, args.train_examples)
    print(f"(a) DataLoader(4 workers) + per-batch .to(device), fp32: {rate_a:10,.0f} examples/sec, "
          f"test acc {acc_a:.3f}")
    rate_b, acc_b = fast(device, args.epochs, args.train_examples, args.compile)
    bf16 = device.type == "cuda" or (device.type == "cpu" and d2l.cpu_has_bf16())
    extra = (", bf16 autocast" if bf16 else ", fp32") + (" + torch.compile" if args.compile else "")
    print(f"(b) d2lutils (device-resident data, device-side metrics{extra}): {rate_b:10,.0f} examples/sec, "
          f"test acc {acc_b:.3f}")
    print(f"ratio (b)/(a): {rate_b / rate_a:.2f}x")


if __name__ == "__main__":
    main()
