"""Smoke tests of the benchmark scripts (plumbing and report format, never timings)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
MODES = ("fp32-eager", "bf16-eager", "bf16-compiled", "fp32-compiled")


def _benchmark(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_gpu_throughput_quick_writes_a_row_per_mode(tmp_path: Path) -> None:
    """``--quick`` on a tiny registry pair writes one table row per model and mode.

    The compiled modes use the ``eager`` dynamo backend: it goes through
    ``torch.compile`` (graph capture, autocast inside the compiled call) without the
    minutes of C++ compilation inductor needs on a CPU.
    """
    out = tmp_path / "throughput.md"
    cmd = [sys.executable, str(REPO / "benchmarks" / "gpu_throughput.py"), "--quick",
           "--device", "cpu", "--no-shipped", "--models", "hydra-tiny-31",
           "mst-plus-plus-tiny-31", "--compile-backend", "eager", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                          cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    text = out.read_text()
    assert "--quick" in text.splitlines()[2]  # the command is recorded at the top
    assert "CPU numbers" in text
    for model in ("hydra-tiny-31", "mst-plus-plus-tiny-31"):
        for mode in MODES:
            rows = [ln for ln in text.splitlines()
                    if ln.startswith(f"| {model} |") and f"| {mode} |" in ln]
            assert len(rows) == 1, (model, mode)
            assert rows[0].rstrip().endswith("| ok |"), rows[0]
    ratio = [ln for ln in text.splitlines() if ln.startswith("| 31 | hydra-tiny-31 |")]
    assert len(ratio) == 1 and len(re.findall(r"\| \d+\.\d+x ", ratio[0])) == len(MODES)
    records = [json.loads(ln) for ln in out.with_suffix(".jsonl").read_text().splitlines()]
    assert sorted((r["model"], r["mode"]) for r in records) == sorted(
        (m, mode) for m in ("hydra-tiny-31", "mst-plus-plus-tiny-31") for mode in MODES)
    assert all(r["status"] == "ok" and r["mpx_s"] > 0 for r in records)


def test_tile_invariance_compares_the_card_grid_with_the_whole_image(tmp_path: Path) -> None:
    """A card tile as large as the scene is the whole image (0 % apart), below 128 px
    the target reads "not met", and an extra tile size gets its own row."""
    import numpy as np
    import torch

    from specrecon.models import ModelCard, create_model, save_model

    torch.manual_seed(0)
    model = create_model("hydra-tiny-31")
    card = ModelCard.from_model(
        model, wavelengths=np.arange(400.0, 701.0, 10.0).tolist(), fwhm=[10.0] * 31,
        input_sensor="nikon_d5100", tile_size=32, tile_overlap=8,
        training={"recipe": {"data": {"kind": "synthetic-natural"}}})
    weights = tmp_path / "tiny.safetensors"
    save_model(model, weights, card)
    mod = _benchmark("tile_invariance")
    out = tmp_path / "tiles.md"
    mod.main(["--models", str(weights), "--size", "32", "--n", "1", "--tile-sizes", "16",
              "--out", str(out)])
    lines = out.read_text().splitlines()
    assert "--tile-sizes 16" in lines[2]
    rows = {ln.split("|")[2].strip(): ln.split("|") for ln in lines if ln.startswith(f"| {weights}")}
    assert set(rows) == {"32 px (card)", "16 px", "whole image"}
    assert rows["32 px (card)"][3] == rows["whole image"][3]
    assert rows["32 px (card)"][5].strip() == "+0.0 %"
    assert rows["32 px (card)"][6].strip() == "not met"
    assert rows["16 px"][3] != rows["whole image"][3]


def test_profile_parts_times_each_call_after_a_warm_call_of_the_same_function() -> None:
    """The interleaved timing of profile_parts runs every function once untimed right before
    each timed call, so no function is timed right after another one (whose memory traffic
    it would pay for)."""
    mod = _benchmark("profile_parts")
    calls: list[str] = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    times = mod.interleaved(fns, reps=4)
    assert set(times) == {"a", "b", "c"} and all(t >= 0.0 for t in times.values())
    timed_loop = calls[3:]                      # after one warm-up call of each
    assert timed_loop == ["a", "a", "b", "b", "c", "c"] * 4


def test_profile_parts_counts_the_page_faults_of_a_timed_call() -> None:
    """Memory freshly mapped on every call shows as minor page faults; a call that allocates
    nothing has none (its fewest over the repetitions)."""
    import mmap

    import numpy as np

    pytest.importorskip("resource")
    mod = _benchmark("profile_parts")

    def fresh() -> None:  # a new anonymous mapping, every page written once
        with mmap.mmap(-1, 64 * 2 ** 20) as m:
            pages = np.frombuffer(m, dtype=np.uint8)
            pages[::4096] = 1
            del pages

    faults: dict[str, int] = {}
    fns = {"fresh": fresh, "none": lambda: None}
    mod.interleaved(fns, reps=3, faults=faults)
    assert faults["fresh"] > 10  # fewer than 4 KiB pages: huge pages and fault-around
    assert faults["none"] == 0


def test_profile_parts_ratios_only_writes_just_the_speed_table(tmp_path: Path) -> None:
    """``--ratios-only`` (the repeated old-vs-new runs of the records) times the forward pair
    and writes its row, without the per-part tables."""
    mod = _benchmark("profile_parts")
    out = tmp_path / "ratios.md"
    mod.main(["--threads", "1", "--models", "hydra-tiny-31", "--size", "16", "--reps", "1",
              "--ratios-only", "--out", str(out)])
    text = out.read_text()
    rows = [ln for ln in text.splitlines() if ln.startswith("| hydra-tiny-31 |")]
    assert len(rows) == 1 and rows[0].split("|")[6].strip().endswith("x")
    assert "### hydra-tiny-31" not in text and "| student |" not in text
