"""Pixelwise protocol on held-out measured spectra, with baselines.

Each held-out spectrum becomes a uniform ``patch x patch`` square of a mosaic
image and goes through the model exactly as a user's image would:

1. **Truth** on the model's band grid (Gaussian band averaging; the model card's
   ``wavelengths`` / ``fwhm``). ``real-natural``: reflectance x a CIE illuminant
   (D65 by default) scaled to a maximum of 1 -- the radiance-like quantity the
   natural models are trained to output. ``real-satellite``: surface reflectance.
2. **RGB** rendered with the keywords that rendered the model's training RGB
   (:func:`specrecon.physical.training_render_params`, i.e. the natural NTIRE-style
   camera simulation with gains, auto-exposure over the whole set and 8-bit
   quantisation, or the satellite per-band mean reflectance composite), through
   the card's ``input_sensor``.
3. **Mosaic**: the spectra in a random order (``seed``), one patch each, the grid
   filled up with repeats; :func:`specrecon.inference.reconstruct` on the whole
   mosaic with the card's tiling; each spectrum's prediction is the mean over the
   inner half of its patch (a quarter of the patch cut from each side, so that
   the neighbours' context does not enter).
4. **Scores** with :mod:`specrecon.metrics` on the bands the measurements cover:
   ``mrae`` (NTIRE definition, exact zeros in the truth left out), ``mrae_eps``
   (``|truth| + 0.01`` denominators), ``rmse``, ``sam`` and ``mrae_aligned``: MRAE
   after multiplying *all* predictions of the set by one scale, the one that
   minimises the MRAE (a weighted median). Auto-exposed camera RGB carries no
   absolute brightness, so the aligned MRAE is the headline for ``real-natural``;
   ``mrae_eps`` is the headline for ``real-satellite``.

Baselines, fitted by least squares on the *training* spectral libraries rendered
the same way (natural: the colour-science measured reflectances, less the recipe's
``exclude_sources``, plus the spectra derived from them for the first training
scenes, x each illuminant of the recipe -- ``"daylight"`` entries spread over the
CIE daylight range; satellite: the PROSAIL/parametric libraries of the recipe's
training scene seeds, ``extended`` when the recipe uses the extended surfaces):
root-polynomial regression of degree 2 and 3 and the mean training spectrum. Other models (e.g. the equally trained MST++) are
passed next to the model.

Options: ``physical=True`` adds rows with the minimum-norm physical-consistency
correction (:func:`specrecon.physical.consistency_correct`): per pixel with the
model card's rendering where :func:`specrecon.physical.pixel_rendering` gives one
(satellite cards; camera cards with a calibrated exposure -- what ``reconstruct``
does by default), otherwise with the exposure fitted once over the whole set, as
:func:`specrecon.physical.input_rendering` says; ``brightness=(0.9, 1.1)`` runs
each method on the RGB scaled by those factors and reports the relative change
of the aligned MRAE.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from specrecon.errors import ConfigError, ModelMismatchError, format_message

__all__ = [
    "HEADLINE",
    "MRAE_EPS",
    "PATCH",
    "RenderedSet",
    "align_scale",
    "evaluate_real",
    "render_heldout",
    "render_spectra",
    "score",
    "summarize",
    "to_json",
    "training_pairs",
]

#: Side of each spectrum's uniform patch in the mosaic (pixels).
PATCH = 8
#: Epsilon of the ``mrae_eps`` variant.
MRAE_EPS = 0.01
#: The metric each held-out set is summarised by.
HEADLINE = {"real-natural": "mrae_aligned", "real-satellite": "mrae_eps"}


@dataclass(frozen=True)
class RenderedSet:
    """Held-out spectra on a model's grid and the RGB a user would feed it.

    Attributes
    ----------
    truth : numpy.ndarray
        ``(n, bands)`` float64 ground truth.
    rgb : numpy.ndarray
        ``(n, 3)`` float64 model input in [0, 1].
    valid : numpy.ndarray
        ``(bands,)`` bool: bands covered by measurements (the scored ones).
    labels : tuple of str
        Class of each spectrum.
    names : tuple of str
        Identifier of each spectrum.
    name : str
        Set name.
    description : str
        Truth and rendering in words.
    """

    truth: np.ndarray
    rgb: np.ndarray
    valid: np.ndarray
    labels: tuple[str, ...]
    names: tuple[str, ...]
    name: str
    description: str


def _grid(card: Any) -> tuple[np.ndarray, np.ndarray]:
    wl = np.asarray(card.wavelengths, "float64")
    fw = (np.asarray(card.fwhm, "float64") if getattr(card, "fwhm", None)
          else np.gradient(wl) if wl.size > 1 else np.full(1, 10.0))
    return wl, fw


def _render_params(card: Any) -> dict[str, Any]:
    from specrecon.physical import training_render_params

    params = training_render_params(card)
    if params is None:   # no synthetic training record: a plain per-channel mean composite
        params = {"gains": None, "exposure": None, "normalize": "sum", "bit_depth": None,
                  "photon_scale": None, "read_noise": 0.0, "jpeg_quality": None}
    return params


def render_spectra(card: Any, spectra: Any, *, seed: int = 0) -> np.ndarray:
    """RGB of ``(n, bands)`` spectra rendered like the model's training data.

    The spectra are laid out as one image row, so an auto-exposure normalises
    over the whole set (as over a mosaic of uniform patches).

    Returns
    -------
    numpy.ndarray
        ``(n, 3)`` float64.

    Examples
    --------
    >>> from specrecon.models import load_model
    >>> card = load_model("hydra-satellite-202").card
    >>> render_spectra(card, np.full((2, 202), 0.3)).round(3).tolist()
    [[0.3, 0.3, 0.3], [0.3, 0.3, 0.3]]
    """
    from specrecon.spectral import simulate_rgb

    wl, _ = _grid(card)
    s = np.asarray(spectra, "float64")
    image = np.ascontiguousarray(s.T[:, None, :]).astype("float32")
    params = dict(_render_params(card))
    params["seed"] = int(seed)
    rgb = simulate_rgb(image, card.input_sensor, wavelengths=wl, **params)
    return np.asarray(rgb, "float64")[:, 0, :].T


def _natural(name: str) -> bool:
    return name == "real-natural"


def render_heldout(card: Any, heldout: Any, *, illuminant: str = "D65",
                   seed: int = 0) -> RenderedSet:
    """Truth and input RGB of a held-out set for one model (steps 1-2 of the protocol).

    Parameters
    ----------
    card : ModelCard
        The model's card (band grid, input sensor, training rendering).
    heldout : HeldOutSet
        From :func:`specrecon.validation.load_heldout`.
    illuminant : str
        ``real-natural`` only: the CIE illuminant (colour-science key).
    seed : int
        Noise seed, if the training rendering has noise.

    Returns
    -------
    RenderedSet
    """
    from specrecon.datasets._spectra_library import illuminant_spectrum

    if not card.input_sensor or card.input_sensor == "unknown":
        raise ModelMismatchError(format_message(
            "a model card with an input sensor", f"input_sensor={card.input_sensor!r}",
            "evaluate a model whose card records its input sensor"))
    wl, fw = _grid(card)
    valid = heldout.valid_bands(wl, fw)
    if valid.sum() < max(3, wl.size // 2):
        raise ModelMismatchError(format_message(
            f"a model whose bands lie within the held-out set's "
            f"{heldout.wavelengths[0]:g}-{heldout.wavelengths[-1]:g} nm",
            f"{int(valid.sum())} of {wl.size} bands covered",
            "use real-natural for 400-700 nm models and real-satellite for 400-2500 nm ones"))
    truth = heldout.on_grid(wl, fw)
    what = "surface reflectance"
    if _natural(heldout.name):
        truth = truth * illuminant_spectrum(illuminant, tuple(wl.tolist()),
                                            tuple(fw.tolist())).astype("float64")[None, :]
        what = f"reflectance x {illuminant} (max 1)"
    rgb = render_spectra(card, truth, seed=seed)
    params = _render_params(card)
    desc = (f"{heldout.name}: {len(heldout)} spectra, truth = {what} on the model grid "
            f"({int(valid.sum())}/{wl.size} bands scored); RGB through {card.input_sensor} with "
            + ", ".join(f"{k}={params[k]!r}" for k in ("normalize", "gains", "exposure",
                                                       "bit_depth") if k in params))
    return RenderedSet(truth, rgb, valid, tuple(heldout.labels), tuple(heldout.names),
                       heldout.name, desc)


def _recipe_data(card: Any) -> dict[str, Any]:
    return dict(((getattr(card, "training", None) or {}).get("recipe") or {}).get("data")
                 or {})


@functools.lru_cache(maxsize=8)
def _training_pairs_cached(key: str, card_json: str) -> tuple[np.ndarray, np.ndarray]:
    from specrecon.models import ModelCard

    return _training_pairs(ModelCard.from_json(card_json), key)


def _illuminant_spectra(tokens: Sequence[str], wl: tuple[float, ...],
                        fw: tuple[float, ...]) -> list[np.ndarray]:
    """Band spectra of a recipe's illuminant list; each ``"daylight"`` entry gets its own CCT.

    The ``"daylight"`` tokens are spread evenly in mired over the training range, so a
    list with k of them stands for k CIE daylights from warm to cold.
    """
    from specrecon.datasets import _spectra_library as sl

    n_day = sum(t == "daylight" for t in tokens)
    lo, hi = getattr(sl, "DAYLIGHT_CCT_RANGE", (4000.0, 12000.0))
    mireds = np.linspace(1e6 / hi, 1e6 / lo, n_day) if n_day > 1 else np.array([1e6 / 6500.0])
    out, k = [], 0
    for t in tokens:
        if t == "daylight":
            out.append(sl.daylight_spectrum(float(1e6 / mireds[k]), wl, fw))
            k += 1
        else:
            out.append(sl.illuminant_spectrum(t, wl, fw))
    return [np.asarray(x, "float64") for x in out]


def _training_pairs(card: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    from specrecon.datasets import _spectra_library as sl
    from specrecon.datasets.synthetic import scene_seeds

    wl, fw = _grid(card)
    twl, tfw = tuple(wl.tolist()), tuple(fw.tolist())
    data = _recipe_data(card)
    options = dict(data.get("options") or {})
    seeds = scene_seeds(int(data.get("n_train") or 24), int(data.get("seed") or 0), "train")
    if _natural(name):
        lib = sl.measured_reflectances(twl, tfw)
        drop = tuple(options.get("exclude_sources") or ())
        keep = [i for i, nm in enumerate(lib.names) if nm.split(":", 1)[0] not in drop]
        base = np.asarray(lib.values, "float64")[keep]
        parts = [base]
        n_derived = int(options.get("derived_spectra") or 0)
        if n_derived and hasattr(sl, "derived_reflectances"):
            # the derived spectra of the first training scenes (as the scenes draw them)
            parts += [np.asarray(sl.derived_reflectances(base, n_derived, s), "float64")
                      for s in seeds[:8]]
        refl = np.concatenate(parts)
        illum = data.get("illuminant")
        tokens = (sl.REAL_ILLUMINANTS if illum is None
                  else (illum,) if isinstance(illum, str) else tuple(illum))
        spectra = np.concatenate([refl * e[None, :] for e in _illuminant_spectra(tokens, twl,
                                                                                   tfw)])
    else:
        kw = ({"extended": True} if options.get("surfaces") == "extended" else {})
        spectra = np.concatenate([np.asarray(sl.satellite_library(s, twl, tfw, **kw).values,
                                             "float64") for s in seeds])
    return render_spectra(card, spectra), spectra


def training_pairs(card: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(rgb, spectra)`` of the training spectral libraries, rendered like the held-out set.

    Parameters
    ----------
    card : ModelCard
        The model's card (grid, sensor, recipe: illuminants / training scene seeds).
    name : {"real-natural", "real-satellite"}
        Which kind of library.

    Returns
    -------
    tuple of numpy.ndarray
        ``(m, 3)`` RGB and ``(m, bands)`` spectra (cached per card).
    """
    from specrecon.models import ModelCard

    if isinstance(card, ModelCard):
        return _training_pairs_cached(name, card.to_json())
    return _training_pairs(card, name)


