import pytest
import torch

import d2lutils as d2l


def test_devices_fall_back_to_cpu_without_gpu():
    assert d2l.cpu() == torch.device("cpu")
    dev = d2l.try_gpu()
    if not torch.cuda.is_available():
        assert dev.type in ("cpu", "mps")
        assert d2l.try_gpu(7) == torch.device("cpu")  # MPS has only device 0
    assert len(d2l.try_all_gpus()) >= 1
    assert d2l.device_name("cpu") == "cpu"
    with pytest.raises(ValueError):
        d2l.try_gpu(-1)


def test_timer_records_laps():
    timer = d2l.Timer("cpu")
    sum(range(10_000))
    first = timer.stop()
    timer.start()
    second = timer.stop()
    assert first > 0 and second >= 0
    assert timer.sum() == pytest.approx(first + second)
    assert timer.avg() == pytest.approx((first + second) / 2)
    assert timer.cumsum()[-1] == pytest.approx(timer.sum())


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
    with pytest.raises(ValueError, match="batch_size"):
        d2l.TensorLoader(torch.zeros(3), batch_size=0)
    with pytest.raises(TypeError, match="tensors"):
        d2l.TensorLoader([1, 2, 3], batch_size=1)
    with pytest.raises(TypeError, match="tuple of tensors"):
        d2l.load_array(torch.zeros(3), 2)
    assert len(d2l.load_array((torch.zeros(5, 2), torch.zeros(5)), 2)) == 3
