"""Training inputs: turn scenes, datasets or loaders into deterministic batch sources.

The training loop asks a source for ``batch(step)``. For map-style datasets the
answer is a pure function of ``(seed, step)``: sample ``g = step * batch_size + j``
lives in epoch ``g // len(dataset)`` at position ``g % len(dataset)`` of that
epoch's permutation (seeded with ``(seed, epoch)``), and the dataset's own
randomness is fixed by :meth:`set_epoch` (see
:class:`~specrecon.datasets.patches.PairedPatchDataset`). A resumed run therefore
draws exactly the batches an uninterrupted run would, whatever happened before.

Accepted inputs
---------------
- a sequence of ``(rgb, cube)`` pairs or ``Scene`` objects (``.rgb`` / ``.cube``),
  xarray or numpy: patches are drawn with
  :class:`~specrecon.datasets.patches.PairedPatchDataset` (teacher stage: per-pixel
  spectra with :class:`~specrecon.datasets.patches.CubeSpectraDataset`);
- a map-style ``torch.utils.data.Dataset`` whose items are ``(rgb, cube)`` tensors
  (or, for the teacher, spectra ``(k, bands)`` / cubes ``(bands, h, w)``);
- a ``torch.utils.data.DataLoader`` (batches used as they come; resuming replays
  the loader from its start and skips the consumed batches, so it is exact only
  if the loader itself is deterministic, e.g. ``shuffle=False`` or a seeded generator).

Examples
--------
>>> import numpy as np
>>> cube = np.random.rand(31, 32, 32).astype("float32")
>>> pairs = [(cube[[25, 15, 5]], cube)]
>>> src = batch_source(pairs, stage="refine", batch_size=2, patch_size=16, seed=0)
>>> rgb, cube_b = src.batch(0)
>>> tuple(rgb.shape), tuple(cube_b.shape)
((2, 3, 16, 16), (2, 31, 16, 16))
>>> bool((src.batch(3)[1] == src.batch(3)[1]).all())   # a pure function of the step
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from specrecon.errors import ConfigError, EmptyInputError, format_message
from specrecon.training.config import DATA_KINDS, STAGE_NAMES, TrainConfig

__all__ = [
    "BatchSource",
    "IndexedSource",
    "LoaderSource",
    "MultiSizeSource",
    "as_pairs",
    "batch_source",
    "stage_source",
    "load_data",
    "open_split",
    "split_pair",
]


def split_pair(item: Any) -> tuple[Any, Any]:
    """``(rgb, cube)`` from a 2-tuple, an object with ``.rgb`` / ``.cube``, or a bare cube.

    A cube DataArray (with a ``wavelength`` dim) gives ``(None, cube)``; its RGB
    must then be simulated (``data.simulate`` / ``data.sensor``).
    """
    if hasattr(item, "rgb") and hasattr(item, "cube"):
        return item.rgb, item.cube
    if "wavelength" in getattr(item, "dims", ()):
        return None, item  # a bare cube (e.g. HySpecNet-11k): RGB is simulated
    try:
        rgb, cube = item
    except (TypeError, ValueError):
        raise ConfigError(format_message("(rgb, cube) pairs or Scene objects",
                                         type(item).__name__,
                                         "pass a list of (rgb, cube) tuples")) from None
    return rgb, cube


class _PairView(Sequence):
    """A lazy sequence of ``(rgb, cube)`` tuples over scenes / pairs."""

    def __init__(self, items: Sequence[Any]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return split_pair(self.items[i])


def as_pairs(data: Sequence[Any]) -> Sequence[tuple[Any, Any]]:
    """View a sequence of scenes or pairs as ``(rgb, cube)`` tuples (lazily).

    Raises
    ------
    EmptyInputError
        If the sequence is empty.
    """
    if len(data) == 0:
        raise EmptyInputError(format_message("at least one (rgb, cube) pair", "an empty sequence",
                                             "pass training scenes"))
    return _PairView(data)


class BatchSource:
    """Something that returns the batch of a given step (see :func:`batch_source`)."""

    def batch(self, step: int) -> Any:  # pragma: no cover - interface
        """The batch of optimizer step ``step`` (tuple of tensors, or one tensor)."""
        raise NotImplementedError


def _collate(items: list[Any]) -> Any:
    first = items[0]
    if isinstance(first, torch.Tensor):
        # per-pixel spectra (k, bands) are pooled into one (sum k, bands) batch
        return torch.cat(items) if first.ndim == 2 else torch.stack(items)
    if isinstance(first, (tuple, list)):
        return tuple(_collate([it[i] for it in items]) for i in range(len(first)))
    raise ConfigError(format_message("dataset items that are tensors or tuples of tensors",
                                     type(first).__name__, "return torch tensors from the dataset"))


class IndexedSource(BatchSource):
    """Deterministic, epoch-wise shuffled batches from a map-style dataset.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Map-style dataset with ``__len__``; ``set_epoch`` is called when present.
    batch_size : int
        Items per batch.
    seed : int
        Seed of the per-epoch permutations.
    shuffle : bool
        Shuffle within each epoch.

    Examples
    --------
    >>> import torch
    >>> ds = torch.utils.data.TensorDataset(torch.arange(10.0))
    >>> src = IndexedSource(ds, batch_size=4, seed=1)
    >>> len(set(torch.cat([src.batch(0)[0], src.batch(1)[0]]).tolist()))   # no repeats in an epoch
    8
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, shuffle: bool = True) -> None:
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.shuffle = shuffle
        self.length = len(dataset)  # type: ignore[arg-type]
        if self.length == 0:
            raise EmptyInputError(format_message("a non-empty training dataset", "0 items",
                                                 "check the data section of the config"))
        self._perm_epoch = -1
        self._perm: list[int] = []

    def _order(self, epoch: int) -> list[int]:
        if epoch != self._perm_epoch:
            if self.shuffle:
                g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
                self._perm = torch.randperm(self.length, generator=g).tolist()
            else:
                self._perm = list(range(self.length))
            self._perm_epoch = epoch
        return self._perm

    def indices(self, step: int) -> list[tuple[int, int]]:
        """``(epoch, index)`` of every item of batch ``step``."""
        out = []
        for j in range(self.batch_size):
            g = step * self.batch_size + j
            epoch, pos = divmod(g, self.length)
            out.append((epoch, self._order(epoch)[pos]))
        return out

    def batch(self, step: int) -> Any:
        items = []
        set_epoch = getattr(self.dataset, "set_epoch", None)
        for epoch, index in self.indices(step):
            if set_epoch is not None:
                set_epoch(epoch)
            items.append(self.dataset[index])
        return _collate(items)


