"""Attention layers (chapter 12) shared by the attention and Transformer chapters.

Each layer is written from scratch in its section first (12.3 masked softmax and the two scoring
functions, 12.5 multi-head attention, 12.6 positional encoding); the notebook then checks that its own
version equals the one here, and later sections import these. Shapes follow one convention: batches
first, queries ``(batch, num_queries, d)``, keys and values ``(batch, num_kv, d)``.

Masks are given as *valid lengths*, as for the recurrent models of chapter 10: ``valid_lens`` is ``None``
(attend to every key), a ``(batch,)`` tensor (query rows of example ``i`` see its first
``valid_lens[i]`` keys) or a ``(batch, num_queries)`` tensor (one length per query: the causal mask of a
decoder is ``valid_lens[:, q] = q + 1``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["masked_softmax", "AdditiveAttention", "DotProductAttention", "MultiHeadAttention",
           "PositionalEncoding"]


def _key_mask(scores: torch.Tensor, valid_lens: torch.Tensor) -> torch.Tensor:
    """A boolean mask, True where key ``k`` is visible to a query, broadcastable to ``scores``."""
    batch, num_queries, num_keys = scores.shape[0], scores.shape[-2], scores.shape[-1]
    if valid_lens.dim() == 1:
        if valid_lens.shape[0] != batch:
            raise ValueError(f"valid_lens of shape ({valid_lens.shape[0]},) does not match a batch of {batch}")
        lens = valid_lens[:, None]                                       # (batch, 1)
    elif valid_lens.dim() == 2:
        if tuple(valid_lens.shape) != (batch, num_queries):
            raise ValueError(f"valid_lens must have shape ({batch}, {num_queries}), "
                             f"got {tuple(valid_lens.shape)}")
        lens = valid_lens                                                # (batch, num_queries)
    else:
        raise ValueError(f"valid_lens must be 1-D or 2-D, got {valid_lens.dim()} dimensions")
    keys = torch.arange(num_keys, device=scores.device)
    mask = keys < lens.to(scores.device)[..., None]                      # (batch, q or 1, keys)
    # scores may carry extra dimensions between batch and queries (heads): insert them
    return mask.view(batch, *([1] * (scores.dim() - 3)), mask.shape[1], num_keys)


def masked_softmax(scores: torch.Tensor, valid_lens: torch.Tensor | None = None) -> torch.Tensor:
    """Softmax over the last axis in which masked keys get weight exactly 0 (section 12.3).

    Masked scores are replaced by the most negative number of their dtype (not by 0, which is an ordinary
    score: see section 12.3), so a row with no visible key gives equal weights instead of NaN.

    Args:
        scores: shape ``(batch, ..., num_queries, num_keys)``.
        valid_lens: ``None``, ``(batch,)`` or ``(batch, num_queries)`` as in the module's docstring.

    Returns:
        The weights, same shape as ``scores``, each row summing to 1.
    """
    if scores.dim() < 3:
        raise ValueError(f"scores must have shape (batch, ..., queries, keys), got {tuple(scores.shape)}")
    if valid_lens is None:
        return torch.softmax(scores, dim=-1)
    mask = _key_mask(scores, valid_lens)
    return torch.softmax(scores.masked_fill(~mask, torch.finfo(scores.dtype).min), dim=-1)


class AdditiveAttention(nn.Module):
    """Additive (Bahdanau) attention: score ``w_v^T tanh(W_q q + W_k k)`` (section 12.3).

    Args:
        query_size: the queries' feature size.
        key_size: the keys' feature size.
        num_hiddens: the size of the hidden layer the two are projected to.
        dropout: dropout on the attention weights.

    After a forward call, ``attention_weights`` holds the last weights ``(batch, num_queries, num_kv)``.
    """

    def __init__(self, query_size: int, key_size: int, num_hiddens: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.attention_weights: torch.Tensor | None = None

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                valid_lens: torch.Tensor | None = None) -> torch.Tensor:
        """Return the attention output ``(batch, num_queries, value_size)``."""
        features = torch.tanh(self.W_q(queries)[:, :, None, :] + self.W_k(keys)[:, None, :, :])
        scores = self.w_v(features).squeeze(-1)                           # (batch, queries, keys)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return torch.bmm(self.dropout(self.attention_weights), values)


class DotProductAttention(nn.Module):
    """Scaled dot-product attention ``softmax(Q K^T / sqrt(d)) V`` (section 12.3).

    Args:
        dropout: dropout on the attention weights.
        scale: divide the scores by ``sqrt(d)`` (section 12.3 measures what happens without it).

    Queries and keys need the same feature size ``d``; leading dimensions (batch, heads) broadcast as in
    :func:`torch.matmul`. After a forward call, ``attention_weights`` holds the last weights.
    """

    def __init__(self, dropout: float = 0.0, scale: bool = True) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.scale = scale
        self.attention_weights: torch.Tensor | None = None

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                valid_lens: torch.Tensor | None = None) -> torch.Tensor:
        """Return the attention output ``(batch, ..., num_queries, value_size)``."""
        if queries.shape[-1] != keys.shape[-1]:
            raise ValueError(f"queries and keys need the same feature size, got {queries.shape[-1]} "
                             f"and {keys.shape[-1]}")
        scores = queries @ keys.transpose(-2, -1)
        if self.scale:
            scores = scores / math.sqrt(queries.shape[-1])
        self.attention_weights = masked_softmax(scores, valid_lens)
        return self.dropout(self.attention_weights) @ values


class MultiHeadAttention(nn.Module):
    """Multi-head attention with ``num_heads`` scaled dot-product heads (section 12.5).

    Queries, keys and values are projected to ``num_hiddens`` features, split into ``num_heads`` heads of
    ``num_hiddens // num_heads`` features, attended per head, concatenated and projected once more.

    Args:
        num_hiddens: the model width; must be divisible by ``num_heads``.
        num_heads: the number of heads.
        dropout: dropout on the attention weights.
        bias: whether the four projections have biases.
        query_size, key_size, value_size: the inputs' feature sizes (default ``num_hiddens``).

    After a forward call, ``attention_weights`` holds the last weights ``(batch, heads, queries, keys)``.
    """

    def __init__(self, num_hiddens: int, num_heads: int, dropout: float = 0.0, bias: bool = False, *,
                 query_size: int | None = None, key_size: int | None = None,
                 value_size: int | None = None) -> None:
        super().__init__()
        if num_heads < 1 or num_hiddens % num_heads:
            raise ValueError(f"num_hiddens ({num_hiddens}) must be a positive multiple of num_heads "
                             f"({num_heads})")
        self.num_heads = num_heads
        self.attention = DotProductAttention(dropout)
        self.W_q = nn.Linear(query_size or num_hiddens, num_hiddens, bias=bias)
        self.W_k = nn.Linear(key_size or num_hiddens, num_hiddens, bias=bias)
        self.W_v = nn.Linear(value_size or num_hiddens, num_hiddens, bias=bias)
        self.W_o = nn.Linear(num_hiddens, num_hiddens, bias=bias)

    @property
    def attention_weights(self) -> torch.Tensor | None:
        """The last forward call's weights, ``(batch, heads, num_queries, num_kv)``."""
        return self.attention.attention_weights

    def split_heads(self, X: torch.Tensor) -> torch.Tensor:
        """``(batch, n, num_hiddens)`` -> ``(batch, heads, n, num_hiddens / heads)``."""
        batch, n, hidden = X.shape
        return X.view(batch, n, self.num_heads, hidden // self.num_heads).transpose(1, 2)

    def merge_heads(self, X: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`split_heads`."""
        batch, heads, n, head_size = X.shape
        return X.transpose(1, 2).reshape(batch, n, heads * head_size)

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                valid_lens: torch.Tensor | None = None) -> torch.Tensor:
        """Return the output ``(batch, num_queries, num_hiddens)``."""
        Q, K, V = (self.split_heads(W(X)) for W, X in
                   ((self.W_q, queries), (self.W_k, keys), (self.W_v, values)))
        return self.W_o(self.merge_heads(self.attention(Q, K, V, valid_lens)))


class PositionalEncoding(nn.Module):
    """Adds the sinusoidal positional encoding of Vaswani et al. (2017) to its input (section 12.6).

    ``P[t, 2i] = sin(t / 10000^(2i/d))`` and ``P[t, 2i+1] = cos(t / 10000^(2i/d))``.

    Args:
        num_hiddens: the feature size ``d`` (even).
        dropout: dropout applied after the addition.
        max_len: the longest sequence it can encode.
    """

    def __init__(self, num_hiddens: int, dropout: float = 0.0, max_len: int = 1000) -> None:
        super().__init__()
        if num_hiddens % 2:
            raise ValueError(f"num_hiddens must be even, got {num_hiddens}")
        self.dropout = nn.Dropout(dropout)
        t = torch.arange(max_len, dtype=torch.float32)[:, None]
        angles = t / torch.pow(10000, torch.arange(0, num_hiddens, 2, dtype=torch.float32) / num_hiddens)
        P = torch.zeros(max_len, num_hiddens)
        P[:, 0::2], P[:, 1::2] = torch.sin(angles), torch.cos(angles)
        self.register_buffer("P", P, persistent=False)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``X`` of shape ``(batch, steps, num_hiddens)`` plus the encoding of positions ``0 .. steps-1``."""
        if X.shape[-1] != self.P.shape[1] or X.shape[1] > self.P.shape[0]:
            raise ValueError(f"PositionalEncoding({self.P.shape[1]}, max_len={self.P.shape[0]}) got input "
                             f"of shape {tuple(X.shape)}")
        return self.dropout(X + self.P[: X.shape[1]].to(X.dtype))
