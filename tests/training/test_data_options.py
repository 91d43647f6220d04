"""Config-level training-data options: generator options and training across patch sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from specrecon.errors import ConfigError
from specrecon.training import TrainConfig
from specrecon.training.data import MultiSizeSource, batch_source, load_data


def test_options_and_patch_sizes_round_trip(tmp_path):
    cfg = TrainConfig.from_dict({
        "data": {"kind": "synthetic-natural", "options": {"derived_spectra": 50}},
        "refine": {"patch_size": 128, "patch_sizes": [64, 128, 192]}})
    assert cfg.data.options == {"derived_spectra": 50}
    assert cfg.refine.patch_sizes == [64, 128, 192] and cfg.student.patch_sizes == []
    again = TrainConfig.from_file(cfg.to_file(tmp_path / "c.yaml"))
    assert again.to_dict() == cfg.to_dict()
    over = cfg.with_overrides(["refine.patch_sizes=[32, 48]"])
    assert over.refine.patch_sizes == [32, 48]


def test_bad_options_and_patch_sizes_are_refused():
    with pytest.raises(ConfigError, match="patch_sizes"):
        TrainConfig.from_dict({"student": {"patch_sizes": [64, 0]}})
    with pytest.raises(ConfigError, match="only for synthetic"):
        TrainConfig.from_dict({"data": {"kind": "arad1k", "root": "/x",
                                        "options": {"derived_spectra": 3}}})
    with pytest.raises(ConfigError, match="mapping"):
        TrainConfig.from_dict({"data": {"options": [1, 2]}})


def test_load_data_passes_options_to_train_and_validation():
    cfg = TrainConfig.from_dict({"data": {"kind": "synthetic-natural", "n_train": 2, "n_val": 1,
                                          "size": 16, "illuminant": ["daylight"],
                                          "options": {"derived_spectra": 20}}})
    train, val = load_data(cfg.data)
    for scene in [*train, *val]:
        assert "derived" in scene.cube.attrs["source"]
        assert scene.cube.attrs["illuminant"].startswith("daylight")
    bad = TrainConfig.from_dict({"data": {"n_train": 1, "n_val": 0, "size": 16,
                                          "options": {"no_such_option": 1}}})
    with pytest.raises(ConfigError, match="no_such_option"):
        load_data(bad.data)


def _pairs():
    rng = np.random.default_rng(0)
    cube = rng.random((31, 64, 64), dtype=np.float32)
    return [(cube[[25, 15, 5]], cube)]


def test_multi_size_batches_are_a_pure_function_of_the_step():
    kw = {"stage": "refine", "batch_size": 4, "patch_size": 32, "patch_sizes": [16, 32, 64],
          "seed": 3}
    a = batch_source(_pairs(), **kw)
    b = batch_source(_pairs(), **kw)
    assert isinstance(a, MultiSizeSource)
    sides = [a.size(s) for s in range(60)]
    assert set(sides) == {16, 32, 64}
    for step in (0, 7, 31, 59):           # a fresh source (a resumed run) draws the same batch
        for x, y in zip(a.batch(step), b.batch(step)):
            assert torch.equal(x, y)
    for step in range(12):
        rgb, cube = a.batch(step)
        side = a.size(step)
        assert rgb.shape[-2:] == (side, side) and cube.shape[-2:] == (side, side)
        # about the pixels of batch_size patches of patch_size per step
        assert rgb.shape[0] == {16: 16, 32: 4, 64: 1}[side]


def test_teacher_ignores_patch_sizes():
    src = batch_source(_pairs(), stage="teacher", batch_size=2, patch_size=8,
                       patch_sizes=[16, 32], seed=0)
    assert not isinstance(src, MultiSizeSource)
    assert tuple(src.batch(0).shape) == (128, 31)


class _Interrupt(Exception):
    pass


def test_multi_size_run_resumes_exactly(tmp_path, scenes, val_scenes):
    """Checkpoint + resume with patch_sizes ends with the weights of an uninterrupted run."""
    from specrecon.models import create_model
    from specrecon.training import train_hydra

    cfg = TrainConfig.from_dict({
        "model": "hydra-tiny-31", "progress": False, "device": "cpu", "seed": 5,
        "log_every": 1, "eval_every": 0, "checkpoint_every": 2,
        "data": {"patches_per_item": 2},
        "teacher": {"steps": 2, "patch_size": 8, "batch_size": 2},
        "student": {"steps": 5, "patch_size": 16, "batch_size": 2, "patch_sizes": [8, 16, 24]},
        "refine": {"steps": 3, "patch_size": 16, "batch_size": 2, "patch_sizes": [16, 24]}})
    torch.manual_seed(0)
    ref = train_hydra(create_model("hydra-tiny-31"), scenes, val_scenes, cfg,
                      out_dir=tmp_path / "ref")

    def stop(rec):
        if rec["stage"] == "student" and rec["step"] == 3 and rec["kind"] == "train":
            raise _Interrupt

    torch.manual_seed(0)
    with pytest.raises(_Interrupt):
        train_hydra(create_model("hydra-tiny-31"), scenes, val_scenes, cfg,
                    out_dir=tmp_path / "cut", callback=stop)
    torch.manual_seed(99)
    resumed = train_hydra(create_model("hydra-tiny-31"), scenes, val_scenes, cfg,
                          out_dir=tmp_path / "cut", resume=True)
    a, b = ref.model.state_dict(), resumed.model.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k
