"""Measuring generative models (chapter 14): the Fréchet distance and the book's feature network.

A generated image set is scored by the Fréchet distance between Gaussians fitted to features of real and
generated images (Heusel et al., 2017, with Inception features: the FID). The book uses its own network
instead of Inception: section 8.4's LeNet with batch normalization, trained once on Fashion-MNIST, saved in
the data cache and reloaded by every later call, so that sections 14.3 and 14.4 measure with the same ruler.
Numbers from this ruler are comparable with each other (at the same sample size), not with published FIDs.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from . import config
from .data import data_dir, read_fashion_mnist
from .device import try_gpu
from .fetch import part_file

__all__ = ["FashionNet", "fashion_classifier", "fashion_fid", "frechet_distance"]

FEATURES: int = 84  # size of FashionNet.features' output


class FashionNet(nn.Module):
    """Section 8.4's LeNet with batch normalization; :meth:`features` gives its 84 penultimate activations.

    As there: sigmoid activations, average pooling, Xavier-uniform initialization, and no bias in a layer
    that batch normalization follows (its shift replaces it).
    """

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2, bias=False), nn.BatchNorm2d(6), nn.Sigmoid(),
            nn.AvgPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5, bias=False), nn.BatchNorm2d(16), nn.Sigmoid(), nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120, bias=False), nn.BatchNorm1d(120), nn.Sigmoid(),
            nn.Linear(120, FEATURES, bias=False), nn.BatchNorm1d(FEATURES), nn.Sigmoid(),
        )
        self.head = nn.Linear(FEATURES, 10)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)

    def features(self, X: torch.Tensor) -> torch.Tensor:
        """Return the penultimate activations ``(n, 84)`` of images ``X`` of shape ``(n, 1, 28, 28)``."""
        return self.body(X)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return class scores ``(n, 10)``."""
        return self.head(self.body(X))


def frechet_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """Return the Fréchet distance between Gaussians fitted to two sets of feature vectors.

    ``||mu_x - mu_y||^2 + Tr(S_x + S_y - 2 (S_x S_y)^{1/2})`` with the sample means and (unbiased)
    covariances, computed in float64; ``Tr (S_x S_y)^{1/2}`` is the sum of the square roots of the
    eigenvalues of the symmetric matrix ``S_x^{1/2} S_y S_x^{1/2}``.

    Args:
        x: features ``(n, d)``, n >= 2.
        y: features ``(m, d)``, m >= 2, same d.

    Returns:
        The squared Fréchet (2-Wasserstein) distance between the two Gaussians, >= 0 up to rounding.

    Raises:
        ValueError: an input is not 2-D, has fewer than 2 rows, the feature sizes differ, or it holds
            NaN or infinite values.
    """
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, torch.Tensor) or t.dim() != 2 or t.shape[0] < 2:
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"frechet_distance: {name} must be a tensor of shape (n, d) with n >= 2, got {shape}")
        if not torch.isfinite(t).all():
            raise ValueError(f"frechet_distance: {name} holds NaN or infinite values")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"frechet_distance: feature sizes differ: {x.shape[1]} vs {y.shape[1]}")
    x, y = x.detach().double().cpu(), y.detach().double().cpu()
    mu_x, mu_y = x.mean(0), y.mean(0)
    s_x, s_y = torch.atleast_2d(torch.cov(x.T)), torch.atleast_2d(torch.cov(y.T))
    w, v = torch.linalg.eigh(s_x)
    root_x = v @ torch.diag(w.clamp(min=0).sqrt()) @ v.T
    m = root_x @ s_y @ root_x
    trace_root = torch.linalg.eigvalsh((m + m.T) / 2).clamp(min=0).sqrt().sum()
    dist = ((mu_x - mu_y) ** 2).sum() + torch.trace(s_x) + torch.trace(s_y) - 2 * trace_root
    return float(dist)


def _train(net: FashionNet, num_examples: int, epochs: int, seed: int) -> None:
    images, labels = read_fashion_mnist(train=True)
    X = images[:num_examples].unsqueeze(1).float() / 255
    y = labels[:num_examples]
    gen = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss = nn.CrossEntropyLoss()
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=gen)
        for idx in order.split(128):
            optimizer.zero_grad()
            loss(net(X[idx]), y[idx]).backward()
            optimizer.step()
    net.eval()