def align_scale(pred: np.ndarray, truth: np.ndarray) -> float:
    """The one scale ``a`` minimising ``mean(|a * pred - truth| / truth)`` (truth > 0).

    A weighted median of ``truth / pred`` with weights ``pred / truth``.

    Examples
    --------
    >>> truth = np.array([1.0, 2.0, 4.0])
    >>> align_scale(truth / 3.0, truth)
    3.0
    """
    p = np.asarray(pred, "float64").ravel()
    t = np.asarray(truth, "float64").ravel()
    ok = (t > 0) & (p > 0) & np.isfinite(p) & np.isfinite(t)
    if not ok.any():
        return 1.0
    ratio, weight = t[ok] / p[ok], p[ok] / t[ok]
    order = np.argsort(ratio)
    cum = np.cumsum(weight[order])
    return float(ratio[order][np.searchsorted(cum, 0.5 * cum[-1])])


def _metrics(pred: np.ndarray, truth: np.ndarray, scale: float) -> dict[str, float]:
    from specrecon.metrics import mrae, rmse, sam

    p, t = pred[:, :, None, None], truth[:, :, None, None]
    return {"mrae": float(mrae(p, t, zero_gt="ignore")),
            "mrae_aligned": float(mrae(scale * p, t, zero_gt="ignore")),
            "mrae_eps": float(mrae(p, t, zero_gt="epsilon", eps=MRAE_EPS)),
            "rmse": float(rmse(p, t)),
            "sam": float(sam(p, t))}


