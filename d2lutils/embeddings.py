"""Word vectors (chapter 11): co-occurrence counts, PPMI, truncated SVD, similarity search and analogies.

Section 11.1 builds each function from scratch on the Penn Treebank and checks it by hand on a toy
sentence; the versions here are what sections 11.3 and later reuse, for count-based vectors and for
word2vec's alike. A word's vector is a row of a matrix ``W`` (dense, or sparse COO/CSR for counts), and
the rows are indexed by a :class:`~d2lutils.text.Vocab`.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .text import Vocab

__all__ = ["context_pairs", "cooccurrence", "ppmi", "truncated_svd", "cosine_similarities", "most_similar",
           "analogy"]


def _check_corpus(corpus: torch.Tensor, sentence_ids: torch.Tensor | None, where: str) -> None:
    if corpus.dim() != 1:
        raise ValueError(f"{where}: corpus must be a 1-d tensor of token indices, got shape {tuple(corpus.shape)}")
    if sentence_ids is not None and sentence_ids.shape != corpus.shape:
        raise ValueError(f"{where}: sentence_ids must have the corpus's shape {tuple(corpus.shape)}, got "
                         f"{tuple(sentence_ids.shape)}")


def context_pairs(corpus: torch.Tensor, window: int,
                  sentence_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """All (centre, context) index pairs at distance 1 to ``window``, in both directions (section 11.1).

    Built with one shifted copy of the corpus per distance, not a loop over tokens.

    Args:
        corpus: token indices, a 1-d tensor.
        window: the window size: how many words on each side count as context.
        sentence_ids: the sentence number of each token; when given, no pair crosses a sentence boundary.

    Returns:
        ``(centers, contexts)``, two 1-d tensors of the same length.
    """
    _check_corpus(corpus, sentence_ids, "context_pairs")
    if not (isinstance(window, int) and window >= 1):
        raise ValueError(f"context_pairs: window must be a positive integer, got {window!r}")
    centers, contexts = [], []
    for d in range(1, window + 1):
        left, right = corpus[:-d], corpus[d:]                  # the tokens d positions apart
        if sentence_ids is not None:
            same = sentence_ids[:-d] == sentence_ids[d:]
            left, right = left[same], right[same]
        centers += [left, right]
        contexts += [right, left]
    return torch.cat(centers), torch.cat(contexts)


def cooccurrence(corpus: torch.Tensor, vocab_size: int, window: int, sentence_ids: torch.Tensor | None = None,
                 dense: bool = False) -> torch.Tensor:
    """The co-occurrence matrix of a corpus: entry ``(x, y)`` counts ``y`` within ``window`` words of ``x``.

    Args:
        corpus: token indices, a 1-d tensor, all below ``vocab_size``.
        vocab_size: the number of rows and columns.
        window, sentence_ids: as for :func:`context_pairs`.
        dense: return a dense ``float32`` matrix (``4 V^2`` bytes) instead of a coalesced sparse COO one.
    """
    centers, contexts = context_pairs(corpus, window, sentence_ids)
    if len(corpus) and not 0 <= int(corpus.min()) <= int(corpus.max()) < vocab_size:
        raise ValueError(f"cooccurrence: token indices must lie in [0, {vocab_size}), got "
                         f"[{int(corpus.min())}, {int(corpus.max())}]")
    ones = torch.ones(len(centers), device=corpus.device)
    if dense:
        C = torch.zeros(vocab_size * vocab_size, device=corpus.device)
        C.index_add_(0, centers * vocab_size + contexts, ones)   # entry x * V + y
        return C.view(vocab_size, vocab_size)
    C = torch.sparse_coo_tensor(torch.stack([centers, contexts]), ones, (vocab_size, vocab_size),
                                check_invariants=True)
    return C.coalesce()                                        # sums the repeated pairs


def ppmi(C: torch.Tensor) -> torch.Tensor:
    """Positive pointwise mutual information (base 2) of a count matrix, dense or sparse COO (section 11.1).

    ``PPMI(x, y) = max(0, log2(C[x, y] N / (C[x, :].sum() C[:, y].sum())))`` with ``N`` the sum of all counts;
    a zero count gives 0 (not ``-inf``), and a word without any count gives a row of zeros. A sparse input
    gives a sparse result holding the positive entries only.
    """
    if C.dim() != 2:
        raise ValueError(f"ppmi: expected a 2-d count matrix, got shape {tuple(C.shape)}")
    sparse = C.layout == torch.sparse_coo
    if sparse:
        C = C.coalesce()
        row_sums = torch.sparse.sum(C, dim=1).to_dense()
        col_sums = torch.sparse.sum(C, dim=0).to_dense()
    elif C.layout == torch.strided:
        row_sums, col_sums = C.sum(dim=1), C.sum(dim=0)
    else:
        raise ValueError(f"ppmi: expected a dense or sparse COO matrix, got layout {C.layout}")
    N = row_sums.sum()
    row_sums, col_sums = row_sums.clamp(min=1), col_sums.clamp(min=1)
    if sparse:
        (rows, cols), counts = C.indices(), C.values()
        values = torch.log2(counts * N / row_sums[rows] / col_sums[cols]).clamp(min=0)
        keep = values > 0
        return torch.sparse_coo_tensor(C.indices()[:, keep], values[keep], C.shape, check_invariants=True).coalesce()
    M = C * N
    M /= row_sums[:, None]
    M /= col_sums
    return M.log2_().clamp_(min=0)                             # log2(0) = -inf becomes 0


def truncated_svd(M: torch.Tensor, k: int = 100, niter: int = 5,
                  seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The top ``k`` singular triplets ``(U, S, V)`` of ``M`` (dense or sparse COO) by randomized SVD.

    ``torch.svd_lowrank`` with ``niter`` power iterations; its random start is seeded by ``seed`` without
    changing the global random state. The rows of ``U`` are ``k``-dimensional word vectors (section 11.1).
    """
    if not (isinstance(k, int) and 1 <= k <= min(M.shape)):
        raise ValueError(f"truncated_svd: k must be an integer between 1 and {min(M.shape)}, got {k!r}")
    devices = [M.device] if M.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        return torch.svd_lowrank(M, q=k, niter=niter)


