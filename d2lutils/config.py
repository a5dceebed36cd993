"""Run mode of the book: ``full`` (the default) or ``quick``.

The mode is read from the environment variable ``D2L_MODE`` once, at import.
Full mode is what a reader runs and what the stored outputs of the book come
from. Quick mode exists so that continuous integration can execute every
notebook on a 2-core CPU: it caps epochs and examples *inside d2lutils* and
prints one line saying what it capped. Notebook code never branches on the
mode, except in hidden check cells (``if d2l.config.QUICK: ...``).
"""

from __future__ import annotations

import os

__all__ = ["MODE", "QUICK", "QUICK_EPOCHS", "QUICK_EXAMPLES", "epochs", "examples", "read_mode"]

#: The two allowed values of ``D2L_MODE``.
MODES: tuple[str, ...] = ("full", "quick")

#: At most this many epochs run in quick mode.
QUICK_EPOCHS: int = 2

#: At most this many examples of a data set are used in quick mode.
QUICK_EXAMPLES: int = 2_000


def read_mode(value: str | None = None) -> str:
    """Return the run mode named by ``value`` (default: ``$D2L_MODE``, else ``"full"``).

    Args:
        value: a mode name; ``None`` reads the environment variable ``D2L_MODE``.

    Raises:
        ValueError: the value is neither ``full`` nor ``quick``; the message says how to fix it.
    """
    raw = os.environ.get("D2L_MODE", "full") if value is None else value
    mode = raw.strip().lower() or "full"
    if mode not in MODES:
        raise ValueError(
            f"D2L_MODE={raw!r} is not a run mode; use D2L_MODE=full (the default, what the book "
            f"shows) or D2L_MODE=quick (capped epochs and examples, for tests on a CPU)."
        )
    return mode


#: The mode of this process, ``"full"`` or ``"quick"``.
MODE: str = read_mode()

#: ``True`` in quick mode; check cells may use it to relax thresholds.
QUICK: bool = MODE == "quick"


def epochs(n: int) -> int:
    """Return the number of epochs to run: ``n`` in full mode, at most ``QUICK_EPOCHS`` in quick mode.

    In quick mode, when it caps, it prints one line such as
    ``quick mode: 2 of 10 epochs``.

    Args:
        n: the number of epochs the text asks for (a positive integer).
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"epochs(n) needs a positive integer, got {n!r}")
    if QUICK and n > QUICK_EPOCHS:
        print(f"quick mode: {QUICK_EPOCHS} of {n} epochs")
        return QUICK_EPOCHS
    return n


def examples(n: int, what: str = "examples", limit: int | None = None) -> int:
    """Return how many of ``n`` examples to use: all in full mode, at most ``limit`` in quick mode.

    In quick mode, when it caps, it prints one line such as
    ``quick mode: 2,000 of 60,000 examples``.

    Args:
        n: the size of the data set.
        what: the word used in the printed line (e.g. ``"training images"``).
        limit: the cap in quick mode (default ``QUICK_EXAMPLES``).
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"examples(n) needs a non-negative integer, got {n!r}")
    cap = QUICK_EXAMPLES if limit is None else limit
    if QUICK and n > cap:
        print(f"quick mode: {cap:,} of {n:,} {what}")
        return cap
    return n
