"""Shared fixtures. Tests never touch ~/.cache: D2L_DATA_DIR points into a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the test as in quick mode."""
    from d2lutils import config

    monkeypatch.setattr(config, "QUICK", True)
    monkeypatch.setattr(config, "MODE", "quick")


@pytest.fixture
def full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the test as in full mode."""
    from d2lutils import config

    monkeypatch.setattr(config, "QUICK", False)
    monkeypatch.setattr(config, "MODE", "full")


@pytest.fixture(autouse=True)
def _no_user_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    if "D2L_DATA_DIR" not in os.environ:
        monkeypatch.setenv("D2L_DATA_DIR", str(tmp_path_factory.getbasetemp() / "d2l-cache"))
