"""The printed table of a run's results.json: folds, mean, baselines, what training adds."""

from __future__ import annotations

from csum.metrics.evaluation import METRICS


def run_title(config) -> str:
    """The config's name, and the backbone when an override changed it (a run of
    ``tvsum_msva`` with ``backbone.name=mine`` is titled ``tvsum_msva:... [backbone mine]``)."""
    base = config.name.partition(":")[0]
    backbone = config.backbone.name
    return config.name if f"_{backbone}" in f"_{base}" else f"{config.name} [backbone {backbone}]"


def format_table(results: dict) -> str:
    """A readable table of results.json (F1 in percent, one decimal; tau and rho as is)."""
    protocol = results.get("protocol", "standard")
    correlation = "MSVA's" if "msva_correlation" in protocol else "Otani et al."
    title = (
        f"{results['config']}  (protocol {protocol}: F1 % with {results['f1_mode']} "
        f"over users; Kendall tau, Spearman rho: {correlation})"
    )
    lines = [title, f"{'':12s} {'F1':>6s} {'tau':>7s} {'rho':>7s}"]

    def row(name, m):
        return f"{name:12s} {100 * m['f1']:6.1f} {m['kendall_tau']:7.3f} {m['spearman_rho']:7.3f}"

    lines += [row(f"fold {r['fold']}", r) for r in results["folds"]]
    lines.append(row("mean", results["mean"]))
    lines += [row(name, m) for name, m in results["baselines"].items()]
    alone = results["baselines"].get("contrast")
    if alone:  # what training adds to its input (the trained model minus the contrast alone)
        m = results["mean"]
        lines.append(
            f"{'adds':12s} {100 * (m['f1'] - alone['f1']):+6.1f} "
            f"{m['kendall_tau'] - alone['kendall_tau']:+7.3f} "
            f"{m['spearman_rho'] - alone['spearman_rho']:+7.3f}   (training: mean "
            f"minus contrast)"
        )
    share = results.get("oracle_share")
    if share:
        pct = [f"{100 * share[m]:5.0f}%" for m in METRICS]
        lines.append(
            f"{'of oracle':12s} {pct[0]} {pct[1]:>7s} {pct[2]:>7s}   (share of the "
            f"oracle's margin over random)"
        )
    return "\n".join(lines)
