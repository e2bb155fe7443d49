"""Label-efficiency curves, the statistics and the report: which videos are labelled (nested
seeded draws), how long a labelled run trains (the all-labels run's steps), each point's mean
and 95 % Student-t interval, paired differences, where the curves cross, and the tables and
plots. The runs themselves are the task drivers' (``csum.summarization.label_curve``,
``csum.highlights.label_curve``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import stats

METHODS = ("random", "contrast", "csum", "supervised", "finetuned")
"""Rows of a curve: the first three need no labels."""
UNLABELLED = ("random", "contrast", "csum")
METRICS = ("f1", "spearman_rho")
"""The metrics of a summarization curve; a highlight curve has ``("ap",)``."""
LABELS = {"f1": "F1 %", "spearman_rho": "rho", "ap": "clip AP %", "top5_map": "top-5 mAP %"}
"""How the table and the plot name each metric; ``%`` metrics are shown times 100."""


def interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean and its two-sided Student-t interval.

    ``mean ± t_{(1 + level) / 2, m - 1} s / sqrt(m)`` for m values of sample standard
    deviation s; a single value has the interval ``(x, x)``.
    """

    x = np.asarray(values, np.float64)
    mean = float(x.mean())
    if len(x) < 2:
        return mean, mean, mean
    half = float(stats.t.ppf((1 + level) / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return mean, mean - half, mean + half


def labelled_keys(keys: Sequence[str], n: int, seed: int, fold: int) -> list[str]:
    """The first ``n`` of a permutation of ``keys`` drawn from ``(seed, fold)``: nested in n."""
    order = np.random.default_rng([seed, fold, 7]).permutation(len(keys))
    return [keys[i] for i in order[:n]]


def labelled_epochs(epochs: int, batch_size: int, n_all: int, n: int) -> int:
    """Passes over n labelled videos that take the all-labels run's optimizer steps:
    ``ceil(epochs * ceil(n_all / b) / ceil(n / b))``."""
    steps = epochs * math.ceil(n_all / batch_size)
    return math.ceil(steps / math.ceil(n / batch_size))


def labelled_settings(epochs: int, batch_size: int, n_all: int, n: int) -> dict:
    """The ``train`` settings of a run on n labelled videos: ``labelled_epochs`` passes,
    checkpointed about as often as the all-labels run (every ``epochs_n // epochs``
    passes; checkpoints change no number, ``csum.training.trainer.train_fold``)."""
    passes = labelled_epochs(epochs, batch_size, n_all, n)
    return {"epochs": passes, "checkpoint_every": max(1, passes // epochs)}


def label_counts(spec: Sequence[int | str], n_all: int) -> list[int]:
    """The label counts of ``spec`` (integers, and ``all`` for every training video), sorted,
    unique, each at most ``n_all``."""
    out = {n_all if s == "all" else min(int(s), n_all) for s in spec}
    return sorted(out)


def summarize_points(points: list[dict], metrics: Sequence[str] = METRICS) -> dict:
    """``{method: {n: {metric: [mean, low, high], "runs": m}}}`` over folds and seeds."""
    table: dict = {}
    for method in METHODS:
        for n in sorted({p["n"] for p in points if p["method"] == method}):
            rows = [p for p in points if p["method"] == method and p["n"] == n]
            cell = {m: list(interval([p[m] for p in rows])) for m in metrics}
            cell["runs"] = len(rows)
            table.setdefault(method, {})[str(n)] = cell
    return table


def crossings(table: dict, metric: str) -> dict:
    """Where the curves cross: the fewest labels at which ``supervised`` reaches the mean of
    ``csum`` without labels (None: not within the measured counts), and the counts at which
    ``finetuned`` beats ``supervised`` beyond both 95 % intervals (its low end above the
    other's high end); fine-tuning has stopped helping above the largest of them."""
    out: dict = {"supervised_matches_csum": None, "finetuned_beats_supervised": []}
    if "csum" not in table or "supervised" not in table:
        return out
    target = table["csum"]["0"][metric][0]
    for n, cell in sorted(table["supervised"].items(), key=lambda kv: int(kv[0])):
        if cell[metric][0] >= target:
            out["supervised_matches_csum"] = int(n)
            break
    for n, cell in sorted(table.get("finetuned", {}).items(), key=lambda kv: int(kv[0])):
        if cell[metric][1] > table["supervised"][n][metric][2]:
            out["finetuned_beats_supervised"].append(int(n))
    return out


def paired_differences(points: list[dict], metric: str) -> dict:
    """``{n: [mean, low, high]}``: ``finetuned`` minus ``supervised`` on the same fold,
    seed and labelled videos, with its 95 % interval (``interval``). The runs of one
    (fold, seed) share their labelled and test videos, so the paired difference is the
    sharper test of whether pre-training helps at n."""
    pairs: dict = {}
    for p in points:
        if p["method"] in ("supervised", "finetuned"):
            pairs.setdefault((p["n"], p["fold"], p["seed"]), {})[p["method"]] = p[metric]
    out: dict = {}
    for (n, _, _), pair in sorted(pairs.items(), key=lambda kv: str(kv[0])):
        if len(pair) == 2:
            out.setdefault(n, []).append(pair["finetuned"] - pair["supervised"])
    return {str(n): list(interval(d)) for n, d in sorted(out.items())}


def curve_result(name: str, label_seeds, folds, n_train, counts, points, metrics) -> dict:
    """The dict a curve command writes: its points, their table and the crossings.

    Args:
        name: the config's name.
        label_seeds, folds: what the points vary over (folds: fold numbers, or the domains
            a highlight curve pools).
        n_train: training videos a fold (the largest, when they differ).
        counts: the label counts measured.
        points: one dict per run, ``{"method", "n", "seed", "fold", <metric>: value}``.
        metrics: the metric keys of the points.
    """
    table = summarize_points(points, metrics)
    result = {
        "config": name,
        "label_seeds": list(label_seeds),
        "folds": list(folds),
        "n_train": n_train,
        "counts": list(counts),
        "metrics": list(metrics),
        "points": points,
        "table": table,
        "crossings": {m: crossings(table, m) for m in metrics},
        "paired": {m: paired_differences(points, m) for m in metrics},
    }
    if len(folds) > 1 and all(isinstance(f, str) for f in folds):  # pooled domains
        result["by_domain"] = {
            f: summarize_points([p for p in points if p["fold"] == f], metrics) for f in folds
        }
    return result


def _cell(metric: str, values) -> str:
    scale, fmt = (100, ".1f") if LABELS[metric].endswith("%") else (1, ".3f")
    mean, low, high = (scale * v for v in values)
    return f"{mean:{fmt}} [{low:{fmt}}, {high:{fmt}}]"


def markdown(result: dict) -> str:
    """The curve as a table: one row per (method, labelled videos), mean [95 % interval]."""
    metrics = result.get("metrics", METRICS)
    size = (
        f"up to {result['n_train']} training videos a domain, each domain's all-labels "
        f"point at {result['n_train']}"
        if "by_domain" in result
        else f"{result['n_train']} training videos a fold"
    )
    lines = [
        f"Label-efficiency curve: {result['config']} (folds {result['folds']}, label "
        f"seeds {result['label_seeds']}, {size}; mean [95 % interval] over folds and "
        "label seeds)",
        "",
        "| method | labelled videos | " + " | ".join(LABELS[m] for m in metrics) + " | runs |",
        "|---|---|" + "---|" * len(metrics) + "---|",
    ]
    for method, cells in result["table"].items():
        for n, cell in sorted(cells.items(), key=lambda kv: int(kv[0])):
            shown = " | ".join(_cell(m, cell[m]) for m in metrics)
            lines.append(f"| {method} | {n} | {shown} | {cell['runs']} |")
    for metric in metrics if "by_domain" in result else ():
        domains = list(result["by_domain"])
        lines += [
            "",
            f"{LABELS[metric]} by domain (mean over label seeds):",
            "",
            "| method | labelled videos | " + " | ".join(domains) + " |",
            "|---|---|" + "---|" * len(domains),
        ]
        for method, cells in result["table"].items():
            for n in sorted(cells, key=int):
                scale = 100 if LABELS[metric].endswith("%") else 1
                shown = [
                    f"{scale * result['by_domain'][d][method][n][metric][0]:.1f}" for d in domains
                ]
                lines.append(f"| {method} | {n} | " + " | ".join(shown) + " |")
    for metric, diffs in result.get("paired", {}).items():
        shown = "; ".join(f"{n}: {_cell(metric, diffs[n])}" for n in sorted(diffs, key=int))
        lines += [
            "",
            f"finetuned minus supervised, {LABELS[metric]}, paired by fold and label "
            f"seed (labelled videos: mean [95 % interval]): {shown}",
        ]
    for metric, c in result["crossings"].items():
        beats = c["finetuned_beats_supervised"]
        lines.append("")
        lines.append(
            f"{metric}: supervised from scratch first reaches CSUM without labels at "
            f"{c['supervised_matches_csum'] or 'no measured count of'} labelled videos; "
            "CSUM-initialised fine-tuning beats it beyond both intervals at "
            f"{beats or 'no measured count'}"
        )
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    """One panel per metric: labelled videos on a log axis, a line per method with its
    95 % interval shaded; the methods without labels as horizontal bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = result.get("metrics", METRICS)
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4), squeeze=False)
    axes = axes[0]
    counts = [c for c in result["counts"] if c > 0]
    for ax, metric in zip(axes, metrics, strict=True):
        scale = 100 if LABELS[metric].endswith("%") else 1
        for i, (method, cells) in enumerate(result["table"].items()):
            colour = f"C{i}"
            if method in UNLABELLED:
                mean, low, high = (scale * v for v in cells["0"][metric])
                ax.axhline(mean, color=colour, ls="--", label=f"{method} (0 labels)")
                ax.axhspan(low, high, color=colour, alpha=0.12)
                continue
            ns = sorted(int(n) for n in cells)
            rows = scale * np.array([cells[str(n)][metric] for n in ns])
            ax.plot(ns, rows[:, 0], "o-", color=colour, label=method)
            ax.fill_between(ns, rows[:, 1], rows[:, 2], color=colour, alpha=0.2)
        ax.set_xscale("log")
        ax.minorticks_off()
        if counts:
            ax.set_xticks(counts, [str(c) for c in counts])
        ax.set_xlabel("labelled training videos")
        ax.set_ylabel(LABELS[metric])
    axes[0].legend(fontsize=7)
    fig.suptitle(result["config"])
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def overview(results: Sequence[dict]) -> str:
    """One row per curve: the rows without labels, where supervised training from scratch
    first reaches CSUM without labels, and the paired fine-tuning gain at 1, 2 and 4
    labelled videos (mean [95 % interval]; ``*``: the interval excludes 0)."""
    lines = [
        "| curve | metric | contrast | CSUM, no labels | all labels, scratch / finetuned "
        "| scratch reaches CSUM at | finetuned - scratch at 1 | at 2 | at 4 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for m in r.get("metrics", METRICS):
            t, n_all = r["table"], str(max(r["counts"]))
            diffs = r.get("paired", {}).get(m, {})

            def gain(n, _diffs=diffs, _m=m):
                if str(n) not in _diffs:
                    return "-"
                d = _diffs[str(n)]
                return _cell(_m, d) + ("*" if d[1] > 0 or d[2] < 0 else "")

            scale, fmt = (100, ".1f") if LABELS[m].endswith("%") else (1, ".3f")
            full = (
                f"{scale * t['supervised'][n_all][m][0]:{fmt}} / "
                f"{scale * t['finetuned'][n_all][m][0]:{fmt}} ({n_all})"
            )
            reach = r["crossings"][m]["supervised_matches_csum"]
            lines.append(
                f"| {r['config']} | {LABELS[m]} | {_cell(m, t['contrast']['0'][m])} | "
                f"{_cell(m, t['csum']['0'][m])} | {full} | "
                f"{reach if reach is not None else 'never'} | {gain(1)} | {gain(2)} | "
                f"{gain(4)} |"
            )
    return "\n".join(lines)


def plot_grid(results: Sequence[dict], path: Path) -> None:
    """Every curve in one figure, a panel each (rho for summaries, the clip metric for
    highlights): labelled videos on a log axis, intervals shaded, the rows without labels
    dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(4, len(results))
    rows = math.ceil(len(results) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax, r in zip(axes.flat, results, strict=False):
        metric = r.get("metrics", METRICS)[-1]  # rho for summaries
        scale = 100 if LABELS[metric].endswith("%") else 1
        for i, (method, cells) in enumerate(r["table"].items()):
            if method == "random":
                continue
            colour = f"C{i}"
            if method in UNLABELLED:
                mean, low, high = (scale * v for v in cells["0"][metric])
                ax.axhline(mean, color=colour, ls="--", label=method)
                ax.axhspan(low, high, color=colour, alpha=0.1)
                continue
            ns = sorted(int(n) for n in cells)
            vals = scale * np.array([cells[str(n)][metric] for n in ns])
            ax.plot(ns, vals[:, 0], "o-", color=colour, ms=3, label=method)
            ax.fill_between(ns, vals[:, 1], vals[:, 2], color=colour, alpha=0.2)
        ax.set_xscale("log")
        ax.minorticks_off()
        counts = [c for c in r["counts"] if c > 0]
        ax.set_xticks(counts, [str(c) for c in counts], fontsize=7)
        ax.set_title(r["config"], fontsize=8)
        ax.set_ylabel(LABELS[metric], fontsize=8)
    for ax in axes.flat[len(results) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.supxlabel("labelled training videos", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
