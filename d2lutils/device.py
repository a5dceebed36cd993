"""Devices and synchronised timing.

``try_gpu`` picks CUDA, then Apple's MPS, then the CPU, so the same notebook
runs on a GPU server, a Mac and a laptop.
"""

from __future__ import annotations

import math
import operator
import time

import torch

__all__ = ["cpu", "try_gpu", "try_all_gpus", "synchronize", "Timer", "device_name", "approx"]


def cpu() -> torch.device:
    """Return the CPU device."""
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def try_gpu(i: int = 0) -> torch.device:
    """Return GPU ``i`` if it exists (CUDA first, then Apple MPS), else the CPU.

    Args:
        i: index of the CUDA device (MPS has only device 0).

    Raises:
        TypeError: ``i`` is not an integer.
        ValueError: ``i`` is negative.
    """
    try:
        if isinstance(i, bool):
            raise TypeError
        i = operator.index(i)
    except TypeError:
        raise TypeError(f"try_gpu(i) needs an integer device index, got {i!r}") from None
    if i < 0:
        raise ValueError(f"try_gpu(i) needs i >= 0, got {i}")
    if torch.cuda.is_available() and i < torch.cuda.device_count():
        return torch.device(f"cuda:{i}")
    if i == 0 and _mps_available():
        return torch.device("mps")
    return cpu()


def try_all_gpus() -> list[torch.device]:
    """Return every available GPU, or ``[cpu()]`` when there is none."""
    if torch.cuda.is_available() and torch.cuda.device_count() > 0:
        return [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    if _mps_available():
        return [torch.device("mps")]
    return [cpu()]


def synchronize(device: torch.device | str | None = None) -> None:
    """Wait until all queued work on ``device`` has finished (no-op on the CPU).

    GPU kernels run asynchronously: without this call a timer measures only how
    long it took to *queue* the work.
    """
    dev = torch.device(device) if device is not None else None
    if dev is None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()


def device_name(device: torch.device | str) -> str:
    """Return a short human-readable name, e.g. ``"cuda:0 (NVIDIA H100 80GB HBM3)"`` or ``"cpu"``."""
    dev = torch.device(device)
    if dev.type == "cuda":
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return str(dev)


class Timer:
    """A stopwatch that records laps and synchronises a device before reading the clock.

    Example::

        timer = Timer(device)
        ...            # work
        timer.stop()   # seconds of this lap, after the device finished
        timer.sum()

    Args:
        device: the device whose queued work must finish before each reading
            (``None``: the CPU clock only).
    """

    def __init__(self, device: torch.device | str | None = None) -> None:
        self.device = torch.device(device) if device is not None else None
        self.times: list[float] = []
        self.start()

    def start(self) -> None:
        """Start a new lap."""
        if self.device is not None:
            synchronize(self.device)
        self._tik = time.perf_counter()

    def stop(self) -> float:
        """End the lap, record it and return its length in seconds."""
        if self.device is not None:
            synchronize(self.device)
        self.times.append(time.perf_counter() - self._tik)
        return self.times[-1]

    def sum(self) -> float:
        """Total of all recorded laps, in seconds."""
        return float(sum(self.times))

    def avg(self) -> float:
        """Mean lap length in seconds (0.0 when no lap was recorded)."""
        return self.sum() / len(self.times) if self.times else 0.0

    def cumsum(self) -> list[float]:
        """Running totals of the laps (for plotting progress against wall time)."""
        out, total = [], 0.0
        for t in self.times:
            total += t
            out.append(total)
        return out


def approx(value: float, digits: int = 2) -> str:
    """A measured rate or time for printing, rounded to ``digits`` significant digits: ``18,616 -> "19,000"``.

    Speeds change from run to run and from machine to machine; stored outputs print them rounded (after
    the word "about") so that a rerun does not rewrite every number and nobody reads noise as a result.

    Args:
        value: a finite, non-negative number (``nan`` and ``inf`` are returned as ``"nan"`` / ``"inf"``).
        digits: significant digits to keep (at least 1).
    """
    if digits < 1:
        raise ValueError(f"approx(digits={digits!r}): keep at least one significant digit")
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    rounded = round(value, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{rounded:,.0f}" if abs(rounded) >= 10 ** (digits - 1) else f"{rounded:,.{digits}g}"

