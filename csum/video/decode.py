"""Streaming video decoding with PyAV, sampled on the benchmarks' 2 fps step grid.

The eccv16 feature files (and so every backbone) see a video as steps every 0.5 s, with
``picks`` the index of the frame behind each step. ``steps`` reproduces that grid on any
file FFmpeg reads: step k is the first decoded frame at or after ``k * step_seconds`` (in
presentation time, so variable frame rates land on the right frames; a gap longer than a
step repeats the last frame), and its pick is that frame's index in presentation order.
Frames are converted to RGB at a requested size by FFmpeg (swscale) and turned upright
when the stream carries rotation metadata. Only the last ``window`` converted frames are
kept, so memory is bounded by the window, not the video: a 2-hour 1080p video streams in
the memory of a few small frames.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from csum.data.errors import DataError

STEP_SECONDS = 0.5
"""The benchmarks' step: 2 steps a second (every 15th frame at 30 fps)."""


class VideoError(DataError):
    """A file that cannot be decoded as a video (one line naming it)."""


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video before decoding.

    Attributes:
        path: the file.
        duration: seconds (container duration, else the video stream's).
        fps: average frame rate of the video stream.
        width, height: coded frame size (before rotation).
        rotation: clockwise rotation in degrees that makes frames upright (0, 90, 180, 270).
        has_audio: whether an audio stream exists.
    """

    path: Path
    duration: float
    fps: float
    width: int
    height: int
    rotation: int
    has_audio: bool

    @property
    def n_steps(self) -> int:
        """Steps the grid will have (from the duration; decoding gives the exact count)."""
        return max(1, int(np.ceil(self.duration / STEP_SECONDS - 1e-9)))


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of the grid.

    Attributes:
        index: step number k.
        seconds: the grid time ``k * step_seconds``.
        pick: presentation index of the frame behind the step.
        frames: [window, H, W, 3] uint8 RGB, the step's frame last (earlier ones repeat the
            first frame at the start of the video).
    """

    index: int
    seconds: float
    pick: int
    frames: np.ndarray


def _open(path):
    import av

    path = Path(path)
    if not path.is_file():
        raise VideoError(path, "no such file")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise VideoError(path, f"unreadable video ({type(e).__name__}: {e})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(path, "no video stream")
    return container


def _rotation(stream, frame=None) -> int:
    """Clockwise degrees (0, 90, 180, 270) that turn the stored frames upright.

    From the frame's display matrix (PyAV's ``frame.rotation``: counter-clockwise degrees,
    FFmpeg's ``av_display_rotation_get``), else the stream's legacy ``rotate`` tag
    (clockwise degrees).
    """
    angle = getattr(frame, "rotation", 0) if frame is not None else 0
    if angle:
        return int(round(-float(angle) / 90.0)) % 4 * 90
    tag = stream.metadata.get("rotate", 0) or 0
    return int(round(float(tag) / 90.0)) % 4 * 90


def probe(path) -> VideoInfo:
    """Reads a video's container metadata (no decoding).

    Raises:
        VideoError: missing or unreadable file, no video stream, zero duration.
    """
    container = _open(path)
    try:
        stream = container.streams.video[0]
        if container.duration:
            duration = container.duration / 1_000_000
        elif stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = 0.0
        fps = float(stream.average_rate or stream.guessed_rate or 0.0)
        info = VideoInfo(
            Path(path),
            duration,
            fps,
            stream.codec_context.width,
            stream.codec_context.height,
            _rotation(stream),
            bool(container.streams.audio),
        )
    finally:
        container.close()
    return info


def _upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    return np.rot90(rgb, k=-(rotation // 90)) if rotation else rgb


def steps(
    path,
    size: tuple[int, int] = (112, 112),
    window: int = 1,
    step_seconds: float = STEP_SECONDS,
    stats: dict | None = None,
) -> Iterator[Step]:
    """Streams a video's steps on the ``step_seconds`` grid.

    Args:
        path: any file FFmpeg decodes.
        size: (height, width) of the returned frames (after turning them upright).
        window: frames returned per step: the step's frame and the ``window - 1`` decoded
            frames before it (a feature extractor's temporal context, e.g. 16 for I3D).
        step_seconds: grid spacing.
        stats: if given, receives ``n_frames`` (frames decoded) when the stream ends.

    Yields:
        ``Step`` per grid time, in order.

    Raises:
        VideoError: an unreadable or truncated file, or a video with no decodable frame.
    """
    import av

    container = _open(path)
    height, width = size
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        recent: deque[np.ndarray] = deque(maxlen=window)
        k, index, last, start = 0, 0, None, None
        rotation = None
        try:
            for frame in container.decode(stream):
                t = frame.time if frame.time is not None else index / float(stream.average_rate)
                start = t if start is None else start
                t -= start  # grid relative to the first frame (streams may start late)
                if rotation is None:
                    rotation = _rotation(stream, frame)
                due = t + 1e-6 >= k * step_seconds
                if window > 1 or due:
                    w, h = (height, width) if rotation in (90, 270) else (width, height)
                    rgb = _upright(frame.to_ndarray(format="rgb24", width=w, height=h), rotation)
                    recent.append(rgb)
                    last = (index, rgb)
                while t + 1e-6 >= k * step_seconds:
                    yield Step(k, k * step_seconds, index, _window(recent, window))
                    k += 1
                index += 1
        except av.error.FFmpegError as e:
            if k == 0:
                raise VideoError(path, f"undecodable video ({type(e).__name__}: {e})") from None
            # A truncated file: keep the steps decoded so far (FFmpeg players do the same).
        if last is None:
            raise VideoError(path, "no decodable video frame")
        if stats is not None:
            stats["n_frames"] = index
    finally:
        container.close()


def _window(recent: deque, window: int) -> np.ndarray:
    frames = list(recent)
    frames = [frames[0]] * (window - len(frames)) + frames
    return np.stack(frames)


def frame_count(path) -> int:
    """Decoded video frames (exact, by decoding; bounded memory)."""
    container = _open(path)
    try:
        return sum(1 for _ in container.decode(container.streams.video[0]))
    finally:
        container.close()
