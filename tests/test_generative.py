"""The Fréchet distance and the cached feature network of chapter 14 (d2lutils.generative)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import d2lutils as d2l

MIRROR = os.environ.get("D2L_DATA_MIRROR", "")
needs_mirror = pytest.mark.skipif(
    not MIRROR or "://" in MIRROR, reason="needs D2L_DATA_MIRROR pointing to a local folder (CI sets ../shared/data)"
)


def _trace_sqrt_product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # An independent route: the eigenvalues of S_a S_b are real and >= 0 (it is similar to a PSD matrix).
    return torch.linalg.eigvals(a @ b).real.clamp(min=0).sqrt().sum()


def test_frechet_distance_matches_the_formula() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(500, 6, generator=g, dtype=torch.float64) @ torch.randn(6, 6, generator=g, dtype=torch.float64)
    y = torch.randn(400, 6, generator=g, dtype=torch.float64) * 2 + 1
    s_x, s_y = torch.cov(x.T), torch.cov(y.T)
    expected = ((x.mean(0) - y.mean(0)) ** 2).sum() + s_x.trace() + s_y.trace() - 2 * _trace_sqrt_product(s_x, s_y)
    torch.testing.assert_close(d2l.frechet_distance(x, y), float(expected), rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(d2l.frechet_distance(y, x), float(expected), rtol=1e-9, atol=1e-9)


def test_frechet_distance_of_a_set_with_itself_and_of_a_shift() -> None:
    x = torch.randn(300, 4, generator=torch.Generator().manual_seed(1))
    assert abs(d2l.frechet_distance(x, x)) < 1e-8
    shift = torch.tensor([1.0, -2.0, 0.5, 0.0])
    torch.testing.assert_close(d2l.frechet_distance(x, x + shift), 5.25, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        (torch.zeros(5), torch.zeros(5, 1), "shape"),
        (torch.zeros(1, 3), torch.zeros(5, 3), "n >= 2"),
        (torch.zeros(4, 3), torch.zeros(5, 2), "feature sizes differ"),
        (torch.full((4, 3), float("nan")), torch.zeros(5, 3), "NaN"),
    ],
)
def test_frechet_distance_refuses_bad_input(x: torch.Tensor, y: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        d2l.frechet_distance(x, y)


def test_fashion_fid_refuses_tanh_images_and_wrong_shapes() -> None:
    net = d2l.FashionNet().eval()
    real = torch.rand(8, 1, 28, 28)
    with pytest.raises(ValueError, match=r"\(x \+ 1\) / 2"):
        d2l.fashion_fid(real, real * 2 - 1, net)
    with pytest.raises(ValueError, match="shape"):
        d2l.fashion_fid(real, torch.rand(8, 3, 28, 28), net)
    with pytest.raises(TypeError):
        d2l.fashion_fid(real, [[0.0]], net)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive integer"):
        d2l.fashion_classifier(epochs=0)


def test_fashion_fid_is_small_for_one_distribution_and_large_for_noise() -> None:
    net = d2l.FashionNet().eval()
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(300, 1, 28, 28, generator=g), torch.rand(300, 28, 28, generator=g)
    black = torch.zeros(300, 1, 28, 28)
    black[:, :, 10:18, 10:18] = torch.rand(300, 1, 8, 8, generator=g)
    assert d2l.fashion_fid(a, b, net, batch_size=64) < d2l.fashion_fid(a, black, net, batch_size=64)


@needs_mirror
def test_fashion_classifier_is_trained_once_then_reloaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("D2L_DATA_DIR", str(tmp_path))
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    net = d2l.fashion_classifier("cpu", epochs=1, num_examples=256)
    assert torch.equal(torch.rand(3), before), "training must not move the caller's random numbers"
    files = list((tmp_path / "models").glob("*.pt"))
    assert [f.name for f in files] == ["fashion-lenet-bn-sigmoid-256x1-seed0.pt"]
    assert not net.training
    X = torch.rand(5, 1, 28, 28)
    again = d2l.fashion_classifier("cpu", epochs=1, num_examples=256)
    with torch.no_grad():
        assert net.features(X).shape == (5, d2l.generative.FEATURES)
        torch.testing.assert_close(again(X), net(X), rtol=0, atol=0)
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".")], "no temporary file left"
