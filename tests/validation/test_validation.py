"""Real held-out validation: data sets, disjointness from training, baselines, protocol."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from specrecon.errors import ConfigError
from specrecon.validation.baselines import MeanSpectrum, RootPolynomial, root_polynomial_features
from specrecon.validation.data import MissingDataPackageError, package_data_dir
from specrecon.validation.protocol import align_scale

WL31 = np.arange(400.0, 701.0, 10.0)
needs_luxpy = pytest.mark.skipif(importlib.util.find_spec("luxpy") is None,
                                 reason="luxpy (held-out natural spectra) is not installed")
needs_earthlib = pytest.mark.skipif(importlib.util.find_spec("earthlib") is None,
                                    reason="earthlib (held-out satellite spectra) is not installed")


# ----------------------------------------------------------------------------- data
def test_missing_package_names_the_pip_command() -> None:
    with pytest.raises(MissingDataPackageError, match="pip install no_such_pkg_4711"):
        package_data_dir("no_such_pkg_4711", "data")
    assert issubclass(MissingDataPackageError, ImportError)


@needs_luxpy
def test_natural_heldout_is_labelled_and_in_range() -> None:
    from specrecon.validation import natural_heldout

    s = natural_heldout()
    assert len(s) > 4000
    assert s.classes == ["munsell", "opstelten", "tm30"]
    counts = {c: s.labels.count(c) for c in s.classes}
    assert counts["opstelten"] == 215 and counts["munsell"] > 1200 and counts["tm30"] > 2600
    assert s.values.shape == (len(s), s.wavelengths.size)
    assert s.wavelengths[0] == 380.0 and s.wavelengths[-1] == 780.0
    assert s.values.min() >= 0.0 and s.values.max() <= 1.0
    assert 0.1 < float(np.median(s.values)) < 0.7
    assert len(set(s.names)) == len(s)


@needs_luxpy
def test_natural_heldout_is_disjoint_from_the_training_library() -> None:
    from specrecon.datasets._spectra_library import measured_reflectances
    from specrecon.datasets.synthetic import natural_library
    from specrecon.validation import natural_heldout
    from specrecon.validation.data import NEAR_DUPLICATE

    held_set = natural_heldout()
    train = natural_library()                     # what the natural scenes are built from
    held = held_set.on_grid(train.wavelengths, train.fwhm)

    def nearest(library: np.ndarray) -> np.ndarray:
        return np.min([np.abs(held - row).max(axis=1) for row in library], axis=0)

    assert nearest(np.asarray(train.values, "float64")).min() > 1e-6   # none equals one
    sources = measured_reflectances(tuple(train.wavelengths.tolist()), tuple(train.fwhm.tolist()))
    assert nearest(np.asarray(sources.values, "float64")).min() >= NEAR_DUPLICATE
    assert not set(held_set.names) & set(train.names)


@needs_earthlib
def test_satellite_heldout_is_measured_labelled_and_in_range() -> None:
    from specrecon.validation import satellite_heldout

    s = satellite_heldout()
    assert len(s) == 5261
    assert s.classes == ["built", "burned", "dry-vegetation", "soil"]
    assert s.wavelengths[0] == 400.0 and s.wavelengths[-1] == 2450.0
    assert not ((s.wavelengths > 1360) & (s.wavelengths < 1450)).any()
    assert s.values.min() >= 0.0 and s.values.max() < 1.1
    with_sim = satellite_heldout(include_simulated=True)
    assert with_sim.labels.count("vegetation-simulated") == 2000
    # bands inside the water-vapour gaps are not scored
    ok = s.valid_bands([1400.0, 1600.0, 1850.0, 2200.0], [10.0] * 4)
    assert ok.tolist() == [False, True, False, True]


@needs_earthlib
def test_satellite_heldout_is_disjoint_from_the_training_library() -> None:
    from specrecon.datasets._spectra_library import satellite_library
    from specrecon.datasets.synthetic import scene_seeds
    from specrecon.spectral import get_bandset
    from specrecon.validation import satellite_heldout

    bs = get_bandset("hyspecnet202")
    held = satellite_heldout()
    grid = held.on_grid(bs.wavelengths, bs.fwhm)
    for seed in scene_seeds(2, 0, "train"):
        lib = np.asarray(satellite_library(seed, tuple(bs.wavelengths.tolist()),
                                           tuple(bs.fwhm.tolist())).values, "float64")
        nearest = np.min([np.abs(grid - row).max(axis=1) for row in lib], axis=0)
        assert nearest.min() > 1e-3


# ----------------------------------------------------------------------------- baselines
@pytest.mark.parametrize("degree, terms", [(1, 3), (2, 6), (3, 13)])
def test_root_polynomial_is_exact_on_root_polynomial_data(degree: int, terms: int) -> None:
    rng = np.random.default_rng(degree)
    rgb = rng.uniform(0.01, 1.0, (200, 3))
    x = root_polynomial_features(rgb, degree)
    assert x.shape == (200, terms)
    w = rng.normal(size=(terms, 31))
    fit = RootPolynomial(degree).fit(rgb, x @ w)
    np.testing.assert_allclose(fit.coef, w, atol=1e-8)
    new = rng.uniform(0.01, 1.0, (20, 3))
    np.testing.assert_allclose(fit.predict(new), root_polynomial_features(new, degree) @ w,
                               atol=1e-8)
    # exposure invariance: scaling the input scales the output
    np.testing.assert_allclose(fit.predict(0.5 * new), 0.5 * fit.predict(new), atol=1e-10)


def test_pixel_mlp_learns_a_shape_map_a_regression_cannot() -> None:
    """Spectral shape a step function of chromaticity: the MLP gets far closer than the
    degree-3 regression; exposure invariant, seeded (refitting gives the same numbers)."""
    from specrecon.validation.baselines import PixelMLP

    rng = np.random.default_rng(1)
    rgb = rng.uniform(0.05, 1.0, (1500, 3))
    chroma = rgb / rgb.sum(1, keepdims=True)
    shape = np.where(chroma[:, :1] > 1 / 3, [0.6, 0.3, 0.1, 0.2], [0.1, 0.2, 0.4, 0.5])
    spectra = shape * rgb.sum(1, keepdims=True)
    train, test = slice(0, 1000), slice(1000, None)

    def err(pred: np.ndarray) -> float:
        return float(np.mean(np.abs(pred - spectra[test]) / spectra[test]))

    mlp = PixelMLP(steps=600).fit(rgb[train], spectra[train])
    poly = RootPolynomial(3).fit(rgb[train], spectra[train])
    assert err(mlp.predict(rgb[test])) < 0.5 * err(poly.predict(rgb[test]))
    np.testing.assert_allclose(mlp.predict(0.5 * rgb[test]), 0.5 * mlp.predict(rgb[test]),
                               rtol=1e-5)
    again = PixelMLP(steps=600).fit(rgb[train], spectra[train])
    np.testing.assert_array_equal(again.predict(rgb[test]), mlp.predict(rgb[test]))
    with pytest.raises(ConfigError, match="unfitted"):
        PixelMLP().predict(rgb)


def test_mean_spectrum_and_alignment() -> None:
    spectra = np.array([[0.1, 0.2], [0.3, 0.4]])
    m = MeanSpectrum().fit(np.zeros((2, 3)), spectra)
    np.testing.assert_allclose(m.predict(np.ones((4, 3))), [[0.2, 0.3]] * 4)
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.05, 1.0, 300)
    pred = truth * rng.uniform(0.3, 0.7, 300)
    a = align_scale(pred, truth)

    def cost(s: float) -> float:
        return float(np.mean(np.abs(s * pred - truth) / truth))

    grid = np.linspace(0.5 * a, 1.5 * a, 401)
    assert cost(a) <= min(cost(s) for s in grid) + 1e-12


# ----------------------------------------------------------------------------- protocol
def _pixelwise_model(weights: np.ndarray, card_training: dict) -> torch.nn.Module:
    """A 1x1 convolution with a card: its prediction for a uniform patch is known exactly."""
    from specrecon.models import ModelCard

    class Linear(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, weights.shape[0], 1, bias=False)
            with torch.no_grad():
                self.conv.weight.copy_(torch.tensor(weights[:, :, None, None]))
            self.bands = weights.shape[0]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x)

    model = Linear()
    model.name = "linear"
    model.card = ModelCard(name="linear", architecture="hydra", config={"bands": 31, "latent": 1},
                           bands=31, wavelengths=WL31.tolist(), fwhm=[10.0] * 31,
                           input_sensor="nikon_d5100", tile_size=32, tile_overlap=8,
                           training=card_training)
    return model.eval()


NATURAL_TRAINING = {"recipe": {"data": {"kind": "synthetic-natural", "illuminant": ["D65"]}}}


def test_mosaic_returns_each_spectrums_own_prediction() -> None:
    from specrecon.validation.protocol import _mosaic_predict

    w = np.random.default_rng(1).uniform(0.0, 0.4, (31, 3))
    model = _pixelwise_model(w, NATURAL_TRAINING)
    rgb = np.random.default_rng(2).uniform(0.0, 1.0, (50, 3))   # 50 -> a 8 x 8 grid with fillers
    pred = _mosaic_predict(model, rgb, patch=8, seed=3, device="cpu")
    expected = np.clip(rgb.astype("float32") @ w.T.astype("float32"), 0.0, 1.0)
    np.testing.assert_allclose(pred, expected, atol=1e-5)


def test_mosaic_scores_the_raw_output_even_where_reconstruct_corrects_by_default() -> None:
    # the protocol adds its own physical rows; its raw rows must stay raw although
    # reconstruct corrects satellite-card models by default
    from specrecon.physical import resolve_physical
    from specrecon.validation.protocol import _mosaic_predict

    w = np.random.default_rng(5).uniform(0.0, 0.4, (31, 3))
    model = _pixelwise_model(w, {"recipe": {"data": {"kind": "synthetic-satellite"}}})
    model.card.input_sensor = "sentinel2_msi_rgb"
    assert resolve_physical(None, model.card)                  # the default would correct
    rgb = np.random.default_rng(6).uniform(0.0, 0.5, (20, 3))
    pred = _mosaic_predict(model, rgb, patch=8, seed=3, device="cpu")
    expected = np.clip(rgb.astype("float32") @ w.T.astype("float32"), 0.0, 1.0)
    np.testing.assert_allclose(pred, expected, atol=1e-5)


@needs_luxpy
def test_protocol_end_to_end_on_small_models() -> None:
    from specrecon.models import ModelCard, create_model
    from specrecon.validation import evaluate_real, load_heldout, render_heldout, score
    from specrecon.validation.protocol import _subset, training_pairs

    w = np.random.default_rng(1).uniform(0.0, 0.4, (31, 3))
    linear = _pixelwise_model(w, NATURAL_TRAINING)
    tiny = create_model("hydra-tiny-31").eval()
    tiny.card = ModelCard.from_model(tiny, wavelengths=WL31.tolist(), fwhm=[10.0] * 31,
                                     input_sensor="nikon_d5100", tile_size=32, tile_overlap=8,
                                     training=NATURAL_TRAINING)
    res = evaluate_real([linear, tiny], "real-natural", n=60, brightness=(0.9,), oracle=True)
    assert res["headline"] == "mrae_aligned" and 55 <= res["spectra"] <= 70
    assert set(res["classes"]) == {"munsell", "opstelten", "tm30"}
    methods = [(r["method"], r["physical"]) for r in res["rows"]]
    for m in ("linear", "hydra-tiny-31", "root-poly-2", "root-poly-3", "mean-spectrum",
              "root-poly-3-heldout-2fold"):
        assert (m, False) in methods and (m, True) in methods
    for r in res["rows"]:
        assert set(r["per_class"]) == set(res["classes"])
        assert all(np.isfinite(v) for v in r["overall"].values())
        assert r["overall"]["mrae_aligned"] <= r["overall"]["mrae"] + 1e-12
    # the linear model's scores are those of its exact per-pixel prediction
    lin = next(r for r in res["rows"] if r["method"] == "linear" and not r["physical"])
    subset = _subset(load_heldout("real-natural"), 60, 0)     # the same stratified subset
    assert len(subset) == res["spectra"]
    rendered = render_heldout(linear.card, subset)
    direct = score(np.clip(rendered.rgb.astype("float32") @ w.T.astype("float32"), 0, 1), rendered)
    assert lin["overall"]["mrae"] == pytest.approx(direct["overall"]["mrae"], rel=1e-4)
    # a root-polynomial fitted on the training library, scored like the models
    rgb_t, spec_t = training_pairs(linear.card, "real-natural")
    assert rgb_t.shape[1] == 3 and spec_t.shape[1] == 31 and spec_t.shape[0] == rgb_t.shape[0]
    rp = next(r for r in res["rows"] if r["method"] == "root-poly-3" and not r["physical"])
    assert rp["overall"]["mrae_aligned"] < 0.5
    assert rp["brightness"]["0.9"] == pytest.approx(0.0, abs=0.02)   # exposure-invariant fit



def test_training_pairs_follow_the_recipe_data_options() -> None:
    from specrecon.datasets._spectra_library import measured_reflectances
    from specrecon.validation.protocol import _training_pairs

    w = np.zeros((31, 3))
    data = {"kind": "synthetic-natural", "n_train": 2, "seed": 0,
            "illuminant": ["daylight", "daylight", "A"],
            "options": {"derived_spectra": 5, "exclude_sources": ["pmc"]}}
    card = _pixelwise_model(w, {"recipe": {"data": data}}).card
    rgb, spectra = _training_pairs(card, "real-natural")
    lib = measured_reflectances(tuple(WL31.tolist()), (10.0,) * 31)
    n_refl = sum(not n.startswith("pmc:") for n in lib.names) + 2 * 5
    assert spectra.shape == (3 * n_refl, 31) and rgb.shape == (3 * n_refl, 3)
    # the two daylight entries are two different daylights (cold, then warm), the third is A
    blocks = spectra.reshape(3, n_refl, 31)
    ratio = blocks[:, 0, :] / np.maximum(blocks[:, 0, :].max(axis=1, keepdims=True), 1e-9)
    assert not np.allclose(ratio[0], ratio[1])
    assert ratio[0][0] / ratio[0][-1] > ratio[1][0] / ratio[1][-1]   # cold: more blue
