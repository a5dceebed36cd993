"""d2lutils.text: tokenizers, the vocabulary and the minibatch iterators of chapters 9 and 10."""

from __future__ import annotations

import os
import sys

import pytest
import torch

from d2lutils import text


def test_tokenize_words_and_characters():
    lines = ["the time  machine", "", "by h g wells"]
    assert text.tokenize(lines) == [["the", "time", "machine"], [], ["by", "h", "g", "wells"]]
    assert text.tokenize(["ab c"], "char") == [["a", "b", " ", "c"]]


def test_tokenize_refuses_a_string_and_an_unknown_kind():
    with pytest.raises(TypeError, match="splitlines"):
        text.tokenize("one string")
    with pytest.raises(ValueError, match="unknown token kind 'bpe'"):
        text.tokenize(["x"], "bpe")


def test_tokenize_jieba_segments_chinese_words():
    pytest.importorskip("jieba")
    tokens = text.tokenize(["我爱北京天安门", "今天 天气"], "jieba")
    assert tokens[0] == ["我", "爱", "北京", "天安门"], tokens
    assert tokens[1] == ["今天", "天气"], tokens              # whitespace is not a token
    assert "".join(tokens[0]) == "我爱北京天安门"


def test_tokenize_jieba_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "jieba", None)          # import jieba now raises ImportError
    with pytest.raises(ImportError, match="pip install jieba"):
        text.tokenize(["中文"], "jieba")


def test_vocab_orders_by_frequency_then_alphabetically():
    vocab = text.Vocab([["b", "a", "c", "a"], ["c", "d"]], reserved_tokens=["<pad>", "<eos>"])
    assert vocab.idx_to_token == ["<unk>", "<pad>", "<eos>", "a", "c", "b", "d"]
    assert vocab.token_freqs == [("a", 2), ("c", 2), ("b", 1), ("d", 1)]
    assert len(vocab) == 7 and vocab.unk == 0
    # the same tokens in another order give the same indices
    assert text.Vocab(["d", "c", "a", "b", "a", "c"]).idx_to_token == ["<unk>", "a", "c", "b", "d"]


def test_vocab_maps_both_ways_with_unknown_and_min_freq():
    vocab = text.Vocab("a a a b b c".split(), min_freq=2)
    assert vocab.idx_to_token == ["<unk>", "a", "b"]
    assert vocab["a"] == 1 and vocab["c"] == 0 and vocab["never seen"] == 0
    assert vocab[["a", "c", "b"]] == [1, 0, 2]
    assert vocab[[["a"], ["b", "a"]]] == [[1], [2, 1]]
    assert vocab.to_tokens([1, 2, 0]) == ["a", "b", "<unk>"]
    assert vocab.to_tokens(torch.tensor([2, 1])) == ["b", "a"]
    assert vocab.to_tokens(torch.tensor(1)) == "a"
    with pytest.raises(IndexError, match="outside the vocabulary"):
        vocab.to_tokens(3)


def test_vocab_refuses_bad_reserved_tokens():
    with pytest.raises(ValueError, match="distinct"):
        text.Vocab(["a"], reserved_tokens=["<pad>", "<pad>"])
    with pytest.raises(ValueError, match="<unk>"):
        text.Vocab(["a"], reserved_tokens=["<unk>"])


@pytest.mark.parametrize("iterate", [text.seq_data_iter_random, text.seq_data_iter_sequential])
def test_iterators_yield_shifted_subsequences_of_the_corpus(iterate):
    corpus = torch.arange(100) * 3                 # value 3i at position i: positions are easy to read
    batches = list(iterate(corpus, batch_size=4, num_steps=5, generator=torch.Generator().manual_seed(0)))
    assert batches
    for X, Y in batches:
        assert X.shape == Y.shape == (4, 5) and X.dtype == torch.long
        assert torch.equal(Y, X + 3)                # the next token of each position
        assert torch.equal(X[:, 1:] - X[:, :-1], torch.full((4, 4), 3))   # contiguous in the corpus


def test_random_partitioning_visits_disjoint_subsequences():
    corpus = torch.arange(103)
    batches = list(text.seq_data_iter_random(corpus, 3, 5, generator=torch.Generator().manual_seed(1)))
    starts = torch.cat([X[:, 0] for X, _ in batches])
    assert len(set(starts.tolist())) == len(starts)                     # no subsequence twice
    assert len({int(s) % 5 for s in starts}) == 1                      # one offset per epoch
    assert len(starts) == (103 - 1 - int(starts.min()) % 5) // 5 // 3 * 3
    # another generator seed, another order
    other = list(text.seq_data_iter_random(corpus, 3, 5, generator=torch.Generator().manual_seed(2)))
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(batches, other))


def test_sequential_partitioning_continues_each_row():
    corpus = torch.arange(200)
    batches = list(text.seq_data_iter_sequential(corpus, 4, 6, generator=torch.Generator().manual_seed(0)))
    assert len(batches) >= 2
    for (X, _), (X_next, _) in zip(batches, batches[1:]):
        assert torch.equal(X_next[:, 0], X[:, -1] + 1)   # row i of the next batch continues row i


