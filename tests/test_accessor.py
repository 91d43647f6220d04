"""The .hsr accessor forwards to the functions (end to end on a tiny georeferenced scene)
and shows their full signatures and documentation."""

from __future__ import annotations

import inspect
import pydoc
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

import specrecon
from specrecon.accessor import HsrDataArrayAccessor, HsrDatasetAccessor, _Forward, _resolve
from specrecon.cube import make_rgb
from specrecon.inference import reconstruct
from specrecon.io import open_cube

WL = np.arange(400, 701, 10.0)


@pytest.fixture(scope="module")
def scene() -> tuple[xr.DataArray, torch.nn.Module]:
    pytest.importorskip("rioxarray")
    from specrecon.models import create_model

    torch.manual_seed(1)
    model = create_model("mst-plus-plus-tiny-31").eval()
    data = np.random.default_rng(2).random((3, 48, 64), dtype="float32")
    rgb = make_rgb(data, y=4_000_000.0 - 10 * np.arange(48), x=500_000.0 + 10 * np.arange(64))
    return rgb.rio.write_crs("EPSG:32633").chunk({"y": 24, "x": 32}), model


def test_dataarray_reconstruct_matches_function(scene: tuple) -> None:
    rgb, model = scene
    kw = {"tile_size": 32, "overlap": 8, "device": "cpu", "wavelengths": WL}
    a = rgb.hsr.reconstruct(model=model, **kw)
    b = reconstruct(rgb, model, **kw)
    xr.testing.assert_identical(a.compute(), b.compute())
    ds = xr.Dataset({"image": rgb})
    c = ds.hsr.reconstruct(model=model, **kw)
    np.testing.assert_allclose(c.values, b.values, atol=1e-6)


def test_cube_methods(scene: tuple, tmp_path: Path) -> None:
    rgb, model = scene
    cube = rgb.hsr.reconstruct(model=model, tile_size=32, overlap=8, device="cpu",
                               wavelengths=WL)
    z = cube.hsr.to_zarr(tmp_path / "c.zarr")
    n = cube.hsr.to_netcdf(tmp_path / "c.nc")
    for path in (z, n):
        back = open_cube(path)
        assert back.rio.crs.to_epsg() == 32633
        np.testing.assert_allclose(back.values, cube.values, atol=1e-6)
    ds_path = cube.to_dataset(name="refl").hsr.to_zarr(tmp_path / "d.zarr")
    assert open_cube(ds_path).rio.crs.to_epsg() == 32633
    rgb_back = cube.hsr.to_rgb("sentinel2_msi_rgb")
    assert rgb_back.sizes.get("y") == 48 and 3 in rgb_back.shape
    scores = cube.hsr.evaluate(cube)
    assert float(scores["rmse"]) == 0.0
    fig = cube.hsr.plot_spectra([(0, 0)], pixels=True)
    assert len(fig.axes[0].lines) == 1
    fig = cube.hsr.plot_bands([500, 600], ncols=2)
    assert len(fig.axes) == 2
    fig = cube.hsr.plot_error(cube * 1.1, metric="rmse")
    assert fig.axes[0].get_title().startswith("RMSE per pixel")


def _forwards() -> list[tuple[type, str, _Forward]]:
    return [(cls, name, attr) for cls in (HsrDataArrayAccessor, HsrDatasetAccessor)
            for name, attr in vars(cls).items() if isinstance(attr, _Forward)]


def test_every_accessor_method_forwards() -> None:
    names = {(cls.__name__, name) for cls, name, _ in _forwards()}
    assert {("HsrDataArrayAccessor", n) for n in
            ["reconstruct", "to_rgb", "simulate_rgb", "resample", "evaluate", "to_zarr",
             "to_netcdf", "plot_spectra", "plot_bands", "plot_error"]} <= names
    assert {("HsrDatasetAccessor", n) for n in ["reconstruct", "to_zarr", "to_netcdf"]} <= names


def test_reconstruct_shows_the_full_signature_and_parameter_docs() -> None:
    da = xr.DataArray(np.zeros((3, 4, 4)), dims=("band", "y", "x"))
    method = inspect.signature(da.hsr.reconstruct).parameters
    function = inspect.signature(specrecon.reconstruct).parameters
    assert list(method) == list(function)[1:]
    assert [p.kind for p in method.values()] == [p.kind for p in list(function.values())[1:]]
    assert [p.default for p in method.values()] == [p.default
                                                    for p in list(function.values())[1:]]
    doc = da.hsr.reconstruct.__doc__
    data_arg = next(iter(function))
    assert f"\n{data_arg} :" not in doc                # the data argument is not a parameter
    for name in method:                                 # every other one is documented
        assert any(line.startswith(name) or f", {name}" in line.split(" : ")[0]
                   for line in doc.splitlines()), name
    assert "Parameters\n----------" in doc and "Returns\n-------" in doc
    assert ":func:`specrecon.inference.reconstruct`" in doc
    # help() and IPython's `?` read the same signature and text
    rendered = pydoc.render_doc(da.hsr.reconstruct, renderer=pydoc.plaintext)
    assert "tile_size" in rendered and "whole_image" in rendered


