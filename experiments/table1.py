"""The analogue of CSUM's Table 1: every backbone, trained by CSUM and by its own supervision.

    python -m experiments.table1 [--dataset=tvsum|summe] [--synthetic] [--family=stock]
        [--quick] [--seeds=0,1,2] [--data-seeds=0,1,2] [--backbones=vslstm,msva]
        [--regimes=csum,supervised] [--out=DIR]
        [--import=MODULE ...] [--config.a.b=V ...]

For each backbone and regime the config ``{dataset}_{backbone}[_supervised]`` is trained
and evaluated over its folds (5 by default; ``--quick``: 1 fold, 2 epochs, small videos)
for each seed, through ``experiments.run``'s machinery; ``--config.*`` overrides apply to
every run (e.g. ``--config.train.epochs=6``, ``--config.data.dir=DIR``). Without
``--synthetic`` the real eccv16 features are read from ``--config.data.dir``. Every run has
its own work directory under ``--out/table1_{dataset}/{config}/seed_S``, so an interrupted
table resumes where it stopped. Writes ``--out/table1_{dataset}.json`` and ``.md``: F1 %,
Kendall tau and Spearman rho as mean ± std over seeds, with the paper's F1 beside ours.
``--backbones`` may name a backbone registered by an ``--import``-ed module; its configs are
built from the same template. ``--family=stock`` trains on the synthetic data's "stock"
family (``csum.data.synthetic``; implies ``--synthetic``; files ``table1_{dataset}_stock``).
Where both regimes ran, each backbone's CSUM row also gives its share of the supervised
regime's margin over random scores, ``(csum - random) / (supervised - random)``, for F1
and rho. With the contrast input, every row also says what training adds to it: the
trained model minus the contrast alone on the same test videos, paired run by run, mean ±
std over the runs. ``--data-seeds`` repeats everything on other draws of the synthetic
generator (``data.synthetic_seed``; runs under ``data_D/seed_S``); means and spreads are
then over every (data seed, training seed) run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from experiments.cli import make_parser, run_command, write_report
from experiments.config_loader import ConfigError, known_configs
from experiments.configs.common import BACKBONE_NAMES
from experiments.study import check_jobs, mean_std, parse_seeds, run_config

REGIMES = ("csum", "supervised")
PAPER = {  # CSUM paper Table 1, F1 % on real features: {backbone: {regime: (TVSum, SumMe)}}
    "vslstm": {"csum": (59.0, 41.0), "supervised": (54.2, 37.6)},
    "dpplstm": {"csum": (60.5, 44.2), "supervised": (54.7, 38.6)},
    "vasnet": {"csum": (62.7, 52.1), "supervised": (61.4, 49.7)},
    "msva": {"csum": (63.9, 58.2), "supervised": (62.8, 54.4)},
}
"""The transformer is not in the paper's Table 1 (UMT appears in its Table 2 only)."""


def config_spec(
    dataset: str, backbone: str, regime: str, synthetic: bool, quick: bool, family: str = "category"
) -> str:
    """``{dataset}_{backbone}[_supervised][:synthetic|stock,quick]``."""
    name = f"{dataset}_{backbone}" + ("_supervised" if regime == "supervised" else "")
    data = "stock" if family == "stock" else "synthetic"
    arg = ",".join(w for w, on in ((data, synthetic), ("quick", quick)) if on)
    return f"{name}:{arg}" if arg else name


def stem_name(dataset: str, family: str) -> str:
    return f"table1_{dataset}" + ("_stock" if family == "stock" else "")


