"""Every multimodal system of the seed papers on the built-in synthetic data, one table each.

    python -m experiments.multimodal [--quick] [--systems=visionary,...] [--out=DIR]
        [--json=OUT.json] [--config.a.b=V ...]

A system's table has its own metrics, rows for the system under each training regime, the
video-only or query-free models it should beat, and random predictions on the same data;
the papers' published numbers (on the real benchmarks) stand beside them where the papers
report that setting. Systems:

* ``a2summ``: A2Summ (``000_…``; configs ``transcripts_a2summ`` and
  ``transcripts_transformer``) on synthetic videos with time-aligned transcripts
  (``csum.multimodal.transcripts``): the video summary's cosine similarity with the
  ground truth and its key-frame AP, the text summary's ROUGE F1 (%). Rows: its loss;
  CSUM pre-training then its loss; CSUM alone; a video-only transformer trained on the
  same videos' labels; random.
* ``mhms``: MHMS (``001_…``; config ``transcripts_mhms``) on the same data: the same
  summary metrics, and its cover frame (the keyframe candidate of the predicted scenes
  that best matches its text summary by optimal transport): ``cover-R@1`` and
  ``cover-MAP``. Rows: its loss; CSUM pre-training then its loss; the video-only
  transformer; random.
* ``crosstask``: the localization module of ``003_…`` (config
  ``qvhighlights_crosstask_lm``) on the same data and protocol, beside the query-free
  transformer. (Its summarization module, ``crosstask_sm``, is a video-only summarizer:
  ``tvsum_crosstask_sm[_supervised]`` configs of ``experiments.run``.)
* ``visionary``: query-based moment retrieval and highlight detection (``004_…``; configs
  ``qvhighlights_visionary`` and ``qvhighlights_transformer``), on synthetic
  QVHighlights-format data (``csum.multimodal.synthetic``), evaluated with the
  QVHighlights protocol (``experiments.evaluate --format=qvhighlights``). Rows: trained
  with its loss; CSUM pre-training then its loss; CSUM alone (no labels: saliency only);
  the query-free transformer trained on the same clips' saliency; random.

``--quick`` runs small data and few epochs (a smoke test). Writes
``DIR/multimodal_table.{md,json}`` and, with ``--json``, the JSON also to OUT: per system,
each metric's value for every row and for random on the same data. The tables of systems
not in ``--systems`` are kept from an earlier report in DIR made on the same data with the
same overrides. Every run stays under
``DIR/multimodal_runs/`` and a rerun resumes from its checkpoints.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from experiments.cli import make_parser, run_command, write_report
from experiments.config_loader import ConfigError, apply_overrides, load_config
from experiments.validation import validate

QUERY_METRICS = (
    "MR-full-mAP",
    "MR-full-mAP@0.5",
    "MR-full-R1@0.5",
    "MR-full-R1@0.7",
    "HL-min-VeryGood-mAP",
    "HL-min-VeryGood-Hit1",
)
"""The QVHighlights columns of both query-based systems' tables."""

SYSTEMS = {
    "visionary": {
        "paper": "004_… (VisionaryVids), QVHighlights",
        "metrics": QUERY_METRICS,
        "rows": (
            ("visionary, own loss", "qvhighlights_visionary", ""),
            ("visionary, CSUM then own loss", "qvhighlights_visionary", "finetuned"),
            ("visionary, CSUM alone (no labels)", "qvhighlights_visionary", "csum"),
            ("query-free transformer, saliency", "qvhighlights_transformer", ""),
        ),
        # 004_…, Table 1 (real QVHighlights val; MR mAP and HD mAP, the paper's columns)
        "published": {
            "Moment-DETR": {"MR-full-mAP": 34.05, "HL-min-VeryGood-mAP": 37.67},
            "UMT": {"MR-full-mAP": 38.59, "HL-min-VeryGood-mAP": 39.85},
            "VisionaryVids": {"MR-full-mAP": 38.28, "HL-min-VeryGood-mAP": 39.12},
        },
    },
    "a2summ": {
        "paper": "000_… (A2Summ), video and transcript summarization",
        "runner": "transcripts",
        "metrics": ("video-cos", "video-AP", "R-1", "R-2", "R-L"),
        "rows": (
            ("a2summ, own loss", "transcripts_a2summ", ""),
            ("a2summ, CSUM then own loss", "transcripts_a2summ", "finetuned"),
            ("a2summ, CSUM alone (no labels)", "transcripts_a2summ", "csum"),
            ("video-only transformer, supervised", "transcripts_transformer", ""),
        ),
        # 000_…, Table 1 (Daily Mail: ROUGE F1 % of the text summary; Cos % of the video)
        "published": {
            "A2Summ (Daily Mail)": {"R-1": 44.11, "R-2": 20.31, "R-L": 35.92, "video-cos": 70.20}
        },
    },
    "mhms": {
        "paper": "001_… (MHMS), video and transcript summarization with a cover frame",
        "runner": "transcripts",
        "metrics": ("video-cos", "video-AP", "R-1", "R-2", "R-L", "cover-R@1", "cover-MAP"),
        "rows": (
            ("mhms, own loss", "transcripts_mhms", ""),
            ("mhms, CSUM then own loss", "transcripts_mhms", "finetuned"),
            ("video-only transformer, supervised", "transcripts_transformer", ""),
        ),
        # 001_…, Table 4 (Daily Mail: ROUGE F1 %, Cos %) and Table 1 (VMSMO: the cover
        # frame's MAP and R10@1 among 10 candidates, in %)
        "published": {
            "MHMS (Daily Mail)": {"R-1": 42.34, "R-2": 19.12, "R-L": 32.35, "video-cos": 72.45},
            "MHMS (VMSMO cover)": {"cover-MAP": 69.3, "cover-R@1": 58.2},
        },
    },
    "crosstask": {
        "paper": "003_… (Jiang and Mu), its localization module",
        "metrics": QUERY_METRICS,
        "rows": (
            ("crosstask_lm, own loss", "qvhighlights_crosstask_lm", ""),
            ("crosstask_lm, CSUM then own loss", "qvhighlights_crosstask_lm", "finetuned"),
            ("query-free transformer, saliency", "qvhighlights_transformer", ""),
        ),
        "published": {},  # the supplement has no results table; the main paper is not here
    },
}
"""Each system: its metrics, its rows ``(label, config, regime word)`` and the published
numbers of its paper's table."""


