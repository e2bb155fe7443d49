"""Decoding and feature extraction speed and memory on a generated long HD video.

    python -m benchmarks.video_throughput [--minutes=10] [--height=720]
        [--extractors=decode,colour,i3d] [--i3d-seconds=30] [--out docs]

Writes an H.264 video of ``--minutes`` minutes at 1280 x 720 (16:9 at ``--height``), 25
fps (``csum.video.synthetic``: scenes of 4-12 s, moving patterns, a tone), then measures,
each in its own process so that its peak resident memory is its own:

* ``decode``: ``csum.video.decode.steps`` at the colour extractor's frame size (every
  frame decoded, one converted per step);
* each extractor: ``csum.video.features.extract`` (decoding included; the audio bands
  too), after loading the extractor and compiling it for the batch size (``load_s``).
  I3D runs on the first ``--i3d-seconds`` of the video only (on a CPU it is much slower
  than real time; the rate is per video second all the same).
* ``NAME-net`` (e.g. ``i3d-net``): the extractor's network alone on random frames of its
  input size, batches of ``--batch`` steps, for ``--i3d-seconds`` of video: its ceiling
  when decoding keeps up (on a GPU the network and the decoder run on different
  processors). Needs no video file.

Throughput is video seconds per wall second; peak memory is the process's maximum
resident set (``ru_maxrss``), which includes Python, JAX and the model. Writes
``video_throughput.{md,json}``.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
from pathlib import Path

import numpy as np

from experiments.cli import make_parser, write_report


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


def _measure(kind: str, path: str, seconds: float, queue, batch: int = 8) -> None:
    from csum.video.decode import steps
    from csum.video.features import EXTRACTORS, extract

    tic = time.perf_counter()
    if kind.endswith("-net"):
        extractor = EXTRACTORS.build(kind[: -len("-net")])
        frames = np.random.default_rng(0).integers(
            0, 256, (batch, extractor.window, *extractor.size, 3), np.uint8
        )
        extractor(frames)  # compile
        queue.put({"load_s": time.perf_counter() - tic})
        tic, done = time.perf_counter(), 0
        while done * 0.5 < seconds:
            extractor(frames)  # returns numpy: the device work is finished
            done += batch
        video_seconds = done * 0.5
    elif kind == "decode":
        n = sum(1 for _ in steps(path, EXTRACTORS.get("colour").size, window=2))
        video_seconds = n * 0.5
    else:
        extractor = EXTRACTORS.build(kind)
        # compile (a jitted extractor) outside the timed part, for the batch size used
        extractor(np.zeros((8, extractor.window, *extractor.size, 3), np.uint8))
        load = time.perf_counter() - tic
        tic = time.perf_counter()
        if seconds:  # the first seconds only: stop decoding there
            from csum.video.features import _batches

            done = 0
            for group in _batches(steps(path, extractor.size, extractor.window), 8):
                extractor(np.stack([s.frames for s in group]))
                done += len(group)
                if done * 0.5 >= seconds:
                    break
            video_seconds = done * 0.5
        else:
            video_seconds = extract(path, extractor).n_steps * 0.5
        queue.put({"load_s": load})
    wall = time.perf_counter() - tic
    queue.put(
        {
            "kind": kind,
            "video_seconds": video_seconds,
            "wall_s": wall,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def measure(kind: str, path: Path, seconds: float, batch: int = 8) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    p = ctx.Process(target=_measure, args=(kind, str(path), seconds, queue, batch))
    p.start()
    out = {}
    while "kind" not in out:
        out.update(queue.get())
    p.join()
    return out


def main(argv=None) -> int:
    parser = make_parser("python -m benchmarks.video_throughput", __doc__, overrides=False)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--extractors", default="decode,colour,i3d")
    parser.add_argument("--i3d-seconds", type=float, default=30.0)
    parser.add_argument("--batch", type=int, default=8, help="steps per batch (-net stages)")
    parser.add_argument("--video", default="", help="reuse this video instead of writing one")
    parser.add_argument("--out", default="docs")
    args = parser.parse_args(argv)
    import jax

    path = (
        Path(args.video)
        if args.video
        else Path("/tmp") / (f"csum_bench_{args.minutes:g}min_{args.height}p.mp4")
    )
    kinds = args.extractors.split(",")
    needs_video = not path.is_file() and any(not k.endswith("-net") for k in kinds)
    write_s = make_video(path, args.minutes, args.height) if needs_video else 0.0
    rows = []
    for kind in kinds:
        seconds = args.i3d_seconds if kind == "i3d" or kind.endswith("-net") else 0.0
        r = measure(kind, path, seconds, args.batch)
        r["rate"] = r["video_seconds"] / r["wall_s"]
        rows.append(r)
        print(
            f"{kind:8s} {r['video_seconds']:7.0f} video s in {r['wall_s']:7.1f} s: "
            f"{r['rate']:7.2f} video s / s, peak {r['peak_mib']:.0f} MiB",
            flush=True,
        )
    device = jax.devices()[0].device_kind
    if any(not k.endswith("-net") for k in kinds):
        what = (
            f"Decoding and features of a generated {args.minutes:g}-minute {args.height}p "
            f"H.264 video at 25 fps ({device}; `python -m benchmarks.video_throughput`); "
            f"the video took {write_s:.0f} s to write."
        )
    else:
        what = (
            f"Feature networks alone on random frames, {args.batch} steps a batch "
            f"({device}; `python -m benchmarks.video_throughput "
            f"--extractors={args.extractors} --batch={args.batch}`)."
        )
    lines = [
        what,
        "",
        "| stage | video seconds | wall seconds | video s per wall s | peak memory MiB |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['kind']} | {r['video_seconds']:.0f} | {r['wall_s']:.1f} | "
            f"{r['rate']:.2f} | {r['peak_mib']:.0f} |"
        )
    write_report(Path(args.out) / "video_throughput", "\n".join(lines), {"rows": rows}, indent=1)
    return 0


if __name__ == "__main__":
    main()
