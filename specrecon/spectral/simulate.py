"""Camera simulation: project cubes through a sensor and render realistic RGB.

:func:`project` is the noise-free linear part (SRF projection).
:func:`simulate_rgb` follows the NTIRE 2022 public camera-simulation recipe,
in this order:

1. projection through the sensor's response curves;
2. analog gains per channel (NTIRE: R/G/B = 2.2933984 / 1 / 1.62308182);
3. auto-exposure: one global scale so the image mean equals ``exposure``
   (fraction of full scale, NTIRE: 0.18);
4. Poisson shot noise with ``photon_scale`` photo-electrons at full scale
   (NTIRE public sample: 750);
5. Gaussian read noise (standard deviation in full-scale units);
6. clipping to [0, 1];
7. quantisation to ``bit_depth`` bits;
8. JPEG compression (Pillow) at ``jpeg_quality``.

Dask. On dask-backed input everything stays lazy: the auto-exposure mean is
a dask reduction and noise is drawn per block with a generator seeded from
``(seed, block position)``. Noise realisations therefore depend on the
chunking (the same seed with other chunks gives other, equally distributed
noise); everything noise-free does not. A numpy input is treated as a single
block at position (0, 0, 0), so a single-chunk dask image reproduces it
exactly. JPEG needs whole images: on dask input it is applied only when each
image is one spatial chunk, otherwise :class:`~specrecon.errors.ChunkingError`
is raised (rechunk with ``.chunk({"y": -1, "x": -1})`` first).

Examples
--------
>>> import numpy as np
>>> from specrecon.cube import make_cube
>>> cube = make_cube(np.full((31, 4, 4), 0.5, "float32"), np.arange(400, 701, 10.0))
>>> rgb = simulate_rgb(cube, "nikon_d5100", photon_scale=None)
>>> rgb.dims, round(float(rgb.mean()), 2)
(('band', 'y', 'x'), 0.18)
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from specrecon.cube import RGB_BAND_NAMES, WAVELENGTH, make_rgb
from specrecon.errors import ChunkingError, ConfigError, EmptyInputError, format_message
from specrecon.spectral.resample import (
    _apply_matrix,
    _carried_coords,
    _copy_grid_mapping,
    _is_dask,
    _split_input,
)
from specrecon.spectral.sensors import Sensor, get_sensor

__all__ = ["project", "simulate_rgb", "NTIRE_GAINS", "projection_matrix"]

#: Analog gains (R, G, B) of the NTIRE 2022 public camera-simulation code.
NTIRE_GAINS: tuple[float, float, float] = (2.2933984, 1.0, 1.62308182)

_NORMALIZE = ("sum", "global", None)


def projection_matrix(sensor: Sensor | str, wavelengths: Sequence[float] | np.ndarray,
                      normalize: str | None = "sum") -> np.ndarray:
    """Sensor weights on a band grid, with the chosen normalisation.

    Parameters
    ----------
    sensor : Sensor or str
        The sensor.
    wavelengths : array-like
        Band centres (nm).
    normalize : {"sum", "global", None}
        ``"sum"``: each channel's weights sum to 1 (a flat spectrum of value v
        gives v in every channel). ``"global"``: all channels divided by the
        largest channel sum (keeps relative channel sensitivities, so white
        balance still needs gains). ``None``: raw response values summed over
        bands.

    Returns
    -------
    numpy.ndarray
        ``(n_channels, n_bands)`` float64.

    Raises
    ------
    EmptyInputError
        If a channel has no response on the given bands.

    Examples
    --------
    >>> m = projection_matrix("nikon_d5100", np.arange(400, 701, 10.0))
    >>> np.allclose(m.sum(axis=1), 1.0)
    True
    """
    if normalize not in _NORMALIZE:
        raise ValueError(format_message('normalize "sum", "global" or None', repr(normalize),
                                        "pick one of them"))
    s = get_sensor(sensor)
    m = np.array(s.matrix_for(wavelengths), dtype="float64")
    sums = m.sum(axis=1)
    if np.any(sums <= 0):
        empty = [s.band_names[i] for i in np.flatnonzero(sums <= 0)]
        raise EmptyInputError(format_message(
            f"bands overlapping every channel of sensor '{s.name}'",
            f"no response for channel(s) {empty} on {np.min(wavelengths):g}-"
            f"{np.max(wavelengths):g} nm", "use a cube that covers the sensor's range"))
    if normalize == "sum":
        m /= sums[:, None]
    elif normalize == "global":
        m /= sums.max()
    return m


def _wrap(out: Any, da: xr.DataArray, sensor: Sensor, attrs: dict[str, Any],
          name: str) -> xr.DataArray:
    ydim, xdim = (d for d in da.dims if d != WAVELENGTH)
    extra = _carried_coords(da)
    if out.shape[0] == 3:
        res = make_rgb(out, y=da[ydim].variable, x=da[xdim].variable, dims=(ydim, xdim),
                       band_wavelengths=sensor.wavelengths, attrs=attrs, extra_coords=extra,
                       name=name)
    else:
        coords = {"band": np.arange(1, out.shape[0] + 1),
                  "band_name": ("band", list(sensor.band_names)),
                  "band_wavelength": ("band", sensor.wavelengths, {"units": "nm"}),
                  ydim: da[ydim].variable, xdim: da[xdim].variable, **extra}
        res = xr.DataArray(out, dims=("band", ydim, xdim), coords=coords, name=name,
                           attrs=attrs)
    if tuple(sensor.band_names) != RGB_BAND_NAMES:
        res.attrs["channel_names"] = list(sensor.band_names)
    return _copy_grid_mapping(da, res)


def project(cube: Any, sensor: Sensor | str, *, normalize: str | None = "sum",
            wavelengths: Sequence[float] | np.ndarray | None = None) -> Any:
    """Noise-free projection of a cube through a sensor's response curves.

    Parameters
    ----------
    cube : xarray.DataArray or numpy.ndarray or dask.array.Array
        A cube ``(wavelength, y, x)``; arrays need ``wavelengths=``.
    sensor : Sensor or str
        The sensor (see :func:`~specrecon.spectral.list_sensors`).
    normalize : {"sum", "global", None}
        Weight normalisation, see :func:`projection_matrix`.
    wavelengths : array-like, optional
        Band centres for array input.

    Returns
    -------
    xarray.DataArray or array
        For xarray input an RGB DataArray (:func:`specrecon.cube.make_rgb`,
        float32, spatial coords / ``spatial_ref`` / attrs-level grid mapping
        kept); for arrays a ``(n_channels, y, x)`` float32 array. Dask stays lazy.

    Examples
    --------
    >>> flat = np.full((31, 2, 3), 0.25, "float32")
    >>> out = project(flat, "sentinel2_msi_rgb", wavelengths=np.arange(400, 701, 10.0))
    >>> out.shape, np.allclose(out, 0.25)
    ((3, 2, 3), True)
    """
    data, wl, da = _split_input(cube, wavelengths, "project")
    s = get_sensor(sensor)
    out = _apply_matrix(projection_matrix(s, wl, normalize), data)
    if da is None:
        return out
    attrs = {"sensor": s.name, "projection_normalize": str(normalize).lower()}
    return _wrap(out, da, s, attrs, "rgb")


# --------------------------------------------------------------------------- noise blocks

def _noise_block(block: np.ndarray, seed: int, photon_scale: float | None,
                 read_noise: float, block_id: tuple[int, ...] = (0, 0, 0)) -> np.ndarray:
    rng = np.random.default_rng([int(seed), *(int(b) for b in block_id)])
    out = np.asarray(block, dtype="float64")
    if photon_scale is not None:
        nodata = np.isnan(out)
        lam = np.clip(np.where(nodata, 0.0, out), 0.0, None) * photon_scale
        out = rng.poisson(lam).astype("float64") / photon_scale
        out[nodata] = np.nan
    if read_noise:
        out = out + rng.normal(0.0, read_noise, size=out.shape)
    return out.astype("float32")


def _jpeg_image(img: np.ndarray, quality: int) -> np.ndarray:
    """JPEG round trip of one (3, H, W) image with values in 0..255 levels / 255."""
    from PIL import Image

    u8 = np.clip(np.rint(np.asarray(img, "float64") * 255.0), 0, 255).astype("uint8")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(u8.transpose(1, 2, 0)), mode="RGB").save(
        buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    dec = np.asarray(Image.open(buf).convert("RGB"), dtype="float32").transpose(2, 0, 1)
    return np.ascontiguousarray(dec) / np.float32(255.0)


def _jpeg_block(block: np.ndarray, quality: int) -> np.ndarray:
    return _jpeg_image(block, quality)


def _check_params(gains: Any, photon_scale: Any, read_noise: float, exposure: Any,
                  bit_depth: Any, jpeg_quality: Any, as_integer: bool,
                  n_channels: int) -> np.ndarray | None:
    g = None
    if gains is not None:
        g = np.asarray(gains, "float64").ravel()
        if g.size != n_channels or np.any(g <= 0):
            raise ConfigError(format_message(f"{n_channels} positive gains", f"{gains!r}",
                                             "pass one gain per channel, or gains=None"))
    if photon_scale is not None and not photon_scale > 0:
        raise ConfigError(format_message(
            "photon_scale > 0 or None", repr(photon_scale),
            "e.g. 750 (NTIRE public sample) or None for no shot noise"))
    if read_noise < 0:
        raise ConfigError(format_message("read_noise >= 0", repr(read_noise),
                                         "pass a standard deviation in full-scale units"))
    if exposure is not None and not 0 < exposure:
        raise ConfigError(format_message("exposure > 0 or None", repr(exposure),
                                         "e.g. 0.18 (mean at 18% of full scale)"))
    if bit_depth is not None and not (isinstance(bit_depth, (int, np.integer))
                                      and 1 <= bit_depth <= 16):
        raise ConfigError(format_message("bit_depth an integer in 1..16 or None",
                                         repr(bit_depth), "e.g. 8"))
    if jpeg_quality is not None:
        if bit_depth != 8:
            raise ConfigError(format_message("bit_depth=8 for JPEG", f"bit_depth={bit_depth}",
                                             "set bit_depth=8 or jpeg_quality=None"))
        if n_channels != 3 or not 1 <= int(jpeg_quality) <= 100:
            raise ConfigError(format_message("jpeg_quality in 1..100 on a 3-channel sensor",
                                             f"{jpeg_quality} with {n_channels} channels",
                                             "e.g. jpeg_quality=65 (NTIRE public sample)"))
    if as_integer and bit_depth is None:
        raise ConfigError(format_message("a bit_depth for as_integer=True", "bit_depth=None",
                                         "set bit_depth (e.g. 8) or as_integer=False"))
    return g


def simulate_rgb(cube: Any, sensor: Sensor | str = "nikon_d5100", *,
                 gains: Sequence[float] | None = NTIRE_GAINS,
                 photon_scale: float | None = None, read_noise: float = 0.0,
                 exposure: float | None = 0.18, clip: bool = True,
                 bit_depth: int | None = 8, jpeg_quality: int | None = None,
                 seed: int = 0, wavelengths: Sequence[float] | np.ndarray | None = None,
                 normalize: str | None = "global", as_integer: bool = False) -> Any:
    """Render a cube as a camera would record it (NTIRE 2022 pipeline).

    Parameters
    ----------
    cube : xarray.DataArray or numpy.ndarray or dask.array.Array
        A cube ``(wavelength, y, x)``; arrays need ``wavelengths=``.
    sensor : Sensor or str
        Camera response (NTIRE used a Basler ace 2, not shipped here).
    gains : sequence of float or None
        Analog gain per channel (R, G, B); None = no gains.
    photon_scale : float or None
        Photo-electrons at full scale for Poisson shot noise (NTIRE public
        sample: 750); None = no shot noise.
    read_noise : float
        Standard deviation of additive Gaussian read noise (full-scale units).
    exposure : float or None
        Auto-exposure target: the image mean after scaling (0.18 = 18 % of
        full scale); None = no auto-exposure.
    clip : bool
        Clip to [0, 1] (highlight clipping). Integer output always clips.
    bit_depth : int or None
        Quantise to ``2**bit_depth`` levels; None = keep floats.
    jpeg_quality : int or None
        JPEG quality (Pillow, default 4:2:0 chroma subsampling); needs
        ``bit_depth=8``; None = no JPEG. See the module notes for dask.
    seed : int
        Seed of the noise generator (deterministic output).
    wavelengths : array-like, optional
        Band centres for array input.
    normalize : {"global", "sum", None}
        Projection weights (see :func:`projection_matrix`). The default keeps
        relative channel sensitivities, so gains act as in a real camera.
    as_integer : bool
        Return ``uint8`` (bit_depth <= 8) or ``uint16`` codes instead of floats.

    Returns
    -------
    xarray.DataArray or array
        float32 in [0, 1] (quantised to the bit-depth levels) or integer codes;
        an RGB DataArray for xarray input (coords/CRS kept, pipeline parameters
        in ``attrs``), else a ``(3, y, x)`` array. Dask stays lazy.

    Raises
    ------
    ConfigError
        For inconsistent settings (JPEG without 8 bits, bad gains, ...).
    ChunkingError
        For JPEG on a dask image split into several spatial chunks.

    Examples
    --------
    >>> cube = np.random.default_rng(0).uniform(0, 1, (31, 8, 8)).astype("float32")
    >>> rgb = simulate_rgb(cube, "nikon_d5100", wavelengths=np.arange(400, 701, 10.0),
    ...                    photon_scale=750, jpeg_quality=65)
    >>> rgb.shape, rgb.dtype.name, bool(rgb.max() <= 1)
    ((3, 8, 8), 'float32', True)
    """
    s = get_sensor(sensor)
    g = _check_params(gains, photon_scale, read_noise, exposure, bit_depth, jpeg_quality,
                      as_integer, s.n_channels)
    data, wl, da = _split_input(cube, wavelengths, "simulate_rgb")
    img = _apply_matrix(projection_matrix(s, wl, normalize), data)
    lazy = _is_dask(img)
    if g is not None:
        img = img * g.astype("float32")[:, None, None]
    if exposure is not None:
        # NaN (nodata) pixels are ignored by the exposure mean and stay NaN
        if lazy:
            import dask.array as dsa

            mean = dsa.nanmean(img, dtype="float64")
            scale = dsa.where(mean > 0, exposure / dsa.where(mean > 0, mean, 1.0), 1.0)
        else:
            with np.errstate(invalid="ignore"):
                mean = np.nanmean(img, dtype="float64") if np.isfinite(img).any() else 0.0
            scale = exposure / mean if mean > 0 else 1.0
        img = (img * scale).astype("float32")
    if photon_scale is not None or read_noise:
        if lazy:
            img = img.map_blocks(_noise_block, seed, photon_scale, read_noise,
                                 dtype="float32", meta=np.empty((0, 0, 0), "float32"))
        else:
            img = _noise_block(img, seed, photon_scale, read_noise)
    if clip or as_integer:
        img = img.clip(0.0, 1.0)
    if bit_depth is not None:
        levels = float(2 ** int(bit_depth) - 1)
        img = (img * levels).round() / levels
    if jpeg_quality is not None:
        if lazy:
            if img.numblocks[1] != 1 or img.numblocks[2] != 1:
                raise ChunkingError(format_message(
                    "one spatial chunk per image for JPEG on dask input",
                    f"chunks {img.chunks[1:]}",
                    "rechunk with .chunk({'y': -1, 'x': -1}), or set jpeg_quality=None"))
            img = img.rechunk({0: -1}).map_blocks(_jpeg_block, int(jpeg_quality),
                                                  dtype="float32")
        else:
            img = _jpeg_image(img, int(jpeg_quality))
    if as_integer:
        code_dtype = "uint8" if bit_depth <= 8 else "uint16"
        img = (img * float(2 ** int(bit_depth) - 1)).round().astype(code_dtype)
    else:
        img = img.astype("float32")
    if da is None:
        return img
    attrs = {
        "sensor": s.name,
        "simulation": "projection>gains>auto_exposure>shot_noise>read_noise>clip>quantise>jpeg",
        "gains": [float(v) for v in g] if g is not None else "none",
        "photon_scale": float(photon_scale) if photon_scale is not None else "none",
        "read_noise": float(read_noise),
        "exposure": float(exposure) if exposure is not None else "none",
        "clip": int(bool(clip or as_integer)),
        "bit_depth": int(bit_depth) if bit_depth is not None else "none",
        "jpeg_quality": int(jpeg_quality) if jpeg_quality is not None else "none",
        "seed": int(seed),
        "projection_normalize": str(normalize).lower(),
        "noise_chunk_dependent": int(bool(lazy and (photon_scale is not None or read_noise))),
    }
    return _wrap(img, da, s, attrs, "rgb")
