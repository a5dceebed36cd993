"""Shared fixtures. Tests never touch ~/.cache: D2L_DATA_DIR points into a temporary folder.

D2L_DATA_DIR and D2L_DATA_MIRROR are made absolute for the whole run, because nbval starts each
notebook's kernel in the notebook's folder, where a relative path would point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    try:
        from d2lutils.book import kernel_data_env
    except Exception:  # a broken d2lutils: the tests that import it report the error themselves
        return
    os.environ.update(kernel_data_env())


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


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder as D2L_DATA_DIR, with no mirror and the default download deadline."""
    d = tmp_path / "cache"
    monkeypatch.setenv("D2L_DATA_DIR", str(d))
    monkeypatch.delenv("D2L_DATA_MIRROR", raising=False)
    monkeypatch.delenv("D2L_DOWNLOAD_DEADLINE", raising=False)
    return d


# The site tests (tests/test_site.py) record their numbers (build time, size, pages, browser time) with
# record_property("book_site_report", ...); they are printed at the end of the run, with or without -s,
# also under pytest-xdist, whose workers send each test's properties to the main process.
_SITE_REPORTS: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _SITE_REPORTS.extend(value for name, value in report.user_properties if name == "book_site_report")


def pytest_terminal_summary(terminalreporter) -> None:
    if _SITE_REPORTS:
        terminalreporter.section("book site")
        for text in _SITE_REPORTS:
            terminalreporter.write_line(text)
