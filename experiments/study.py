"""Run an ablation study over the 5 folds and several seeds: JSON, markdown table, PNG plot.

    python -m experiments.study --study=topk_operators [--seeds=0,1,2] [--config.x.y=V ...]
    python -m experiments.study --study=window_size:quick      # smoke run: 1 fold, 2 epochs

A study (``experiments/studies/NAME.py``) names a base config, one config field and its
values (or ``VARIANTS``: named sets of overrides, and ``BASES``: several base configs, for
a one-factor-at-a-time study such as ``learning``). Every value is trained and evaluated
with ``experiments.run``'s machinery for each seed (``--config.seed``), on the built-in
synthetic data by default, or on the real eccv16 features when ``--config.data.dir=DIR``
is given. Each run has its own work directory under
``--out/NAME/VALUE/seed_S``, so an interrupted study resumes where it stopped. Results:
``--out/NAME.json`` (every run's 5-fold means, and mean and std over seeds per value),
``NAME.md`` and ``NAME.png``.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import matplotlib
import numpy as np

from csum.metrics.evaluation import METRICS
from experiments.config_loader import ConfigError

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from experiments.cli import make_parser, run_command
from experiments.run import prepare

STUDIES_DIR = Path(__file__).resolve().parent / "studies"


def load_study(name: str):
    """The study module ``experiments/studies/NAME.py``, or a ConfigError listing them."""
    known = known_studies()
    if name not in known:
        raise ConfigError(f"unknown study {name!r}; known: {', '.join(known)}")
    return importlib.import_module(f"experiments.studies.{name}")


def job_config(spec: str, seed: int, workdir: Path, overrides: dict[str, str]):
    """The validated config of one run of a study or table (``experiments.run.prepare``)."""

    return prepare(
        spec, {"train.progress": "false", **overrides, "seed": str(seed), "workdir": str(workdir)}
    )


def check_jobs(jobs: list[tuple[str, int, Path, dict[str, str]]]) -> None:
    """Validates every run's config before the first one starts (a bad value costs nothing)."""
    for job in jobs:
        job_config(*job)


def run_config(spec: str, seed: int, workdir: Path, overrides: dict[str, str]) -> dict:
    """Trains and evaluates one config with one seed in ``workdir`` (resuming it).

    Returns:
        Its 5-fold means of ``METRICS``, the baselines' (keys ``random``, ``uniform``,
        where the data have labels ``oracle``, and with the contrast input ``contrast``)
        and the per-epoch validation curve (``curve``: mean over folds of each epoch's loss
        and validation metrics).
    """
    from csum.summarization.experiment import run_experiment  # heavy import after argument parsing

    results = run_experiment(job_config(spec, seed, workdir, overrides))
    return {**results["mean"], **results["baselines"], "curve": learning_curve(workdir)}


def learning_curve(workdir: Path) -> list[dict]:
    """Per epoch, the mean over folds of the training loss and validation metrics."""
    path = workdir / "metrics.jsonl"
    records = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    curve = []
    for epoch in sorted({r["epoch"] for r in records}):
        rows = [r for r in records if r["epoch"] == epoch]
        keys = [k for k in ("loss", "val_f1", "val_spearman_rho") if all(k in r for r in rows)]
        curve.append({"epoch": epoch, **{k: float(np.mean([r[k] for r in rows])) for k in keys}})
    return curve


def mean_std(rows: list[dict]) -> dict:
    """``{m}_mean`` and ``{m}_std`` (ddof 0) over runs, for each of ``METRICS``."""
    out = {"n_seeds": len(rows)}
    for m in METRICS:
        out[f"{m}_mean"] = float(np.mean([r[m] for r in rows]))
        out[f"{m}_std"] = float(np.std([r[m] for r in rows]))
    return out


def run_variants(
    name: str, study, quick: bool, seeds: list[int], out: Path, overrides: dict[str, str]
) -> dict:
    """A one-factor-at-a-time study: every (base, variant, seed), each variant a set of
    overrides (``study.VARIANTS``) on each base config spec (``study.BASES``)."""
    jobs, keys = [], []
    for base in study.BASES:
        spec = f"{base},quick" if quick else base
        for label, changes in study.VARIANTS.items():
            for seed in seeds:
                workdir = out / name / base.replace(":", "_").replace(",", "_") / label / str(seed)
                jobs.append((spec, seed, workdir, {**study.OVERRIDES, **overrides, **changes}))
                keys.append((base, label, seed))
    check_jobs(jobs)
    runs = []
    for (base, label, seed), job in zip(keys, jobs, strict=True):
        result = run_config(*job)
        runs.append({"base": base, "variant": label, "seed": seed, **result})
        print(
            f"{name}: {base} {label} seed {seed}: F1 {100 * result['f1']:.1f} "
            f"rho {result['spearman_rho']:.3f}",
            flush=True,
        )
    summary = []
    for base in study.BASES:
        for label in study.VARIANTS:
            rows = [r for r in runs if r["base"] == base and r["variant"] == label]
            row = {"base": base, "variant": label, **mean_std(rows)}
            for ref in ("random", "oracle", "contrast"):
                if all(ref in r for r in rows):
                    row[ref] = {m: float(np.mean([r[ref][m] for r in rows])) for m in METRICS}
            summary.append(row)
    return {
        "study": name,
        "kind": "variants",
        "bases": list(study.BASES),
        "quick": quick,
        "seeds": seeds,
        "variants": study.VARIANTS,
        "overrides": {**study.OVERRIDES, **overrides},
        "runs": runs,
        "summary": summary,
    }