def score(pred: Any, rendered: RenderedSet) -> dict[str, Any]:
    """Metrics of ``(n, bands)`` predictions on a rendered set, overall and per class.

    Returns
    -------
    dict
        ``overall`` and ``per_class`` (label -> metrics) dicts of ``mrae``,
        ``mrae_aligned``, ``mrae_eps``, ``rmse``, ``sam``, plus ``scale`` (the
        alignment scale, fitted once over the whole set).
    """
    p = np.asarray(pred, "float64")[:, rendered.valid]
    t = rendered.truth[:, rendered.valid]
    scale = align_scale(p, t)
    labels = np.asarray(rendered.labels)
    per_class = {c: _metrics(p[labels == c], t[labels == c], scale)
                 for c in sorted(set(rendered.labels))}
    return {"overall": _metrics(p, t, scale), "per_class": per_class, "scale": scale}


def _mosaic_predict(model: Any, rgb: np.ndarray, *, patch: int, seed: int,
                    device: str, tile_size: int | None = None) -> np.ndarray:
    """Predictions for ``(n, 3)`` RGB through a mosaic of uniform patches (step 3)."""
    from specrecon.inference import reconstruct

    n = rgb.shape[0]
    side = max(1, math.ceil(math.sqrt(n)))
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5A1C]))
    slots = np.concatenate([rng.permutation(n), rng.integers(0, n, side * side - n)])
    where = np.empty(n, dtype=int)
    where[slots[:n]] = np.arange(n)              # slot of each spectrum
    tiles = rgb[slots].astype("float32").T.reshape(3, side, side)
    image = np.repeat(np.repeat(tiles, patch, axis=1), patch, axis=2)
    # the raw network output: the physical rows apply the correction themselves
    out = np.asarray(reconstruct(image, model=model, device=device, physical=False,
                                 tile_size=tile_size).values, "float64")
    m = patch // 4
    bands = out.shape[0]
    blocks = out.reshape(bands, side, patch, side, patch)[:, :, m:patch - m, :, m:patch - m]
    means = blocks.mean(axis=(2, 4)).reshape(bands, side * side)
    return means[:, where].T


