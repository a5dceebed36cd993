"""Attention layers (chapter 12) and Transformer blocks (chapter 13) shared by the later chapters.

Each layer is written from scratch in its section first (12.3 masked softmax and the two scoring
functions, 12.5 multi-head attention, 12.6 positional encoding, 13.1 the Transformer's blocks); the
notebook then checks that its own version equals the one here, and later sections import these. Shapes
follow one convention: batches first, queries ``(batch, num_queries, d)``, keys and values
``(batch, num_kv, d)``.

Masks are given as *valid lengths*, as for the recurrent models of chapter 10: ``valid_lens`` is ``None``
(attend to every key), a ``(batch,)`` tensor (query rows of example ``i`` see its first
``valid_lens[i]`` keys) or a ``(batch, num_queries)`` tensor (one length per query: the causal mask of a
decoder is ``valid_lens[:, q] = q + 1``, :func:`causal_lens`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

__all__ = ["masked_softmax", "AdditiveAttention", "DotProductAttention", "MultiHeadAttention",
           "PositionalEncoding", "PositionWiseFFN", "AddNorm", "causal_lens", "TransformerEncoderBlock",
           "TransformerDecoderBlock"]


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


class PositionWiseFFN(nn.Module):
    """The position-wise feed-forward network of a Transformer block (section 13.1).

    ``FFN(x) = max(0, x W1 + b1) W2 + b2`` applied to every position with the same weights, with dropout
    after the ReLU (as in ``nn.TransformerEncoderLayer``).

    Args:
        num_hiddens: the model width ``d`` (input and output features).
        ffn_num_hiddens: the hidden width ``d_ff``.
        dropout: dropout after the ReLU.
    """

    def __init__(self, num_hiddens: int, ffn_num_hiddens: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dense1 = nn.Linear(num_hiddens, ffn_num_hiddens)
        self.dense2 = nn.Linear(ffn_num_hiddens, num_hiddens)
        self.dropout = nn.Dropout(dropout)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``X`` of shape ``(..., num_hiddens)`` -> the same shape."""
        return self.dense2(self.dropout(torch.relu(self.dense1(X))))


class AddNorm(nn.Module):
    """A residual connection around a sublayer with layer normalization ("add & norm", section 13.1).

    Post-norm (``norm_first=False``, the original Transformer): ``LayerNorm(X + dropout(sublayer(X)))``.
    Pre-norm (``norm_first=True``): ``X + dropout(sublayer(LayerNorm(X)))``.

    Args:
        num_hiddens: the feature size normalized over.
        dropout: dropout on the sublayer's output before the addition.
        norm_first: pre-norm instead of post-norm.
    """

    def __init__(self, num_hiddens: int, dropout: float = 0.0, norm_first: bool = False) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(num_hiddens)
        self.dropout = nn.Dropout(dropout)
        self.norm_first = norm_first

    def forward(self, X: torch.Tensor, sublayer: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Apply ``sublayer`` (a function of one tensor, shape-preserving) inside the residual connection."""
        if self.norm_first:
            return X + self.dropout(sublayer(self.norm(X)))
        return self.norm(X + self.dropout(sublayer(X)))


def causal_lens(batch_size: int, num_steps: int, device: torch.device | str | None = None, *,
                past: int = 0) -> torch.Tensor:
    """Valid lengths ``(batch_size, num_steps)`` of a causal mask for :func:`masked_softmax`.

    The query at position ``t`` (from 1) attends to the first ``t`` keys only: lengths ``1, ..., T``. With
    ``past`` cached keys before the new steps (generation with a KV cache, section 13.2), the lengths are
    ``past + 1, ..., past + T``.
    """
    return torch.arange(past + 1, past + num_steps + 1, device=device).expand(batch_size, num_steps)


class TransformerEncoderBlock(nn.Module):
    """A Transformer encoder block (section 13.1): multi-head self-attention and a position-wise FFN,
    each wrapped in :class:`AddNorm`.

    Same parameters and outputs as ``nn.TransformerEncoderLayer(num_hiddens, num_heads, ffn_num_hiddens,
    dropout, batch_first=True, norm_first=norm_first)`` (the attention has biases).

    Args:
        num_hiddens: the model width ``d``; num_heads: heads of :class:`MultiHeadAttention`.
        ffn_num_hiddens: the FFN's hidden width; dropout: on attention weights, FFN and residual branches.
        norm_first: pre-norm instead of post-norm.
    """

    def __init__(self, num_hiddens: int, num_heads: int, ffn_num_hiddens: int, dropout: float = 0.0,
                 norm_first: bool = False) -> None:
        super().__init__()
        self.attention = MultiHeadAttention(num_hiddens, num_heads, dropout, bias=True)
        self.addnorm1 = AddNorm(num_hiddens, dropout, norm_first)
        self.ffn = PositionWiseFFN(num_hiddens, ffn_num_hiddens, dropout)
        self.addnorm2 = AddNorm(num_hiddens, dropout, norm_first)

    def forward(self, X: torch.Tensor, valid_lens: torch.Tensor | None) -> torch.Tensor:
        """``X`` ``(batch, steps, num_hiddens)``, ``valid_lens`` ``(batch,)`` or None -> the shape of ``X``."""
        X = self.addnorm1(X, lambda Z: self.attention(Z, Z, Z, valid_lens))
        return self.addnorm2(X, self.ffn)


class TransformerDecoderBlock(nn.Module):
    """A Transformer decoder block (section 13.1): masked (causal) self-attention, cross-attention to the
    encoder's outputs, and a position-wise FFN, each wrapped in :class:`AddNorm`.

    Same parameters and outputs as ``nn.TransformerDecoderLayer(..., batch_first=True)`` called with a
    causal ``tgt_mask`` and the source padding as ``memory_key_padding_mask``. During training all target
    positions are computed at once; decoding may rerun it on the growing prefix (the earlier positions'
    outputs do not change).

    Args: as :class:`TransformerEncoderBlock`.
    """

    def __init__(self, num_hiddens: int, num_heads: int, ffn_num_hiddens: int, dropout: float = 0.0,
                 norm_first: bool = False) -> None:
        super().__init__()
        self.self_attention = MultiHeadAttention(num_hiddens, num_heads, dropout, bias=True)
        self.addnorm1 = AddNorm(num_hiddens, dropout, norm_first)
        self.cross_attention = MultiHeadAttention(num_hiddens, num_heads, dropout, bias=True)
        self.addnorm2 = AddNorm(num_hiddens, dropout, norm_first)
        self.ffn = PositionWiseFFN(num_hiddens, ffn_num_hiddens, dropout)
        self.addnorm3 = AddNorm(num_hiddens, dropout, norm_first)

    def forward(self, X: torch.Tensor, enc_outputs: torch.Tensor,
                enc_valid_lens: torch.Tensor | None) -> torch.Tensor:
        """``X`` ``(batch, T, d)``, ``enc_outputs`` ``(batch, S, d)``, ``enc_valid_lens`` ``(batch,)``
        -> ``(batch, T, d)``."""
        dec_lens = causal_lens(X.shape[0], X.shape[1], X.device)
        X = self.addnorm1(X, lambda Z: self.self_attention(Z, Z, Z, dec_lens))
        X = self.addnorm2(X, lambda Z: self.cross_attention(Z, enc_outputs, enc_outputs, enc_valid_lens))
        return self.addnorm3(X, self.ffn)