def run_study(
    name: str, quick: bool, seeds: list[int], out: Path, overrides: dict[str, str]
) -> dict:
    """Trains every (value, seed) of a study and aggregates the results."""
    study = load_study(name)
    if hasattr(study, "VARIANTS"):
        return run_variants(name, study, quick, seeds, out, overrides)
    real = "data.dir" in overrides
    arg = ",".join(w for w, on in (("synthetic", not real), ("quick", quick)) if on)
    spec = f"{study.BASE}:{arg}" if arg else study.BASE
    keys = [(value, seed) for value in study.VALUES for seed in seeds]
    jobs = [
        (
            spec,
            seed,
            out / name / str(value) / f"seed_{seed}",
            {**overrides, study.FIELD: str(value)},
        )
        for value, seed in keys
    ]
    check_jobs(jobs)
    runs = []
    for (value, seed), job in zip(keys, jobs, strict=True):
        result = run_config(*job)
        result.pop("curve")
        runs.append({"value": value, "seed": seed, **result})
        print(
            f"{name}: {study.FIELD}={value} seed {seed}: F1 {100 * result['f1']:.1f}"
            f" tau {result['kendall_tau']:.3f}",
            flush=True,
        )
    summary = [
        {"value": value, **mean_std([r for r in runs if r["value"] == value])}
        for value in study.VALUES
    ]
    random_f1 = float(np.mean([r["random"]["f1"] for r in runs]))
    paper = {str(k): v for k, v in study.PAPER.items()}
    return {
        "study": name,
        "field": study.FIELD,
        "base": spec,
        "quick": quick,
        "seeds": seeds,
        "data": "real" if real else "synthetic",
        "overrides": overrides,
        "runs": runs,
        "summary": summary,
        "random_f1": random_f1,
        "paper": paper,
    }


def markdown_variants(result: dict) -> str:
    """A variants study's table: per base, each variant's F1 % and rho, random and oracle."""
    lines = [
        f"{result['study']} (seeds {result['seeds']}; overrides {result['overrides']}; "
        f"means over folds, then mean ± std over seeds, ddof 0)"
    ]
    for base in result["bases"]:
        rows = [s for s in result["summary"] if s["base"] == base]
        lines += [
            "",
            f"**{base}**",
            "",
            "| variant | F1 % | Spearman rho | rho share of oracle | training adds (F1 / rho) |",
            "|---|---|---|---|---|",
        ]
        for s in rows:
            share = "-"
            if "oracle" in s:
                gap = s["oracle"]["spearman_rho"] - s["random"]["spearman_rho"]
                share = (
                    f"{100 * (s['spearman_rho_mean'] - s['random']['spearman_rho']) / gap:.0f} %"
                )
            f1 = f"{100 * s['f1_mean']:.1f} ± {100 * s['f1_std']:.1f}"
            rho = f"{s['spearman_rho_mean']:.3f} ± {s['spearman_rho_std']:.3f}"
            # the variant minus its own contrast input alone, on the same test videos
            adds = (
                f"{100 * (s['f1_mean'] - s['contrast']['f1']):+.1f} / "
                f"{s['spearman_rho_mean'] - s['contrast']['spearman_rho']:+.3f}"
                if "contrast" in s
                else "-"
            )
            lines.append(f"| {s['variant']} | {f1} | {rho} | {share} | {adds} |")
        for ref in ("random", "oracle", "contrast"):
            have = [s for s in rows if ref in s]  # contrast: the runs that computed it
            if have:
                lines.append(
                    f"| *{ref}* | {100 * have[0][ref]['f1']:.1f} | "
                    f"{have[0][ref]['spearman_rho']:.3f} | | |"
                )
    return "\n".join(lines)


