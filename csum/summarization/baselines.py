"""Reference scores that need no training, and the human and random baselines.

``python -m csum.summarization.baselines --dataset tvsum|summe`` prints, from the shipped
annotations alone, the human baseline (each annotator against the others, leave one out) and the
random baseline (i.i.d. uniform step scores; mean and std over seeds) in F1, Kendall's tau and
Spearman's rho. Without features there are no KTS shots, so by default the shots are the uniform
2-second segments that TVSum's annotators scored (the annotation is constant on them); ``--shots
variable`` draws shots with KTS's spread of lengths instead; ``--h5 FILE`` evaluates on an eccv16
file's own KTS shots and user summaries, which is the setting of the published human and random
rows.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from csum.data.annotations import attach_tvsum_scores, read_annotations
from csum.data.build import annotated_video
from csum.data.eccv16 import load_eccv16
from csum.data.errors import DataError
from csum.data.kts import uniform_shots
from csum.data.records import Video
from csum.metrics.evaluation import (
    METRICS,
    STANDARD,
    VARIANTS,
    Protocol,
    as_quantiles,
    evaluate_video,
    f1_score,
    mean_metrics,
    msva_correlation,
    parse_protocol,
    rank_correlation,
)

F1_MODE = {"tvsum": "avg", "summe": "max"}
"""Each dataset's standard combination of F1 over users."""


def random_scores(video: Video, rng: np.random.Generator) -> np.ndarray:
    """[n_steps] i.i.d. U(0, 1) step scores."""
    return rng.random(video.n_steps)


def uniform_scores(video: Video, ratio: float = 0.15) -> np.ndarray:
    """[n_steps] scores that select ``ceil(ratio * n_steps)`` evenly spaced steps.

    The step nearest each of the evenly spaced times scores 1, every other step 0: a
    uniform-sampling summary, with no knowledge of the content.
    """
    n = video.n_steps
    k = max(1, math.ceil(ratio * n))
    scores = np.zeros(n)
    scores[np.round((np.arange(k) + 0.5) * n / k - 0.5).astype(int)] = 1.0
    return scores


