"""The global tile grid: tile placement, blending weights and halo arithmetic.

Pure numpy (layer 1): no xarray, no dask, no torch. :mod:`specrecon.inference`
builds its dask graph on top of these functions.

Why a global grid
-----------------
HYDRA's student (and MST++) normalise and attend over *every pixel of the
tile they are given*, so the prediction for a pixel depends on which tile it
was computed in. If every dask chunk picked its own tiles, the numbers would
change with the chunking and chunk borders would show seams. Instead the tile
positions are fixed once for the whole scene:

* **Grid.** Along each axis of length ``N`` with tile length ``T`` and overlap
  ``O`` the tiles start at ``0, S, 2S, ...`` with stride ``S = T - O``,
  anchored at the scene origin. The **last tile is shifted back** so that it
  ends exactly at ``N`` (start ``N - T``); no tile ever reaches outside the
  scene, so no padding value can leak into a prediction and every tile has
  the same shape (batching needs that). A scene shorter than ``T`` gets one
  tile spanning the whole axis.
* **Blending.** Each tile carries a separable window ``w_y(i) * w_x(j)``: a
  raised-cosine ramp of length ``O`` on each side that faces another tile,
  and a flat 1 on sides that lie on the scene border. The ramps are strictly
  positive. An output pixel is ``sum_t w_t p_t / sum_t w_t`` over the tiles
  ``t`` covering it, accumulated in the global tile order, so the arithmetic
  for a pixel is the same whichever chunk computes it.
* **Halo.** An output chunk ``[y0, y1) x [x0, x1)`` needs the tiles that
  intersect it (:meth:`AxisGrid.tiles_for`) and therefore reads the input
  region that those tiles span (:meth:`AxisGrid.region_for`), its *halo*.
  :func:`halo_depth` gives the largest halo over all chunks of a chunking,
  the depth to give :func:`dask.array.overlap.overlap`.

Tiles that straddle a chunk border are computed by each chunk that needs
them: the price of chunk independence is about ``2 * T / chunk`` extra model
work per axis (6 % per axis for 2048-pixel chunks and 128-pixel tiles).

Examples
--------
>>> g = AxisGrid(size=96, tile=32, overlap=8)
>>> g.starts.tolist()
[0, 24, 48, 64]
>>> g.tiles_for(30, 50).tolist()      # tiles that touch output rows 30..49
[0, 1, 2]
>>> g.region_for(30, 50)              # input rows they read
(0, 80)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from specrecon.errors import ConfigError, format_message

__all__ = [
    "AxisGrid",
    "TileGrid",
    "blend_region",
    "chunk_bounds",
    "halo_depth",
    "merge_small_chunks",
    "ramp",
    "regular_chunks",
]


def ramp(length: int) -> np.ndarray:
    """Raised-cosine ramp rising towards 1, strictly positive.

    Parameters
    ----------
    length : int
        Number of samples (the overlap).

    Returns
    -------
    numpy.ndarray
        float64 values ``sin^2(pi/2 * (i + 1) / (length + 1))``, in (0, 1).

    Examples
    --------
    >>> ramp(3).round(3).tolist()
    [0.146, 0.5, 0.854]
    """
    i = np.arange(length, dtype="float64")
    return np.sin(0.5 * np.pi * (i + 1.0) / (length + 1.0)) ** 2


@dataclass(frozen=True)
class AxisGrid:
    """Tile placement along one axis of the scene.

    Parameters
    ----------
    size : int
        Length of the scene along the axis (pixels).
    tile : int
        Tile length; tiles are ``min(tile, size)`` long.
    overlap : int
        Overlap between neighbouring tiles, ``0 <= overlap < tile``.

    Examples
    --------
    >>> AxisGrid(100, 40, 10).starts.tolist()
    [0, 30, 60]
    >>> AxisGrid(20, 40, 10).starts.tolist()   # scene shorter than a tile
    [0]
    """

    size: int
    tile: int
    overlap: int

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ConfigError(format_message("a scene at least 1 pixel long",
                                             f"{self.size} pixels", "pass a non-empty scene"))
        if self.tile < 1 or not 0 <= self.overlap < self.tile:
            raise ConfigError(format_message(
                "tile >= 1 and 0 <= overlap < tile", f"tile={self.tile}, overlap={self.overlap}",
                "choose an overlap smaller than the tile size (e.g. tile // 4)"))

    @property
    def length(self) -> int:
        """Length of every tile along this axis."""
        return min(self.tile, self.size)

    @property
    def stride(self) -> int:
        """Distance between the starts of regular tiles."""
        return self.tile - self.overlap

    @cached_property
    def starts(self) -> np.ndarray:
        """Start index of every tile (int64, increasing)."""
        if self.size <= self.tile:
            return np.zeros(1, dtype="int64")
        last = self.size - self.tile
        regular = np.arange(0, last, self.stride, dtype="int64")
        return np.append(regular, np.int64(last))

    @property
    def n_tiles(self) -> int:
        """Number of tiles along this axis."""
        return int(self.starts.size)

    def window(self, k: int) -> np.ndarray:
        """Blending weights of tile ``k`` (float64, strictly positive).

        Sides facing another tile ramp up over ``overlap`` samples; sides on
        the scene border are flat.
        """
        n = self.length
        w = np.ones(n, dtype="float64")
        r = min(self.overlap, n)
        if r == 0:
            return w
        up = ramp(r)
        start = int(self.starts[k])
        if start > 0:
            w[:r] = np.minimum(w[:r], up)
        if start + n < self.size:
            w[n - r:] = np.minimum(w[n - r:], up[::-1])
        return w

    def tiles_for(self, a: int, b: int) -> np.ndarray:
        """Indices of the tiles that intersect ``[a, b)``."""
        s = self.starts
        return np.nonzero((s < b) & (s + self.length > a))[0]

    def region_for(self, a: int, b: int) -> tuple[int, int]:
        """Input region ``[start, stop)`` read by the tiles that intersect ``[a, b)``."""
        k = self.tiles_for(a, b)
        return int(self.starts[k[0]]), int(self.starts[k[-1]]) + self.length


@dataclass(frozen=True)
class TileGrid:
    """The 2-D global tile grid of a scene: two :class:`AxisGrid`.

    Parameters
    ----------
    shape : tuple of int
        Scene shape ``(ny, nx)``.
    tile : int or tuple of int
        Tile size (square, or ``(ty, tx)``).
    overlap : int or tuple of int
        Overlap (same for both axes, or ``(oy, ox)``).

    Examples
    --------
    >>> grid = TileGrid((96, 160), 32, 8)
    >>> grid.n_tiles, grid.tile_shape
    (28, (32, 32))
    """

    shape: tuple[int, int]
    tile: int | tuple[int, int]
    overlap: int | tuple[int, int]

    @cached_property
    def y(self) -> AxisGrid:
        """Grid along rows."""
        return AxisGrid(int(self.shape[0]), _pair(self.tile)[0], _pair(self.overlap)[0])

    @cached_property
    def x(self) -> AxisGrid:
        """Grid along columns."""
        return AxisGrid(int(self.shape[1]), _pair(self.tile)[1], _pair(self.overlap)[1])

    @property
    def n_tiles(self) -> int:
        """Total number of tiles."""
        return self.y.n_tiles * self.x.n_tiles

    @property
    def tile_shape(self) -> tuple[int, int]:
        """Shape of every tile ``(ty, tx)``."""
        return self.y.length, self.x.length

    def halo(self, y0: int, y1: int, x0: int, x1: int) -> tuple[int, int, int, int]:
        """Input region ``(ry0, ry1, rx0, rx1)`` needed for output ``[y0,y1) x [x0,x1)``."""
        return (*self.y.region_for(y0, y1), *self.x.region_for(x0, x1))


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    a, b = v
    return int(a), int(b)


def chunk_bounds(chunks: Sequence[int]) -> np.ndarray:
    """Chunk edges ``[0, c0, c0+c1, ...]`` from dask-style chunk sizes.

    Examples
    --------
    >>> chunk_bounds((3, 4, 2)).tolist()
    [0, 3, 7, 9]
    """
    return np.concatenate([[0], np.cumsum(np.asarray(chunks, dtype="int64"))]).astype("int64")


def halo_depth(grid: AxisGrid, chunks: Sequence[int]) -> int:
    """Largest halo, over all chunks, that the tiles of a chunk reach beyond it.

    Parameters
    ----------
    grid : AxisGrid
        Tile placement along the axis.
    chunks : sequence of int
        Chunk sizes along the axis (summing to ``grid.size``).

    Returns
    -------
    int
        Depth ``d`` such that every chunk ``[a, b)`` is served by ``[a - d, b + d)``.

    Examples
    --------
    >>> halo_depth(AxisGrid(96, 32, 8), (48, 48))
    24
    """
    edges = chunk_bounds(chunks)
    depth = 0
    for a, b in itertools.pairwise(edges):
        r0, r1 = grid.region_for(int(a), int(b))
        depth = max(depth, int(a) - r0, r1 - int(b))
    return depth


def regular_chunks(size: int, chunks: Sequence[int], tile: int) -> tuple[int, ...]:
    """The regular chunking of one axis for reconstruction output (and its input).

    One chunk length ``c`` for the whole axis, the last chunk possibly shorter
    (zarr's rule, so the output is written without any rechunking): the largest
    requested chunk, raised to the tile length so that a tile never spans more
    than two chunks (a chunk shorter than a tile would make several chunks
    recompute the same tile), and capped at the axis length.

    Parameters
    ----------
    size : int
        Axis length.
    chunks : sequence of int
        The input's chunk sizes along the axis (possibly irregular).
    tile : int
        Tile length along the axis (:attr:`AxisGrid.length`).

    Returns
    -------
    tuple of int
        Dask-style chunk sizes summing to ``size``.

    Examples
    --------
    >>> regular_chunks(100, (30, 30, 40), 16)
    (40, 40, 20)
    >>> regular_chunks(100, (10,) * 10, 32)
    (32, 32, 32, 4)
    """
    if size < 1:
        raise ConfigError(format_message("an axis at least 1 pixel long", f"{size}",
                                         "pass a non-empty scene"))
    c = min(int(size), max(max((int(v) for v in chunks), default=size), int(tile), 1))
    n, rest = divmod(int(size), c)
    return (c,) * n + ((rest,) if rest else ())


def merge_small_chunks(chunks: Sequence[int], minimum: int) -> tuple[int, ...]:
    """Merge neighbouring chunks until each is at least ``minimum`` long.

    Used to make every chunk at least as long as the halo depth, which
    :func:`dask.array.overlap.overlap` requires. Chunks already long enough
    are kept, so well-chunked arrays are not rechunked.

    Examples
    --------
    >>> merge_small_chunks((10, 10, 10, 50, 5), 25)
    (30, 55)
    >>> merge_small_chunks((64, 64), 20)
    (64, 64)
    """
    out: list[int] = []
    acc = 0
    for c in chunks:
        acc += int(c)
        if acc >= minimum:
            out.append(acc)
            acc = 0
    if acc:
        if out:
            out[-1] += acc
        else:
            out.append(acc)
    return tuple(out)


def blend_region(image: np.ndarray, origin: tuple[int, int], out: tuple[int, int, int, int],
                 grid: TileGrid, predict: Callable[[np.ndarray], np.ndarray], *,
                 bands: int, batch_size: int = 8, valid: np.ndarray | None = None,
                 on_tiles: Callable[[int], None] | None = None) -> np.ndarray:
    """Reconstruct one output region from the global tiles that cover it.

    Parameters
    ----------
    image : numpy.ndarray
        Model-ready input ``(3, H, W)`` float32 covering at least the halo of
        ``out``; ``image[:, 0, 0]`` is scene pixel ``origin``.
    origin : tuple of int
        Scene coordinates ``(y, x)`` of ``image[:, 0, 0]``.
    out : tuple of int
        Output region ``(y0, y1, x0, x1)`` in scene coordinates.
    grid : TileGrid
        The global tile grid.
    predict : callable
        ``(n, 3, ty, tx) float32 -> (n, bands, ty, tx)`` numpy arrays.
    bands : int
        Number of output bands.
    batch_size : int
        Tiles per call of ``predict``.
    valid : numpy.ndarray of bool, optional
        ``(H, W)`` validity of ``image``; tiles with no valid pixel are
        skipped and invalid output pixels become NaN.
    on_tiles : callable, optional
        Called with the number of tiles run after each batch (progress).

    Returns
    -------
    numpy.ndarray
        ``(bands, y1 - y0, x1 - x0)`` float32.

    Examples
    --------
    >>> grid = TileGrid((40, 40), 16, 4)
    >>> img = np.ones((3, 40, 40), "float32")
    >>> res = blend_region(img, (0, 0), (10, 30, 0, 40), grid, lambda t: t[:, :1] * 2, bands=1)
    >>> res.shape, float(res.min()), float(res.max())
    ((1, 20, 40), 2.0, 2.0)
    """
    y0, y1, x0, x1 = out
    oy, ox = origin
    ty, tx = grid.tile_shape
    ky = grid.y.tiles_for(y0, y1)
    kx = grid.x.tiles_for(x0, x1)
    need = grid.halo(y0, y1, x0, x1)
    if (need[0] < oy or need[2] < ox or need[1] > oy + image.shape[1]
            or need[3] > ox + image.shape[2]):
        raise ValueError(f"input block at {origin} of shape {image.shape[1:]} does not cover "
                         f"the halo {need} of output region {out}")
    acc = np.zeros((bands, y1 - y0, x1 - x0), dtype="float32")
    wsum = np.zeros((y1 - y0, x1 - x0), dtype="float32")

    tiles: list[tuple[int, int]] = []
    for i in ky:
        for j in kx:
            sy, sx = int(grid.y.starts[i]) - oy, int(grid.x.starts[j]) - ox
            if valid is not None and not valid[sy:sy + ty, sx:sx + tx].any():
                continue
            tiles.append((int(i), int(j)))

    for b0 in range(0, len(tiles), max(1, int(batch_size))):
        batch = tiles[b0:b0 + max(1, int(batch_size))]
        stack = np.stack([image[:, int(grid.y.starts[i]) - oy:int(grid.y.starts[i]) - oy + ty,
                                int(grid.x.starts[j]) - ox:int(grid.x.starts[j]) - ox + tx]
                          for i, j in batch]).astype("float32", copy=False)
        pred = np.asarray(predict(stack), dtype="float32")
        if pred.shape != (len(batch), bands, ty, tx):
            raise ValueError(f"predict returned shape {pred.shape}, expected "
                             f"{(len(batch), bands, ty, tx)}")
        if not pred.flags.writeable:
            pred = pred.copy()
        for (i, j), p in zip(batch, pred):
            gy, gx = int(grid.y.starts[i]), int(grid.x.starts[j])
            # intersection of the tile with the output region, scene coordinates
            a0, a1 = max(gy, y0), min(gy + ty, y1)
            c0, c1 = max(gx, x0), min(gx + tx, x1)
            w = np.outer(grid.y.window(i)[a0 - gy:a1 - gy],
                         grid.x.window(j)[c0 - gx:c1 - gx]).astype("float32")
            part = p[:, a0 - gy:a1 - gy, c0 - gx:c1 - gx]
            part *= w  # weighted in place: no bands x tile temporary per tile
            acc[:, a0 - y0:a1 - y0, c0 - x0:c1 - x0] += part
            wsum[a0 - y0:a1 - y0, c0 - x0:c1 - x0] += w
        if on_tiles is not None:
            on_tiles(len(batch))

    covered = wsum > 0
    np.divide(acc, wsum, out=acc, where=covered)
    acc[:, ~covered] = np.nan
    if valid is not None:
        vy, vx = y0 - oy, x0 - ox
        acc[:, ~valid[vy:vy + (y1 - y0), vx:vx + (x1 - x0)]] = np.nan
    return acc
