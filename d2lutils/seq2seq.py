"""Sequence to sequence (chapter 10): the masked loss, a training loop with teacher forcing, and BLEU.

Section 10.6 builds the masked cross-entropy and the training loop from scratch on fixed-length toy data;
section 10.7 uses :func:`train_seq2seq` for translation, where sources and targets are padded to different
lengths, and scores translations with :func:`bleu` (written from scratch there first). A sequence-to-sequence
model here is any module called as ``net(src, src_len, tgt_in) -> logits``: ``src`` holds padded source
token indices ``(batch, S)``, ``src_len`` their lengths ``(batch,)``, ``tgt_in`` the decoder's inputs
``(batch, T)`` (``<bos>`` and the target shifted right: teacher forcing), and the logits have shape
``(batch, T, vocab_size)``.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from . import config
from .device import Timer, approx, try_gpu
from .rnn import grad_clipping
from .train import _check_lr, _progress
from .widgets import static_requested

__all__ = ["masked_cross_entropy", "Seq2SeqResult", "train_seq2seq", "bleu"]

Pairs = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def masked_cross_entropy(logits: torch.Tensor, Y: torch.Tensor, valid_len: torch.Tensor) -> torch.Tensor:
    """The mean cross-entropy over the valid steps of each row (section 10.6).

    Args:
        logits: shape ``(batch, steps, vocab_size)``.
        Y: the target indices, shape ``(batch, steps)``.
        valid_len: shape ``(batch,)``: row ``i`` counts its first ``valid_len[i]`` steps; the padding after
            them adds nothing to the loss or to the number of steps it is averaged over.

    Returns:
        The sum of the valid steps' losses over the number of valid steps (0 if none), a 0-dim tensor.
    """
    if logits.dim() != 3 or Y.shape != logits.shape[:2]:
        raise ValueError(f"masked_cross_entropy needs logits (batch, steps, vocab) and Y (batch, steps), got "
                         f"{tuple(logits.shape)} and {tuple(Y.shape)}")
    if valid_len.shape != Y.shape[:1]:
        raise ValueError(f"valid_len must have shape ({Y.shape[0]},), got {tuple(valid_len.shape)}")
    loss = F.cross_entropy(logits.transpose(1, 2).float(), Y, reduction="none")       # (batch, steps)
    mask = torch.arange(Y.shape[1], device=Y.device)[None, :] < valid_len.to(Y.device)[:, None]
    return (loss * mask).sum() / mask.sum().clamp(min=1)


@dataclass
class Seq2SeqResult:
    """What :func:`train_seq2seq` measured.

    Attributes:
        train_loss: mean cross-entropy per target token of the last epoch (measured while training).
        valid_loss: the same on the held-out pairs after the last epoch, with teacher forcing (NaN without).
        examples_per_sec: sentence pairs processed per second (training steps only).
        device: the device the model trained on, as a string.
        seconds: total training time in seconds (without evaluation).
        history: per-epoch lists ``train_loss`` and ``valid_loss``.
    """

    train_loss: float
    valid_loss: float
    examples_per_sec: float
    device: str
    seconds: float
    history: dict[str, list[float]] = field(default_factory=dict)

    def summary(self) -> str:
        """The one-line report printed at the end of training."""
        valid = "" if math.isnan(self.valid_loss) else f", held-out loss {self.valid_loss:.3f}"
        return (f"train loss {self.train_loss:.3f}{valid}, "
                f"about {approx(self.examples_per_sec)} examples/sec on {self.device}")


def _check_pairs(data: Sequence[torch.Tensor], where: str) -> Pairs:
    if len(data) != 4:
        raise ValueError(f"{where}: expected (src, src_len, tgt, tgt_len), got {len(data)} tensors")
    src, src_len, tgt, tgt_len = (torch.as_tensor(t) for t in data)
    n = src.shape[0] if src.dim() == 2 else -1
    if (src.dim() != 2 or tgt.dim() != 2 or src_len.shape != (n,) or tgt_len.shape != (n,)
            or tgt.shape[0] != n):
        raise ValueError(f"{where}: expected src (n, S), src_len (n,), tgt (n, T), tgt_len (n,), got "
                         f"{[tuple(t.shape) for t in (src, src_len, tgt, tgt_len)]}")
    if n == 0:
        raise ValueError(f"{where}: no sentence pairs")
    if int(src_len.min()) < 1 or int(src_len.max()) > src.shape[1]:
        raise ValueError(f"{where}: src_len must be between 1 and {src.shape[1]} (the width of src)")
    if int(tgt_len.min()) < 1 or int(tgt_len.max()) > tgt.shape[1] - 1:
        raise ValueError(f"{where}: tgt_len counts the tokens after <bos> and must be between 1 and "
                         f"{tgt.shape[1] - 1}")
    return src.long(), src_len.long(), tgt.long(), tgt_len.long()


def _batches(order: torch.Tensor, batch_size: int, src_len: torch.Tensor, tgt_len: torch.Tensor):
    # index sets with the longest source and target in each: every minibatch is cut to those widths
    for i in range(0, len(order), batch_size):
        b = order[i:i + batch_size]
        yield b, int(src_len[b].max()), int(tgt_len[b].max())


def _held_out_loss(net: nn.Module, data: Pairs, lengths: tuple[torch.Tensor, torch.Tensor],
                   dev: torch.device, batch_size: int = 512) -> float:
    src, src_len, tgt, tgt_len = data
    total, count = torch.zeros((), device=dev), torch.zeros((), device=dev)
    net.eval()
    with torch.no_grad():
        for b_cpu, S, T in _batches(torch.arange(len(src)), batch_size, *lengths):
            b = b_cpu.to(dev)
            Y = tgt[b, :T + 1]
            n = tgt_len[b].sum()
            total += masked_cross_entropy(net(src[b, :S], src_len[b], Y[:, :-1]), Y[:, 1:], tgt_len[b]) * n
            count += n
    return float(total / count)


def train_seq2seq(
    net: nn.Module,
    src: torch.Tensor,
    src_len: torch.Tensor,
    tgt: torch.Tensor,
    tgt_len: torch.Tensor,
    num_epochs: int,
    *,
    lr: float | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    batch_size: int = 128,
    clip: float | None = 1.0,
    valid: Sequence[torch.Tensor] | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    progress: bool | None = None,
) -> Seq2SeqResult:
    """Train a sequence-to-sequence model with teacher forcing and a masked loss (sections 10.6 and 10.7).

    Each epoch visits the pairs in a new random order. A minibatch is cut to its longest source and its
    longest target, so short sentences cost little; the model sees the decoder inputs ``tgt[:, :-1]``
    (``<bos>`` first) and is scored on ``tgt[:, 1:]`` with :func:`masked_cross_entropy`. The gradients are
    clipped to global norm ``clip`` before each update. All data are moved to the device once.

    Args:
        net: a model called as ``net(src, src_len, tgt_in) -> logits``; it is moved to ``device``.
        src: padded source indices, shape ``(n, S)``; src_len: their lengths, shape ``(n,)``.
        tgt: target indices, shape ``(n, T)``: ``<bos>``, the target tokens, ``<eos>``, then padding.
        tgt_len: shape ``(n,)``, the number of valid tokens of ``tgt[:, 1:]`` (the target and ``<eos>``).
        num_epochs: passes over the pairs; capped in quick mode (:mod:`d2lutils.config`).
        lr: learning rate of Adam; or give ``optimizer``.
        optimizer: a ``torch.optim`` optimizer over ``net``'s parameters.
        batch_size: pairs per minibatch.
        clip: the threshold of :func:`~d2lutils.rnn.grad_clipping`, or ``None`` for no clipping.
        valid: held-out ``(src, src_len, tgt, tgt_len)``; their loss is measured after every epoch.
        device: where to train (default :func:`~d2lutils.device.try_gpu`).
        seed: seeds the order of the pairs.
        progress: show a progress bar; ``None`` shows it except in the book's stored runs.

    Returns:
        A :class:`Seq2SeqResult` (its ``summary()`` is the printed line).

    Raises:
        ValueError: neither or both of ``lr`` and ``optimizer``, a non-positive ``clip``, ``num_epochs`` or
            ``batch_size``, or tensors of the wrong shapes or lengths outside them.
        FloatingPointError: the training loss became NaN or infinite.
    """
    where = "train_seq2seq"
    if (optimizer is None) == (lr is None):
        raise ValueError(f"{where} needs exactly one of optimizer and lr")
    if lr is not None:
        _check_lr(lr, where)
    if clip is not None and not (clip > 0 and math.isfinite(clip)):
        raise ValueError(f"{where}: clip must be a finite positive number or None, got {clip!r}")
    if not (isinstance(num_epochs, int) and num_epochs >= 1):
        raise ValueError(f"{where}: num_epochs must be a positive integer, got {num_epochs!r}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"{where}: batch_size must be a positive integer, got {batch_size!r}")
    train = _check_pairs((src, src_len, tgt, tgt_len), where)
    held = _check_pairs(valid, f"{where} (valid)") if valid is not None else None
    num_epochs = config.epochs(num_epochs)
    dev = torch.device(device) if device is not None else try_gpu()
    net.to(dev)
    if optimizer is None:
        optimizer = torch.optim.Adam(net.parameters(), lr=lr)  # type: ignore[arg-type]
    # lengths stay on the CPU as well: cutting a minibatch to its widths then needs no device sync
    lengths = (train[1].cpu(), train[3].cpu())
    held_lengths = (held[1].cpu(), held[3].cpu()) if held is not None else None
    src, src_len, tgt, tgt_len = (t.to(dev) for t in train)
    if held is not None:
        held = tuple(t.to(dev) for t in held)  # type: ignore[assignment]
    n = len(src)
    generator = torch.Generator().manual_seed(seed)
    show_bar = progress if progress is not None else not static_requested()
    bar = _progress(math.ceil(n / batch_size) * num_epochs, "training") if show_bar else None
    history: dict[str, list[float]] = {"train_loss": [], "valid_loss": []}
    timer = Timer(dev)
    train_loss = valid_loss = float("nan")
    try:
        for epoch in range(1, num_epochs + 1):
            net.train()
            total, count = torch.zeros((), device=dev), torch.zeros((), device=dev)
            timer.start()
            for b_cpu, S, T in _batches(torch.randperm(n, generator=generator), batch_size, *lengths):
                b = b_cpu.to(dev)
                Y = tgt[b, :T + 1]
                loss = masked_cross_entropy(net(src[b, :S], src_len[b], Y[:, :-1]), Y[:, 1:], tgt_len[b])
                optimizer.zero_grad()
                loss.backward()
                if clip is not None:
                    grad_clipping(net, clip)
                optimizer.step()
                tokens = tgt_len[b].sum()
                total += loss.detach() * tokens
                count += tokens
                if bar is not None:
                    bar.update(1)
            timer.stop()
            train_loss = float(total / count)
            if not math.isfinite(train_loss):
                raise FloatingPointError(
                    f"{where}: the training loss became {train_loss} in epoch {epoch}: lower the learning rate "
                    f"or clip the gradients (clip=1.0)")
            history["train_loss"].append(train_loss)
            if held is not None:
                valid_loss = _held_out_loss(net, held, held_lengths, dev)  # type: ignore[arg-type]
                history["valid_loss"].append(valid_loss)
            if bar is not None:
                bar.set_postfix_str(f"loss {train_loss:.3f}", refresh=True)
    finally:
        if bar is not None:
            bar.close()
    result = Seq2SeqResult(train_loss, valid_loss, num_epochs * n / max(timer.sum(), 1e-12), str(dev),
                           timer.sum(), history)
    print(result.summary())
    return result


def _ngrams(tokens: Sequence[str], n: int) -> collections.Counter[tuple[str, ...]]:
    return collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _reference_list(refs: Any, i: int) -> list[Sequence[str]]:
    if isinstance(refs, str):
        raise TypeError(f"bleu: reference {i} is a string; give a list of tokens (or a list of token lists)")
    refs = list(refs)
    if not refs or isinstance(refs[0], str):
        return [refs]                                   # one reference
    if any(isinstance(r, str) for r in refs):
        raise TypeError(f"bleu: reference {i} mixes tokens and token lists")
    return refs


def bleu(candidates: Sequence[Sequence[str]], references: Sequence[Any], max_n: int = 4) -> float:
    """Corpus-level BLEU (Papineni et al. 2002) of tokenized translations, on the 0-100 scale (section 10.7).

    For each ``n`` up to ``max_n`` the modified precision is the number of the candidates' n-grams that
    also occur in a reference (each n-gram counted at most as often as it occurs in the reference that
    has it most often), summed over the corpus, over the number of the candidates' n-grams. BLEU is the
    geometric mean of these precisions times the brevity penalty ``min(1, exp(1 - r / c))``, where ``c`` is
    the total candidate length and ``r`` the sum of each sentence's closest reference length (the shorter on
    a tie). There is no smoothing: BLEU is 0 if some precision is 0. The same as
    ``sacrebleu.corpus_bleu(..., tokenize="none", smooth_method="none")`` on the space-joined tokens.

    Args:
        candidates: one token list per sentence (the system's translations).
        references: for each sentence a token list, or a list of several token lists (all its references).
        max_n: the longest n-gram counted.
    """
    if len(candidates) != len(references):
        raise ValueError(f"bleu: {len(candidates)} candidates but {len(references)} references")
    if not (isinstance(max_n, int) and max_n >= 1):
        raise ValueError(f"bleu: max_n must be a positive integer, got {max_n!r}")
    matches, totals = [0] * max_n, [0] * max_n
    cand_len = ref_len = 0
    for i, (cand, refs) in enumerate(zip(candidates, references)):
        if isinstance(cand, str):
            raise TypeError(f"bleu: candidate {i} is a string; give a list of tokens")
        refs = _reference_list(refs, i)
        cand_len += len(cand)
        ref_len += min((len(r) for r in refs), key=lambda length: (abs(length - len(cand)), length))
        for n in range(1, max_n + 1):
            counts = _ngrams(cand, n)
            most: collections.Counter[tuple[str, ...]] = collections.Counter()
            for r in refs:
                most |= _ngrams(r, n)                   # the maximum count over the references
            matches[n - 1] += sum(min(c, most[g]) for g, c in counts.items())
            totals[n - 1] += max(0, len(cand) - n + 1)
    if cand_len == 0 or min(matches) == 0:
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matches, totals)) / max_n
    brevity = min(0.0, 1 - ref_len / cand_len)
    return 100 * math.exp(brevity + log_precision)
