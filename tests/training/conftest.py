"""Fixtures for the training tests: small, learnable (rgb, cube) scenes built in numpy."""

from __future__ import annotations

import numpy as np
import pytest


def make_scenes(n: int, size: int = 32, bands: int = 31,
                seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Scenes whose spectra mix three smooth endmembers and whose RGB is a fixed projection.

    The mapping RGB -> cube is (nearly) linear per pixel, so a model can learn it in a
    few dozen steps: losses must drop clearly.
    """
    rng = np.random.default_rng(seed)
    wl = np.linspace(0.0, 1.0, bands)
    ends = np.stack([0.2 + 0.6 * wl, 0.7 - 0.5 * wl, 0.3 + 0.3 * np.exp(-((wl - 0.5) / 0.15) ** 2)])
    resp = np.stack([np.exp(-((wl - c) / 0.12) ** 2) for c in (0.8, 0.5, 0.2)])
    resp /= resp.sum(axis=1, keepdims=True)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = []
    for _ in range(n):
        f = rng.uniform(1, 4, size=(3, 2))
        ph = rng.uniform(0, 6.3, size=(3, 2))
        ab = np.stack([1.2 + np.sin(f[k, 0] * 6 * yy + ph[k, 0])
                       * np.cos(f[k, 1] * 6 * xx + ph[k, 1]) for k in range(3)])
        ab = ab / ab.sum(axis=0, keepdims=True)
        cube = np.einsum("kb,kyx->byx", ends, ab).astype("float32")
        rgb = np.einsum("cb,byx->cyx", resp, cube).astype("float32")
        out.append((rgb, cube))
    return out


@pytest.fixture(scope="session")
def scenes() -> list[tuple[np.ndarray, np.ndarray]]:
    return make_scenes(4, 32, seed=0)


@pytest.fixture(scope="session")
def val_scenes() -> list[tuple[np.ndarray, np.ndarray]]:
    return make_scenes(1, 32, seed=99)
