"""Synthetic ``(rgb, cube)`` scenes for demos, tests and the shipped default weights.

**Everything here is synthetic.** No hyperspectral data set can be downloaded at
run time, so these generators stand in for ARAD-1K (close-range, 31 bands) and
HySpecNet-11k (EnMAP, 202 bands). Every cube and RGB they return carries
``attrs["synthetic"] = 1`` and an ``attrs["source"]`` starting with
``"specrecon synthetic"``.

- :func:`natural_scene`: 31 bands (``arad31``), radiance-like = *measured*
  reflectance spectra (colour-science: ColorChecker, 190-patch RAW-to-ACES set,
  PMC chart, CIE/CQS test samples) x a CIE illuminant, arranged as soft-edged
  Voronoi regions and elliptical objects with shading, cast shadows and texture.
- :func:`satellite_scene`: 202 bands (``hyspecnet202``), surface reflectance of an
  agricultural landscape: PROSAIL canopies (PROSPECT-D + 4SAIL) and soils,
  parametric water / asphalt / concrete / roof spectra; parcels, tracks, roads,
  lakes, rivers and towns. Georeferenced (rioxarray) and, with ``chunks=``, built
  lazily with dask; a pixel's value never depends on the chunking, because every
  random quantity is a hash of the seed and the pixel's *global* position.
- :func:`natural_dataset` / :func:`satellite_dataset`: lists of independent scenes
  for training and validation.

Examples
--------
>>> from specrecon.datasets.synthetic import natural_scene, satellite_scene
>>> rgb, cube = natural_scene(64, 64, seed=1)
>>> cube.sizes["wavelength"], rgb.sizes["band"], cube.attrs["synthetic"]
(31, 3, 1)
>>> scene = satellite_scene(64, 64, seed=1, chunks=32)
>>> scene.cube.chunks[1], str(scene.cube.rio.crs)
((32, 32), 'EPSG:32633')
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from specrecon.cube import make_cube
from specrecon.datasets._spectra_library import (
    CAB_LEVELS,
    DAYLIGHT_CCT_RANGE,
    DAYLIGHT_ILLUMINANTS,
    LAI_LEVELS,
    REAL_ILLUMINANTS,
    SpectralLibrary,
    daylight_spectrum,
    derived_reflectances,
    illuminant_spectrum,
    measured_reflectances,
    measured_sources,
    satellite_library,
)
from specrecon.errors import ChunkingError, ConfigError, SpatialDimensionError, format_message

__all__ = [
    "DAYLIGHT_ILLUMINANTS",
    "DEFAULT_NATURAL_SIMULATE",
    "DEFAULT_SATELLITE_SIMULATE",
    "LAND_COVER_CLASSES",
    "REAL_ILLUMINANTS",
    "SATELLITE_SURFACES",
    "Scene",
    "natural_dataset",
    "natural_library",
    "natural_scene",
    "satellite_dataset",
    "satellite_land_cover",
    "satellite_scene",
    "scene_seeds",
]

#: Land-cover codes of :func:`satellite_land_cover` (dominant surface of a pixel).
LAND_COVER_CLASSES: dict[int, str] = {
    0: "crop", 1: "grassland", 2: "forest", 3: "bare soil", 4: "urban", 5: "road", 6: "water",
    7: "snow and ice", 8: "rock", 9: "dry vegetation", 10: "burned",
}
#: Surface sets of :func:`satellite_scene` (``surfaces=``).
SATELLITE_SURFACES: tuple[str, ...] = ("basic", "extended")

#: Default ``simulate`` keywords of :func:`natural_scene` (passed to
#: :func:`specrecon.spectral.simulate_rgb`): the NTIRE 2022 recipe without its
#: noise -- NTIRE analog gains, auto-exposure to a mean of 0.18, 8-bit
#: quantisation; no shot/read noise, no JPEG. Add ``photon_scale=750,
#: jpeg_quality=65`` for the NTIRE public-sample degradation.
DEFAULT_NATURAL_SIMULATE: dict[str, Any] = {
    "exposure": 0.18, "photon_scale": None, "read_noise": 0.0, "bit_depth": 8,
    "jpeg_quality": None,
}
#: Default ``simulate`` keywords of :func:`satellite_scene`: a noise-free
#: *reflectance* composite -- each channel is the SRF-weighted mean reflectance
#: (``normalize="sum"``), no gains, no auto-exposure (which would need a global
#: reduction over the whole lazy scene), float output. Chunk-independent.
DEFAULT_SATELLITE_SIMULATE: dict[str, Any] = {
    "gains": None, "exposure": None, "normalize": "sum", "photon_scale": None,
    "read_noise": 0.0, "bit_depth": None, "jpeg_quality": None,
}


class Scene(NamedTuple):
    """A synthetic scene: the simulated RGB image and its ground-truth cube.

    Attributes
    ----------
    rgb : xarray.DataArray
        ``("band", y, x)`` float32 in [0, 1] (see :func:`specrecon.cube.make_rgb`).
    cube : xarray.DataArray
        ``("wavelength", y, x)`` float32 (see :func:`specrecon.cube.make_cube`).
    """

    rgb: xr.DataArray
    cube: xr.DataArray


# =========================================================================== noise
# Counter-based randomness: a value is a pure function of (seed, stream, integer
# keys), so it does not depend on evaluation order, block layout or threads.

_MASK64 = (1 << 64) - 1
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


def _mix64(h: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrap-around arithmetic)."""
    h = h ^ (h >> _S30)
    h = h * _C1
    h = h ^ (h >> _S27)
    h = h * _C2
    return h ^ (h >> _S31)


def _hash(seed: int, stream: int, *keys: Any) -> np.ndarray:
    """uint64 hash of integer key arrays (broadcast together)."""
    start = (int(seed) * 0x100000001B3 + int(stream) * 0x9E3779B1 + 0x2545F491) & _MASK64
    shape = np.broadcast_shapes(*[np.shape(k) for k in keys]) if keys else ()
    with np.errstate(over="ignore"):
        h = _mix64(np.full(shape, start, dtype=np.uint64))
        for k in keys:
            ku = np.asarray(k, dtype=np.int64).astype(np.uint64)
            h = _mix64(h ^ (ku + _GOLDEN))
    return h


