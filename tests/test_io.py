"""zarr / NetCDF / GeoTIFF round trips: values, CRS, transform, CF attrs, resumable writes."""

from __future__ import annotations

import math
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

import specrecon  # noqa: F401  (registers .hsr)
from specrecon.cube import make_cube
from specrecon.errors import ChunkingError, DatasetFormatError
from specrecon.io import WRITE_PLAN_ATTR, compute_steps, open_cube, to_netcdf, to_zarr

WL = np.arange(400, 701, 10.0)


def _geo_cube(chunks: dict | None = None) -> xr.DataArray:
    rioxarray = pytest.importorskip("rioxarray")  # noqa: F841
    rng = np.random.default_rng(1)
    data = rng.random((31, 24, 40), dtype="float32")
    data[:, 0, 0] = np.nan
    y = 5_000_000.0 - 30.0 * (np.arange(24) + 0.5)
    x = 400_000.0 + 30.0 * (np.arange(40) + 0.5)
    cube = make_cube(data, WL, y=y, x=x, attrs={"model": "test-model", "units": "1"})
    cube = cube.rio.write_crs("EPSG:32633")
    return cube.chunk(chunks) if chunks else cube


def _check_geo(opened: xr.DataArray, cube: xr.DataArray) -> None:
    assert opened.rio.crs.to_epsg() == 32633
    assert opened.rio.transform() == cube.rio.transform(recalc=True)
    assert opened.dims == ("wavelength", "y", "x")
    assert opened.wavelength.attrs["standard_name"] == "radiation_wavelength"
    np.testing.assert_array_equal(opened.fwhm.values, cube.fwhm.values)
    np.testing.assert_array_equal(opened.values, cube.values)


@pytest.mark.parametrize("chunked", [False, True])
def test_zarr_round_trip_keeps_crs_transform_and_values(tmp_path: Path, chunked: bool) -> None:
    cube = _geo_cube({"y": 10, "x": 16} if chunked else None)
    path = to_zarr(cube, tmp_path / "c.zarr")
    opened = open_cube(path)
    _check_geo(opened, cube)
    # whole spectrum in one on-disk chunk
    assert opened.chunks[0] == (31,)
    ds = xr.open_zarr(path, decode_coords="all", consolidated=False)
    assert ds.attrs["Conventions"] == "CF-1.10"
    assert "specrecon" in ds.attrs["history"] and "test-model" in ds.attrs["source"]
    assert ds.attrs[WRITE_PLAN_ATTR]["complete"] is True
    with pytest.raises(FileExistsError):
        to_zarr(cube, path)


def test_netcdf_round_trip_and_gdal_georeferencing(tmp_path: Path) -> None:
    rasterio = pytest.importorskip("rasterio")
    cube = _geo_cube({"y": 12, "x": 20})
    path = to_netcdf(cube, tmp_path / "c.nc")
    _check_geo(open_cube(path), cube)
    with xr.open_dataset(path, decode_coords="all") as ds:
        assert ds.attrs["Conventions"] == "CF-1.10"
        assert ds["reflectance"].encoding["zlib"] is True
    import rioxarray

    ro = rioxarray.open_rasterio(path)
    ro = ro[0] if isinstance(ro, list) else ro
    assert ro.rio.crs.to_epsg() == 32633
    with rasterio.open(f"netcdf:{path}:reflectance") as src:   # plain GDAL reading
        assert src.crs.to_epsg() == 32633
        assert src.transform == cube.rio.transform(recalc=True)
        assert src.count == 31


def test_geotiff_open_cube(tmp_path: Path) -> None:
    cube = _geo_cube()
    tif = cube.rename(wavelength="band").drop_vars(["fwhm"])
    tif = tif.assign_coords(band=np.arange(1, 32))
    tif.attrs = {"long_name": tuple(f"band {i}: {w:g} nm" for i, w in enumerate(WL))}
    tif.rio.to_raster(tmp_path / "c.tif")
    opened = open_cube(tmp_path / "c.tif")
    np.testing.assert_array_equal(opened.wavelength.values, WL)
    assert opened.rio.crs.to_epsg() == 32633
    np.testing.assert_allclose(opened.values, cube.values, equal_nan=True)
    with pytest.raises(DatasetFormatError, match="wavelengths"):
        open_cube(tmp_path / "c.tif", wavelengths=[500.0, 600.0])
    with pytest.raises(DatasetFormatError):
        open_cube(tmp_path / "c.xyz")


class _Flaky:
    """Source data whose block row ``fail_row`` raises once (a crash mid-write)."""

    def __init__(self, fail_row: int | None) -> None:
        self.fail_row = fail_row
        self.rows: list[int] = []

    def __call__(self, block: np.ndarray, block_id: tuple[int, ...] = (0, 0, 0)) -> np.ndarray:
        self.rows.append(block_id[1])
        if block_id[1] == self.fail_row:
            raise RuntimeError("simulated crash")
        return block


def _interrupt(store: Path, done: list[int]) -> None:
    """Make a finished store look like a write stopped after the steps in ``done``."""
    import zarr

    group = zarr.open_group(str(store), mode="r+", use_consolidated=False)
    group.attrs[WRITE_PLAN_ATTR] = {**group.attrs[WRITE_PLAN_ATTR], "done": done,
                                    "complete": False}


