"""d2lutils.seq2seq: the masked loss, the teacher-forcing training loop and BLEU of chapter 10."""

from __future__ import annotations

import math

import pytest
import sacrebleu
import torch
import torch.nn.functional as F
from torch import nn

from d2lutils import rnn, seq2seq


def test_masked_cross_entropy_averages_the_valid_steps_only():
    torch.manual_seed(0)
    logits, Y = torch.randn(3, 4, 6), torch.randint(0, 6, (3, 4))
    valid_len = torch.tensor([1, 4, 2])
    terms = [F.cross_entropy(logits[i, t], Y[i, t]) for i in range(3) for t in range(int(valid_len[i]))]
    torch.testing.assert_close(seq2seq.masked_cross_entropy(logits, Y, valid_len), torch.stack(terms).mean(),
                               rtol=1e-6, atol=1e-6)
    # what lies in the padding does not matter
    padded = logits.clone()
    padded[0, 1:] = 100.0
    torch.testing.assert_close(seq2seq.masked_cross_entropy(padded, Y, valid_len),
                               seq2seq.masked_cross_entropy(logits, Y, valid_len), rtol=0, atol=0)
    with pytest.raises(ValueError, match="logits"):
        seq2seq.masked_cross_entropy(logits[0], Y, valid_len)
    with pytest.raises(ValueError, match="valid_len"):
        seq2seq.masked_cross_entropy(logits, Y, valid_len[:2])


class TinySeq2Seq(nn.Module):
    """Encoder: mean of the valid source embeddings; decoder: a GRU started from it. Padding changes nothing."""

    def __init__(self, vocab_size: int, hidden: int = 16) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, hidden)
        self.rnn = nn.GRU(hidden, hidden, batch_first=True)
        self.dense = nn.Linear(hidden, vocab_size)

    def forward(self, src, src_len, tgt_in):
        keep = (torch.arange(src.shape[1])[None, :] < src_len[:, None]).float()[..., None]
        context = (self.embedding(src) * keep).sum(1) / src_len[:, None]
        outputs, _ = self.rnn(self.embedding(tgt_in), context[None].contiguous())
        return self.dense(outputs)


def _copy_task(n: int = 96, seed: int = 0):
    # copy a random sequence of 2-5 tokens from {3, ..., 9}; 0 = padding, 1 = <bos>, 2 = <eos>
    g = torch.Generator().manual_seed(seed)
    src_len = torch.randint(2, 6, (n,), generator=g)
    src = torch.zeros(n, 7, dtype=torch.long)
    tgt = torch.zeros(n, 8, dtype=torch.long)
    tgt[:, 0] = 1
    for i, length in enumerate(src_len.tolist()):
        tokens = torch.randint(3, 10, (length,), generator=g)
        src[i, :length] = tokens
        tgt[i, 1:length + 1] = tokens
        tgt[i, length + 1] = 2
    return src, src_len, tgt, src_len + 1


def _reference_epoch(net, data, batch_size, lr, clip, seed):
    # the loop of section 10.6 on full-width (uncut) minibatches, in the order train_seq2seq uses
    src, src_len, tgt, tgt_len = data
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    order = torch.randperm(len(src), generator=torch.Generator().manual_seed(seed))
    for i in range(0, len(order), batch_size):
        b = order[i:i + batch_size]
        logits = net(src[b], src_len[b], tgt[b, :-1])
        loss = seq2seq.masked_cross_entropy(logits, tgt[b, 1:], tgt_len[b])
        optimizer.zero_grad()
        loss.backward()
        rnn.grad_clipping(net, clip)
        optimizer.step()


def test_train_seq2seq_computes_the_same_as_a_plain_loop_on_uncut_minibatches():
    data = _copy_task()
    torch.manual_seed(1)
    net = TinySeq2Seq(10)
    twin = TinySeq2Seq(10)
    twin.load_state_dict(net.state_dict())
    seq2seq.train_seq2seq(net, *data, 1, lr=0.01, batch_size=32, clip=0.5, device="cpu", seed=3, progress=False)
    _reference_epoch(twin, data, batch_size=32, lr=0.01, clip=0.5, seed=3)
    for p, q in zip(net.parameters(), twin.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)   # cutting the padding away changes nothing


def test_train_seq2seq_learns_to_copy_and_reports_what_it_measured(capsys, full):
    data = _copy_task(256)
    held = _copy_task(64, seed=1)
    torch.manual_seed(0)
    net = TinySeq2Seq(10, hidden=32)
    result = seq2seq.train_seq2seq(net, *data, 8, lr=0.02, batch_size=32, valid=held, device="cpu",
                                   progress=False)
    assert isinstance(result, seq2seq.Seq2SeqResult)
    assert len(result.history["train_loss"]) == len(result.history["valid_loss"]) == 8
    assert result.history["train_loss"][-1] < 0.7 * result.history["train_loss"][0]
    assert result.valid_loss == result.history["valid_loss"][-1] < math.log(10)
    assert result.examples_per_sec > 0 and result.device == "cpu" and result.seconds > 0
    assert capsys.readouterr().out.strip() == result.summary()
    assert "held-out loss" in result.summary() and "examples/sec on cpu" in result.summary()


