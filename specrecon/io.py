"""Georeferenced, CF-compliant zarr / NetCDF cubes: writing (resumable) and reading.

Writing follows the conventions of the xarray/rioxarray ecosystem:

* the CRS lives in a scalar ``spatial_ref`` coordinate with ``crs_wkt`` and
  ``GeoTransform`` (recomputed from the coordinates at write time, so a sliced
  cube is never written with a stale transform); every data variable with the
  spatial dims gets ``grid_mapping = "spatial_ref"`` *in its encoding* (an
  explicit ``encoding=`` argument would otherwise drop it);
* global attributes ``Conventions = "CF-1.10"``, ``history`` (appended) and
  ``source``;
* the whole spectrum in one chunk; zarr 3 Blosc/LZ4 (byte shuffle), NetCDF
  zlib level 4 with ~4 MB chunks.

Resumable zarr writes
---------------------
A dask-backed cube is written in *steps* of whole chunk rows along ``y``
(one chunk row per step unless ``rows_per_step`` says otherwise):

1. the store is created with ``to_zarr(compute=False)`` (metadata and the
   small coordinates only) and a write plan is stored in the group attribute
   ``specrecon_write``: ``{"dim", "edges", "shape", "steps", "fingerprint",
   "done": [], "complete": false}``;
2. each step is a ``to_zarr(region={y: slice(a, b)}, compute=False)``; all
   steps are computed as **one** dask graph (:func:`compute_steps`), and each
   step's index is appended to ``done`` as soon as its last chunk has landed
   -- no thread waits at a step's end for the step's slowest chunk;
3. at the end ``complete`` becomes true and the metadata is consolidated, so
   a plain ``xr.open_zarr(path, decode_coords="all")`` opens the store quietly.

Memory stays bounded by the chunks in flight (dask computes each chunk and
writes it before moving on), however large the scene. If the process dies,
``to_zarr(cube, path, resume=True)`` re-opens the plan, checks that it
continues **the same cube** -- the *fingerprint*: shape, chunks, dtype,
variables, the input's identity (``input_token``), the model's sha256, the
input scaling, the tile grid and the specrecon version -- and writes only the
steps not in ``done``; the result equals an uninterrupted write. Any
difference raises :class:`~specrecon.errors.ResumeMismatchError` naming it
(also on a finished store, which is otherwise left alone).

Incomplete stores never read as complete: :func:`open_cube` refuses them
(``allow_incomplete=True`` opens them with a warning) and ``specrecon info``
flags them. NetCDF files are written under a temporary name and renamed when
the write succeeded, so a killed write leaves no half-written file behind.

Overwriting follows one policy for both formats: ``mode="w-"`` (default)
refuses an existing output with :class:`~specrecon.errors.OutputExistsError`,
``mode="w"`` replaces it.

Examples
--------
>>> import specrecon, numpy as np
>>> from specrecon.cube import make_cube
>>> cube = make_cube(np.zeros((31, 8, 8), "float32"), np.arange(400, 701, 10.0))
>>> specrecon.to_zarr(cube, "cube.zarr")                      # doctest: +SKIP
>>> specrecon.open_cube("cube.zarr").dims                     # doctest: +SKIP
('wavelength', 'y', 'x')
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
import os
import re
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from specrecon.cube import WAVELENGTH, find_spatial_dims
from specrecon.errors import (
    DatasetFormatError,
    OutputExistsError,
    ResumeMismatchError,
    format_message,
)

__all__ = ["WRITE_PLAN_ATTR", "compute_with_progress", "open_cube", "to_netcdf", "to_zarr",
           "write_status"]

WRITE_PLAN_ATTR = "specrecon_write"
ZARR_SUFFIXES = (".zarr",)
NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf", ".h5", ".cdf")
#: Cube attributes that identify what a store holds (checked on resume).
FINGERPRINT_ATTRS = ("input_token", "model_sha256", "input_scale", "input_offset",
                     "tile_size", "tile_overlap", "physical_consistency", "clipped_to")


# ----------------------------------------------------------------------------- helpers
def _version() -> str:
    from specrecon._version import __version__

    return __version__


def _check_output(path: Path, fmt: str, mode: str, *, resume: bool = False) -> None:
    """One policy for every writer: right suffix, existing writable parent, no silent overwrite."""
    ok, other = ((ZARR_SUFFIXES, NETCDF_SUFFIXES) if fmt == "zarr"
                 else (NETCDF_SUFFIXES, ZARR_SUFFIXES))
    suffix = path.suffix.lower()
    if suffix in other or (fmt == "netcdf" and suffix not in ok):
        raise DatasetFormatError(format_message(
            f"a {fmt} path ending in {' or '.join(ok)}", f"{str(path)!r}",
            f"name the output e.g. cube{ok[0]}"
            + (" (or write zarr with to_zarr)" if fmt == "netcdf" else
               " (or write NetCDF with to_netcdf)")))
    if mode not in ("w-", "w"):
        from specrecon.errors import ConfigError

        raise ConfigError(format_message("mode 'w-' (refuse an existing output) or 'w' "
                                         "(overwrite it)", repr(mode), "pass one of those"))
    parent = path.absolute().parent
    if not parent.is_dir():
        raise DatasetFormatError(format_message(
            f"an existing output directory for {path}", f"{parent} does not exist",
            f"create it first (mkdir -p {parent}) or choose another path"))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DatasetFormatError(format_message(
            f"a writable output directory for {path}", f"{parent} is not writable",
            "choose a directory you can write to"))
    if path.exists() and mode == "w-" and not resume:
        hint = ("pass mode='w' to overwrite it (CLI: --overwrite), resume=True to finish an "
                "interrupted write (CLI: --resume), or choose another path") if fmt == "zarr" \
            else "pass mode='w' to overwrite it (CLI: --overwrite) or choose another path"
        raise OutputExistsError(format_message(f"a new {fmt} output", f"{path} exists", hint))
    if path.exists() and not os.access(path, os.W_OK):
        raise DatasetFormatError(format_message(f"a writable {path}", "a read-only output",
                                                "choose another path or fix its permissions"))


def _spatial_dims(var: xr.DataArray) -> tuple[str, str] | None:
    found = find_spatial_dims(var.dims)
    return (str(found[0]), str(found[1])) if found is not None else None


def _grid_mapping_name(ds: xr.Dataset) -> str | None:
    for var in ds.data_vars.values():
        gm = var.encoding.get("grid_mapping") or var.attrs.get("grid_mapping")
        if gm and gm in ds.variables:
            return str(gm)
    if "spatial_ref" in ds.variables:
        return "spatial_ref"
    return None


def _prepare(obj: xr.DataArray | xr.Dataset, action: str) -> tuple[xr.Dataset, str | None]:
    """Dataset with CF global attrs, fresh GeoTransform, grid_mapping and whole-spectrum chunks."""
    if isinstance(obj, xr.DataArray):
        ds = obj.to_dataset(name=obj.name if obj.name is not None else "reflectance",
                            promote_attrs=False)
        ds[next(iter(ds.data_vars))].encoding.update(obj.encoding)
    elif isinstance(obj, xr.Dataset):
        ds = obj.copy()
    else:
        raise TypeError(format_message("an xarray DataArray or Dataset", type(obj).__name__,
                                       "wrap the array with specrecon.cube.make_cube first"))
    gm = _grid_mapping_name(ds)
    if gm is not None:
        ds = _refresh_transform(ds, gm, action)
    for name, var in ds.data_vars.items():
        if WAVELENGTH in var.dims and var.chunks is not None:
            ds[name] = var.chunk({WAVELENGTH: -1})
        if gm is not None and name != gm and var.ndim >= 2:
            ds[name].encoding["grid_mapping"] = gm
            ds[name].attrs.pop("grid_mapping", None)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    attrs = dict(ds.attrs)
    attrs["Conventions"] = "CF-1.10"
    line = f"{stamp}: specrecon {_version()} {action}"
    attrs["history"] = f"{attrs['history']}\n{line}" if attrs.get("history") else line
    first = next(iter(ds.data_vars.values()), None)
    model = first.attrs.get("model") if first is not None else None
    attrs.setdefault("source", f"specrecon {_version()}" + (f", model {model}" if model else ""))
    ds.attrs = attrs
    return ds, gm


def _refresh_transform(ds: xr.Dataset, gm: str, action: str = "write") -> xr.Dataset:
    """Recompute GeoTransform from the coordinates (rioxarray) so it is never stale or wrong.

    The spatial dims come from :func:`specrecon.cube.find_spatial_dims` (any supported
    naming, not only x/y); when no transform can be computed from the coordinates, the
    GeoTransform attribute is dropped with a warning rather than written wrong.
    """
    try:
        import rioxarray  # noqa: F401
    except ImportError:  # pragma: no cover
        return ds
    main = next((v for v in ds.data_vars.values() if _spatial_dims(v) is not None), None)
    dims = _spatial_dims(main) if main is not None else None
    try:
        if dims is None:
            raise ValueError("no recognised spatial dims")
        ds = ds.rio.set_spatial_dims(x_dim=dims[1], y_dim=dims[0])
        if gm != "spatial_ref":
            ds = ds.rio.write_grid_mapping(gm)
        for d in dims:
            if d not in ds.indexes or ds.sizes[d] < 2:
                raise ValueError(f"no coordinate values along {d!r}")
        transform = ds.rio.transform(recalc=True)
        out: xr.Dataset = ds.rio.write_transform(transform, grid_mapping_name=gm)
        return out
    except Exception as err:  # noqa: BLE001 - coordinates rioxarray cannot read
        if "GeoTransform" in ds[gm].attrs:
            ds[gm] = ds[gm].copy()
            ds[gm].attrs = {k: v for k, v in ds[gm].attrs.items() if k != "GeoTransform"}
        warnings.warn(f"{action}: no GeoTransform written ({err}); the CRS is kept, the "
                      "pixel positions are those of the coordinates", UserWarning,
                      stacklevel=4)
        return ds


def _regular_chunks(ds: xr.Dataset) -> xr.Dataset:
    """zarr needs regular chunks: rechunk dask variables whose chunks are irregular."""
    for name, var in ds.data_vars.items():
        if var.chunks is None:
            continue
        new = {}
        for dim, ch in zip(var.dims, var.chunks):
            if len(ch) > 1 and (len(set(ch[:-1])) > 1 or ch[-1] > ch[0]):
                new[dim] = max(ch)
        if new:
            ds[name] = var.chunk(new)
    return ds


#: Largest stored zarr chunk :func:`to_zarr` writes by default. Blosc cannot encode a buffer
#: over 2 GiB (a 2048 px dask chunk of a 202-band float32 cube is 3.4 GB). Not lower: a
#: stored chunk smaller than its dask chunk is copied out before encoding, and with a
#: 256 MiB cap a 4096^2 scene in 1024 px chunks peaked at 5.1 GiB instead of 3.5 GiB.
ZARR_CHUNK_MAX_BYTES = 2**30


def _band_axes(var: xr.DataArray) -> tuple[int, ...]:
    return tuple(i for i, d in enumerate(var.dims) if d == WAVELENGTH)


def zarr_chunks(dask_chunks: tuple[int, ...], itemsize: int, *, keep: tuple[int, ...] = (),
                max_bytes: int | None = None) -> tuple[int, ...]:
    """Stored zarr chunks for a variable with regular dask chunks ``dask_chunks``.

    The dask chunk itself when it is at most ``max_bytes``; otherwise the largest
    axis not in ``keep`` (the spectrum stays whole) is cut to its next smaller divisor
    until the chunk fits. Every stored chunk then divides its dask chunk, so each
    dask chunk (and each write step) covers whole zarr chunks and parallel writes
    never share one.

    Parameters
    ----------
    dask_chunks : tuple of int
        The first (regular) dask chunk along each axis.
    itemsize : int
        Bytes per value.
    keep : tuple of int
        Axes never cut (the wavelength axis).
    max_bytes : int, optional
        Largest stored chunk (default :data:`ZARR_CHUNK_MAX_BYTES`).

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> zarr_chunks((202, 512, 512), 4)
    (202, 512, 512)
    >>> zarr_chunks((202, 2048, 2048), 4, keep=(0,))
    (202, 1024, 1024)
    >>> zarr_chunks((202, 1000, 1000), 4, keep=(0,), max_bytes=2**26)
    (202, 250, 250)
    """
    limit = ZARR_CHUNK_MAX_BYTES if max_bytes is None else int(max_bytes)
    sizes = [int(c) for c in dask_chunks]
    free = [i for i in range(len(sizes)) if i not in keep]
    while math.prod(sizes) * itemsize > limit:
        i = max(free, key=lambda k: sizes[k], default=None)
        if i is None or sizes[i] <= 1:
            break
        full = int(dask_chunks[i])
        sizes[i] = max(d for d in range(1, sizes[i]) if full % d == 0)
    return tuple(sizes)


def _zarr_encoding(ds: xr.Dataset, user: Mapping[str, Any] | None,
                   compressor: Any) -> dict[str, dict[str, Any]]:
    import zarr

    if compressor == "default":
        # LZ4 with byte shuffle: a reconstructed float32 cube compresses little (its
        # mantissas are noise-like); on a 202-band HYDRA cube it encoded 2.3x faster than
        # zstd level 1 with bit-shuffle for a 1.6 % larger output (ratio 1.32 vs 1.34;
        # benchmarks/results/pipeline_throughput.md).
        comp: Any = (zarr.codecs.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),)
    elif compressor is None:
        comp = None
    else:
        comp = compressor if isinstance(compressor, (tuple, list)) else (compressor,)
    enc: dict[str, dict[str, Any]] = {}
    for name, var in ds.data_vars.items():
        e: dict[str, Any] = {k: v for k, v in var.encoding.items()
                             if k in ("grid_mapping", "dtype", "scale_factor", "add_offset",
                                      "_FillValue", "units", "calendar")}
        if var.ndim >= 2 and np.issubdtype(var.dtype, np.floating):
            e["compressors"] = comp
            if var.chunks is not None:
                e["chunks"] = zarr_chunks(tuple(c[0] for c in var.chunks),
                                          var.dtype.itemsize, keep=_band_axes(var))
            e.setdefault("_FillValue", np.nan)
        enc[str(name)] = e
    for name, e in (user or {}).items():
        enc.setdefault(str(name), {}).update(e)
    return enc


def _client() -> Any:
    from specrecon.runtime import active_client

    return active_client()


def compute_with_progress(obj: Any, progress: bool = False, desc: str = "specrecon") -> Any:
    """Compute dask collection(s), with a progress bar when asked.

    On a ``distributed`` cluster (an active client) it uses
    :func:`distributed.progress`; otherwise :class:`tqdm.dask.TqdmCallback`.

    Parameters
    ----------
    obj : dask collection
        What to compute (e.g. a ``Delayed`` from ``to_zarr(compute=False)``).
    progress : bool
        Show a progress bar.
    desc : str
        Label of the bar.

    Returns
    -------
    Any
        The computed value.

    Examples
    --------
    >>> import dask.array as da
    >>> float(compute_with_progress(da.ones(4, chunks=2).sum()))
    4.0
    """
    import dask

    client = _client()
    if client is not None:
        fut = client.compute(obj)
        if progress:
            from distributed import progress as dprogress

            dprogress(fut)
        return fut.result()
    if progress:
        from tqdm.dask import TqdmCallback

        with TqdmCallback(desc=desc):
            return dask.compute(obj)[0]
    return dask.compute(obj)[0]


# ----------------------------------------------------------------------------- zarr
def _read_plan(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    import zarr

    try:
        group = zarr.open_group(str(path), mode="r", use_consolidated=False)
    except (FileNotFoundError, zarr.errors.GroupNotFoundError):
        return None
    plan = group.attrs.get(WRITE_PLAN_ATTR)
    return dict(plan) if plan is not None else None


def _write_plan(path: str | os.PathLike[str], plan: Mapping[str, Any]) -> None:
    import zarr

    group = zarr.open_group(str(path), mode="r+", use_consolidated=False)
    group.attrs[WRITE_PLAN_ATTR] = dict(plan)


def _fingerprint(ds: xr.Dataset, main: xr.DataArray) -> dict[str, Any]:
    """What identifies the cube being written: compared on resume."""
    fp: dict[str, Any] = {
        "shape": [int(v) for v in main.shape],
        "chunks": [int(c[0]) for c in main.chunks] if main.chunks is not None else [],
        "dtype": str(main.dtype),
        "variables": sorted(str(n) for n in ds.data_vars),
        "specrecon_version": _version(),
    }
    for key in FINGERPRINT_ATTRS:
        value = main.attrs.get(key)
        fp[key] = value.tolist() if value is not None and hasattr(value, "tolist") else value
    out: dict[str, Any] = json_roundtrip(fp)
    return out


def json_roundtrip(value: Any) -> Any:
    """``value`` as it reads back from zarr attributes (tuples -> lists, numpy -> Python)."""
    import json

    return json.loads(json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist")
                                 else str(v)))


def _check_fingerprint(path: Path, plan: Mapping[str, Any], now: Mapping[str, Any]) -> None:
    stored = plan.get("fingerprint")
    if stored is None:
        raise ResumeMismatchError(format_message(
            f"a write plan with a fingerprint in {path}",
            "a store written by an older specrecon (no fingerprint)",
            "write afresh with mode='w' (CLI: --overwrite)"))
    diff = {k: (stored.get(k), now.get(k)) for k in sorted(set(stored) | set(now))
            if stored.get(k) != now.get(k)}
    if diff:
        found = "; ".join(f"{k}: stored {a!r}, now {b!r}" for k, (a, b) in diff.items())
        raise ResumeMismatchError(format_message(
            f"the same cube as the write plan stored in {path} "
            "(input, model, scaling, tiling, shape, chunks, specrecon version)",
            found, "resume with the same input, model and options, or write afresh with "
                   "mode='w' (CLI: --overwrite)"))


def write_status(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The write plan of a zarr store written by :func:`to_zarr` (None for other stores).

    Returns
    -------
    dict or None
        ``{"complete": bool, "done": int, "steps": int, ...}`` -- ``done`` and
        ``steps`` count the row steps written and planned.

    Examples
    --------
    >>> write_status("scene_cube.zarr")["complete"]                  # doctest: +SKIP
    True
    """
    plan = _read_plan(path)
    if plan is None:
        return None
    steps = plan.get("steps") or []
    return {**plan, "complete": bool(plan.get("complete")), "done": len(plan.get("done", [])),
            "steps": len(steps)}


