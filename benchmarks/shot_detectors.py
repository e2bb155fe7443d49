"""Shot boundaries: KTS on csum's features against PySceneDetect's content detector.

    python -m benchmarks.shot_detectors [--videos=8] [--seed=5] [--out docs]

Needs PySceneDetect, which csum does not depend on: ``pip install scenedetect==0.7.2
opencv-python-headless==5.0.0.93``. Writes ``--videos`` generated videos
(``csum.video.synthetic``: 4-8 scenes of 1.5-8 s, random colours and patterns, hard cuts
or 10-frame fades, 25 fps) and compares the cuts found with the true ones: KTS on the
``colour`` extractor's step features (``csum.video.summary.shots``, the default of
``experiments.summarize``) and ``scenedetect.ContentDetector`` with its defaults on every
frame. A cut counts as found within one step (12.5 frames) plus the fade; a found cut
farther than that from every true cut is false. Writes ``shot_detectors.{md,json}``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from experiments.cli import make_parser, write_report


def main(argv=None) -> int:
    parser = make_parser("python -m benchmarks.shot_detectors", __doc__, overrides=False)
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", default="docs")
    args = parser.parse_args(argv)
    try:
        from scenedetect import ContentDetector, detect
    except ImportError:
        print(
            "error: needs PySceneDetect: pip install scenedetect==0.7.2 "
            "opencv-python-headless==5.0.0.93"
        )
        return 2
    from csum.video.features import EXTRACTORS, extract
    from csum.video.summary import shots
    from csum.video.synthetic import PATTERNS, Scene, write_video

    rng = np.random.default_rng(args.seed)
    totals = {"KTS (colour features)": [0, 0, 0], "PySceneDetect ContentDetector": [0, 0, 0]}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.videos):
            scenes = [
                Scene(
                    float(rng.uniform(1.5, 8)),
                    tuple(int(c) for c in rng.integers(0, 256, 3)),
                    PATTERNS[int(rng.integers(4))],
                )
                for _ in range(int(rng.integers(4, 9)))
            ]
            fade = int(rng.choice([0, 0, 10]))
            path = Path(tmp) / f"v{i}.mp4"
            cuts = np.array(write_video(path, scenes, fps=25, fade_frames=fade, audio=False)[1:])
            f = extract(path, EXTRACTORS.build("colour"), audio=False)
            found = {
                "KTS (colour features)": shots(f.features, f.picks, f.n_frames)[1:, 0],
                "PySceneDetect ContentDetector": np.array(
                    [
                        s[0].frame_num
                        for s in detect(str(path), ContentDetector(), backend="pyav")[1:]
                    ]
                ),
            }
            tol = 12.5 + fade
            for name, got in found.items():
                hit = sum(bool(len(got)) and np.min(np.abs(got - c)) <= tol for c in cuts)
                false = sum(np.min(np.abs(cuts - x)) > tol for x in got)
                totals[name] = [
                    int(totals[name][0] + hit),
                    totals[name][1] + len(cuts),
                    int(totals[name][2] + false),
                ]
    lines = [
        f"Shot boundaries on {args.videos} generated videos (seed {args.seed}; `python -m "
        "benchmarks.shot_detectors`)",
        "",
        "| detector | true cuts found | false cuts |",
        "|---|---|---|",
    ]
    for name, (hit, n, false) in totals.items():
        lines.append(f"| {name} | {hit} / {n} | {false} |")
    write_report(Path(args.out) / "shot_detectors", "\n".join(lines), totals, indent=1)
    return 0


if __name__ == "__main__":
    main()
