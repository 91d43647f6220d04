"""The newcomer commands: demo, reconstruct, models, info."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from specrecon.cli import main


@pytest.fixture(scope="module")
def tiny_satellite_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Untrained 202-band weights with a card (the engine, not accuracy, is under test)."""
    from specrecon.models import ModelCard, create_model, save_model
    from specrecon.spectral import get_bandset

    model = create_model("hydra-tiny-202")
    bs = get_bandset("hyspecnet202")
    card = ModelCard.from_model(model, wavelengths=bs.wavelengths, fwhm=bs.fwhm,
                                input_sensor="sentinel2_msi_rgb", tile_size=48, tile_overlap=16)
    path = tmp_path_factory.mktemp("weights") / "tiny202.safetensors"
    save_model(model, path, card)
    return path


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in ("demo", "reconstruct", "models", "info", "train", "evaluate"):
        assert name in out


def test_demo_end_to_end(tmp_path: Path, tiny_satellite_weights: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    rc = main(["demo", "--out", str(out), "--size", "80", "--chunks", "48",
               "--model", str(tiny_satellite_weights)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "metrics vs synthetic truth" in text and "RMSE" in text
    assert (out / "demo.png").stat().st_size > 10_000
    from specrecon.io import open_cube

    cube = open_cube(out / "scene_cube.zarr")
    assert cube.sizes == {"wavelength": 202, "y": 80, "x": 80}
    assert cube.rio.crs.to_epsg() == 32633
    nc = xr.open_dataset(out / "scene_cube.nc", decode_coords="all")
    var = next(v for v in nc.data_vars if "wavelength" in nc[v].dims)
    np.testing.assert_allclose(nc[var].values, cube.values, atol=1e-6)
    assert nc[var].rio.crs.to_epsg() == 32633


def test_reconstruct_geotiff_to_zarr_and_refuses_overwrite(
        tmp_path: Path, tiny_satellite_weights: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import rioxarray  # noqa: F401

    from specrecon.datasets.synthetic import satellite_scene

    scene = satellite_scene(64, 72, seed=3)
    tif = tmp_path / "rgb.tif"
    (scene.rgb.drop_vars(["band_name", "band_wavelength"], errors="ignore") * 65535).round() \
        .astype("uint16").rio.to_raster(tif)
    out = tmp_path / "cube.zarr"
    args = ["reconstruct", str(tif), str(out), "--model", str(tiny_satellite_weights),
            "--chunks", "32", "--no-progress"]
    assert main(args) == 2                      # uint16 of unknown scale: refused, not guessed
    assert "--scale" in capsys.readouterr().err
    args += ["--scale", str(1 / 65535)]
    assert main(args) == 0
    assert "202 bands" in capsys.readouterr().out
    from specrecon.io import open_cube

    cube = open_cube(out)
    assert cube.shape == (202, 64, 72)
    assert cube.rio.transform() == scene.cube.rio.transform()
    # a second run must not silently replace the first
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    assert open_cube(out).attrs["physical_consistency"] == 0
    assert main([*args, "--overwrite", "--physical"]) == 0
    assert open_cube(out).attrs["physical_consistency"] == 1


def test_reconstruct_rejects_unknown_output_format(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reconstruct", str(tmp_path / "in.tif"), str(tmp_path / "out.png")]) == 2
    assert "expected an output ending in .zarr or .nc" in capsys.readouterr().err


def test_models_lists_registry_and_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "hydra-small-202" in out and "mst-plus-plus-31" in out
    assert main(["models", "no-such-model"]) == 2
    assert "no-such-model" in capsys.readouterr().err


def test_info_describes_cube(tmp_path: Path, tiny_satellite_weights: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    from specrecon.datasets.synthetic import satellite_scene

    cube = satellite_scene(32, 32, seed=1).cube
    path = tmp_path / "truth.nc"
    from specrecon.io import to_netcdf

    to_netcdf(cube, path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "202 bands" in out and "EPSG:32633" in out
    # in a fresh process too, where nothing imported rioxarray beforehand
    import subprocess
    import sys

    from specrecon.io import to_zarr

    store = to_zarr(cube, tmp_path / "truth.zarr")
    fresh = subprocess.run([sys.executable, "-m", "specrecon", "info", str(store)],
                           capture_output=True, text=True, check=True).stdout
    assert "EPSG:32633" in fresh and "transform:" in fresh
    assert main(["info", str(tmp_path / "missing.tif")]) == 2
