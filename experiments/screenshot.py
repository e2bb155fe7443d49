"""Renders a summaries page (``index.html`` of ``experiments.summarize``) to a PNG.

    python -m experiments.screenshot OUT/index.html --out=page.png
    python -m experiments.screenshot --demo --out=docs/images/index.png

``--demo`` first writes three generated videos (``csum.video.synthetic``: coloured,
patterned scenes with tones), summarizes them with ``experiments.summarize`` (defaults:
colour features, a CSUM model trained on the three), then renders that page: the
README's picture. The page is laid out by WeasyPrint and rasterised by pdfium, which a
documentation build needs and csum does not (``pip install weasyprint pypdfium2``; a
missing one is one error line). Video players are not rendered: a still renderer shows
the plots and keyframes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from experiments.cli import make_parser, run_command
from experiments.config_loader import ConfigError

DEMO = (("beach_day", 0), ("city_walk", 1), ("garden_party", 2))


def write_demo_videos(folder: Path) -> list[Path]:
    """Three ~45-second 320 x 180 videos of six scenes each (seeded)."""
    import numpy as np

    from csum.video.synthetic import PATTERNS, Scene, write_video

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, seed in DEMO:
        rng = np.random.default_rng(seed)
        scenes = [
            Scene(
                float(rng.uniform(4, 9)),
                tuple(int(c) for c in rng.integers(0, 256, 3)),
                PATTERNS[int(rng.integers(0, len(PATTERNS)))],
                float(rng.choice([0, 440, 660])),
            )
            for _ in range(6)
        ]
        path = folder / f"{name}.mp4"
        if not path.is_file():
            write_video(path, scenes, fps=25, size=(180, 320))
        paths.append(path)
    return paths


def render(page: Path, out: Path, width: int = 1100, height: int = 1400) -> None:
    """First screen (``width`` x ``height`` CSS pixels) of ``page`` as a PNG."""
    try:
        import pypdfium2
        import weasyprint
    except ImportError as err:
        raise ConfigError(f"rendering needs {err.name}: pip install weasyprint pypdfium2") from None
    if not page.is_file():
        raise ConfigError(f"{page}: no such page (run experiments.summarize first)")
    out.parent.mkdir(parents=True, exist_ok=True)
    pdf_path = out.with_suffix(".pdf")
    size = weasyprint.CSS(string=f"@page {{ size: {width}px {height}px; margin: 0 }}")
    weasyprint.HTML(str(page)).write_pdf(str(pdf_path), stylesheets=[size])
    pdf = pypdfium2.PdfDocument(str(pdf_path))
    pdf[0].render(scale=1.0).to_pil().save(out)
    pdf.close()
    pdf_path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("python -m experiments.screenshot", __doc__, overrides=False)
    parser.add_argument("page", nargs="?", help="an index.html written by experiments.summarize")
    parser.add_argument("--demo", action="store_true", help="summarize three generated videos")
    parser.add_argument("--work", default="/tmp/csum_demo", help="--demo's videos and outputs")
    parser.add_argument("--out", required=True, help="the PNG to write")

    def body(args, overrides) -> int:
        if args.demo == bool(args.page):
            raise ConfigError("give either an index.html or --demo")
        page = Path(args.page or "")
        if args.demo:
            from experiments.summarize import main as summarize

            work = Path(args.work)
            videos = write_demo_videos(work / "videos")
            code = summarize([*map(str, videos), f"--out={work / 'summaries'}"])
            if code:
                return code
            page = work / "summaries" / "index.html"
        render(page, Path(args.out))
        print(f"wrote {args.out}")
        return 0

    return run_command(parser, argv, body)


if __name__ == "__main__":
    sys.exit(main())
