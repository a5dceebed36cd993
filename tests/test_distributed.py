"""Tests of d2lutils.distributed: torchrun with two gloo processes at batch B reaches the parameters of one
process at batch 2B; the shards; the errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from d2lutils import distributed as dd

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@pytest.fixture
def no_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TORCHRUN_VARS:
        monkeypatch.delenv(name, raising=False)


def test_two_gloo_processes_match_one_process_with_twice_the_batch(tmp_path: Path) -> None:
    out = tmp_path / "run.pt"
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_VARS}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "d2lutils.distributed", "--task", "allreduce", "synthetic", "--backend", "gloo", "--batch-size", "16",
           "--epochs", "3", "--lr", "0.1", "--sizes", "16", "4096", "--out", str(out)]
    # generous: two cores, possibly shared with another pytest worker
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    saved = torch.load(out)
    assert saved["world_size"] == 2 and saved["backend"] == "gloo" and len(saved["runs"]) == 1
    assert saved["sizes"] == [16, 4096] and all(t > 0 for t in saved["seconds"])
    run = saved["runs"][0]
    assert run["steps"] == 3 * (1024 // 32)
    X, y = dd.synthetic_data()
    single = dd.train(dd.make_model("synthetic"), X, y, batch_size=32, num_epochs=3, lr=0.1)
    assert single.steps == run["steps"]
    assert set(run["params"]) == set(single.params)
    for name, value in single.params.items():
        # the same updates up to float32 rounding (the gradients are summed in a different order)
        torch.testing.assert_close(run["params"][name], value, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.tensor(run["losses"]), torch.tensor(single.losses), rtol=1e-4, atol=1e-5)
    assert run["losses"][-1] < 0.8 * run["losses"][0]
    assert run["allreduce_s"] > 0 and run["compute_s"] > 0 and run["examples_per_s"] > 0


def test_shards_of_all_ranks_make_the_single_process_batches() -> None:
    one = dd.shard(100, 16, 0, 1, epoch=1, seed=3)
    parts = [dd.shard(100, 8, r, 2, epoch=1, seed=3) for r in range(2)]
    assert len(one) == 100 // 16 and all(len(p) == len(one) for p in parts)
    for step, batch in enumerate(one):
        assert torch.equal(torch.cat([parts[0][step], parts[1][step]]), batch)
    seen = torch.cat(one)
    assert len(set(seen.tolist())) == len(seen)  # no example twice in an epoch
    assert not torch.equal(torch.cat(dd.shard(100, 16, epoch=0, seed=3)), seen)  # reshuffled each epoch


def test_single_process_without_torchrun(no_torchrun: None) -> None:
    info = dd.init("gloo")
    assert (info.rank, info.world_size, info.local_rank, info.backend) == (0, 1, 0, None)
    assert info.device == torch.device("cpu")
    X, y = dd.synthetic_data(256)
    run = dd.train(dd.make_model("synthetic"), X, y, batch_size=32, num_epochs=2, lr=0.1, info=info)
    assert run.steps == 16 and run.allreduce_s == 0.0 and run.world_size == 1
    assert sum(run.losses[-4:]) < sum(run.losses[:4])


def test_bad_environment_and_backend(no_torchrun: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        dd.init("mpi")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "one")
    with pytest.raises(ValueError, match="RANK='one' is not an integer"):
        dd.init("gloo")
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(ValueError, match="0 <= RANK < WORLD_SIZE"):
        dd.init("gloo")
    if not torch.cuda.is_available():
        monkeypatch.setenv("RANK", "0")
        with pytest.raises(RuntimeError, match="nccl needs one CUDA device"):
            dd.init("nccl")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="rank < world_size"):
        dd.shard(100, 8, rank=2, world_size=2)
    with pytest.raises(ValueError, match="batch_size >= 1"):
        dd.shard(100, 0)
    with pytest.raises(ValueError, match="make no global minibatch"):
        dd.shard(10, 8, 0, 2)
    with pytest.raises(ValueError, match="no model for task"):
        dd.make_model("allreduce")
    with pytest.raises(ValueError, match="no data for task"):
        dd.task_data("imagenet")
    X, y = dd.synthetic_data(64)
    with pytest.raises(ValueError, match="lr > 0"):
        dd.train(dd.make_model("synthetic"), X, y, 8, 1, lr=0.0)
    with pytest.raises(ValueError, match="len\\(X\\) == len\\(y\\)"):
        dd.train(dd.make_model("synthetic"), X, y[:10], 8, 1, lr=0.1)
    if not torch.distributed.is_initialized():
        with pytest.raises(RuntimeError, match="needs a process group"):
            dd.time_all_reduce([16], dd.DistInfo(0, 1, 0, torch.device("cpu"), None))


@pytest.mark.parametrize("argv", [["--task", "nope", "--out", "x.pt"], ["--task", "synthetic"],
                                  ["--task", "synthetic", "--out", "x.pt", "--batch-size", "0"],
                                  ["--task", "synthetic", "fashion_mnist", "--out", "x.pt"]])
def test_command_line_rejects_bad_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        dd.main(argv)
    assert exc.value.code == 2
    assert "usage: python -m d2lutils.distributed" in capsys.readouterr().err
