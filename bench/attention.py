"""Benchmark: the book's attention (``d2l.DotProductAttention``) against PyTorch's fused kernel, in one run.

(a) baseline: ``torch.nn.functional.scaled_dot_product_attention`` (SDPA), which picks a fused kernel
    (FlashAttention-style on CPU and CUDA, memory-efficient attention on CUDA) when the inputs allow it;
(b) the book's ``d2l.DotProductAttention`` (section 12.3): ``Q K^T / sqrt(d)``, ``d2l.masked_softmax``,
    a second product with ``V``, every intermediate a full ``(batch, heads, n, n)`` tensor.

For each sequence length ``n`` both compute the same forward and backward pass of self-attention on
``(batch, heads, n, head_dim)`` inputs, without a mask and with a causal mask (``is_causal=True`` for SDPA,
``valid_lens[:, q] = q + 1`` for the book's). Printed per row: milliseconds per forward+backward step
(median of ``--repeats`` after one warm-up, device synchronised), the bytes of the tensors autograd saves
for the backward pass (counted with ``torch.autograd.graph.saved_tensors_hooks``: the activation memory
that attention adds to a model, exact on every device), on CUDA also the peak allocated memory, and the
ratios (b)/(a) of time and of saved bytes. The outputs of (a) and (b) are checked equal (fp32, 1e-4) first.
Usage:  python bench/attention.py [--lengths 128 256 512 1024 2048] [--batch 4] [--heads 4] [--dim 64]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

import d2lutils as d2l


def book(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, causal: bool) -> torch.Tensor:
    """(b): the book's scaled dot-product attention; the causal mask as one valid length per query."""
    lens = None
    if causal:
        n = Q.shape[-2]
        lens = torch.arange(1, n + 1, device=Q.device).expand(Q.shape[0], n)
    return d2l.DotProductAttention()(Q, K, V, lens)


def sdpa(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, causal: bool) -> torch.Tensor:
    """(a): PyTorch's fused scaled dot-product attention."""
    return F.scaled_dot_product_attention(Q, K, V, is_causal=causal)


def inputs(n: int, args: argparse.Namespace, device: torch.device) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(n)
    shape = (args.batch, args.heads, n, args.dim)
    return [torch.randn(shape, generator=g).to(device).requires_grad_() for _ in range(3)]


def saved_bytes(fn, Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, causal: bool) -> int:
    """Bytes of the tensors autograd keeps for the backward pass of ``fn``; inputs not counted, and a tensor
    that several operations save (e.g. the softmax output, saved by softmax and by the product with V) once."""
    seen = {t.untyped_storage().data_ptr() for t in (Q, K, V)}    # views of the inputs cost nothing
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        storage = t.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            total += storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(Q, K, V, causal)
    return total


def step_ms(fn, Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, causal: bool, repeats: int,
            device: torch.device) -> tuple[float, float]:
    """Median milliseconds of forward + backward, and the peak allocated MiB on CUDA (nan elsewhere)."""
    grad = torch.ones_like(Q)
    times = []
    peak = float("nan")
    for i in range(repeats + 1):
        for t in (Q, K, V):
            t.grad = None
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            base = torch.cuda.memory_allocated(device)
        d2l.synchronize(device)
        start = time.perf_counter()
        fn(Q, K, V, causal).backward(grad)
        d2l.synchronize(device)
        if i:                                                       # the first call warms up
            times.append((time.perf_counter() - start) * 1e3)
        if device.type == "cuda":
            peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20
    return statistics.median(times), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 256, 512, 1024, 2048])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = d2l.try_gpu()
    print(f"device: {d2l.device_name(device)}; torch {torch.__version__}; {torch.get_num_threads()} threads; "
          f"batch {args.batch}, {args.heads} heads, head_dim {args.dim}, fp32, forward + backward")
    print(f"{'mask':>6} {'n':>5} | {'(a) SDPA ms':>11} {'saved MiB':>9} {'peak':>7} | "
          f"{'(b) book ms':>11} {'saved MiB':>9} {'peak':>7} | {'time b/a':>8} {'saved b/a':>9}")
    for causal in (False, True):
        for n in args.lengths:
            Q, K, V = inputs(n, args, device)
            with torch.no_grad():
                torch.testing.assert_close(book(Q, K, V, causal), sdpa(Q, K, V, causal), rtol=1e-4, atol=1e-4)
            row = []
            for fn in (sdpa, book):
                ms, peak = step_ms(fn, Q, K, V, causal, args.repeats, device)
                row.append((ms, saved_bytes(fn, Q, K, V, causal) / 2**20, peak))
            (ta, sa, pa), (tb, sb, pb) = row
            print(f"{'causal' if causal else 'none':>6} {n:>5} | {ta:>11.2f} {sa:>9.1f} {pa:>7.1f} | "
                  f"{tb:>11.2f} {sb:>9.1f} {pb:>7.1f} | {tb / ta:>7.2f}x {sb / max(sa, 1e-9):>8.1f}x"
                  .replace(" nan", "   -"))


if __name__ == "__main__":
    main()