def run_table(
    dataset: str,
    backbones: list[str],
    regimes: list[str],
    seeds: list[int],
    synthetic: bool,
    quick: bool,
    out: Path,
    overrides: dict[str, str],
    family: str = "category",
    data_seeds: list[int] | None = None,
) -> dict:
    """Trains every (backbone, regime, data seed, seed); mean and std over the runs.

    ``data_seeds`` None: the configs' own data (one draw, runs under ``seed_S``).
    """

    known = set(known_configs())
    jobs, keys = [], []
    for backbone in backbones:
        for regime in regimes:
            spec = config_spec(dataset, backbone, regime, synthetic, quick, family)
            name = spec.partition(":")[0]
            extra = dict(overrides)
            if name not in known:  # a plugged-in backbone: msva's config, backbone renamed
                template = name.replace(f"_{backbone}", "_msva", 1)
                spec = spec.replace(name, template, 1)
                extra = {"backbone.name": backbone, **extra}
            for data_seed in data_seeds if data_seeds is not None else [None]:
                for seed in seeds:
                    folder = out / stem_name(dataset, family) / name
                    if data_seed is None:
                        workdir = folder / f"seed_{seed}"
                        job_extra = extra
                    else:
                        workdir = folder / f"data_{data_seed}" / f"seed_{seed}"
                        job_extra = {**extra, "data.synthetic_seed": str(data_seed)}
                    jobs.append((spec, seed, workdir, job_extra))
                    keys.append((backbone, regime, data_seed, seed))
    check_jobs(jobs)
    runs = []
    for (backbone, regime, data_seed, seed), job in zip(keys, jobs, strict=True):
        result = run_config(*job)
        result.pop("curve")
        runs.append(
            {"backbone": backbone, "regime": regime, "data_seed": data_seed, "seed": seed, **result}
        )
        print(
            f"table1 {dataset}: {backbone} {regime} data {data_seed} seed {seed}: F1 "
            f"{100 * result['f1']:.1f} tau {result['kendall_tau']:.3f}",
            flush=True,
        )
    summary = []
    for backbone in backbones:
        for regime in regimes:
            rows = [r for r in runs if (r["backbone"], r["regime"]) == (backbone, regime)]
            paper = PAPER.get(backbone, {}).get(regime)
            summary.append(
                {
                    "backbone": backbone,
                    "regime": regime,
                    **mean_std(rows),
                    "paper_f1": paper[0 if dataset == "tvsum" else 1] if paper else None,
                    **training_adds(rows),
                }
            )
    random = {m: float(np.mean([r["random"][m] for r in runs])) for m in ("f1", "spearman_rho")}
    for row in summary:  # CSUM's share of its backbone's supervised margin over random
        sup = [
            s for s in summary if (s["backbone"], s["regime"]) == (row["backbone"], "supervised")
        ]
        if row["regime"] == "csum" and sup:
            row["share_of_supervised"] = {
                m: (row[f"{m}_mean"] - random[m]) / (sup[0][f"{m}_mean"] - random[m])
                for m in ("f1", "spearman_rho")
            }
    oracle = None
    if all("oracle" in r for r in runs):
        oracle = {m: float(np.mean([r["oracle"][m] for r in runs])) for m in ("f1", "spearman_rho")}
    alone = [r["contrast"] for r in runs if "contrast" in r]  # the input alone, no model
    contrast = (
        {m: float(np.mean([a[m] for a in alone])) for m in ("f1", "spearman_rho")}
        if alone
        else None
    )
    if contrast:  # its spread over the runs of one regime (each run has the same row)
        first = [
            r["contrast"]
            for r in runs
            if r["regime"] == runs[0]["regime"] and r["backbone"] == runs[0]["backbone"]
        ]
        contrast.update(
            {f"{m}_std": float(np.std([a[m] for a in first])) for m in ("f1", "spearman_rho")}
        )
    data = ("stock" if family == "stock" else "synthetic") if synthetic else "real"
    return {
        "dataset": dataset,
        "data": data,
        "quick": quick,
        "data_seeds": data_seeds,
        "seeds": seeds,
        "overrides": overrides,
        "runs": runs,
        "summary": summary,
        "random_f1": random["f1"],
        "random_rho": random["spearman_rho"],
        "oracle": oracle,
        "contrast": contrast,
    }


def training_adds(rows: list[dict]) -> dict:
    """What training adds to its input: per run, the trained model's metric minus the
    contrast alone's on the same test videos; mean and std (ddof 0) over the runs.

    Returns:
        ``{"adds": {"f1_mean", "f1_std", "spearman_rho_mean", "spearman_rho_std"}}``, or
        ``{}`` when the runs had no contrast input.
    """
    if not rows or not all("contrast" in r for r in rows):
        return {}
    out = {}
    for m in ("f1", "spearman_rho"):
        d = [r[m] - r["contrast"][m] for r in rows]
        out[f"{m}_mean"], out[f"{m}_std"] = float(np.mean(d)), float(np.std(d))
    return {"adds": out}


