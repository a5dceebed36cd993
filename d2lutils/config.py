"""Run mode of the book: ``full`` (the default) or ``quick``.

The mode is read from the environment variable ``D2L_MODE`` once, at import.
Full mode is what a reader runs and what the stored outputs of the book come
from. Quick mode exists so that continuous integration can execute every
notebook on a 2-core CPU: it caps epochs and examples *inside d2lutils*
(``train_classifier``, ``fit_regression`` and the data-set loaders call
:func:`epochs` and :func:`examples`), so notebook code passes the numbers the
text asks for and never branches on the mode, except in hidden check cells
(``if d2l.config.QUICK: ...``).

Quick mode says so once per process, on a line of its own: ``import d2lutils``
prints :data:`NOTICE` in quick mode, before any label a notebook prints, and the
capping functions print nothing more (a cap other than the standard ones prints
its own line once).
"""

from __future__ import annotations

import os

__all__ = ["MODE", "NOTICE", "QUICK", "QUICK_EPOCHS", "QUICK_EXAMPLES", "announce", "epochs", "examples", "read_mode"]

#: The two allowed values of ``D2L_MODE``.
MODES: tuple[str, ...] = ("full", "quick")

#: At most this many epochs run in quick mode.
QUICK_EPOCHS: int = 2

#: At most this many examples of a data set are used in quick mode.
QUICK_EXAMPLES: int = 2_000

#: The line quick mode prints, once per process.
NOTICE: str = (f"quick mode (D2L_MODE=quick): at most {QUICK_EPOCHS} epochs and {QUICK_EXAMPLES:,} examples "
               f"per data set")

_announced: set[str] = set()  # the notices this process has printed


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


def announce(line: str = NOTICE) -> bool:
    """Print ``line`` on its own line, unless this process printed it before; return whether it printed.

    Args:
        line: the notice (default :data:`NOTICE`, the standard caps).
    """
    if line in _announced:
        return False
    _announced.add(line)
    print(line, flush=True)
    return True


def epochs(n: int) -> int:
    """Return the number of epochs to run: ``n`` in full mode, at most ``QUICK_EPOCHS`` in quick mode.

    When it caps, the quick-mode notice is printed unless this process printed it already.

    Args:
        n: the number of epochs the text asks for (a positive integer).

    Raises:
        ValueError: ``n`` is not a positive integer.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"epochs(n) needs a positive integer, got {n!r}")
    if QUICK and n > QUICK_EPOCHS:
        announce()
        return QUICK_EPOCHS
    return n


def examples(n: int, what: str = "examples", limit: int | None = None) -> int:
    """Return how many of ``n`` examples to use: all in full mode, at most ``limit`` in quick mode.

    When it caps, the quick-mode notice is printed unless this process printed it already; a
    ``limit`` other than ``QUICK_EXAMPLES`` has its own notice, e.g.
    ``quick mode (D2L_MODE=quick): at most 1,000 test images``, also printed once.

    Args:
        n: the size of the data set.
        what: what is counted, used in the notice of a non-standard ``limit`` (e.g. ``"test images"``).
        limit: the cap in quick mode (default ``QUICK_EXAMPLES``).

    Raises:
        ValueError: ``n`` is not a non-negative integer.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"examples(n) needs a non-negative integer, got {n!r}")
    cap = QUICK_EXAMPLES if limit is None else limit
    if QUICK and n > cap:
        standard = cap == QUICK_EXAMPLES
        announce(NOTICE if standard else f"quick mode (D2L_MODE=quick): at most {cap:,} {what}")
        return cap
    return n