def _consolidate(path: Path) -> None:
    import zarr

    with warnings.catch_warnings():   # zarr 3 notes that consolidation is not in the v3 spec yet
        warnings.simplefilter("ignore")
        zarr.consolidate_metadata(str(path))


def _rows_in(edges: list[int], a: int, b: int) -> int:
    return int(np.searchsorted(edges, b) - np.searchsorted(edges, a))


def compute_steps(steps: Mapping[int, Any], on_done: Callable[[int], None]) -> None:
    """Compute dask collections as one graph, calling ``on_done(i)`` as each one finishes.

    One graph instead of one ``compute`` per step: no thread waits at a step's end for
    its slowest chunk while the next step's chunks could run (the write-step barrier
    left a third of the thread time idle in ``benchmarks/pipeline_throughput.py``).
    ``on_done`` runs in the calling thread (the local schedulers' scheduling loop, or
    the client's ``as_completed`` loop), so it may record progress without locks.

    Parameters
    ----------
    steps : mapping of int -> dask collection
        E.g. the ``Delayed`` of ``Dataset.to_zarr(region=..., compute=False)``.
    on_done : callable
        Called once with each step's id when that step's collection is computed.

    Examples
    --------
    >>> import dask
    >>> finished = []
    >>> compute_steps({0: dask.delayed(sum)([1, 2]), 1: dask.delayed(max)([3, 4])},
    ...               finished.append)
    >>> sorted(finished)
    [0, 1]
    """
    if not steps:
        return
    client = _client()
    if client is not None:
        from distributed import as_completed

        futures = client.compute(list(steps.values()))
        ids = {f.key: i for f, i in zip(futures, steps)}
        try:
            for fut in as_completed(futures):
                fut.result()                      # raises the step's error, if any
                on_done(ids[fut.key])
        except BaseException:
            client.cancel(futures)
            raise
        return
    from collections import Counter

    import dask
    from dask.callbacks import Callback
    from dask.core import flatten

    keys: dict[Any, int] = {key: i for i, obj in steps.items()
                            for key in flatten(obj.__dask_keys__())}
    remaining = Counter(keys.values())          # output keys still to finish, per step

    def posttask(key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        i = keys.get(key)
        if i is None:
            return
        remaining[i] -= 1
        if remaining[i] == 0:
            on_done(i)

    with Callback(posttask=posttask):
        dask.compute(*steps.values())


def _steps(edges: list[int], rows_per_step: int) -> list[tuple[int, int]]:
    idx = list(range(0, len(edges) - 1, rows_per_step)) + [len(edges) - 1]
    return [(edges[a], edges[b]) for a, b in itertools.pairwise(idx)]


def to_zarr(obj: xr.DataArray | xr.Dataset, path: str | os.PathLike[str], *, mode: str = "w-",
            region: Mapping[str, slice] | None = None,
            encoding: Mapping[str, Any] | None = None, compressor: Any = "default",
            progress: bool = False, resume: bool = False,
            rows_per_step: int | None = None) -> Path:
    """Write a cube (or Dataset) to a georeferenced, CF-compliant zarr store.

    Dask-backed data stream to disk a few chunk rows at a time (bounded
    memory) and every finished step is recorded, so an interrupted write can
    be completed with ``resume=True`` (see the module docstring).

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        The cube, e.g. from :func:`specrecon.reconstruct`.
    path : str or path-like
        Target store (``.zarr``; its directory must exist).
    mode : {"w-", "w"}
        ``"w-"`` refuses to overwrite an existing store, ``"w"`` overwrites (the
        same policy as :func:`to_netcdf`). Ignored with ``resume=True`` or ``region``.
    region : mapping of dim -> slice, optional
        Write ``obj`` into this region of an existing store (``mode="r+"``);
        variables without the region dims are dropped automatically.
    encoding : mapping, optional
        Per-variable encoding merged over the defaults.
    compressor : zarr codec, sequence of codecs, None or "default"
        Default: Blosc LZ4 level 5 with byte shuffle.
    progress : bool
        Show a progress bar over the chunks written.
    resume : bool
        Continue an interrupted write to ``path`` (a fresh write if the
        store does not exist yet). The store's fingerprint must match ``obj``.
    rows_per_step : int, optional
        Chunk rows per recorded step (default 1: every chunk row is recorded
        as soon as it is written). All steps run as one dask graph, so this
        sets how much an interrupted write redoes, not how the work is scheduled.

    Returns
    -------
    pathlib.Path
        The store path.

    Raises
    ------
    ResumeMismatchError
        If ``resume=True`` and the store holds (part of) another cube: another
        input, model, scaling, tiling, shape, chunking or specrecon version.
    OutputExistsError
        With ``mode="w-"`` when the store exists (a ``FileExistsError``).
    DatasetFormatError
        A NetCDF suffix, a missing or unwritable directory.

    Examples
    --------
    >>> cube.hsr.to_zarr("scene_cube.zarr", progress=True)           # doctest: +SKIP
    >>> cube.hsr.to_zarr("scene_cube.zarr", resume=True)             # doctest: +SKIP
    """
    path = Path(path)
    if region is not None:
        if not path.exists():
            raise DatasetFormatError(format_message(
                f"an existing store at {path} for a region write", "no such store",
                "write the whole cube first (to_zarr without region=)"))
        ds, _ = _prepare(obj, "to_zarr")
        ds = _regular_chunks(ds)
        keep = set(region)
        sub = ds.drop_vars([n for n, v in ds.variables.items() if not keep & set(v.dims)])
        delayed = sub.to_zarr(path, region=dict(region), mode="r+", compute=False,
                              consolidated=False)
        compute_with_progress(delayed, progress, "to_zarr region")
        _consolidate(path)
        return path
    _check_output(path, "zarr", mode, resume=resume)
    ds, _ = _prepare(obj, "to_zarr")
    ds = _regular_chunks(ds)

    enc = _zarr_encoding(ds, encoding, compressor)
    main = next((v for v in ds.data_vars.values() if v.chunks is not None and v.ndim >= 2), None)
    if main is None:  # numpy-backed: one eager write
        first = next((v for v in ds.data_vars.values() if v.ndim >= 2), None)
        fingerprint = _fingerprint(ds, first) if first is not None else {}
        plan = _read_plan(path) if resume else None
        if plan is not None:
            _check_fingerprint(path, plan, fingerprint)
            if plan.get("complete"):
                return path
        ds.to_zarr(path, mode="w" if (mode == "w" or plan is not None) else "w-", encoding=enc,
                   consolidated=False)
        _write_plan(path, {"dim": None, "edges": [], "shape": [], "done": [],
                           "fingerprint": fingerprint, "complete": True})
        _consolidate(path)
        return path

    main_chunks: tuple[tuple[int, ...], ...] = main.chunks or ()
    dims = _spatial_dims(main)
    ydim = dims[0] if dims is not None else next(
        str(d) for d, c in zip(main.dims, main_chunks) if d != WAVELENGTH)
    fingerprint = _fingerprint(ds, main)
    edges = [int(e) for e in np.concatenate([[0], np.cumsum(main_chunks[main.dims.index(ydim)])])]
    shape = [int(s) for s in main.shape]
    # the steps only set how finely progress is recorded for resume: they are computed as
    # one graph (compute_steps), so a step's end is not a barrier
    steps = _steps(edges, 1 if rows_per_step is None else max(1, int(rows_per_step)))

    plan = _read_plan(path) if resume else None
    if plan is not None:
        _check_fingerprint(path, plan, fingerprint)
        if plan.get("edges") != edges or plan.get("shape") != shape:
            raise ResumeMismatchError(format_message(
                f"the write plan stored in {path} (shape {plan.get('shape')}, "
                f"{ydim} edges {plan.get('edges')})",
                f"shape {shape} with {ydim} edges {edges}",
                "resume with the same cube and chunking, or write afresh with mode='w'"))
        if plan.get("complete"):
            return path
        if plan.get("steps") != [list(s) for s in steps]:
            steps = [tuple(s) for s in plan["steps"]]
    else:
        if resume and path.exists():
            raise ResumeMismatchError(format_message(
                f"a store written by specrecon.to_zarr with a write plan at {path}",
                "a store without one", "write afresh with mode='w'"))
        small = [n for n, v in ds.variables.items() if ydim not in v.dims and v.chunks is not None]
        for n in small:  # coordinates without the row dim are written now, not per region
            ds[n] = ds[n].load()
        ds.to_zarr(path, mode="w" if mode == "w" else "w-", encoding=enc, compute=False,
                   consolidated=False)
        plan = {"dim": ydim, "edges": edges, "shape": shape,
                "steps": [list(s) for s in steps], "fingerprint": fingerprint, "done": [],
                "complete": False}
        _write_plan(path, plan)

    done = {int(i) for i in plan.get("done", [])}
    drop = [n for n, v in ds.variables.items() if ydim not in v.dims]
    per_row_chunks = math.prod(len(c) for d, c in zip(main.dims, main_chunks) if d != ydim)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=per_row_chunks * (len(edges) - 1), desc="to_zarr", unit="chunk")
    def advance(i: int) -> None:
        if bar is not None:
            a, b = steps[i]
            bar.update(per_row_chunks * _rows_in(edges, a, b))

    todo: dict[int, Any] = {}
    for i, (a, b) in enumerate(steps):
        if i in done:
            advance(i)
            continue
        sub = ds.drop_vars(drop).isel({ydim: slice(a, b)})
        todo[i] = sub.to_zarr(path, region={ydim: slice(a, b)}, mode="r+", compute=False,
                              consolidated=False, write_empty_chunks=True)

    def step_done(i: int) -> None:
        done.add(i)
        plan["done"] = sorted(done)
        _write_plan(path, plan)
        advance(i)

    try:
        compute_steps(todo, step_done)
    finally:
        if bar is not None:
            bar.close()
    plan["complete"] = True
    _write_plan(path, plan)
    _consolidate(path)
    return path


