"""The input pipeline most tutorials use, shared by the benchmarks' baselines (a).

A per-example ``Dataset`` as torchvision builds Fashion-MNIST: the images stay uint8 and ``__getitem__``
converts one image at a time to a float tensor in [0, 1] (what ``ToTensor`` does). A ``DataLoader`` with
worker processes then calls it once per example and stacks the results into batches.
"""

from __future__ import annotations

import torch


class FashionMNIST(torch.utils.data.Dataset):
    """Per-example Dataset: uint8 storage, float conversion in ``__getitem__``; items are ((1, 28, 28), label)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.images[i].unsqueeze(0).float().div(255), int(self.labels[i])
