"""What labels buy for highlight detection: held-out clip AP against labelled videos.

The highlight counterpart of ``csum.summarization.label_curve`` (the interval, nested draws, step
rule, table and plot of ``csum.metrics.label_curves`` are shared). For each domain and each seed,
every training video of the domain is available without labels and the first ``n`` of a seeded
permutation of them are labelled (nested in n); the domain's test (``val``) videos are scored with
the source's clip metric (``csum.highlights.experiment.clip_ap``: UMT's clip AP for YouTube
Highlights, top-5 mAP over annotators for TVSum). Rows:

* 0 labels: ``random`` rankings, the training-free ``contrast`` (the collection contrast
  source alone), ``csum`` (CSUM's objective on every training video: the highlight
  ``csum`` regime);
* n labels: ``supervised`` (UMT's saliency loss from random weights: the ``scratch``
  regime) and ``finetuned`` (the ``csum`` model, then the same loss on the n videos).

The seed draws both which videos are labelled and the model's initialisation (``seed +
s``), so every row, the rows without labels included, varies over it. Training length:
every labelled run takes the optimizer steps of UMT's all-labels schedule
(``highlights.finetune``: 50 epochs of batches of 4 over every training video), spread over
as many passes over its n videos as that needs
(``csum.metrics.label_curves.labelled_settings``). No video is held out for Theta: the clip
metric ranks clips and needs no threshold.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from flax import nnx

from csum.data.batching import default_buckets
from csum.highlights.experiment import clip_ap, highlight_files, load_highlights, model_inputs
from csum.metrics.label_curves import (
    curve_result,
    label_counts,
    labelled_keys,
    labelled_settings,
)
from csum.summarization.phases import train_phase
from csum.training.predict import predict_scores


def domain_metric(source: str) -> str:
    """The point key of a source's clip metric (named in
    ``csum.metrics.label_curves.LABELS``)."""
    return "top5_map" if source == "tvsum" else "ap"


def known_domains(config) -> list[str]:
    """The domains (categories) of the config's source, from its split file."""

    return sorted(highlight_files(config)[1])


def _for(config, domain: str, seed: int):
    c = config.copy_and_resolve_references()
    with c.unlocked():
        c.highlights.domain = domain
        c.seed = config.seed + seed
    return c


def run_curve(
    config,
    counts_spec: Sequence[int | str],
    seeds: Sequence[int],
    domains: Sequence[str],
    out: Path,
    progress=print,
) -> dict:
    """Measures every point of the highlight curve of ``config`` over ``domains`` (pooled,
    as folds are in a summarization curve); finished domains are read back, not rerun.

    Returns:
        ``csum.metrics.label_curves.curve_result``'s dict; the metric is
        ``domain_metric(source)``. Every domain's all-labels point is at ``n_train``, the largest
        domain's count (``"labelled"``: the domain's own).
    """

    h = config.highlights
    metric = domain_metric(h.source)
    # Domains differ in size: each domain's all-labels point is pooled at the largest
    # domain's count (its own count kept as "labelled").
    splits = highlight_files(config)[1]
    sizes = {d: len(splits[d]["train"]) for d in domains}
    n_train = max(sizes.values())
    points, all_counts = [], set()
    for d in domains:
        videos, split = load_highlights(_for(config, d, 0))
        train_keys, test_keys = list(split["train"]), list(split["val"])
        counts = label_counts(counts_spec, len(train_keys))
        all_counts.update(n_train if c == len(train_keys) else c for c in counts)
        cached = out / "runs" / d / "points.json"
        if cached.is_file():
            points += json.loads(cached.read_text())
            continue
        domain_points = []
        for s in seeds:
            c = _for(config, d, s)
            folder = out / "runs" / d / f"seed_{s}"
            model, (train, test) = model_inputs(
                c,
                [
                    [videos[k].as_video(audio=h.audio) for k in keys]
                    for keys in (train_keys, test_keys)
                ],
                [folder / "csum"],
                audio=bool(h.audio),
            )
            by_key = {v.key: v for v in train}
            buckets = default_buckets(max(v.n_steps for v in test))

            def score(m, _test=test, _buckets=buckets, _c=c, _videos=videos, _keys=test_keys):
                got = predict_scores(m.backbone, _test, _c.eval.batch_size, _buckets)
                return float(np.mean([clip_ap(_c, _videos[k], got[k]) for k in _keys]))

            def add(method, n, value, _s=s, _d=d, _out=domain_points):
                _out.append({"method": method, "n": n, "seed": _s, "fold": _d, metric: value})

            rng = np.random.default_rng([c.seed, 1])
            add(
                "random",
                0,
                float(
                    np.mean(
                        [
                            np.mean(
                                [
                                    clip_ap(c, videos[k], rng.random(videos[k].n_clips))
                                    for _ in range(h.random_draws)
                                ]
                            )
                            for k in test_keys
                        ]
                    )
                ),
            )
            channel = -2 if h.audio else -1
            add(
                "contrast",
                0,
                float(
                    np.mean(
                        [
                            clip_ap(c, videos[k], np.asarray(v.features[channel][:, 0], np.float64))
                            for k, v in zip(test_keys, test, strict=True)
                        ]
                    )
                ),
            )
            init = nnx.clone(model)
            pretrained = train_phase(c, "csum", train, folder / "csum", model)
            add("csum", 0, score(pretrained))
            for n in [k for k in counts if k > 0]:
                labelled = [by_key[k] for k in labelled_keys(train_keys, n, s, 0)]
                settings = {
                    **h.finetune.to_dict(),
                    **labelled_settings(
                        h.finetune.epochs, h.finetune.batch_size, len(train_keys), n
                    ),
                }
                where = folder / f"n_{n}"
                scratch = train_phase(
                    c, "saliency", labelled, where / "supervised", nnx.clone(init), settings
                )
                add("supervised", n, score(scratch))
                tuned = train_phase(
                    c, "saliency", labelled, where / "finetuned", nnx.clone(pretrained), settings
                )
                add("finetuned", n, score(tuned))
                progress(f"label_curve: {d}, seed {s}: {n} labels done")
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(domain_points, indent=1) + "\n")
        points += domain_points
    for p in points:
        if p["n"] == sizes[p["fold"]] and p["n"] > 0:
            p["labelled"], p["n"] = p["n"], n_train
    return curve_result(config.name, seeds, domains, n_train, sorted(all_counts), points, (metric,))