# ----------------------------------------------------------------------------- NetCDF
def _nc_chunks(var: xr.DataArray, target_bytes: int = 4 * 2**20) -> tuple[int, ...]:
    nb = var.sizes.get(WAVELENGTH, 1)
    side = int(math.sqrt(target_bytes / max(1, nb * var.dtype.itemsize)))
    side = max(16, 2 ** int(math.log2(max(side, 1))))
    return tuple(int(n) if d == WAVELENGTH else int(min(n, side))
                 for d, n in zip(var.dims, var.shape))


def to_netcdf(obj: xr.DataArray | xr.Dataset, path: str | os.PathLike[str], *, mode: str = "w-",
              encoding: Mapping[str, Any] | None = None, complevel: int = 4,
              engine: str | None = None, progress: bool = False) -> Path:
    """Write a cube (or Dataset) to a georeferenced, CF-compliant NetCDF-4 file.

    GDAL reads the georeferencing (``grid_mapping``, ``spatial_ref`` with
    ``crs_wkt`` and ``GeoTransform``). Data are zlib-compressed in chunks of
    the whole spectrum by about 4 MB of pixels; dask data stream chunk by chunk
    into a temporary file next to ``path``, renamed to ``path`` only when the
    write succeeded (a killed write leaves no partial file).

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        The cube.
    path : str or path-like
        Target file (``.nc``, ``.nc4``, ``.netcdf``, ``.h5`` or ``.cdf``; its
        directory must exist).
    mode : {"w-", "w"}
        ``"w-"`` refuses to overwrite an existing file, ``"w"`` replaces it (the
        same policy as :func:`to_zarr`).
    encoding : mapping, optional
        Per-variable encoding merged over the defaults.
    complevel : int
        zlib level (0 disables compression).
    engine : str, optional
        ``"netcdf4"`` (default when installed) or ``"h5netcdf"``.
    progress : bool
        Show a progress bar (tqdm locally, ``distributed.progress`` on a cluster).

    Returns
    -------
    pathlib.Path
        The file path.

    Raises
    ------
    OutputExistsError
        With ``mode="w-"`` when the file exists (a ``FileExistsError``).
    DatasetFormatError
        A ``.zarr`` (or other non-NetCDF) suffix, a missing or unwritable directory.

    Examples
    --------
    >>> cube.hsr.to_netcdf("scene_cube.nc")                          # doctest: +SKIP
    >>> import rasterio; rasterio.open("scene_cube.nc").crs          # doctest: +SKIP
    CRS.from_epsg(32633)
    """
    path = Path(path)
    _check_output(path, "netcdf", mode)
    ds, _ = _prepare(obj, "to_netcdf")
    enc: dict[str, dict[str, Any]] = {}
    for name, var in ds.data_vars.items():
        e: dict[str, Any] = {k: v for k, v in var.encoding.items() if k == "grid_mapping"}
        if var.ndim >= 2 and np.issubdtype(var.dtype, np.floating):
            e.update(zlib=complevel > 0, complevel=int(complevel), shuffle=True,
                     chunksizes=_nc_chunks(var), _FillValue=np.float32(np.nan)
                     if var.dtype == np.float32 else np.nan)
        enc[str(name)] = e
    for name, e in (encoding or {}).items():
        enc.setdefault(str(name), {}).update(e)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        delayed = ds.to_netcdf(tmp, mode="w", encoding=enc, engine=engine,  # type: ignore[call-overload]
                               compute=False)
        compute_with_progress(delayed, progress, "to_netcdf")
        if mode == "w-" and path.exists():    # appeared while we were writing
            raise OutputExistsError(format_message("a new netcdf output", f"{path} exists",
                                                   "pass mode='w' to overwrite it"))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