def test_every_method_mirrors_its_function() -> None:
    for cls, name, forward in _forwards():
        function = _resolve(forward.target)
        expected = list(inspect.signature(function).parameters.values())[1:]
        got = list(inspect.signature(getattr(cls, name)).parameters.values())
        assert got[0].name == "self"
        got = got[1:]
        if forward.prepare:                            # Dataset.reconstruct: + `variable`
            assert got[0].name == "variable"
            got = got[1:]
        assert [p.name for p in got] == [p.name for p in expected], (cls, name)
        for p in got:
            want = forward.defaults.get(p.name, inspect.signature(function).parameters[p.name]
                                        .default)
            assert p.default == want, (cls, name, p.name)
        doc = getattr(cls, name).__doc__
        assert doc.splitlines()[0] == inspect.cleandoc(function.__doc__).splitlines()[0]
        assert f"obj.hsr.{name}(...)" in doc


def test_ds_reconstruct_documents_variable() -> None:
    doc = xr.Dataset().hsr.reconstruct.__doc__
    assert "variable : hashable, optional" in doc
    assert "select_rgb_variable(obj, variable)" in doc
    sig = inspect.signature(xr.Dataset().hsr.reconstruct)
    assert list(sig.parameters)[:2] == ["variable", "model"]


def test_to_rgb_default_sensor_is_applied_and_documented(scene: tuple) -> None:
    rgb, model = scene
    cube = rgb.hsr.reconstruct(model=model, tile_size=32, overlap=8, device="cpu",
                               wavelengths=WL).compute()
    xr.testing.assert_identical(cube.hsr.to_rgb(), specrecon.project(cube, "sentinel2_msi_rgb"))
    assert "``sensor='sentinel2_msi_rgb'``" in cube.hsr.to_rgb.__doc__
    with pytest.raises(TypeError, match="bogus"):
        cube.hsr.to_rgb(bogus=1)


def test_signature_is_derived_from_the_current_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """The forwarder copies nothing by hand: change the function, the method follows."""
    module = types.ModuleType("_hsr_forward_target")

    def first(data: object, alpha: int, *, beta: int = 2) -> tuple:
        """Do a thing.

        Parameters
        ----------
        data : object
            The object.
        alpha : int
            First.
        beta : int
            Second.
        """
        return ("first", data, alpha, beta)

    def second(data: object, gamma: str = "g", **extra: object) -> tuple:
        """Do another thing.

        Parameters
        ----------
        data : object
            The object.
        gamma : str
            Third.
        **extra
            More.
        """
        return ("second", data, gamma, extra)

    module.f = first
    monkeypatch.setitem(sys.modules, module.__name__, module)

    class Holder:
        def __init__(self, obj: object) -> None:
            self._obj = obj

        f = _Forward("_hsr_forward_target:f")

    holder = Holder("X")
    assert list(inspect.signature(holder.f).parameters) == ["alpha", "beta"]
    assert "alpha : int\n    First." in holder.f.__doc__ and "data :" not in holder.f.__doc__
    assert holder.f(1) == ("first", "X", 1, 2)
    assert holder.f(alpha=1, beta=5) == ("first", "X", 1, 5)
    with pytest.raises(TypeError):
        holder.f(1, 2)                                 # beta is keyword-only
    monkeypatch.setattr(module, "f", second)
    assert list(inspect.signature(holder.f).parameters) == ["gamma", "extra"]
    assert "gamma : str" in holder.f.__doc__
    assert holder.f(k=3) == ("second", "X", "g", {"k": 3})


def test_accessor_stays_light() -> None:
    code = ("import sys, numpy as np, xarray as xr, specrecon\n"
            "da = xr.DataArray(np.zeros((3, 2, 2)), dims=('band', 'y', 'x'))\n"
            "acc = da.hsr\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_written_zarr_opens_with_plain_xarray(scene: tuple, tmp_path: Path) -> None:
    rgb, model = scene
    cube = rgb.hsr.reconstruct(model=model, tile_size=32, overlap=8, device="cpu",
                               wavelengths=WL)
    path = cube.hsr.to_zarr(tmp_path / "plain.zarr")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = xr.open_zarr(path, decode_coords="all")
    import rioxarray  # noqa: F401

    var = next(iter(ds.data_vars.values()))
    assert var.rio.crs.to_epsg() == 32633
    np.testing.assert_allclose(var.values, cube.values, atol=1e-6)


def test_ipython_help_and_tab_completion_list_the_parameters() -> None:
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.user_ns["da"] = xr.DataArray(np.zeros((3, 4, 4)), dims=("band", "y", "x"))
        info = shell.object_inspect("da.hsr.reconstruct")           # what `?` shows
        assert "tile_size" in info["definition"] and "whole_image" in info["definition"]
        assert "Parameters" in info["docstring"]
        from IPython.core.completer import provisionalcompleter

        shell.Completer.use_jedi = False
        line = "da.hsr.reconstruct(tile_s"
        with provisionalcompleter():
            matches = [c.text for c in shell.Completer.completions(line, len(line))]
        assert "tile_size=" in matches
    finally:
        InteractiveShell.clear_instance()