def test_compute_steps_reports_each_finished_step_once() -> None:
    finished: list[int] = []
    compute_steps({i: dask.delayed(sum)([i, 1]) for i in range(5)}, finished.append)
    assert sorted(finished) == [0, 1, 2, 3, 4]

    def boom(_: int) -> int:
        raise RuntimeError("step failed")

    finished.clear()
    steps = {0: dask.delayed(sum)([1]), 1: dask.delayed(boom)(1), 2: dask.delayed(sum)([2])}
    with dask.config.set(scheduler="synchronous"), pytest.raises(RuntimeError, match="step"):
        compute_steps(steps, finished.append)
    # the failed step is never recorded; which others are depends on dask's order and on
    # its task batches (a step finished in the failing batch is not reported: redone on resume)
    assert 1 not in finished and set(finished) <= {0, 2}


def test_interrupted_zarr_write_resumes_to_the_same_store(tmp_path: Path) -> None:
    base = _geo_cube()
    src = da.from_array(base.values, chunks=(31, 6, 20))

    def cube_from(fn: _Flaky) -> xr.DataArray:
        return base.copy(data=src.map_blocks(fn, dtype="float32",
                                            meta=np.empty((0, 0, 0), "float32")))

    with dask.config.set(scheduler="synchronous"):
        full = to_zarr(cube_from(_Flaky(None)), tmp_path / "full.zarr", rows_per_step=1)
        crash = _Flaky(fail_row=2)
        with pytest.raises(RuntimeError, match="simulated crash"):
            to_zarr(cube_from(crash), tmp_path / "part.zarr", rows_per_step=1)
        plan = xr.open_zarr(tmp_path / "part.zarr", consolidated=False).attrs[WRITE_PLAN_ATTR]
        # the steps run as one graph in dask's order: the rows stored before the crash
        # are recorded (which ones depends on that order), the crashed row is not
        assert 2 not in plan["done"] and plan["complete"] is False
        again = _Flaky(None)
        to_zarr(cube_from(again), tmp_path / "part.zarr", resume=True, rows_per_step=1)
        # exactly the rows that were not recorded are computed again
        assert sorted(set(again.rows)) == sorted({0, 1, 2, 3} - set(plan["done"]))
        # the same with a known record: a write stopped after rows 0 and 1
        _interrupt(tmp_path / "part.zarr", [0, 1])
        last = _Flaky(None)
        to_zarr(cube_from(last), tmp_path / "part.zarr", resume=True, rows_per_step=1)
        assert sorted(set(last.rows)) == [2, 3]
    a, b = open_cube(full).load(), open_cube(tmp_path / "part.zarr").load()
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
    assert b.rio.crs.to_epsg() == 32633
    # resuming with another chunking is refused rather than mixing two plans
    with dask.config.set(scheduler="synchronous"), pytest.raises(RuntimeError):
        to_zarr(cube_from(_Flaky(fail_row=1)), tmp_path / "part2.zarr", rows_per_step=1)
    with pytest.raises(ChunkingError, match="write plan"):
        to_zarr(base.chunk({"y": 12}), tmp_path / "part2.zarr", resume=True)
    # completed stores are left alone by resume
    to_zarr(cube_from(_Flaky(0)), tmp_path / "full.zarr", resume=True)


def test_large_dask_chunks_are_stored_in_smaller_zarr_chunks(tmp_path: Path, monkeypatch) -> None:
    # Blosc cannot encode a buffer over 2 GiB (a 2048 px chunk of a 202-band cube is 3.4 GB):
    # stored chunks are capped and divide the dask chunks; here with a tiny cap
    import zarr

    import specrecon.io as sio

    monkeypatch.setattr(sio, "ZARR_CHUNK_MAX_BYTES", 31 * 12 * 20 * 4)
    cube = _geo_cube({"y": 24, "x": 40})
    path = to_zarr(cube, tmp_path / "c.zarr")
    stored = zarr.open_array(str(path / "reflectance"), mode="r").chunks
    assert stored[0] == cube.sizes["wavelength"]                 # the spectrum stays whole
    assert 24 % stored[1] == 0 and 40 % stored[2] == 0
    assert math.prod(stored) * 4 <= sio.ZARR_CHUNK_MAX_BYTES < 31 * 24 * 40 * 4
    back = open_cube(path).load()
    xr.testing.assert_identical(back.drop_attrs(), cube.load().drop_attrs())


def test_region_write_into_existing_store(tmp_path: Path) -> None:
    cube = _geo_cube({"y": 12, "x": 40})
    to_zarr(cube, tmp_path / "r.zarr")
    patch = cube.isel(y=slice(0, 12)).fillna(0) * 0 + 7
    to_zarr(patch, tmp_path / "r.zarr", region={"y": slice(0, 12)})
    out = open_cube(tmp_path / "r.zarr").values
    assert np.all(out[:, :12] == 7) and np.array_equal(out[:, 12:], cube.values[:, 12:])


def test_open_cube_result_has_rio_in_a_fresh_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    from specrecon.datasets.synthetic import satellite_scene

    store = to_zarr(satellite_scene(16, 16, seed=2).cube, tmp_path / "c.zarr")
    code = (f"import specrecon; c = specrecon.open_cube({str(store)!r}); "
            "print(c.rio.crs.to_epsg(), c.rio.transform()[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["32633", "30.0"]


@pytest.mark.parametrize("chunked", [False, True])
def test_store_opens_with_plain_open_zarr_without_warnings(tmp_path: Path, chunked: bool) -> None:
    import warnings

    cube = _geo_cube({"y": 6, "x": 40} if chunked else None)
    path = to_zarr(cube, tmp_path / "c.zarr", rows_per_step=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no "consolidated metadata" warning
        ds = xr.open_zarr(path, decode_coords="all")
    assert ds.rio.crs.to_epsg() == 32633
    assert ds["reflectance"].rio.transform() == cube.rio.transform(recalc=True)
    assert ds.attrs[WRITE_PLAN_ATTR]["complete"] is True     # consolidated after the plan
