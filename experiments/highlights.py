"""Highlight detection on YouTube-Highlights-layout data: unsupervised CSUM against labels.

    python -m experiments.highlights [--labels=L.json --video-dir=V [--audio-dir=A]
        --splits=S.json] [--backbone=msva] [--regimes=csum,finetuned,scratch,supervised]
        [--epochs=20] [--finetune-epochs=50] [--sigma=1] [--out=DIR] [--quick]
        [--config.a.b=V ...]

Without ``--labels`` the built-in synthetic data set is used (``csum.highlights.synthetic``,
six domains). One model per regime is trained on the training videos of every domain (CSUM section
4.3): ``csum`` without labels (the summarization objective; highlight labels are never
read), ``finetuned``: that model then trained with UMT's saliency loss (binary
cross-entropy on the clip labels; Adam, lr 1e-3, weight decay 1e-4, batch 4,
``--finetune-epochs``), ``scratch``: the same loss from a fresh model, and ``supervised``:
the backbone's own summarization loss on the labels.
Each domain's validation videos are then scored: clip AP with UMT's protocol
(``csum.highlights.metrics.trapezoid_ap``), mean over the domain's videos, beside random
scores (20 draws a video). Highlight segments (``csum.highlights.extract``: Gaussian
smoothing with ``--sigma`` clips, threshold Theta) are written per video in the
QVHighlights submission format (``predictions_{regime}.jsonl``: ``qid`` = ``vid`` = the
video id, ``pred_relevant_windows`` in seconds of 2-second clips, ``pred_saliency_scores``);
Theta is chosen on a held-out fifth of the training videos, never on the validation
videos. Writes ``DIR/highlights.{json,md}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from experiments.cli import make_parser, run_command

REGIMES = ("csum", "finetuned", "scratch", "supervised")
"""Rows: ``csum`` (no labels), ``finetuned`` (``csum``'s model, then UMT's saliency loss),
``scratch`` (the saliency loss from a fresh model), ``supervised`` (the backbone's own
loss on the highlight labels)."""
FINETUNE = {"train.lr": "0.001", "train.weight_decay": "0.0001", "train.batch_size": "4"}
"""UMT's fine-tuning optimiser: Adam, lr 1e-3, weight decay 1e-4, batch 4."""
CLIP_SECONDS = 2.0


def build_parser():
    parser = make_parser("python -m experiments.highlights", __doc__)
    parser.add_argument("--labels", default="", help="UMT label JSON (default: synthetic data)")
    parser.add_argument("--video-dir", default="", help="folder of {vid}_rgb.npy [+ _opt.npy]")
    parser.add_argument("--audio-dir", default="", help="folder of {vid}.npy audio features")
    parser.add_argument("--splits", default="", help="{domain: {train: [...], val: [...]}} JSON")
    parser.add_argument("--backbone", default="msva", help="a registered backbone")
    parser.add_argument("--regimes", default="csum,finetuned,scratch",
                        help="csum, finetuned, scratch, supervised")  # fmt: skip
    parser.add_argument("--epochs", type=int, default=20, help="contrastive (or supervised) epochs")
    parser.add_argument("--finetune-epochs", type=int, default=50,
                        help="epochs of the saliency loss (finetuned, scratch)")  # fmt: skip
    parser.add_argument("--sigma", type=float, default=1.0, help="Gaussian width in clips")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--quick", action="store_true", help="small synthetic data, 6 epochs")
    parser.add_argument("--out", default="runs/highlights", help="output directory")
    return parser


def load_data(args):
    """(videos {vid: HighlightVideo}, splits) from the user's files or the synthetic set."""
    from csum.data.errors import DataError
    from csum.highlights.data import read_umt
    from csum.highlights.synthetic import ensure_highlights

    if args.labels:
        if not (args.video_dir and args.splits):
            raise DataError(args.labels, "--labels needs --video-dir and --splits")
        paths = {"labels": Path(args.labels), "video_dir": Path(args.video_dir),
                 "audio_dir": Path(args.audio_dir) if args.audio_dir else None,
                 "splits": Path(args.splits)}  # fmt: skip
    else:
        small = {"videos_per_domain": 10, "max_clips": 80} if args.quick else {}
        paths = ensure_highlights("~/.cache/csum", seed=0, **small)
    if not paths["splits"].is_file():
        raise DataError(paths["splits"], "splits file not found")
    splits = json.loads(paths["splits"].read_text())
    wanted = [k for s in splits.values() for part in ("train", "val") for k in s.get(part, [])]
    videos = read_umt(paths["labels"], paths["video_dir"], paths["audio_dir"], videos=wanted)
    return videos, splits


def train_regime(regime: str, args, overrides, train, workdir: Path, model=None):
    """A model trained by ``regime`` on ``train`` (summarization Videos).

    ``csum`` and ``supervised`` train for ``--epochs``; ``saliency`` for
    ``--finetune-epochs`` with UMT's optimiser (``FINETUNE``), from ``model`` when given
    (fine-tuning) or from a fresh one (from scratch).
    """
    from csum.data.batching import default_buckets
    from csum.model import build_summarizer
    from csum.train import make_train_step, train_fold
    from experiments.config_loader import apply_overrides
    from experiments.configs.common import make

    saliency = regime == "saliency"
    config = make("tvsum", args.backbone, None, regime=regime)
    epochs = args.finetune_epochs if saliency else args.epochs
    apply_overrides(config, {"train.epochs": str(epochs), "seed": str(args.seed),
                             "data.feature_keys": "('features',)", "workdir": str(workdir),
                             **(FINETUNE if saliency else {}), **overrides})  # fmt: skip
    buckets = default_buckets(max(v.n_steps for v in train))
    if model is None:
        model = build_summarizer(config, train[0].dims, seed=config.seed)
    train_fold(config, model, train, 0, workdir, make_train_step(config), buckets)
    return model, buckets


