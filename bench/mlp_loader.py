"""Benchmark: the chapter-4 MLP on Fashion-MNIST, the usual tutorial input pipeline against d2lutils', in one run.

Both pipelines train the same model (784-256-10, ReLU, ``nn.Linear``'s default initialisation, seeded
identically) with minibatch SGD, learning rate 0.1, batch size 256, for the same number of training examples.

(a) the usual tutorial way: a per-example ``Dataset`` that stores the images as uint8 and converts one image
    at a time to a float tensor in [0, 1] inside ``__getitem__`` (what torchvision's ``FashionMNIST`` with
    ``ToTensor`` does), a ``torch.utils.data.DataLoader`` with ``shuffle=True`` and ``num_workers=2`` worker
    processes (started anew each epoch, the default), a per-batch ``.to(device)``, and a hand-written loop
    that reads the loss and the accuracy back to the host after every batch (as d2l's ``train_epoch_ch3``).
(b) d2lutils: ``d2l.load_fashion_mnist`` (the whole data set converted once and kept on the device,
    minibatches taken by indexing with a shuffled permutation) and ``d2l.train_classifier`` (metric sums kept
    on the device, bf16 autocast on CUDA).

Examples/sec counts training only (forward, backward, update and, for (a), loading), measured with the
device synchronised; test-set evaluation is excluded from both. The test accuracy of each run is printed as
a sanity check that both trained the same way.

Usage (from the repository root, in full mode, with the CPU otherwise idle):

    D2L_DATA_MIRROR=../shared/data .venv/bin/python bench/mlp_loader.py [--examples 180000]

``--examples N`` trains on the first ``min(N, 60000)`` training images for ``round(N / min(N, 60000))``
epochs, so the default 180,000 is three epochs of the full training set.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch
from torch import nn
from tutorial import FashionMNIST  # bench/tutorial.py: the per-example Dataset of baseline (a)

import d2lutils as d2l

BATCH_SIZE = 256
LR = 0.1
NUM_TRAIN = 60_000


def make_model() -> nn.Sequential:
    """The MLP of section 4.3 with PyTorch's default initialisation, identical in both runs."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def run_dataloader(device: torch.device, n_train: int, epochs: int) -> tuple[float, float]:
    """Pipeline (a); returns (training examples/sec, test accuracy)."""
    Xtr, ytr = d2l.read_fashion_mnist(train=True)
    Xte, yte = d2l.read_fashion_mnist(train=False)
    train = torch.utils.data.DataLoader(FashionMNIST(Xtr[:n_train], ytr[:n_train]), batch_size=BATCH_SIZE,
                                        shuffle=True, num_workers=2)
    test = torch.utils.data.DataLoader(FashionMNIST(Xte, yte), batch_size=BATCH_SIZE, num_workers=2)
    net = make_model().to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    loss = nn.CrossEntropyLoss()
    seen, seconds = 0, 0.0
    for _ in range(epochs):
        net.train()
        metric = d2l.Accumulator(3)  # loss sum, correct predictions, examples
        d2l.synchronize(device)
        start = time.perf_counter()
        for X, y in train:
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            l = loss(y_hat, y)
            optimizer.zero_grad()
            l.backward()
            optimizer.step()
            with torch.no_grad():  # the host reads the metrics back after every batch
                metric.add(float(l) * len(y), d2l.accuracy(y_hat, y), len(y))
            seen += len(y)
        d2l.synchronize(device)
        seconds += time.perf_counter() - start
    return seen / seconds, d2l.evaluate_accuracy(net, test, device)


def run_d2lutils(device: torch.device, n_train: int, epochs: int) -> tuple[float, float]:
    """Pipeline (b); returns (training examples/sec, test accuracy)."""
    train_iter, test_iter = d2l.load_fashion_mnist(BATCH_SIZE, device=device)
    if n_train < NUM_TRAIN:
        train_iter = d2l.TensorLoader(*(t[:n_train] for t in train_iter.tensors), batch_size=BATCH_SIZE,
                                      device=device)
    result = d2l.train_classifier(make_model(), train_iter, test_iter, nn.CrossEntropyLoss(), epochs, lr=LR,
                                  device=device, animate=False, progress=False)
    return result.examples_per_sec, result.test_acc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=3 * NUM_TRAIN,
                        help="training examples per pipeline (default: 3 epochs of 60,000)")
    args = parser.parse_args()
    if d2l.config.QUICK:
        raise SystemExit("bench/mlp_loader.py measures full-size data: unset D2L_MODE=quick and run it again")
    if args.examples < 1:
        raise SystemExit("--examples must be positive")
    n_train = min(args.examples, NUM_TRAIN)
    epochs = max(1, round(args.examples / n_train))
    device = d2l.try_gpu()
    print(f"device: {d2l.device_name(device)}; torch {torch.__version__}; {os.cpu_count()} CPU cores "
          f"({platform.machine()}), {torch.get_num_threads()} torch threads")
    print(f"each pipeline: {epochs} epoch(s) of {n_train:,} training images = {epochs * n_train:,} examples, "
          f"batch {BATCH_SIZE}, SGD lr {LR}")
    rate_a, acc_a = run_dataloader(device, n_train, epochs)
    print(f"(a) DataLoader, 2 workers, per-item uint8->float, per-batch .to(device): "
          f"{rate_a:10,.0f} examples/sec   test acc {acc_a:.3f}")
    rate_b, acc_b = run_d2lutils(device, n_train, epochs)
    print(f"(b) d2l.load_fashion_mnist + d2l.train_classifier:                        "
          f"{rate_b:10,.0f} examples/sec   test acc {acc_b:.3f}")
    print(f"ratio (b)/(a): {rate_b / rate_a:.2f}x")


if __name__ == "__main__":
    main()
