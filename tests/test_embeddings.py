"""d2lutils.embeddings: co-occurrence counts, PPMI, truncated SVD, similarity and analogies (chapter 11)."""

from __future__ import annotations

import math

import pytest
import torch

from d2lutils import embeddings, text

TOKENS = "you say goodbye and i say hello .".split()


def toy():
    vocab = text.Vocab(TOKENS)
    return vocab, torch.tensor(vocab[TOKENS])


def test_cooccurrence_of_the_toy_sentence_by_hand():
    vocab, corpus = toy()
    C = embeddings.cooccurrence(corpus, len(vocab), window=1, dense=True)

    def count(x, y):
        return float(C[vocab[x], vocab[y]])

    assert count("say", "you") == count("say", "goodbye") == count("say", "i") == count("say", "hello") == 1
    assert count("you", "say") == 1 and count("you", "goodbye") == 0 and count(".", "hello") == 1
    assert torch.equal(C, C.T) and C.sum() == 2 * (len(TOKENS) - 1)
    assert torch.equal(embeddings.cooccurrence(corpus, len(vocab), 1).to_dense(), C)     # sparse = dense
    # a loop over tokens gives the same matrix with a wider window
    loop = torch.zeros(len(vocab), len(vocab))
    for i in range(len(corpus)):
        for j in range(max(0, i - 2), min(len(corpus), i + 3)):
            if j != i:
                loop[corpus[i], corpus[j]] += 1
    assert torch.equal(embeddings.cooccurrence(corpus, len(vocab), 2, dense=True), loop)


def test_context_pairs_stay_inside_sentences():
    corpus = torch.tensor([1, 2, 3, 4, 5])
    centers, contexts = embeddings.context_pairs(corpus, 1, sentence_ids=torch.tensor([0, 0, 0, 1, 1]))
    assert sorted(zip(centers.tolist(), contexts.tolist())) == [(1, 2), (2, 1), (2, 3), (3, 2), (4, 5), (5, 4)]
    with pytest.raises(ValueError, match="window"):
        embeddings.context_pairs(corpus, 0)
    with pytest.raises(ValueError, match="sentence_ids"):
        embeddings.context_pairs(corpus, 1, sentence_ids=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        embeddings.cooccurrence(corpus, 3, 1)


def test_ppmi_by_hand_and_in_both_layouts():
    vocab, corpus = toy()
    C = embeddings.cooccurrence(corpus, len(vocab), 1, dense=True)
    M = embeddings.ppmi(C)
    # N = 14 pairs; "you" occurs in 1 pair, "say" in 4: log2(1 * 14 / (1 * 4))
    assert float(M[vocab["you"], vocab["say"]]) == pytest.approx(math.log2(14 / 4), abs=1e-6)
    assert float(M[vocab["."], vocab["hello"]]) == pytest.approx(math.log2(14 / 2), abs=1e-6)
    assert (M >= 0).all() and (M[C == 0] == 0).all() and (M[0] == 0).all()     # <unk>: no counts, zeros
    sparse = embeddings.ppmi(C.to_sparse())
    torch.testing.assert_close(sparse.to_dense(), M, rtol=0, atol=1e-6)
    assert (sparse.values() > 0).all()


def test_truncated_svd_matches_the_exact_singular_values_and_keeps_the_global_rng():
    g = torch.Generator().manual_seed(0)
    M = torch.randn(60, 8, generator=g) @ torch.randn(8, 40, generator=g)     # rank 8
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    U, S, V = embeddings.truncated_svd(M, k=8)
    assert torch.equal(torch.rand(3), before)                                   # the global state untouched
    torch.testing.assert_close(S, torch.linalg.svdvals(M)[:8], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(U @ torch.diag(S) @ V.T, M, rtol=1e-3, atol=1e-3)
    U2, _, _ = embeddings.truncated_svd(M.to_sparse(), k=8)
    assert U2.shape == (60, 8)
    with pytest.raises(ValueError, match="k must be"):
        embeddings.truncated_svd(M, k=41)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_most_similar_and_cosines_in_every_layout():
    vocab, corpus = toy()
    C = embeddings.cooccurrence(corpus, len(vocab), 1, dense=True)
    top = embeddings.most_similar("you", vocab, C, k=3)
    assert {w for w, _ in top} == {"goodbye", "i", "hello"}
    assert all(s == pytest.approx(1 / math.sqrt(2), abs=1e-6) for _, s in top)
    for W in (C, C.to_sparse(), C.to_sparse_csr()):
        torch.testing.assert_close(embeddings.cosine_similarities(W, vocab["you"]),
                                   embeddings.cosine_similarities(C, vocab["you"]), rtol=0, atol=1e-6)
    with pytest.raises(KeyError, match="'cat' is not in the vocabulary"):
        embeddings.most_similar("cat", vocab, C)
    with pytest.raises(ValueError, match="rows"):
        embeddings.most_similar("you", vocab, C[:5])


def test_analogy_adds_offsets_and_leaves_out_the_question_words():
    words = ["<unk>", "man", "woman", "king", "queen", "apple"]
    vocab = text.Vocab(words[1:], reserved_tokens=[])
    W = torch.zeros(len(vocab), 3)
    vectors = {"man": [1, 0, 0], "woman": [1, 1, 0], "king": [1, 0, 1], "queen": [1, 1, 1], "apple": [0, 0, 1]}
    for w, v in vectors.items():
        W[vocab[w]] = torch.tensor(v, dtype=torch.float32)
    assert embeddings.analogy("man", "woman", "king", vocab, W) == ["queen"]
    assert embeddings.analogy("man", "king", "woman", vocab, W) == ["queen"]
    # without exclusion the nearest word to king - man + man is king itself
    assert embeddings.analogy("man", "man", "king", vocab, W, exclude=False) == ["king"]
    with pytest.raises(KeyError, match="'prince'"):
        embeddings.analogy("man", "woman", "prince", vocab, W)
