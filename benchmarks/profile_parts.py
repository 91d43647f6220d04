"""Where HYDRA's time goes: student, teacher encode/decode and each decoder layer.

For each model (default: the shipped HYDRA models and the registered ``hydra-lite-*``
configurations) and each thread count, times on CPU:

- the whole forward, next to the shipped MST++ of the same band count (speed ratio);
- the student, teacher encode and teacher decode, with the fast kernels and with the
  reference implementation (the oracle of the equivalence tests);
- each decoder layer (``from_latent``; every level = conv [+ fused upsampling] + activation
  + squeeze-excitation; the head) for both kernels.

Timing: models are timed *interleaved* in one process (A, B, A, B, ...) and the fastest
of ``--reps`` runs is kept. With one thread the clock is the thread's CPU time
(``time.thread_time``), which ignores time spent waiting for a core on a shared machine;
with more threads it is wall time. Input ``1 x 3 x --size x --size``, float32,
``torch.inference_mode()``.

Usage
-----
    python benchmarks/profile_parts.py --threads 1 2 --out benchmarks/results/profile_parts.md
    python benchmarks/profile_parts.py --threads 1 --ratios-only --reps 21   # ratios only

Examples
--------
>>> rows = part_times("hydra-tiny-31", size=16, reps=1)
>>> {"student", "decode fast", "decode reference"} <= set(rows)
True
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from specrecon.models import create_model, list_models, load_model
from specrecon.models import teacher_kernels as tk
from specrecon.models.pretrained import list_pretrained

Fn = Callable[[], Any]


def _clock() -> Callable[[], float]:
    return time.thread_time if torch.get_num_threads() == 1 else time.perf_counter


def interleaved(fns: dict[str, Fn], reps: int,
                faults: dict[str, int] | None = None) -> dict[str, float]:
    """Fastest time (ms) of each function, timed in turn ``reps`` times.

    Each timed call follows an untimed call of the same function. Without it a function
    timed right after another pays for that one's memory traffic: a HYDRA forward timed
    after an MST++ forward took 38-42 ms against 30 ms after a HYDRA forward (page faults of
    re-allocated buffers, counted in the thread's CPU time), which made the speed ratio
    depend on the order of the pair. The steady state is what a pipeline that runs one
    model over many tiles sees.

    ``faults``, if given, receives each function's fewest minor page faults in a timed call,
    counted in the calling thread (with one torch thread, where all the work runs): memory the
    allocator handed back to the system and has to fault in again (glibc's default trims
    freed heap memory above a threshold), which the thread's CPU time counts.
    """
    clock = _clock()
    with torch.inference_mode():
        for fn in fns.values():
            fn()
        best = {k: float("inf") for k in fns}
        fewest = {k: sys.maxsize for k in fns}
        for _ in range(reps):
            for name, fn in fns.items():
                fn()
                f0 = _minor_faults()
                t0 = clock()
                fn()
                best[name] = min(best[name], clock() - t0)
                fewest[name] = min(fewest[name], _minor_faults() - f0)
    if faults is not None:
        faults.update(fewest)
    return {k: v * 1e3 for k, v in best.items()}


def _minor_faults() -> int:
    """Minor page faults so far of the calling thread (Linux; elsewhere of the process, and 0
    where ``resource`` is unavailable), so other threads' allocations are not counted."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return 0
    who = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)
    return int(resource.getrusage(who).ru_minflt)


def _model(name: str) -> torch.nn.Module:
    return (load_model(name) if name in list_pretrained() else create_model(name)).eval()


def _decoder_layers(teacher: Any, pixels: int) -> dict[str, Fn]:
    """One callable per decoder layer for both kernels, on random inputs of the right shape."""
    fns: dict[str, Fn] = {}
    lengths = teacher._lengths
    z = torch.randn(teacher.latent, pixels)
    fns["from_latent"] = lambda: F.gelu(teacher.from_latent(z.t()))
    plan = tk._decoder_plan(teacher, False)
    c_in, m = teacher.channels[-1], lengths[-1]
    targets = [*plan.lengths, lengths[0]]
    convs = [*plan.convs, plan.head]
    modules = [*teacher.decoder, None]
    for i, (conv, level) in enumerate(zip(convs, modules)):
        out_len = targets[i]
        x_fast = torch.randn(c_in, m, pixels)
        x_ref = x_fast.permute(2, 0, 1).contiguous()
        label = f"level {i}" if level is not None else "head"
        up = f" (x2 up to {out_len})" if conv.up else ""

        def fast(conv: Any = conv, x: torch.Tensor = x_fast, i: int = i,
                 out_len: int = out_len, level: Any = level) -> Any:
            y = tk._run(conv, x, out_len, False)
            if level is None:
                return y
            y = level.act(y)
            return tk.squeeze_excite(y, level.se.fc1, level.se.fc2)

        def ref(x: torch.Tensor = x_ref, level: Any = level, out_len: int = out_len,
                up: bool = conv.up) -> Any:
            if up:
                x = torch.repeat_interleave(x, 2, dim=-1)[..., :out_len]
            return level(x) if level is not None else teacher.head(x)

        fns[f"{label}{up} fast"] = fast
        fns[f"{label}{up} reference"] = ref
        c_in, m = conv.c_out, out_len
    return fns