def random_baseline(
    videos: list[Video],
    mode: str,
    ratio: float = 0.15,
    protocol: Protocol = STANDARD,
    seeds: int = 10,
    base_seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Random step scores, evaluated like a model's; mean and std over seeds.

    Seed ``s`` draws from ``np.random.default_rng([base_seed, s])``; each seed's metrics are
    averaged over the videos first.

    Returns:
        ``{"mean": metrics, "std": metrics}`` (std over seeds, ddof = 0).
    """
    per_seed = []
    for seed in range(seeds):
        rng = np.random.default_rng([base_seed, seed])
        per_seed.append(
            mean_metrics(
                [evaluate_video(random_scores(v, rng), v, mode, ratio, protocol) for v in videos]
            )
        )
    return {
        "mean": mean_metrics(per_seed),
        "std": {k: float(np.std([m[k] for m in per_seed])) for k in per_seed[0]},
    }


def baseline_metrics(config, videos: list[Video]) -> dict[str, dict[str, float]]:
    """Random (mean over ``eval.random_seeds`` seeds), uniform and, where every video has a
    ``gtscore``, oracle rows on ``videos``.

    The oracle scores each video by its own ground-truth ``gtscore`` through the same
    evaluation: what a perfect score predictor of the labels would get. With
    ``backbone.contrast_input`` a ``contrast`` row scores each video by its collection
    contrast alone (the videos' last source, ``csum.model.contrast``): the CSUM objective's own
    ranking, with no model trained.
    """
    mode, ratio = config.eval.f1_mode, config.topk.ratio
    protocol = parse_protocol(config.eval.protocol)
    random = random_baseline(videos, mode, ratio, protocol, config.eval.random_seeds, config.seed)[
        "mean"
    ]
    uniform = [evaluate_video(uniform_scores(v, ratio), v, mode, ratio, protocol) for v in videos]
    rows = {"random": random, "uniform": mean_metrics(uniform)}
    if all(v.gtscore is not None for v in videos):
        oracle = [
            evaluate_video(np.asarray(v.gtscore, np.float64), v, mode, ratio, protocol)
            for v in videos
        ]
        rows["oracle"] = mean_metrics(oracle)
    if config.backbone.contrast_input:
        alone = [
            evaluate_video(
                as_quantiles(np.asarray(v.features[-1][:, 0], np.float64)), v, mode, ratio, protocol
            )
            for v in videos
        ]
        rows["contrast"] = mean_metrics(alone)
    return rows


def oracle_share(result: dict, baselines_: dict) -> dict[str, float] | None:
    """The learned scores' share of the oracle's margin over random, per metric.

    ``(model - random) / (oracle - random)``: 0 is random, 1 is as good as the labels.
    None without an oracle row.
    """
    if "oracle" not in baselines_:
        return None
    share = {}
    for m in METRICS:
        gap = baselines_["oracle"][m] - baselines_["random"][m]
        share[m] = (result[m] - baselines_["random"][m]) / gap if abs(gap) > 1e-9 else float("nan")
    return share


def human_video(video: Video, mode: str, protocol: Protocol = STANDARD) -> dict[str, float]:
    """Leave-one-out agreement of one video's annotators, averaged over annotators.

    Annotator u's summary is their user summary, scored by F1 against the other users'
    (``protocol.f1_mode or mode``); their frame scores (TVSum: the 1..5 scores, SumMe: the
    selection) are correlated with each other annotator's (Otani), or their summary with the
    others' mean summary (``msva`` correlation). The knapsack variants do not apply: a
    human's summary is given, not computed.
    """
    users = np.asarray(video.user_summary) > 0
    n = users.shape[0]
    if n < 2:
        raise ValueError(f"video {video.key}: leave-one-out needs 2 annotators, has {n}")
    others = [np.delete(users, u, axis=0) for u in range(n)]
    f1 = float(np.mean([f1_score(users[u], others[u], protocol.f1_mode or mode) for u in range(n)]))
    if protocol.correlation == "msva":
        pairs = np.array([msva_correlation(users[u], others[u]) for u in range(n)])
        tau, rho = pairs.mean(axis=0)
    else:
        scores = video.user_scores if video.user_scores is not None else users.astype(float)
        # Both correlations are symmetric, so each unordered pair is computed once:
        # the mean over u of the mean over v != u is the mean over the n(n-1)/2 pairs.
        sums = np.zeros(2)
        for u in range(n - 1):
            sums += (n - 1 - u) * np.array(rank_correlation(scores[u], scores[u + 1 :]))
        tau, rho = sums / (n * (n - 1) / 2)
    return {"f1": f1, "kendall_tau": float(tau), "spearman_rho": float(rho)}


def human_baseline(videos: list[Video], mode: str, protocol: Protocol = STANDARD):
    """``human_video`` averaged over videos."""
    return mean_metrics([human_video(v, mode, protocol) for v in videos])


def variable_shots(n_frames: int, median: float, rng: np.random.Generator) -> np.ndarray:
    """[n_shots, 2] shots of log-normal length (median ``median`` frames, sigma 0.8).

    Lengths are clipped to [15 frames, 10 medians]; the last shot ends on the last frame.
    KTS gives shots of such a spread, and that spread (not the content) is what lets any
    summary of many short shots score a high F1 (Otani et al. 2019). This option shows the
    effect on the annotations alone.
    """
    bounds = [0]
    while bounds[-1] < n_frames:
        length = int(np.clip(rng.lognormal(np.log(median), 0.8), 15, 10 * median))
        bounds.append(min(n_frames, bounds[-1] + length))
    bounds = np.asarray(bounds, np.int64)
    return np.stack([bounds[:-1], bounds[1:] - 1], axis=1)


def annotation_videos(
    dataset: str, shot_seconds: float = 2.0, shots: str = "uniform", seed: int = 0
) -> list[Video]:
    """The dataset's videos from the shipped annotations alone.

    Args:
        dataset: ``"tvsum"`` or ``"summe"``.
        shot_seconds: shot length (``uniform``) or median shot length (``variable``).
        shots: ``"uniform"`` (consecutive shots of ``shot_seconds``; for TVSum at 2 s these
            are the segments the annotators scored) or ``"variable"`` (``variable_shots``).
        seed: seed of the variable shot lengths.
    """
    if shots not in ("uniform", "variable"):
        raise ValueError(f"shots must be 'uniform' or 'variable', not {shots!r}")
    rng = np.random.default_rng(seed)
    videos = []
    for i, a in enumerate(read_annotations(dataset)):
        length = shot_seconds * a.fps
        if shots == "uniform":
            cps = uniform_shots(a.n_frames, round(length))
        else:
            cps = variable_shots(a.n_frames, length, rng)
        videos.append(annotated_video(a, dataset, f"video_{i + 1}", cps))
    return videos


def h5_videos(path, dataset: str) -> list[Video]:
    """The videos of an eccv16 file (TVSum gets its raw annotator scores attached)."""
    videos = load_eccv16(path)
    if dataset == "tvsum":
        videos = attach_tvsum_scores(videos, path)
    return list(videos.values())


def baselines_table(
    dataset: str,
    videos: list[Video],
    protocols: list[Protocol],
    seeds: int,
    ratio: float = 0.15,
) -> list[dict]:
    """Human and random rows of every protocol: ``[{"protocol", "human", "random"}]``."""
    mode = F1_MODE[dataset]
    return [
        {
            "protocol": p.name,
            "f1_mode": p.f1_mode or mode,
            "human": human_baseline(videos, mode, p),
            "random": random_baseline(videos, mode, ratio, p, seeds),
        }
        for p in protocols
    ]


def format_rows(rows: list[dict], seeds: int) -> str:
    """Markdown table: F1 in percent; tau and rho as fractions; random as mean ± std."""
    lines = [
        "| protocol | baseline | F1 % | Kendall tau | Spearman rho |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        h, m, s = r["human"], r["random"]["mean"], r["random"]["std"]
        name = f"{r['protocol']} (F1 {r['f1_mode']})"
        lines.append(
            f"| {name} | human (leave one out) | {100 * h['f1']:.1f} | "
            f"{h['kendall_tau']:.3f} | {h['spearman_rho']:.3f} |"
        )
        lines.append(
            f"| {name} | random ({seeds} seeds) | {100 * m['f1']:.1f} ± "
            f"{100 * s['f1']:.1f} | {m['kendall_tau']:.3f} ± {s['kendall_tau']:.3f} | "
            f"{m['spearman_rho']:.3f} ± {s['spearman_rho']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m csum.summarization.baselines", description=__doc__
    )
    parser.add_argument("--dataset", choices=("tvsum", "summe"), required=True)
    parser.add_argument("--h5", default=None, help="eccv16 file: use its KTS shots")
    parser.add_argument("--seeds", type=int, default=10, help="random-baseline seeds")
    parser.add_argument(
        "--shots",
        choices=("uniform", "variable"),
        default="uniform",
        help="shots without --h5: uniform, or log-normal lengths as KTS gives",
    )
    parser.add_argument("--shot-seconds", type=float, default=2.0, help="(median) shot length")
    parser.add_argument(
        "--protocol",
        default="standard",
        help=f"'standard', 'all', or +-joined variants of: {', '.join(VARIANTS)}",
    )
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args(argv)
    try:
        if args.protocol == "all":
            # Every variant that changes something on this dataset (f1_max is SumMe's
            # standard, f1_avg TVSum's).
            same = {"summe": "f1_max", "tvsum": "f1_avg"}[args.dataset]
            protocols = [STANDARD, *(p for n, p in VARIANTS.items() if n != same)]
        else:
            protocols = [parse_protocol(args.protocol)]
        if args.h5:
            videos, shots = h5_videos(args.h5, args.dataset), f"KTS shots of {args.h5}"
        else:
            videos = annotation_videos(args.dataset, args.shot_seconds, args.shots)
            shots = (
                f"uniform {args.shot_seconds:g}-second shots"
                if args.shots == "uniform"
                else f"log-normal shots, median {args.shot_seconds:g} s (seed 0)"
            )
    except (DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = baselines_table(args.dataset, videos, protocols, args.seeds)
    print(
        f"{args.dataset}: {len(videos)} videos, {shots}; correlation: Otani et al. 2019 "
        f"unless msva_correlation"
    )
    print(format_rows(rows, args.seeds))
    if args.json:
        meta = {"dataset": args.dataset, "shots": shots, "seeds": args.seeds}
        Path(args.json).write_text(json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
