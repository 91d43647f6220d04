"""Cost of every registered model: parameters, FLOPs per megapixel, latency.

Conventions
-----------
- FLOPs are counted with ``torch.utils.flop_counter.FlopCounterMode`` on one forward
  pass of a ``1 x 3 x S x S`` input (``--flop-size``, default 64) and scaled to one
  megapixel. FlopCounterMode counts matrix multiplications and convolutions only
  (element-wise ops, softmax and norms are not counted) and reports
  **FLOPs = 2 x multiply-accumulates**. Papers quoting fvcore "GFLOPS" report MACs:
  divide our numbers by 2 to compare. The attention of both families is over
  channels, so its cost is linear in the pixel count and the per-megapixel number
  does not depend on the input size (apart from padding to a multiple of 8).
- For HYDRA the count includes the student and the teacher decoder (what inference
  runs), as in the paper.
- Latency: the fastest of ``--reps`` forward passes (after one warm-up) at
  ``1 x 3 x --size x --size`` in ``torch.inference_mode()``, float32, CPU with
  ``torch.set_num_threads(--threads)``. With one thread (the default) the clock is
  the thread's CPU time (``time.thread_time``), which does not count the time the
  process waits for a core on a shared machine; with more threads it is wall time.
  On CUDA when available (synchronised wall time).

Usage
-----
    OMP_NUM_THREADS=1 python benchmarks/model_cost.py --threads 1 > benchmarks/results/model_cost.md

Examples
--------
>>> rows = measure(["hydra-tiny-31"], size=16, flop_size=16, reps=1, cuda=False)
>>> rows[0]["params"] > 0
True
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from specrecon.models import create_model, list_models


def _latency(model: torch.nn.Module, x: torch.Tensor, reps: int, cuda: bool) -> float:
    clock = time.thread_time if (not cuda and torch.get_num_threads() == 1) else time.perf_counter
    times = []
    with torch.inference_mode():
        model(x)  # warm-up
        for _ in range(reps):
            if cuda:
                torch.cuda.synchronize()
            t0 = clock()
            model(x)
            if cuda:
                torch.cuda.synchronize()
            times.append(clock() - t0)
    return min(times) * 1e3


def measure(names: list[str], *, size: int = 128, flop_size: int = 64, reps: int = 3,
            cuda: bool | None = None) -> list[dict[str, Any]]:
    """Parameters, GFLOPs/Mpx and latency (ms) for each model name."""
    cuda = torch.cuda.is_available() if cuda is None else cuda
    rows = []
    for name in names:
        model = create_model(name).eval()
        params = sum(p.numel() for p in model.parameters())
        x = torch.rand(1, 3, flop_size, flop_size)
        with FlopCounterMode(display=False) as counter, torch.inference_mode():
            model(x)
        gflops_mpx = counter.get_total_flops() / (flop_size * flop_size) * 1e6 / 1e9
        xs = torch.rand(1, 3, size, size)
        row = {"name": name, "family": model.family, "bands": model.bands, "params": params,
               "mb": params * 4 / 2 ** 20, "gflops_mpx": gflops_mpx,
               "cpu_ms": _latency(model, xs, reps, False)}
        if cuda:
            row["gpu_ms"] = _latency(model.cuda(), xs.cuda(), max(reps, 10), True)
        rows.append(row)
    return rows


def to_markdown(rows: list[dict[str, Any]], size: int) -> str:
    """Render the rows as a markdown table."""
    gpu = any("gpu_ms" in r for r in rows)
    head = ("| model | family | bands | params | MB (fp32) | GFLOPs / Mpx | "
            f"CPU ms @ {size}x{size} |" + (f" GPU ms @ {size}x{size} |" if gpu else ""))
    lines = [head, "|" + "---|" * (7 + gpu)]
    for r in rows:
        line = (f"| {r['name']} | {r['family']} | {r['bands']} | {r['params']:,} | "
                f"{r['mb']:.2f} | {r['gflops_mpx']:.1f} | {r['cpu_ms']:.1f} |")
        if gpu:
            line += f" {r.get('gpu_ms', float('nan')):.2f} |"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="*", default=None, help="default: all registered")
    parser.add_argument("--families", nargs="*", default=None,
                        help="only models of these families (e.g. ccnet mcga)")
    parser.add_argument("--size", type=int, default=128, help="latency input side")
    parser.add_argument("--flop-size", type=int, default=64, help="FLOP-count input side")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-cuda", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    names = args.models or [n for f in (args.families or [None]) for n in list_models(f)]
    rows = measure(names, size=args.size, flop_size=args.flop_size, reps=args.reps,
                   cuda=False if args.no_cuda else None)
    print("# Model cost\n")
    print(f"Command: `{' '.join(['python', *sys.argv])}`  ")
    print(f"Machine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPU cores visible, torch.set_num_threads({args.threads}), "
          f"torch {torch.__version__}"
          + (f", GPU {torch.cuda.get_device_name()}" if any('gpu_ms' in r for r in rows)
             else ", no GPU") + "  ")
    print("FLOPs = 2 x MACs (torch FlopCounterMode: matmul/conv only), counted at "
          f"1x3x{args.flop_size}x{args.flop_size} and scaled to 1 Mpx; latency = fastest of "
          f"{args.reps} forward passes after a warm-up (thread CPU time with one thread, "
          "else wall time), float32, inference mode.\n")
    print(to_markdown(rows, args.size))


if __name__ == "__main__":
    main()