class LoaderSource(BatchSource):
    """Batches of a ``DataLoader``, cycled; random access replays the loader.

    Parameters
    ----------
    loader : torch.utils.data.DataLoader
        Any loader; epochs are chained. ``sampler.set_epoch`` is called when present.
    """

    def __init__(self, loader: DataLoader) -> None:
        self.loader = loader
        self._it: Any = None
        self._pos = 0
        self._epoch = 0

    def _restart(self) -> None:
        self._epoch = 0
        self._pos = 0
        self._new_epoch()

    def _new_epoch(self) -> None:
        sampler = getattr(self.loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self._epoch)
        self._it = iter(self.loader)

    def _next(self) -> Any:
        try:
            out = next(self._it)
        except StopIteration:
            self._epoch += 1
            self._new_epoch()
            try:
                out = next(self._it)
            except StopIteration:
                raise EmptyInputError(format_message(
                    "a DataLoader that yields batches", "none",
                    "check the dataset behind the loader")) from None
        self._pos += 1
        return out

    def batch(self, step: int) -> Any:
        if self._it is None or step < self._pos:
            self._restart()
        while self._pos < step:
            self._next()
        out = self._next()
        return tuple(out) if isinstance(out, list) else out


class MultiSizeSource(BatchSource):
    """Batches whose patch side changes from step to step (training across tile sizes).

    Step ``step`` uses side ``sizes[k]`` with ``k`` drawn from a generator seeded
    with ``(seed, step)``, and takes that step's batch from the source of that
    side, so a batch is a pure function of the step (resuming is exact).

    Parameters
    ----------
    sources : dict of int to BatchSource
        One source per patch side.
    seed : int
        Seed of the side draws.

    Examples
    --------
    >>> import numpy as np
    >>> cube = np.random.rand(31, 48, 48).astype("float32")
    >>> src = batch_source([(cube[[25, 15, 5]], cube)], stage="refine", batch_size=2,
    ...                    patch_size=32, patch_sizes=[16, 32, 48], seed=0)
    >>> sorted({tuple(src.batch(s)[0].shape) for s in range(30)})
    [(1, 3, 48, 48), (2, 3, 32, 32), (8, 3, 16, 16)]
    """

    def __init__(self, sources: dict[int, BatchSource], seed: int) -> None:
        if not sources:
            raise ConfigError(format_message("at least one patch size", "none",
                                             "pass patch_sizes=[64, 128]"))
        self.sources = dict(sources)
        self.sizes = sorted(self.sources)
        self.seed = int(seed)

    def size(self, step: int) -> int:
        """The patch side of step ``step``."""
        rng = np.random.default_rng([self.seed, int(step), 0x5153])
        return self.sizes[int(rng.integers(len(self.sizes)))]

    def batch(self, step: int) -> Any:
        return self.sources[self.size(step)].batch(step)


