"""Writing a summary video with PyAV: the chosen frame ranges, re-encoded with their audio.

One pass over the source's video stream keeps the frames inside the chosen ranges (H.264,
yuv420p, the source's average frame rate; the middle frame of each range is returned as
that range's keyframe) and records each range's presentation times; a second pass over the
audio stream keeps the samples inside those times (AAC, the source's rate, mono or
stereo). Memory holds one frame and one audio chunk at a time.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from csum.files import atomic
from csum.video.decode import _open, _rotation, _upright


def write_summary(source, ranges: np.ndarray, out, keyframe_size: int = 320) -> list[np.ndarray]:
    """Writes ``out`` (.mp4) with the frames of ``ranges`` of ``source``, in order.

    Args:
        source: the original video.
        ranges: [m, 2] inclusive frame ranges (presentation indices), sorted.
        out: the summary file.
        keyframe_size: width of the returned keyframes.

    Returns:
        One RGB keyframe [h, w, 3] uint8 per range (its middle frame, upright).
    """

    ranges = np.asarray(ranges, np.int64)
    middles = {int((a + b) // 2): i for i, (a, b) in enumerate(ranges)}
    keyframes: list[np.ndarray | None] = [None] * len(ranges)
    spans: list[list[float]] = [[np.inf, -np.inf] for _ in ranges]
    src = _open(source)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with atomic(out) as tmp:
        try:
            _encode(src, Path(tmp), ranges, middles, keyframes, spans, keyframe_size, source)
        finally:
            src.close()
    return [k if k is not None else np.zeros((2, 2, 3), np.uint8) for k in keyframes]


def _encode(src, tmp: Path, ranges, middles, keyframes, spans, keyframe_size, source) -> None:
    """Writes the ranges of ``src`` to ``tmp``; fills ``keyframes`` and ``spans``."""
    import av

    vin = src.streams.video[0]
    rate = Fraction(vin.average_rate or 25).limit_denominator(1001)
    has_audio = bool(src.streams.audio)
    with av.open(str(tmp), "w") as dst:
        vout = dst.add_stream("libx264", rate=rate)
        vout.pix_fmt = "yuv420p"
        vout.options = {"preset": "veryfast", "crf": "23"}
        aout = None
        if has_audio:
            ain = src.streams.audio[0]
            layout = "stereo" if ain.codec_context.channels >= 2 else "mono"
            aout = dst.add_stream("aac", rate=ain.codec_context.sample_rate)
            aout.layout = layout
        n, rotation, r = 0, None, 0
        for index, frame in enumerate(src.decode(vin)):
            while r < len(ranges) and index > ranges[r, 1]:
                r += 1
            if r == len(ranges):
                break
            if index < ranges[r, 0]:
                continue
            rotation = _rotation(vin, frame) if rotation is None else rotation
            rgb = _upright(frame.to_ndarray(format="rgb24"), rotation)
            if n == 0:
                h, w = rgb.shape[:2]
                vout.width, vout.height = w - w % 2, h - h % 2
            rgb = np.ascontiguousarray(rgb[: vout.height, : vout.width])
            t = frame.time if frame.time is not None else index / float(rate)
            spans[r] = [min(spans[r][0], t), max(spans[r][1], t + 1 / float(rate))]
            if index in middles:
                keyframes[middles[index]] = _thumbnail(rgb, keyframe_size)
            out_frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            out_frame.pts = n
            out_frame.time_base = 1 / rate
            for packet in vout.encode(out_frame):
                dst.mux(packet)
            n += 1
        for packet in vout.encode():
            dst.mux(packet)
        if aout is not None:
            _copy_audio(source, aout, dst, [s for s in spans if s[0] < s[1]])


def _thumbnail(rgb: np.ndarray, width: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    step = max(1, w // width)
    return np.ascontiguousarray(rgb[::step, ::step])


def _copy_audio(source, aout, dst, spans) -> None:
    import av

    rate = aout.codec_context.sample_rate
    resampler = av.AudioResampler(format="fltp", layout=aout.layout.name, rate=rate)
    fifo = av.AudioFifo()
    written = 0
    with av.open(str(source)) as src:
        ain = src.streams.audio[0]
        start = None
        try:
            for frame in src.decode(ain):
                for chunk in resampler.resample(frame):
                    t0 = chunk.time if chunk.time is not None else 0.0
                    start = t0 if start is None else start
                    x = chunk.to_ndarray()
                    times = t0 + np.arange(x.shape[1]) / rate
                    keep = np.zeros(x.shape[1], bool)
                    for a, b in spans:
                        keep |= (times >= a) & (times < b)
                    if keep.any():
                        kept = np.ascontiguousarray(x[:, keep])
                        part = av.AudioFrame.from_ndarray(
                            kept, format="fltp", layout=aout.layout.name
                        )
                        part.sample_rate, part.pts = rate, None
                        fifo.write(part)
                    while fifo.samples >= 1024:
                        out = fifo.read(1024)
                        out.pts, written = written, written + 1024
                        for packet in aout.encode(out):
                            dst.mux(packet)
        except av.error.FFmpegError:
            pass  # a truncated audio track: keep what decoded
    if fifo.samples:
        out = fifo.read()
        out.pts = written
        for packet in aout.encode(out):
            dst.mux(packet)
    for packet in aout.encode():
        dst.mux(packet)
