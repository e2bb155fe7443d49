"""Does the CSUM objective prefer the right summary? The loss of fixed summaries, no training.

    python -m benchmarks.objective_probe [--config=tvsum_msva:stock,quick] [--run=WORKDIR ...]
        [--taus=0.5,0.1] [--out=docs]

    # the table in docs/objective_probe.md (after the learning study):
    python -m benchmarks.objective_probe \
        --run="docs/studies/learning/tvsum_msva_stock/paper (h trained)/0" \
        --run="docs/studies/learning/tvsum_msva_synthetic/paper (h trained)/0"

For one fold's training videos, in the padded batches that training builds, the NT-Xent
loss of Eq. 1 is computed for *hard* summaries (exact top-15 %, per-video budgets) picked
by four fixed scorers: ``oracle`` (the ground-truth ``gtscore``), ``inverse`` (1 - gtscore:
the least important clips), ``random`` (U(0, 1) per clip: a spread-out sample that
represents the whole video) and ``uniform`` (evenly spaced clips). Also the summary
anchors' top-1 accuracy: how often a summary's nearest embedding is its own video.

The projector h is the one of a fresh model (random initialisation, as the default recipe
keeps it), and, for each ``--run``, the one that run trained (its fold-0 checkpoint), so
that the paper's recipe, which trains h, can be inspected: if every scorer's summary is
recognised, the selection no longer matters to the loss. Writes ``objective_probe.md`` and
``.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax.numpy as jnp
import ml_collections
import numpy as np

from csum import topk
from csum.data.batching import default_buckets, eval_batches
from csum.model.summarizer import ModelSpec, build_summarizer, set_contrast_stats
from csum.objectives.contrastive import ntxent
from csum.summarization.data import load_dataset
from csum.training.checkpoint import Checkpointer
from csum.training.optim import OptimizerSpec, make_optimizer_for
from experiments.cli import make_parser
from experiments.config_loader import load_config

SCORERS = ("oracle", "inverse", "random", "uniform")


def scorer(name: str, video, rng) -> np.ndarray:
    g = np.asarray(video.gtscore, np.float64)
    if name == "oracle":
        return g
    if name == "inverse":
        return 1.0 - g
    if name == "random":
        return rng.uniform(size=g.shape)
    stride = np.zeros_like(g)  # uniform: evenly spaced picks get the top scores
    budget = topk.summary_budget(0.15, len(g))
    stride[np.linspace(0, len(g) - 1, budget).round().astype(int)] = 1.0
    return stride


def probe(model, videos, taus, seed: int = 0) -> dict:
    """{scorer: {"loss@tau": .., "top1": ..}} over length-sorted batches of 8 videos."""
    buckets = default_buckets(max(v.n_steps for v in videos))
    batches = eval_batches(videos, 8, buckets)
    out = {}
    for name in SCORERS:
        rng = np.random.default_rng(seed)
        losses = {tau: [] for tau in taus}
        hits, total = 0, 0
        for group, batch in batches:
            T = batch.mask.shape[1]
            s = np.zeros(batch.mask.shape, np.float32)
            for b, v in enumerate(group):
                s[b, : v.n_steps] = scorer(name, v, rng)
            x = model.contrast_features(batch.features)
            budget = topk.summary_budget(0.15, jnp.asarray(batch.length))
            k = topk.summary_budget(0.15, T)
            sel = topk.hard(x, jnp.asarray(s), k, mask=batch.mask, budget=budget)
            u = model.projector(x, batch.mask)
            v = model.projector(sel.features, topk.valid_outputs(sel))
            for tau in taus:
                losses[tau].append(float(ntxent(u, v, jnp.asarray(batch.valid), tau)))
            B = len(group)
            sim = np.array(v @ jnp.concatenate([u, v]).T)[:B]
            sim[:, ~np.concatenate([batch.valid, batch.valid])] = -np.inf
            sim[np.arange(B), batch.mask.shape[0] + np.arange(B)] = -np.inf  # not itself
            hits += int(np.sum(np.argmax(sim, 1) == np.arange(B)))
            total += B
        out[name] = {
            **{f"loss@{tau}": float(np.mean(v)) for tau, v in losses.items()},
            "top1": hits / max(total, 1),
        }
    return out


def main() -> None:
    parser = make_parser("python -m benchmarks.objective_probe", __doc__, overrides=False)
    parser.add_argument("--config", default="tvsum_msva:stock,quick")
    parser.add_argument(
        "--run",
        action="append",
        default=[],
        help="a trained run's workdir (its fold-0 projector is probed)",
    )
    parser.add_argument("--taus", default="0.5,0.1")
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    taus = [float(t) for t in args.taus.split(",")]
    rows = []
    settings = [] if args.run else [("h at initialisation", load_config(args.config), None)]
    for run in args.run:  # the untrained projector, then the run's, on the run's data
        config = ml_collections.ConfigDict(json.loads((Path(run) / "config.json").read_text()))
        settings.append(("h at initialisation", config, None))
        settings.append((f"h trained by {Path(run).parent.name}", config, Path(run)))
    for label, config, run in settings:
        videos = list(load_dataset(config).values())
        model = build_summarizer(ModelSpec.from_config(config), videos[0].dims, seed=config.seed)
        if run is not None:
            Checkpointer(run / "fold_0" / "checkpoints").restore(
                model, make_optimizer_for(OptimizerSpec.from_config(config), model)
            )
        if model.normalize != "none":
            set_contrast_stats(model, videos)
        result = probe(model, videos, taus)
        for name, r in result.items():
            data = f"{config.name} ({config.data.synthetic_seed})"
            rows.append({"projector": label, "data": data, "scorer": name, **r})
            print(label, name, r, flush=True)
    losses = [f"loss, tau {t}" for t in taus]
    head = ["projector", "data (synthetic seed)", "summary by", *losses, "top-1"]
    lines = [
        "NT-Xent loss (Eq. 1) of hard 15 % summaries picked by fixed scorers, over the "
        "training batches of all videos; top-1: share of summaries whose nearest "
        "embedding is their own video.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in rows:
        cells = [
            r["projector"],
            r["data"],
            r["scorer"],
            *[f"{r[f'loss@{t}']:.3f}" for t in taus],
            f"{100 * r['top1']:.0f} %",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "objective_probe.md").write_text(table + "\n")
    (out / "objective_probe.json").write_text(json.dumps({"rows": rows}, indent=1) + "\n")
    print(table)


if __name__ == "__main__":
    main()
