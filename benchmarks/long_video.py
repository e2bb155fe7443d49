"""Training-step time and memory against video length, for every backbone.

    python -m benchmarks.long_video [--backbones all] [--lengths 1024,...,65536]
        [--dtype bfloat16] [--budget-s 120] [--out docs]

One CSUM training step (forward, backward and the Adam update of ``experiments.run``) on a
batch of two videos of T steps each (the contrastive loss needs another video for its
negatives), with each backbone's synthetic-config sources (3 x 1024 for MSVA, 1 x 1024
for the others), for T = 1,024 ... 65,536 (an hour at 2 fps is 7,200 steps; 65,536 is
nine hours). Attention backbones take ``csum.nn.attention``'s chunked path above 4,096
steps (``backbone.kwargs.attention=auto``); the LSTMs are linear in T already.

``--backbones all`` is the five video backbones and the seed papers' systems, each in its
own config (``CONFIGS``): a system that reads a transcript gets one sentence per 32 steps
(16 s at 2 fps; 2,048 sentences at 65,536 steps), one that reads a query 16 tokens.

Columns, each row in its own process:

* ``XLA MiB``: the compiled step's buffers (arguments, outputs and temporaries; XLA's
  own buffer assignment, ``Compiled.memory_analysis``): what the step needs, on any
  device, measured without running it.
* ``s / step``: the mean of two steps after a warm-up one; ``compile s``: tracing,
  lowering and compiling the step.
* ``peak MiB``: the process's peak resident memory on a CPU (``ru_maxrss``: Python, the
  data and XLA's buffers) or the device's peak allocation on a GPU.

A row whose step would take longer than ``--budget-s`` (predicted from the two previous
lengths: global attention is quadratic in time, even when its memory is linear) is only
compiled: its memory column is still measured, its time is not. Writes
``long_video.{md,json}`` under ``--out``, after every row; the rows (backbone and T) that
this run did not measure are kept from the JSON already there, so one backbone or one
length can be (re)measured alone.
"""

from __future__ import annotations

import json
import resource
import time
from dataclasses import replace
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from benchmarks import json_row
from benchmarks.train_speed import videos_of_lengths
from experiments.cli import make_parser, write_report
from experiments.config_loader import apply_overrides, load_config
from experiments.configs.common import BACKBONE_NAMES, MULTIMODAL_KWARGS

LENGTHS = (1024, 2048, 4096, 8192, 16384, 32768, 65536)
CONFIGS = {
    "crosstask_sm": "tvsum_crosstask_sm",
    "crosstask_lm": "qvhighlights_crosstask_lm",
    "visionary": "qvhighlights_visionary",
    "a2summ": "transcripts_a2summ",
    "mhms": "transcripts_mhms",
}
"""The config of each multimodal system (the video backbones: ``tvsum_{name}``)."""
SENTENCE_STEPS = 32
QUERY_TOKENS = 16


def with_streams(videos, kwargs, seed: int = 0):
    """The videos with the streams their backbone reads: a transcript (``text_dim``: one
    sentence per ``SENTENCE_STEPS`` steps, its window those steps) or a query
    (``query_dim``: ``QUERY_TOKENS`` tokens)."""

    rng = np.random.default_rng(seed)
    out = []
    for v in videos:
        streams = {}
        if "text_dim" in kwargs:
            starts = np.arange(0, v.n_steps, SENTENCE_STEPS)
            streams["text"] = rng.random((len(starts), kwargs["text_dim"]), dtype=np.float32)
            streams["text_spans"] = np.stack(
                [starts, np.minimum(starts + SENTENCE_STEPS, v.n_steps)], 1
            )
        if "query_dim" in kwargs:
            streams["query"] = rng.random((QUERY_TOKENS, kwargs["query_dim"]), dtype=np.float32)
        out.append(replace(v, streams=streams))
    return out


