"""Tests of the optimization-chapter helpers."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from d2lutils import optim


def test_run_2d_follows_the_rule_and_keeps_state() -> None:
    def step(x1: float, x2: float, state: dict) -> tuple[float, float]:
        state["t"] = state.get("t", 0) + 1
        return x1 * 0.5, x2 + state["t"]

    points = optim.run_2d(step, start=(4.0, 0.0), steps=3)
    assert points == [(4.0, 0.0), (2.0, 1.0), (1.0, 3.0), (0.5, 6.0)]
    with pytest.raises(ValueError, match="steps"):
        optim.run_2d(step, steps=-1)


def test_show_trace_2d_draws_every_path() -> None:
    ax = optim.show_trace_2d(lambda a, b: a**2 + 2 * b**2, {"gd": [(-5, -2), (-2, -1), (0, 0)], "other": [(1, 1)]})
    assert len(ax.get_lines()) == 2 and ax.get_legend() is not None
    plt.close("all")
    with pytest.raises(ValueError, match="empty"):
        optim.show_trace_2d(lambda a, b: a + b, {"x": []})
    plt.close("all")


def test_fit_regression_reduces_loss_and_records(full, capsys) -> None:
    torch.manual_seed(0)
    X = torch.randn(512, 3)
    y = X @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    net = nn.Linear(3, 1)
    result = optim.fit_regression(net, torch.optim.SGD(net.parameters(), lr=0.1), X, y, batch_size=32,
                                  num_epochs=3, records_per_epoch=4, device="cpu")
    assert result.loss[-1] < 0.01 * result.loss[0]
    assert result.examples[0] == 0 and result.examples[-1] == 3 * 512
    assert len(result.examples) == len(result.seconds) == len(result.loss) == 1 + 3 * 4
    assert result.seconds == sorted(result.seconds)
    assert "examples/sec on cpu" in capsys.readouterr().out


def test_fit_regression_rejects_bad_shapes() -> None:
    net = nn.Linear(3, 1)
    with pytest.raises(ValueError, match=r"features \(n, d\) and labels \(n,\)"):
        optim.fit_regression(net, torch.optim.SGD(net.parameters(), lr=0.1), torch.randn(8, 3),
                             torch.randn(8, 1), batch_size=4, num_epochs=1)


def _linear_data(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 3, generator=g)
    return X, X @ torch.tensor([1.0, -2.0, 0.5]) + 0.3


def test_fit_regression_caps_epochs_in_quick_mode(quick) -> None:
    X, y = _linear_data()
    net = nn.Linear(3, 1)
    result = optim.fit_regression(net, torch.optim.SGD(net.parameters(), lr=0.01), X, y, batch_size=16,
                                  num_epochs=10, records_per_epoch=1, device="cpu", verbose=False)
    assert result.examples == [0, 64, 128]


def test_fit_regression_full_mode_runs_every_epoch(full) -> None:
    X, y = _linear_data()
    net = nn.Linear(3, 1)
    result = optim.fit_regression(net, torch.optim.SGD(net.parameters(), lr=0.01), X, y, batch_size=16,
                                  num_epochs=5, records_per_epoch=1, device="cpu", verbose=False)
    assert result.examples[-1] == 5 * 64


def test_fit_regression_stops_when_the_loss_turns_nan(full) -> None:
    X, y = _linear_data()
    net = nn.Linear(3, 1)
    with pytest.raises(FloatingPointError, match=r"epoch 1 of 4") as err:
        optim.fit_regression(net, torch.optim.SGD(net.parameters(), lr=float("nan")), X, y, batch_size=16,
                             num_epochs=4, device="cpu", verbose=False)
    message = str(err.value)
    assert "nan" in message and "learning rate" in message and "clip" in message


def test_fit_regression_names_bad_inputs_before_training(full) -> None:
    X, y = _linear_data()
    X[3, 1] = float("inf")
    net = nn.Linear(3, 1)
    with pytest.raises(FloatingPointError, match=r"before training.*features and labels"):
        optim.fit_regression(net, torch.optim.SGD(net.parameters(), lr=0.1), X, y, batch_size=16,
                             num_epochs=2, device="cpu", verbose=False)


def test_fit_regression_on_divergence_stop_keeps_the_partial_result(full, capsys) -> None:
    X, y = _linear_data()
    net = nn.Linear(3, 1)
    result = optim.fit_regression(net, torch.optim.SGD(net.parameters(), lr=1e30), X, y, batch_size=16,
                                  num_epochs=4, records_per_epoch=2, device="cpu", on_divergence="stop")
    assert result.diverged_epoch == 1
    assert not math.isfinite(result.loss[-1]) and all(math.isfinite(v) for v in result.loss[:-1])
    assert result.examples[-1] <= 64
    assert "diverged in epoch 1" in capsys.readouterr().out


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_fit_regression_records_the_mean_loss_whatever_the_reduction(full, reduction: str) -> None:
    X, y = _linear_data()
    torch.manual_seed(0)
    net = nn.Linear(3, 1)
    with torch.no_grad():
        expected = ((net(X).squeeze(1) - y) ** 2).mean().item()
    result = optim.fit_regression(net, torch.optim.SGD(net.parameters(), lr=0.0), X, y, batch_size=16,
                                  num_epochs=1, loss=nn.MSELoss(reduction=reduction), device="cpu",
                                  verbose=False)
    assert result.loss == pytest.approx([expected] * len(result.loss), rel=1e-5)


def test_fit_regression_rejects_something_that_is_not_an_optimizer() -> None:
    X, y = _linear_data()
    with pytest.raises(TypeError, match=r"zero_grad\(\) and step\(\)"):
        optim.fit_regression(nn.Linear(3, 1), 0.1, X, y, batch_size=16, num_epochs=1)  # type: ignore[arg-type]