def windows_in_seconds(spans, values) -> list[list[float]]:
    return [[float(a * CLIP_SECONDS), float(b * CLIP_SECONDS), round(float(v), 4)]
            for (a, b), v in zip(spans, values, strict=True)]  # fmt: skip


def evaluate_regime(model, buckets, videos, splits, holdout, sigma, rng, out: Path, regime):
    from csum.highlights.extract import choose_theta, segments
    from csum.highlights.metrics import trapezoid_ap
    from csum.predict import predict_scores

    def scores_of(vs):
        return predict_scores(model.backbone, [v.as_video() for v in vs], 8, buckets)

    held = scores_of(holdout)
    theta = choose_theta([held[v.key] for v in holdout], [v.highlights for v in holdout], sigma)
    per_domain, random_ap, rows = {}, {}, []
    for domain, split in splits.items():
        val = [videos[k] for k in split["val"]]
        scores = scores_of(val)
        per_domain[domain] = float(np.mean([trapezoid_ap(v.highlights, scores[v.key])
                                            for v in val]))  # fmt: skip
        random_ap[domain] = float(np.mean([
            np.mean([trapezoid_ap(v.highlights, rng.random(v.n_clips)) for _ in range(20)])
            for v in val]))  # fmt: skip
        for v in val:
            spans, values = segments(scores[v.key], theta, sigma)
            saliency = [round(float(x), 5) for x in scores[v.key]]
            rows.append({"qid": v.key, "vid": v.key, "domain": domain,
                         "pred_relevant_windows": windows_in_seconds(spans, values),
                         "pred_saliency_scores": saliency})  # fmt: skip
    with open(out / f"predictions_{regime}.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return per_domain, random_ap, theta


def markdown(result: dict) -> str:
    domains = list(result["random"])
    head = "| row | " + " | ".join(domains) + " | Avg |"
    lines = [f"Highlight detection, clip AP % (UMT's protocol), validation videos "
             f"({result['data']}; backbone {result['backbone']}, {result['epochs']} epochs)", "",
             head, "|" + "---|" * (len(domains) + 2)]  # fmt: skip
    rows = {"random": result["random"]}
    rows.update({f"{r} ({result['backbone']})": result["regimes"][r]["ap"]
                 for r in result["regimes"]})  # fmt: skip
    for name, ap in rows.items():
        values = [100 * ap[d] for d in domains]
        lines.append(f"| {name} | " + " | ".join(f"{v:.1f}" for v in values)
                     + f" | {np.mean(values):.1f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    def body(args, overrides) -> int:
        from experiments.config_loader import ConfigError

        regimes = [r for r in args.regimes.split(",") if r]
        if not regimes or set(regimes) - set(REGIMES):
            raise ConfigError(f"--regimes={args.regimes!r}: expected names from "
                              f"{', '.join(REGIMES)}")  # fmt: skip
        if args.epochs < 1 or args.finetune_epochs < 1 or args.sigma < 0:
            raise ConfigError("--epochs and --finetune-epochs must be >= 1, --sigma >= 0")
        import backbones

        backbones.BACKBONES.get(args.backbone)
        if args.quick:
            args.epochs, args.finetune_epochs = min(args.epochs, 6), min(args.finetune_epochs, 10)
        videos, splits = load_data(args)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        train_keys = [k for s in splits.values() for k in s["train"]]
        rng = np.random.default_rng(args.seed)
        order = rng.permutation(len(train_keys))
        n_hold = max(1, len(train_keys) // 5)
        holdout = [videos[train_keys[i]] for i in order[:n_hold]]
        train = [videos[train_keys[i]].as_video() for i in order[n_hold:]]
        result = {"data": "user files" if args.labels else "synthetic", "backbone": args.backbone,
                  "epochs": args.epochs, "regimes": {}}  # fmt: skip
        pretrained = None
        for regime in sorted(regimes, key=REGIMES.index):  # csum before finetuned
            if regime == "finetuned":
                if pretrained is None:
                    pretrained, _ = train_regime("csum", args, overrides, train, out / "csum")
                model, buckets = train_regime("saliency", args, overrides, train,
                                              out / regime, model=pretrained)  # fmt: skip
            elif regime == "scratch":
                model, buckets = train_regime("saliency", args, overrides, train, out / regime)
            else:
                model, buckets = train_regime(regime, args, overrides, train, out / regime)
                if regime == "csum":
                    pretrained = model
            ap, random_ap, theta = evaluate_regime(model, buckets, videos, splits, holdout,
                                                   args.sigma, np.random.default_rng(1), out,
                                                   regime)  # fmt: skip
            result["regimes"][regime] = {"ap": ap, "theta": theta}
            result["random"] = random_ap
        (out / "highlights.json").write_text(json.dumps(result, indent=2) + "\n")
        text = markdown(result)
        (out / "highlights.md").write_text(text)
        print(text, end="")
        return 0

    return run_command(build_parser(), argv, body)


if __name__ == "__main__":
    sys.exit(main())
