"""Text: tokenizers, a vocabulary, and minibatches of token sequences.

Chapters 9 and 10 teach each of these first in a notebook; the versions here are what later sections
reuse. A corpus becomes token lists (:func:`tokenize`: words, characters, or Chinese words with jieba),
the tokens become indices (:class:`Vocab`), and a long sequence of indices becomes minibatches of
subsequences for a language model (:func:`seq_data_iter_random`, :func:`seq_data_iter_sequential`);
sentences of different lengths become one tensor with :func:`truncate_pad` and :func:`sequence_mask`.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import torch

from .data import download

__all__ = ["TOKEN_KINDS", "tokenize", "count_tokens", "Vocab", "char_corpus", "seq_data_iter_random",
           "seq_data_iter_sequential", "truncate_pad", "sequence_mask", "read_icwb2", "SegmentationScores",
           "segmentation_scores"]

TOKEN_KINDS = ("word", "char", "jieba")
"""The kinds of token :func:`tokenize` knows: whitespace-separated words, characters, jieba words."""


def _jieba() -> Any:
    try:
        import jieba
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("tokenize(..., 'jieba') needs the jieba package: pip install jieba "
                          "(it is in the book's environment.yml and pyproject.toml)") from err
    import logging

    jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict ..." lines in the outputs
    return jieba


def tokenize(lines: Iterable[str], token: str = "word") -> list[list[str]]:
    """Split every line into tokens.

    Args:
        lines: the lines of a corpus (a single string is refused: pass ``text.splitlines()``).
        token: ``"word"`` (split on whitespace), ``"char"`` (every character, spaces included) or
            ``"jieba"`` (Chinese word segmentation with jieba's default, "exact" mode).

    Returns:
        One list of tokens per line.
    """
    if isinstance(lines, str):
        raise TypeError("tokenize expects an iterable of lines, not one string: pass text.splitlines()")
    if token == "word":
        return [line.split() for line in lines]
    if token == "char":
        return [list(line) for line in lines]
    if token == "jieba":
        jieba = _jieba()
        return [[w for w in jieba.lcut(line) if not w.isspace()] for line in lines]
    raise ValueError(f"unknown token kind {token!r}; expected one of {TOKEN_KINDS}")


def count_tokens(tokens: Iterable[str] | Iterable[Iterable[str]]) -> collections.Counter[str]:
    """Count tokens given as a flat list or as a list of token lists (one per line)."""
    tokens = list(tokens)
    if tokens and not isinstance(tokens[0], str):
        tokens = [t for line in tokens for t in line]
    return collections.Counter(tokens)


class Vocab:
    """A vocabulary: maps tokens to indices and back.

    Index 0 is the unknown token ``"<unk>"``, then come the ``reserved_tokens`` in the given order, then
    every token seen at least ``min_freq`` times, the most frequent first (ties in alphabetical order, so
    that the indices do not depend on the order of the corpus). A token the vocabulary does not hold maps
    to index 0.

    Args:
        tokens: a flat list of tokens or a list of token lists.
        min_freq: tokens seen fewer times are left out (they become ``"<unk>"``).
        reserved_tokens: tokens that get an index whatever their count, e.g. ``["<pad>", "<bos>", "<eos>"]``.
    """

    def __init__(self, tokens: Iterable[str] | Iterable[Iterable[str]] = (), min_freq: int = 0,
                 reserved_tokens: Sequence[str] = ()) -> None:
        if len(set(reserved_tokens)) != len(reserved_tokens) or "<unk>" in reserved_tokens:
            raise ValueError(f"reserved_tokens must be distinct and must not contain '<unk>': {reserved_tokens}")
        counter = count_tokens(tokens)
        self.token_freqs: list[tuple[str, int]] = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
        """(token, count) pairs of the corpus, the most frequent first."""
        self.idx_to_token: list[str] = ["<unk>", *reserved_tokens]
        self.idx_to_token += [t for t, n in self.token_freqs if n >= min_freq and t not in self.idx_to_token]
        self.token_to_idx: dict[str, int] = {t: i for i, t in enumerate(self.idx_to_token)}

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __getitem__(self, tokens: Any) -> Any:
        """The index of a token, or a (nested) list of indices for a (nested) list of tokens."""
        if isinstance(tokens, str):
            return self.token_to_idx.get(tokens, self.unk)
        return [self[t] for t in tokens]

    def to_tokens(self, indices: Any) -> Any:
        """The token of an index (an ``int`` or a 0-d tensor), or a list of tokens for a list or 1-d tensor."""
        if isinstance(indices, torch.Tensor):
            indices = indices.tolist()
        if isinstance(indices, int):
            if not 0 <= indices < len(self):
                raise IndexError(f"index {indices} is outside the vocabulary (size {len(self)})")
            return self.idx_to_token[indices]
        return [self.to_tokens(i) for i in indices]

    @property
    def unk(self) -> int:
        """The index of the unknown token, 0."""
        return 0


def char_corpus(text: str, train_fraction: float = 0.9) -> tuple[torch.Tensor, torch.Tensor, Vocab]:
    """Split a text into a training and a held-out character corpus (section 9.3).

    The first ``train_fraction`` of the characters is the training text, the rest the held-out text; the
    vocabulary holds the characters of the training text only, so a character seen only in the held-out
    part becomes ``"<unk>"`` (index 0), as it would for a model deployed on new text.

    Returns:
        ``(train, heldout, vocab)``: two 1-d tensors of indices and the :class:`Vocab`.
    """
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be between 0 and 1 (exclusive), got {train_fraction!r}")
    cut = int(train_fraction * len(text))
    if cut == 0 or cut == len(text):
        raise ValueError(f"a text of {len(text)} characters is too short to split at {train_fraction}")
    vocab = Vocab(list(text[:cut]))
    return torch.tensor(vocab[list(text[:cut])]), torch.tensor(vocab[list(text[cut:])]), vocab


def _as_corpus(corpus: Sequence[int] | torch.Tensor, num_steps: int, batch_size: int) -> torch.Tensor:
    # The corpus as a 1-D long tensor, with a clear error when it cannot fill one minibatch.
    corpus = torch.as_tensor(corpus, dtype=torch.long)
    if corpus.dim() != 1:
        raise ValueError(f"corpus must be one sequence of token indices, got shape {tuple(corpus.shape)}")
    if num_steps < 1 or batch_size < 1:
        raise ValueError(f"num_steps and batch_size must be positive, got {num_steps} and {batch_size}")
    if len(corpus) < num_steps * batch_size + num_steps:
        raise ValueError(f"a corpus of {len(corpus)} tokens is too short for one minibatch of {batch_size} "
                         f"subsequences of {num_steps} tokens (plus the random offset)")
    return corpus


def seq_data_iter_random(corpus: Sequence[int] | torch.Tensor, batch_size: int, num_steps: int,
                         generator: torch.Generator | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Minibatches of random, non-overlapping subsequences of a corpus (random partitioning).

    The corpus is cut into subsequences of ``num_steps`` tokens from a random offset in
    ``[0, num_steps)``; each epoch visits every such subsequence once, in random order, so that two
    consecutive minibatches hold unrelated text.

    Args:
        corpus: one long sequence of token indices.
        batch_size: subsequences per minibatch.
        num_steps: tokens per subsequence.
        generator: a ``torch.Generator`` for reproducible offsets and order.

    Yields:
        ``(X, Y)`` of shape ``(batch_size, num_steps)``, where ``Y`` is ``X`` shifted by one token: the
        targets of a language model.
    """
    corpus = _as_corpus(corpus, num_steps, batch_size)
    offset = int(torch.randint(num_steps, (1,), generator=generator))
    num_subseqs = (len(corpus) - offset - 1) // num_steps
    starts = offset + num_steps * torch.randperm(num_subseqs, generator=generator)
    steps = torch.arange(num_steps)
    for i in range(0, num_subseqs - batch_size + 1, batch_size):
        index = starts[i:i + batch_size, None] + steps  # (batch_size, num_steps)
        yield corpus[index], corpus[index + 1]


def seq_data_iter_sequential(corpus: Sequence[int] | torch.Tensor, batch_size: int, num_steps: int,
                             generator: torch.Generator | None = None
                             ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Minibatches in which row ``i`` of each minibatch continues row ``i`` of the one before (sequential
    partitioning), so that a recurrent network can carry its hidden state from minibatch to minibatch.

    From a random offset in ``[0, num_steps)``, the corpus is split into ``batch_size`` contiguous streams
    (the rows), which the minibatches walk through ``num_steps`` tokens at a time.

    Args:
        corpus: one long sequence of token indices.
        batch_size: number of parallel streams.
        num_steps: tokens per subsequence.
        generator: a ``torch.Generator`` for a reproducible offset.

    Yields:
        ``(X, Y)`` of shape ``(batch_size, num_steps)``, ``Y`` being ``X`` shifted by one token.
    """
    corpus = _as_corpus(corpus, num_steps, batch_size)
    offset = int(torch.randint(num_steps, (1,), generator=generator))
    num_tokens = (len(corpus) - offset - 1) // batch_size * batch_size
    Xs = corpus[offset:offset + num_tokens].reshape(batch_size, -1)
    Ys = corpus[offset + 1:offset + 1 + num_tokens].reshape(batch_size, -1)
    for i in range(0, Xs.shape[1] // num_steps * num_steps, num_steps):
        yield Xs[:, i:i + num_steps], Ys[:, i:i + num_steps]


def truncate_pad(line: Sequence[int], num_steps: int, padding_token: int) -> list[int]:
    """Cut ``line`` to ``num_steps`` tokens, or pad it to that length with ``padding_token``."""
    if num_steps < 0:
        raise ValueError(f"num_steps must not be negative, got {num_steps}")
    line = list(line)
    return line[:num_steps] + [padding_token] * (num_steps - len(line))


def sequence_mask(X: torch.Tensor, valid_len: torch.Tensor, value: float = 0.0) -> torch.Tensor:
    """Return a copy of ``X`` with every entry past each row's valid length set to ``value``.

    Args:
        X: shape ``(batch, steps, ...)``.
        valid_len: shape ``(batch,)``, the number of valid steps of each row.
        value: what the masked entries become (0 for losses, a large negative number for softmax scores).
    """
    if valid_len.shape != X.shape[:1]:
        raise ValueError(f"valid_len must have shape ({X.shape[0]},), got {tuple(valid_len.shape)}")
    keep = torch.arange(X.shape[1], device=X.device)[None, :] < valid_len.to(X.device)[:, None]
    keep = keep.reshape(keep.shape + (1,) * (X.dim() - 2))
    return torch.where(keep, X, torch.as_tensor(value, dtype=X.dtype, device=X.device))


def read_icwb2(corpus: str = "pku", part: str = "gold") -> list[list[str]] | list[str]:
    """Read the SIGHAN 2005 Chinese word-segmentation gold standard (data set ``icwb2``).

    Args:
        corpus: ``"pku"`` (Peking University, 1,945 sentences) or ``"msr"`` (Microsoft Research, 3,985).
        part: ``"gold"``: the test sentences as lists of gold words; ``"test"``: the same sentences
            unsegmented, one string each; ``"words"``: the word list of the corpus's training set, which the
            official scorer uses to tell in-vocabulary from out-of-vocabulary words.

    The MSR testing file breaks a few lines differently from its gold file (8 opening quotation marks end
    one line in the gold file and start the next in the testing file) and holds 3 spaces inside sentences,
    so a segmenter is best scored on the gold sentences with their spaces removed, ``"".join(words)``.
    """
    if corpus not in ("pku", "msr"):
        raise ValueError(f"corpus must be 'pku' or 'msr', got {corpus!r}")
    files = {"gold": f"gold/{corpus}_test_gold.utf8", "test": f"testing/{corpus}_test.utf8",
             "words": f"gold/{corpus}_training_words.utf8"}
    if part not in files:
        raise ValueError(f"part must be one of {sorted(files)}, got {part!r}")
    # splitlines() also takes the files' CRLF line ends apart
    lines = [line.strip() for line in (download("icwb2") / files[part]).read_text(encoding="utf-8").splitlines()]
    if part == "gold":
        return [line.split() for line in lines if line]
    return [line for line in lines if line]


class SegmentationScores(NamedTuple):
    """Word-segmentation scores as the SIGHAN scorer reports them (all in [0, 1])."""

    precision: float
    recall: float
    f1: float
    oov_rate: float    # share of gold words not in the training word list
    oov_recall: float  # recall on those words (nan when there are none)
    iv_recall: float   # recall on the others


def _spans(words: Sequence[str]) -> set[tuple[int, int]]:
    spans, start = set(), 0
    for w in words:
        spans.add((start, start + len(w)))
        start += len(w)
    return spans


def segmentation_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                        training_words: Iterable[str] = ()) -> SegmentationScores:
    """Precision, recall, F1 and out-of-vocabulary recall of a word segmentation.

    A predicted word is correct when a gold word covers exactly the same characters of the sentence, as in
    the official SIGHAN scorer (which aligns the two segmentations of each sentence; for the same characters
    that is the same as comparing character spans). Precision is correct / predicted words, recall correct
    / gold words, F1 their harmonic mean.

    Args:
        gold, predicted: the same sentences, each a list of words.
        training_words: the words seen in training; gold words outside it are the out-of-vocabulary words.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted ones")
    known = set(training_words)
    n_gold = n_pred = correct = n_oov = oov_correct = 0
    for i, (g, p) in enumerate(zip(gold, predicted)):
        if "".join(g) != "".join(p):
            raise ValueError(f"sentence {i}: the predicted words do not spell the gold sentence: "
                             f"{''.join(p)[:30]!r} vs {''.join(g)[:30]!r}")
        g_spans, p_spans = _spans(g), _spans(p)
        sentence = "".join(g)
        hits = g_spans & p_spans
        n_gold, n_pred, correct = n_gold + len(g_spans), n_pred + len(p_spans), correct + len(hits)
        for a, b in g_spans:
            if sentence[a:b] not in known:
                n_oov += 1
                oov_correct += (a, b) in hits
    precision = correct / n_pred if n_pred else 0.0
    recall = correct / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    n_iv = n_gold - n_oov
    return SegmentationScores(precision, recall, f1, n_oov / n_gold if n_gold else 0.0,
                              oov_correct / n_oov if n_oov else float("nan"),
                              (correct - oov_correct) / n_iv if n_iv else float("nan"))
