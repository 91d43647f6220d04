"""Weights: safetensors + model card round trip, integrity, card checks, no unpickling."""

from __future__ import annotations

import hashlib
import json
import pickle
import zipfile
from pathlib import Path

import pytest
import torch

from specrecon.errors import (
    ModelCardError,
    UnknownModelError,
    UnsafeWeightsError,
    WeightsIntegrityError,
)
from specrecon.models import (
    DEFAULT_MODEL,
    ModelCard,
    create_model,
    list_pretrained,
    load_model,
    save_model,
)

WL31 = [400.0 + 10 * i for i in range(31)]


def _saved(tmp_path: Path, name: str = "hydra-tiny-31") -> tuple[torch.nn.Module, Path]:
    model = create_model(name).eval()
    bands = model.bands
    wl = WL31 if bands == 31 else [400.0 + 3 * i for i in range(bands)]
    card = ModelCard.from_model(model, wavelengths=wl, fwhm=[10.0] * bands, tile_size=64,
                                tile_overlap=16, input_sensor="test-rgb",
                                training={"steps": 0}, metrics={"mrae": 1.0})
    path = tmp_path / f"{name}.safetensors"
    save_model(model, path, card)
    return model, path


@pytest.mark.parametrize("name", ["hydra-tiny-31", "hydra-tiny-202", "mst-plus-plus-tiny-31"])
def test_round_trip_identical_outputs(tmp_path: Path, name: str) -> None:
    model, path = _saved(tmp_path, name)
    card_path = path.with_suffix(".json")
    assert path.is_file() and card_path.is_file()
    loaded = load_model(path)
    assert type(loaded) is type(model) and loaded.config == model.config
    assert loaded.card is not None and len(loaded.card.sha256) == 64
    assert loaded.card.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.card.name == name and loaded.name == name
    assert loaded.card == ModelCard.from_json(card_path)
    assert not loaded.training
    rgb = torch.rand(1, 3, 20, 24)
    with torch.no_grad():
        assert torch.equal(model(rgb), loaded(rgb))
    # the card's JSON path works too, and a pinned hash is accepted
    assert load_model(card_path, sha256=loaded.card.sha256).card.sha256 == loaded.card.sha256


def test_load_dtype(tmp_path: Path) -> None:
    _, path = _saved(tmp_path)
    m = load_model(path, dtype="float64")
    assert next(m.parameters()).dtype == torch.float64


def test_flipped_bytes_rejected(tmp_path: Path) -> None:
    _, path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # inside the tensor data
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsIntegrityError, match="sha256"):
        load_model(path)


def test_pinned_hash_mismatch_rejected(tmp_path: Path) -> None:
    _, path = _saved(tmp_path)
    with pytest.raises(WeightsIntegrityError):
        load_model(path, sha256="0" * 64)


def test_card_that_does_not_match_tensors(tmp_path: Path) -> None:
    _, path = _saved(tmp_path)
    card_path = path.with_suffix(".json")
    card = json.loads(card_path.read_text())
    card["config"]["latent"] = 5  # tensors were saved with latent 6
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelCardError, match="shape"):
        load_model(path)


def test_card_band_mismatches(tmp_path: Path) -> None:
    _, path = _saved(tmp_path)
    card_path = path.with_suffix(".json")
    original = json.loads(card_path.read_text())
    bad = dict(original, wavelengths=original["wavelengths"][:-1])
    card_path.write_text(json.dumps(bad))
    with pytest.raises(ModelCardError, match="wavelengths"):
        load_model(path)
    bad = dict(original, bands=30)
    card_path.write_text(json.dumps(bad))
    with pytest.raises(ModelCardError, match="bands"):
        load_model(path)
    bad = dict(original, unexpected_field=1)
    card_path.write_text(json.dumps(bad))
    with pytest.raises(ModelCardError, match="unexpected_field"):
        load_model(path)
    card_path.unlink()
    with pytest.raises(ModelCardError):
        load_model(path)


