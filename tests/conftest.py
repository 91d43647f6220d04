"""Shared fixtures: keep tests fast, deterministic and offline."""

from __future__ import annotations

import os

import pytest

# Tests run on 2-core CI machines: avoid oversubscription by torch/BLAS threads.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Figures off-screen, chosen through the environment (as CI's MPLBACKEND=Agg): the tutorial
# notebooks never pick a backend themselves, so Jupyter shows their figures inline.
os.environ.setdefault("MPLBACKEND", "Agg")


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _cuda_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device (none found)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture(autouse=True)
def _seed_torch() -> None:
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)
