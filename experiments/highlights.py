"""Highlights of your own videos' features, without labels: segments and clip scores.

    python -m experiments.highlights --features=DIR [--audio-dir=DIR] [--model=RUN]
        [--backbone=transformer] [--epochs=20] [--ratio=0.15] [--theta=T] [--sigma=1]
        [--out=DIR] [--config.a.b=V ...]

``--features``: a folder of per-video clip features in UMT's layout (``{vid}_rgb.npy``
[n_clips, D], optionally ``{vid}_opt.npy`` concatenated; ``--audio-dir``: ``{vid}.npy``
audio features, used by the transformer's audio stream). Clips are 2 seconds.

Without ``--model``, a model is first trained on the given videos themselves with CSUM's
contrastive objective (no labels; at least two videos: each video's summary is contrasted
with the others), in ``OUT/model``; rerunning resumes it. ``--model`` scores with a
trained model instead: a highlight run's phase folder (``runs/youtube_dog_finetuned/
finetuned``) or a summarization run (``runs/tvsum_msva_synthetic``), loaded with
``csum.load``; its feature size must match.

Highlights (``csum.highlights.extract``): clip scores smoothed by a Gaussian of ``--sigma``
clips; the segments above Theta. Without labels there is no holdout to choose Theta on,
so by default each video's Theta is the ``1 - ratio`` quantile of its smoothed scores
(about ``--ratio`` of the video in highlights); ``--theta`` sets one absolute Theta (e.g.
the one a labelled run chose, in its ``results_{regime}.json``).

Writes ``OUT/highlights.jsonl`` (QVHighlights submission format: ``qid`` = ``vid``,
``pred_relevant_windows`` [start s, end s, score], best first, and every clip's
``pred_saliency_scores``; ``experiments.evaluate`` reads it) and ``OUT/highlights.md``
(each video's top highlight: the top clip and its neighbours above Theta).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from experiments.cli import make_parser, run_command
from experiments.config_loader import ConfigError, apply_overrides
from experiments.configs.highlight_common import make_highlights
from experiments.validation import validate

CLIP_SECONDS = 2.0


def build_parser():
    parser = make_parser("python -m experiments.highlights", __doc__, "backbones")
    parser.add_argument(
        "--features",
        required=True,
        metavar="DIR",
        help="folder of {vid}_rgb.npy [+ {vid}_opt.npy] clip features",
    )
    parser.add_argument(
        "--audio-dir",
        default="",
        metavar="DIR",
        help="folder of {vid}.npy audio features (the audio stream)",
    )
    parser.add_argument(
        "--model",
        default="",
        metavar="RUN",
        help="a trained run's folder (default: train on these videos)",
    )
    parser.add_argument("--backbone", default="transformer", help="backbone to train")
    parser.add_argument("--epochs", type=int, default=20, help="contrastive epochs")
    parser.add_argument(
        "--ratio",
        type=float,
        default=0.15,
        help="share of each video in highlights (label-free Theta)",
    )
    parser.add_argument("--theta", type=float, default=None, help="one absolute Theta")
    parser.add_argument("--sigma", type=float, default=1.0, help="Gaussian width in clips")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--out", default="runs/highlights", metavar="DIR", help="output folder")
    return parser


def training_config(args, overrides, workdir: Path):
    """The unsupervised highlight config (``make_highlights``) for the user's videos."""

    words = [args.backbone] + (["audio"] if args.audio_dir else [])
    config = make_highlights("youtube", "user", ",".join(words))
    apply_overrides(
        config,
        {
            "train.epochs": str(args.epochs),
            "seed": str(args.seed),
            "workdir": str(workdir),
            **overrides,
        },
    )
    validate(config)
    return config