def markdown(result: dict) -> str:
    """Rows: backbones; columns: each regime's F1 %, tau and rho (mean ± std), paper F1."""
    regimes = list(dict.fromkeys(s["regime"] for s in result["summary"]))
    adds = any("adds" in s for s in result["summary"])
    draws = result.get("data_seeds")
    head = ["backbone"]
    for regime in regimes:
        head += [f"{regime} F1 %", f"{regime} tau", f"{regime} rho", f"paper {regime} F1 %"]
    lines = [
        f"Table 1 analogue: {result['dataset']} ({result['data']} data"
        f"{', quick' if result['quick'] else ''}; seeds {result['seeds']}; overrides "
        f"{result['overrides'] or 'none'}"
        f"{'; generator seeds ' + str(draws) if draws else ''}"
        f"; fold means, then mean ± std over seeds)",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for backbone in dict.fromkeys(s["backbone"] for s in result["summary"]):
        cells = [backbone]
        for regime in regimes:
            s = next(
                x for x in result["summary"] if (x["backbone"], x["regime"]) == (backbone, regime)
            )
            cells += [
                f"{100 * s['f1_mean']:.1f} ± {100 * s['f1_std']:.1f}",
                f"{s['kendall_tau_mean']:.3f} ± {s['kendall_tau_std']:.3f}",
                f"{s['spearman_rho_mean']:.3f} ± {s['spearman_rho_std']:.3f}",
                "-" if s["paper_f1"] is None else f"{s['paper_f1']:.1f}",
            ]
        share = next(
            (
                x.get("share_of_supervised")
                for x in result["summary"]
                if (x["backbone"], x["regime"]) == (backbone, "csum")
            ),
            None,
        )
        if any("share_of_supervised" in x for x in result["summary"]):
            cells.append(
                f"{100 * share['f1']:.0f} % / {100 * share['spearman_rho']:.0f} %" if share else "-"
            )
        for regime in regimes if adds else ():
            a = next(
                x for x in result["summary"] if (x["backbone"], x["regime"]) == (backbone, regime)
            ).get("adds")
            cells.append(
                f"{100 * a['f1_mean']:+.1f} ± {100 * a['f1_std']:.1f} / "
                f"{a['spearman_rho_mean']:+.3f} ± {a['spearman_rho_std']:.3f}"
                if a
                else "-"
            )
        lines.append("| " + " | ".join(cells) + " |")
    if any("share_of_supervised" in x for x in result["summary"]):
        lines[2] = lines[2] + " csum share of supervised margin (F1 / rho) |"
        lines[3] = lines[3] + "---|"
    for regime in regimes if adds else ():
        lines[2] = lines[2] + f" {regime}: training adds (F1 / rho) |"
        lines[3] = lines[3] + "---|"
    lines.append(
        f"\nRandom scores on the same folds: F1 {100 * result['random_f1']:.1f} %, rho "
        f"{result.get('random_rho', float('nan')):.3f}."
    )
    if result.get("oracle"):
        lines.append(
            f"Oracle (ground-truth scores, same evaluation): F1 "
            f"{100 * result['oracle']['f1']:.1f} %, rho "
            f"{result['oracle']['spearman_rho']:.3f}."
        )
    if result.get("contrast"):
        c = result["contrast"]
        spread = (
            f" (± {100 * c['f1_std']:.1f} and ± {c['spearman_rho_std']:.3f} over the runs)"
            if "f1_std" in c
            else ""
        )
        lines.append(
            f"Collection contrast alone (the models' last input source as scores, no "
            f"training): F1 {100 * c['f1']:.1f} %, rho {c['spearman_rho']:.3f}{spread}. "
            f"'Training adds': the trained model minus this row, paired run by "
            f"run."
        )
    lines.append("Paper numbers are on the real features.")
    return "\n".join(lines)


def build_parser():

    parser = make_parser("python -m experiments.table1", __doc__, "backbones", "configs")
    parser.add_argument("--dataset", default="tvsum", choices=("tvsum", "summe"))
    parser.add_argument(
        "--synthetic", action="store_true", help="the built-in synthetic data (category family)"
    )
    parser.add_argument(
        "--family",
        default="category",
        choices=("category", "stock"),
        help="synthetic family (stock implies --synthetic)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1 fold, 2 epochs, small videos (override with --config.*)",
    )
    parser.add_argument(
        "--seeds",
        default=None,
        metavar="0,1,2",
        help="training seeds (default 0,1,2; 0 with --quick)",
    )
    parser.add_argument(
        "--data-seeds",
        default=None,
        metavar="0,1,2",
        help="synthetic generator seeds (data.synthetic_seed), each a new draw of the data",
    )
    parser.add_argument(
        "--backbones",
        default=",".join(BACKBONE_NAMES),
        metavar="A,B",
        help="backbones, registered ones included (default: all built-in)",
    )
    parser.add_argument("--regimes", default=",".join(REGIMES), metavar="csum,supervised")
    parser.add_argument(
        "--out",
        default="runs",
        metavar="DIR",
        help="where table1_DATASET[_stock].{json,md} and the runs go",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    def body(args, overrides) -> int:
        regimes = [r for r in args.regimes.split(",") if r]
        bad = sorted(set(regimes) - set(REGIMES))
        if bad or not regimes:
            raise ConfigError(
                f"--regimes={args.regimes!r}: expected names from {', '.join(REGIMES)}"
            )
        import backbones as registry

        names = [b for b in args.backbones.split(",") if b]
        for b in names:
            registry.BACKBONES.get(b)  # unknown names fail here, before any training
        synthetic = args.synthetic or args.family == "stock"
        seeds = parse_seeds(args.seeds) if args.seeds else ([0] if args.quick else [0, 1, 2])
        out = Path(args.out)
        data_seeds = parse_seeds(args.data_seeds) if args.data_seeds else None
        result = run_table(
            args.dataset,
            names,
            regimes,
            seeds,
            synthetic,
            args.quick,
            out,
            overrides,
            args.family,
            data_seeds,
        )
        stem = out / stem_name(args.dataset, args.family)
        write_report(stem, markdown(result), result)
        print(f"wrote {stem}.{{json,md}}")
        return 0

    return run_command(build_parser(), argv, body)


if __name__ == "__main__":
    sys.exit(main())