def test_save_rejects_card_of_another_model(tmp_path: Path) -> None:
    model = create_model("hydra-tiny-31")
    other = create_model("hydra-tiny-31", latent=4)
    card = ModelCard.from_model(other, wavelengths=WL31)
    with pytest.raises(ModelCardError):
        save_model(model, tmp_path / "m.safetensors", card)
    with pytest.raises(UnsafeWeightsError):
        save_model(model, tmp_path / "m.pt", ModelCard.from_model(model, wavelengths=WL31))


class _Boom:
    """Unpickling this creates the marker file: proof that something unpickled it."""

    marker = ""

    def __reduce__(self) -> tuple:
        return (Path.touch, (Path(self.marker),))


@pytest.mark.parametrize("suffix", [".safetensors", ".pt", ".pkl", ".ckpt", ".bin", ".pth"])
def test_pickle_is_never_unpickled(tmp_path: Path, suffix: str) -> None:
    marker = tmp_path / "unpickled.txt"
    boom = _Boom()
    boom.marker = str(marker)
    path = tmp_path / f"evil{suffix}"
    path.write_bytes(pickle.dumps(boom, protocol=4))
    # sanity: the payload really does create the marker when unpickled
    probe = tmp_path / "probe.txt"
    boom.marker = str(probe)
    pickle.loads(pickle.dumps(boom, protocol=4))
    assert probe.exists()
    # even a card carrying the file's true hash does not make it loadable
    _, good = _saved(tmp_path)
    card = json.loads(good.with_suffix(".json").read_text())
    card["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(UnsafeWeightsError):
        load_model(path)
    assert not marker.exists()


def test_zip_checkpoint_rejected(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    with pytest.raises(UnsafeWeightsError, match="pickle"):
        load_model(path)


def test_unknown_name_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError, match="shipped"):
        load_model("no-such-model")
    with pytest.raises(UnknownModelError):
        load_model(tmp_path / "missing.safetensors")


def test_module_passthrough_and_pretrained_listing() -> None:
    model = create_model("hydra-tiny-31")
    assert load_model(model) is model
    assert isinstance(list_pretrained(), list)
    assert DEFAULT_MODEL == "hydra-satellite-202"


def test_card_validation_and_json_round_trip() -> None:
    model = create_model("hydra-tiny-31")
    card = ModelCard.from_model(model, wavelengths=WL31)
    again = ModelCard.from_json(card.to_json())
    assert again == card
    with pytest.raises(ModelCardError, match="increasing"):
        ModelCard.from_model(model, wavelengths=WL31[::-1])
    with pytest.raises(ModelCardError, match="tile_overlap"):
        ModelCard.from_model(model, wavelengths=WL31, tile_size=32, tile_overlap=32)
    with pytest.raises(ModelCardError, match="architecture"):
        ModelCard.from_model(model, wavelengths=WL31, architecture="resnet")
    with pytest.raises(ModelCardError, match="sha256"):
        ModelCard.from_model(model, wavelengths=WL31, sha256="abc")


def test_card_accepts_a_range_of_wavelengths() -> None:
    from specrecon.models import ModelCard, create_model

    card = ModelCard.from_model(create_model("hydra-tiny-31"), wavelengths=range(400, 701, 10))
    assert card.wavelengths[0] == 400.0 and card.wavelengths[-1] == 700.0
    assert len(card.wavelengths) == 31


def test_weights_file_does_not_depend_on_metadata_order(tmp_path: Path) -> None:
    # safetensors writes its metadata map in hash order (it changes between processes), so
    # identical tensors gave files with different sha256; save_model sorts it
    import struct

    from specrecon.models.weights import _sort_metadata

    _, path = _saved(tmp_path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert list(header["__metadata__"]) == sorted(header["__metadata__"])
    meta = header.pop("__metadata__")
    swapped = {"__metadata__": dict(reversed(list(meta.items())))} | header
    text = json.dumps(swapped, separators=(",", ":")).encode()
    other = tmp_path / "other.safetensors"
    other.write_bytes(raw[:8] + text + b" " * (n - len(text)) + raw[8 + n:])
    assert other.read_bytes() != raw
    _sort_metadata(other)
    assert other.read_bytes() == raw
    assert hashlib.sha256(other.read_bytes()).hexdigest() == load_model(path).card.sha256