def _row_norms(W: torch.Tensor) -> torch.Tensor:
    if W.layout == torch.strided:
        return W.norm(dim=1)
    if W.layout == torch.sparse_coo:
        W = W.coalesce()
        rows = W.indices()[0]
    elif W.layout == torch.sparse_csr:
        rows = torch.repeat_interleave(torch.arange(W.shape[0], device=W.device), W.crow_indices().diff())
    else:
        raise ValueError(f"expected a dense, sparse COO or CSR matrix, got layout {W.layout}")
    squares = torch.zeros(W.shape[0], device=W.device, dtype=W.dtype)
    return squares.index_add_(0, rows, W.values() ** 2).sqrt()


def cosine_similarities(W: torch.Tensor, i: int, eps: float = 1e-8) -> torch.Tensor:
    """The cosine similarity of row ``i`` of ``W`` (dense, sparse COO or CSR) with every row of ``W``."""
    if W.dim() != 2 or not 0 <= i < W.shape[0]:
        raise ValueError(f"cosine_similarities: need a 2-d W and a row index below {W.shape[0]}, got {i}")
    q = W[i] if W.layout == torch.strided else W[i].to_dense()
    return (W @ q) / (_row_norms(W) * q.norm() + eps)


def _index(word: str, vocab: Vocab, W: torch.Tensor) -> int:
    if word not in vocab.token_to_idx:
        raise KeyError(f"{word!r} is not in the vocabulary")
    if len(vocab) != W.shape[0]:
        raise ValueError(f"the vocabulary has {len(vocab)} tokens but W has {W.shape[0]} rows")
    return vocab[word]


def most_similar(query: str, vocab: Vocab, W: torch.Tensor, k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` words whose rows of ``W`` have the largest cosine with the query's row, the query left out.

    Raises:
        KeyError: the query is not in the vocabulary.
    """
    i = _index(query, vocab, W)
    similarities = cosine_similarities(W, i)
    similarities[i] = -math.inf
    top = torch.topk(similarities, k)
    return [(vocab.to_tokens(j), s) for j, s in zip(top.indices.tolist(), top.values.tolist())]


def analogy(a: str, b: str, c: str, vocab: Vocab, W: torch.Tensor, k: int = 1,
            exclude: bool = True) -> list[str]:
    """Answer "``a`` is to ``b`` as ``c`` is to ?" with the vectors ``W`` (3CosAdd, section 11.3).

    The rows are scaled to unit length; the answers are the ``k`` words ``d`` with the largest
    ``cos(d, b - a + c)``. With ``exclude`` (as in the usual evaluation) ``a``, ``b`` and ``c`` themselves
    cannot be answers.

    Raises:
        KeyError: one of the three words is not in the vocabulary.
    """
    ia, ib, ic = (_index(w, vocab, W) for w in (a, b, c))
    dense: Any = W.to_dense() if W.layout != torch.strided else W
    unit = dense / dense.norm(dim=1, keepdim=True).clamp(min=1e-8)
    target = unit[ib] - unit[ia] + unit[ic]
    scores = unit @ target / target.norm().clamp(min=1e-8)
    if exclude:
        scores[[ia, ib, ic]] = -math.inf
    return vocab.to_tokens(torch.topk(scores, k).indices.tolist())