def correct_table(pred: np.ndarray, rgb: np.ndarray, rendering: Any) -> np.ndarray:
    """Physical-consistency correction of a table of spectra against their RGB.

    ``pred`` is ``(n, bands)`` and ``rgb`` ``(n, 3)``; ``rendering`` is an
    :func:`~specrecon.physical.input_rendering` (or ``pixel_rendering``) whose ``fit``
    is fitted over the whole table.
    """
    from specrecon.physical import consistency_correct

    out: np.ndarray = consistency_correct(pred[:, :, None, None], rgb[:, :, None, None],
                                          rendering.matrix, fit=rendering.fit)[:, :, 0, 0]
    return out


def _two_fold(rgb: np.ndarray, truth: np.ndarray, seed: int,
              make: Callable[[], Any] | None = None) -> Any:
    """A predictor that answers each held-out row with a fit on the other half.

    ``make`` builds an unfitted baseline (default: a degree-3 root-polynomial).
    """
    from specrecon.validation.baselines import RootPolynomial

    half = np.random.default_rng(np.random.SeedSequence([int(seed), 0x2F01])).random(
        rgb.shape[0]) < 0.5
    build = make or (lambda: RootPolynomial(3))
    fits = [build().fit(rgb[~h], truth[~h]) for h in (half, ~half)]

    def predict(x: np.ndarray) -> np.ndarray:
        out = fits[1].predict(x)
        out[half] = fits[0].predict(x[half])
        return out

    return predict


