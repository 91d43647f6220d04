"""The dask graph of :func:`specrecon.reconstruct`: one task per output chunk.

Chunk shaping has one owner: :func:`chunk_plan` decides the regular output
chunks once (:func:`specrecon.tiling.regular_chunks`), and the input is
rechunked to the same plan, so the cube is written to zarr as it comes, with
no rechunking and no recomputed tile.

Each output chunk ``[y0, y1) x [x0, x1)`` is one task. It depends on the input
blocks that its halo (the input read by the global tiles that touch the chunk,
:meth:`specrecon.tiling.TileGrid.halo`) overlaps -- usually the chunk and its
eight neighbours -- and runs :class:`BlockStep`:

1. assemble the halo from those raw blocks;
2. prepare it (:meth:`specrecon.inference.InputPreparation.apply`: validity
   mask, scaling to reflectance, range check) -- the same function that checks
   numpy input up front;
3. :func:`reconstruct_block`: run the global tiles that touch the chunk and
   blend them (:func:`specrecon.tiling.blend_region`);
4. :meth:`BlockStep.postprocess`: per-chunk corrections of the cube block
   (clipping to the card's value range; the place for further corrections).

Examples
--------
>>> from specrecon.tiling import TileGrid
>>> chunk_plan(TileGrid((100, 60), 32, 8), ((40, 40, 20), (60,)))
((40, 40, 20), (60,))
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from specrecon.tiling import TileGrid, blend_region, chunk_bounds, regular_chunks

if TYPE_CHECKING:  # pragma: no cover
    import dask.array as dsa

    from specrecon.inference import InputPreparation
    from specrecon.runtime import ModelSpec

__all__ = ["BATCH_MAX_TILES", "BATCH_VOXELS", "CHUNK_MAX_BYTES", "BlockStep", "build_cube_graph",
           "chunk_plan", "reconstruct_block", "tiles_per_forward"]

Chunks = tuple[int, ...]


#: Largest output chunk (bands x rows x columns x 4 bytes) :func:`chunk_plan` plans. A cube
#: is bands / 3 times larger than its RGB: 2048 px input chunks make 3.4 GB chunks of a
#: 202-band cube, and a 4096^2 scene written from them peaked at 18 GiB with 2 threads
#: (3.5 GiB in 1024 px chunks; benchmarks/results/pipeline_throughput.md).
CHUNK_MAX_BYTES = 2**30


#: Output values (tiles x tile rows x tile columns x bands) one forward pass produces by
#: default (:func:`tiles_per_forward`). The activations a forward pass holds grow with the
#: bands times the pixels (HYDRA's teacher decoder works on channels x bands x pixels):
#: eight 128 px tiles of a 202-band model peaked at 1.69 GiB in the 4096^2 GeoTIFF -> zarr
#: pipeline and ran slower than one tile per pass (1.27 GiB), while a 31-band model on
#: 128 px tiles runs fastest with eight (benchmarks/results/pipeline_throughput.md).
BATCH_VOXELS = 2**22

#: Most tiles per forward pass by default (eight 32 px tiles of the 202-band model).
BATCH_MAX_TILES = 8


def tiles_per_forward(tile: tuple[int, int], bands: int, batch_size: int | None = None) -> int:
    """Tiles per forward pass: ``batch_size`` when given, else a budget of output values.

    The default is ``BATCH_VOXELS // (tile rows x tile columns x bands)``, between 1 and
    :data:`BATCH_MAX_TILES`: eight 32 px tiles of a 202-band model, eight 128 px tiles of
    a 31-band model, one 128 px tile of a 202-band model.

    Parameters
    ----------
    tile : pair of int
        Tile rows and columns.
    bands : int
        Output bands.
    batch_size : int, optional
        Explicit tiles per forward pass (>= 1).

    Returns
    -------
    int

    Raises
    ------
    ConfigError
        ``batch_size`` below 1.

    Examples
    --------
    >>> tiles_per_forward((32, 32), 202), tiles_per_forward((128, 128), 31)
    (8, 8)
    >>> tiles_per_forward((128, 128), 202), tiles_per_forward((128, 128), 202, 4)
    (1, 4)
    """
    if batch_size is not None:
        if int(batch_size) < 1:
            from specrecon.errors import ConfigError, format_message

            raise ConfigError(format_message("batch_size >= 1", repr(batch_size),
                                             "pass the number of tiles per forward pass, or "
                                             "None for the default"))
        return int(batch_size)
    per_tile = max(1, int(tile[0]) * int(tile[1]) * int(bands))
    return max(1, min(BATCH_MAX_TILES, BATCH_VOXELS // per_tile))


def chunk_plan(grid: TileGrid, chunks: Sequence[Sequence[int]], *, bands: int | None = None,
               max_bytes: int | None = None) -> tuple[Chunks, Chunks]:
    """Regular ``(row, column)`` chunks of the output (and of the rechunked input).

    Each axis follows :func:`specrecon.tiling.regular_chunks` (the input's chunk
    length, raised to the tile length); with ``bands`` given, the longer chunk side
    is then halved (never below the tile length) until a float32 output chunk
    holds at most ``max_bytes``.

    Parameters
    ----------
    grid : TileGrid
        The global tile grid.
    chunks : pair of sequences of int
        The input's spatial chunks.
    bands : int, optional
        Output bands (enables the size cap).
    max_bytes : int, optional
        Largest output chunk, default :data:`CHUNK_MAX_BYTES`.

    Returns
    -------
    tuple
        ``(ychunks, xchunks)``.

    Examples
    --------
    >>> chunk_plan(TileGrid((4096, 4096), 32, 8), ((2048, 2048), (2048, 2048)))
    ((2048, 2048), (2048, 2048))
    >>> chunk_plan(TileGrid((4096, 4096), 32, 8), ((2048, 2048), (2048, 2048)), bands=202)
    ((1024, 1024, 1024, 1024), (1024, 1024, 1024, 1024))
    """
    ych = regular_chunks(grid.y.size, chunks[0], grid.y.length)
    xch = regular_chunks(grid.x.size, chunks[1], grid.x.length)
    if bands is None:
        return ych, xch
    limit = CHUNK_MAX_BYTES if max_bytes is None else int(max_bytes)
    cy, cx = ych[0], xch[0]
    while int(bands) * cy * cx * 4 > limit:
        halve_y = (cy + 1) // 2 >= grid.y.length     # never below the tile length
        halve_x = (cx + 1) // 2 >= grid.x.length
        if halve_y and (cy >= cx or not halve_x):
            cy = (cy + 1) // 2
        elif halve_x:
            cx = (cx + 1) // 2
        else:
            break                                     # the tiles set the floor
    return (regular_chunks(grid.y.size, (cy,), grid.y.length),
            regular_chunks(grid.x.size, (cx,), grid.x.length))


# ----------------------------------------------------------------------------- progress
_bars: dict[str, Any] = {}
_bars_lock = threading.Lock()


def _progress(token: str, total: int, n: int) -> None:
    with _bars_lock:
        bar = _bars.get(token)
        if bar is None:
            from tqdm.auto import tqdm

            bar = _bars[token] = tqdm(total=total, desc="reconstruct", unit="tile")
        bar.update(n)
        if bar.n >= total:
            bar.close()
            _bars.pop(token, None)


# ----------------------------------------------------------------------------- block step
def reconstruct_block(image: np.ndarray, valid: np.ndarray, origin: tuple[int, int],
                      out: tuple[int, int, int, int], grid: TileGrid, model: ModelSpec, *,
                      bands: int, batch_size: int = 8,
                      on_tiles: Callable[[int], None] | None = None,
                      tile_card: Any = None) -> np.ndarray:
    """Map a prepared RGB block to the cube block of one output region.

    Parameters
    ----------
    image : numpy.ndarray
        ``(3, H, W)`` float32 reflectance (invalid pixels already 0) covering the
        halo of ``out``; ``image[:, 0, 0]`` is scene pixel ``origin``.
    valid : numpy.ndarray
        ``(H, W)`` bool validity.
    origin : tuple of int
        Scene coordinates of ``image[:, 0, 0]``.
    out : tuple of int
        Output region ``(y0, y1, x0, x1)``.
    grid : TileGrid
        The global tile grid.
    model : ModelSpec
        The model, found through :func:`specrecon.runtime.get_model` in this process.
    bands, batch_size, on_tiles
        See :func:`specrecon.tiling.blend_region`.
    tile_card : ModelCard, optional
        Correct each batch of predictions to re-render to its tiles through this
        card's input sensor (:func:`specrecon.physical.correct_tiles`; only for
        :func:`specrecon.physical.pixelwise` cards, where this equals correcting the
        blended block).

    Returns
    -------
    numpy.ndarray
        ``(bands, y1 - y0, x1 - x0)`` float32, NaN where the input was invalid.

    Examples
    --------
    >>> import torch
    >>> from specrecon.runtime import model_spec
    >>> spec = model_spec(torch.nn.Conv2d(3, 2, 1), device="cpu")
    >>> img = np.zeros((3, 20, 20), "float32")
    >>> reconstruct_block(img, np.ones((20, 20), bool), (0, 0), (0, 10, 0, 20),
    ...                   TileGrid((20, 20), 8, 2), spec, bands=2).shape
    (2, 10, 20)
    """
    from specrecon import runtime

    def predict(tiles: np.ndarray) -> np.ndarray:
        pred = runtime.predict(model, tiles, bands=bands)
        if tile_card is not None:
            from specrecon.physical import correct_tiles

            pred = correct_tiles(tiles, pred, tile_card)
        return pred

    return blend_region(image, origin, out, grid, predict, bands=bands, batch_size=batch_size,
                        valid=valid, on_tiles=on_tiles)


@dataclass(frozen=True)
class BlockStep:
    """Picklable per-chunk task: raw input blocks around a chunk -> its cube block.

    Parameters
    ----------
    prep : InputPreparation
        Masking and scaling of raw values.
    model : ModelSpec
        The model (sha256 pinned by :func:`specrecon.runtime.resolve_model`).
    shape, tile, overlap : pair of int
        The global tile grid.
    bands : int
        Output bands.
    batch_size : int
        Tiles per forward pass.
    value_range : pair of float or None
        Clip the cube block to this range (NaN stays NaN).
    progress_token : str or None
        Report tiles to an in-process progress bar.
    physical_card : ModelCard or None
        When given, the cube re-renders exactly to its input RGB through the card's input
        sensor, before clipping: corrected per batch of tiles for
        :func:`specrecon.physical.pixelwise` cards (:func:`specrecon.physical.correct_tiles`),
        else per block (:func:`specrecon.physical.consistency_correct_block`, exposure
        fitted over the block).
    """

    prep: InputPreparation
    model: ModelSpec
    shape: tuple[int, int]
    tile: tuple[int, int]
    overlap: tuple[int, int]
    bands: int
    batch_size: int = 8
    value_range: tuple[float, float] | None = None
    progress_token: str | None = None
    physical_card: Any = None

    @property
    def grid(self) -> TileGrid:
        """The global tile grid."""
        return TileGrid(self.shape, self.tile, self.overlap)

    def postprocess(self, cube: np.ndarray) -> np.ndarray:
        """Per-chunk corrections of a ``(bands, h, w)`` cube block (here: clipping)."""
        if self.value_range is not None:
            np.clip(cube, self.value_range[0], self.value_range[1], out=cube)
        return cube

    def __call__(self, blocks: list[list[np.ndarray]], out: tuple[int, int, int, int],
                 origin: tuple[int, int]) -> np.ndarray:
        """Compute the cube block of output region ``out``.

        ``blocks`` are the raw ``(3, h, w)`` input blocks in row-major order whose
        union starts at scene pixel ``origin`` and covers the halo of ``out``.
        """
        grid = self.grid
        ry0, ry1, rx0, rx1 = grid.halo(*out)
        raw = np.concatenate([np.concatenate([np.asarray(b) for b in row], axis=2)
                              for row in blocks], axis=1)
        raw = raw[:, ry0 - origin[0]:ry1 - origin[0], rx0 - origin[1]:rx1 - origin[1]]
        image, valid = self.prep.apply(raw)
        on_tiles = None
        if self.progress_token is not None:
            token, total = self.progress_token, grid.n_tiles

            def on_tiles(n: int) -> None:
                _progress(token, total, n)

        # pixelwise corrections (satellite cards, camera cards with a calibrated exposure)
        # commute with the blending: applied to each batch of tiles while it is in cache;
        # other camera cards fit the exposure over the block
        from specrecon.physical import pixelwise

        per_tile = self.physical_card is not None and pixelwise(self.physical_card)
        cube = reconstruct_block(image, valid, (ry0, rx0), out, grid, self.model,
                                 bands=self.bands, batch_size=self.batch_size, on_tiles=on_tiles,
                                 tile_card=self.physical_card if per_tile else None)
        if self.physical_card is not None and not per_tile:
            from specrecon.physical import consistency_correct_block

            y0, y1, x0, x1 = out
            rgb = image[:, y0 - ry0:y1 - ry0, x0 - rx0:x1 - rx0].astype("float32")
            rgb[:, ~valid[y0 - ry0:y1 - ry0, x0 - rx0:x1 - rx0]] = np.nan
            cube = consistency_correct_block(rgb, cube, self.physical_card, inplace=True)
        return self.postprocess(cube)


# ----------------------------------------------------------------------------- graph
def _blocks_overlapping(edges: np.ndarray, a: int, b: int) -> range:
    first = int(np.searchsorted(edges, a, side="right")) - 1
    last = int(np.searchsorted(edges, b, side="left"))
    return range(first, last)


def build_cube_graph(arr: dsa.Array, step: BlockStep, chunks: tuple[Chunks, Chunks],
                     name: str) -> dsa.Array:
    """The lazy ``(bands, y, x)`` cube: one :class:`BlockStep` task per output chunk.

    Parameters
    ----------
    arr : dask.array.Array
        Raw ``(3, y, x)`` input with the band axis in one chunk.
    step : BlockStep
        The per-chunk function.
    chunks : pair of tuple of int
        Output chunks from :func:`chunk_plan`; the input is rechunked to them
        when it differs.
    name : str
        Graph name of the output (a deterministic token).

    Returns
    -------
    dask.array.Array
        float32, chunks ``((bands,), ychunks, xchunks)``.
    """
    import dask.array as dsa
    from dask.highlevelgraph import HighLevelGraph

    ych, xch = chunks
    if tuple(arr.chunks[1]) != ych or tuple(arr.chunks[2]) != xch or len(arr.chunks[0]) != 1:
        arr = arr.rechunk(((arr.shape[0],), ych, xch))
    grid = step.grid
    yb, xb = chunk_bounds(ych), chunk_bounds(xch)
    dsk: dict[Any, Any] = {}
    for (i, (y0, y1)), (j, (x0, x1)) in itertools.product(
            enumerate(itertools.pairwise(yb.tolist())), enumerate(itertools.pairwise(xb.tolist()))):
        out = (int(y0), int(y1), int(x0), int(x1))
        ry0, ry1, rx0, rx1 = grid.halo(*out)
        rows, cols = _blocks_overlapping(yb, ry0, ry1), _blocks_overlapping(xb, rx0, rx1)
        keys = [[(arr.name, 0, a, b) for b in cols] for a in rows]
        origin = (int(yb[rows[0]]), int(xb[cols[0]]))
        dsk[(name, 0, i, j)] = (step, keys, out, origin)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[arr])
    return dsa.Array(graph, name, chunks=((step.bands,), ych, xch), dtype="float32",
                     meta=np.empty((0, 0, 0), dtype="float32"))
