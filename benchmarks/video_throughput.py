"""Decoding and feature extraction speed and memory on a generated HD video.

    python -m benchmarks.video_throughput [--minutes=2] [--height=720]
        [--extractors=decode,colour,i3d,i3d-net,i3d-net-xla,i3d-net-bf16] [--batch=8]
        [--out docs]

Writes an H.264 video of ``--minutes`` minutes at 1280 x 720 (16:9 at ``--height``), 25
fps (``csum.video.synthetic``: scenes of 4-12 s, moving patterns, a tone), then measures,
each in its own process so that its peak resident memory is its own:

* ``decode``: ``csum.video.decode.steps`` at the colour extractor's frame size (every
  frame decoded, one converted per step);
* each extractor (``colour``, ``i3d``): ``csum.video.features.extract`` on the whole
  video, as ``experiments.summarize`` runs it (decoding in a thread beside the network,
  the audio bands too), after loading the extractor and compiling it for the batch size;
* ``NAME-net``: the extractor's network alone on random frames of its input size, batches
  of ``--batch`` steps, for the video's length: its ceiling when decoding keeps up. For
  I3D also ``i3d-net-xla`` and ``i3d-net-frames`` (its 3-D convolutions as XLA 3-D
  convolutions, or as ``csum.video.i3d.conv3d``'s 2-D ones over frames; the default is
  frames on a CPU, XLA's on a GPU), ``i3d-net-bf16`` and ``i3d-net-f32`` (the convolutions'
  dtype; the default is float32 on a CPU, bfloat16 on a GPU). Needs no video file.

Throughput is video seconds per wall second (real time is 1). For I3D rows, GFLOP/s counts
the convolutions (``csum.video.i3d.conv_flops``, 55.6 GFLOP a step, 2 steps a video
second); the machine's matrix-product peak (float32 and bfloat16, ``jnp`` 2048 x 2048,
best of 10) is measured in the same run and printed beside them. Peak memory is the
process's maximum resident set (``ru_maxrss``), which includes Python, JAX and the model.
Writes ``video_throughput.{md,json}``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np

from experiments.cli import make_parser, write_report

STAGES = ("decode", "colour", "i3d", "i3d-net", "i3d-net-xla", "i3d-net-bf16")
"""Every stage, in order (the default of ``--extractors``)."""


def make_video(path: Path, minutes: float, height: int) -> float:
    from csum.video.synthetic import PATTERNS, Scene, write_video

    rng = np.random.default_rng(0)
    scenes, total = [], 0.0
    while total < minutes * 60:
        seconds = float(min(rng.uniform(4, 12), minutes * 60 - total))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        pattern, tone = PATTERNS[int(rng.integers(1, 3))], float(rng.choice([0, 440]))
        scenes.append(Scene(seconds, colour, pattern, tone))
        total += seconds
    width = (height * 16 // 9) // 2 * 2
    tic = time.perf_counter()
    write_video(path, scenes, fps=25, size=(height, width))
    return time.perf_counter() - tic


def _extractor(kind: str):
    """The extractor behind a stage name (``i3d``, ``i3d-net``, ``i3d-net-xla``, ...)."""
    import jax.numpy as jnp

    from csum.video.features import EXTRACTORS

    name, _, variant = kind.partition("-net")
    options = {
        "": {},
        "-xla": {"conv": "xla"},
        "-frames": {"conv": "frames"},
        "-bf16": {"dtype": jnp.bfloat16},
        "-f32": {"dtype": jnp.float32},
    }
    return EXTRACTORS.build(name, **options[variant])


def _measure(kind: str, path: str, seconds: float, batch: int, queue) -> None:
    from csum.video.decode import steps
    from csum.video.features import EXTRACTORS, extract

    tic = time.perf_counter()
    if kind == "decode":
        n = sum(1 for _ in steps(path, EXTRACTORS.get("colour").size, window=2))
        video_seconds, load = n * 0.5, 0.0
    else:
        extractor = _extractor(kind)
        frames = np.random.default_rng(0).integers(
            0, 256, (batch, extractor.window, *extractor.size, 3), np.uint8
        )
        extractor(frames)  # compile for the batch size, outside the timed part
        load = time.perf_counter() - tic
        tic = time.perf_counter()
        if "-net" in kind:
            done = 0
            while done * 0.5 < seconds:
                extractor(frames)  # returns numpy: the work is finished
                done += batch
            video_seconds = done * 0.5
        else:
            video_seconds = extract(path, extractor, batch=batch).n_steps * 0.5
    wall = time.perf_counter() - tic
    queue.put(
        {
            "kind": kind,
            "video_seconds": video_seconds,
            "wall_s": wall,
            "load_s": load,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def measure(kind: str, path: Path, seconds: float, batch: int) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    p = ctx.Process(target=_measure, args=(kind, str(path), seconds, batch, queue))
    p.start()
    out = queue.get()
    p.join()
    return out


def machine() -> str:
    """The processor and its cores as this process sees them (e.g. "AMD EPYC, 2 cores")."""
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {len(os.sched_getaffinity(0))} cores"


def main(argv=None) -> int:
    parser = make_parser("python -m benchmarks.video_throughput", __doc__, overrides=False)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--extractors", default=",".join(STAGES))
    parser.add_argument("--batch", type=int, default=8, help="steps per extractor call")
    parser.add_argument("--video", default="", help="reuse this video instead of writing one")
    parser.add_argument("--out", default="docs")
    args = parser.parse_args(argv)
    import jax

    from benchmarks.train_speed import matmul_peak
    from csum.video.i3d import conv_flops

    path = (
        Path(args.video)
        if args.video
        else Path("/tmp") / (f"csum_bench_{args.minutes:g}min_{args.height}p.mp4")
    )
    kinds = args.extractors.split(",")
    needs_video = not path.is_file() and any("-net" not in k for k in kinds)
    write_s = make_video(path, args.minutes, args.height) if needs_video else 0.0
    seconds = args.minutes * 60
    rows = []
    for kind in kinds:
        r = measure(kind, path, seconds, args.batch)
        r["rate"] = r["video_seconds"] / r["wall_s"]
        if kind.startswith("i3d"):
            r["gflops"] = conv_flops(16) * r["video_seconds"] * 2 / r["wall_s"] / 1e9
        rows.append(r)
        print(
            f"{kind:13s} {r['video_seconds']:5.0f} video s in {r['wall_s']:6.1f} s: "
            f"{r['rate']:6.2f} x real time, peak {r['peak_mib']:.0f} MiB",
            flush=True,
        )
    peaks = {d: matmul_peak(d) for d in ("float32", "bfloat16")}
    device = jax.devices()[0].device_kind
    where = machine() if device == "cpu" else device
    lines = [
        f"Decoding and features of a generated {args.minutes:g}-minute {args.height}p H.264 "
        f"video at 25 fps, {args.batch} steps a batch ({where}; `python -m "
        f"benchmarks.video_throughput`); "
        + (f"the video took {write_s:.0f} s to write. " if write_s else "an existing video. ")
        + "Real time is 1 video second per wall second.",
        "",
        "| stage | video seconds | wall seconds | x real time | GFLOP/s | load s | peak MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        gflops = f"{r['gflops']:.0f}" if "gflops" in r else "-"
        lines.append(
            f"| {r['kind']} | {r['video_seconds']:.0f} | {r['wall_s']:.1f} | "
            f"{r['rate']:.2f} | {gflops} | {r['load_s']:.1f} | {r['peak_mib']:.0f} |"
        )
    lines += [
        "",
        f"Matrix-product peak of this machine, same run: {peaks['float32']:.0f} GFLOP/s "
        f"float32, {peaks['bfloat16']:.0f} GFLOP/s bfloat16. I3D costs "
        f"{conv_flops(16) / 1e9:.1f} GFLOP of convolutions a step, "
        f"{2 * conv_flops(16) / 1e9:.0f} GFLOP a video second: real time needs "
        f"{2 * conv_flops(16) / 1e9:.0f} GFLOP/s.",
    ]
    write_report(
        Path(args.out) / "video_throughput",
        "\n".join(lines),
        {"rows": rows, "matmul_peak_gflops": peaks, "machine": where},
        indent=1,
    )
    return 0


if __name__ == "__main__":
    main()