def _load(model: Any) -> tuple[str, Any]:
    from specrecon.models import load_model

    if isinstance(model, str):
        return model, load_model(model, device="cpu")
    return str(getattr(model, "name", None) or type(model).__name__), model


def _subset(heldout: Any, n: int | None, seed: int) -> Any:
    if n is None or n >= len(heldout):
        return heldout
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5B5]))
    labels = np.asarray(heldout.labels)
    picks = []
    for c in heldout.classes:
        idx = np.flatnonzero(labels == c)
        k = min(idx.size, max(min(idx.size, 10), round(n * idx.size / len(heldout))))
        picks.append(rng.choice(idx, k, replace=False))
    return heldout.subset(np.sort(np.concatenate(picks)))


def evaluate_real(models: Any, name: str, *, illuminant: str = "D65", n: int | None = None,
                  seed: int = 0, patch: int = PATCH, physical: bool = True,
                  brightness: Sequence[float] = (0.9, 1.1), baselines: bool = True,
                  oracle: bool = False, device: str = "cpu",
                  tile_size: int | None = None, mlp: bool = False) -> dict[str, Any]:
    """Score models and baselines on a real held-out set (see the module notes).

    Parameters
    ----------
    models : str, module or list of them
        Shipped names, ``.safetensors`` paths or loaded models (with cards). The
        first one's card sets the band grid, sensor and training libraries of
        the baselines; the others must share its sensor and bands.
    name : {"real-natural", "real-satellite"}
        Held-out set.
    illuminant : str
        ``real-natural``: illuminant of the truth and RGB.
    n : int, optional
        Evaluate a class-stratified random subset of about ``n`` spectra (fast
        model selection); default all.
    seed : int
        Mosaic order and subset.
    patch : int
        Patch side (pixels).
    physical : bool
        Add rows with the physical-consistency correction.
    brightness : sequence of float
        Input scale factors for the brightness check (empty: skip it).
    baselines : bool
        Add root-polynomial (degree 2, 3) and mean-spectrum rows.
    oracle : bool
        Add ``root-poly-3-heldout-2fold``: a degree-3 root-polynomial fitted on one
        random half of the *held-out* set and scored on the other (both ways) --
        not a fair competitor, a reference for what a pixelwise map can reach on
        this data.
    device : str
        Inference device.
    tile_size : int, optional
        Tile side of the mosaic's inference, overlap a quarter of it (default: each
        model card's tile grid, as :func:`specrecon.reconstruct`).
    mlp : bool
        Add ``pixel-mlp``: :class:`~specrecon.validation.baselines.PixelMLP` fitted on
        the same training spectra as the regressions (a stronger pixelwise reference;
        20-100 s of fitting on one CPU thread).

    Returns
    -------
    dict
        ``set``, ``spectra``, ``classes`` (label -> count), ``protocol``,
        ``headline`` (metric name) and ``rows``: one per method (and per
        physical option) with ``method``, ``kind`` (``model``/``baseline``),
        ``physical``, ``overall``, ``per_class``, ``scale`` and ``brightness``
        (factor -> relative change of ``mrae_aligned``); physical rows also name
        their ``correction``.

    Examples
    --------
    .. code-block:: python

        from specrecon.validation import evaluate_real
        res = evaluate_real(["hydra-natural-31", "mstpp-natural-31"], "real-natural", n=800)
        {r["method"]: r["overall"]["mrae_aligned"] for r in res["rows"] if not r["physical"]}
    """
    from specrecon.physical import input_rendering, pixel_rendering
    from specrecon.validation.baselines import MeanSpectrum, PixelMLP, RootPolynomial
    from specrecon.validation.data import load_heldout

    if name not in HEADLINE:
        raise ConfigError(format_message(f"a held-out set in {sorted(HEADLINE)}", repr(name),
                                         "pick one of them"))
    items = [models] if isinstance(models, str) or not isinstance(models, Sequence) else models
    loaded = [_load(m) for m in items]
    if not loaded:
        raise ConfigError(format_message("at least one model", "none", "pass a model name"))
    card = getattr(loaded[0][1], "card", None)
    if card is None:
        raise ModelMismatchError(format_message(
            "a model with a card (band grid, input sensor)", "a model without one",
            "save it with specrecon.models.save_model(model, path, card) first"))
    for label, mod in loaded[1:]:
        other = getattr(mod, "card", None)
        if (other is None or other.input_sensor != card.input_sensor
                or len(other.wavelengths) != len(card.wavelengths)):
            raise ModelMismatchError(format_message(
                f"models sharing {loaded[0][0]}'s sensor and {len(card.wavelengths)} bands",
                f"{label} differs", "evaluate them separately"))
    heldout = _subset(load_heldout(name), n, seed)
    rendered = render_heldout(card, heldout, illuminant=illuminant, seed=seed)
    rendering = input_rendering(card)

    # the physical rows correct each model as reconstruct's default does: per pixel with
    # its card's rendering where that is possible (a calibrated camera exposure), else
    # with the exposure fitted over the whole set; baselines get the latter
    predictors: list[tuple[str, str, Any, Any]] = []
    for label, mod in loaded:
        predictors.append((label, "model", functools.partial(
            _mosaic_predict, mod, patch=patch, seed=seed, device=device, tile_size=tile_size),
            pixel_rendering(getattr(mod, "card", None)) or rendering))
    if baselines or mlp:
        rgb_train, spec_train = training_pairs(card, name)
        chosen: list[tuple[str, Any]] = []
        if baselines:
            chosen += [("root-poly-2", RootPolynomial(2)), ("root-poly-3", RootPolynomial(3)),
                       ("mean-spectrum", MeanSpectrum())]
        if mlp:
            chosen.append(("pixel-mlp", PixelMLP()))
        for label, base in chosen:
            predictors.append((label, "baseline", base.fit(rgb_train, spec_train).predict,
                               rendering))
    if oracle:
        predictors.append(("root-poly-3-heldout-2fold", "oracle",
                           _two_fold(rendered.rgb, rendered.truth, seed), rendering))

    lo, hi = (tuple(card.value_range) if getattr(card, "value_range", None) else (0.0, 1.0))

    def changes(m_1: float, scaled: dict[str, np.ndarray]) -> dict[str, float]:
        out = {}
        for f, p_f in scaled.items():
            m_f = score(p_f, rendered)["overall"]["mrae_aligned"]
            out[f] = (m_f - m_1) / m_1 if m_1 > 0 else float("nan")
        return out

    rows = []
    for label, kind, predict, rend in predictors:
        pred = predict(rendered.rgb)
        inputs = {f"{float(f):g}": np.clip(rendered.rgb * float(f), 0.0, 1.0) for f in brightness}
        preds = {f: predict(x) for f, x in inputs.items()}
        base = score(pred, rendered)
        rows.append({"method": label, "kind": kind, "physical": False, **base,
                     "brightness": changes(base["overall"]["mrae_aligned"], preds)})
        if physical:
            fixed = correct_table(pred, rendered.rgb, rend)
            res = score(fixed, rendered)
            res["overall_clipped"] = score(np.clip(fixed, lo, hi), rendered)["overall"]
            fixed_f = {f: correct_table(preds[f], inputs[f], rend) for f in preds}
            rows.append({"method": label, "kind": kind, "physical": True, **res,
                         "brightness": changes(res["overall"]["mrae_aligned"], fixed_f),
                         "correction": rend.description})
    inner = patch - 2 * (patch // 4)
    tiles = f"tiles of {tile_size} px; " if tile_size is not None else ""
    protocol = (f"{rendered.description}; {patch}x{patch} patches, inner {inner}x{inner} "
                f"scored; {tiles}physical: {rendering.description}")
    return {"set": name, "spectra": len(heldout),
            "classes": {c: int(sum(lab == c for lab in heldout.labels)) for c in heldout.classes},
            "bands_scored": int(rendered.valid.sum()), "illuminant": illuminant if _natural(name)
            else None, "protocol": protocol, "headline": HEADLINE[name], "rows": rows}


def to_json(result: dict[str, Any]) -> str:
    """JSON text of an :func:`evaluate_real` result."""
    return json.dumps(result, indent=2, allow_nan=True)


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """Compact headline numbers of an :func:`evaluate_real` result (e.g. for a model card).

    Returns
    -------
    dict
        ``set``, ``spectra``, ``metric`` (the headline metric's name) and
        ``methods``: ``{method: {"raw": value, "physical": value,
        "brightness": {factor: relative change}}}``.

    Examples
    --------
    >>> m = {"mrae_aligned": 0.2}
    >>> res = {"set": "real-natural", "spectra": 5, "headline": "mrae_aligned", "rows": [
    ...     {"method": "a", "physical": False, "overall": m, "brightness": {"0.9": 0.01}},
    ...     {"method": "a", "physical": True, "overall": {"mrae_aligned": 0.1},
    ...      "brightness": {}}]}
    >>> summarize(res)["methods"]["a"]
    {'raw': 0.2, 'brightness': {'0.9': 0.01}, 'physical': 0.1}
    """
    key = result["headline"]
    methods: dict[str, dict[str, Any]] = {}
    for r in result["rows"]:
        entry = methods.setdefault(r["method"], {})
        if r["physical"]:
            entry["physical"] = round(float(r["overall"][key]), 4)
        else:
            entry["raw"] = round(float(r["overall"][key]), 4)
            if r.get("brightness"):
                entry["brightness"] = {f: round(float(v), 4) for f, v in r["brightness"].items()}
    return {"set": result["set"], "spectra": result["spectra"], "metric": key,
            "methods": methods}