# ----------------------------------------------------------------------------- reading
def _pick_cube(ds: xr.Dataset, variable: str | None, path: Path) -> xr.DataArray:
    if variable is not None:
        return ds[variable]
    cands = [n for n, v in ds.data_vars.items() if WAVELENGTH in v.dims]
    if len(cands) != 1:
        cands = [n for n, v in ds.data_vars.items() if v.ndim >= 2]
    if len(cands) != 1:
        raise DatasetFormatError(format_message(
            f"one cube variable (with a wavelength dim) in {path}",
            f"{len(cands)} candidates {cands}", "pass variable=<name>"))
    return ds[cands[0]]


def _parse_wavelengths(values: Any) -> np.ndarray | None:
    if values is None:
        return None
    if isinstance(values, str):
        nums = re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", values)
        return np.asarray([float(v) for v in nums]) if nums else None
    if isinstance(values, (list, tuple)) and values and isinstance(values[0], str):
        out = []
        for v in values:
            nums = re.findall(r"\d+\.?\d*", v)
            if not nums:
                return None
            out.append(float(nums[-1]))
        return np.asarray(out)
    return np.asarray(values, dtype="float64")


def _check_complete(path: Path, allow_incomplete: bool) -> None:
    status = write_status(path)
    if status is None or status["complete"]:
        return
    what = (f"an incomplete store: {status['done']} of {status['steps']} row steps written, "
            "the missing rows read as NaN")
    todo = ("finish it with to_zarr(cube, path, resume=True) (CLI: specrecon reconstruct "
            "... --resume), or pass allow_incomplete=True to look at it anyway")
    if not allow_incomplete:
        raise DatasetFormatError(format_message(f"a complete cube store at {path}", what, todo))
    warnings.warn(f"{path} is {what}. To complete it: {todo.split(', or')[0]}", UserWarning,
                  stacklevel=3)


