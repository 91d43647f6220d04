"""Smoke tests of benchmarks/pipeline_throughput.py and pipeline_memory.py (plumbing and record
format, no timings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_pipeline_benchmark_writes_a_record(tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    work = tmp_path / "work"
    work.mkdir()
    cmd = [sys.executable, str(REPO / "benchmarks" / "pipeline_throughput.py"), "--size", "64",
           "--chunk", "32", "--raw-batches", "1", "--repeats", "2", "--sync", "--dir", str(work), "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=REPO,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    rec = json.loads(out.read_text().splitlines()[-1])
    assert rec["size"] == 64 and rec["grid_tiles"] > 0
    assert rec["tiles_run"] >= rec["grid_tiles"]
    assert len(rec["rounds"]) == 2                                # one record per round
    assert rec["efficiency_threaded"] in [r["efficiency"] for r in rec["rounds"]]
    for key in ("efficiency_threaded", "efficiency_sync", "threaded_model_share",
                "raw_s_per_tile_streams"):
        assert rec[key] > 0
    assert rec["dir"] == str(work) and not any(work.iterdir())    # stores removed


def test_pipeline_memory_writes_a_record(tmp_path: Path) -> None:
    out, work = tmp_path / "m.jsonl", tmp_path / "work"
    work.mkdir()
    # chunks of the default model's tile size (128 px), so the plan keeps them
    cmd = [sys.executable, str(REPO / "benchmarks" / "pipeline_memory.py"), "--size", "256",
           "--chunk", "128", "--batch", "3", "--dir", str(work), "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=REPO,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    rec = json.loads(out.read_text().splitlines()[-1])
    assert rec["size"] == 256 and rec["bands"] > 3 and rec["cube_chunks"] == [128, 128]
    assert rec["batch"] == 3
    assert rec["peak_gib"] >= rec["rss_before_gib"] > 0
    assert not any(work.iterdir())                                # GeoTIFF and store removed
