"""The GPU rows, in one command: run it on a machine with an NVIDIA GPU after
``pip install ".[cuda]"``.

    python -m benchmarks.gpu [--out docs/gpu] [--folds 5] [--epochs 300] [--smoke]

Four parts, each printed as it finishes and written under ``--out``:

1. ``environment``: jax and jaxlib versions, the backend and device, and the outcome of the
   cuDNN attention test (``tests/test_attention.py::test_cudnn_matches_chunked``, skipped
   where there is no NVIDIA GPU).
2. ``csum_msva``: CSUM-MSVA on the TVSum-shaped epoch of ``benchmarks.train_speed`` (40
   videos, 240..1182 steps, 3 x 1024 features, batch 8), ``--folds`` fresh models of
   ``--epochs`` epochs each, as the 5-fold protocol trains them: the wall time of all folds
   (compiles included) and the steady seconds per epoch. The issue's goal on one GPU is 60 s.
3. ``video_throughput``: ``benchmarks.video_throughput`` (the I3D network alone as run by
   default on a GPU, with its convolutions over frames as on a CPU, and in float32; batches
   of 32 steps; decoding and the whole extraction too when PyAV is installed), into
   ``OUT/video_throughput.{md,json}``.
4. ``long_video``: ``benchmarks.long_video`` for every multimodal system of the seed papers
   (one CSUM training step of two videos at each length), into ``OUT/long_video.{md,json}``.

``--smoke`` makes every part small (2 folds of 2 epochs, a 6-second video, 512 steps) so that
the script can be checked on a CPU; its figures are then no GPU figures. Writes
``OUT/gpu.{md,json}`` with parts 1 and 2 and the commands of 3 and 4.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from experiments.cli import make_parser, write_report


def environment() -> dict:
    """Versions, device and the cuDNN test's outcome."""
    import jax
    import jaxlib

    test = "tests/test_attention.py::test_cudnn_matches_chunked"
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:randomly", test],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    # the short summary (-rA) names the outcome: PASSED, SKIPPED [1] ..., FAILED or ERROR
    found = [w for w in ("FAILED", "ERROR", "SKIPPED", "PASSED") if w in out.stdout]
    outcome = found[0].lower() if found else f"exit {out.returncode}"
    return {
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "backend": jax.default_backend(),
        "device": jax.devices()[0].device_kind,
        "devices": jax.device_count(),
        "cudnn_test": outcome,
    }


def csum_msva(folds: int, epochs: int, dtype: str = "bfloat16") -> dict:
    """``folds`` fresh CSUM-MSVA trainings of ``epochs`` epochs: total wall and s / epoch."""
    from benchmarks.train_speed import train_epochs

    tic, steady, compiles, step = time.perf_counter(), [], 0, None
    for fold in range(folds):  # the folds share the compiled steps, as in experiments.run
        run = train_epochs("msva", "csum", epochs, dtype, seed=fold, step=step)
        step = run["step"]
        steady += [t for t, c in zip(run["times"], run["compiled"], strict=True) if not c]
        compiles += run["compiles"]
    return {
        "folds": folds,
        "epochs": epochs,
        "dtype": dtype,
        "wall_s": time.perf_counter() - tic,
        "s_per_epoch": float(np.mean(steady)) if steady else None,
        "compiles": compiles,
    }


def run_module(module: str, *args: str) -> dict:
    """``python -m module *args``, its output passed through; its command and exit code."""
    command = [sys.executable, "-m", module, *args]
    print("$", " ".join(command[1:]), flush=True)
    code = subprocess.run(command).returncode
    return {"command": " ".join(["python", *command[1:]]), "exit": code}


def main(argv=None) -> int:
    parser = make_parser("python -m benchmarks.gpu", __doc__, overrides=False)
    parser.add_argument("--out", default="docs/gpu")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--smoke", action="store_true", help="small parts, to check on a CPU")
    args = parser.parse_args(argv)
    if args.smoke:
        args.folds, args.epochs = 2, 2
    out = Path(args.out)
    env = environment()
    print(env, flush=True)
    msva = csum_msva(args.folds, args.epochs)
    print(msva, flush=True)
    try:
        import av  # noqa: F401

        stages = "decode,i3d,i3d-net,i3d-net-frames,i3d-net-f32"
    except ImportError:  # no decoder: the network alone
        stages = "i3d-net,i3d-net-frames,i3d-net-f32"
    video = ["--minutes", "0.1"] if args.smoke else []
    parts = {
        "video_throughput": run_module(
            "benchmarks.video_throughput",
            f"--extractors={stages}",
            "--batch=32",
            f"--out={out}",
            *video,
        ),
        "long_video": run_module(
            "benchmarks.long_video",
            "--backbones=crosstask_sm,crosstask_lm,visionary,a2summ,mhms",
            "--lengths=512" if args.smoke else "--lengths=1024,8192,65536",
            "--budget-s=30",
            f"--out={out}",
        ),
    }
    lines = [
        f"GPU rows (`python -m benchmarks.gpu{' --smoke' if args.smoke else ''}`) on "
        f"{env['device']} ({env['backend']}, {env['devices']} device(s)), jax {env['jax']}, "
        f"jaxlib {env['jaxlib']}. cuDNN attention test: {env['cudnn_test']}.",
        "",
        "| part | result |",
        "|---|---|",
        f"| CSUM-MSVA, {msva['folds']} fold(s) x {msva['epochs']} epochs, TVSum-shaped, "
        f"{msva['dtype']} | {msva['wall_s']:.1f} s in all (compiles included); "
        + (
            f"{msva['s_per_epoch']:.3f} s / epoch steady |"
            if msva["s_per_epoch"]
            else "every epoch compiled |"
        ),
    ]
    for name, part in parts.items():
        status = "done" if part["exit"] == 0 else f"failed (exit {part['exit']})"
        lines.append(f"| `{part['command']}` | {status}: [{name}.md]({name}.md) |")
    write_report(out / "gpu", "\n".join(lines), {"environment": env, "csum_msva": msva, **parts})
    return 0 if all(p["exit"] == 0 for p in parts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
