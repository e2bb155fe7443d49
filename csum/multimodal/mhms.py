"""MHMS's segment labels, segmentation and alignment-based cover selection (pure math).

Multimodal hierarchical multimedia summarization (Qiu et al., ``001_…``) summarizes a video
and its article in segments: video temporal segmentation (section 3.1) and textual
segmentation (3.3) cut both into parts, a visual summarizer (3.2) and a textual one (3.4)
give each part's candidates, and optimal transport (3.5) aligns the keyframe candidates
with the textual summary to pick the final multimodal summary. This module holds the
parts that are not a network: the boundary labels the two segmenters learn, Eq. 3's
binarisation, the candidates of each segment, and the OT alignment (Eqs. 10-12, solved by
IPOT, ``csum.nn.ot``) that ranks the keyframe candidates for the cover. No Flax, no config.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from csum.nn.ot import cosine_cost, ipot


def scene_ends(shots: np.ndarray, n_steps: int) -> np.ndarray:
    """[n_steps] float: 1 at the last step of every scene but the video's last scene.

    ``P_v`` of Eq. 3 as a label: the boundary between step t and t + 1 is a scene boundary.

    Args:
        shots: [S, 2] scene spans in steps (start inclusive, end exclusive), in order.
        n_steps: the video's length.
    """
    out = np.zeros(n_steps, np.float32)
    ends = np.asarray(shots, np.int64).reshape(-1, 2)[:, 1] - 1
    out[ends[(ends >= 0) & (ends < n_steps - 1)]] = 1.0
    return out


def text_ends(spans: np.ndarray, shots: np.ndarray) -> np.ndarray:
    """[M] float: 1 where sentence k + 1 belongs to another scene than sentence k.

    A sentence belongs to the scene that holds its midpoint (sentences in time order), so
    the textual segments are the scenes as the transcript tells them; the last sentence is
    never a boundary.

    Args:
        spans: [M, 2] each sentence's steps (start inclusive, end exclusive).
        shots: [S, 2] the scenes' steps.
    """
    spans = np.asarray(spans, np.float64).reshape(-1, 2)
    starts = np.asarray(shots, np.int64).reshape(-1, 2)[:, 0]
    scene = np.searchsorted(starts, spans.mean(axis=1), side="right") - 1
    out = np.zeros(len(spans), np.float32)
    out[:-1] = scene[1:] != scene[:-1]
    return out


def segments(boundaries: np.ndarray, tau: float = 0.5) -> list[tuple[int, int]]:
    """Eq. 3: the segments cut after every position whose boundary probability exceeds tau.

    Args:
        boundaries: [n] probability that position t ends a segment (the last is ignored).
        tau: the threshold.

    Returns:
        ``[(start, end), ...]`` covering ``0 .. n`` in order (end exclusive).
    """
    n = len(boundaries)
    cuts = np.flatnonzero(np.asarray(boundaries)[: max(n - 1, 0)] > tau) + 1
    edges = np.concatenate([[0], cuts, [n]]).astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def candidates(scores: np.ndarray, parts: list[tuple[int, int]]) -> np.ndarray:
    """[len(parts)] int: each segment's best-scored position (ties: the earliest): MHMS's
    keyframe of a video segment (3.2), or sentence of a textual segment (3.4)."""
    scores = np.asarray(scores)
    return np.asarray([a + int(np.argmax(scores[a:b])) for a, b in parts], np.int64)


def alignment_costs(
    keyframes: np.ndarray, sentences: np.ndarray, *, beta: float = 0.5, outer: int = 100
) -> np.ndarray:
    """[K] each keyframe candidate's mean transport cost to the textual summary.

    The OT plan between the keyframe embeddings and the summary sentences' embeddings
    (uniform masses, cosine cost, Eqs. 10-11; IPOT) sends each keyframe's mass to the
    sentences it matches; its cost per unit of mass says how well it is described by
    the summary. The cover frame is the candidate with the lowest one (section 3.5: "select
    the best match as the final multimodal summaries").

    Args:
        keyframes: [K, C] keyframe candidates' embeddings.
        sentences: [S, C] the textual summary's sentence embeddings.
        beta, outer: IPOT's proximal step and iterations.
    """
    cost = cosine_cost(jnp.asarray(keyframes, jnp.float32), jnp.asarray(sentences, jnp.float32))
    plan = ipot(cost, jnp.ones(cost.shape[0]), jnp.ones(cost.shape[1]), beta=beta, outer=outer)
    plan, cost = np.asarray(plan, np.float64), np.asarray(cost, np.float64)
    return (plan * cost).sum(1) / np.maximum(plan.sum(1), 1e-12)
