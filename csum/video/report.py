"""What a person looks at: the score plot of a video, its keyframes, and the collection page."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from csum.files import write_text


def plot_scores(
    path,
    seconds: np.ndarray,
    scores: np.ndarray,
    selected: np.ndarray,
    highlights: list,
    keyframes: list[np.ndarray],
    title: str,
) -> None:
    """Writes ``scores.png``: the score curve over time, chosen shots shaded, highlight
    segments marked, and the keyframes of the chosen shots along the top.

    Args:
        path: the PNG file.
        seconds: [n_steps] time of each step.
        scores: [n_steps] step scores.
        selected: [m, 2] chosen (start, end) seconds.
        highlights: [(start s, end s, score)] highlight segments.
        keyframes: one RGB image per chosen shot.
        title: the figure title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = 2 if keyframes else 1
    fig = plt.figure(figsize=(10, 3.2 + 1.4 * (rows - 1)))
    grid = fig.add_gridspec(rows, max(1, len(keyframes)), height_ratios=[1, 2.2][-rows:])
    for i, image in enumerate(keyframes):
        ax = fig.add_subplot(grid[0, i])
        ax.imshow(image)
        ax.set_axis_off()
        ax.set_title(f"{selected[i][0]:.1f}-{selected[i][1]:.1f} s", fontsize=7)
    ax = fig.add_subplot(grid[rows - 1, :])
    ax.plot(seconds, scores, lw=1.2, color="tab:blue", label="score")
    for i, (a, b) in enumerate(selected):
        ax.axvspan(a, b, color="tab:orange", alpha=0.3, label="summary" if i == 0 else None)
    for i, (a, b, _) in enumerate(highlights):
        ax.hlines(
            ax.get_ylim()[1], a, b, color="tab:red", lw=4, label="highlight" if i == 0 else None
        )
    ax.set_xlabel("time (s)")
    ax.set_ylabel("score")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def save_image(path, rgb: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.imsave(path, rgb)


def write_index(out: Path, entries: list[dict]) -> Path:
    """Writes ``out/index.html``: per video its plot, keyframes and summary player.

    Args:
        out: the output folder (each video's files under ``out/<name>/``).
        entries: per video ``{"name", "duration", "summary_seconds", "keyframes": [file
            names], "error": message or absent}``.
    """
    parts = [
        "<!doctype html><meta charset=utf-8><title>csum summaries</title>",
        "<style>body{font-family:sans-serif;margin:2em}section{margin-bottom:3em}"
        "img.k{height:90px;margin:2px}video{max-width:640px}</style>",
        f"<h1>csum summaries ({len(entries)} videos)</h1>",
    ]
    for e in entries:
        name = html.escape(e["name"])
        if e.get("error"):
            parts.append(
                f"<section><h2>{name}</h2><p>failed: {html.escape(e['error'])}</p></section>"
            )
            continue
        frames = "".join(
            f'<img class=k src="{name}/keyframes/{html.escape(k)}">' for k in e["keyframes"]
        )
        parts.append(
            f"<section><h2>{name}</h2><p>{e['duration']:.0f} s, summary "
            f'{e["summary_seconds"]:.0f} s</p><img src="{name}/scores.png"><div>{frames}</div>'
            f'<video controls src="{name}/summary.mp4"></video></section>'
        )
    return write_text(out / "index.html", "\n".join(parts) + "\n")
