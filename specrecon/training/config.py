"""Training configuration: a typed, file-backed recipe for every HYDRA stage and the baseline.

A :class:`TrainConfig` holds one :class:`StageConfig` per stage (``teacher``,
``student``, ``refine``, ``direct`` for the "student only" ablation and
``baseline`` for MST++), a :class:`DataConfig` naming the data, and the run
settings (seed, device, precision, evaluation / checkpoint cadence). It is
loaded from and saved to YAML or JSON; unknown keys are refused with a
:class:`~specrecon.errors.ConfigError` that names the key and the valid ones,
so a typo never silently falls back to a default.

This module imports neither torch nor numpy.

Examples
--------
>>> cfg = TrainConfig.from_dict({"model": "hydra-tiny-31", "teacher": {"steps": 5}})
>>> cfg.teacher.steps, cfg.teacher.loss, cfg.stages
(5, 'huber', ('teacher', 'student', 'refine'))
>>> cfg.with_overrides(["student.lr=1e-4", "stage3.steps=7"]).refine.steps
7
>>> TrainConfig.from_dict({"teacher": {"stepz": 5}})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
specrecon.errors.ConfigError: expected a key of teacher among [...]; found 'stepz'. ...
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from specrecon.errors import ConfigError, format_message

__all__ = [
    "StageConfig",
    "DataConfig",
    "TrainConfig",
    "STAGE_NAMES",
    "HYDRA_STAGES",
    "MCGA_STAGES",
    "STAGE_ALIASES",
]

#: every stage a config can describe, in the order they may run
STAGE_NAMES: tuple[str, ...] = ("teacher", "student", "refine", "direct", "baseline",
                                 "prior", "mapping")
#: the paper's three-stage procedure
HYDRA_STAGES: tuple[str, ...] = ("teacher", "student", "refine")
#: MCGA's two stages (VQ-VAE prior on cubes, then RGB -> cube mapping)
MCGA_STAGES: tuple[str, ...] = ("prior", "mapping")
#: alternative names accepted in overrides and ``stages`` lists
STAGE_ALIASES: dict[str, str] = {"stage1": "teacher", "stage2": "student", "stage3": "refine",
                                 "student_only": "direct", "student-only": "direct",
                                 "mst": "baseline"}
LOSSES: tuple[str, ...] = ("huber", "mae", "mse", "mrae")
SCHEDULERS: tuple[str, ...] = ("cosine", "constant")
OPTIMIZERS: tuple[str, ...] = ("adam", "adamw")
#: what the student stage's loss compares: the teacher's latent, or the decoded spectra
TARGETS: tuple[str, ...] = ("latent", "spectrum")
DATA_KINDS: tuple[str, ...] = ("synthetic-natural", "synthetic-satellite", "arad1k", "hyspecnet")


@dataclass
class StageConfig:
    """Optimisation settings of one training stage.

    Parameters
    ----------
    steps : int
        Optimizer steps of the stage (0 skips it).
    lr : float
        Peak learning rate.
    min_lr : float
        Final learning rate of the cosine schedule.
    scheduler : {"cosine", "constant"}
        Learning-rate schedule after the warm-up.
    warmup_steps : int
        Linear warm-up steps from ``lr / 100`` to ``lr``.
    batch_size : int
        Patches per step.
    patch_size : int
        Side of the square training patches.
    weight_decay : float
        Decoupled weight decay (AdamW) or L2 (Adam).
    optimizer : {"adam", "adamw"}
        Optimizer.
    betas : list of float
        Adam betas.
    grad_clip : float or None
        Clip the global gradient norm to this value (``None`` = off).
    loss : {"huber", "mae", "mse", "mrae"}
        Training loss; the defaults follow the paper per stage.
    huber_delta : float
        Transition point of the Huber loss (reflectance units).
    mrae_eps : float
        Denominator guard of the MRAE loss, ``|pred - t| / (|t| + mrae_eps)``.
    patch_sizes : list of int
        Train across several patch sides: each step draws all its patches at one
        side from this list (a pure function of the run seed and the step), so a
        model sees tiles of several sizes (the channel attention of MST++ and of
        the HYDRA student pools over the whole tile). Empty (default): every
        step uses ``patch_size``. ``patch_size`` stays the tile size written into
        the model card.
    ema_decay : float or None
        Keep an exponential moving average of the stage's trained parameters with
        this decay (e.g. 0.999) and end the stage with the averaged weights
        (:class:`~specrecon.training.averaging.WeightAverage`); ``None`` (default):
        the last step's weights.
    target : {"latent", "spectrum"}
        Student stage only: ``"latent"`` (default, the paper's stage 2) compares the
        student's output with the frozen teacher's encoding of the cube;
        ``"spectrum"`` decodes the student's output with the frozen teacher decoder
        and compares the spectra with the cube (measured worse on the satellite
        recipe after the refinement: ``benchmarks/results/retrain_candidates.md``).

    Examples
    --------
    >>> StageConfig(steps=10, loss="mae").loss
    'mae'
    """

    steps: int = 200
    lr: float = 1e-3
    min_lr: float = 1e-6
    scheduler: str = "cosine"
    warmup_steps: int = 0
    batch_size: int = 8
    patch_size: int = 64
    weight_decay: float = 0.0
    optimizer: str = "adam"
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    grad_clip: float | None = None
    loss: str = "mse"
    huber_delta: float = 0.1
    mrae_eps: float = 1e-3
    patch_sizes: list[int] = field(default_factory=list)
    ema_decay: float | None = None
    target: str = "latent"

    def validate(self, where: str) -> None:
        """Check value ranges; raise :class:`ConfigError` naming ``where``."""
        _choice(self.loss, LOSSES, f"{where}.loss")
        _choice(self.scheduler, SCHEDULERS, f"{where}.scheduler")
        _choice(self.optimizer, OPTIMIZERS, f"{where}.optimizer")
        _choice(self.target, TARGETS, f"{where}.target")
        if self.target != "latent" and where != "student":
            raise ConfigError(format_message(f"{where}.target 'latent' (only the student stage "
                                             "has a choice)", repr(self.target),
                                             f"remove {where}.target"))
        for name in ("steps", "warmup_steps"):
            if getattr(self, name) < 0:
                raise ConfigError(format_message(f"{where}.{name} >= 0", repr(getattr(self, name)),
                                                 f"set {where}.{name} to 0 or more"))
        for name in ("batch_size", "patch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(format_message(f"{where}.{name} >= 1", repr(getattr(self, name)),
                                                 f"set {where}.{name} to a positive integer"))
        if not self.lr > 0:
            raise ConfigError(format_message(f"{where}.lr > 0", repr(self.lr), "set a positive lr"))
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in self.patch_sizes):
            raise ConfigError(format_message(f"{where}.patch_sizes as positive integers",
                                             repr(self.patch_sizes),
                                             f"set e.g. {where}.patch_sizes: [64, 128, 192]"))
        if self.ema_decay is not None and (isinstance(self.ema_decay, bool)
                                           or not 0.0 < self.ema_decay < 1.0):
            raise ConfigError(format_message(f"{where}.ema_decay in (0, 1) or null",
                                             repr(self.ema_decay),
                                             f"set e.g. {where}.ema_decay: 0.999"))
        if len(self.betas) != 2:
            raise ConfigError(format_message(f"two {where}.betas", repr(self.betas),
                                             "pass e.g. [0.9, 0.999]"))


def _stage(**kw: Any) -> Any:
    return field(default_factory=lambda: StageConfig(**kw))


@dataclass
class DataConfig:
    """Which data a run trains and validates on.

    Parameters
    ----------
    kind : str
        ``"synthetic-natural"``, ``"synthetic-satellite"``, ``"arad1k"`` or ``"hyspecnet"``.
    root : str or None
        Dataset root for ``arad1k`` / ``hyspecnet``.
    n_train, n_val : int
        Synthetic scenes generated for training and held-out validation (for real
        datasets: optional caps, 0 = the whole split).
    size : int
        Side of the synthetic scenes in pixels.
    seed : int
        Data-set seed of the synthetic scenes; the ``split`` and ``val_split``
        scenes have disjoint scene seeds
        (:func:`specrecon.datasets.synthetic.scene_seeds`).
    sensor : str or None
        Camera whose response renders the RGB of synthetic scenes (whole-scene
        simulation) and of cube-only datasets (HySpecNet-11k); ``None`` = the
        generator's default / the dataset's own RGB.
    illuminant : str, list of str or None
        Illuminant(s) of ``synthetic-natural`` scenes: one name, a list to draw from
        per scene (e.g. ``[D50, D55, D65, D75]``), or None for any real illuminant
        (see :func:`specrecon.datasets.synthetic.natural_scene`).
    simulate : bool
        Re-simulate RGB from every training *patch* with ``sensor`` instead of
        using the scene's RGB. Note that auto-exposure then sees the patch only,
        unlike whole-image inference; needed for cube-only datasets.
    augment : bool
        Random rot90/flip of training patches.
    brightness_range : [float, float], optional
        Scale each RGB / cube training patch by one factor drawn from this
        range (student and refinement; see
        :class:`~specrecon.datasets.patches.PairedPatchDataset`).
    patches_per_item : int
        Patches drawn per scene and epoch.
    split, val_split : str
        Dataset splits for real datasets.
    options : dict
        Further keywords of the synthetic generators, passed to
        :func:`~specrecon.datasets.synthetic.natural_dataset` /
        :func:`~specrecon.datasets.synthetic.satellite_dataset` for the training
        and the validation scenes alike (e.g. ``derived_spectra``,
        ``exposure_range``, ``surfaces``); unknown options are refused.

    Examples
    --------
    >>> DataConfig(kind="synthetic-satellite").val_split
    'validation'
    """

    kind: str = "synthetic-natural"
    root: str | None = None
    n_train: int = 24
    n_val: int = 4
    size: int = 128
    seed: int = 0
    sensor: str | None = None
    illuminant: str | list[str] | None = None
    simulate: bool = False
    augment: bool = True
    brightness_range: list[float] | None = None
    patches_per_item: int = 8
    split: str = "train"
    val_split: str = "validation"
    options: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Check the kind, and that real datasets name a root."""
        _choice(self.kind, DATA_KINDS, "data.kind")
        if not isinstance(self.options, Mapping):
            raise ConfigError(format_message("data.options as a mapping", repr(self.options),
                                             "write data.options as key: value pairs"))
        if self.options and not self.kind.startswith("synthetic-"):
            raise ConfigError(format_message("data.options only for synthetic data",
                                             f"options with data.kind={self.kind!r}",
                                             "remove data.options"))
        from specrecon.datasets.patches import check_brightness_range

        check_brightness_range(self.brightness_range)   # ConfigError naming the range
        if self.kind in ("arad1k", "hyspecnet") and not self.root:
            raise ConfigError(format_message(f"data.root for data.kind={self.kind!r}", "none",
                                             "set data.root to the dataset folder"))
        if self.simulate and not self.sensor:
            raise ConfigError(format_message("data.sensor when data.simulate is true", "none",
                                             "set data.sensor, e.g. nikon_d5100"))


@dataclass
class TrainConfig:
    """A complete training recipe.

    Parameters
    ----------
    name : str
        Run / weights name (used for the output folder and the model card).
    model : str
        Registered model name passed to :func:`specrecon.models.create_model`.
    model_overrides : dict
        Keyword overrides for ``create_model`` (e.g. ``{"latent_bands": 6}``).
    stages : tuple of str
        Stages to run, in order. ``("teacher", "student", "refine")`` is the
        paper's procedure; ``("teacher", "refine")`` the "stage 1+3" ablation;
        ``("direct",)`` the "student only" ablation (student + decoder end to end
        from scratch); ``("baseline",)`` trains a non-HYDRA model (MST++, CCNet);
        ``("prior", "mapping")`` are MCGA's two stages.
    teacher, student, refine, direct, baseline, prior, mapping : StageConfig
        Per-stage settings (defaults: Huber / MAE / MSE / MSE / MRAE / MRAE / MRAE). The
        teacher is cheap per step and needs many steps (1000 at lr 5e-3 reach ~35 dB
        auto-encoding PSNR on the synthetic natural scenes; 100 steps stall near 21 dB).
    data : DataConfig
        The data.
    seed : int
        Seed of torch, numpy and Python ``random`` and of the data order.
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    precision : {"auto", "bf16", "fp32"}
        ``"auto"`` = bf16 autocast on CUDA, fp32 on CPU.
    eval_every : int
        Validate every this many steps of a stage (and at its end); 0 = only at the end.
    checkpoint_every : int
        Write the resumable checkpoint every this many steps (and at stage ends);
        0 = only at stage ends.
    log_every : int
        Record the training loss every this many steps.
    val_max_scenes : int or None
        Validate on at most this many scenes (``None`` = all).
    val_mrae_eps : float or None
        ``None``: validation MRAE as defined by NTIRE (exact zeros left out); a
        number: denominators ``|truth| + val_mrae_eps`` (for data with near-zero
        reflectance, e.g. water in the SWIR, where the plain ratio explodes).
    tile_size : int or None
        Tile side written into the model card, i.e. :func:`specrecon.reconstruct`'s
        default tiling; ``None`` = the last stage's ``patch_size``. Inference only:
        training is the same either way.
    tile_overlap : int or None
        Overlap of neighbouring tiles written into the card (``0 <= overlap < tile``);
        ``None`` = a quarter of the tile. Inference only, like ``tile_size``.
    progress : bool
        Show a tqdm progress bar.
    license : str
        Licence written into the model card.
    notes : str
        Free text copied into the model card's training section.

    Examples
    --------
    >>> cfg = TrainConfig(model="hydra-tiny-31", stages=("teacher", "refine"))
    >>> cfg.stage("stage3") is cfg.refine
    True
    """

    name: str = "hydra"
    model: str = "hydra-small-31"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    stages: tuple[str, ...] = HYDRA_STAGES
    teacher: StageConfig = _stage(steps=1000, lr=3e-2, warmup_steps=50, batch_size=16,
                                  patch_size=16, loss="huber", huber_delta=0.01)
    student: StageConfig = _stage(steps=300, lr=1e-3, batch_size=8, patch_size=64, loss="mae")
    refine: StageConfig = _stage(steps=200, lr=2e-4, batch_size=8, patch_size=64, loss="mse")
    direct: StageConfig = _stage(steps=500, lr=1e-3, batch_size=8, patch_size=64, loss="mse")
    baseline: StageConfig = _stage(steps=500, lr=4e-4, batch_size=8, patch_size=64, loss="mrae")
    prior: StageConfig = _stage(steps=300, lr=1e-3, batch_size=8, patch_size=32, loss="mrae",
                                optimizer="adamw")
    mapping: StageConfig = _stage(steps=500, lr=1e-3, batch_size=8, patch_size=64, loss="mrae",
                                  optimizer="adamw")
    data: DataConfig = field(default_factory=DataConfig)
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    eval_every: int = 100
    checkpoint_every: int = 100
    log_every: int = 10
    val_max_scenes: int | None = None
    val_mrae_eps: float | None = None
    tile_size: int | None = None
    tile_overlap: int | None = None
    progress: bool = True
    license: str = "MIT"
    notes: str = ""

    def __post_init__(self) -> None:
        self.stages = tuple(STAGE_ALIASES.get(s, s) for s in self.stages)

    # ------------------------------------------------------------------ access
    def stage(self, name: str) -> StageConfig:
        """The :class:`StageConfig` of stage ``name`` (aliases like ``stage1`` accepted)."""
        key = STAGE_ALIASES.get(name, name)
        _choice(key, STAGE_NAMES, "stage")
        return getattr(self, key)

    def validate(self) -> TrainConfig:
        """Check every field; return ``self`` for chaining.

        Raises
        ------
        ConfigError
            On an unknown stage, an invalid stage order, or out-of-range values.
        """
        if not self.stages:
            raise ConfigError(format_message("at least one stage", "an empty list",
                                             "set stages: [teacher, student, refine]"))
        for s in self.stages:
            _choice(s, STAGE_NAMES, "stages entry")
        if len(set(self.stages)) != len(self.stages):
            raise ConfigError(format_message("each stage once", list(self.stages),
                                             "remove the repeated stage"))
        special = [s for s in self.stages if s in ("direct", "baseline")]
        if special and len(self.stages) > 1:
            raise ConfigError(format_message(
                f"{special[0]!r} as the only stage", f"stages {list(self.stages)}",
                f"run stages: [{special[0]}] on its own"))
        mcga = [s for s in self.stages if s in MCGA_STAGES]
        if mcga and (len(mcga) != len(self.stages)
                     or mcga != sorted(mcga, key=MCGA_STAGES.index)):
            raise ConfigError(format_message(
                "MCGA stages on their own, in the order prior, mapping", list(self.stages),
                "use stages: [prior, mapping] (or one of them)"))
        order = [HYDRA_STAGES.index(s) for s in self.stages if s in HYDRA_STAGES]
        if order != sorted(order):
            raise ConfigError(format_message("stages in the order teacher, student, refine",
                                             list(self.stages), "reorder the stages list"))
        for s in STAGE_NAMES:
            getattr(self, s).validate(s)
        self.data.validate()
        _choice(self.precision, ("auto", "bf16", "fp32"), "precision")
        if self.tile_size is not None and (isinstance(self.tile_size, bool)
                                           or not isinstance(self.tile_size, int)
                                           or self.tile_size < 1):
            raise ConfigError(format_message("tile_size as a positive integer (pixels)",
                                             repr(self.tile_size),
                                             "set e.g. tile_size: 128, or leave it out"))
        tile = self.card_tile()
        if self.tile_overlap is not None and (isinstance(self.tile_overlap, bool)
                                              or not isinstance(self.tile_overlap, int)
                                              or not 0 <= self.tile_overlap < tile):
            raise ConfigError(format_message(
                f"tile_overlap as an integer in [0, {tile}) (pixels, below the tile)",
                repr(self.tile_overlap), "set e.g. tile_overlap: 16, or leave it out"))
        for name in ("eval_every", "checkpoint_every", "log_every"):
            if getattr(self, name) < 0:
                raise ConfigError(format_message(f"{name} >= 0", repr(getattr(self, name)),
                                                 f"set {name} to 0 (off) or a step count"))
        return self

    # ------------------------------------------------------------------ (de)serialisation
    def card_tile(self, last_stage: str | None = None) -> int:
        """The tile side written into the model card: ``tile_size``, else the patch size
        of ``last_stage`` (default: the recipe's last stage)."""
        return int(self.tile_size or self.stage(last_stage or self.stages[-1]).patch_size)

    def card_tiling(self, last_stage: str | None = None) -> tuple[int, int]:
        """The ``(tile, overlap)`` written into the model card.

        :meth:`card_tile`; ``tile_overlap``, else a quarter of the tile.

        Examples
        --------
        >>> TrainConfig(stages=["teacher", "student"]).card_tiling()
        (64, 16)
        """
        tile = self.card_tile(last_stage)
        overlap = max(0, tile // 4) if self.tile_overlap is None else int(self.tile_overlap)
        return tile, overlap

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON/YAML-serialisable dict (stages as a list)."""
        out = dataclasses.asdict(self)
        out["stages"] = list(self.stages)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build and validate a config from a nested mapping.

        Parameters
        ----------
        data : mapping
            Keys are field names; stage sections and ``data`` are mappings.
            Stage aliases (``stage1``/``stage2``/``stage3``) are accepted as section names.

        Raises
        ------
        ConfigError
            For unknown keys (the message lists the valid ones) or bad values.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(format_message("a mapping of config keys", type(data).__name__,
                                             "write the config as key: value pairs"))
        norm = {STAGE_ALIASES.get(k, k): v for k, v in data.items()}
        cfg = _build(cls, norm, "config")
        return cfg.validate()

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Load a config from ``.yaml`` / ``.yml`` / ``.json``.

        Examples
        --------
        >>> TrainConfig.from_file("configs/hydra-natural-31.yaml").model  # doctest: +SKIP
        'hydra-small-31'
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError(format_message("an existing config file", str(path),
                                             "check the path (configs/*.yaml ship with the repo)"))
        text = path.read_text()
        if path.suffix.lower() == ".json":
            raw = json.loads(text)
        else:
            import yaml

            raw = yaml.safe_load(text) or {}
        return cls.from_dict(raw)

    def to_file(self, path: str | Path) -> Path:
        """Write the config as YAML (``.yaml``/``.yml``) or JSON (any other suffix)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        else:
            path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    def with_overrides(self, items: Iterable[str]) -> TrainConfig:
        """A copy with ``key.sub=value`` overrides applied (values parsed as YAML).

        Parameters
        ----------
        items : iterable of str
            E.g. ``["teacher.steps=5", "data.n_train=2", "stages=[direct]"]``.

        Raises
        ------
        ConfigError
            For a malformed item or an unknown key.
        """
        import yaml

        raw = self.to_dict()
        for item in items:
            if "=" not in item:
                raise ConfigError(format_message("an override KEY=VALUE", repr(item),
                                                 "write e.g. --set teacher.steps=5"))
            key, value = item.split("=", 1)
            parts = [STAGE_ALIASES.get(p, p) for p in key.strip().split(".")]
            node = raw
            for i, part in enumerate(parts[:-1]):
                if not isinstance(node.get(part), dict):
                    valid = sorted(k for k, v in node.items() if isinstance(v, dict))
                    raise ConfigError(format_message(
                        f"a section among {valid}", repr(".".join(parts[:i + 1])),
                        "check the override key"))
                node = node[part]
            last = parts[-1]
            if last not in node and tuple(parts[:-1]) not in _FREE_FORM:
                raise ConfigError(format_message(f"a key among {sorted(node)}", repr(key),
                                                 "check the override key"))
            node[last] = yaml.safe_load(value)
        return TrainConfig.from_dict(raw)


# --------------------------------------------------------------------------- helpers

#: Sections whose keys are free (model configuration fields, data-set keywords): an
#: override may add a key there, e.g. ``--set model_overrides.teacher_activation=relu``.
_FREE_FORM: frozenset[tuple[str, ...]] = frozenset({("model_overrides",), ("data", "options")})


def _choice(value: Any, valid: tuple[str, ...], what: str) -> None:
    if value not in valid:
        raise ConfigError(format_message(f"{what} among {list(valid)}", repr(value),
                                         f"use one of {', '.join(valid)}"))


def _build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(format_message(f"a key of {where} among {names}", repr(key),
                                             "remove or rename the key"))
        f = fields[key]
        if (dataclasses.is_dataclass(hints[key]) and isinstance(value, Mapping)
                and f.default_factory is not dataclasses.MISSING):
            # a partial section overrides this field's own defaults (e.g. the teacher's
            # Huber loss), not the generic defaults of the section's class
            value = {**dataclasses.asdict(f.default_factory()), **value}
        kwargs[key] = _coerce(value, hints[key],
                              f"{key}" if where == "config" else f"{where}.{key}")
    try:
        return cls(**kwargs)
    except TypeError as err:  # pragma: no cover - every field has a default
        raise ConfigError(format_message(f"valid {where} fields", str(err),
                                         "fix the config")) from None


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Convert ``value`` to the annotated type (nested dataclasses, tuples, numbers)."""
    if dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(format_message(f"a mapping for {where}", repr(value),
                                             f"write {where} as a section of key: value pairs"))
        return _build(hint, value, where)
    origin = get_origin(hint)
    args = get_args(hint)
    if origin is Union or (origin is not None and type(None) in args):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where) if len(inner) == 1 else value
    if origin in (tuple, list):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(format_message(f"a list for {where}", repr(value),
                                             f"write {where} as a list"))
        return tuple(value) if origin is tuple else list(value)
    if hint is float and isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            pass
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(format_message(f"an integer for {where}", repr(value),
                                             f"set {where} to a whole number"))
        return value
    if hint is float and not isinstance(value, (int, float)):
        raise ConfigError(format_message(f"a number for {where}", repr(value),
                                         f"set {where} to a number"))
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(format_message(f"true or false for {where}", repr(value),
                                         f"set {where} to true or false"))
    if hint is str and not isinstance(value, str):
        raise ConfigError(format_message(f"a string for {where}", repr(value),
                                         f"quote {where}"))
    return value
