"""PairedPatchDataset / CubeSpectraDataset: alignment, augmentation, determinism, errors."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch

from specrecon.cube import make_cube, make_rgb
from specrecon.datasets.patches import CubeSpectraDataset, PairedPatchDataset
from specrecon.errors import ConfigError, CoordinateError, SpatialDimensionError

WL = np.arange(400, 701, 10.0)


def _pair(h: int = 24, w: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cube = rng.random((31, h, w), dtype="float32")
    return cube[[25, 15, 5]].copy(), cube


def _locate(patch: np.ndarray, full: np.ndarray) -> list[tuple[int, int, int, bool]]:
    """All (y0, x0, k, flip) whose window of ``full`` transformed gives ``patch``."""
    p = patch.shape[-1]
    hits = []
    for y0 in range(full.shape[1] - p + 1):
        for x0 in range(full.shape[2] - p + 1):
            win = full[:, y0:y0 + p, x0:x0 + p]
            for k in range(4):
                for flip in (False, True):
                    t = np.rot90(win, k, axes=(1, 2))
                    if flip:
                        t = t[:, :, ::-1]
                    if np.array_equal(t, patch):
                        hits.append((y0, x0, k, flip))
    return hits


def test_shapes_dtypes_and_length():
    ds = PairedPatchDataset([_pair(), _pair(seed=1)], patch_size=8, patches_per_item=3)
    assert len(ds) == 6
    rgb, cube = ds[5]
    assert rgb.shape == (3, 8, 8) and cube.shape == (31, 8, 8)
    assert rgb.dtype == torch.float32 and cube.dtype == torch.float32
    assert rgb.is_contiguous() and cube.is_contiguous()


def test_patches_are_aligned_windows_with_shared_augmentation():
    rgb_full, cube_full = _pair()
    ds = PairedPatchDataset([(rgb_full, cube_full)], patch_size=8, patches_per_item=16)
    transforms = set()
    for i in range(len(ds)):
        rgb, cube = (t.numpy() for t in ds[i])
        hits = _locate(cube, cube_full)
        assert len(hits) == 1  # random data: the window is unique
        # RGB is the same window, same transform
        assert np.array_equal(rgb, cube[[25, 15, 5]])
        transforms.add(hits[0][2:])
    assert len(transforms) > 2  # augmentation actually varies


def test_no_augment_gives_plain_windows():
    rgb_full, cube_full = _pair()
    ds = PairedPatchDataset([(rgb_full, cube_full)], patch_size=8, augment=False)
    for i in range(len(ds)):
        _, cube = ds[i]
        _, _, k, flip = _locate(cube.numpy(), cube_full)[0]
        assert (k, flip) == (0, False)


def test_brightness_range_scales_rgb_and_cube_alike():
    rgb_full, cube_full = _pair()
    before = cube_full.copy()
    plain = PairedPatchDataset([(rgb_full, cube_full)], patch_size=8, patches_per_item=12,
                               augment=False)
    bright = PairedPatchDataset([(rgb_full, cube_full)], patch_size=8, patches_per_item=12,
                                augment=False, brightness_range=(0.5, 2.0))
    gains = []
    for i in range(len(bright)):
        rgb, cube = (t.numpy() for t in bright[i])
        # the pair stays consistent: the RGB is the same bands of the scaled cube
        np.testing.assert_allclose(rgb, cube[[25, 15, 5]], rtol=1e-6)
        y0, x0, _, _ = _locate(plain[i][1].numpy(), cube_full)[0]   # same window as unscaled
        g = cube / cube_full[:, y0:y0 + 8, x0:x0 + 8]
        np.testing.assert_allclose(g, g.flat[0], rtol=1e-5)        # one factor per patch
        gains.append(float(g.flat[0]))
    assert 0.5 <= min(gains) and max(gains) <= 2.0 and max(gains) - min(gains) > 0.3
    assert np.array_equal(cube_full, before)                        # the source is untouched
    for bad in [(0.0, 1.0), (1.2, 0.8), (1.0,), "bright"]:
        with pytest.raises(ConfigError, match="brightness_range"):
            PairedPatchDataset([(rgb_full, cube_full)], patch_size=8, brightness_range=bad)


def test_deterministic_per_seed_epoch_index():
    pairs = [_pair(), _pair(seed=1)]
    a = PairedPatchDataset(pairs, patch_size=8, seed=3)
    b = PairedPatchDataset(pairs, patch_size=8, seed=3)
    # access order must not matter (DataLoader workers / resume)
    backwards = {i: a[i][1] for i in reversed(range(len(a)))}
    first = [b[i][1] for i in range(len(b))]
    assert all(torch.equal(backwards[i], first[i]) for i in range(len(a)))
    a.set_epoch(1)
    second = [a[i][1] for i in range(len(a))]
    assert any(not torch.equal(x, y) for x, y in zip(first, second))
    b.set_epoch(1)
    assert all(torch.equal(b[i][1], second[i]) for i in range(len(b)))
    c = PairedPatchDataset(pairs, patch_size=8, seed=4)
    assert any(not torch.equal(c[i][1], first[i]) for i in range(len(c)))


def test_xarray_inputs_and_channel_order():
    rgb_np, cube_np = _pair()
    cube = make_cube(cube_np, WL).transpose("y", "x", "wavelength")  # any dim order
    rgb = make_rgb(rgb_np)
    ds = PairedPatchDataset([(rgb, cube)], patch_size=24, augment=False)
    r, c = ds[0]
    assert c.shape == (31, 24, 24)
    assert np.array_equal(r.numpy(), c.numpy()[[25, 15, 5]])


def test_patch_too_large_is_a_clear_error():
    ds = PairedPatchDataset([_pair(h=20, w=30)], patch_size=21)
    with pytest.raises(SpatialDimensionError, match=r"patch_size=21.*20x30.*patch_size <= 20"):
        ds[0]


def test_mismatched_rgb_cube_sizes_and_missing_rgb():
    rgb, cube = _pair()
    ds = PairedPatchDataset([(rgb[:, :10], cube)], patch_size=4)
    with pytest.raises(SpatialDimensionError, match="same grid"):
        ds[0]
    ds = PairedPatchDataset([(None, cube)], patch_size=4)
    with pytest.raises(ConfigError, match="simulate"):
        ds[0]
    with pytest.raises(ConfigError, match="patch_size"):
        PairedPatchDataset([(rgb, cube)], patch_size=0)
    with pytest.raises(ConfigError, match="sensor"):
        PairedPatchDataset([(rgb, cube)], simulate={"npe": 10})
    with pytest.raises(IndexError):
        PairedPatchDataset([(rgb, cube)], patch_size=4, patches_per_item=2)[2]


@pytest.fixture
def fake_spectral(monkeypatch):
    """A stand-in for specrecon.spectral.simulate_rgb that records its calls."""
    calls = []

    def simulate_rgb(cube, sensor, *, wavelengths, seed=None, **kw):
        calls.append({"sensor": sensor, "wavelengths": np.asarray(wavelengths), "seed": seed,
                      "kw": kw, "shape": cube.shape})
        noise = np.random.default_rng(seed).random(cube.shape[1:], dtype="float32")
        return np.stack([cube[20], cube[10], cube[2] + noise]).astype("float32")

    mod = types.ModuleType("specrecon.spectral")
    mod.simulate_rgb = simulate_rgb
    monkeypatch.setitem(sys.modules, "specrecon.spectral", mod)
    return calls


def test_simulate_passes_wavelengths_seed_and_kwargs(fake_spectral):
    _, cube_np = _pair()
    cube = make_cube(cube_np, WL)
    ds = PairedPatchDataset([(None, cube)], patch_size=8, patches_per_item=4,
                            simulate={"sensor": "cam", "npe": 750})
    rgb, c = ds[2]
    call = fake_spectral[-1]
    assert call["sensor"] == "cam" and call["kw"] == {"npe": 750}
    assert call["shape"] == (31, 8, 8)
    np.testing.assert_array_equal(call["wavelengths"], WL)
    assert np.array_equal(rgb.numpy()[:2], c.numpy()[[20, 10]])  # augmentation shared
    again, _ = ds[2]
    assert torch.equal(rgb, again)  # simulation seed fixed by (seed, epoch, index)
    seeds = {fake_spectral[i]["seed"] for i in range(len(fake_spectral))}
    ds[3]
    assert fake_spectral[-1]["seed"] not in seeds


def test_simulate_numpy_cube_needs_wavelengths(fake_spectral):
    _, cube = _pair()
    ds = PairedPatchDataset([(None, cube)], patch_size=8, simulate="cam")
    with pytest.raises(CoordinateError, match="wavelengths"):
        ds[0]
    ds = PairedPatchDataset([(None, cube)], patch_size=8, simulate="cam", wavelengths=WL)
    assert ds[0][0].shape == (3, 8, 8)


def test_lazy_pairs_are_loaded_once_per_run_of_indices():
    loads = []

    class Lazy:
        def __len__(self):
            return 2

        def __getitem__(self, i):
            loads.append(i)
            return _pair(seed=i)

    ds = PairedPatchDataset(Lazy(), patch_size=8, patches_per_item=4)
    for i in range(len(ds)):
        ds[i]
    assert loads == [0, 1]


def test_dataloader_with_workers_matches_serial():
    ds = PairedPatchDataset([_pair(), _pair(seed=1)], patch_size=8, patches_per_item=2, seed=5)
    serial = torch.stack([ds[i][1] for i in range(len(ds))])
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2)
    batched = torch.cat([b[1] for b in loader])
    assert torch.equal(serial, batched)


def test_cube_spectra_dataset():
    rng = np.random.default_rng(0)
    cube = rng.random((31, 6, 7), dtype="float32")
    cube[:, 0, 0] = np.nan
    ds = CubeSpectraDataset([(None, make_cube(cube, WL))], pixels_per_item=30, items_per_cube=2)
    assert len(ds) == 2
    s = ds[1].numpy()
    assert s.shape == (30, 31)
    assert np.isfinite(s).all()  # the NaN pixel is never drawn
    pixels = {tuple(v) for v in cube.reshape(31, -1).T}
    assert all(tuple(v) in pixels for v in s)
    assert len({tuple(v) for v in s}) == 30  # without replacement
    assert not torch.equal(ds[0], ds[1])
    assert torch.equal(ds[1], CubeSpectraDataset([cube], pixels_per_item=30, items_per_cube=2)[1])
    big = CubeSpectraDataset([cube], pixels_per_item=100)[0]  # more than 41 valid pixels
    assert big.shape == (100, 31)


def test_simulate_with_real_spectral_module():
    spectral = pytest.importorskip("specrecon.spectral")
    if not hasattr(spectral, "simulate_rgb"):
        pytest.skip("specrecon.spectral.simulate_rgb not available")
    rng = np.random.default_rng(0)
    cube = make_cube(rng.random((31, 20, 20), dtype="float32") * 0.5, WL)
    ds = PairedPatchDataset([(None, cube)], patch_size=8, patches_per_item=2,
                            simulate={"sensor": "nikon_d5100", "photon_scale": 750.0})
    rgb, _ = ds[1]
    assert rgb.shape == (3, 8, 8) and rgb.dtype == torch.float32
    assert 0.0 <= float(rgb.min()) and float(rgb.max()) <= 1.0
    assert float(rgb.std()) > 0
    assert torch.equal(ds[1][0], rgb)  # shot noise reproducible per (seed, epoch, index)