def test_train_seq2seq_refuses_bad_input():
    src, src_len, tgt, tgt_len = _copy_task(8)
    net = TinySeq2Seq(10)
    with pytest.raises(ValueError, match="exactly one of optimizer and lr"):
        seq2seq.train_seq2seq(net, src, src_len, tgt, tgt_len, 1, device="cpu")
    with pytest.raises(ValueError, match="src_len"):
        seq2seq.train_seq2seq(net, src, src_len[:4], tgt, tgt_len, 1, lr=0.1, device="cpu")
    with pytest.raises(ValueError, match="tgt_len counts the tokens after <bos>"):
        seq2seq.train_seq2seq(net, src, src_len, tgt, tgt_len + 10, 1, lr=0.1, device="cpu")
    with pytest.raises(ValueError, match="src_len must be between 1"):
        seq2seq.train_seq2seq(net, src, src_len * 0, tgt, tgt_len, 1, lr=0.1, device="cpu")
    with pytest.raises(ValueError, match="batch_size"):
        seq2seq.train_seq2seq(net, src, src_len, tgt, tgt_len, 1, lr=0.1, batch_size=0, device="cpu")
    with pytest.raises(ValueError, match=r"\(valid\)"):
        seq2seq.train_seq2seq(net, src, src_len, tgt, tgt_len, 1, lr=0.1, valid=(src, src_len), device="cpu")


def test_bleu_on_a_hand_worked_example():
    cand = "the cat sat on the mat".split()
    ref = "the cat is on the mat".split()
    # p1 = 5/6, p2 = 3/5 (the cat, on the, the mat), p3 = 1/4 (on the mat), p4 = 0/3 -> 0 without smoothing
    assert seq2seq.bleu([cand], [ref]) == 0.0
    expected = 100 * (5 / 6 * 3 / 5 * 1 / 4) ** (1 / 3)          # max_n = 3, equal lengths: no penalty
    assert seq2seq.bleu([cand], [ref], max_n=3) == pytest.approx(expected, rel=1e-12)
    assert seq2seq.bleu([ref], [ref]) == pytest.approx(100.0, rel=1e-12)
    # clipping: "the the the" matches "the" only twice
    assert seq2seq.bleu([["the"] * 3], [["the", "cat", "the"]], max_n=1) == pytest.approx(100 * 2 / 3)
    # brevity penalty: a 2-token candidate for a 4-token reference
    short = seq2seq.bleu([["a", "b"]], [["a", "b", "c", "d"]], max_n=2)
    assert short == pytest.approx(100 * math.exp(1 - 4 / 2), rel=1e-12)


def test_bleu_uses_every_reference_and_the_closest_length():
    cand = "he is here".split()
    refs = ["he is there now".split(), "he is here".split()]
    assert seq2seq.bleu([cand], [refs], max_n=2) == pytest.approx(100.0)
    # a list of one reference is the same as the bare reference
    assert seq2seq.bleu([cand], [[refs[0]]], max_n=2) == seq2seq.bleu([cand], [refs[0]], max_n=2)


def test_bleu_agrees_with_sacrebleu_on_the_same_tokens():
    g = torch.Generator().manual_seed(0)
    words = "a b c d e f g h".split()
    cands, refs, refs2 = [], [], []
    for _ in range(50):
        ref = [words[i] for i in torch.randint(0, 8, (int(torch.randint(3, 12, (1,), generator=g)),),
                                               generator=g).tolist()]
        cand = [w if torch.rand(1, generator=g) < 0.7 else "x" for w in ref[:len(ref) - 1]]
        cands.append(cand)
        refs.append(ref)
        refs2.append(ref[::-1])
    ours = seq2seq.bleu(cands, [[r, r2] for r, r2 in zip(refs, refs2)])
    theirs = sacrebleu.corpus_bleu([" ".join(c) for c in cands], [[" ".join(r) for r in refs],
                                   [" ".join(r) for r in refs2]], tokenize="none", smooth_method="none")
    assert 5 < ours < 95
    assert ours == pytest.approx(theirs.score, abs=1e-9)


def test_bleu_refuses_strings_and_mismatched_lengths():
    with pytest.raises(TypeError, match="candidate 0 is a string"):
        seq2seq.bleu(["the cat"], [["the", "cat"]])
    with pytest.raises(TypeError, match="reference 0 is a string"):
        seq2seq.bleu([["the", "cat"]], ["the cat"])
    with pytest.raises(ValueError, match="1 candidates but 2 references"):
        seq2seq.bleu([["a"]], [["a"], ["b"]])
    assert seq2seq.bleu([[]], [["a"]]) == 0.0
