"""Data-parallel training with ``torchrun`` and DistributedDataParallel (section 16.3).

A chapter's training runs on several processes by launching this module with torchrun::

    python -m torch.distributed.run --standalone --nproc_per_node 2 \\
        -m d2lutils.distributed --task fashion_mnist --batch-size 64 --out run.pt

torchrun starts one process per worker and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``
and ``MASTER_PORT``; :func:`init` reads them and joins the process group; :func:`shard` gives each rank
its slice of every global minibatch; :func:`train` wraps the model in DDP when there are several processes
(and trains plainly when there is one); rank 0 saves the result with :func:`torch.save`. The task
``allreduce`` times ``dist.all_reduce`` for several tensor sizes instead of training.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["BACKENDS", "TASKS", "DistInfo", "DistResult", "init", "shard", "synthetic_data", "make_model",
           "task_data", "train", "time_all_reduce", "main"]

#: The process-group backends :func:`init` accepts: gloo (CPU tensors) and nccl (CUDA tensors).
BACKENDS: tuple[str, ...] = ("gloo", "nccl")
#: The tasks of :func:`main`: two training tasks and an all-reduce benchmark.
TASKS: tuple[str, ...] = ("synthetic", "fashion_mnist", "allreduce")


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: its ``rank`` among ``world_size`` processes, its ``local_rank`` on its
    machine, the ``device`` it computes on and the ``backend`` of its process group (``None``: no group)."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str | None


@dataclass
class DistResult:
    """What :func:`train` returns: the final ``params`` (a CPU state dict), the global mean loss of every
    step, the global ``examples_per_s``, the seconds spent in gradient all-reduce and the rest
    (forward, backward, update), the number of ``steps`` and the ``world_size``."""

    params: dict[str, torch.Tensor]
    losses: list[float] = field(default_factory=list)
    examples_per_s: float = 0.0
    allreduce_s: float = 0.0
    compute_s: float = 0.0
    steps: int = 0
    world_size: int = 1


def _env_int(name: str) -> int:
    raw = os.environ[name]
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} is not an integer; launch with torchrun, "
                         f"which sets RANK, WORLD_SIZE and LOCAL_RANK") from None


def init(backend: str | None = None) -> DistInfo:
    """Join the process group that torchrun set up, or run as a single process without one.

    Args:
        backend: ``"gloo"`` or ``"nccl"``; ``None`` picks nccl when this machine has a CUDA device for
            every local process, else gloo. Without torchrun's ``RANK`` and ``WORLD_SIZE`` no group is made.

    Returns:
        The :class:`DistInfo`: nccl computes on ``cuda:LOCAL_RANK`` (made the current device), gloo on the
        CPU; a single process without torchrun on :func:`~d2lutils.device.try_gpu` (the CPU if gloo was asked for).

    Raises:
        ValueError: an unknown backend, or a torchrun variable that is not an integer or out of range.
        RuntimeError: nccl without enough CUDA devices.
    """
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS} or None, got {backend!r}")
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        from .device import try_gpu
        return DistInfo(0, 1, 0, torch.device("cpu") if backend == "gloo" else try_gpu(), None)
    rank, world_size = _env_int("RANK"), _env_int("WORLD_SIZE")
    local_rank = _env_int("LOCAL_RANK") if "LOCAL_RANK" in os.environ else rank
    if world_size < 1 or not 0 <= rank < world_size or local_rank < 0:
        raise ValueError(f"need 0 <= RANK < WORLD_SIZE and LOCAL_RANK >= 0, got RANK={rank}, "
                         f"WORLD_SIZE={world_size}, LOCAL_RANK={local_rank}")
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() and torch.cuda.device_count() > local_rank else "gloo"
    if backend == "nccl":
        if not torch.cuda.is_available() or torch.cuda.device_count() <= local_rank:
            raise RuntimeError(f"nccl needs one CUDA device per local process; LOCAL_RANK={local_rank} but "
                               f"{torch.cuda.device_count()} device(s) found: use backend='gloo'")
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return DistInfo(rank, world_size, local_rank, device, backend)


def shard(num_examples: int, batch_size: int, rank: int = 0, world_size: int = 1, epoch: int = 0,
          seed: int = 0) -> list[torch.Tensor]:
    """Return this rank's example indices in every global minibatch of one epoch.

    Every rank draws the same permutation of ``range(num_examples)`` (from ``seed`` and ``epoch``: a new
    shuffle each epoch) and cuts it into global minibatches of ``batch_size * world_size`` examples,
    dropping an incomplete last one; rank ``r`` (``0 <= r < world_size``) takes part ``r`` of each.
    Together, the parts of all ranks are the minibatches of one process with ``batch_size * world_size``.

    Returns:
        One index tensor of length ``batch_size`` (examples per rank and step) per step.

    Raises:
        ValueError: a non-positive size, a rank out of range, or fewer examples than one global minibatch.
    """
    if batch_size < 1 or world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"need batch_size >= 1 and 0 <= rank < world_size, got batch_size={batch_size}, "
                         f"rank={rank}, world_size={world_size}")
    global_batch = batch_size * world_size
    if num_examples < global_batch:
        raise ValueError(f"{num_examples} examples make no global minibatch of {batch_size} x {world_size}")
    order = torch.randperm(num_examples, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    steps = num_examples // global_batch
    parts = order[:steps * global_batch].view(steps, world_size, batch_size)
    return list(parts[:, rank])


def synthetic_data(num_examples: int = 1024, num_inputs: int = 20, num_classes: int = 4,
                   seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Return a seeded classification set, the same on every process and machine.

    Args:
        num_examples, num_inputs, num_classes: the sizes; seed: the seed of the generator.

    Returns:
        Gaussian features ``(num_examples, num_inputs)`` and the labels ``(num_examples,)`` that a random
        linear teacher with noise assigns.
    """
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(num_examples, num_inputs, generator=g)
    teacher = torch.randn(num_inputs, num_classes, generator=g)
    y = (X @ teacher + 0.5 * torch.randn(num_examples, num_classes, generator=g)).argmax(dim=1)
    return X, y


