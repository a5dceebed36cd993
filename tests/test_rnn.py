"""d2lutils.rnn: the language-model wrapper, gradient clipping, perplexity, training and generation."""

import math

import pytest
import torch
from torch import nn

import d2lutils as d2l


@pytest.mark.parametrize("cell", [nn.RNN, nn.GRU, nn.LSTM])
@pytest.mark.parametrize("batch_first", [True, False])
def test_rnnlm_shapes_and_state(cell, batch_first) -> None:
    torch.manual_seed(0)
    net = d2l.RNNLM(cell(7, 5, num_layers=2, batch_first=batch_first), vocab_size=7)
    X = torch.randint(7, (3, 4))
    state = net.begin_state(3)
    logits, new_state = net(X, state)
    assert logits.shape == (3, 4, 7)
    h = new_state[0] if cell is nn.LSTM else new_state
    assert h.shape == (2, 3, 5)
    # one-hot input: the same as feeding the one-hot vectors to the layer by hand
    inputs = nn.functional.one_hot(X, 7).float()
    Y, _ = net.rnn(inputs if batch_first else inputs.transpose(0, 1), state)
    Y = Y if batch_first else Y.transpose(0, 1)
    torch.testing.assert_close(logits, net.output(Y), rtol=1e-6, atol=1e-6)


def test_rnnlm_embedding_tying_and_bidirectional() -> None:
    net = d2l.RNNLM(nn.LSTM(16, 16, batch_first=True), vocab_size=30, tie_weights=True)
    assert net.embedding is not None and net.output.weight is net.embedding.weight
    bi = d2l.RNNLM(nn.GRU(30, 8, bidirectional=True, batch_first=True), vocab_size=30)
    assert bi.output.in_features == 16 and bi.begin_state(2).shape == (2, 2, 8)
    with pytest.raises(ValueError, match="tie_weights"):
        d2l.RNNLM(nn.LSTM(30, 16), vocab_size=30, tie_weights=True)
    with pytest.raises(TypeError, match="nn.RNN"):
        d2l.RNNLM(nn.Linear(3, 3), vocab_size=3)
    with pytest.raises(ValueError, match="batch, steps"):
        bi(torch.zeros(5, dtype=torch.long))


def test_grad_clipping_equals_clip_grad_norm() -> None:
    torch.manual_seed(0)
    nets = [nn.Linear(4, 3), nn.Linear(4, 3)]
    nets[1].load_state_dict(nets[0].state_dict())
    (nets[0](torch.randn(8, 4)) * 100).sum().backward()
    for p0, p1 in zip(nets[0].parameters(), nets[1].parameters()):
        p1.grad = p0.grad.clone()
    norm = d2l.grad_clipping(nets[0], 1.0)
    ref = nn.utils.clip_grad_norm_(nets[1].parameters(), 1.0)
    torch.testing.assert_close(norm, ref)
    assert norm > 1.0
    for p0, p1 in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(p0.grad, p1.grad, rtol=1e-5, atol=1e-7)
    clipped = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in nets[0].parameters()]))
    torch.testing.assert_close(clipped, torch.tensor(1.0), rtol=1e-5, atol=0)
    # below the threshold nothing changes
    before = [p.grad.clone() for p in nets[0].parameters()]
    d2l.grad_clipping(nets[0].parameters(), 10.0)
    assert all(torch.equal(b, p.grad) for b, p in zip(before, nets[0].parameters()))
    with pytest.raises(ValueError, match="theta"):
        d2l.grad_clipping(nets[0], 0)
    with pytest.raises(ValueError, match="backward"):
        d2l.grad_clipping(nn.Linear(2, 2), 1.0)


class Uniform(nn.Module):
    """A language model that predicts every token with probability 1 / vocab_size."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.vocab_size = vocab_size

    def forward(self, X, state):
        return torch.zeros(*X.shape, self.vocab_size) + self.w, state

    def begin_state(self, batch_size, device=None):
        return torch.zeros(batch_size)


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size() -> None:
    corpus = torch.randint(11, (500,))
    assert d2l.perplexity(Uniform(11), corpus, batch_size=4, num_steps=7) == pytest.approx(11.0, rel=1e-6)
    with pytest.raises(ValueError, match="at least"):
        d2l.perplexity(Uniform(11), corpus[:3], batch_size=4)


def periodic_corpus(n: int = 3000) -> tuple[torch.Tensor, d2l.Vocab]:
    text = "abcde" * (n // 5)
    vocab = d2l.Vocab(list(text))
    return torch.tensor(vocab[list(text)]), vocab


@pytest.mark.parametrize("random_iter", [False, True])
def test_train_lm_learns_a_periodic_sequence(random_iter, capsys) -> None:
    torch.manual_seed(0)
    corpus, vocab = periodic_corpus()
    net = d2l.RNNLM(nn.GRU(len(vocab), 16, batch_first=True), len(vocab))
    adam = torch.optim.Adam(net.parameters(), 0.05)
    result = d2l.train_lm(net, corpus, 2, batch_size=8, num_steps=10, optimizer=adam,
                          valid=corpus[:200], random_iter=random_iter, device="cpu", animate=False, progress=False)
    assert result.valid_ppl < 1.2, result
    assert len(result.history["train_ppl"]) == 2 and result.history["valid_ppl"][-1] == result.valid_ppl
    assert "held-out perplexity" in capsys.readouterr().out
    assert "".join(d2l.predict(net, "abc", 7, vocab)) == "abcdeabcde"
    sampled = d2l.predict(net, "a", 20, vocab, temperature=1.0, generator=torch.Generator().manual_seed(0))
    assert len(sampled) == 21 and set(sampled) <= set("abcde<unk>")


def test_train_lm_is_reproducible_and_checks_its_arguments() -> None:
    corpus, vocab = periodic_corpus(600)
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        net = d2l.RNNLM(nn.RNN(len(vocab), 8, batch_first=True), len(vocab))
        results.append(d2l.train_lm(net, corpus, 1, batch_size=4, num_steps=5, lr=0.5, device="cpu",
                                    animate=False, progress=False))
    assert results[0].train_ppl == results[1].train_ppl and math.isnan(results[0].valid_ppl)
    net = d2l.RNNLM(nn.RNN(len(vocab), 8), len(vocab))
    with pytest.raises(ValueError, match="exactly one"):
        d2l.train_lm(net, corpus, 1, device="cpu")
    with pytest.raises(ValueError, match="clip"):
        d2l.train_lm(net, corpus, 1, lr=0.1, clip=0, device="cpu")
    with pytest.raises(ValueError, match="too short"):
        d2l.train_lm(net, corpus[:20], 1, lr=0.1, batch_size=4, num_steps=5, device="cpu", animate=False)
    with pytest.raises(ValueError, match="prefix"):
        d2l.predict(net, "", 3, vocab)
