"""plot_spectra / plot_bands / plot_error draw what they are asked to."""

from __future__ import annotations

import numpy as np
import pytest

from specrecon.cube import make_cube
from specrecon.errors import CoordinateError, SpatialDimensionError
from specrecon.plot import plot_bands, plot_error, plot_spectra

WL = np.arange(400, 701, 10.0)


def _cube() -> xr.DataArray:  # noqa: F821
    data = np.random.default_rng(0).random((31, 6, 8)).astype("float32")
    return make_cube(data, WL, y=np.arange(6) * 10.0 + 5, x=np.arange(8) * 10.0 + 5)


def test_plot_spectra_labels_pixels_and_truth() -> None:
    import matplotlib.pyplot as plt

    cube = _cube()
    truth = cube * 0.5
    fig = plot_spectra(cube, [(15.0, 25.0), (55.0, 75.0)], truth=truth)
    lines = fig.axes[0].lines
    assert len(lines) == 4
    np.testing.assert_allclose(lines[0].get_xdata(), WL)
    np.testing.assert_allclose(lines[0].get_ydata(), cube.values[:, 1, 2])   # nearest label
    np.testing.assert_allclose(lines[1].get_ydata(), truth.values[:, 1, 2])
    assert fig.axes[0].get_xlabel() == "wavelength (nm)"
    fig2, ax = plt.subplots()
    out = plot_spectra(cube, [(5, 7)], pixels=True, ax=ax)
    assert out is fig2
    np.testing.assert_allclose(ax.lines[0].get_ydata(), cube.values[:, 5, 7])
    with pytest.raises(CoordinateError):
        plot_spectra(cube, [])
    with pytest.raises(SpatialDimensionError):
        plot_spectra(cube.isel(x=0), [(0, 0)])
    plt.close("all")


def test_plot_bands_panels() -> None:
    import matplotlib.pyplot as plt

    fig = plot_bands(_cube(), [452, 650], ncols=2)
    assert [a.get_title() for a in fig.axes] == ["450 nm", "650 nm"]
    fig = plot_bands(_cube(), ncols=3)
    assert sum(a.get_visible() for a in fig.axes) == 8
    plt.close("all")


def test_plot_error_maps_the_per_pixel_metric() -> None:
    import matplotlib.pyplot as plt

    truth = _cube() + 0.1
    pred = truth.copy(data=truth.values * 1.1)
    pred[:, 2, 3] = truth[:, 2, 3] * 1.5          # one bad pixel
    fig = plot_error(pred, truth, metric="mrae", robust=False)
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (6, 8)
    np.testing.assert_allclose(image[2, 3], 0.5, rtol=1e-5)
    np.testing.assert_allclose(image[0, 0], 0.1, rtol=1e-5)
    assert fig.axes[0].get_title().startswith("MRAE per pixel")
    assert len(fig.axes) == 2                      # the map and its colour bar
    fig = plot_error(pred, truth, metric="rmse")
    np.testing.assert_allclose(fig.axes[0].images[0].get_array()[0, 0],
                               float(np.sqrt(((pred - truth)[:, 0, 0] ** 2).mean())), rtol=1e-5)
    with pytest.raises(ValueError, match="metric"):
        plot_error(pred, truth, metric="ssim")
    with pytest.raises(SpatialDimensionError):
        plot_error(pred, truth.isel(x=0))
    plt.close("all")
