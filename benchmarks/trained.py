"""A quickly trained CSUM-MSVA and its scores, for studies of the trained score distribution.

Trains ``tvsum_msva:synthetic,quick`` on a *validation* draw of the synthetic data (seed 1,
not the seed-0 data the README reports), restores the trained model from its checkpoint and
scores the test videos of the trained folds.
"""

from __future__ import annotations

import tempfile

from csum.data.records import Video
from csum.data.splits import default_split_file, load_splits
from csum.model.summarizer import ModelSpec, build_summarizer
from csum.summarization.data import load_dataset
from csum.summarization.experiment import run_experiment
from csum.training.checkpoint import Checkpointer
from csum.training.optim import OptimizerSpec, make_optimizer_for
from csum.training.predict import predict_scores
from experiments.config_loader import apply_overrides, load_config


def train_and_score(
    overrides: dict[str, str] | None = None, epochs: int = 6, folds: tuple[int, ...] = (0,)
) -> tuple[dict, list[Video], dict]:
    """Trains the quick config and scores the test videos of ``folds``.

    Args:
        overrides: extra ``--config.*`` overrides (strings, as on the command line).
        epochs: training epochs.
        folds: folds to train; the test videos of each are scored by that fold's model.

    Returns:
        (results.json's dict, the test videos, ``{video key: [n_steps] scores}``).
    """
    with tempfile.TemporaryDirectory() as workdir:
        config = load_config("tvsum_msva:synthetic,quick")
        apply_overrides(
            config,
            {
                "workdir": workdir,
                "data.synthetic_seed": "1",
                "train.epochs": str(epochs),
                "data.folds": f"({','.join(map(str, folds))},)",
                "train.progress": "false",
                **(overrides or {}),
            },
        )
        results = run_experiment(config)
        dataset = load_dataset(config)
        splits = load_splits(default_split_file("tvsum"), set(dataset))
        videos, scores = [], {}
        for f in folds:
            test = [dataset[k] for k in splits[f]["test_keys"]]
            model = build_summarizer(
                ModelSpec.from_config(config), test[0].dims, seed=config.seed + f
            )
            optimizer = make_optimizer_for(OptimizerSpec.from_config(config), model)
            Checkpointer(f"{workdir}/fold_{f}/checkpoints").restore(model, optimizer)
            scores.update(predict_scores(model.backbone, test, 8, [64 * i for i in range(1, 40)]))
            videos += test
    return results, videos, scores