def plot_curves(result: dict, path: Path) -> None:
    """Validation rho against epoch for every variant, one panel per base."""
    bases = result["bases"]
    fig, axes = plt.subplots(1, len(bases), figsize=(4.5 * len(bases), 3.5), squeeze=False)
    for ax, base in zip(axes[0], bases, strict=True):
        for i, label in enumerate(result["variants"]):
            runs = [r for r in result["runs"] if r["base"] == base and r["variant"] == label]
            curves = [[c.get("val_spearman_rho", np.nan) for c in r["curve"]] for r in runs]
            n = min(len(c) for c in curves)
            ax.plot(
                range(1, n + 1), np.mean([c[:n] for c in curves], 0), color=f"C{i}", label=label
            )
        ax.set_title(base, fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation Spearman rho")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def markdown(result: dict) -> str:
    """The study's table: F1 % and tau, rho as mean ± std over seeds; the paper's F1 beside."""
    if result.get("kind") == "variants":
        return markdown_variants(result)
    lines = [
        f"{result['study']} ({result['base']}, {result['data']} data, seeds "
        f"{result['seeds']}; 5-fold means, then mean ± std over seeds; std is ddof 0)",
        "",
        f"| {result['field']} | F1 % | Kendall tau | Spearman rho | paper F1 % |",
        "|---|---|---|---|---|",
    ]
    for s in result["summary"]:
        paper = result["paper"].get(str(s["value"]))
        lines.append(
            f"| {s['value']} | {100 * s['f1_mean']:.1f} ± {100 * s['f1_std']:.1f} | "
            f"{s['kendall_tau_mean']:.3f} ± {s['kendall_tau_std']:.3f} | "
            f"{s['spearman_rho_mean']:.3f} ± {s['spearman_rho_std']:.3f} | "
            f"{f'{paper[0]} ± {paper[1]}' if paper else '-'} |"
        )
    lines.append(f"\nRandom scores on the same folds: F1 {100 * result['random_f1']:.1f} %.")
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    values = [str(s["value"]) for s in result["summary"]]
    mean = [100 * s["f1_mean"] for s in result["summary"]]
    std = [100 * s["f1_std"] for s in result["summary"]]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    if all(isinstance(s["value"], int | float) for s in result["summary"]):
        ax.errorbar([s["value"] for s in result["summary"]], mean, yerr=std, marker="o", capsize=3)
    else:
        ax.bar(values, mean, yerr=std, capsize=3, color="C0")
        ax.set_ylim(min(mean) - 3 * max(max(std), 0.5), max(mean) + 3 * max(max(std), 0.5))
    ax.axhline(100 * result["random_f1"], color="gray", ls="--", lw=1, label="random scores")
    ax.set_xlabel(result["field"])
    ax.set_ylabel("F1 % (mean ± std over seeds)")
    ax.set_title(f"{result['study']} ({result['data']})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def known_studies() -> list[str]:
    return sorted(p.stem for p in STUDIES_DIR.glob("*.py") if p.stem != "__init__")


def build_parser():

    parser = make_parser(
        "python -m experiments.study",
        __doc__,
        "configs",
        names="studies (--study=NAME[:quick]): " + ", ".join(known_studies()),
    )
    parser.add_argument(
        "--study",
        required=True,
        metavar="NAME[:quick]",
        help="the study (listed below); :quick runs 1 fold, 2 epochs, small videos",
    )
    parser.add_argument(
        "--seeds",
        default=None,
        metavar="0,1,2",
        help="training seeds (default 0,1,2; 0 with :quick)",
    )
    parser.add_argument(
        "--out",
        default="runs/studies",
        metavar="DIR",
        help="where NAME.{json,md,png} and the runs go (default runs/studies)",
    )
    return parser


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` -> [0, 1, 2]; anything else is a one-line ConfigError."""
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds={text!r}: expected comma-separated integers") from None
    if not seeds or min(seeds) < 0:
        raise ConfigError(f"--seeds={text!r}: expected comma-separated integers >= 0")
    return seeds


def main(argv: list[str] | None = None) -> int:

    def body(args, overrides) -> int:
        name, _, arg = args.study.partition(":")
        load_study(name)
        if arg not in ("", "quick"):
            raise ConfigError(f"unknown study argument {arg!r}; known: quick")
        quick = arg == "quick"
        seeds = parse_seeds(args.seeds) if args.seeds else ([0] if quick else [0, 1, 2])
        out = Path(args.out)
        result = run_study(name, quick, seeds, out, overrides)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        table = markdown(result)
        (out / f"{name}.md").write_text(table + "\n")
        (plot_curves if result.get("kind") == "variants" else plot)(result, out / f"{name}.png")
        print(table)
        print(f"wrote {out}/{name}.{{json,md,png}}")
        return 0

    return run_command(build_parser(), argv, body)


if __name__ == "__main__":
    sys.exit(main())
