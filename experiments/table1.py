"""The analogue of CSUM's Table 1: every backbone, trained by CSUM and by its own supervision.

    python -m experiments.table1 [--dataset=tvsum|summe] [--synthetic] [--quick]
        [--seeds=0,1,2] [--backbones=vslstm,msva] [--regimes=csum,supervised] [--out=DIR]
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
built from the same template.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from csum.data.errors import DataError
from csum.registry import UnknownNameError
from csum.train import TrainingError
from experiments.config_loader import ConfigError, known_configs
from experiments.configs.common import BACKBONE_NAMES
from experiments.run import import_plugins
from experiments.study import mean_std, run_config

REGIMES = ("csum", "supervised")
PAPER = {  # CSUM paper Table 1, F1 % on real features: {backbone: {regime: (TVSum, SumMe)}}
    "vslstm": {"csum": (59.0, 41.0), "supervised": (54.2, 37.6)},
    "dpplstm": {"csum": (60.5, 44.2), "supervised": (54.7, 38.6)},
    "vasnet": {"csum": (62.7, 52.1), "supervised": (61.4, 49.7)},
    "msva": {"csum": (63.9, 58.2), "supervised": (62.8, 54.4)},
}
"""The transformer is not in the paper's Table 1 (UMT appears in its Table 2 only)."""

USAGE = ("usage: python -m experiments.table1 [--dataset=tvsum|summe] [--synthetic] "
         "[--quick] [--seeds=0,1,2] [--backbones=a,b] [--regimes=csum,supervised] "
         "[--out=DIR] [--import=MODULE] [--config.a.b=V ...]")  # fmt: skip


def config_spec(dataset: str, backbone: str, regime: str, synthetic: bool, quick: bool) -> str:
    """``{dataset}_{backbone}[_supervised][:synthetic,quick]``."""
    name = f"{dataset}_{backbone}" + ("_supervised" if regime == "supervised" else "")
    arg = ",".join(w for w, on in (("synthetic", synthetic), ("quick", quick)) if on)
    return f"{name}:{arg}" if arg else name


def run_table(dataset: str, backbones: list[str], regimes: list[str], seeds: list[int],
              synthetic: bool, quick: bool, out: Path,
              overrides: dict[str, str]) -> dict:  # fmt: skip
    """Trains every (backbone, regime, seed) and aggregates mean and std over seeds."""

    known = set(known_configs())
    runs = []
    for backbone in backbones:
        for regime in regimes:
            spec = config_spec(dataset, backbone, regime, synthetic, quick)
            name = spec.partition(":")[0]
            extra = dict(overrides)
            if name not in known:  # a plugged-in backbone: msva's config, backbone renamed
                template = name.replace(f"_{backbone}", "_msva", 1)
                spec = spec.replace(name, template, 1)
                extra = {"backbone.name": backbone, **extra}
            for seed in seeds:
                workdir = out / f"table1_{dataset}" / name / f"seed_{seed}"
                result = run_config(spec, seed, workdir, extra)
                runs.append({"backbone": backbone, "regime": regime, "seed": seed, **result})
                print(f"table1 {dataset}: {backbone} {regime} seed {seed}: F1 "
                      f"{100 * result['f1']:.1f} tau {result['kendall_tau']:.3f}",
                      flush=True)  # fmt: skip
    summary = []
    for backbone in backbones:
        for regime in regimes:
            rows = [r for r in runs if (r["backbone"], r["regime"]) == (backbone, regime)]
            paper = PAPER.get(backbone, {}).get(regime)
            summary.append({"backbone": backbone, "regime": regime, **mean_std(rows),
                            "paper_f1": paper[0 if dataset == "tvsum" else 1] if paper
                            else None})  # fmt: skip
    random_f1 = float(np.mean([r["random"]["f1"] for r in runs]))
    return {"dataset": dataset, "data": "synthetic" if synthetic else "real", "quick": quick,
            "seeds": seeds, "overrides": overrides, "runs": runs, "summary": summary,
            "random_f1": random_f1}  # fmt: skip


def markdown(result: dict) -> str:
    """Rows: backbones; columns: each regime's F1 %, tau and rho (mean ± std), paper F1."""
    regimes = list(dict.fromkeys(s["regime"] for s in result["summary"]))
    head = ["backbone"]
    for regime in regimes:
        head += [f"{regime} F1 %", f"{regime} tau", f"{regime} rho", f"paper {regime} F1 %"]
    lines = [f"Table 1 analogue: {result['dataset']} ({result['data']} data"
             f"{', quick' if result['quick'] else ''}; seeds {result['seeds']}; overrides "
             f"{result['overrides'] or 'none'}; fold means, then mean ± std over seeds)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]  # fmt: skip
    for backbone in dict.fromkeys(s["backbone"] for s in result["summary"]):
        cells = [backbone]
        for regime in regimes:
            s = next(x for x in result["summary"]
                     if (x["backbone"], x["regime"]) == (backbone, regime))  # fmt: skip
            cells += [f"{100 * s['f1_mean']:.1f} ± {100 * s['f1_std']:.1f}",
                      f"{s['kendall_tau_mean']:.3f} ± {s['kendall_tau_std']:.3f}",
                      f"{s['spearman_rho_mean']:.3f} ± {s['spearman_rho_std']:.3f}",
                      "-" if s["paper_f1"] is None else f"{s['paper_f1']:.1f}"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(f"\nRandom scores on the same folds: F1 {100 * result['random_f1']:.1f} %. "
                 f"Paper numbers are on the real features.")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    dataset, synthetic, quick, seeds = "tvsum", False, False, None
    backbones, regimes = list(BACKBONE_NAMES), list(REGIMES)
    out, overrides, imports = Path("runs"), {}, []
    try:
        for a in argv:
            key, _, value = a.partition("=")
            if key == "--dataset":
                dataset = value
            elif key == "--synthetic":
                synthetic = True
            elif key == "--quick":
                quick = True
            elif key == "--seeds":
                seeds = [int(s) for s in value.split(",") if s.strip()]
            elif key == "--backbones":
                backbones = [b for b in value.split(",") if b]
            elif key == "--regimes":
                regimes = [r for r in value.split(",") if r]
            elif key == "--out":
                out = Path(value)
            elif key == "--import":
                imports.append(value)
            elif key.startswith("--config."):
                overrides[key[len("--config.") :]] = value
            else:
                raise ConfigError(f"unexpected argument {a!r}; {USAGE}")
        if dataset not in ("tvsum", "summe"):
            raise ConfigError(f"unknown --dataset {dataset!r}; known: tvsum, summe")
        bad = sorted(set(regimes) - set(REGIMES))
        if bad:
            raise ConfigError(f"unknown --regimes {bad}; known: {', '.join(REGIMES)}")
        import_plugins(imports)
        import backbones as registry

        for b in backbones:
            registry.BACKBONES.get(b)  # unknown names fail here, before any training
        seeds = seeds if seeds is not None else ([0] if quick else [0, 1, 2])
        result = run_table(dataset, backbones, regimes, seeds, synthetic, quick, out, overrides)
    except (ConfigError, DataError, UnknownNameError, TrainingError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"table1_{dataset}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    stem.with_suffix(".md").write_text(table + "\n")
    print(table)
    print(f"wrote {stem}.{{json,md}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