def _with_spatial_dims(cube: xr.DataArray) -> xr.DataArray:
    """Tell rioxarray the spatial dims when they are not named x/y."""
    dims = _spatial_dims(cube)
    if dims is None or dims == ("y", "x"):
        return cube
    try:
        out: xr.DataArray = cube.rio.set_spatial_dims(x_dim=dims[1], y_dim=dims[0])
        return out
    except Exception:  # noqa: BLE001 - rioxarray cannot use these dims; return as read
        return cube


def open_cube(path: str | os.PathLike[str], *, variable: str | None = None,
              wavelengths: Any = None, chunks: Any = None,
              allow_incomplete: bool = False) -> xr.DataArray:
    """Open a cube written as zarr, NetCDF or GeoTIFF, lazily, with coordinates and CRS.

    Parameters
    ----------
    path : str or path-like
        A ``.zarr`` store, a ``.nc``/``.nc4`` file or a ``.tif``/``.tiff``.
    variable : str, optional
        Data variable to return (zarr/NetCDF); default: the one with a
        ``wavelength`` dim.
    wavelengths : array-like, optional
        Band centres (nm) for GeoTIFFs that do not record them (read from a
        ``wavelength`` tag or band descriptions such as ``"band 3: 450 nm"``
        otherwise).
    chunks : optional
        dask chunks; default: the on-disk chunks (``{}``) for zarr/NetCDF,
        ``True`` for GeoTIFF.
    allow_incomplete : bool
        Open a zarr store whose write did not finish (its write plan says
        ``complete: false``) with a warning; by default that raises, because
        the missing chunks would read as nodata.

    Returns
    -------
    xarray.DataArray
        Dims ``("wavelength", y, x)``; ``.rio.crs`` and ``.rio.transform()``
        work when the file was georeferenced.

    Raises
    ------
    DatasetFormatError
        If the file does not exist, its type is unknown, no cube variable /
        wavelengths are found, or a zarr write did not finish.

    Examples
    --------
    >>> cube = specrecon.open_cube("scene_cube.zarr")                # doctest: +SKIP
    >>> cube.rio.crs                                                 # doctest: +SKIP
    CRS.from_epsg(32633)
    """
    import rioxarray  # noqa: F401  (registers .rio on the returned cube: CRS, transform)

    path = Path(path)
    if not path.exists():
        raise DatasetFormatError(format_message(
            "an existing .zarr store, .nc file or .tif", f"no such file or store: {path}",
            "check the path"))
    suffix = path.suffix.lower()
    if suffix == ".zarr" or (path.is_dir() and (path / "zarr.json").exists()):
        _check_complete(path, allow_incomplete)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ds = xr.open_zarr(path, decode_coords="all", chunks={} if chunks is None else chunks,
                              consolidated=False)
        return _with_spatial_dims(_pick_cube(ds, variable, path))
    if suffix in NETCDF_SUFFIXES:
        ds = xr.open_dataset(path, decode_coords="all", chunks={} if chunks is None else chunks)
        return _with_spatial_dims(_pick_cube(ds, variable, path))
    if suffix in (".tif", ".tiff"):
        import rioxarray

        from specrecon.cube import make_cube

        opened = rioxarray.open_rasterio(path, chunks=True if chunks is None else chunks,
                                         mask_and_scale=True)
        if not isinstance(opened, xr.DataArray):
            raise DatasetFormatError(format_message(
                "a GeoTIFF with one band stack", f"{path.name} with subdatasets",
                "open the subdataset you need with rioxarray and pass it to make_cube"))
        da = opened
        wl = _parse_wavelengths(wavelengths)
        if wl is None:
            wl = _parse_wavelengths(da.attrs.get("wavelength"))
        if wl is None:
            wl = _parse_wavelengths(da.attrs.get("long_name"))
        if wl is None or wl.size != da.sizes["band"]:
            raise DatasetFormatError(format_message(
                f"{da.sizes['band']} band centres in the GeoTIFF tags or wavelengths=",
                "none" if wl is None else f"{wl.size}",
                "pass wavelengths=[...] (nm) to open_cube"))
        fwhm = _parse_wavelengths(da.attrs.get("fwhm"))
        extra = {"spatial_ref": da["spatial_ref"]} if "spatial_ref" in da.coords else {}
        attrs = {k: v for k, v in da.attrs.items()
                 if k not in ("wavelength", "fwhm", "long_name", "_FillValue")}
        cube = make_cube(da.data.astype("float32"), wl,
                         fwhm if fwhm is not None and fwhm.size == wl.size else None,
                         y=da["y"].variable, x=da["x"].variable, attrs=attrs,
                         extra_coords=extra, name=str(da.name or "reflectance"))
        if "spatial_ref" in extra:
            cube.encoding["grid_mapping"] = "spatial_ref"
        return cube
    raise DatasetFormatError(format_message(
        "a .zarr store, a NetCDF (.nc) file or a GeoTIFF (.tif)", f"{path.name!r}",
        "rename the file with its format's suffix"))