def make_model(task: str, seed: int = 0) -> nn.Module:
    """Return the MLP of ``task`` (no dropout or batch norm, so that data parallelism changes nothing but
    the rounding), initialized after ``torch.manual_seed(seed)``.

    Args:
        task: ``"synthetic"`` (20-64-4) or ``"fashion_mnist"`` (784-256-10); seed: the seed.

    Raises:
        ValueError: an unknown training task.
    """
    sizes = {"synthetic": (20, 64, 4), "fashion_mnist": (784, 256, 10)}
    if task not in sizes:
        raise ValueError(f"no model for task {task!r}; the training tasks are {tuple(sizes)}")
    torch.manual_seed(seed)
    d_in, d_hidden, d_out = sizes[task]
    return nn.Sequential(nn.Flatten(), nn.Linear(d_in, d_hidden), nn.ReLU(), nn.Linear(d_hidden, d_out))


def task_data(task: str, num_examples: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the training set ``(X, y)`` of ``task``.

    Args:
        task: ``"synthetic"`` (:func:`synthetic_data`) or ``"fashion_mnist"`` (the first training images,
            scaled to [0, 1], capped in quick mode); num_examples: how many (default 1,024 or all 60,000).

    Raises:
        ValueError: an unknown training task.
    """
    if task == "synthetic":
        return synthetic_data(num_examples or 1024)
    if task != "fashion_mnist":
        raise ValueError(f"no data for task {task!r}; the training tasks are ('synthetic', 'fashion_mnist')")
    from .config import examples
    from .data import read_fashion_mnist
    X, y = read_fashion_mnist(train=True)
    n = examples(min(num_examples or len(y), len(y)))
    return X[:n].float() / 255, y[:n]


def _timed_allreduce(state: dict[str, float], bucket):  # type: ignore[no-untyped-def]
    """A DDP comm hook: average a ``dist.GradBucket`` of gradients with a blocking all-reduce, time it,
    and return a completed future. (No annotations on ``bucket`` and the return value: DDP compares
    them with the real classes, and this module's annotations are strings.)"""
    start = time.perf_counter()
    buffer = bucket.buffer()
    dist.all_reduce(buffer)
    if buffer.is_cuda:  # NCCL works asynchronously on a CUDA stream: wait for it
        torch.cuda.synchronize(buffer.device)
    buffer.div_(dist.get_world_size())
    state["seconds"] += time.perf_counter() - start
    future: torch.futures.Future[torch.Tensor] = torch.futures.Future()
    future.set_result(buffer)
    return future


def train(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int, num_epochs: int, lr: float,
          info: DistInfo | None = None, seed: int = 0) -> DistResult:
    """Train ``model`` with minibatch SGD on the cross-entropy loss, data-parallel when
    ``info.world_size > 1``.

    Each rank computes the mean loss over its ``batch_size`` examples of a global minibatch (see
    :func:`shard`); DDP averages the gradients with a timed all-reduce, so every rank applies the update
    that one process would compute from the whole global minibatch of ``batch_size * world_size``.

    Args:
        model: the network, the same on every rank (e.g. :func:`make_model`); X, y: the whole training
            set, the same on every rank; batch_size: examples per rank and step; num_epochs, lr: epochs
            and learning rate; info: from :func:`init` (``None``: one process on the CPU); seed: the
            seed of the shuffle (:func:`shard`).

    Returns:
        A :class:`DistResult` (its parameters are the same on every rank).

    Raises:
        ValueError: a non-positive ``num_epochs`` or ``lr``, or ``X`` and ``y`` of different lengths.
    """
    if num_epochs < 1 or lr <= 0 or len(X) != len(y):
        raise ValueError(f"need num_epochs >= 1, lr > 0 and len(X) == len(y), got num_epochs={num_epochs}, "
                         f"lr={lr}, {len(X)} inputs and {len(y)} labels")
    info = info or DistInfo(0, 1, 0, torch.device("cpu"), None)
    model = model.to(info.device)
    X, y = X.to(info.device), y.to(info.device)
    comm = {"seconds": 0.0}
    net: nn.Module = model
    if info.world_size > 1:
        ids = [info.local_rank] if info.device.type == "cuda" else None
        net = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        net.register_comm_hook(comm, _timed_allreduce)
        dist.barrier()
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    losses, start = [], time.perf_counter()
    for epoch in range(num_epochs):
        for idx in shard(len(X), batch_size, info.rank, info.world_size, epoch, seed):
            idx = idx.to(info.device)
            loss = loss_fn(net(X[idx]), y[idx])  # the mean over this rank's examples
            optimizer.zero_grad()
            loss.backward()  # DDP averages the gradients over the ranks here
            optimizer.step()
            losses.append(loss.detach())
    if info.device.type == "cuda":
        torch.cuda.synchronize(info.device)
    seconds = time.perf_counter() - start
    step_losses = torch.stack(losses)
    if info.world_size > 1:  # the global mean loss of each step, gathered once at the end
        dist.all_reduce(step_losses)
        step_losses /= info.world_size
    params = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    steps = len(losses)
    return DistResult(params, step_losses.tolist(), steps * batch_size * info.world_size / seconds,
                      comm["seconds"], seconds - comm["seconds"], steps, info.world_size)


def time_all_reduce(sizes: list[int], info: DistInfo, repeats: int = 10) -> list[float]:
    """Return the median seconds of ``dist.all_reduce`` on a float32 tensor of each size.

    Args:
        sizes: tensor sizes in elements; info: from :func:`init`; repeats: timed calls per size (after
            one warm-up call), each started together on all ranks by a barrier.

    Raises:
        RuntimeError: no process group (run under torchrun with two or more processes).
    """
    if not dist.is_initialized():
        raise RuntimeError("time_all_reduce needs a process group: launch with torchrun --nproc_per_node 2")
    medians = []
    for n in sizes:
        x = torch.ones(n, device=info.device)
        dist.all_reduce(x)  # warm-up
        times = []
        for _ in range(repeats):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(x)
            if info.device.type == "cuda":
                torch.cuda.synchronize(info.device)
            times.append(time.perf_counter() - start)
        medians.append(sorted(times)[len(times) // 2])
    return medians


def main(argv: list[str] | None = None) -> None:
    """The command line: run the tasks on this process (under torchrun: on each) and let rank 0 save a
    dict to ``--out`` with :func:`torch.save` (load it with ``torch.load(path)``): ``world_size`` and
    ``backend``; ``sizes`` and ``seconds`` for ``allreduce``; for a training task, ``runs``, one
    :class:`DistResult` as a dict per ``--batch-size``. One launch can do ``allreduce`` and one training
    task, which pays torchrun's start-up (every process imports PyTorch) once.

    Args:
        argv: the arguments (default ``sys.argv[1:]``); ``--help`` lists them.

    Raises:
        SystemExit: bad arguments (argparse prints why).
    """
    p = argparse.ArgumentParser(prog="python -m d2lutils.distributed", description=__doc__.split("\n")[0])
    p.add_argument("--task", choices=TASKS, nargs="+", required=True, help="allreduce and/or a training task")
    p.add_argument("--out", required=True, help="file rank 0 writes the result to (torch.save)")
    p.add_argument("--backend", choices=BACKENDS, default=None, help="default: nccl if CUDA, else gloo")
    p.add_argument("--batch-size", type=int, nargs="+", default=[32],
                   help="examples per process and step; several values: one training run each")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--examples", type=int, default=None, help="training examples (default: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sizes", type=int, nargs="+", default=[2 ** k for k in range(8, 23, 2)],
                   help="tensor sizes in float32 elements for --task allreduce")
    args = p.parse_args(argv)
    if min(args.batch_size) < 1 or args.epochs < 1 or args.lr <= 0 or min(args.sizes) < 1:
        p.error("--batch-size, --epochs, --lr and --sizes must be positive")
    training = [t for t in dict.fromkeys(args.task) if t != "allreduce"]
    if len(training) > 1:
        p.error(f"at most one training task per launch, got {training}")
    torch.set_num_threads(1)  # one core per process: the processes share the machine's cores
    info = init(args.backend)
    try:
        result: dict[str, object] = {"world_size": info.world_size, "backend": info.backend}
        if "allreduce" in args.task:
            result.update(sizes=args.sizes, seconds=time_all_reduce(args.sizes, info))
        for task in training:
            X, y = task_data(task, args.examples)
            result["runs"] = [vars(train(make_model(task, args.seed), X, y, b, args.epochs, args.lr, info,
                                         args.seed)) for b in args.batch_size]
        if info.rank == 0:
            torch.save(result, args.out)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
