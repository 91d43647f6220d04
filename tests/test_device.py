"""CPU thread policy of specrecon.device: dask threads share the cores with torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import dask
import pytest
import torch
from dask.system import CPU_COUNT

from specrecon.device import cpu_threads, task_threads

# a threaded dask compute whose model records torch's threads in each forward pass, in a
# process with torch's default thread count (the suite itself pins OMP_NUM_THREADS=1)
SCRIPT = """
import json, threading, dask, numpy as np, torch
from specrecon.cube import make_rgb
from specrecon.inference import reconstruct
seen, default = [], torch.get_num_threads()
class Rec(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 31, 1)
    def forward(self, x):
        seen.append(torch.get_num_threads())
        return self.conv(x)
rgb = make_rgb(np.random.default_rng(0).random((3, 96, 96), dtype="float32"))
cube = reconstruct(rgb.chunk({"y": 48, "x": 48}), Rec(), tile_size=32, overlap=8,
                   device="cpu", wavelengths=np.arange(400.0, 710.0, 10.0))
seen.clear()
with dask.config.set(scheduler="threads", num_workers=2):
    cube.compute()
print(json.dumps({"seen": sorted(set(seen)), "default": default,
                  "main": torch.get_num_threads()}))
"""


@pytest.mark.skipif(CPU_COUNT < 2, reason="needs 2 cores to share")
def test_forward_passes_in_dask_threads_share_the_cores() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    rec = json.loads(done.stdout.strip().splitlines()[-1])
    assert rec["seen"] == [CPU_COUNT // 2]           # 2 dask threads x torch threads = cores
    assert rec["main"] == rec["default"]             # the caller's own setting untouched


def test_cpu_threads_lowers_the_calling_threads_setting_and_restores_it() -> None:
    out: dict[str, object] = {}

    def run() -> None:
        torch.set_num_threads(2)
        with dask.config.set(num_workers=2):
            out["task"] = task_threads()
        with cpu_threads(1):
            out["inside"] = torch.get_num_threads()
        with cpu_threads(8):                          # never raised above the setting
            out["capped"] = torch.get_num_threads()
        out["after"] = torch.get_num_threads()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert out == {"task": max(1, CPU_COUNT // 2), "inside": 1, "capped": 2, "after": 2}
    assert task_threads() is None                     # main thread: torch's own setting