def measure(backbone: str, T: int, dtype: str, run_steps: bool) -> dict:
    """Compiles (and, if ``run_steps``, times) one training step at length ``T``."""
    from csum.data.batching import collate
    from csum.data.records import cast_features
    from csum.model.summarizer import ModelSpec, build_summarizer
    from csum.training.optim import make_optimizer_for
    from csum.training.spec import TrainSpec
    from csum.training.step import make_train_step, step_key
    from csum.training.trainer import negatives_bank

    config = load_config(f"{CONFIGS.get(backbone, f'tvsum_{backbone}')}:synthetic")
    apply_overrides(config, {"compute_dtype": dtype, "train.regime": "csum"})
    videos = videos_of_lengths([T, T], len(config.data.feature_keys))
    videos = with_streams(cast_features(videos, jnp.dtype(dtype)), dict(config.backbone.kwargs))
    batch = collate(videos, 2, [T])
    model = build_summarizer(ModelSpec.from_config(config), videos[0].dims, seed=0)
    spec = TrainSpec.from_config(config)
    optimizer = make_optimizer_for(spec.optimizer, model)
    step = make_train_step(spec)
    if run_steps:
        bank = negatives_bank(spec, model, videos, [T])
    elif config.loss.negatives == "windows":
        # compiling needs the bank's shape only ([videos, bucket] per-clip losses), not the
        # forward passes behind its values (hours for MHMS's sequential decoder at 65,536)
        bank = jnp.zeros((len(videos), T), jnp.float32)
    else:
        raise ValueError(f"compile-only rows know the windows bank, not {config.loss.negatives!r}")
    nnx.reseed(model, dropout=step_key(0, 0, 0))
    tic = time.perf_counter()
    memory = step.lower(model, optimizer, batch, bank).compile().memory_analysis()
    compile_s = time.perf_counter() - tic
    xla = (
        memory.argument_size_in_bytes
        + memory.output_size_in_bytes
        + memory.temp_size_in_bytes
        - memory.alias_size_in_bytes
    )
    row = {
        "backbone": backbone,
        "T": T,
        "dtype": dtype,
        "xla_mib": xla / 2**20,
        "compile_s": compile_s,
        "device": jax.devices()[0].device_kind,
    }
    if run_steps:
        jax.block_until_ready(step(model, optimizer, batch, bank))  # warm-up
        times = []
        for i in range(2):
            nnx.reseed(model, dropout=step_key(0, 0, i + 1))
            tic = time.perf_counter()
            loss = jax.block_until_ready(step(model, optimizer, batch, bank))
            times.append(time.perf_counter() - tic)
        row["s_per_step"] = float(np.mean(times))
        row["loss_finite"] = bool(np.isfinite(loss))
        stats = jax.devices()[0].memory_stats() or {}
        if "peak_bytes_in_use" in stats:
            row["peak_mib"] = stats["peak_bytes_in_use"] / 2**20
        else:
            row["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def predicted(rows: list[dict], T: int) -> float:
    """Step time at ``T`` extrapolated from the last two timed rows (power law)."""
    timed = [r for r in rows if "s_per_step" in r]
    if len(timed) < 2:
        return 0.0
    (t0, s0), (t1, s1) = [(r["T"], r["s_per_step"]) for r in timed[-2:]]
    exponent = max(1.0, np.log(max(s1, 1e-9) / max(s0, 1e-9)) / np.log(t1 / t0))
    return s1 * (T / t1) ** exponent


def _cell(row: dict, key: str, fmt: str) -> str:
    return format(row[key], fmt) if key in row else "not run"


def table(rows: list[dict]) -> str:
    lines = [
        "| backbone | T (steps) | XLA MiB | MiB / 1k steps | s / step | compile s "
        "| peak MiB | device |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['backbone']} | {r['T']} | failed: {r['error']} |||||")
            continue
        lines.append(
            f"| {r['backbone']} | {r['T']} | {r['xla_mib']:.0f} "
            f"| {r['xla_mib'] / r['T'] * 1000:.1f} | {_cell(r, 's_per_step', '.3f')} "
            f"| {_cell(r, 'compile_s', '.1f')} | {_cell(r, 'peak_mib', '.0f')} "
            f"| {r['device']} |"
        )
    return "\n".join(lines)


def kept(path: str, rows: list[dict], order: list[str]) -> list[dict]:
    """``rows`` plus the rows of other (backbone, T) pairs in the report at ``path`` (if
    any), backbones in ``order`` (others after them)."""

    measured = {(r["backbone"], r["T"]) for r in rows}
    old = json.loads(Path(path).read_text()) if Path(path).is_file() else []
    merged = [r for r in old if (r["backbone"], r["T"]) not in measured] + rows
    rank = {name: i for i, name in enumerate(order)}
    return sorted(merged, key=lambda r: (rank.get(r["backbone"], len(order)), r["T"]))


def main() -> None:

    parser = make_parser("python -m benchmarks.long_video", __doc__, overrides=False)
    parser.add_argument("--backbones", default="all")
    parser.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=120.0,
        help="run a row's steps only when predicted under this many seconds "
        "(negative: compile every row, run none)",
    )
    parser.add_argument("--out", default="docs")
    parser.add_argument("--row", default="", help="internal: BACKBONE,T,RUN in this process")
    args = parser.parse_args()
    if args.row:
        backbone, T, run = args.row.split(",")
        print(json.dumps(measure(backbone, int(T), args.dtype, run == "1")), flush=True)
        return
    every = [*BACKBONE_NAMES, *MULTIMODAL_KWARGS]
    names = every if args.backbones == "all" else args.backbones.split(",")
    lengths = [int(t) for t in args.lengths.split(",")]
    rows = []
    for backbone in names:
        mine: list[dict] = []
        for T in lengths:
            run = predicted(mine, T) <= args.budget_s
            row = json_row(
                "benchmarks.long_video",
                "--dtype",
                args.dtype,
                "--row",
                f"{backbone},{T},{int(run)}",
            )
            row = row if "error" not in row else {"backbone": backbone, "T": T, **row}
            mine.append(row)
            print(table([row]).splitlines()[-1], flush=True)
            # written after every row: an interrupted run keeps what it measured
            done = kept(f"{args.out}/long_video.json", rows + mine, every)
            write_report(f"{args.out}/long_video", table(done), done, echo=False)
        rows += mine
    print(table(kept(f"{args.out}/long_video.json", rows, every)))


if __name__ == "__main__":
    main()