def main(argv: list[str] | None = None) -> int:
    def body(args, overrides) -> int:

        if args.epochs < 1 or args.sigma < 0 or not 0 < args.ratio < 1:
            raise ConfigError(
                f"--epochs={args.epochs} must be >= 1, --sigma={args.sigma} >= 0 "
                f"and --ratio={args.ratio} in (0, 1)"
            )
        import backbones

        backbones.BACKBONES.get(args.backbone)
        out = Path(args.out)
        config = None if args.model else training_config(args, overrides, out / "model")
        from csum.highlights.data import read_features

        videos = read_features(args.features, args.audio_dir or None)
        if args.model:
            audio = bool(args.audio_dir)
            model, items = load_model(
                args.model, [v.as_video(audio=audio) for v in videos.values()]
            )
        else:
            model, items = train(config, list(videos.values()))
        write_highlights(model, videos, items, args, out)
        return 0

    return run_command(build_parser(), argv, body)


def load_run(run: str):
    """``csum.load(run)`` for ``--model``: a ``csum.training.inference.Trained``, or one
    ``DataError`` line naming the run when it cannot be loaded."""
    import csum
    from csum.data.errors import DataError
    from csum.training.checkpoint import CheckpointError

    try:
        return csum.load(run)
    except CheckpointError as err:
        raise DataError(run, str(err).removeprefix(f"{run}: ")) from None


def load_model(run: str, items):
    """``csum.load(run)``, with the items checked against its ``model.json``.

    Returns:
        ``(model, items)``: the Summarizer, and the items as it takes them (with the
        collection contrast source when the run was trained with it, ``csum.model.contrast``).

    Raises:
        DataError: a run that cannot be loaded, or items it does not take (one line).
    """
    trained = load_run(run)
    return trained.model, trained.inputs(items)


def train(config, videos):
    """Trains CSUM on the user's videos (``HighlightVideo``); returns ``(model, items)``,
    the items as the model takes them (``csum.highlights.experiment.model_inputs``)."""
    from csum.data.errors import DataError
    from csum.highlights.experiment import model_inputs
    from csum.summarization.phases import train_phase

    if len(videos) < 2:
        raise DataError(
            config.workdir,
            "training without labels contrasts a video with the "
            "others: give at least 2 videos, or --model=RUN",
        )
    workdir = Path(config.workdir)
    audio = bool(config.highlights.audio)
    model, (items,) = model_inputs(
        config, [[v.as_video(audio=audio) for v in videos]], [workdir], audio=audio
    )
    return train_phase(config, "csum", items, workdir, model), items


def write_highlights(model, videos, items, args, out: Path) -> None:
    import numpy as np

    from csum.data.batching import default_buckets
    from csum.highlights.experiment import windows_in_seconds
    from csum.highlights.extract import budget_theta, segments, top_highlight
    from csum.training.predict import predict_scores

    scores = predict_scores(
        model.backbone, items, 8, default_buckets(max(v.n_steps for v in items))
    )
    out.mkdir(parents=True, exist_ok=True)
    rows, lines = (
        [],
        ["| video | clips | top highlight (s) | score | Theta |", "|---|---|---|---|---|"],
    )
    for vid, v in videos.items():
        s = scores[vid]
        theta = args.theta if args.theta is not None else budget_theta(s, args.ratio, args.sigma)
        spans, values = segments(s, theta, args.sigma)
        rows.append(
            {
                "qid": vid,
                "vid": vid,
                "pred_relevant_windows": windows_in_seconds(spans, values),
                "pred_saliency_scores": [float(x) for x in s],
            }
        )
        a, b = top_highlight(s, theta, args.sigma)
        lines.append(
            f"| {vid} | {v.n_clips} | {a * CLIP_SECONDS:.0f}-{b * CLIP_SECONDS:.0f} | "
            f"{float(np.mean(s[a:b])):.3f} | {theta:.3f} |"
        )
    with open(out / "highlights.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    (out / "highlights.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"highlights: {out / 'highlights.jsonl'}")


if __name__ == "__main__":
    sys.exit(main())
