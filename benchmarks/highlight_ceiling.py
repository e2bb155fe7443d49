"""What each stream of the synthetic highlight data can tell at best: Bayes-optimal clip AP.

    python -m benchmarks.highlight_ceiling [--seed=0] [--spec=visible=0.7,...] [--out=docs]

The generator (``csum.highlights.synthetic``) knows every segment's hidden state: whether
it is a highlight, whether the highlight shows in the visual stream, whether it has the
cheer sound. A scorer that reads that evidence exactly and ranks clips by the posterior
P(highlight | evidence) is the best any model of that stream can do (up to the label
noise, which no stream reveals). Rows, clip AP % (UMT's protocol) on each domain's test
videos:

* ``kinds``: the true segment kinds (the label-noise ceiling);
* ``picture``: P(highlight | shows or not): a highlight that shows is certain, the rest
  share the prior of a hidden highlight;
* ``sound``: P(highlight | cheer or not);
* ``both``: P(highlight | both): a highlight that shows is certain, the rest are ranked
  by the cheer's likelihood ratio;
* ``random``: U(0, 1) scores (mean of 20 draws).

It prints the gap that audio can close: a trained model's audio row can beat its
video-only row only where ``both`` is above ``picture``. Writes
``highlight_ceiling.{md,json}``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from csum.highlights.metrics import trapezoid_ap
from csum.highlights.synthetic import DOMAINS, HighlightSpec, generate_with_truth
from experiments.cli import make_parser, write_report

ROWS = ("kinds", "picture", "sound", "both", "random")


def posteriors(spec: HighlightSpec, truth: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """P(highlight | evidence) per clip for each stream.

    Args:
        spec: the generator's spec (its priors and the cheer's rates).
        truth: one video's hidden state, bool arrays [n_clips] (``generate_with_truth``).

    Returns:
        ``{"kinds", "picture", "sound", "both"}``, float arrays [n_clips].
    """
    p, hit, false = spec.p_highlight, spec.audio_hit, spec.audio_false
    hidden = p * (1 - spec.visible)  # prior mass of highlights that do not show
    cheer = truth["cheer"]
    odds_hidden = hidden / (1 - p) * np.where(cheer, hit / false, (1 - hit) / (1 - false))
    sound = np.where(
        cheer,
        p * hit / (p * hit + (1 - p) * false),
        p * (1 - hit) / (p * (1 - hit) + (1 - p) * (1 - false)),
    )
    return {
        "kinds": truth["highlight"].astype(float),
        "picture": np.where(truth["shown"], 1.0, hidden / (hidden + 1 - p)),
        "sound": sound,
        "both": np.where(truth["shown"], 1.0, odds_hidden / (1 + odds_hidden)),
    }


def ceiling(spec: HighlightSpec, seed: int, draws: int = 20) -> dict[str, dict[str, float]]:
    """Mean clip AP per row and domain over the domains' test (``val``) videos.

    Ties are broken at random (the mean of ``draws`` tie-breaks), as a stream that cannot
    tell two clips apart can only order them at random.
    """
    videos, splits, truth = generate_with_truth(spec, seed)
    rng = np.random.default_rng(seed)
    out = {row: {} for row in ROWS}
    for d in DOMAINS:
        test = set(splits[d]["val"])
        aps = {row: [] for row in ROWS}
        for v in videos:
            if v.key not in test or v.labels.sum() == 0:
                continue
            post = posteriors(spec, truth[v.key])
            for _ in range(draws):
                tie = rng.random(len(v.labels))
                for row in ROWS[:-1]:
                    aps[row].append(trapezoid_ap(v.labels, post[row] + 1e-6 * tie))
                aps["random"].append(trapezoid_ap(v.labels, tie))
        for row in ROWS:
            out[row][d] = 100 * float(np.mean(aps[row]))
    for row in ROWS:
        out[row]["Avg"] = float(np.mean([out[row][d] for d in DOMAINS]))
    return out


def parse_spec(text: str, parser) -> HighlightSpec:
    """``"visible=0.7,audio_hit=0.6"`` -> a ``HighlightSpec`` with those fields (a bad
    field or value: ``parser.error``, exit code 2)."""
    fields = {f.name: f.type for f in dataclasses.fields(HighlightSpec)}
    overrides = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        if name not in fields:
            parser.error(f"--spec: unknown field {name!r}; expected one of {sorted(fields)}")
        try:
            overrides[name] = (int if fields[name] in ("int", int) else float)(value)
        except ValueError:
            parser.error(f"--spec: {name}={value!r} is not a number")
    return dataclasses.replace(HighlightSpec(), **overrides)


def main() -> None:
    parser = make_parser("python -m benchmarks.highlight_ceiling", __doc__, overrides=False)
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--spec", default="", help="HighlightSpec fields, a=v,b=w")
    parser.add_argument("--draws", type=int, default=20, help="tie-break draws per video")
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    spec = parse_spec(args.spec, parser)
    table = ceiling(spec, args.seed, args.draws)
    cols = (*DOMAINS, "Avg")
    lines = [
        f"Bayes-optimal clip AP % per stream, synthetic YouTube Highlights (seed "
        f"{args.seed}; visible {spec.visible}, cheer {spec.audio_hit} / "
        f"{spec.audio_false}), test videos",
        "",
        "| evidence | " + " | ".join(cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for row in ROWS:
        lines.append(f"| {row} | " + " | ".join(f"{table[row][c]:.1f}" for c in cols) + " |")
    write_report(
        Path(args.out) / "highlight_ceiling",
        "\n".join(lines),
        {"seed": args.seed, "spec": dataclasses.asdict(spec), "ap": table},
    )


if __name__ == "__main__":
    main()