def part_times(name: str, *, size: int = 128, reps: int = 5) -> dict[str, float]:
    """Times (ms) of a HYDRA model's parts for both kernels (see the module notes)."""
    model: Any = _model(name)
    rgb = torch.rand(1, 3, size, size)
    with torch.inference_mode():
        z = model.student(rgb)
        cube = model(rgb)
    t = model.teacher
    fns: dict[str, Fn] = {
        "forward fast": lambda: model(rgb),
        "student": lambda: model.student(rgb),
        "student reference": lambda: model.student(rgb, kernel="reference"),
        "decode fast": lambda: t.decode(z),
        "decode reference": lambda: t.decode(z, kernel="reference"),
        "encode fast": lambda: t.encode(cube),
        "encode reference": lambda: t.encode(cube, kernel="reference"),
    }
    fns.update(_decoder_layers(t, size * size))
    return interleaved(fns, reps)


def ratio_rows(pairs: list[tuple[str, str]], *, size: int, reps: int) -> list[dict[str, Any]]:
    """HYDRA vs MST++ forward times, each pair timed interleaved."""
    rows = []
    rgb = torch.rand(1, 3, size, size)
    for hydra, mst in pairs:
        mh, mm = _model(hydra), _model(mst)
        faults: dict[str, int] = {}
        times = interleaved({"h": lambda mh=mh: mh(rgb), "m": lambda mm=mm: mm(rgb)}, reps,
                            faults)
        rows.append({"hydra": hydra, "mst": mst, "bands": mh.bands, "hydra_ms": times["h"],
                     "mst_ms": times["m"], "speed": times["m"] / times["h"],
                     "hydra_faults": faults["h"], "mst_faults": faults["m"]})
    return rows


def _default_models() -> list[str]:
    names = [n for n in list_pretrained() if n.startswith("hydra")]
    return names + [n for n in list_models("hydra") if n.startswith("hydra-lite")]


def _mst_for(bands: int) -> str:
    shipped = [n for n in list_pretrained() if n.startswith("mstpp")]
    for n in shipped:
        if load_model(n).bands == bands:
            return n
    return f"mst-plus-plus-small-{bands}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="*", default=None)
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--wide", action="store_true",
                        help="also time the width-follows-bands MST++ (slow)")
    parser.add_argument("--ratios-only", action="store_true",
                        help="only the forward-speed table (seconds instead of minutes: for "
                             "repeated runs, e.g. old and new code alternating)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    names = args.models or _default_models()
    lines = ["# HYDRA: where the time goes (CPU)", "",
             f"Command: `python benchmarks/profile_parts.py {' '.join(sys.argv[1:])}`  ",
             f"Machine: {platform.machine()}, torch {torch.__version__}; input 1 x 3 x "
             f"{args.size} x {args.size}, float32, inference mode; fastest of {args.reps} "
             "interleaved runs; 1 thread: thread CPU time, 2 threads: wall time.", ""]
    for threads in args.threads:
        torch.set_num_threads(threads)
        lines += [f"## {threads} thread(s)", "", "### Forward speed vs MST++ (same process)", "",
                  "| HYDRA | MST++ | bands | HYDRA ms | MST++ ms | HYDRA speed / MST++ "
                  "| page faults HYDRA / MST++ |",
                  "|---|---|---|---|---|---|---|"]
        pairs = [(n, _mst_for(_model(n).bands)) for n in names]
        if args.wide:
            pairs += [(n, f"mst-plus-plus-wide-{_model(n).bands}") for n in names
                      if _model(n).bands in (202, 204)]
        for r in ratio_rows(pairs, size=args.size, reps=args.reps):
            lines.append(f"| {r['hydra']} | {r['mst']} | {r['bands']} | {r['hydra_ms']:.1f} | "
                         f"{r['mst_ms']:.1f} | {r['speed']:.2f}x | "
                         f"{r['hydra_faults']} / {r['mst_faults']} |")
        lines.append("")
        for name in [] if args.ratios_only else names:
            parts = part_times(name, size=args.size, reps=args.reps)
            lines += [f"### {name}", "", "| part | fast ms | reference ms | speed-up |",
                      "|---|---|---|---|"]
            keys = ["student", "encode", "decode"] + sorted(
                {k.rsplit(" ", 1)[0] for k in parts if k.startswith(("level", "head"))},
                key=lambda k: (k.startswith("head"), k))
            for key in keys:
                fast = parts.get(f"{key} fast", parts.get(key))
                ref = parts.get(f"{key} reference")
                if fast is None or ref is None:
                    continue
                lines.append(f"| {key} | {fast:.2f} | {ref:.2f} | {ref / fast:.1f}x |")
            lines.append(f"| from_latent (shared) | {parts['from_latent']:.2f} | | |")
            lines.append(f"| **forward (fast)** | {parts['forward fast']:.1f} | | |")
            lines.append("")
    text = "\n".join(lines)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
