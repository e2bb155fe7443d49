"""What labels buy: held-out quality of a config against its labelled training videos.

    python -m experiments.label_curve [--config=tvsum_msva:stock,small] [--labels=0,1,2,4,8,16,all]
        [--label-seeds=0,1,2] [--folds=0,1,2,3,4] [--out=runs] [--quick] [--config.a.b=V ...]
    python -m experiments.label_curve --config=youtube_dog:synthetic[,audio] [--domains=...]
    python -m experiments.label_curve --config=tvsum_highlights_bk:synthetic --domains=all

A summarization config (CSUM regime) gives the F1/rho curve below; a highlight config
(``youtube_*``, ``tvsum_highlights_*``) gives the clip-metric curve of
``csum.highlights.label_curve`` on its domain, or pooled over ``--domains`` (``all``: every
domain of the source, e.g. TVSum's 10 categories), over label seeds instead of folds.

For every fold and label seed, the fold's training videos are all available without labels
(the collection contrast and CSUM pre-training see them all); the first n of a seeded
permutation of them are labelled (nested in n). Rows (``csum.summarization.label_curve``, reported
by ``csum.metrics.label_curves``): ``random``, ``contrast`` (the training-free collection contrast)
and ``csum`` (no labels) at 0 labels; ``supervised`` (from random weights) and ``finetuned`` (the
fold's CSUM model, then the same supervised loss) at each n, every labelled run taking the optimizer
steps of the all-labels run. Each point: mean and 95 % Student-t interval over folds and label
seeds.

Writes ``label_curve_<config>.{md,json,png}`` under ``--out`` (the plot: labelled videos on
a log axis, one line per method, intervals shaded) and its runs under
``label_curve_<config>/``; rerunning resumes them. ``--quick``: labels 0,1,4,all, label
seeds 0,1, fold 0, 6 epochs unless given (highlights: and 10 epochs of the saliency loss).
``--combine=A.json,...``: an overview table and figure of curves already written.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from experiments.cli import make_parser, run_command, write_report
from experiments.config_loader import ConfigError
from experiments.run import prepare
from experiments.study import parse_seeds

QUICK = {
    "labels": "0,1,4,all",
    "label_seeds": "0,1",
    "folds": "0",
    "epochs": "6",
    "finetune_epochs": "10",
}
FULL = {"labels": "0,1,2,4,8,16,all", "label_seeds": "0,1,2", "folds": "0,1,2,3,4"}


def build_parser():
    parser = make_parser("python -m experiments.label_curve", __doc__, "configs")
    parser.add_argument(
        "--config",
        default="tvsum_msva:stock,small",
        metavar="NAME[:ARG,...]",
        help="a CSUM summarization config",
    )
    parser.add_argument(
        "--labels",
        metavar="0,1,...,all",
        help=f"labelled training videos per point (default: {FULL['labels']}; "
        f"--quick: {QUICK['labels']})",
    )
    parser.add_argument(
        "--label-seeds",
        metavar="0,1,2",
        help=f"seeds of which videos are labelled (default: "
        f"{FULL['label_seeds']}; --quick: {QUICK['label_seeds']})",
    )
    parser.add_argument(
        "--folds", metavar="0,1,2,3,4", help=f"default: {FULL['folds']}; --quick: {QUICK['folds']}"
    )
    parser.add_argument(
        "--domains",
        metavar="A,B,...|all",
        help="highlight configs: the domains pooled in one curve (default: "
        "the config's own; all: every domain of its source)",
    )
    parser.add_argument(
        "--combine",
        metavar="FILE.json,...",
        help="instead of measuring: one overview table and figure of curves "
        "already written (their .json files), as label_curves.{md,png} "
        "under --out",
    )
    parser.add_argument(
        "--out", default="runs", metavar="DIR", help="where the table, the plot and the runs go"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the defaults of a quick curve (labels 0,1,4,all, label seeds "
        "0,1, fold 0, 6 epochs; highlights: 10 of the saliency loss); "
        "explicit options still apply",
    )
    return parser


def parse_labels(text: str) -> list[int | str]:
    """``"0,1,4,all"`` -> [0, 1, 4, "all"]; anything else is one ConfigError line."""
    out: list[int | str] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if part == "all":
            out.append(part)
        elif part.isdigit():
            out.append(int(part))
        else:
            raise ConfigError(f"--labels={text!r}: expected counts >= 0 and 'all', e.g. 0,1,4,all")
    if not out:
        raise ConfigError(f"--labels={text!r}: expected counts >= 0 and 'all', e.g. 0,1,4,all")
    return out


def main(argv: list[str] | None = None) -> int:
    def body(args, overrides) -> int:
        from csum.summarization import label_curve

        if args.combine:
            return combine(args.combine.split(","), Path(args.out))

        defaults = QUICK if args.quick else FULL
        labels = parse_labels(args.labels or defaults["labels"])
        seeds = parse_seeds(args.label_seeds or defaults["label_seeds"])
        folds = parse_seeds(args.folds or defaults["folds"])
        if args.quick:
            overrides = {"train.epochs": QUICK["epochs"], **overrides}
        config = prepare(args.config, {"train.progress": "false", **overrides})
        if args.quick and config.task == "highlights":  # and 10 epochs of the saliency loss
            overrides = {"highlights.finetune.epochs": QUICK["finetune_epochs"], **overrides}
            config = prepare(args.config, {"train.progress": "false", **overrides})
        slug = re.sub(r"[^A-Za-z0-9]+", "_", config.name).strip("_")
        if config.task == "highlights":
            return highlight_curve(config, args, labels, seeds, slug)
        if args.domains:
            raise ConfigError(
                "--domains: only for highlight configs (youtube_*, tvsum_highlights_*)"
            )
        if config.task != "summarize" or config.train.regime != "csum":
            raise ConfigError(
                f"--config={args.config}: expected a CSUM summarization config "
                "(e.g. tvsum_msva:stock,small) or a highlight one, not a "
                "supervised or multimodal one"
            )
        if not config.backbone.contrast_input:
            raise ConfigError(
                "the label curve compares with the collection contrast: "
                "backbone.contrast_input must stay true"
            )
        if max(folds) > 4:
            raise ConfigError(f"--folds={','.join(map(str, folds))}: the splits have folds 0-4")
        stem = Path(args.out) / f"label_curve_{slug}"
        return report(stem, label_curve.run_curve(config, labels, seeds, folds, stem))

    return run_command(build_parser(), argv, body)


def highlight_curve(config, args, labels, seeds, slug: str) -> int:
    """The curve of a highlight config, pooled over ``--domains``."""
    from csum.highlights import label_curve

    if config.highlights.regime != "csum":
        raise ConfigError(
            f"--config={args.config}: the curve trains every regime itself; "
            "give the config without finetuned/scratch/supervised"
        )
    if args.folds:
        raise ConfigError(
            "--folds: a highlight domain has one split; the curve varies over "
            "--label-seeds (and --domains)"
        )
    known = label_curve.known_domains(config)
    if not args.domains:
        domains = [config.highlights.domain]
    else:
        domains = known if args.domains == "all" else [d.strip() for d in args.domains.split(",")]
    unknown = [d for d in domains if d not in known]
    if unknown or not domains:
        raise ConfigError(
            f"--domains={args.domains}: unknown domain(s) {unknown}; known: "
            f"{', '.join(known)} or all"
        )
    name = config.name
    if len(domains) > 1:  # youtube_dog:synthetic -> youtube_all:synthetic
        base, _, words = config.name.partition(":")
        which = "all" if args.domains == "all" else "_".join(domains)
        name = f"{base.rsplit('_', 1)[0]}_{which}:{words}"
        slug = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()
    stem = Path(args.out) / f"label_curve_{slug}"
    result = label_curve.run_curve(config, labels, seeds, domains, stem)
    return report(stem, {**result, "config": name})


def combine(files: list[str], out: Path) -> int:
    """``label_curves.{md,png}`` under ``out``: the overview of the curves in ``files``."""

    from csum.metrics import label_curves

    results = []
    for name in files:
        path = Path(name)
        try:
            results.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError) as e:
            raise ConfigError(f"--combine: {path}: not a label-curve json ({e})") from None
        if "table" not in results[-1] or "crossings" not in results[-1]:
            raise ConfigError(f"--combine: {path}: not a label-curve json (no table)")
    stem = out / "label_curves"
    (stem.parent).mkdir(parents=True, exist_ok=True)
    text = label_curves.overview(results)
    stem.with_suffix(".md").write_text(text + "\n")
    label_curves.plot_grid(results, stem.with_suffix(".png"))
    print(text)
    print(f"wrote {stem}.{{md,png}}")
    return 0


def report(stem: Path, result: dict) -> int:
    """Writes the curve's table, json and plot beside its runs."""
    from csum.metrics import label_curves

    write_report(stem, label_curves.markdown(result), result)
    label_curves.plot(result, stem.with_suffix(".png"))
    print(f"wrote {stem}.{{md,json,png}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