def batch_source(data: Any, *, stage: str, batch_size: int, patch_size: int, seed: int,
                 patches_per_item: int = 8, augment: bool = True,
                 simulate: Any = None,
                 patch_sizes: Sequence[int] | None = None,
                 brightness_range: Sequence[float] | None = None) -> BatchSource:
    """Build the batch source of one stage from any accepted training input.

    Parameters
    ----------
    data : sequence of pairs / Scenes, Dataset or DataLoader
        See the module docstring.
    stage : str
        ``"teacher"`` draws per-pixel spectra (``patch_size**2`` spectra per item) from
        pairs; every other stage draws aligned ``(rgb, cube)`` patches.
    batch_size, patch_size : int
        Items per step and patch side.
    seed : int
        Seed of the data order and of the patch draws.
    patches_per_item, augment, simulate, brightness_range
        Passed to :class:`~specrecon.datasets.patches.PairedPatchDataset`.
    patch_sizes : sequence of int, optional
        Patch stages (not the teacher) on sequences of pairs: draw each step's
        patch side from these (:class:`MultiSizeSource`). ``batch_size`` is the
        batch at ``patch_size``; other sides keep about the same number of pixels
        per step (``batch_size * (patch_size / side) ** 2``, at least 1).

    Returns
    -------
    BatchSource
    """
    if isinstance(data, DataLoader):
        return LoaderSource(data)
    if isinstance(data, Dataset) and hasattr(data, "__len__"):
        return IndexedSource(data, batch_size, seed)
    if isinstance(data, (str, bytes)) or not hasattr(data, "__len__"):
        raise ConfigError(format_message(
            "a sequence of (rgb, cube) pairs, a torch Dataset or a DataLoader",
            type(data).__name__, "load scenes first, e.g. specrecon.datasets.synthetic"))
    pairs = as_pairs(data)
    from specrecon.datasets.patches import CubeSpectraDataset, PairedPatchDataset

    ds: Dataset
    if stage == "teacher":
        ds = CubeSpectraDataset(pairs, pixels_per_item=patch_size * patch_size,
                                items_per_cube=patches_per_item, seed=seed)
    elif patch_sizes:
        sources: dict[int, BatchSource] = {}
        for side in sorted({int(v) for v in patch_sizes}):
            n = max(1, round(batch_size * (patch_size / side) ** 2))
            sub = PairedPatchDataset(pairs, side, patches_per_item=patches_per_item,
                                     augment=augment, simulate=simulate, seed=seed * 7919 + side,
                                     brightness_range=brightness_range)
            sources[side] = IndexedSource(sub, n, seed * 7919 + side)
        return MultiSizeSource(sources, seed)
    else:
        ds = PairedPatchDataset(pairs, patch_size, patches_per_item=patches_per_item,
                                augment=augment, simulate=simulate, seed=seed,
                                brightness_range=brightness_range)
    return IndexedSource(ds, batch_size, seed)


def stage_source(data: Any, name: str, config: TrainConfig) -> BatchSource:
    """The batch source of training stage ``name`` as ``config`` describes it.

    The one place that maps a :class:`~specrecon.training.TrainConfig` (the stage's batch
    and patch sizes, ``data.augment`` / ``brightness_range`` / ``patches_per_item`` /
    ``simulate``) and the stage's seed (``seed * 1000 + index in STAGE_NAMES``) to
    :func:`batch_source`; every family's trainer calls it.

    Parameters
    ----------
    data : sequence of pairs / Scenes, Dataset or DataLoader
        See :func:`batch_source`.
    name : str
        Stage name (one of ``STAGE_NAMES``).
    config : TrainConfig
        The validated run configuration.

    Returns
    -------
    BatchSource
    """
    cfg = config.stage(name)
    d = config.data
    return batch_source(data, stage=name, batch_size=cfg.batch_size, patch_size=cfg.patch_size,
                        seed=config.seed * 1000 + STAGE_NAMES.index(name),
                        patches_per_item=d.patches_per_item, augment=d.augment,
                        brightness_range=d.brightness_range,
                        simulate=d.sensor if d.simulate else None, patch_sizes=cfg.patch_sizes)


# --------------------------------------------------------------------------- config data

class _Head(Sequence):
    """The first ``n`` items of a (lazy) sequence."""

    def __init__(self, items: Sequence[Any], n: int) -> None:
        self.items = items
        self.n = min(int(n), len(items)) if n and n > 0 else len(items)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.n))]
        if not -self.n <= i < self.n:
            raise IndexError(i)
        return self.items[i % self.n]


