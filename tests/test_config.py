import pytest

from d2lutils import config


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


def test_epochs_capped_only_in_quick_mode(quick, capsys):
    assert config.epochs(10) == config.QUICK_EPOCHS
    assert capsys.readouterr().out.strip() == f"quick mode: {config.QUICK_EPOCHS} of 10 epochs"
    assert config.epochs(1) == 1
    assert capsys.readouterr().out == ""


def test_epochs_full_mode_untouched(full, capsys):
    assert config.epochs(10) == 10
    assert capsys.readouterr().out == ""


def test_examples_cap_and_message(quick, capsys):
    assert config.examples(60_000, "training images") == 2_000
    assert capsys.readouterr().out.strip() == "quick mode: 2,000 of 60,000 training images"
    assert config.examples(10_000, "test images", limit=1_000) == 1_000
    assert config.examples(500) == 500


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_epochs_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="positive integer"):
        config.epochs(bad)