def fashion_classifier(
    device: torch.device | str | None = None,
    *,
    epochs: int = 3,
    num_examples: int | None = None,
    seed: int = 0,
) -> FashionNet:
    """Return the book's feature network, trained on Fashion-MNIST once and then reloaded from the cache.

    The first call trains a :class:`FashionNet` (Adam, learning rate 0.001, batch 128, ``epochs`` passes,
    seeded; about 86 % test accuracy after 3 epochs; under a minute on two CPU cores) and saves its ``state_dict`` in
    ``data_dir() / "models"``; later calls with the same arguments load that file. The caller's random
    number generators are left as they were, so a notebook's later results do not depend on whether the
    file existed. Nothing is printed.

    Args:
        device: where the returned network lives (default :func:`~d2lutils.device.try_gpu`).
        epochs: training passes, a positive integer.
        num_examples: training examples used (the first ones of the training set); default all 60,000,
            or ``config.QUICK_EXAMPLES`` in quick mode.
        seed: seed of initialization and shuffling.

    Returns:
        The network in eval mode on ``device``.

    Raises:
        ValueError: ``epochs`` or ``num_examples`` is not a positive integer.
        PermissionError, d2lutils.data.DownloadError: as :func:`~d2lutils.data.download` (Fashion-MNIST is read on the
            first call only).
    """
    for name, value in (("epochs", epochs), ("num_examples", num_examples)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"fashion_classifier: {name} must be a positive integer, got {value!r}")
    if num_examples is None:
        num_examples = config.QUICK_EXAMPLES if config.QUICK else 60_000
    num_examples = min(num_examples, 60_000)
    folder = data_dir() / "models"
    path = folder / f"fashion-lenet-bn-sigmoid-{num_examples}x{epochs}-seed{seed}.pt"
    with torch.random.fork_rng(devices=[]):  # initialization draws random numbers: not the caller's
        torch.manual_seed(seed)
        net = FashionNet()
        if path.is_file():
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            net.eval()
            return net.to(try_gpu() if device is None else device)
        _train(net, num_examples, epochs, seed)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = part_file(folder, path.name)
        try:
            torch.save(net.state_dict(), tmp)
            os.replace(tmp, path)  # atomic: a concurrent reader sees the whole file or none
        finally:
            Path(tmp).unlink(missing_ok=True)
    return net.to(try_gpu() if device is None else device)


def _as_images(images: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"fashion_fid: {name} must be a tensor, got {type(images).__name__}")
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28) or images.shape[0] < 2:
        raise ValueError(f"fashion_fid: {name} must have shape (n, 1, 28, 28) or (n, 28, 28) with n >= 2, "
                         f"got {tuple(images.shape)}")
    images = images.float()
    lo, hi = float(images.min()), float(images.max())
    if lo < -1e-3 or hi > 1 + 1e-3:
        raise ValueError(f"fashion_fid: {name} must hold pixel values in [0, 1], found [{lo:.3g}, {hi:.3g}]; "
                         f"map a tanh generator's output with (x + 1) / 2, or uint8 images with x / 255")
    return images


@torch.no_grad()
def fashion_fid(
    images_a: torch.Tensor,
    images_b: torch.Tensor,
    net: nn.Module | None = None,
    batch_size: int = 500,
) -> float:
    """Return the Fréchet distance between two image sets in the feature space of :func:`fashion_classifier`.

    Args:
        images_a, images_b: images ``(n, 1, 28, 28)`` or ``(n, 28, 28)`` with values in ``[0, 1]``.
        net: a network with a ``features`` method (default ``fashion_classifier()``); it is put in eval mode.
        batch_size: images per forward pass.

    Returns:
        :func:`frechet_distance` of the two feature sets. It shrinks as the sample size grows, even
        between two samples of the same distribution: compare numbers at the same sample size only.

    Raises:
        TypeError: an image set is not a tensor.
        ValueError: wrong shape, fewer than 2 images, or pixel values outside ``[0, 1]`` (the message says
            how to map a tanh output).
    """
    a, b = _as_images(images_a, "images_a"), _as_images(images_b, "images_b")
    if net is None:
        net = fashion_classifier()
    net.eval()
    device = next(net.parameters()).device
    feats = [torch.cat([net.features(chunk.to(device)).cpu() for chunk in s.split(batch_size)]) for s in (a, b)]
    return frechet_distance(*feats)
