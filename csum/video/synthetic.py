"""Small videos with known structure, written with PyAV: for tests, demos and benchmarks.

A video is a list of scenes, each a flat colour or a moving pattern of its own, joined by
hard cuts (or a cross-fade), with an optional sine tone on chosen scenes. Everything that
the decoding, feature, shot and summary code must get right is known by construction: the
cut times, the frames of each scene, where the audio is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

PATTERNS = ("flat", "stripes", "checker", "noise")


@dataclasses.dataclass(frozen=True)
class Scene:
    """One scene.

    Attributes:
        seconds: duration.
        colour: (r, g, b) in 0..255.
        pattern: one of ``PATTERNS``; stripes and checker move one pixel a frame.
        tone: sine frequency in Hz on the audio track during the scene, or 0 (silence).
    """

    seconds: float
    colour: tuple[int, int, int]
    pattern: str = "flat"
    tone: float = 0.0


def scene_frame(scene: Scene, i: int, height: int, width: int, rng) -> np.ndarray:
    """[H, W, 3] uint8 frame ``i`` of ``scene``."""
    base = np.broadcast_to(np.asarray(scene.colour, np.float32), (height, width, 3))
    y, x = np.mgrid[:height, :width]
    if scene.pattern == "stripes":
        mask = ((x + i) // 8) % 2 == 0
    elif scene.pattern == "checker":
        mask = (((x + i) // 12) + (y // 12)) % 2 == 0
    elif scene.pattern == "noise":
        return np.clip(base + rng.normal(0, 40, (height, width, 3)), 0, 255).astype(np.uint8)
    elif scene.pattern == "flat":
        return base.astype(np.uint8)
    else:
        raise ValueError(f"unknown pattern {scene.pattern!r}; known: {', '.join(PATTERNS)}")
    return np.where(mask[..., None], base, base * 0.4).astype(np.uint8)


def write_video(
    path,
    scenes: Sequence[Scene],
    fps: int = 25,
    size: tuple[int, int] = (96, 128),
    fade_frames: int = 0,
    audio: bool = True,
    sample_rate: int = 16000,
    seed: int = 0,
) -> list[int]:
    """Writes an H.264 (+ AAC) video of ``scenes`` and returns the first frame of each scene.

    Args:
        path: output file (.mp4, .mkv, ...).
        scenes: the scenes in order.
        fps: constant frame rate.
        size: (height, width), even numbers (yuv420p).
        fade_frames: cross-fade this many frames into every scene after the first (0: hard
            cuts).
        audio: write an AAC track (silence where a scene has no tone).
        sample_rate: audio sample rate.
        seed: noise patterns' seed.

    Returns:
        Frame index at which each scene starts (its cut, or the fade's first frame).
    """
    import av

    height, width = size
    rng = np.random.default_rng(seed)
    counts = [max(1, round(s.seconds * fps)) for s in scenes]
    starts = list(np.cumsum([0, *counts[:-1]]).astype(int))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "18"}
        sound = None
        if audio:
            sound = container.add_stream("aac", rate=sample_rate)
            sound.layout = "mono"
        previous = None
        for s, (scene, n) in enumerate(zip(scenes, counts, strict=True)):
            for i in range(n):
                frame = scene_frame(scene, i, height, width, rng)
                if s and i < fade_frames and previous is not None:
                    a = (i + 1) / (fade_frames + 1)
                    frame = (a * frame + (1 - a) * previous).astype(np.uint8)
                for packet in video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
            previous = frame
        for packet in video.encode():
            container.mux(packet)
        if sound is not None:
            _write_tones(container, sound, scenes, counts, fps, sample_rate)
    return starts


def _write_tones(container, sound, scenes, counts, fps, sample_rate) -> None:
    import av

    pieces = []
    for scene, n in zip(scenes, counts, strict=True):
        t = np.arange(round(n / fps * sample_rate)) / sample_rate
        pieces.append(0.5 * np.sin(2 * np.pi * scene.tone * t) if scene.tone else 0 * t)
    signal = np.concatenate(pieces).astype(np.float32)
    chunk = 1024  # AAC frame size
    for start in range(0, len(signal), chunk):
        part = signal[start : start + chunk]
        frame = av.AudioFrame.from_ndarray(part[None], format="fltp", layout="mono")
        frame.sample_rate, frame.pts = sample_rate, start
        for packet in sound.encode(frame):
            container.mux(packet)
    for packet in sound.encode():
        container.mux(packet)
