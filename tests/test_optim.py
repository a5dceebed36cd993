"""Tests of the optimization-chapter helpers."""

from __future__ import annotations

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


def test_fit_regression_reduces_loss_and_records(capsys) -> None:
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