def load_data(data: Any) -> tuple[Sequence[Any], Sequence[Any]]:
    """Training and validation scenes named by a :class:`~specrecon.training.config.DataConfig`.

    Parameters
    ----------
    data : DataConfig
        ``synthetic-natural`` / ``synthetic-satellite`` generate ``n_train`` scenes of
        the ``split`` and ``n_val`` held-out scenes of the ``val_split`` (disjoint
        scene seeds);
        ``arad1k`` / ``hyspecnet`` open ``root`` (``split`` / ``val_split``,
        capped at ``n_train`` / ``n_val`` items when those are > 0).

    Returns
    -------
    (train, val) : sequences of (rgb, cube) pairs or Scenes

    Examples
    --------
    >>> from specrecon.training.config import DataConfig
    >>> train, val = load_data(DataConfig(n_train=2, n_val=1, size=32))  # doctest: +SKIP
    """
    kind = data.kind
    if kind.startswith("synthetic-"):
        opts = dict(getattr(data, "options", None) or {})
        return (open_split(kind, data.split, n=data.n_train, size=data.size, seed=data.seed,
                           sensor=data.sensor, illuminant=data.illuminant, options=opts),
                open_split(kind, data.val_split, n=data.n_val, size=data.size, seed=data.seed,
                           sensor=data.sensor, illuminant=data.illuminant, options=opts)
                if data.n_val else [])
    if kind in ("arad1k", "hyspecnet"):
        return (open_split(kind, data.split, root=data.root, n=data.n_train),
                open_split(kind, data.val_split, root=data.root, n=data.n_val))
    raise ConfigError(format_message(f"data.kind among {DATA_KINDS}", repr(kind),
                                     "fix the data section"))


_SPLIT_NAMES: dict[str, dict[str, str]] = {
    "synthetic": {"train": "train", "val": "validation", "valid": "validation",
                  "validation": "validation", "test": "test"},
    "arad1k": {"train": "train", "val": "valid", "valid": "valid", "validation": "valid",
               "test": "test"},
    "hyspecnet": {"train": "train", "val": "val", "valid": "val", "validation": "val",
                  "test": "test"},
}


def open_split(kind: str, split: str, *, root: str | None = None, n: int = 0, size: int = 128,
               seed: int = 0, sensor: str | None = None,
               illuminant: str | Sequence[str] | None = None,
               options: dict[str, Any] | None = None) -> Sequence[Any]:
    """One split of a data source, with split names normalised across data sets.

    Parameters
    ----------
    kind : str
        ``"synthetic-natural"``, ``"synthetic-satellite"``, ``"arad1k"`` or ``"hyspecnet"``.
    split : str
        ``"train"``, ``"val"`` / ``"valid"`` / ``"validation"`` or ``"test"``.
    root : str, optional
        Dataset folder (real data sets).
    n, size, seed, sensor, illuminant
        Synthetic scenes: how many, their side, the data-set seed, the RGB sensor,
        the illuminant(s) of natural scenes.
        Real data sets: ``n > 0`` keeps the first ``n`` items.
    options : dict, optional
        Synthetic scenes only: further generator keywords (``data.options``).

    Returns
    -------
    sequence of Scenes / pairs / cubes

    Examples
    --------
    >>> len(open_split("synthetic-natural", "val", n=1, size=16))
    1
    """
    family = "synthetic" if kind.startswith("synthetic-") else kind
    names = _SPLIT_NAMES.get(family)
    if names is None or split not in names:
        raise ConfigError(format_message(
            f"a data kind among {DATA_KINDS} and a split among {sorted(_SPLIT_NAMES['synthetic'])}",
            f"kind={kind!r}, split={split!r}", "fix the data source or split"))
    name = names[split]
    if family == "synthetic":
        from specrecon.datasets import synthetic

        make = (synthetic.natural_dataset if kind == "synthetic-natural"
                else synthetic.satellite_dataset)
        kw: dict[str, Any] = {"sensor": sensor} if sensor else {}
        if kind == "synthetic-natural" and illuminant is not None:
            kw["illuminant"] = illuminant
        kw.update(options or {})
        return make(n, size, seed=seed, split=name, **kw)
    if not root:
        raise ConfigError(format_message(f"a dataset root for {kind}", "none",
                                         f"pass {kind}:ROOT (CLI) or data.root (config)"))
    if family == "arad1k":
        from specrecon.datasets import ARAD1K

        return _Head(ARAD1K(root, split=name), n)
    from specrecon.datasets import HySpecNet11k

    return _Head(HySpecNet11k(root, split=name), n)


def to_tensor(arr: Any) -> torch.Tensor:
    """float32 tensor from a DataArray / numpy array / tensor."""
    if isinstance(arr, torch.Tensor):
        return arr.float()
    return torch.from_numpy(np.ascontiguousarray(np.asarray(getattr(arr, "values", arr),
                                                            dtype="float32")))