def row_config(name: str, word: str, quick: bool, overrides: dict, out: Path):
    """The validated config of one row."""

    words = [w for w in (word, "quick" if quick else "synthetic") if w]
    config = load_config(f"{name}:{','.join(words)}")
    apply_overrides(config, {**overrides, "workdir": str(out / "_".join([name, *words]))})
    validate(config)
    return config


def runner(spec: dict):
    """``(run, format_result)`` of a system's task."""
    if spec.get("runner") == "transcripts":
        from csum.multimodal import transcripts as task

        return task.run_transcripts, task.format_result
    from csum.multimodal import retrieval as task

    return task.run_queries, task.format_result


def run_system(system: str, quick: bool, overrides: dict, out: Path) -> dict:
    """Every row of one system: ``{"metrics", "rows": {label: {metric: value}},
    "random": {metric: value}, "published"}``."""
    spec = SYSTEMS[system]
    run, format_result = runner(spec)
    configs = [
        (label, row_config(name, word, quick, overrides, out)) for label, name, word in spec["rows"]
    ]
    rows, random = {}, {}
    for label, config in configs:  # every config is checked before the first run
        result = run(config)
        print(format_result(result), flush=True)
        rows[label] = {m: result["metrics"].get(m) for m in spec["metrics"]}
        # random on the same data each row; a metric of the system's own outputs (MHMS's
        # cover, among its candidates) has its random value from the first row
        for m in spec["metrics"]:
            if m in result["random"]:
                random.setdefault(m, result["random"][m])
    return {
        "paper": spec["paper"],
        "metrics": list(spec["metrics"]),
        "rows": rows,
        "random": random,
        "published": spec["published"],
    }


def kept_tables(path: Path, data: str, overrides: dict, systems: list[str]) -> dict:
    """The tables of the systems not rerun, from an earlier report at ``path`` made on the
    same data with the same overrides (so that one system can be updated alone)."""
    if not path.is_file():
        return {}
    try:
        old = json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}
    if old.get("data") != data or old.get("overrides") != overrides:
        return {}
    kept = {s: t for s, t in old.get("systems", {}).items() if s in SYSTEMS and s not in systems}
    if kept:
        print(f"keeping the tables of {', '.join(kept)} from {path}", flush=True)
    return kept


def markdown(result: dict) -> str:
    lines = []
    for system, table in result["systems"].items():
        metrics = table["metrics"]
        lines += [
            f"### {system} ({table['paper']}; {result['data']})",
            "",
            "| row | " + " | ".join(metrics) + " |",
            "|" + "---|" * (len(metrics) + 1),
        ]
        cell = lambda v: "" if v is None else f"{v:.2f}"  # noqa: E731
        for label, values in [*table["rows"].items(), ("random", table["random"])]:
            lines.append(f"| {label} | " + " | ".join(cell(values.get(m)) for m in metrics) + " |")
        lines += [
            "",
            "Published (real data; not comparable with the synthetic rows, only their order is):",
            "",
            "| model | " + " | ".join(metrics) + " |",
            "|" + "---|" * (len(metrics) + 1),
        ]
        if not table["published"]:
            lines.append("| (none published for this setting) |" + " |" * len(metrics))
        for model, values in table["published"].items():
            lines.append(f"| {model} | " + " | ".join(cell(values.get(m)) for m in metrics) + " |")
        lines.append("")
    return "\n".join(lines).rstrip()


def build_parser():
    parser = make_parser("python -m experiments.multimodal", __doc__)
    parser.add_argument("--quick", action="store_true", help="small data, few epochs")
    parser.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        metavar="A,B",
        help=f"systems from {', '.join(SYSTEMS)}",
    )
    parser.add_argument(
        "--out",
        default="runs",
        metavar="DIR",
        help="where multimodal_table.{md,json} and the runs go",
    )
    parser.add_argument("--json", default="", metavar="OUT.json", help="also write the JSON here")
    return parser


def main(argv: list[str] | None = None) -> int:
    def body(args, overrides) -> int:
        systems = [s for s in args.systems.split(",") if s]
        bad = sorted(set(systems) - set(SYSTEMS))
        if bad or not systems:
            raise ConfigError(
                f"--systems={args.systems!r}: unknown {bad}; known: {', '.join(SYSTEMS)}"
            )
        out = Path(args.out)
        data = "synthetic, quick" if args.quick else "synthetic"
        tables = kept_tables(out / "multimodal_table.json", data, overrides, systems)
        tables.update(
            {s: run_system(s, args.quick, overrides, out / "multimodal_runs") for s in systems}
        )
        result = {
            "data": data,
            "systems": {s: tables[s] for s in SYSTEMS if s in tables},
            "overrides": overrides,
        }
        write_report(out / "multimodal_table", markdown(result), result)
        if args.json:
            path = Path(args.json)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {out / 'multimodal_table'}.{{json,md}}")
        return 0

    return run_command(build_parser(), argv, body)


if __name__ == "__main__":
    sys.exit(main())
