"""Checkpoints by name: a nested mapping of named arrays that round-trips, converts the old
flat layout, refuses another model in one line, and rebuilds a run through ``csum.load``."""

import json

import numpy as np
import pytest

from experiments.config_loader import apply_overrides, load_config


def _model(seed=0):
    from csum.model.summarizer import ModelSpec, build_summarizer
    from csum.training.optim import OptimizerSpec, make_optimizer_for

    config = load_config("tvsum_vslstm:synthetic,quick")
    apply_overrides(config, {"data.feature_keys": "('features',)"})
    model = build_summarizer(ModelSpec.from_config(config), (16,), seed=seed)
    return config, model, make_optimizer_for(OptimizerSpec.from_config(config), model)


def _params(model):
    import jax
    from flax import nnx

    return [np.asarray(x) for x in jax.tree.leaves(nnx.state(model, nnx.Param).to_pure_dict())]


def test_checkpoint_is_a_named_mapping_and_round_trips(tmp_path):
    from csum.training.checkpoint import Checkpointer

    _, model, opt = _model(seed=0)
    ckpt = Checkpointer(tmp_path / "ckpt")
    ckpt.save(3, model, opt)
    ckpt.wait()
    stored = ckpt.read()
    assert set(stored) == {"params", "opt"}
    assert set(stored["params"]) == {"backbone", "projector"}
    kernel = stored["params"]["projector"]["kernel"]
    assert kernel.shape == (1, 16, 256)  # window x features x hidden, by name
    _, other, other_opt = _model(seed=1)
    assert not all(
        np.array_equal(a, b) for a, b in zip(_params(model), _params(other), strict=True)
    )
    assert ckpt.restore(other, other_opt) == 3
    assert all(np.array_equal(a, b) for a, b in zip(_params(model), _params(other), strict=True))
    ckpt.close()


def test_old_flat_checkpoint_is_converted(tmp_path):
    import jax
    import orbax.checkpoint as ocp

    from csum.training.checkpoint import Checkpointer, CheckpointError, _pure

    _, model, opt = _model(seed=0)
    leaves = [np.asarray(x) for x in jax.tree.leaves(_pure(model, opt))]
    manager = ocp.CheckpointManager((tmp_path / "old").absolute())
    manager.save(2, args=ocp.args.StandardSave({"leaves": leaves}))  # the format-1 layout
    manager.wait_until_finished()
    manager.close()
    ckpt = Checkpointer(tmp_path / "old")
    assert ckpt.layout(2) == 1
    with pytest.raises(CheckpointError, match="old flat checkpoint"):
        ckpt.read()
    _, other, other_opt = _model(seed=1)
    assert ckpt.restore(other, other_opt) == 2
    assert all(np.array_equal(a, b) for a, b in zip(_params(model), _params(other), strict=True))
    ckpt.close()


def test_checkpoint_of_another_model_is_one_line(tmp_path):
    from csum.model.summarizer import ModelSpec, build_summarizer
    from csum.training.checkpoint import Checkpointer, CheckpointError
    from csum.training.optim import OptimizerSpec, make_optimizer_for

    config, model, opt = _model()
    ckpt = Checkpointer(tmp_path / "ckpt")
    ckpt.save(1, model, opt)
    ckpt.wait()
    wider = build_summarizer(ModelSpec.from_config(config), (32,), seed=0)
    with pytest.raises(
        CheckpointError,
        match=r"params/backbone/.*/kernel has shape \(16, 1024\), the model \(32, 1024\)",
    ):
        ckpt.restore(wider, make_optimizer_for(OptimizerSpec.from_config(config), wider))
    ckpt.close()


def test_load_rebuilds_a_trained_model_from_its_workdir(tmp_path, synthetic_dir):
    import csum
    from csum.model.summarizer import ModelSpec, build_summarizer
    from csum.summarization.data import load_dataset
    from csum.summarization.experiment import run_experiment
    from csum.training.checkpoint import Checkpointer, CheckpointError
    from csum.training.optim import OptimizerSpec, make_optimizer_for

    config = load_config("tvsum_vasnet:synthetic,quick")
    apply_overrides(
        config,
        {
            "workdir": str(tmp_path / "run"),
            "train.progress": "false",
            "data.synthetic_dir": str(synthetic_dir),
            "train.epochs": "1",
        },
    )
    run_experiment(config)
    loaded = csum.load(tmp_path / "run").model
    # The trainer's own way back to the fold-0 model: its config, its data, its optimizer
    # (sizes: the data's sources plus the collection contrast, backbone.contrast_input).
    dims = (*next(iter(load_dataset(config).values())).dims, 1)
    fresh = build_summarizer(ModelSpec.from_config(config), dims, seed=config.seed)
    trained = build_summarizer(ModelSpec.from_config(config), dims, seed=config.seed)
    Checkpointer(tmp_path / "run" / "fold_0" / "checkpoints").restore(
        trained, make_optimizer_for(OptimizerSpec.from_config(config), trained)
    )
    pairs = list(zip(_params(loaded), _params(trained), strict=True))
    assert all(np.array_equal(a, b) for a, b in pairs)
    assert not all(
        np.array_equal(a, b) for a, b in zip(_params(fresh), _params(trained), strict=True)
    )
    # model.json holds the specs: the model is rebuilt without the config ...
    meta = json.loads((tmp_path / "run" / "model.json").read_text())
    assert ModelSpec.from_dict(meta["model"]) == ModelSpec.from_config(config)
    assert OptimizerSpec(**meta["optimizer"]) == OptimizerSpec.from_config(config)
    # ... and a run written before it held them is rebuilt from its config.json
    old = {k: meta[k] for k in ("in_dims", "backbone", "backbone_module")}
    (tmp_path / "run" / "model.json").write_text(json.dumps(old) + "\n")
    again = csum.load(tmp_path / "run")
    assert again.spec == ModelSpec.from_config(config)
    pairs = list(zip(_params(again.model), _params(trained), strict=True))
    assert all(np.array_equal(a, b) for a, b in pairs)
    with pytest.raises(CheckpointError, match="no config.json"):
        csum.load(tmp_path)
    with pytest.raises(CheckpointError, match="fold 3 has no checkpoint"):
        csum.load(tmp_path / "run", fold=3)
