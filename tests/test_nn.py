"""Attention layers of d2lutils.nn against PyTorch's own and against their defining properties."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from d2lutils import nn as dnn

TOL = {"rtol": 1e-5, "atol": 1e-6}  # float32, different summation orders


def test_masked_softmax_zeroes_masked_keys_and_handles_empty_rows() -> None:
    scores = torch.randn(3, 4, 5)
    w = dnn.masked_softmax(scores, torch.tensor([2, 5, 0]))
    assert torch.all(w[0, :, 2:] == 0) and torch.all(w[0, :, :2] > 0)
    torch.testing.assert_close(w[1], torch.softmax(scores[1], -1))
    torch.testing.assert_close(w[2], torch.full((4, 5), 0.2))          # nothing visible: uniform, no NaN
    torch.testing.assert_close(w.sum(-1), torch.ones(3, 4))
    causal = torch.arange(1, 5).repeat(3, 1)                           # (batch, queries): query q sees q + 1 keys
    w = dnn.masked_softmax(scores, causal)
    assert torch.equal(w[0] > 0, torch.ones(4, 5).tril().bool())
    # extra (head) dimensions broadcast
    w4 = dnn.masked_softmax(torch.randn(3, 2, 4, 5), torch.tensor([1, 2, 3]))
    assert torch.all(w4[2, :, :, 3:] == 0)
    with pytest.raises(ValueError, match="shape"):
        dnn.masked_softmax(scores, torch.ones(3, 5))
    with pytest.raises(ValueError, match="batch of 3"):
        dnn.masked_softmax(scores, torch.ones(2))


def test_dot_product_attention_equals_pytorch_sdpa() -> None:
    torch.manual_seed(0)
    Q, K, V = torch.randn(2, 3, 6, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 4)
    lens = torch.tensor([4, 7])
    out = dnn.DotProductAttention()(Q, K, V, lens)
    mask = (torch.arange(7)[None, :] < lens[:, None])[:, None, None, :]
    torch.testing.assert_close(out, F.scaled_dot_product_attention(Q, K, V, attn_mask=mask), **TOL)
    unscaled = dnn.DotProductAttention(scale=False)(Q, K, V)
    torch.testing.assert_close(unscaled, F.scaled_dot_product_attention(Q, K, V, scale=1.0), **TOL)
    with pytest.raises(ValueError, match="same feature size"):
        dnn.DotProductAttention()(Q, V, V)


def test_multi_head_attention_equals_nn_multiheadattention() -> None:
    torch.manual_seed(0)
    d, heads = 16, 4
    ours = dnn.MultiHeadAttention(d, heads, bias=True)
    ref = nn.MultiheadAttention(d, heads, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([ours.W_q.weight, ours.W_k.weight, ours.W_v.weight]))
        ref.in_proj_bias.copy_(torch.cat([ours.W_q.bias, ours.W_k.bias, ours.W_v.bias]))
        ref.out_proj.weight.copy_(ours.W_o.weight)
        ref.out_proj.bias.copy_(ours.W_o.bias)
    X, Y = torch.randn(2, 5, d), torch.randn(2, 9, d)
    lens = torch.tensor([3, 9])
    out = ours(X, Y, Y, lens)
    expected, weights = ref(X, Y, Y, key_padding_mask=torch.arange(9)[None, :] >= lens[:, None],
                            average_attn_weights=False)
    torch.testing.assert_close(out, expected, **TOL)
    torch.testing.assert_close(ours.attention_weights, weights, **TOL)
    assert ours.merge_heads(ours.split_heads(X)).equal(X)
    with pytest.raises(ValueError, match="multiple of num_heads"):
        dnn.MultiHeadAttention(10, 4)


def test_additive_attention_ignores_masked_keys() -> None:
    torch.manual_seed(0)
    att = dnn.AdditiveAttention(query_size=3, key_size=5, num_hiddens=8)
    q, k, v = torch.randn(2, 4, 3), torch.randn(2, 6, 5), torch.randn(2, 6, 2)
    lens = torch.tensor([2, 6])
    out = att(q, k, v, lens)
    k2, v2 = k.clone(), v.clone()
    k2[0, 2:], v2[0, 2:] = 100.0, -100.0                                # change only masked positions
    torch.testing.assert_close(att(q, k2, v2, lens), out, **TOL)
    assert att.attention_weights.shape == (2, 4, 6)
    # equal keys give equal weights: the output is the mean of the visible values
    same = att(q, k[:, :1].expand(2, 6, 5), v, lens)
    torch.testing.assert_close(same[0], v[0, :2].mean(0).expand(4, 2), **TOL)


def test_positional_encoding_values_and_relative_shift() -> None:
    pe = dnn.PositionalEncoding(8, max_len=50)
    P = pe(torch.zeros(1, 50, 8))[0]
    torch.testing.assert_close(P[0], torch.tensor([0.0, 1.0] * 4))
    torch.testing.assert_close(P[3, 2], torch.tensor(math.sin(3 / 10000 ** (2 / 8))))
    # P[t + k] is P[t] rotated pair by pair by angles that depend only on k
    k = 5
    for i in range(4):
        w = 1 / 10000 ** (2 * i / 8)
        R = torch.tensor([[math.cos(k * w), -math.sin(k * w)], [math.sin(k * w), math.cos(k * w)]])
        torch.testing.assert_close(P[:-k, 2 * i:2 * i + 2] @ R, P[k:, 2 * i:2 * i + 2], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="even"):
        dnn.PositionalEncoding(7)
    with pytest.raises(ValueError, match="max_len=50"):
        pe(torch.zeros(1, 51, 8))


def _copy_mha(src: dnn.MultiHeadAttention, dst: nn.MultiheadAttention) -> None:
    dst.in_proj_weight.copy_(torch.cat([src.W_q.weight, src.W_k.weight, src.W_v.weight]))
    dst.in_proj_bias.copy_(torch.cat([src.W_q.bias, src.W_k.bias, src.W_v.bias]))
    dst.out_proj.weight.copy_(src.W_o.weight)
    dst.out_proj.bias.copy_(src.W_o.bias)


def _copy_ffn_norms(src: nn.Module, dst: nn.Module, n: int) -> None:
    dst.linear1.load_state_dict(src.ffn.dense1.state_dict())
    dst.linear2.load_state_dict(src.ffn.dense2.state_dict())
    for k in range(1, n + 1):
        getattr(dst, f"norm{k}").load_state_dict(getattr(src, f"addnorm{k}").norm.state_dict())


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_blocks_equal_pytorch_layers(norm_first: bool) -> None:
    torch.manual_seed(0)
    d, heads, ffn = 24, 4, 48
    enc = dnn.TransformerEncoderBlock(d, heads, ffn, norm_first=norm_first).eval()
    ref = nn.TransformerEncoderLayer(d, heads, ffn, dropout=0.0, batch_first=True, norm_first=norm_first).eval()
    dec = dnn.TransformerDecoderBlock(d, heads, ffn, norm_first=norm_first).eval()
    ref_dec = nn.TransformerDecoderLayer(d, heads, ffn, dropout=0.0, batch_first=True,
                                         norm_first=norm_first).eval()
    with torch.no_grad():
        _copy_mha(enc.attention, ref.self_attn)
        _copy_ffn_norms(enc, ref, 2)
        _copy_mha(dec.self_attention, ref_dec.self_attn)
        _copy_mha(dec.cross_attention, ref_dec.multihead_attn)
        _copy_ffn_norms(dec, ref_dec, 3)
    assert sum(p.numel() for p in enc.parameters()) == sum(p.numel() for p in ref.parameters())
    assert sum(p.numel() for p in dec.parameters()) == sum(p.numel() for p in ref_dec.parameters())
    X, lens = torch.randn(2, 7, d), torch.tensor([7, 4])
    pad = torch.arange(7)[None, :] >= lens[:, None]
    with torch.no_grad():
        H = enc(X, lens)
        torch.testing.assert_close(H[0], ref(X, src_key_padding_mask=pad)[0], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(H[1, :4], ref(X, src_key_padding_mask=pad)[1, :4], rtol=1e-4, atol=1e-5)
        Y = torch.randn(2, 5, d)
        out = dec(Y, H, lens)
        causal = nn.Transformer.generate_square_subsequent_mask(5)
        expected = ref_dec(Y, H, tgt_mask=causal, memory_key_padding_mask=pad)
        torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
        # causal: changing the last target position leaves the earlier outputs unchanged
        Y2 = Y.clone()
        Y2[:, -1] = 5.0
        torch.testing.assert_close(dec(Y2, H, lens)[:, :-1], out[:, :-1], rtol=1e-5, atol=1e-6)
    assert torch.equal(dnn.causal_lens(2, 3), torch.tensor([[1, 2, 3], [1, 2, 3]]))
    assert torch.equal(dnn.causal_lens(1, 2, past=4), torch.tensor([[5, 6]]))