def _uniform(seed: int, stream: int, *keys: Any) -> np.ndarray:
    """Uniform float64 in [0, 1) from :func:`_hash`."""
    return (_hash(seed, stream, *keys) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _smooth(t: np.ndarray) -> np.ndarray:
    return t * t * (3.0 - 2.0 * t)


def _smoothstep(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    return _smooth(np.clip((x - lo) / (hi - lo), 0.0, 1.0))


def _value_noise(y: np.ndarray, x: np.ndarray, cell: float, seed: int, stream: int) -> np.ndarray:
    """Smooth lattice noise in [0, 1] with lattice spacing ``cell`` (pixels)."""
    gy = y / cell
    gx = x / cell
    fy0 = np.floor(gy)
    fx0 = np.floor(gx)
    ty = _smooth(gy - fy0)
    tx = _smooth(gx - fx0)
    iy = fy0.astype(np.int64)
    ix = fx0.astype(np.int64)
    v00 = _uniform(seed, stream, iy, ix)
    v01 = _uniform(seed, stream, iy, ix + 1)
    v10 = _uniform(seed, stream, iy + 1, ix)
    v11 = _uniform(seed, stream, iy + 1, ix + 1)
    top = v00 + (v01 - v00) * tx
    bottom = v10 + (v11 - v10) * tx
    return top + (bottom - top) * ty


def _fbm(y: np.ndarray, x: np.ndarray, cell: float, seed: int, stream: int,
         octaves: int = 4, gain: float = 0.5) -> np.ndarray:
    """Fractal (multi-octave) value noise in [0, 1], mean ~0.5."""
    total = np.zeros(np.broadcast_shapes(np.shape(y), np.shape(x)))
    amp, norm = 1.0, 0.0
    for o in range(octaves):
        total += amp * _value_noise(y, x, max(cell / (2 ** o), 1e-3), seed, stream * 64 + o)
        norm += amp
        amp *= gain
    return total / norm


def _coverage(dist: np.ndarray, width: float) -> np.ndarray:
    """Fraction of a unit pixel covered by a strip of ``width`` px whose centre line
    lies ``dist`` px from the pixel centre (1-D, axis-aligned approximation)."""
    return np.clip(np.minimum(dist + 0.5, width / 2) - np.maximum(dist - 0.5, -width / 2), 0.0, 1.0)


@dataclass
class _Voronoi:
    key1: np.ndarray   # int64 id of the nearest site
    key2: np.ndarray   # int64 id of the second nearest site
    edge: np.ndarray   # distance (px) to the bisector between them


def _jittered_voronoi(u: np.ndarray, v: np.ndarray, su: float, sv: float, seed: int,
                      stream: int, jitter: float, reach: tuple[int, int] = (1, 2)) -> _Voronoi:
    """Voronoi cells of one jittered site per ``su x sv`` lattice cell, in (u, v) pixels.

    A pixel only looks at the sites of nearby lattice cells (``reach``), so the
    result is a function of its own coordinates alone.
    """
    cu = np.floor(u / su).astype(np.int64)
    cv = np.floor(v / sv).astype(np.int64)
    shape = np.broadcast_shapes(u.shape, v.shape)
    d1 = np.full(shape, np.inf)
    d2 = np.full(shape, np.inf)
    k1 = np.zeros(shape, np.int64)
    k2 = np.zeros(shape, np.int64)
    p1u, p1v, p2u, p2v = (np.zeros(shape) for _ in range(4))
    for du in range(-reach[0], reach[0] + 1):
        for dv in range(-reach[1], reach[1] + 1):
            nu = cu + du
            nv = cv + dv
            pu = (nu + 0.5 + jitter * (_uniform(seed, stream, nu, nv) - 0.5)) * su
            pv = (nv + 0.5 + jitter * (_uniform(seed, stream + 1, nu, nv) - 0.5)) * sv
            d = (u - pu) ** 2 + (v - pv) ** 2
            key = nu * 1_000_003 + nv
            first = d < d1
            second = ~first & (d < d2)
            # the old nearest becomes second where a new nearest appears
            d2 = np.where(first, d1, np.where(second, d, d2))
            k2 = np.where(first, k1, np.where(second, key, k2))
            p2u = np.where(first, p1u, np.where(second, pu, p2u))
            p2v = np.where(first, p1v, np.where(second, pv, p2v))
            d1 = np.where(first, d, d1)
            k1 = np.where(first, key, k1)
            p1u = np.where(first, pu, p1u)
            p1v = np.where(first, pv, p1v)
    sep = np.sqrt((p2u - p1u) ** 2 + (p2v - p1v) ** 2)
    edge = (d2 - d1) / (2.0 * np.maximum(sep, 1e-9))
    return _Voronoi(k1, k2, edge)


class _Mixer:
    """Collects per-pixel linear mixtures ``sum_k weight_k * library[index_k]``.

    :meth:`result` evaluates them as one sparse (pixels x library) matrix times
    the library; zero weights are dropped. A pixel's sum runs over its own
    entries in the order of the :meth:`add` calls, identical for every block, so
    results do not depend on the chunking.
    """

    def __init__(self, library: np.ndarray, shape: tuple[int, int]) -> None:
        self.lib = library
        self.shape = shape
        self.index: list[np.ndarray] = []
        self.weight: list[np.ndarray] = []

    def add(self, index: Any, weight: Any) -> None:
        self.weight.append(np.broadcast_to(np.asarray(weight, np.float32), self.shape).ravel())
        self.index.append(np.broadcast_to(np.asarray(index, np.int32), self.shape).ravel())

    def result(self) -> np.ndarray:
        """``(n_pixels, n_bands)`` float32 mixtures."""
        import scipy.sparse as sp

        npix = self.shape[0] * self.shape[1]
        if not self.weight:
            return np.zeros((npix, self.lib.shape[1]), np.float32)
        w = np.stack(self.weight, axis=1)           # (npix, K), row-major: pixel by pixel
        i = np.stack(self.index, axis=1)
        keep = w != 0
        counts = keep.sum(axis=1)
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        mat = sp.csr_matrix((w[keep], i[keep], indptr), shape=(npix, self.lib.shape[0]))
        return np.asarray(mat @ self.lib, dtype=np.float32)


def _check_size(height: Any, width: Any) -> tuple[int, int]:
    ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0
             for v in (height, width))
    if not ok:
        raise SpatialDimensionError(format_message(
            "positive integer height and width", f"height={height!r}, width={width!r}",
            "pass the scene size in pixels, e.g. height=256, width=256"))
    return int(height), int(width)


def _simulate(cube: xr.DataArray, sensor: str, simulate: Mapping[str, Any] | None,
              default: Mapping[str, Any], seed: int) -> xr.DataArray:
    """RGB through :func:`specrecon.spectral.simulate_rgb`; noise (if any) seeded per scene."""
    from specrecon.spectral import simulate_rgb

    kwargs = dict(default if simulate is None else simulate)
    kwargs.setdefault("seed", int(seed))
    return simulate_rgb(cube, sensor, **kwargs)


def _label(rgb: xr.DataArray, attrs: Mapping[str, Any]) -> xr.DataArray:
    """Copy the provenance attributes onto the RGB (its ``seed`` stays the noise seed)."""
    rgb.attrs.update({k: v for k, v in attrs.items() if k in ("source", "synthetic", "scene")})
    rgb.attrs["scene_seed"] = attrs["seed"]
    return rgb


# =========================================================================== natural

def natural_library(exclude_sources: Sequence[str] = ()) -> SpectralLibrary:
    """The measured reflectance library of :func:`natural_scene` on the ``arad31`` grid.

    Parameters
    ----------
    exclude_sources : sequence of str
        Measured sources to leave out, by the set name before the ``":"`` of the
        labels (see :func:`specrecon.datasets._spectra_library.measured_sources`),
        e.g. sources held out for validation.

    Returns
    -------
    SpectralLibrary
        ``values`` ``(n_spectra, 31)`` float32 in [0, 1], ``names`` like
        ``"colorchecker_babel:dark skin"``; see
        :func:`specrecon.datasets._spectra_library.measured_reflectances`.

    Raises
    ------
    ConfigError
        If a name in ``exclude_sources`` is not a known source, or nothing is left.

    Examples
    --------
    >>> lib = natural_library()
    >>> lib.values.shape[1], len(lib.names) > 300
    (31, True)
    >>> len(natural_library(exclude_sources=["pmc"]).names) == len(lib.names) - 30
    True
    """
    from specrecon.spectral import get_bandset

    bs = get_bandset("arad31")
    lib = measured_reflectances(tuple(bs.wavelengths.tolist()), tuple(bs.fwhm.tolist()))
    drop = tuple(str(x) for x in exclude_sources)
    if not drop:
        return lib
    known = measured_sources()
    unknown = [x for x in drop if x not in known]
    if unknown:
        raise ConfigError(format_message(f"source names among {list(known)}", repr(unknown),
                                         "use the set names before ':' in natural_library().names"))
    keep = np.array([n.split(":", 1)[0] not in drop for n in lib.names])
    if not keep.any():
        raise ConfigError(format_message("at least one measured source left", "all excluded",
                                         "exclude fewer sources"))
    return SpectralLibrary(values=lib.values[keep], names=tuple(np.asarray(lib.names)[keep]),
                           wavelengths=lib.wavelengths, fwhm=lib.fwhm,
                           source=lib.source + f" (excluded: {', '.join(drop)})")


def _illuminant_for(illuminant: str | Sequence[str] | None, seed: int,
                    bs: Any) -> tuple[str, np.ndarray]:
    """(name, band spectrum) of a scene's illuminant; ``"daylight"`` draws a CIE D-series CCT."""
    if illuminant is None or not isinstance(illuminant, str):
        choices = REAL_ILLUMINANTS if illuminant is None else tuple(illuminant)
        if not choices:
            raise ConfigError(format_message("at least one illuminant name", "an empty sequence",
                                             "pass e.g. DAYLIGHT_ILLUMINANTS or None"))
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x111]))
        illuminant = str(choices[int(rng.integers(len(choices)))])
    wl, fw = tuple(bs.wavelengths.tolist()), tuple(bs.fwhm.tolist())
    if illuminant == "daylight":
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x112]))
        lo, hi = DAYLIGHT_CCT_RANGE
        cct = 1e6 / rng.uniform(1e6 / hi, 1e6 / lo)
        cct = round(cct / 10.0) * 10.0
        return f"daylight {cct:.0f} K", daylight_spectrum(cct, wl, fw)
    return illuminant, illuminant_spectrum(illuminant, wl, fw)


def _check_range(value: Any, name: str, lo: float, hi: float) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(format_message(f"{name} as a (low, high) pair", repr(value),
                                         f"pass e.g. {name}=({lo}, {hi})")) from None
    if not (lo <= a <= b <= hi):
        raise ConfigError(format_message(f"{name} with {lo} <= low <= high <= {hi}",
                                         repr(value), "fix the range"))
    return a, b


def _degradation(seed: int, simulate: Mapping[str, Any] | None, default: Mapping[str, Any],
                 exposure_range: Any, photon_scale_range: Any,
                 jpeg_quality_range: Any) -> dict[str, Any]:
    """``simulate`` keywords of one scene with its randomised exposure / noise / JPEG."""
    kw = dict(default if simulate is None else simulate)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xDE9]))
    er = _check_range(exposure_range, "exposure_range", 1e-3, 1.0)
    pr = _check_range(photon_scale_range, "photon_scale_range", 1.0, 1e9)
    jr = _check_range(jpeg_quality_range, "jpeg_quality_range", 1, 100)
    if er is not None:
        kw["exposure"] = float(rng.uniform(*er))
    if pr is not None:   # log-uniform photo-electrons at full scale
        kw["photon_scale"] = float(np.exp(rng.uniform(np.log(pr[0]), np.log(pr[1]))))
    if jr is not None:
        kw["jpeg_quality"] = int(rng.integers(int(jr[0]), int(jr[1]) + 1))
        kw["bit_depth"] = 8
    return kw


def _ellipse(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, a: float, b: float,
             th: float, soft: float) -> tuple[np.ndarray, np.ndarray]:
    """Soft-edged ellipse: coverage alpha in [0, 1] and normalised radius rho."""
    du, dv = xx - cx, yy - cy
    u = du * np.cos(th) + dv * np.sin(th)
    v = -du * np.sin(th) + dv * np.cos(th)
    rho = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    alpha = _smoothstep(0.0, 1.0, (1.0 - rho) * min(a, b) / soft)
    return alpha, rho


