"""Named input streams and targets beside a video's visual sources, and how they are padded.

Every model in csum reads a batch through one contract (``backbones.registry``):

* ``features``: the visual sources, one [B, T, D_s] array each, and ``mask`` [B, T]; a
  model with an audio encoder (``transformer(audio=True)``) reads the last source as audio;
* ``streams``: named optional inputs, each padded on its own axis with a ``{name}_mask``:
  ``query`` [B, L, D_q] (a query's token features), ``text`` [B, S, D_t] (a transcript's
  sentence features) with ``text_spans`` [B, S, 2] (each sentence's steps, start
  inclusive, end exclusive: its time alignment);
* ``targets``: named labels of the tasks that need more than ``gtscore``: ``saliency``
  [B, T] (a clip's relevance to the query, in [0, 1]), ``moments`` [B, M, 2] (relevant step
  spans, end exclusive) with ``moments_mask``, ``text_labels`` [B, S] (a sentence belongs
  in the text summary), ``scene_ends`` [B, T] and ``text_ends`` [B, S] (a scene ends after
  the step, a textual segment after the sentence: MHMS's segmentation labels).

A backbone declares the streams it reads (``streams`` attribute, default none); the model
hands it exactly those (``backbones.registry.outputs``), and ``missing_streams`` names any
that the data lacks before work starts. Video-only data has empty ``streams`` and
``targets``: the batches, the compiled programs and every result of the video-only models
are what they were before streams existed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

TOKEN_STREAMS = ("query", "text")
"""Streams that are sequences of their own length (each gets a ``{name}_mask``)."""
PAIRED = {"text_spans": "text", "text_labels": "text", "text_ends": "text"}
"""Per-token arrays padded like the stream they describe."""
STEP_TARGETS = ("saliency", "scene_ends")
"""Targets with one value per step, padded like the video."""
SET_TARGETS = ("moments",)
"""Targets that are sets of rows (each gets a ``{name}_mask``)."""
KNOWN = TOKEN_STREAMS + tuple(PAIRED) + STEP_TARGETS + SET_TARGETS
TOKEN_QUANTUM = 8
"""Token and set lengths are padded to a multiple of this: few compiled shapes."""


def padded_length(n: int, quantum: int = TOKEN_QUANTUM) -> int:
    """``n`` rounded up to a multiple of ``quantum`` (at least one quantum)."""
    return quantum * max(1, math.ceil(n / quantum))


def collate_named(
    items: Sequence[Mapping[str, np.ndarray]], batch_size: int, steps: int
) -> dict[str, np.ndarray]:
    """Pads the named arrays of up to ``batch_size`` videos into batch arrays.

    Args:
        items: each video's ``streams`` (or ``targets``); all with the same names.
        batch_size: slots B (slots beyond ``len(items)`` are zero, their masks False).
        steps: the batch's padded length T (for step targets).

    Returns:
        ``{name: [B, ...]}`` plus ``{name}_mask`` [B, L] for token streams and sets.

    Raises:
        ValueError: videos with different names, an unknown name, or different trailing
            shapes.
    """
    names = set(items[0]) if items else set()
    for item in items[1:]:
        if set(item) != names:
            raise ValueError(
                f"videos of one batch carry different streams: {sorted(names)} and {sorted(item)}"
            )
    unknown = sorted(names - set(KNOWN))
    if unknown:
        raise ValueError(f"unknown stream or target {unknown}; known: {', '.join(KNOWN)}")
    out = {}
    for name in sorted(names):
        arrays = [np.asarray(item[name]) for item in items]
        if name in STEP_TARGETS:
            length = steps
        else:
            owner = PAIRED.get(name, name)
            owner = owner if owner in names else name  # a target of a stream: same length
            length = padded_length(max(len(item[owner]) for item in items))
        tail = arrays[0].shape[1:]
        if any(a.shape[1:] != tail for a in arrays):
            raise ValueError(
                f"stream {name!r}: videos disagree on its trailing shape "
                f"({sorted({a.shape[1:] for a in arrays})})"
            )
        dtype = np.float32 if arrays[0].dtype == np.float64 else arrays[0].dtype
        batch = np.zeros((batch_size, length, *tail), dtype)
        mask = np.zeros((batch_size, length), bool)
        for b, a in enumerate(arrays):
            batch[b, : len(a)] = a
            mask[b, : len(a)] = True
        out[name] = batch
        if name in TOKEN_STREAMS or name in SET_TARGETS:
            out[f"{name}_mask"] = mask
    return out


def missing_streams(needed: Sequence[str], available: Mapping) -> list[str]:
    """The streams in ``needed`` that ``available`` (a video's ``streams``) lacks."""
    return [name for name in needed if name not in available]
