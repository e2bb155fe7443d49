"""Builds a standard eccv16-layout TVSum or SumMe file from per-video features.

What each key is, and how it is made from the shipped annotations:

* ``picks``: every 15th frame (2 fps for 30 fps video), so ``n_steps = ceil(n_frames / 15)``;
  the features must have exactly that many rows.
* ``change_points`` / ``n_frame_per_seg``: KTS shots from the features
  (``csum.data.kts.kts_change_points``: L2-normalised steps, linear kernel, cpd_auto's
  penalty with vmax = 1, no cap on the number of shots).
* ``user_summary``: SumMe: each user's own selection. TVSum: annotators scored frames, not
  summaries, so each annotator's summary is made as a machine summary would be: the mean
  of their 1..5 scores in every shot, then the 0/1 knapsack of the shots at 15% of the
  frames (``csum.metrics.evaluation.keyshot_summary``), as Zhang et al. (ECCV 2016) made them.
* ``user_scores`` (TVSum only): the raw [20, n_frames] annotator scores, so that Otani's
  rank correlation can be computed from the file alone.
* ``gtscore``: the mean annotator score at each pick, min-max normalised to [0, 1] per
  video (the supervised regimes normalise it that way anyway).

Usage::

    python -m csum.data.build --dataset tvsum --features feats/ --out eccv16_tvsum.h5

``--features`` is a directory of ``<video name>.npy`` files ([n_steps, D], name = YouTube id
for TVSum, the GT file's stem for SumMe) or an h5 file with one group per video (matched by
``video_name``, else by position for TVSum: ``video_i`` is the i-th TVSum entry).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import h5py
import numpy as np

from csum.data.annotations import Annotation, read_annotations, read_tvsum_mat, tvsum_entry
from csum.data.eccv16 import check_features, write_eccv16
from csum.data.errors import DataError
from csum.data.kts import SAMPLE_RATE, kts_change_points
from csum.data.records import Video
from csum.metrics.evaluation import keyshot_summary


def user_summaries(annotation: Annotation, dataset: str, change_points) -> np.ndarray:
    """[U, n_frames] binary user summaries of one video (module docstring)."""
    if dataset == "summe":
        return (annotation.user_scores > 0).astype(np.float32)
    frames = np.arange(annotation.n_frames)
    return np.stack(
        [
            keyshot_summary(scores, change_points, annotation.n_frames, frames)
            for scores in annotation.user_scores
        ]
    ).astype(np.float32)


def annotated_video(
    annotation: Annotation,
    dataset: str,
    key: str,
    change_points: np.ndarray,
    features: tuple[np.ndarray, ...] = (),
) -> Video:
    """A video in the eccv16 form from its annotation, shots and (optional) features.

    Args:
        annotation: the video's human annotation.
        dataset: ``"tvsum"`` or ``"summe"``.
        key: the group name, ``video_i``.
        change_points: [n_shots, 2] inclusive frame bounds.
        features: step features, [ceil(n_frames / 15), D] each; none for baselines.

    Returns:
        The video with picks, user summaries, gtscore and (TVSum) user_scores.
    """
    n = annotation.n_frames
    picks = np.arange(0, n, SAMPLE_RATE, dtype=np.int64)
    mean = annotation.user_scores.mean(axis=0)[picks]
    spread = np.ptp(mean)
    gtscore = (mean - mean.min()) / spread if spread > 0 else np.zeros_like(mean)
    return Video(
        key=key,
        features=features,
        n_frames=n,
        picks=picks,
        change_points=np.asarray(change_points, np.int64),
        user_summary=user_summaries(annotation, dataset, change_points),
        gtscore=gtscore.astype(np.float32),
        user_scores=annotation.user_scores.astype(np.float32) if dataset == "tvsum" else None,
        name=annotation.name,
    )


def features_from_dir(directory, annotations: list[Annotation]) -> list[np.ndarray]:
    """One ``<name>.npy`` array per annotated video, in annotation order."""
    directory = Path(directory)
    out = []
    for a in annotations:
        path = directory / f"{a.name}.npy"
        if not path.is_file():
            raise DataError(directory, f"no features file {path.name}", a.name, path.name)
        try:
            out.append(np.load(path, allow_pickle=False))
        except (OSError, ValueError) as e:
            raise DataError(path, f"not a readable .npy array ({e})", a.name) from None
    return out


def features_from_h5(path, annotations: list[Annotation], dataset: str, key="features"):
    """Each annotated video's features from an h5 with one group per video, in order.

    Groups are matched by ``video_name``; TVSum groups without one by position in the
    standard TVSum order (``video_i`` is its i-th video), whatever ``annotations`` holds.
    """
    path = Path(path)
    standard = read_tvsum_mat() if dataset == "tvsum" else []
    with h5py.File(path, "r") as f:
        by_annotation = {}
        for group in f:
            name = f[group]["video_name"][()] if "video_name" in f[group] else group
            name = name.decode() if isinstance(name, bytes) else str(name)
            if dataset == "tvsum":
                name = tvsum_entry(group, name, standard, path).name
            by_annotation[name] = group
        out = []
        for a in annotations:
            if a.name not in by_annotation:
                raise DataError(path, "no group for this video (match is by video_name)", a.name)
            g = f[by_annotation[a.name]]
            if key not in g:
                raise DataError(path, "missing features key", by_annotation[a.name], key)
            out.append(np.asarray(g[key][()]))
    return out


def build_dataset(
    dataset: str,
    features,
    out,
    *,
    feature_key: str = "features",
    vmax: float = 1.0,
    max_cp: int | None = None,
    normalize: bool = True,
    annotations: list[Annotation] | None = None,
) -> Path:
    """Writes the eccv16 file of a dataset from its features and the real annotations.

    Args:
        dataset: ``"tvsum"`` or ``"summe"``.
        features: a directory of ``.npy`` files or an h5 file (module docstring).
        out: the h5 file to write.
        feature_key: the features' key in an h5 source.
        vmax, max_cp, normalize: KTS settings (``csum.data.kts.kts_change_points``).
        annotations: the annotations; the shipped ones of ``dataset`` by default.

    Returns:
        ``out``, with groups ``video_1 ..`` in annotation order.

    Raises:
        DataError: a missing video, non-finite values, or a feature length other than
            ``ceil(n_frames / 15)``, naming the file, video and key.
    """
    annotations = read_annotations(dataset) if annotations is None else annotations
    src = Path(features)
    if src.is_dir():
        arrays = features_from_dir(src, annotations)
    elif src.is_file():
        arrays = features_from_h5(src, annotations, dataset, feature_key)
    else:
        raise DataError(src, "features not found: expected a directory of .npy or an h5 file")
    videos = []
    for i, (a, x) in enumerate(zip(annotations, arrays, strict=True)):
        x = check_features(x, src, a.name, feature_key, 1, arrays[0].shape[-1])
        want = math.ceil(a.n_frames / SAMPLE_RATE)
        if x.shape[0] != want:
            raise DataError(
                src,
                f"{x.shape[0]} feature steps, expected ceil({a.n_frames} "
                f"frames / {SAMPLE_RATE}) = {want}",
                a.name,
                feature_key,
            )
        cps = kts_change_points(x, a.n_frames, max_cp=max_cp, vmax=vmax, normalize=normalize)
        videos.append(annotated_video(a, dataset, f"video_{i + 1}", cps, (x,)))
    write_eccv16(out, videos)
    return Path(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m csum.data.build", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--dataset", choices=("tvsum", "summe"), required=True)
    parser.add_argument("--features", required=True, help="directory of <name>.npy, or h5")
    parser.add_argument("--feature-key", default="features", help="key in an h5 source")
    parser.add_argument("--out", required=True, help="eccv16 h5 file to write")
    parser.add_argument("--vmax", type=float, default=1.0, help="KTS penalty weight")
    parser.add_argument("--max-cp", type=int, default=None, help="cap on KTS change points")
    parser.add_argument("--no-normalize", action="store_true", help="KTS on raw features")
    args = parser.parse_args(argv)
    try:
        path = build_dataset(
            args.dataset,
            args.features,
            args.out,
            feature_key=args.feature_key,
            vmax=args.vmax,
            max_cp=args.max_cp,
            normalize=not args.no_normalize,
        )
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