def _natural_data(height: int, width: int, seed: int, lib: np.ndarray,
                  illum: np.ndarray) -> np.ndarray:
    """Radiance-like ``(bands, height, width)`` float32 of one natural scene."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x4E47]))
    n_lib = lib.shape[0]
    yy = (np.arange(height, dtype=np.float64) + 0.5)[:, None]
    xx = (np.arange(width, dtype=np.float64) + 0.5)[None, :]
    size = float(max(height, width))

    # --- background regions: Voronoi sites with soft, blended borders
    n_reg = int(rng.integers(10, 36))
    sites = rng.uniform(0.0, 1.0, (n_reg, 2)) * [height, width]
    base = rng.choice(n_lib, n_reg, replace=n_reg > n_lib)
    alt = rng.choice(n_lib, n_reg)
    textured = rng.random(n_reg) < 0.3
    pattern_kind = rng.integers(0, 2, n_reg)          # 0 fBm blotches, 1 stripes
    pattern_angle = rng.uniform(0.0, np.pi, n_reg)
    pattern_period = rng.uniform(4.0, 24.0, n_reg)
    blend = rng.uniform(1.0, 4.0)
    d = (yy[..., None] - sites[:, 0]) ** 2 + (xx[..., None] - sites[:, 1]) ** 2  # (h, w, n)
    order = np.argsort(d, axis=-1)[..., :2]
    r1, r2 = order[..., 0], order[..., 1]
    d1 = np.take_along_axis(d, order[..., :1], -1)[..., 0]
    d2 = np.take_along_axis(d, order[..., 1:2], -1)[..., 0]
    sep = np.sqrt(((sites[r1] - sites[r2]) ** 2).sum(-1))
    edge = (d2 - d1) / (2.0 * np.maximum(sep, 1e-9))
    w2 = 0.5 * (1.0 - _smoothstep(0.0, blend, edge))
    blotch = _fbm(yy, xx, rng.uniform(6.0, 20.0), seed, 11, octaves=3)
    mixer = _Mixer(lib, (height, width))
    for reg, wreg in ((r1, 1.0 - w2), (r2, w2)):
        ang = pattern_angle[reg]
        stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (xx * np.cos(ang) + yy * np.sin(ang))
                                     / pattern_period[reg])
        pat = np.where(pattern_kind[reg] == 1, _smoothstep(0.3, 0.7, stripes),
                       _smoothstep(0.4, 0.6, blotch))
        p = np.where(textured[reg], pat, 0.0)
        mixer.add(base[reg], wreg * (1.0 - p))
        mixer.add(alt[reg], wreg * p)
    refl = mixer.result()

    # --- objects: soft ellipses painted in order, with rounded shading and cast shadows
    shade = np.ones((height, width))
    n_obj = int(rng.integers(3, 12))
    sun = rng.uniform(0.0, 2 * np.pi)
    shadow_len = rng.uniform(0.0, 0.06) * size
    sdy, sdx = shadow_len * np.sin(sun), shadow_len * np.cos(sun)
    for _ in range(n_obj):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        a, b = rng.uniform(0.04, 0.22, 2) * size
        th = rng.uniform(0.0, np.pi)
        soft = rng.uniform(0.7, 3.0)
        mat = int(rng.integers(0, n_lib))
        bulge = rng.uniform(0.1, 0.6)

        shadow, _ = _ellipse(yy, xx, cy + sdy, cx + sdx, a, b, th, soft)
        shade *= 1.0 - 0.45 * shadow
        alpha, rho = _ellipse(yy, xx, cy, cx, a, b, th, soft)
        shade = shade * (1.0 - alpha) + alpha * (1.0 - bulge * np.minimum(rho, 1.0) ** 2)
        af = alpha.astype(np.float32).ravel()[:, None]
        refl *= 1.0 - af
        refl += af * lib[mat][None, :]

    # --- illumination: smooth gradient, low-frequency variation, fine texture
    ang = rng.uniform(0.0, 2 * np.pi)
    ramp = ((xx - width / 2) * np.cos(ang) + (yy - height / 2) * np.sin(ang)) / size + 0.5
    grad = 1.0 - rng.uniform(0.1, 0.5) * np.clip(ramp, 0.0, 1.0)
    low = 1.0 - 0.3 * _fbm(yy, xx, size / 2.0, seed, 12, octaves=2)
    fine = 1.0 + 0.16 * (_fbm(yy, xx, rng.uniform(2.0, 6.0), seed, 13, octaves=3) - 0.5)
    level = rng.uniform(0.75, 1.0)
    shading = np.clip(level * grad * low * shade * fine, 0.02, 1.0).astype(np.float32)
    radiance = refl * shading.ravel()[:, None] * illum[None, :]
    return np.ascontiguousarray(radiance.T.reshape(lib.shape[1], height, width))


def natural_scene(height: int = 256, width: int = 256, *, seed: int = 0,
                  sensor: str = "nikon_d5100",
                  illuminant: str | Sequence[str] | None = "D65",
                  simulate: Mapping[str, Any] | None = None,
                  exclude_sources: Sequence[str] = (), derived_spectra: int = 0,
                  exposure_range: tuple[float, float] | None = None,
                  photon_scale_range: tuple[float, float] | None = None,
                  jpeg_quality_range: tuple[int, int] | None = None) -> Scene:
    """A synthetic close-range scene: measured reflectances x a CIE illuminant, 31 bands.

    The cube is radiance-like: ``reflectance x shading x illuminant`` on the
    ``arad31`` grid (400-700 nm, 10 nm), with the illuminant scaled to a maximum
    of 1 and shading <= 1, so values lie in [0, 1]. Reflectances are *measured*
    spectra shipped by colour-science (see :func:`natural_library`); the layout is
    random: 10-35 Voronoi regions with blended borders (30 % of them textured
    mixtures of two materials: blotches or stripes), 3-11 soft elliptical objects
    with rounded shading and cast shadows, an illumination gradient,
    low-frequency light variation and fine multiplicative texture. Shading is
    achromatic, so an unmixed pixel is exactly a library spectrum x illuminant
    up to a scalar.

    Parameters
    ----------
    height, width : int
        Size in pixels.
    seed : int
        Everything (layout, materials, illuminant when random) follows from it.
    sensor : str
        Camera for the RGB image (:func:`specrecon.spectral.get_sensor` name).
    illuminant : str, sequence of str or None
        ``colour.SDS_ILLUMINANTS`` key (``"D65"``, ``"A"``, ``"FL11"``,
        ``"LED-B3"``, ...), or ``"daylight"``: a CIE D-series daylight at a random
        correlated colour temperature in
        :data:`~specrecon.datasets._spectra_library.DAYLIGHT_CCT_RANGE` (uniform
        in mired); a sequence of those to draw one from by ``seed`` (e.g.
        :data:`DAYLIGHT_ILLUMINANTS`; repeat an entry to make it likelier); or
        None for a random one of :data:`REAL_ILLUMINANTS`.
    simulate : mapping, optional
        Keywords for :func:`specrecon.spectral.simulate_rgb`; None uses
        :data:`DEFAULT_NATURAL_SIMULATE`.
    exclude_sources : sequence of str
        Measured reflectance sources to leave out (see :func:`natural_library`),
        e.g. the sources of a held-out validation set.
    derived_spectra : int
        Number of extra reflectances derived for this scene from the measured ones
        (mixtures and smooth principal-component perturbations, see
        :func:`specrecon.datasets._spectra_library.derived_reflectances`, seeded
        by ``seed``); regions and objects draw from measured and derived spectra
        alike. 0 (default): measured spectra only.
    exposure_range : (float, float), optional
        Draw the auto-exposure target (image mean, fraction of full scale) of
        this scene uniformly from this range instead of ``simulate["exposure"]``.
    photon_scale_range : (float, float), optional
        Draw the shot-noise level (photo-electrons at full scale) log-uniformly
        from this range (NTIRE's public sample: 750).
    jpeg_quality_range : (int, int), optional
        Draw a JPEG quality from this range (NTIRE's public sample: 65); implies
        8-bit quantisation.

    Returns
    -------
    Scene
        ``(rgb, cube)``; both carry ``attrs["synthetic"] = 1``, ``"source"``,
        ``"seed"`` (on the RGB ``"scene_seed"``; its ``"seed"`` is the noise seed);
        the cube also ``"illuminant"``.

    Examples
    --------
    >>> rgb, cube = natural_scene(32, 48, seed=3, illuminant="A")
    >>> cube.shape, rgb.shape, cube.attrs["illuminant"]
    ((31, 32, 48), (3, 32, 48), 'A')
    >>> bool(0 <= float(cube.min()) and float(cube.max()) <= 1)
    True
    """
    from specrecon.spectral import get_bandset

    height, width = _check_size(height, width)
    bs = get_bandset("arad31")
    lib = natural_library(exclude_sources)
    values = lib.values
    n_derived = int(derived_spectra)
    if n_derived < 0:
        raise ConfigError(format_message("derived_spectra >= 0", repr(derived_spectra),
                                         "pass 0 (measured spectra only) or a positive count"))
    if n_derived:
        values = np.concatenate([values, derived_reflectances(values, n_derived, seed)])
    illuminant, illum = _illuminant_for(illuminant, seed, bs)
    sim = _degradation(seed, simulate, DEFAULT_NATURAL_SIMULATE, exposure_range,
                       photon_scale_range, jpeg_quality_range)
    data = _natural_data(height, width, seed, values, illum)
    attrs = {
        "source": "specrecon synthetic natural scene: measured colour-science reflectances"
                  + (f" and {n_derived} derived from them" if n_derived else "")
                  + f" x CIE illuminant {illuminant} (not real imagery)",
        "synthetic": 1,
        "scene": "natural",
        "seed": int(seed),
        "illuminant": illuminant,
        "quantity": "radiance-like (reflectance x illuminant, max-normalised)",
    }
    if exclude_sources:
        attrs["excluded_sources"] = ", ".join(str(x) for x in exclude_sources)
    cube = make_cube(data, bs.wavelengths, bs.fwhm, good_band=bs.good, attrs=attrs)
    rgb = _label(_simulate(cube, sensor, sim, DEFAULT_NATURAL_SIMULATE, seed), attrs)
    rgb.attrs.setdefault("sensor", sensor)
    return Scene(rgb, cube)


# =========================================================================== satellite

@dataclass(frozen=True)
class _SatParams:
    """Global (seed-level) layout parameters of a satellite scene, in pixels."""

    seed: int
    theta: float            # parcel grid orientation (rad)
    parcel_u: float         # parcel lattice spacing along / across (px)
    parcel_v: float
    p_track: float          # probability that a parcel border carries a track
    track_w: float          # track width (px)
    road_cell: float        # spacing of the road network (px)
    road_w: float           # road width (px)
    water_cell: float
    water_thr: float
    river_cell: float
    river_w: float          # 0: no river
    urban_cell: float
    urban_thr: float
    block: float            # urban block spacing (px)
    street_w: float
    field_cell: float       # within-field variation scale (px)
    class_p: tuple[float, float, float, float]  # bare soil, grassland, forest, crop (cumulative)
    surfaces: str = "basic"
    residuals: float = 0.0  # amplitude of illumination / atmospheric residuals (0: none)
    p_dry: float = 0.0      # extended: share of crop parcels that are dry / senescent
    snow_cell: float = 0.0  # extended: 0 = no snow in this scene
    snow_thr: float = 1.0
    burn_cell: float = 0.0  # extended: 0 = no burn scar
    burn_thr: float = 1.0
    rock_cell: float = 0.0  # extended: 0 = no rock outcrops
    rock_thr: float = 1.0
    minor_cell: float = 0.0  # extended: minor road / track network spacing (px)
    minor_w: float = 0.0     # its width (px)
    stream_cell: float = 0.0  # extended: 0 = no stream
    stream_w: float = 0.0     # stream width (px)
    soil_shapes: bool = False  # bare soils mixed with an iron-oxide-darkened copy


def _sat_params(seed: int, resolution: float, surfaces: str = "basic",
                residuals: float = 0.0, soil_shapes: bool = False) -> _SatParams:
    if surfaces not in SATELLITE_SURFACES:
        raise ConfigError(format_message(f"surfaces among {list(SATELLITE_SURFACES)}",
                                         repr(surfaces), "pass surfaces='extended' or 'basic'"))
    if not (np.isfinite(residuals) and 0.0 <= residuals <= 5.0):
        raise ConfigError(format_message("residuals in [0, 5]", repr(residuals),
                                         "pass 0 (none) or e.g. 1.0"))
    if not isinstance(soil_shapes, (bool, np.bool_)):
        raise ConfigError(format_message("soil_shapes as true or false", repr(soil_shapes),
                                         "pass soil_shapes=True to vary the soils' slope"))
    base = dataclasses.replace(_sat_params_basic(seed, resolution), soil_shapes=bool(soil_shapes))
    if surfaces == "basic":
        return dataclasses.replace(base, residuals=float(residuals))
    # extended layout: its own random stream, so the basic parameters stay as they were
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xE5A7]))
    px = 1.0 / float(resolution)
    return dataclasses.replace(
        base, surfaces=surfaces, residuals=float(residuals), p_dry=rng.uniform(0.05, 0.35),
        snow_cell=rng.uniform(2000.0, 6000.0) * px if rng.random() < 0.25 else 0.0,
        snow_thr=rng.uniform(0.6, 0.7),
        burn_cell=rng.uniform(1000.0, 4000.0) * px if rng.random() < 0.35 else 0.0,
        burn_thr=rng.uniform(0.66, 0.74),
        rock_cell=rng.uniform(1500.0, 5000.0) * px if rng.random() < 0.4 else 0.0,
        rock_thr=rng.uniform(0.64, 0.72),
        minor_cell=rng.uniform(700.0, 2000.0) * px, minor_w=rng.uniform(4.0, 10.0) * px,
        stream_cell=rng.uniform(2000.0, 6000.0) * px if rng.random() < 0.7 else 0.0,
        stream_w=rng.uniform(8.0, 40.0) * px)


def _sat_params_basic(seed: int, resolution: float) -> _SatParams:
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5A7]))
    px = 1.0 / float(resolution)        # pixels per metre
    elong = rng.uniform(1.0, 2.0)
    size = rng.uniform(300.0, 700.0)
    p_bare, p_grass, p_forest = (rng.uniform(0.06, 0.2), rng.uniform(0.05, 0.18),
                                 rng.uniform(0.04, 0.15))
    return _SatParams(
        seed=int(seed), theta=rng.uniform(0.0, np.pi), parcel_u=size * elong * px,
        parcel_v=size / elong * px, p_track=rng.uniform(0.1, 0.4),
        track_w=rng.uniform(4.0, 9.0) * px,
        road_cell=rng.uniform(3000.0, 7000.0) * px, road_w=rng.uniform(12.0, 30.0) * px,
        water_cell=rng.uniform(2500.0, 6000.0) * px,
        water_thr=rng.uniform(0.66, 0.74), river_cell=rng.uniform(5000.0, 12000.0) * px,
        river_w=rng.uniform(0.006, 0.014) if rng.random() < 0.6 else 0.0,
        urban_cell=rng.uniform(3000.0, 7000.0) * px, urban_thr=rng.uniform(0.64, 0.72),
        block=rng.uniform(70.0, 140.0) * px, street_w=rng.uniform(8.0, 16.0) * px,
        field_cell=rng.uniform(90.0, 240.0) * px,
        class_p=(p_bare, p_bare + p_grass, p_bare + p_grass + p_forest, 1.0),
    )


# hash streams (fixed numbers: changing one changes every scene)
_ST_PARCEL, _ST_CLASS, _ST_TYPE, _ST_LAI, _ST_CAB, _ST_SOIL = 10, 12, 13, 14, 15, 16
_ST_TRACK, _ST_TRACKMAT, _ST_FIELD1, _ST_FIELD2, _ST_FIELD3 = 20, 21, 22, 23, 24
_ST_WATER, _ST_RIVER, _ST_TURBID, _ST_URBAN, _ST_BLOCK, _ST_ROOF = 30, 31, 32, 40, 41, 43
_ST_PIXEL, _ST_ROOFFRAC, _ST_ROAD = 50, 51, 60
_ST_DRY, _ST_MINERAL, _ST_SNOW, _ST_BURN, _ST_ROCK, _ST_MINOR, _ST_STREAM = 70, 71, 72, 73, 74, 75, 76
_ST_WKIND, _ST_MIX, _ST_RESID, _ST_SOILSHAPE = 77, 78, 79, 80


def _parcel(p: _SatParams, key: np.ndarray, veg_table: np.ndarray, soil: tuple[int, int],
            lai_field: np.ndarray, cab_field: np.ndarray, moist_field: np.ndarray,
            mixer: _Mixer, weight: np.ndarray, cover: list[np.ndarray],
            minerals: np.ndarray | None = None, iron: np.ndarray | None = None) -> None:
    """Add one parcel's spectra (for each pixel, the parcel ``key``) with ``weight``."""
    s = p.seed
    r = _uniform(s, _ST_CLASS, key)
    bare = r < p.class_p[0]
    grass = ~bare & (r < p.class_p[1])
    forest = ~bare & ~grass & (r < p.class_p[2])
    crop = ~(bare | grass | forest)
    crop_type = np.minimum((_uniform(s, _ST_TYPE, key) * 6).astype(np.int64), 5)
    forest_type = 7 + (_uniform(s, _ST_TYPE, key) < 0.5)
    vtype = np.where(crop, crop_type, np.where(grass, 6, forest_type))
    dry = np.zeros_like(crop)
    if p.p_dry > 0:   # extended: dry / senescent parcels (PROSAIL types 9-11)
        dry = crop & (_uniform(s, _ST_DRY, key) < p.p_dry)
        crop = crop & ~dry
        vtype = np.where(dry, 9 + np.minimum((_uniform(s, _ST_DRY + 1, key) * 3)
                                             .astype(np.int64), 2), vtype)
    u_lai = _uniform(s, _ST_LAI, key)
    lai_mean = np.where(crop, 0.3 + 5.7 * u_lai,
                        np.where(grass, 1.0 + 2.5 * u_lai, 3.5 + 3.0 * u_lai))
    lai = np.clip(lai_mean * (0.55 + 0.9 * lai_field), LAI_LEVELS[0], LAI_LEVELS[-1])
    cab = np.clip(0.5 + 0.55 * _uniform(s, _ST_CAB, key) + 0.5 * (cab_field - 0.5),
                  CAB_LEVELS[0], CAB_LEVELS[-1])
    i = np.clip(np.searchsorted(LAI_LEVELS, lai, side="right") - 1, 0, LAI_LEVELS.size - 2)
    j = np.clip(np.searchsorted(CAB_LEVELS, cab, side="right") - 1, 0, CAB_LEVELS.size - 2)
    ti = (lai - LAI_LEVELS[i]) / (LAI_LEVELS[i + 1] - LAI_LEVELS[i])
    tj = (cab - CAB_LEVELS[j]) / (CAB_LEVELS[j + 1] - CAB_LEVELS[j])
    wv = np.where(bare, 0.0, weight)
    for di, wi in ((0, 1.0 - ti), (1, ti)):
        for dj, wj in ((0, 1.0 - tj), (1, tj)):
            mixer.add(veg_table[vtype, i + di, j + dj], wv * wi * wj)
    # bare soil: PROSAIL dry/wet soils, brightness per parcel, moisture varying in the field
    bright = 0.65 + 0.6 * _uniform(s, _ST_SOIL, key)
    dryness = np.clip(0.25 + 0.6 * _uniform(s, _ST_SOIL + 100, key) + 0.6 * (moist_field - 0.5),
                      0.0, 1.0)
    wb = np.where(bare, weight, 0.0) * bright
    if minerals is not None:
        # extended: half of the bare parcels are parametric mineral soils (iron, clay,
        # carbonate, organic matter), darkened where moist
        mineral = _uniform(s, _ST_MINERAL, key) < 0.5
        pick = minerals[np.minimum((_uniform(s, _ST_MINERAL + 1, key) * minerals.size)
                                   .astype(np.int64), minerals.size - 1)]
        mixer.add(pick, np.where(mineral, wb / bright * (0.6 + 0.4 * dryness), 0.0))
        wb = np.where(mineral, 0.0, wb)
    if iron is not None:
        # soil_shapes: each bare parcel mixes the soil with its iron-oxide-darkened copy
        # in its own proportion (a continuum of visible slopes)
        a = _uniform(s, _ST_SOILSHAPE, key)
        mixer.add(iron[0], wb * dryness * a)
        mixer.add(iron[1], wb * (1.0 - dryness) * a)
        wb = wb * (1.0 - a)
    mixer.add(soil[0], wb * dryness)
    mixer.add(soil[1], wb * (1.0 - dryness))
    for code, mask in ((0, crop), (1, grass), (2, forest), (3, bare), (9, dry)):
        cover[code] = cover[code] + np.where(mask, weight, 0.0)


def _satellite_block(y0: int, y1: int, x0: int, x1: int, p: _SatParams,
                     lib: SpectralLibrary, labels: bool = False) -> np.ndarray:
    """Reflectance ``(bands, y1-y0, x1-x0)`` (or land-cover codes) of a pixel window.

    Every quantity is computed from global pixel coordinates and ``p.seed``, so
    a window's values are the same whatever window it is computed in.
    """
    s = p.seed
    g = lib.groups
    y = (np.arange(y0, y1, dtype=np.float64) + 0.5)[:, None]
    x = (np.arange(x0, x1, dtype=np.float64) + 0.5)[None, :]
    shape = (y1 - y0, x1 - x0)
    yy = np.broadcast_to(y, shape)
    xx = np.broadcast_to(x, shape)
    iy = np.broadcast_to(np.arange(y0, y1, dtype=np.int64)[:, None], shape)
    ix = np.broadcast_to(np.arange(x0, x1, dtype=np.int64)[None, :], shape)
    ext = p.surfaces == "extended"
    n_veg = 12 if ext else 9
    veg_table = np.stack([g[f"veg{k}"] for k in range(n_veg)])
    mixer = _Mixer(lib.values, shape)
    zero = np.zeros(shape)
    cover = [zero] * len(LAND_COVER_CLASSES)

    # --- water (lakes + optional river), roads, urban: fractions per pixel
    lake_f = _fbm(y, x, p.water_cell, s, _ST_WATER, 5)
    lake = _smoothstep(p.water_thr, p.water_thr + 0.02, lake_f)
    water = lake
    if p.river_w > 0:
        rv = np.abs(_fbm(y, x, p.river_cell, s, _ST_RIVER, 3) - 0.5)
        water = np.maximum(water, _smoothstep(p.river_w, 0.4 * p.river_w, rv))
    stream = zero
    if ext and p.stream_cell > 0:
        # a narrow stream (8-40 m): area coverage from the distance (px) to the
        # 0.5 contour of a noise field, estimated with the field's local gradient
        def field(yv: np.ndarray, xv: np.ndarray) -> np.ndarray:
            return _fbm(yv, xv, p.stream_cell, s, _ST_STREAM, 3)

        f0 = field(y, x) - 0.5
        gy = (field(y + 0.5, x) - field(y - 0.5, x))
        gx = (field(y, x + 0.5) - field(y, x - 0.5))
        dist = np.abs(f0) / np.maximum(np.sqrt(gy * gy + gx * gx), 1e-9)
        stream = _coverage(dist, p.stream_w) * (1.0 - water)
    # road network: the borders of large jittered-Voronoi cells (straight segments)
    net = _jittered_voronoi(xx, yy, p.road_cell, p.road_cell, s, _ST_ROAD, 0.8, reach=(1, 1))
    road = _coverage(net.edge, p.road_w)
    if ext:   # minor roads and tracks (4-10 m): sub-pixel lines at 10-30 m
        minor = _jittered_voronoi(xx, yy, p.minor_cell, p.minor_cell, s, _ST_MINOR, 0.8,
                                  reach=(1, 1))
        lo_m, hi_m = np.minimum(minor.key1, minor.key2), np.maximum(minor.key1, minor.key2)
        keep_m = _uniform(s, _ST_MINOR, lo_m, hi_m) < 0.5
        minor_cov = np.where(keep_m, _coverage(minor.edge, p.minor_w), 0.0) * (1.0 - road)
        minor_paved = _uniform(s, _ST_MINOR + 1, lo_m, hi_m) < 0.5
    urban = _smoothstep(p.urban_thr, p.urban_thr + 0.04, _fbm(y, x, p.urban_cell, s, _ST_URBAN, 4))
    w_water = water + stream
    dry_land = 1.0 - w_water
    w_road = dry_land * road
    snow = zero
    if ext and p.snow_cell > 0:
        snow_f = _fbm(y, x, p.snow_cell, s, _ST_SNOW, 5)
        snow = _smoothstep(p.snow_thr, p.snow_thr + 0.05, snow_f)
    w_snow = dry_land * (1.0 - road) * snow
    w_urban = dry_land * (1.0 - road) * (1.0 - snow) * urban
    w_land = dry_land * (1.0 - road) * (1.0 - snow) * (1.0 - urban)
    w_minor = zero
    if ext:
        w_minor = w_land * minor_cov
        w_land = w_land - w_minor
        burn = (_smoothstep(p.burn_thr, p.burn_thr + 0.04, _fbm(y, x, p.burn_cell, s, _ST_BURN, 5))
                if p.burn_cell > 0 else zero)
        rock = (_smoothstep(p.rock_thr, p.rock_thr + 0.04, _fbm(y, x, p.rock_cell, s, _ST_ROCK, 5))
                if p.rock_cell > 0 else zero)
        w_burn = w_land * burn
        w_rock = w_land * (1.0 - burn) * rock
        w_land = w_land * (1.0 - burn) * (1.0 - rock)
    # per-pixel brightness jitter (+-2 %), a hash of the global pixel position
    jit = 0.98 + 0.04 * _uniform(s, _ST_PIXEL, iy, ix)

    # --- fields: rotated, elongated jittered-Voronoi parcels; tracks on some borders
    c, sn = np.cos(p.theta), np.sin(p.theta)
    u = xx * c + yy * sn
    v = -xx * sn + yy * c
    vor = _jittered_voronoi(u, v, p.parcel_u, p.parcel_v, s, _ST_PARCEL, 0.45)
    lo, hi = np.minimum(vor.key1, vor.key2), np.maximum(vor.key1, vor.key2)
    has_track = _uniform(s, _ST_TRACK, lo, hi) < p.p_track
    track = np.where(has_track, _coverage(vor.edge, p.track_w), 0.0)
    paved = _uniform(s, _ST_TRACKMAT, lo, hi) < 0.4
    w_track = w_land * track
    w_fields = w_land * (1.0 - track)
    w_second = w_fields * np.clip(0.5 - vor.edge, 0.0, 0.5)   # mixed pixels on borders
    w_first = w_fields - w_second
    lai_field = _fbm(y, x, p.field_cell, s, _ST_FIELD1, 3)
    cab_field = _fbm(y, x, p.field_cell * 1.7, s, _ST_FIELD2, 3)
    moist_field = _fbm(y, x, p.field_cell * 0.8, s, _ST_FIELD3, 3)
    soil = (int(g["soil_dry"][0]), int(g["soil_wet"][0]))
    minerals = (np.concatenate([g["x:soil"], g["x:clay"], g["x:iron"]]) if ext else None)
    for key, wgt in ((vor.key1, w_first), (vor.key2, w_second)):
        _parcel(p, key, veg_table, soil, lai_field, cab_field, moist_field, mixer, wgt * jit, cover,
                minerals, g["soil_iron"] if p.soil_shapes else None)
    mixer.add(g["asphalt_aged"][0], w_track * paved * jit)
    mixer.add(g["soil_dry"][0], w_track * ~paved * jit * 0.9)
    mixer.add(g["soil_wet"][0], w_track * ~paved * jit * 0.1)
    cover[5] = cover[5] + w_track + w_road

    # --- roads
    mixer.add(g["asphalt_new"][0], w_road * jit)
    if ext:
        _extended_surfaces(p, lib, (y, x, iy, ix), veg_table, mixer, cover, jit,
                           w_minor=w_minor, minor_paved=minor_paved, w_snow=w_snow,
                           w_burn=w_burn, w_rock=w_rock)

    # --- urban: blocks of roofs, gardens and paving; streets on block borders
    if np.any(w_urban > 0):
        blk = _jittered_voronoi(xx, yy, p.block, p.block, s, _ST_BLOCK, 0.5, reach=(1, 1))
        street = _coverage(blk.edge, p.street_w)
        roofs = np.array([g[k][0] for k in ("concrete", "clay_tile", "metal_roof",
                                           "bitumen_roof", "concrete")])
        if ext:
            roofs = np.concatenate([roofs, *[g["x:" + k] for k in (
                "white_paint", "red_paint", "green_paint", "blue_paint", "brick",
                "solar_panel", "gravel")]])
        roof = roofs[np.minimum((_uniform(s, _ST_ROOF, blk.key1) * roofs.size).astype(np.int64),
                                roofs.size - 1)]
        park = _uniform(s, _ST_ROOF + 1, blk.key1) < 0.15
        frac = 0.35 + 0.45 * _uniform(s, _ST_ROOFFRAC, iy, ix)
        f_roof = np.where(park, 0.05, frac) * (1.0 - street)
        f_green = np.where(park, 0.9, 0.4 * (1.0 - frac)) * (1.0 - street)
        f_pave = 1.0 - street - f_roof - f_green
        mixer.add(roof, w_urban * f_roof * jit)
        if ext:   # a fifth of the parks are sports fields with artificial turf
            turf = park & (_uniform(s, _ST_ROOF + 2, blk.key1) < 0.2)
            mixer.add(g["x:artificial_turf"][0], w_urban * f_green * jit * turf)
            f_green = f_green * ~turf
        mixer.add(veg_table[6, 4, 1], w_urban * f_green * jit)
        mixer.add(g["asphalt_aged"][0], w_urban * (street + f_pave) * jit)
        cover[4] = cover[4] + w_urban

    # --- water: clear to turbid
    turbid = _fbm(y, x, p.water_cell / 3.0, s, _ST_TURBID, 3)
    turbid = np.clip((turbid - 0.3) * 1.6, 0.0, 1.0)
    if ext:
        _water_kinds(p, lib, (y, x), mixer, w_water, lake_f, turbid)
    else:
        mixer.add(g["water_clear"][0], w_water * (1.0 - turbid))
        mixer.add(g["water_turbid"][0], w_water * turbid)
    cover[6] = cover[6] + w_water

    if labels:
        return np.argmax(np.stack(cover), axis=0).astype(np.uint8)
    out = mixer.result()
    if p.residuals > 0:
        out = _residuals(p, lib, y, x, out)
    out = np.clip(out, 0.0, 1.0)
    return np.ascontiguousarray(out.T).reshape(lib.values.shape[1], *shape)


def _pick(group: np.ndarray, u: np.ndarray) -> np.ndarray:
    """An index of ``group`` per pixel from uniforms ``u`` in [0, 1)."""
    return group[np.minimum((u * group.size).astype(np.int64), group.size - 1)]


def _extended_surfaces(p: _SatParams, lib: SpectralLibrary, coords: tuple[Any, ...],
                       veg_table: np.ndarray, mixer: _Mixer, cover: list[np.ndarray],
                       jit: np.ndarray, *, w_minor: np.ndarray, minor_paved: np.ndarray,
                       w_snow: np.ndarray, w_burn: np.ndarray, w_rock: np.ndarray) -> None:
    """Minor roads, snow and ice, burn scars and rock outcrops (``surfaces="extended"``)."""
    s, g = p.seed, lib.groups
    y, x = coords[0], coords[1]
    # minor roads / tracks: paved or dirt
    mixer.add(g["asphalt_aged"][0], w_minor * minor_paved * jit)
    mixer.add(g["x:gravel"][0], w_minor * ~minor_paved * jit * 0.3)
    mixer.add(g["soil_dry"][0], w_minor * ~minor_paved * jit * 0.7)
    cover[5] = cover[5] + w_minor
    # snow and ice: grain size / impurities vary smoothly; rock outcrops through the snow
    if np.any(w_snow > 0):
        f = _fbm(y, x, max(p.snow_cell / 6.0, 2.0), s, _ST_SNOW + 1, 4)
        outcrop = _smoothstep(0.62, 0.72, _fbm(y, x, max(p.snow_cell / 10.0, 2.0), s,
                                                _ST_SNOW + 2, 4))
        kinds = [g["x:snow_fresh"], g["x:snow_old"], g["x:snow_dirty"], g["x:ice"]]
        weights = [_smoothstep(0.45, 0.7, f), (1.0 - np.abs(f - 0.5) * 2.0) * 0.8,
                   _smoothstep(0.55, 0.3, f) * 0.6, _smoothstep(0.35, 0.2, f)]
        total = np.maximum(sum(weights), 1e-6)
        var = int(_uniform(s, _ST_SNOW + 3, 0)[()] * 3)
        for kind, w in zip(kinds, weights):
            mixer.add(kind[var % kind.size], w_snow * (1.0 - outcrop) * w / total * jit)
        mixer.add(_pick(np.concatenate([g["x:basalt"], g["x:granite"]]),
                        _uniform(s, _ST_SNOW + 4, 0)[()] * np.ones_like(f)),
                  w_snow * outcrop * jit)
        cover[7] = cover[7] + w_snow
    # burn scars: char, white and grey ash, remnants of dry vegetation
    if np.any(w_burn > 0):
        f = _fbm(y, x, max(p.burn_cell / 8.0, 2.0), s, _ST_BURN + 1, 4)
        remnant = 0.05 + 0.3 * _fbm(y, x, max(p.burn_cell / 12.0, 2.0), s, _ST_BURN + 2, 3)
        char_w = (1.0 - remnant) * np.clip(0.35 + f, 0.0, 1.0)
        ash_w = (1.0 - remnant) - char_w
        var = int(_uniform(s, _ST_BURN + 3, 0)[()] * 3)
        mixer.add(g["x:char"][var], w_burn * char_w * jit)
        mixer.add(g["x:ash_white"][var], w_burn * ash_w * 0.4 * jit)
        mixer.add(g["x:ash_grey"][var], w_burn * ash_w * 0.6 * jit)
        mixer.add(veg_table[9 + var, 2, 0], w_burn * remnant * jit)
        cover[10] = cover[10] + w_burn
    # rock outcrops: one rock type per outcrop cell, sparse dry vegetation
    if np.any(w_rock > 0):
        rocks = np.concatenate([g["x:" + k] for k in ("carbonate", "gypsum", "basalt", "granite",
                                                      "salt", "iron", "clay")])
        cell_y = np.floor(y / max(p.rock_cell, 1.0)).astype(np.int64)
        cell_x = np.floor(x / max(p.rock_cell, 1.0)).astype(np.int64)
        rock = _pick(rocks, _uniform(s, _ST_ROCK + 1, cell_y, cell_x))
        rock2 = _pick(rocks, _uniform(s, _ST_ROCK + 2, cell_y, cell_x))
        t = _smoothstep(0.3, 0.7, _fbm(y, x, max(p.rock_cell / 6.0, 2.0), s, _ST_ROCK + 3, 3))
        veg = 0.4 * _fbm(y, x, max(p.rock_cell / 10.0, 2.0), s, _ST_ROCK + 4, 3) ** 2
        shape = np.broadcast_shapes(np.shape(y), np.shape(x))
        rock = np.broadcast_to(rock, shape)
        rock2 = np.broadcast_to(rock2, shape)
        mixer.add(rock, w_rock * (1.0 - veg) * (1.0 - t) * jit)
        mixer.add(rock2, w_rock * (1.0 - veg) * t * jit)
        mixer.add(veg_table[10, 1, 0], w_rock * veg * jit)
        cover[8] = cover[8] + w_rock


def _water_kinds(p: _SatParams, lib: SpectralLibrary, coords: tuple[Any, ...], mixer: _Mixer,
                 w_water: np.ndarray, lake_f: np.ndarray, turbid: np.ndarray) -> None:
    """Water of several kinds: clear, sediment-laden, algal, humic; shallow near shores."""
    s, g = p.seed, lib.groups
    y, x = coords
    kinds = ["x:water_clear", "x:water_turbid", "x:water_algal", "x:water_humic"]
    fields = [_fbm(y, x, p.water_cell / 2.0, s, _ST_WKIND + 10 * k, 3) ** 4 for k in range(4)]
    fields[1] = fields[1] + 0.3 * turbid ** 2
    total = np.maximum(sum(fields), 1e-9)
    shallow = (lake_f > p.water_thr) * (1.0 - _smoothstep(p.water_thr + 0.004,
                                                          p.water_thr + 0.03, lake_f))
    var = int(_uniform(s, _ST_WKIND, 0)[()] * 3)
    for k, f in zip(kinds, fields):
        mixer.add(g[k][var], w_water * (1.0 - shallow) * f / total)
    mixer.add(g["x:water_shallow"][var], w_water * shallow)


def _residuals(p: _SatParams, lib: SpectralLibrary, y: np.ndarray, x: np.ndarray,
               refl: np.ndarray) -> np.ndarray:
    """Illumination and atmospheric-correction residuals of a surface-reflectance product.

    Per scene: a smooth multiplicative spectral residual (a quadratic in wavelength,
    +-2 % x amplitude) with residual features in the water-vapour (940, 1130 nm) and
    oxygen (762 nm) bands; per pixel (smooth fields of global position): an
    illumination factor (+-5 %, terrain / thin-cloud shading) and an additive
    path-radiance residual ``h (lambda / 440)^-1.5`` with ``h`` in [-0.003, 0.012]
    (over- or under-corrected haze). Truth and RGB both carry them (the RGB is
    rendered from this cube), as in a real L2A product.
    """
    a = p.residuals
    s = p.seed
    wl = np.asarray(lib.wavelengths, "float64")
    t = (wl - 1435.0) / 1015.0
    c = 2.0 * _uniform(s, _ST_RESID, np.arange(6)) - 1.0
    mult = (1.0 + a * (0.02 * c[0] * t + 0.015 * c[1] * (t * t - 0.33))
            + a * 0.06 * c[2] * np.exp(-0.5 * ((wl - 940.0) / 25.0) ** 2)
            + a * 0.05 * c[3] * np.exp(-0.5 * ((wl - 1130.0) / 30.0) ** 2)
            + a * 0.04 * c[4] * np.exp(-0.5 * ((wl - 762.0) / 8.0) ** 2))
    cell = max(p.water_cell, 8.0)
    shade = 1.0 + a * 0.1 * (_fbm(y, x, cell, s, _ST_RESID + 1, 3) - 0.5)
    haze = a * (-0.003 + 0.015 * _fbm(y, x, cell * 1.5, s, _ST_RESID + 2, 2)
                * (0.5 + 0.5 * _uniform(s, _ST_RESID + 3, 0)))
    hspec = (wl / 440.0) ** -1.5
    out = refl * mult[None, :].astype(np.float32) * shade.reshape(-1, 1).astype(np.float32)
    return out + haze.reshape(-1, 1).astype(np.float32) * hspec[None, :].astype(np.float32)


def _normalise_chunks(chunks: Any, height: int, width: int) -> tuple[int, int] | None:
    if chunks is None:
        return None
    if isinstance(chunks, (int, np.integer)) and not isinstance(chunks, bool):
        cy = cx = int(chunks)
    elif (isinstance(chunks, Sequence) and len(chunks) == 2
          and all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in chunks)):
        cy, cx = int(chunks[0]), int(chunks[1])
    else:
        raise ChunkingError(format_message(
            "chunks as None, an int or a (y, x) pair of ints", repr(chunks),
            "pass e.g. chunks=512 or chunks=(256, 1024); the band axis is always one chunk"))
    if cy <= 0 or cx <= 0:
        raise ChunkingError(format_message("positive chunk sizes", f"({cy}, {cx})",
                                           "pass sizes of at least 1 pixel"))
    return min(cy, height), min(cx, width)


def _splits(n: int, c: int) -> tuple[int, ...]:
    return tuple([c] * (n // c) + ([n % c] if n % c else []))


@functools.lru_cache(maxsize=32)
def _sat_library(seed: int, bandset: str, extended: bool = False,
                 soil_shapes: bool = False) -> SpectralLibrary:
    from specrecon.spectral import get_bandset

    bs = get_bandset(bandset)
    return satellite_library(int(seed), tuple(bs.wavelengths.tolist()), tuple(bs.fwhm.tolist()),
                             extended=bool(extended), soil_shapes=bool(soil_shapes))


def _sat_array(height: int, width: int, seed: int, chunks: Any, resolution: float,
               bandset: str, labels: bool, surfaces: str = "basic",
               residuals: float = 0.0, soil_shapes: bool = False) -> Any:
    """numpy (no chunks) or lazy dask array of the scene's reflectance or labels."""
    if not (np.isfinite(resolution) and resolution > 0):
        raise ConfigError(format_message("a positive pixel size in metres", repr(resolution),
                                         "pass e.g. resolution=30.0"))
    p = _sat_params(seed, resolution, surfaces, residuals, soil_shapes)
    ext = p.surfaces == "extended"
    lib = _sat_library(seed, "hyspecnet202" if labels else bandset, ext, p.soil_shapes)
    nb = lib.values.shape[1]
    ck = _normalise_chunks(chunks, height, width)
    if ck is None:
        if labels:
            return _satellite_block(0, height, 0, width, p, lib, labels=True)
        out = np.empty((nb, height, width), np.float32)
        step = max(1, 65536 // width)      # row strips keep temporaries small
        for r0 in range(0, height, step):
            r1 = min(height, r0 + step)
            out[:, r0:r1] = _satellite_block(r0, r1, 0, width, p, lib)
        return out
    import dask.array as da
    from dask.base import tokenize

    lib_name = "hyspecnet202" if labels else bandset

    def block(block_info: dict | None = None) -> np.ndarray:
        # The task carries only (seed, band-set name, small layout parameters); the
        # spectral library is rebuilt once per process from them (lru_cache), so
        # graphs stay small when shipped to distributed workers.
        loc = block_info[None]["array-location"]  # type: ignore[index]
        (y0, y1), (x0, x1) = loc[-2], loc[-1]
        return _satellite_block(y0, y1, x0, x1, p,
                                _sat_library(p.seed, lib_name, ext, p.soil_shapes), labels=labels)

    ychunks, xchunks = _splits(height, ck[0]), _splits(width, ck[1])
    tag = "synthetic-landcover-" if labels else "synthetic-satellite-"
    name = tag + tokenize(seed, height, width, ck, float(resolution), bandset, p.surfaces,
                          p.residuals, p.soil_shapes)
    if labels:
        return da.map_blocks(block, dtype=np.uint8, chunks=(ychunks, xchunks), name=name,
                             meta=np.empty((0, 0), np.uint8))
    return da.map_blocks(block, dtype=np.float32, chunks=((nb,), ychunks, xchunks), name=name,
                         meta=np.empty((0, 0, 0), np.float32))


def _georef(height: int, width: int, origin: tuple[float, float],
            resolution: float) -> tuple[np.ndarray, np.ndarray, Any]:
    from affine import Affine

    ox, oy = float(origin[0]), float(origin[1])
    xs = ox + (np.arange(width) + 0.5) * resolution
    ys = oy - (np.arange(height) + 0.5) * resolution
    return ys, xs, Affine(resolution, 0.0, ox, 0.0, -resolution, oy)


def _write_georef(da_: xr.DataArray, crs: Any, transform: Any) -> xr.DataArray:
    import rioxarray  # noqa: F401  (registers .rio)

    return da_.rio.write_crs(crs).rio.write_transform(transform)


def satellite_land_cover(height: int = 512, width: int = 512, *, seed: int = 0,
                         chunks: int | tuple[int, int] | None = None,
                         resolution: float = 30.0, surfaces: str = "basic") -> xr.DataArray:
    """Dominant land-cover class of each pixel of :func:`satellite_scene` (same arguments).

    Parameters
    ----------
    height, width, seed, chunks, resolution, surfaces
        As in :func:`satellite_scene`.

    Returns
    -------
    xarray.DataArray
        uint8 ``(y, x)`` codes of :data:`LAND_COVER_CLASSES` (pixel-index
        coordinates; attrs ``flag_values`` / ``flag_meanings``).

    Examples
    --------
    >>> lc = satellite_land_cover(64, 64, seed=2)
    >>> lc.dtype.name, set(lc.attrs["flag_meanings"].split()) >= {"crop", "water"}
    ('uint8', True)
    """
    height, width = _check_size(height, width)
    data = _sat_array(height, width, seed, chunks, resolution, "hyspecnet202", labels=True,
                      surfaces=surfaces)
    return xr.DataArray(data, dims=("y", "x"), name="land_cover", attrs={
        "flag_values": list(LAND_COVER_CLASSES),
        "flag_meanings": " ".join(v.replace(" ", "_") for v in LAND_COVER_CLASSES.values()),
        "source": "specrecon synthetic satellite scene land cover", "synthetic": 1,
        "seed": int(seed)})


def satellite_scene(height: int = 512, width: int = 512, *, seed: int = 0,
                    sensor: str = "sentinel2_msi_rgb",
                    chunks: int | tuple[int, int] | None = None, crs: Any = "EPSG:32633",
                    origin: tuple[float, float] = (500000.0, 5300000.0),
                    resolution: float = 30.0,
                    simulate: Mapping[str, Any] | None = None,
                    surfaces: str = "basic", residuals: float = 0.0,
                    band_noise_range: tuple[float, float] | None = None,
                    soil_shapes: bool = False) -> Scene:
    """A synthetic georeferenced agricultural landscape on the HySpecNet 202-band grid.

    Surface reflectance in [0, 1] (float32, ``hyspecnet202`` bands, 420-2450 nm):

    - **parcels**: a rotated grid of elongated jittered-Voronoi fields (300-700 m),
      each one cover type: six crop types, grassland, two forest types (PROSAIL
      canopies with seed-drawn leaf/canopy parameters, see
      :func:`specrecon.datasets._spectra_library.satellite_library`) or bare soil
      (PROSAIL dry/wet soils, brightness per field). Within a field LAI,
      chlorophyll and soil moisture vary smoothly; pixels on field borders mix
      both neighbours by area; 10-40 % of borders carry a dirt or paved track;
    - a **road network** along the borders of large (3-7 km) Voronoi cells,
      12-30 m wide, mixed into pixels by area fraction;
    - **water**: lakes (thresholded fractal noise) and, for 60 % of seeds, a
      river, clear to turbid (parametric spectra, dark in the NIR);
    - **towns**: blocks of concrete / clay-tile / metal / bitumen roofs with
      gardens, paving and streets (parametric spectra);
    - +-2 % per-pixel brightness jitter.

    ``surfaces="extended"`` adds (parametric spectra, see
    :func:`specrecon.datasets._spectra_library.satellite_library`): dry and
    senescent parcels (PROSAIL), mineral soils in half of the bare parcels, lakes
    mixing clear, sediment-laden, algal and humic water with optically shallow
    margins, a narrow stream (8-40 m, 70 % of seeds), a network of minor roads and
    tracks (4-10 m), roofs of painted metal, brick, gravel and photovoltaic panels,
    artificial-turf sports fields, and per seed possibly snow and ice with rock
    outcrops (25 %), a burn scar of char and ash (35 %) and rock outcrops
    (carbonate, gypsum, basalt, granite, salt crust, iron- and clay-rich; 40 %).
    Thin features are mixed into pixels by area, so at 10-30 m they remain
    visible as sub-pixel lines.

    All random quantities are hashes of ``seed`` and global pixel position, so
    the chunked (dask) scene equals the unchunked one exactly.

    Parameters
    ----------
    height, width : int
        Size in pixels.
    seed : int
        Scene seed (layout, vegetation parameters, sun/view geometry).
    sensor : str
        Sensor for the RGB image (:func:`specrecon.spectral.get_sensor` name).
    chunks : int or (int, int), optional
        Spatial chunk size(s). When given, cube and RGB are lazy dask arrays
        generated block by block (the band axis is one chunk); nothing is
        computed by this call.
    crs : str or CRS
        Coordinate reference system written with ``rio.write_crs``.
    origin : (float, float)
        Map coordinates (x, y) of the upper-left corner of the upper-left pixel.
    resolution : float
        Pixel size in CRS units (metres); also scales the layout (parcel sizes
        are in metres).
    simulate : mapping, optional
        Keywords for :func:`specrecon.spectral.simulate_rgb`; None uses
        :data:`DEFAULT_SATELLITE_SIMULATE`.
    surfaces : {"basic", "extended"}
        The surface set (see above); ``"basic"`` reproduces earlier releases.
    residuals : float
        Amplitude of illumination and atmospheric-correction residuals applied to
        the surface reflectance (0: none; 1: +-2 % smooth spectral gain with
        water-vapour / oxygen band residuals, +-5 % illumination, additive haze
        residual up to ~0.01 in the blue; see ``_residuals``). Truth and RGB carry
        them alike, as a real reflectance product would.
    band_noise_range : (float, float), optional
        Draw a Gaussian noise level (standard deviation, reflectance units) for the
        RGB bands of this scene uniformly from this range (``read_noise`` of
        :func:`specrecon.spectral.simulate_rgb`; with ``chunks`` the noise
        realisation depends on the chunking).
    soil_shapes : bool
        Mix each bare parcel's soil with an iron-oxide-darkened copy in a random
        proportion (a continuum of visible slopes instead of PROSAIL's two soil
        shapes; :func:`specrecon.datasets._spectra_library.iron_oxide_factor`).
        False reproduces earlier releases.

    Returns
    -------
    Scene
        ``(rgb, cube)`` with x/y pixel-centre coordinates (y decreasing), a
        ``spatial_ref`` coordinate and ``attrs["synthetic"] = 1``.

    Examples
    --------
    >>> rgb, cube = satellite_scene(64, 96, seed=5)
    >>> cube.shape, bool(cube.y[0] > cube.y[-1]), float(cube.x[0])
    ((202, 64, 96), True, 500015.0)
    >>> lazy = satellite_scene(4096, 4096, chunks=512)   # instant: nothing computed
    >>> type(lazy.cube.data).__name__
    'Array'
    """
    from specrecon.spectral import get_bandset

    height, width = _check_size(height, width)
    bs = get_bandset("hyspecnet202")
    data = _sat_array(height, width, seed, chunks, resolution, "hyspecnet202", labels=False,
                      surfaces=surfaces, residuals=residuals, soil_shapes=soil_shapes)
    lib = _sat_library(seed, "hyspecnet202", surfaces == "extended", bool(soil_shapes))
    ys, xs, transform = _georef(height, width, origin, resolution)
    attrs = {
        "source": "specrecon synthetic satellite scene: PROSAIL (PROSPECT-D + 4SAIL) vegetation "
                  "and soils, parametric water/asphalt/concrete/roofs (not real imagery)",
        "synthetic": 1,
        "scene": "satellite",
        "seed": int(seed),
        "quantity": "surface reflectance",
        "spectral_library": lib.source,
        "surfaces": surfaces,
        "residuals": float(residuals),
        "soil_shapes": int(bool(soil_shapes)),
        "resolution_m": float(resolution),
    }
    cube = make_cube(data, bs.wavelengths, bs.fwhm, y=ys, x=xs, good_band=bs.good, attrs=attrs)
    cube = _write_georef(cube, crs, transform)
    sim = dict(DEFAULT_SATELLITE_SIMULATE if simulate is None else simulate)
    nr = _check_range(band_noise_range, "band_noise_range", 0.0, 1.0)
    if nr is not None:
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xBA9]))
        sim["read_noise"] = float(rng.uniform(*nr))
    rgb = _simulate(cube, sensor, sim, DEFAULT_SATELLITE_SIMULATE, seed)
    if "spatial_ref" not in rgb.coords:
        rgb = _write_georef(rgb, crs, transform)
    rgb = _label(rgb, attrs)
    rgb.attrs.setdefault("sensor", sensor)
    return Scene(rgb, cube)


# =========================================================================== datasets

_SPLITS = {"train": 0, "validation": 1, "test": 2}


def scene_seeds(n: int, seed: int = 0, split: str = "train") -> list[int]:
    """Seeds of the ``n`` scenes of a synthetic data-set split.

    Derived with :class:`numpy.random.SeedSequence` from ``(seed, split, index)``,
    so train, validation and test scenes never share a seed, and scene ``i``
    is the same whatever ``n`` is.

    Parameters
    ----------
    n : int
        Number of scenes.
    seed : int
        Data-set seed.
    split : {"train", "validation", "test"}
        Which split.

    Returns
    -------
    list of int

    Examples
    --------
    >>> scene_seeds(3)[:2] == scene_seeds(2)
    True
    >>> set(scene_seeds(5, split="train")) & set(scene_seeds(5, split="validation"))
    set()
    """
    if split not in _SPLITS:
        raise ConfigError(format_message(f"split in {sorted(_SPLITS)}", repr(split),
                                         "pass split='train', 'validation' or 'test'"))
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ConfigError(format_message("a non-negative number of scenes", repr(n),
                                         "pass n >= 0"))
    return [int(np.random.SeedSequence([int(seed), _SPLITS[split], i]).generate_state(1,
            np.uint64)[0] >> np.uint64(1)) for i in range(int(n))]


_SATELLITE_OPTIONS = ("surfaces", "residuals", "band_noise_range", "soil_shapes")
_NATURAL_OPTIONS = ("exclude_sources", "derived_spectra", "exposure_range",
                    "photon_scale_range", "jpeg_quality_range")


def _check_options(options: Mapping[str, Any], valid: Sequence[str], where: str) -> None:
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(format_message(f"options of {where} among {list(valid)}",
                                         repr(unknown), "remove or rename the option"))


def _hw(size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    h, w = size
    return int(h), int(w)


def natural_dataset(n: int, size: int | tuple[int, int] = 128, *, seed: int = 0,
                    split: str = "train", sensor: str = "nikon_d5100",
                    illuminant: str | Sequence[str] | None = None,
                    simulate: Mapping[str, Any] | None = None,
                    **options: Any) -> list[Scene]:
    """``n`` independent :func:`natural_scene` s for training or validation.

    Parameters
    ----------
    n : int
        Number of scenes.
    size : int or (int, int)
        Scene size in pixels.
    seed : int
        Data-set seed; scene seeds come from :func:`scene_seeds`.
    split : {"train", "validation", "test"}
        Splits use disjoint scene seeds.
    sensor, simulate
        As in :func:`natural_scene`.
    illuminant : str, sequence of str or None
        None (default): a random real illuminant per scene; a sequence: a random
        one of those per scene (e.g. :data:`DAYLIGHT_ILLUMINANTS`, or
        ``["daylight"]`` for CIE daylight at random temperatures); a str: that one.
    **options
        Further keywords of :func:`natural_scene` (``exclude_sources``,
        ``derived_spectra``, ``exposure_range``, ``photon_scale_range``,
        ``jpeg_quality_range``), the same for every scene; the random draws
        follow each scene's seed.

    Returns
    -------
    list of Scene

    Examples
    --------
    >>> train = natural_dataset(2, 32)
    >>> val = natural_dataset(2, 32, split="validation")
    >>> bool((train[0].cube != val[0].cube).any())
    True
    """
    h, w = _hw(size)
    _check_options(options, _NATURAL_OPTIONS, "natural_dataset")
    return [natural_scene(h, w, seed=s, sensor=sensor, illuminant=illuminant, simulate=simulate,
                          **options)
            for s in scene_seeds(n, seed, split)]


def satellite_dataset(n: int, size: int | tuple[int, int] = 128, *, seed: int = 0,
                      split: str = "train", sensor: str = "sentinel2_msi_rgb",
                      resolution: float | Sequence[float] = 30.0,
                      simulate: Mapping[str, Any] | None = None,
                      **options: Any) -> list[Scene]:
    """``n`` independent :func:`satellite_scene` s (in memory) for training or validation.

    Each scene has its own seed (:func:`scene_seeds`), hence its own layout,
    vegetation parameters and sun/view geometry; the scenes are georeferenced
    side by side (scene ``i`` starts ``i * width`` pixels east of the default
    origin) so that they never claim the same ground.

    Parameters
    ----------
    n : int
        Number of scenes.
    size : int or (int, int)
        Scene size in pixels.
    seed, split
        As in :func:`natural_dataset`.
    sensor, simulate
        As in :func:`satellite_scene`.
    resolution : float or (float, float)
        Pixel size in metres, or a ``(low, high)`` range to draw each scene's pixel
        size from (log-uniform, by the scene seed), e.g. ``(10, 30)`` for the
        10-30 m of Sentinel-2 / Landsat / EnMAP.
    **options
        Further keywords of :func:`satellite_scene` (``surfaces``, ``residuals``,
        ``band_noise_range``, ``soil_shapes``), the same for every scene.

    Returns
    -------
    list of Scene

    Examples
    --------
    >>> scenes = satellite_dataset(2, 32, seed=1)
    >>> [s.cube.shape for s in scenes]
    [(202, 32, 32), (202, 32, 32)]
    """
    h, w = _hw(size)
    _check_options(options, _SATELLITE_OPTIONS, "satellite_dataset")
    res_range = None
    if isinstance(resolution, (int, float, np.integer, np.floating)):
        res_range = (float(resolution), float(resolution))
    else:
        res_range = _check_range(resolution, "resolution", 1e-6, 1e9)
    out, x0 = [], 500000.0
    for s in scene_seeds(n, seed, split):
        lo, hi = res_range
        rng = np.random.default_rng(np.random.SeedSequence([int(s), 0x2E5]))
        res = lo if lo == hi else round(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))), 2)
        out.append(satellite_scene(h, w, seed=s, sensor=sensor, resolution=res, simulate=simulate,
                                   origin=(x0, 5300000.0), **options))
        x0 += w * res
    return out
