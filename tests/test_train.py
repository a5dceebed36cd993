import pytest
import torch
from torch import nn

import d2lutils as d2l


def test_accumulator():
    acc = d2l.Accumulator(2)
    acc.add(1, 2.5)
    acc.add(torch.tensor(3.0), 0.5)
    assert acc[0] == 4.0 and acc[1] == 3.0
    acc.reset()
    assert acc.data == [0.0, 0.0]
    with pytest.raises(ValueError, match="expects 2 values"):
        acc.add(1)


def test_accuracy_counts_correct_predictions():
    y_hat = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    y = torch.tensor([1, 1, 1])
    assert d2l.accuracy(y_hat, y) == 2.0
    assert d2l.accuracy(torch.tensor([1, 0, 1]), y) == 2.0


def test_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="forget to flatten"):
        d2l.accuracy(torch.zeros(4, 3, 2), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="labels must have shape"):
        d2l.accuracy(torch.zeros(4, 3), torch.zeros(4, 1, dtype=torch.long))


def _blobs(n=600, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    y = torch.randint(0, 3, (n,), generator=g)
    X = centers[y] + 0.5 * torch.randn(n, 2, generator=g)
    return X, y


def test_train_classifier_learns_separable_blobs(full, capsys):
    torch.manual_seed(0)
    X, y = _blobs()
    train_iter = d2l.load_array((X[:500], y[:500]), 50)
    test_iter = d2l.load_array((X[500:], y[500:]), 50, shuffle=False)
    net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    result = d2l.train_classifier(net, train_iter, test_iter, nn.CrossEntropyLoss(), 5, lr=0.3,
                                  device="cpu", progress=False)
    out = capsys.readouterr().out
    assert result.test_acc >= 0.95 and result.train_acc >= 0.9
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]
    assert len(result.history["test_acc"]) == 5
    assert result.examples_per_sec > 0 and result.device == "cpu"
    line = out.strip().splitlines()[-1]
    assert line == result.summary()
    assert line.startswith("loss ") and line.endswith("examples/sec on cpu") and "test acc" in line


def test_train_classifier_quick_mode_caps_epochs(quick, capsys):
    X, y = _blobs(100)
    it = d2l.load_array((X, y), 25)
    net = nn.Linear(2, 3)
    result = d2l.train_classifier(net, it, it, nn.CrossEntropyLoss(reduction="none"), 10,
                                  optimizer=torch.optim.SGD(net.parameters(), lr=0.1), device="cpu",
                                  animate=False, progress=False)
    assert len(result.history["train_loss"]) == 2
    assert "quick mode: 2 of 10 epochs" in capsys.readouterr().out


def test_train_classifier_bad_arguments():
    X, y = _blobs(20)
    it = d2l.load_array((X, y), 10)
    with pytest.raises(ValueError, match="optimizer or a learning rate"):
        d2l.train_classifier(nn.Linear(2, 3), it, it, nn.CrossEntropyLoss(), 1, device="cpu")
    with pytest.raises(ValueError, match="forget to flatten"):
        net = nn.Sequential(nn.Linear(2, 3), nn.Unflatten(1, (3, 1)))
        d2l.train_classifier(net, it, it, nn.CrossEntropyLoss(), 1, lr=0.1, device="cpu",
                             animate=False, progress=False)


def test_evaluate_accuracy_restores_mode():
    X, y = _blobs(40)
    net = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5))
    net.train()
    acc = d2l.evaluate_accuracy(net, d2l.load_array((X, y), 16, shuffle=False))
    assert 0.0 <= acc <= 1.0 and net.training


def test_amp_choice_on_cpu(full, capsys):
    """amp=None/False train in fp32 on a CPU; amp=True uses bf16 autocast only where the CPU has bf16."""
    from d2lutils.train import _autocast

    cpu = torch.device("cpu")
    for amp in (None, False):
        with _autocast(cpu, amp):
            assert not torch.is_autocast_enabled("cpu")
    with _autocast(cpu, True):
        assert torch.is_autocast_enabled("cpu") == d2l.cpu_has_bf16()
    assert isinstance(d2l.cpu_has_bf16(), bool)
    torch.manual_seed(0)
    X, y = _blobs()
    net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    result = d2l.train_classifier(net, d2l.load_array((X, y), 50), d2l.load_array((X, y), 50, shuffle=False),
                                  nn.CrossEntropyLoss(), 3, lr=0.3, device="cpu", amp=True, progress=False,
                                  animate=False)
    assert result.test_acc >= 0.9
