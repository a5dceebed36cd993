import os
import subprocess
import sys
from pathlib import Path

import pytest

from d2lutils import config

ROOT = Path(__file__).resolve().parents[1]


def test_read_mode_accepts_both_modes_and_default(monkeypatch):
    assert config.read_mode("full") == "full"
    assert config.read_mode(" QUICK ") == "quick"
    monkeypatch.delenv("D2L_MODE", raising=False)
    assert config.read_mode() == "full"
    monkeypatch.setenv("D2L_MODE", "quick")
    assert config.read_mode() == "quick"


def test_read_mode_rejects_unknown_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("D2L_MODE", "fast")
    with pytest.raises(ValueError, match=r"D2L_MODE='fast'.*D2L_MODE=full.*D2L_MODE=quick"):
        config.read_mode()


@pytest.fixture
def fresh_notice(monkeypatch):
    """Forget which quick-mode notices this process has printed."""
    monkeypatch.setattr(config, "_announced", set())


NOTICE = "quick mode (D2L_MODE=quick): at most 2 epochs and 2,000 examples per data set"


def test_notice_text():
    assert config.NOTICE == NOTICE


def test_quick_mode_caps_and_prints_the_notice_once(quick, fresh_notice, capsys):
    assert config.epochs(10) == config.QUICK_EPOCHS
    assert config.epochs(5) == config.QUICK_EPOCHS
    assert config.examples(60_000, "training images") == 2_000
    assert config.examples(10_000, "test images") == 2_000
    assert capsys.readouterr().out == NOTICE + "\n"
    assert config.epochs(1) == 1 and config.examples(500) == 500
    assert capsys.readouterr().out == ""


def test_a_custom_example_cap_has_its_own_notice_once(quick, fresh_notice, capsys):
    assert config.examples(10_000, "test images", limit=1_000) == 1_000
    assert config.examples(20_000, "test images", limit=1_000) == 1_000
    assert capsys.readouterr().out == "quick mode (D2L_MODE=quick): at most 1,000 test images\n"


def test_full_mode_untouched_and_silent(full, fresh_notice, capsys):
    assert config.epochs(10) == 10
    assert config.examples(60_000) == 60_000
    assert capsys.readouterr().out == ""


def test_notice_once_per_process_on_its_own_line_never_after_a_label():
    """In a fresh quick-mode process the notice comes at import, so a later label is never glued to it."""
    code = "\n".join([
        "import torch",
        "from torch import nn",
        "import d2lutils as d2l",
        "print('label:', end=' ')",
        "d2l.config.epochs(10); d2l.config.examples(60_000, 'images')",
        "net = nn.Linear(2, 1)",
        "X = torch.randn(8, 2); y = X.sum(1)",
        "r = d2l.fit_regression(net, torch.optim.SGD(net.parameters(), lr=0.1), X, y, 4, 10, device='cpu')",
        "assert r.examples[-1] == 2 * 8, r.examples",
    ])
    env = {**os.environ, "D2L_MODE": "quick", "D2L_STATIC_WIDGETS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == NOTICE
    assert proc.stdout.count("quick mode") == 1
    assert lines[1].startswith("label: loss ")


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_epochs_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="positive integer"):
        config.epochs(bad)
