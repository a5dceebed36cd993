import numpy as np
import pytest
import torch

import d2lutils as d2l
from d2lutils import device as device_module


@pytest.fixture
def gpus(monkeypatch):
    """Pretend the machine has ``cuda`` CUDA devices and, or not, Apple's MPS."""

    def set_gpus(cuda: int, mps: bool = False) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
        monkeypatch.setattr(device_module, "_mps_available", lambda: mps)

    return set_gpus


def test_cpu_only_machine(gpus):
    gpus(0)
    assert d2l.cpu() == torch.device("cpu")
    assert d2l.try_gpu() == torch.device("cpu")
    assert d2l.try_gpu(3) == torch.device("cpu")
    assert d2l.try_all_gpus() == [torch.device("cpu")]


def test_two_cuda_gpus(gpus):
    gpus(2, mps=False)
    assert d2l.try_gpu() == torch.device("cuda:0")
    assert d2l.try_gpu(1) == torch.device("cuda:1")
    assert d2l.try_gpu(2) == torch.device("cpu")  # no third GPU
    assert d2l.try_all_gpus() == [torch.device("cuda:0"), torch.device("cuda:1")]


def test_cuda_comes_before_mps(gpus):
    gpus(1, mps=True)
    assert d2l.try_gpu() == torch.device("cuda:0")
    assert d2l.try_all_gpus() == [torch.device("cuda:0")]


def test_apple_mps_has_only_device_0(gpus):
    gpus(0, mps=True)
    assert d2l.try_gpu() == torch.device("mps")
    assert d2l.try_gpu(1) == torch.device("cpu")
    assert d2l.try_all_gpus() == [torch.device("mps")]


def test_this_machine():
    """Without monkeypatching: the first GPU is used exactly when torch sees one."""
    expected = "cuda" if torch.cuda.is_available() else ("mps" if device_module._mps_available() else "cpu")
    assert d2l.try_gpu().type == expected


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_try_gpu_rejects_bad_index(bad):
    with pytest.raises((ValueError, TypeError), match="try_gpu"):
        d2l.try_gpu(bad)


def test_device_name(monkeypatch):
    assert d2l.device_name("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: f"Fake GPU {i}")
    assert d2l.device_name("cuda:1") == "cuda:1 (Fake GPU 1)"


def test_synchronize_waits_for_the_named_cuda_device(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda dev=None: calls.append(dev))
    d2l.synchronize("cuda:1")
    d2l.synchronize("cpu")
    assert calls == [torch.device("cuda:1")]


def test_timer_records_laps_from_the_clock(monkeypatch):
    ticks = iter([10.0, 10.5, 11.0, 13.0, 20.0, 20.25])
    monkeypatch.setattr(device_module.time, "perf_counter", lambda: next(ticks))
    timer = d2l.Timer("cpu")  # starts at 10.0
    assert timer.stop() == 0.5
    timer.start()  # 11.0
    assert timer.stop() == 2.0
    timer.start()  # 20.0
    assert timer.stop() == 0.25
    assert timer.times == [0.5, 2.0, 0.25]
    assert timer.sum() == 2.75
    assert timer.avg() == pytest.approx(2.75 / 3)
    assert timer.cumsum() == [0.5, 2.5, 2.75]


def test_tensor_loader_covers_every_example_once_per_epoch():
    X = torch.arange(10).float().reshape(10, 1)
    y = torch.arange(10)
    loader = d2l.TensorLoader(X, y, batch_size=4, seed=1)
    assert len(loader) == 3 and loader.num_examples == 10
    batches = list(loader)
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    seen = torch.cat([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10))
    assert seen.tolist() != list(range(10))  # shuffled
    for xb, yb in batches:  # features and labels stay paired
        assert torch.equal(xb[:, 0].long(), yb)


def test_tensor_loader_seeded_and_reshuffles():
    y = torch.arange(100)
    a = d2l.TensorLoader(y, batch_size=100, seed=3)
    b = d2l.TensorLoader(y, batch_size=100, seed=3)
    first_a, second_a = next(iter(a))[0], next(iter(a))[0]
    assert torch.equal(first_a, next(iter(b))[0])
    assert not torch.equal(first_a, second_a)


def test_tensor_loader_no_shuffle_and_drop_last():
    y = torch.arange(10)
    loader = d2l.TensorLoader(y, batch_size=4, shuffle=False, drop_last=True)
    assert len(loader) == 2
    assert [b[0].tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_tensor_loader_bad_input():
    with pytest.raises(ValueError, match="same first dimension"):
        d2l.TensorLoader(torch.zeros(3), torch.zeros(4), batch_size=2)
    with pytest.raises(TypeError, match="tensors"):
        d2l.TensorLoader([1, 2, 3], batch_size=1)
    with pytest.raises(TypeError, match="tuple of tensors"):
        d2l.load_array(torch.zeros(3), 2)
    assert len(d2l.load_array((torch.zeros(5, 2), torch.zeros(5)), 2)) == 3


@pytest.mark.parametrize("bad", [0, -2, 2.5, True, False, "4", None])
def test_tensor_loader_rejects_a_batch_size_that_is_not_a_positive_integer(bad):
    with pytest.raises(ValueError, match=r"batch_size must be a positive integer, got"):
        d2l.TensorLoader(torch.zeros(8), batch_size=bad)


def test_tensor_loader_accepts_numpy_integers():
    loader = d2l.TensorLoader(torch.arange(8), batch_size=np.int64(3), shuffle=False)
    assert loader.batch_size == 3 and type(loader.batch_size) is int
    assert [len(b[0]) for b in loader] == [3, 3, 2]


@pytest.mark.parametrize(("value", "expected"), [(18_616.4, "19,000"), (20_480, "20,000"), (412_345, "410,000"),
                                                 (95.2, "95"), (9.96, "10"), (3.14159, "3.1"), (0.0123, "0.012"),
                                                 (0, "0"), (float("nan"), "nan")])
def test_approx_keeps_two_significant_digits(value, expected):
    assert d2l.approx(value) == expected


def test_approx_refuses_zero_digits():
    with pytest.raises(ValueError, match="at least one"):
        d2l.approx(5.0, digits=0)
