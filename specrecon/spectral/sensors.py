"""Sensors: spectral response functions (SRFs) of RGB cameras and multispectral imagers.

A :class:`Sensor` holds one response curve per channel on a wavelength grid
(nm). :meth:`Sensor.matrix_for` turns those curves into a weight matrix on a
cube's band grid, which is all that projection and camera simulation need.

Built-in sensors (see ``docs/sensors.md``):

- measured RGB camera sensitivities shipped with colour-science:
  ``nikon_d5100``, ``sigma_sdmerill`` (NPL measurements) and
  ``canon_eos_5d_mark_ii`` (RAW-to-ACES data);
- ``cie1931``: the CIE 1931 2 degree standard observer used as an "XYZ sensor";
- ``sentinel2_msi_rgb``, ``landsat8_oli_rgb``, ``landsat9_oli_rgb``: Gaussian
  curves from published band centres and widths (not the measured RSRs).

colour-science is imported on first use of a colour-based sensor only, and
loaded sensors are cached.

Examples
--------
>>> import numpy as np
>>> s2 = get_sensor("sentinel2_msi_rgb")
>>> s2.band_names
('red', 'green', 'blue')
>>> s2.matrix_for(np.arange(400, 701, 10.0)).shape
(3, 31)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from specrecon._compat import import_colour
from specrecon.errors import BandDimensionError, format_message
from specrecon.spectral._registry import LazyRegistry

__all__ = ["Sensor", "get_sensor", "list_sensors", "register_sensor", "gaussian_curve"]

_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def gaussian_curve(grid: np.ndarray, centre: float, fwhm: float) -> np.ndarray:
    """Peak-normalised Gaussian response with the given centre and FWHM.

    Parameters
    ----------
    grid : numpy.ndarray
        Wavelengths (nm) at which to evaluate the curve.
    centre : float
        Centre wavelength (nm).
    fwhm : float
        Full width at half maximum (nm), must be positive.

    Returns
    -------
    numpy.ndarray
        ``exp(-(grid - centre)^2 / (2 sigma^2))`` with ``sigma = fwhm / 2.3548``.

    Examples
    --------
    >>> float(gaussian_curve(np.array([550.0, 555.0]), 550.0, 10.0)[1])
    0.5
    """
    sigma = float(fwhm) * _FWHM_TO_SIGMA
    g = np.asarray(grid, dtype="float64")
    return np.exp(-0.5 * ((g - float(centre)) / sigma) ** 2)


def _readonly(a: Any, dtype: str = "float64") -> np.ndarray:
    arr = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


def _half_max_width(grid: np.ndarray, curve: np.ndarray) -> float:
    """Width of the region where a curve is at least half its maximum (nm)."""
    peak = curve.max()
    if peak <= 0:
        return float("nan")
    above = np.flatnonzero(curve >= 0.5 * peak)
    return float(grid[above[-1]] - grid[above[0]])


@dataclass(frozen=True, eq=False)
class Sensor:
    """Spectral response of an imaging sensor, one curve per channel.

    Parameters
    ----------
    name : str
        Registry name (lower case, underscores).
    band_names : tuple of str
        Channel names, e.g. ``("red", "green", "blue")``.
    wavelengths : numpy.ndarray
        Nominal centre of each channel (nm). For measured curves this is the
        wavelength of the peak response.
    fwhm : numpy.ndarray
        Nominal width of each channel (nm). For measured curves this is the
        extent of the region at or above half the channel's peak.
    grid : numpy.ndarray
        Strictly increasing wavelengths (nm) at which ``response`` is tabulated.
    response : numpy.ndarray
        ``(n_channels, len(grid))`` non-negative responses, normalised so that
        the largest value over *all* channels is 1 (relative channel
        sensitivities are kept, which is what analog gains compensate).
    kind : str
        ``"measured"`` (laboratory curves) or ``"gaussian"`` (built from a
        published centre and FWHM).
    source : str
        Citation of where the curves or numbers come from.
    description : str
        Free text.

    Examples
    --------
    >>> s = Sensor.gaussian("toy", [600.0, 500.0], [40.0, 40.0], band_names=("a", "b"))
    >>> s.response.shape[0], s.kind
    (2, 'gaussian')
    """

    name: str
    band_names: tuple[str, ...]
    wavelengths: np.ndarray
    fwhm: np.ndarray
    grid: np.ndarray
    response: np.ndarray
    kind: str = "measured"
    source: str = ""
    description: str = ""
    _matrix_cache: dict[bytes, np.ndarray] = field(default_factory=dict, init=False,
                                                    repr=False, compare=False)

    def __post_init__(self) -> None:
        grid = _readonly(self.grid)
        resp = np.array(self.response, dtype="float64", copy=True)
        if grid.ndim != 1 or grid.size < 2 or not np.all(np.diff(grid) > 0):
            raise BandDimensionError(format_message(
                "a strictly increasing 1-D wavelength grid with at least 2 samples",
                f"shape {grid.shape}", "sort the grid and drop duplicate wavelengths"))
        if resp.ndim != 2 or resp.shape[1] != grid.size:
            raise BandDimensionError(format_message(
                f"a response of shape (n_channels, {grid.size})", f"shape {resp.shape}",
                "tabulate one response value per grid wavelength and channel"))
        n = resp.shape[0]
        names = tuple(str(b) for b in self.band_names)
        wl = _readonly(self.wavelengths)
        fw = _readonly(self.fwhm)
        if len(names) != n or wl.shape != (n,) or fw.shape != (n,):
            raise BandDimensionError(format_message(
                f"{n} band names, centres and widths (one per response curve)",
                f"{len(names)} names, {wl.size} centres, {fw.size} widths",
                "pass one entry per channel"))
        if self.kind not in ("measured", "gaussian"):
            raise ValueError(format_message('kind "measured" or "gaussian"', repr(self.kind),
                                            "describe how the curves were obtained"))
        resp = np.clip(np.nan_to_num(resp, nan=0.0), 0.0, None)
        peak = resp.max()
        if peak <= 0:
            raise BandDimensionError(format_message("a response with positive values",
                                                    "all zeros", "check the response table"))
        resp /= peak
        resp.setflags(write=False)
        object.__setattr__(self, "grid", grid)
        object.__setattr__(self, "response", resp)
        object.__setattr__(self, "band_names", names)
        object.__setattr__(self, "wavelengths", wl)
        object.__setattr__(self, "fwhm", fw)

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return int(self.response.shape[0])

    def matrix_for(self, wavelengths: Sequence[float] | np.ndarray) -> np.ndarray:
        """Response weights on a cube's band grid.

        The curves are resampled linearly to ``wavelengths`` (the NTIRE 2022
        recipe), negative values clipped to 0 and set to 0 outside the
        sensor's grid.

        Parameters
        ----------
        wavelengths : array-like
            Band centres of the cube (nm).

        Returns
        -------
        numpy.ndarray
            ``(n_channels, n_bands)`` float64 weights (read-only, cached).

        Examples
        --------
        >>> m = get_sensor("landsat8_oli_rgb").matrix_for(np.arange(400, 701, 10.0))
        >>> m.shape, bool(m.min() >= 0)
        ((3, 31), True)
        """
        wl = np.asarray(wavelengths, dtype="float64").ravel()
        key = wl.tobytes()
        hit = self._matrix_cache.get(key)
        if hit is not None:
            return hit
        out = np.empty((self.n_channels, wl.size), dtype="float64")
        for c in range(self.n_channels):
            out[c] = np.interp(wl, self.grid, self.response[c], left=0.0, right=0.0)
        np.clip(out, 0.0, None, out=out)
        out.setflags(write=False)
        if len(self._matrix_cache) < 64:
            self._matrix_cache[key] = out
        return out

    @classmethod
    def gaussian(cls, name: str, centres: Sequence[float], fwhm: Sequence[float] | float, *,
                 band_names: Sequence[str] | None = None, grid: np.ndarray | None = None,
                 source: str = "", description: str = "") -> Sensor:
        """Build a sensor from Gaussian curves with published centres and widths.

        Parameters
        ----------
        name : str
            Registry name.
        centres : sequence of float
            Channel centres (nm).
        fwhm : float or sequence of float
            Channel full widths at half maximum (nm).
        band_names : sequence of str, optional
            Defaults to red/green/blue for three channels, else ``b1, b2, ...``.
        grid : numpy.ndarray, optional
            Tabulation grid; default 1 nm steps covering every centre +- 3 FWHM.
        source, description : str
            Citation and free text.

        Returns
        -------
        Sensor
            With ``kind="gaussian"``.

        Examples
        --------
        >>> s = Sensor.gaussian("my_cam", [620, 540, 460], 40)
        >>> s.band_names, round(float(s.response.max()), 6)
        (('red', 'green', 'blue'), 1.0)
        """
        c = np.asarray(centres, dtype="float64").ravel()
        fw = np.broadcast_to(np.asarray(fwhm, dtype="float64"), c.shape).copy()
        if np.any(fw <= 0):
            raise ValueError(format_message("positive FWHM values", f"{fw.tolist()}",
                                            "pass widths in nm"))
        if band_names is None:
            band_names = ("red", "green", "blue") if c.size == 3 else \
                tuple(f"b{i + 1}" for i in range(c.size))
        if grid is None:
            lo = np.floor((c - 3 * fw).min())
            hi = np.ceil((c + 3 * fw).max())
            grid = np.arange(lo, hi + 1.0, 1.0)
        resp = np.stack([gaussian_curve(grid, ci, fi) for ci, fi in zip(c, fw)])
        return cls(name=name, band_names=tuple(band_names), wavelengths=c, fwhm=fw,
                   grid=np.asarray(grid, "float64"), response=resp, kind="gaussian",
                   source=source or "Gaussian curves from the given centres and FWHM",
                   description=description)

    @classmethod
    def from_curves(cls, name: str, grid: np.ndarray, response: np.ndarray, *,
                    band_names: Sequence[str] = ("red", "green", "blue"),
                    kind: str = "measured", source: str = "",
                    description: str = "") -> Sensor:
        """Build a sensor from tabulated curves; centres and widths are derived.

        Parameters
        ----------
        name : str
            Registry name.
        grid : numpy.ndarray
            Wavelengths (nm), strictly increasing.
        response : numpy.ndarray
            ``(n_channels, len(grid))`` responses in any scale.
        band_names, kind, source, description
            See :class:`Sensor`.

        Returns
        -------
        Sensor
            Centres are the peak wavelengths, widths the half-maximum extents.

        Examples
        --------
        >>> g = np.arange(400.0, 701.0, 5.0)
        >>> curves = np.stack([gaussian_curve(g, m, 50) for m in (600, 530, 460)])
        >>> s = Sensor.from_curves("c", g, curves)
        >>> s.wavelengths.tolist()
        [600.0, 530.0, 460.0]
        """
        g = np.asarray(grid, "float64")
        r = np.asarray(response, "float64")
        centres = [float(g[int(np.argmax(row))]) for row in r]
        widths = [_half_max_width(g, row) for row in r]
        return cls(name=name, band_names=tuple(band_names), wavelengths=np.array(centres),
                   fwhm=np.array(widths), grid=g, response=r, kind=kind, source=source,
                   description=description)


# --------------------------------------------------------------------------- built-ins

_COLOUR_NOTE = "colour-science {version} (colour.characterisation datasets)"


def _colour_camera(key: str, name: str, description: str) -> Sensor:
    colour = import_colour()

    msds = colour.characterisation.MSDS_CAMERA_SENSITIVITIES[key]
    grid = np.asarray(msds.wavelengths, "float64")
    resp = np.asarray(msds.values, "float64").T  # (3, n)
    labels = [str(lbl).lower() for lbl in msds.labels]
    order = [labels.index(c) for c in ("red", "green", "blue")]
    return Sensor.from_curves(
        name, grid, resp[order], kind="measured",
        source=f"'{key}' in colour.characterisation.MSDS_CAMERA_SENSITIVITIES, "
               f"{_COLOUR_NOTE.format(version=colour.__version__)}; measured by the UK "
               "National Physical Laboratory (Darrodi et al. 2015, 'Reference data set for "
               "camera spectral sensitivity estimation', JOSA A 32(3)).",
        description=description)


def _nikon() -> Sensor:
    return _colour_camera("Nikon 5100 (NPL)", "nikon_d5100",
                          "Nikon D5100 DSLR RGB sensitivities, 380-780 nm at 5 nm.")


def _sigma() -> Sensor:
    return _colour_camera("Sigma SDMerill (NPL)", "sigma_sdmerill",
                          "Sigma SD Merrill (Foveon) RGB sensitivities, 400-680 nm at 10 nm.")


def _canon() -> Sensor:
    colour = import_colour()
    from colour.characterisation import aces_it

    path = os.path.join(aces_it.ROOT_RESOURCES_RAWTOACES,
                        "CANON_EOS_5DMark_II_RGB_Sensitivities.csv")
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    return Sensor.from_curves(
        "canon_eos_5d_mark_ii", table[:, 0], table[:, 1:4].T, kind="measured",
        source="CANON_EOS_5DMark_II_RGB_Sensitivities.csv from the RAW-to-ACES (AMPAS) data "
               f"shipped with colour-science {colour.__version__} "
               "(colour.characterisation.aces_it.ROOT_RESOURCES_RAWTOACES; Dyer et al. 2017).",
        description="Canon EOS 5D Mark II RGB sensitivities, 380-780 nm at 5 nm.")


def _cie1931() -> Sensor:
    colour = import_colour()

    cmfs = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"]
    grid = np.asarray(cmfs.wavelengths, "float64")
    resp = np.asarray(cmfs.values, "float64").T
    return Sensor.from_curves(
        "cie1931", grid, resp, band_names=("X", "Y", "Z"), kind="measured",
        source="CIE 1931 2 degree standard observer colour-matching functions "
               f"(colour.MSDS_CMFS, colour-science {colour.__version__}).",
        description="Not a camera: the CIE 1931 2 degree colour-matching functions x-bar, "
                    "y-bar, z-bar used as an XYZ 'sensor'. Channels are X, Y, Z (in that "
                    "order, stored in the red/green/blue slots of an RGB array); "
                    "responses are scaled so the largest value (z-bar peak) is 1.")


_S2_SOURCE = ("ESA Sentinel-2A MSI spectral response (S2-SRF, COPE-GSEG-EOPG-TN-15-0007) "
              "band summary: B4 664.6 nm / 31 nm, B3 559.8 nm / 36 nm, B2 492.4 nm / 66 nm "
              "(central wavelength / bandwidth). Curves here are Gaussians with that "
              "centre and FWHM = published bandwidth, not the measured RSR.")
_L8_SOURCE = ("USGS/NASA Landsat 8 OLI band summary: B4 654.6 nm (636-673), B3 561.4 nm "
              "(533-590), B2 482.0 nm (452-512); widths 37/57/60 nm. Curves here are "
              "Gaussians with that centre and FWHM = published bandwidth, not the measured RSR.")
_L9_SOURCE = ("Landsat 9 OLI-2 is specified to the OLI band edges; nominal centres "
              "654.6/561.4/482.0 nm and widths 37/57/60 nm as for OLI (band-averaged centres "
              "of the measured L9 OLI-2 RSR differ by ~1-2 nm, e.g. blue ~480 nm, green "
              "~559 nm). Gaussian curves, not the measured RSR.")


def _s2() -> Sensor:
    return Sensor.gaussian("sentinel2_msi_rgb", [664.6, 559.8, 492.4], [31.0, 36.0, 66.0],
                           source=_S2_SOURCE,
                           description="Sentinel-2A MSI true colour (B4, B3, B2).")


def _l8() -> Sensor:
    return Sensor.gaussian("landsat8_oli_rgb", [654.6, 561.4, 482.0], [37.0, 57.0, 60.0],
                           source=_L8_SOURCE,
                           description="Landsat 8 OLI true colour (B4, B3, B2).")


def _l9() -> Sensor:
    return Sensor.gaussian("landsat9_oli_rgb", [654.6, 561.4, 482.0], [37.0, 57.0, 60.0],
                           source=_L9_SOURCE,
                           description="Landsat 9 OLI-2 true colour (B4, B3, B2).")


_BUILTINS: dict[str, Callable[[], Sensor]] = {
    "nikon_d5100": _nikon,
    "sigma_sdmerill": _sigma,
    "canon_eos_5d_mark_ii": _canon,
    "cie1931": _cie1931,
    "sentinel2_msi_rgb": _s2,
    "landsat8_oli_rgb": _l8,
    "landsat9_oli_rgb": _l9,
}
_REGISTRY: LazyRegistry[Sensor] = LazyRegistry(
    "sensor", _BUILTINS,
    unknown_hint="pick a listed name or register your own with register_sensor(Sensor(...))")


def list_sensors() -> list[str]:
    """Names of the built-in and registered sensors.

    Returns
    -------
    list of str
        Sorted names accepted by :func:`get_sensor`.

    Examples
    --------
    >>> "nikon_d5100" in list_sensors()
    True
    """
    return _REGISTRY.names()


def get_sensor(name: str | Sensor) -> Sensor:
    """Look up a sensor by name (loaded once, then cached).

    Parameters
    ----------
    name : str or Sensor
        A name from :func:`list_sensors` (case and ``-``/``_`` insensitive), or a
        :class:`Sensor`, returned unchanged.

    Returns
    -------
    Sensor

    Raises
    ------
    UnknownSensorError
        If the name is not known; the message lists the known names.

    Examples
    --------
    >>> get_sensor("Landsat8-OLI-RGB").name
    'landsat8_oli_rgb'
    """
    if isinstance(name, Sensor):
        return name
    return _REGISTRY.get(name)


def register_sensor(sensor: Sensor, *, overwrite: bool = False) -> Sensor:
    """Make a sensor available to :func:`get_sensor` under its name.

    Parameters
    ----------
    sensor : Sensor
        The sensor; its ``name`` is the registry key.
    overwrite : bool
        Replace an existing sensor of the same name.

    Returns
    -------
    Sensor
        The registered sensor.

    Raises
    ------
    ValueError
        If the name is taken and ``overwrite`` is False.

    Examples
    --------
    >>> s = register_sensor(Sensor.gaussian("doc_cam", [610, 540, 465], 45), overwrite=True)
    >>> get_sensor("doc_cam") is s
    True
    """
    if not isinstance(sensor, Sensor):
        raise TypeError(format_message("a Sensor", type(sensor).__name__,
                                       "build one with Sensor(...) or Sensor.gaussian(...)"))
    return _REGISTRY.register(sensor.name, sensor, overwrite=overwrite)