@pytest.mark.parametrize("iterate", [text.seq_data_iter_random, text.seq_data_iter_sequential])
def test_iterators_refuse_a_corpus_too_short_or_bad_sizes(iterate):
    with pytest.raises(ValueError, match="too short"):
        next(iterate(list(range(20)), batch_size=4, num_steps=5))
    with pytest.raises(ValueError, match="positive"):
        next(iterate(list(range(100)), batch_size=0, num_steps=5))
    with pytest.raises(ValueError, match="one sequence"):
        next(iterate(torch.zeros(10, 10, dtype=torch.long), batch_size=2, num_steps=2))


def test_char_corpus_splits_the_text_and_builds_the_vocabulary_from_the_training_part():
    train, heldout, vocab = text.char_corpus("abcabcabxz", train_fraction=0.8)   # cut after 8 characters
    assert vocab.to_tokens(train.tolist()) == list("abcabcab")
    assert len(heldout) == 2 and heldout.tolist() == [0, 0]        # 'x' and 'z' are unknown: <unk>
    assert train.dtype == heldout.dtype == torch.int64 and len(vocab) == 4
    with pytest.raises(ValueError, match="between 0 and 1"):
        text.char_corpus("abc", 1.0)
    with pytest.raises(ValueError, match="too short"):
        text.char_corpus("ab", 0.3)


def test_truncate_pad():
    assert text.truncate_pad([5, 6, 7], 5, 0) == [5, 6, 7, 0, 0]
    assert text.truncate_pad([5, 6, 7], 2, 0) == [5, 6]
    assert text.truncate_pad([], 0, 1) == []
    with pytest.raises(ValueError):
        text.truncate_pad([1], -1, 0)


def test_sequence_mask_keeps_the_valid_steps_of_each_row():
    X = torch.arange(1.0, 13.0).reshape(2, 3, 2)          # (batch, steps, features)
    masked = text.sequence_mask(X, torch.tensor([1, 2]), value=-1.0)
    assert torch.equal(masked[0], torch.tensor([[1.0, 2.0], [-1.0, -1.0], [-1.0, -1.0]]))
    assert torch.equal(masked[1], torch.tensor([[7.0, 8.0], [9.0, 10.0], [-1.0, -1.0]]))
    assert torch.equal(text.sequence_mask(X[..., 0], torch.tensor([3, 0])), torch.tensor([[1.0, 3.0, 5.0],
                                                                                          [0.0, 0.0, 0.0]]))
    assert X[0, 2, 0] == 5.0                                    # the input is not changed
    with pytest.raises(ValueError, match="valid_len"):
        text.sequence_mask(X, torch.tensor([1, 2, 3]))


def test_segmentation_scores_on_a_hand_worked_example():
    # gold: 我 | 爱 | 北京 | 天安门 ; predicted: 我爱 | 北京 | 天 | 安门
    # spans gold {(0,1), (1,2), (2,4), (4,7)}, predicted {(0,2), (2,4), (4,5), (5,7)}: one in common
    gold, pred = [["我", "爱", "北京", "天安门"]], [["我爱", "北京", "天", "安门"]]
    s = text.segmentation_scores(gold, pred, training_words=["我", "爱", "北京"])
    assert (s.precision, s.recall) == (1 / 4, 1 / 4) and s.f1 == pytest.approx(1 / 4)
    assert s.oov_rate == 1 / 4 and s.oov_recall == 0.0 and s.iv_recall == pytest.approx(1 / 3)
    perfect = text.segmentation_scores(gold, gold, ["我"])
    assert perfect.f1 == 1.0 and perfect.oov_recall == 1.0
    # a word is correct only where both of its boundaries match: the same word elsewhere does not count
    again = text.segmentation_scores([["北京", "北", "京"]], [["北", "京", "北京"]])
    assert again.precision == 0.0 and again.f1 == 0.0


def test_segmentation_scores_refuse_mismatched_sentences():
    with pytest.raises(ValueError, match="2 gold sentences but 1"):
        text.segmentation_scores([["a"], ["b"]], [["a"]])
    with pytest.raises(ValueError, match="do not spell"):
        text.segmentation_scores([["北京"]], [["南", "京"]])


MIRROR = os.environ.get("D2L_DATA_MIRROR", "")


@pytest.mark.skipif(not MIRROR or "://" in MIRROR, reason="needs D2L_DATA_MIRROR pointing to a local folder")
def test_read_icwb2_gold_test_and_word_lists(cache, monkeypatch):
    monkeypatch.setenv("D2L_DATA_MIRROR", MIRROR)
    for corpus, sentences, words in (("pku", 1944, 104_372), ("msr", 3985, 106_873)):
        gold = text.read_icwb2(corpus)
        assert len(gold) == sentences and sum(map(len, gold)) == words   # the Bakeoff's test-set sizes
        # the same characters (MSR's testing file breaks 8 lines elsewhere and holds 3 spaces more)
        assert "".join("".join(text.read_icwb2(corpus, "test")).split()) == "".join(map("".join, gold))
        assert len(text.read_icwb2(corpus, "words")) > 50_000
    with pytest.raises(ValueError, match="'pku' or 'msr'"):
        text.read_icwb2("cityu")
    with pytest.raises(ValueError, match="part must be"):
        text.read_icwb2("pku", "training")
