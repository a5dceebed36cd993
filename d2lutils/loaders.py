"""A minibatch loader that keeps a whole small data set on the device.

``torch.utils.data.DataLoader`` collates every batch in Python, often in worker
processes, and the training loop then copies each batch to the GPU. For data
sets that fit in device memory (MNIST, Fashion-MNIST, the tabular sets of this
book) that is wasted work: :class:`TensorLoader` moves the tensors to the
device once and yields batches by indexing there with one shuffled
permutation per epoch. Chapter 3 teaches ``DataLoader``; the training
utilities use this.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Any

import torch

__all__ = ["TensorLoader", "load_array"]


def _batch_size(value: Any) -> int:
    # Any integer type (int, numpy.int64, a 0-d integer tensor) >= 1; bool is an int in Python but not a size.
    if not isinstance(value, bool):
        try:
            size = operator.index(value)
        except TypeError:
            size = 0
        if size >= 1:
            return size
    raise ValueError(f"batch_size must be a positive integer, got {value!r} ({type(value).__name__})")


class TensorLoader:
    """Iterate over shuffled minibatches of tensors that live on one device.

    Args:
        *tensors: tensors with the same first dimension (e.g. features, labels).
        batch_size: examples per minibatch, a positive integer (``int`` or e.g. ``numpy.int64``).
        shuffle: draw a new random order every epoch.
        device: where the tensors are kept (default: where they already are).
        seed: seed of the loader's own random generator, so runs repeat.
        drop_last: drop the last batch when it is smaller than ``batch_size``.

    Iterating yields tuples of tensors (one per input tensor); ``len()`` is the
    number of batches per epoch and ``num_examples`` the data-set size.

    Raises:
        TypeError: an input is not a tensor.
        ValueError: the tensors differ in their first dimension, or ``batch_size`` is not a positive
            integer (``True``, ``2.5``, ``0`` and ``"32"`` are refused).
    """

    def __init__(
        self,
        *tensors: torch.Tensor,
        batch_size: int,
        shuffle: bool = True,
        device: torch.device | str | None = None,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if not tensors:
            raise ValueError("TensorLoader needs at least one tensor")
        if not all(isinstance(t, torch.Tensor) for t in tensors):
            kinds = ", ".join(type(t).__name__ for t in tensors)
            raise TypeError(f"TensorLoader takes tensors, got: {kinds}")
        sizes = {t.shape[0] if t.dim() > 0 else -1 for t in tensors}
        if len(sizes) != 1 or -1 in sizes:
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ValueError(f"TensorLoader needs tensors with the same first dimension, got shapes {shapes}")
        batch_size = _batch_size(batch_size)
        dev = torch.device(device) if device is not None else tensors[0].device
        self.tensors = tuple(t.to(dev) for t in tensors)
        self.device = dev
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.num_examples = int(self.tensors[0].shape[0])
        self._generator = torch.Generator(device="cpu").manual_seed(seed)

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_examples // self.batch_size
        return -(-self.num_examples // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        n = self.num_examples
        if self.shuffle:
            order = torch.randperm(n, generator=self._generator).to(self.device)
        else:
            order = None
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            end = min(start + self.batch_size, n)
            if order is None:
                yield tuple(t[start:end] for t in self.tensors)
            else:
                idx = order[start:end]
                yield tuple(t.index_select(0, idx) for t in self.tensors)

    def __repr__(self) -> str:
        shapes = ", ".join(str(tuple(t.shape)) for t in self.tensors)
        return (f"TensorLoader({shapes}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"device={self.device})")


def load_array(
    data: tuple[torch.Tensor, ...] | list[torch.Tensor],
    batch_size: int,
    shuffle: bool = True,
    device: torch.device | str | None = None,
    seed: int = 0,
) -> TensorLoader:
    """Wrap a tuple of tensors, e.g. ``(features, labels)``, in a :class:`TensorLoader`.

    Args:
        data: tensors with the same first dimension.
        batch_size: examples per minibatch.
        shuffle: reshuffle every epoch.
        device: where to keep the data (default: where it is).
        seed: seed of the shuffling.
    """
    if isinstance(data, torch.Tensor):
        raise TypeError("load_array takes a tuple of tensors, e.g. (features, labels), not one tensor")
    return TensorLoader(*data, batch_size=batch_size, shuffle=shuffle, device=device, seed=seed)
