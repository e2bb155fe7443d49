"""Summary evaluation protocols (docs/data.md). NumPy/SciPy only, no JAX.

Keyshot F1, the protocol of every anchor:

1. step scores -> frame scores: each step's score is held until the next pick;
2. shot score = mean frame score inside each KTS segment (``change_points``);
3. 0/1 knapsack over shots (weights = shot lengths, capacity = floor(ratio * n_frames));
4. F1 against each user summary; TVSum averages over users (``mode="avg"``), SumMe takes the
   best user (``mode="max"``).

Rank correlation follows Otani et al. (CVPR 2019): the predicted frame scores against *each*
annotator's frame scores, Kendall's tau of the ranks and Spearman's rho, averaged over
annotators. All metrics are fractions in [0, 1] (or [-1, 1]), never percentages.

The anchors' code departs from this protocol in small ways that move the numbers; each
departure is a named ``Protocol`` variant here, so a result says which one it follows:

* ``int_shot_values``: shot values ``int(1000 * v)`` before the knapsack, as the OR-tools
  knapsack of vsumm-reinforce and MSVA requires (ties between close shots change);
* ``capacity_last_shot``: capacity ``int(0.15 * (last shot end + 1))``, as PGL-SUM and
  CA-SUM (equal to the standard one when the shots cover the whole video);
* ``f1_avg`` / ``f1_max``: combine F1 over users by mean or max whatever the dataset
  (SumMe's standard is max, TVSum's avg);
* ``msva_correlation``: MSVA's tau and rho, between the *binary* keyshot summary and the
  mean user summary, one value per video instead of one per annotator.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import stats

from csum.metrics.ranks import kendall_tau_b, spearman_rho

F1_MODES = ("avg", "max")
"""How F1 combines users: the mean over users (TVSum) or the best user (SumMe)."""

SCORE_FORMS = ("raw", "rank")
"""What the keyshot knapsack is given: a model's scores as they are, or each video's
scores as quantiles (``as_quantiles``)."""


def as_quantiles(step_scores) -> np.ndarray:
    """Each score's quantile within its video, ``(rank - 1/2) / n`` (ties share a rank).

    The knapsack of the F1 protocol sums shot means of the scores, so it is not invariant
    to a monotone transform of them, while a model trained only to rank (the CSUM regime
    with standardised scores: the top-k sees each video's scores up to shift and scale)
    leaves their shape arbitrary; a sigmoid head that drifts to a wide logit range puts
    most clips near 0 and a few near 1. Quantiles give such a ranking one fixed shape.
    Rank correlations are unchanged.

    Args:
        step_scores: [n_steps] scores.

    Returns:
        [n_steps] float64 in (0, 1).
    """
    s = np.asarray(step_scores, np.float64)
    return (stats.rankdata(s) - 0.5) / len(s)


def knapsack(values, weights, capacity: int) -> list[int]:
    """Exact 0/1 knapsack by dynamic programming over integer capacities.

    Args:
        values: [N] item values (float).
        weights: [N] positive integer item weights.
        capacity: integer capacity.

    Returns:
        Sorted indices of the chosen items, maximising the total value with total weight
        <= capacity. On ties the earlier items win (a later item enters only on a strict gain).
    """
    values = np.asarray(values, np.float64)
    weights = np.asarray(weights, np.int64)
    capacity = int(capacity)
    if capacity <= 0 or len(values) == 0:
        return []
    best = np.zeros(capacity + 1)
    take = np.zeros((len(values), capacity + 1), bool)
    for i, (v, w) in enumerate(zip(values, weights, strict=True)):
        if w > capacity or w <= 0:
            continue
        candidate = best[: capacity + 1 - w] + v
        better = candidate > best[w:] + 1e-12
        take[i, w:] = better
        best[w:] = np.where(better, candidate, best[w:])
    chosen, c = [], capacity
    for i in range(len(values) - 1, -1, -1):
        if take[i, c]:
            chosen.append(i)
            c -= int(weights[i])
    return sorted(chosen)


def step_to_frame_scores(step_scores, picks, n_frames: int) -> np.ndarray:
    """Holds each step's score from its pick until the next pick.

    Args:
        step_scores: [n_steps] scores.
        picks: [n_steps] increasing frame index of each step.
        n_frames: number of frames.

    Returns:
        [n_frames] float frame scores (frames before the first pick take the first score).
    """
    step_scores = np.asarray(step_scores, np.float64)
    picks = np.asarray(picks, np.int64)
    idx = np.searchsorted(picks, np.arange(n_frames), side="right") - 1
    return step_scores[np.clip(idx, 0, len(step_scores) - 1)]


def keyshot_summary(
    step_scores,
    change_points,
    n_frames: int,
    picks,
    ratio: float = 0.15,
    *,
    shot_values: str = "float",
    capacity: str = "n_frames",
) -> np.ndarray:
    """Binary keyshot summary of a video from its step scores.

    Args:
        step_scores: [n_steps] predicted importance per step.
        change_points: [n_segments, 2] inclusive frame bounds of each shot.
        n_frames: number of frames.
        picks: [n_steps] frame index of each step.
        ratio: summary length as a fraction of the video.
        shot_values: ``"float"`` (standard: the mean frame score of each shot) or
            ``"int"`` (``int(1000 * mean)``, truncated, as the OR-tools anchors).
        capacity: ``"n_frames"`` (standard: ``floor(ratio * n_frames)``) or
            ``"last_shot"`` (``int(ratio * (end of the last shot + 1))``, as PGL-SUM).

    Returns:
        bool [n_frames]: True on frames of the chosen shots.
    """
    frame_scores = step_to_frame_scores(step_scores, picks, n_frames)
    cps = np.asarray(change_points, np.int64)
    lengths = cps[:, 1] - cps[:, 0] + 1
    values = np.array([frame_scores[a : b + 1].mean() for a, b in cps])
    if shot_values == "int":
        values = np.trunc(values * 1000.0)
    elif shot_values != "float":
        raise ValueError(f"shot_values must be 'float' or 'int', not {shot_values!r}")
    if capacity == "n_frames":
        limit = math.floor(ratio * n_frames)
    elif capacity == "last_shot":
        limit = int(ratio * (int(cps[-1, 1]) + 1))
    else:
        raise ValueError(f"capacity must be 'n_frames' or 'last_shot', not {capacity!r}")
    chosen = knapsack(values, lengths, limit)
    summary = np.zeros(n_frames, bool)
    for i in chosen:
        summary[cps[i, 0] : cps[i, 1] + 1] = True
    return summary


def f1_score(summary, user_summary, mode: str) -> float:
    """F1 of a binary summary against every user summary, combined over users.

    Args:
        summary: [n_frames] bool predicted summary.
        user_summary: [U, n_frames] binary user summaries.
        mode: ``"avg"`` (TVSum: mean over users) or ``"max"`` (SumMe: best user).

    Returns:
        F1 as a fraction in [0, 1]. A user with an empty overlap contributes 0.
    """
    if mode not in F1_MODES:
        raise ValueError(f"f1_score mode must be one of {F1_MODES}, not {mode!r}")
    pred = np.asarray(summary, bool)
    users = np.asarray(user_summary) > 0
    if users.ndim != 2 or users.shape[1] != pred.shape[0]:
        raise ValueError(f"user_summary must be [U, {pred.shape[0]}], got {users.shape}")
    overlap = (users & pred[None]).sum(axis=1).astype(np.float64)
    precision = overlap / max(pred.sum(), 1)
    recall = overlap / np.maximum(users.sum(axis=1), 1)
    denom = precision + recall
    f1 = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0)
    return float(f1.mean() if mode == "avg" else f1.max())


def rank_correlation(frame_scores, user_scores) -> tuple[float, float]:
    """Otani et al. (2019) rank correlation against each annotator, averaged over them.

    Kendall's tau is ``kendalltau(rankdata(-pred), rankdata(-user))`` (tau-b, ties
    averaged), Spearman's rho is ``spearmanr(pred, user)``. An annotator (or a prediction)
    that is constant has no defined correlation; it counts as 0 rather than NaN. Every
    annotator is scored at once (``kendall_tau_b``, ``spearman_rho``): the per-call
    overhead of SciPy's functions, not their arithmetic, was most of an evaluation's time.

    Args:
        frame_scores: [n_frames] predicted scores.
        user_scores: [U, n_frames] each annotator's frame scores.

    Returns:
        (tau, rho), each averaged over annotators.
    """
    pred = np.asarray(frame_scores, np.float64)
    users = np.asarray(user_scores, np.float64)
    if users.ndim != 2 or users.shape[1] != pred.shape[0]:
        raise ValueError(f"user_scores must be [U, {pred.shape[0]}], got {users.shape}")
    if np.ptp(pred) == 0:
        return 0.0, 0.0
    live = np.ptp(users, axis=1) > 0
    taus, rhos = np.zeros(len(users)), np.zeros(len(users))
    if live.any():
        taus[live] = kendall_tau_b(pred, users[live])
        rhos[live] = spearman_rho(pred, users[live])
    return float(taus.mean()), float(rhos.mean())


def msva_correlation(summary, user_summary) -> tuple[float, float]:
    """MSVA's correlation: the binary keyshot summary against the mean user summary.

    ``kendalltau(rankdata(-mean_user), rankdata(-summary))`` and
    ``spearmanr(summary, mean_user)``, one pair per video (not Otani's protocol: the
    prediction is binarised first and the annotators are averaged before correlating).

    Args:
        summary: [n_frames] binary summary.
        user_summary: [U, n_frames] binary user summaries.

    Returns:
        (tau, rho); 0 where either side is constant.
    """
    pred = np.asarray(summary, np.float64)
    mean_user = (np.asarray(user_summary) > 0).mean(axis=0)
    if np.ptp(pred) == 0 or np.ptp(mean_user) == 0:
        return 0.0, 0.0
    tau = stats.kendalltau(stats.rankdata(-mean_user), stats.rankdata(-pred))[0]
    return float(tau), float(stats.spearmanr(pred, mean_user)[0])


@dataclasses.dataclass(frozen=True)
class Protocol:
    """How a video's scores become F1, tau and rho (module docstring lists the variants).

    Attributes:
        shot_values: ``"float"`` (standard) or ``"int"``.
        capacity: ``"n_frames"`` (standard) or ``"last_shot"``.
        f1_mode: ``None`` (the dataset's standard: TVSum avg, SumMe max), ``"avg"`` or
            ``"max"``.
        correlation: ``"otani"`` (standard) or ``"msva"``.
    """

    shot_values: str = "float"
    capacity: str = "n_frames"
    f1_mode: str | None = None
    correlation: str = "otani"

    def __post_init__(self):
        allowed = {
            "shot_values": ("float", "int"),
            "capacity": ("n_frames", "last_shot"),
            "f1_mode": (None, "avg", "max"),
            "correlation": ("otani", "msva"),
        }
        for field, values in allowed.items():
            if getattr(self, field) not in values:
                raise ValueError(
                    f"Protocol.{field} must be one of {values}, not {getattr(self, field)!r}"
                )

    @property
    def name(self) -> str:
        """``"standard"``, or the ``+``-joined names of the variants in use."""
        return "+".join(n for n, v in VARIANTS.items() if _uses(self, v)) or "standard"


VARIANTS = {
    "int_shot_values": Protocol(shot_values="int"),
    "capacity_last_shot": Protocol(capacity="last_shot"),
    "f1_avg": Protocol(f1_mode="avg"),
    "f1_max": Protocol(f1_mode="max"),
    "msva_correlation": Protocol(correlation="msva"),
}
"""Every departure from the standard protocol, by the name results carry."""

STANDARD = Protocol()


def _uses(protocol: Protocol, variant: Protocol) -> bool:
    """Whether ``protocol`` has every field that ``variant`` changes from the standard."""
    changed = [
        f.name
        for f in dataclasses.fields(Protocol)
        if getattr(variant, f.name) != getattr(STANDARD, f.name)
    ]
    return all(getattr(protocol, f) == getattr(variant, f) for f in changed)


def parse_protocol(spec: str) -> Protocol:
    """A protocol from ``"standard"`` or ``+``/``,``-separated variant names.

    Raises:
        ValueError: an unknown name (the message lists the known ones), or two variants
            that set the same field differently (``f1_avg+f1_max``).
    """
    fields: dict[str, object] = {}
    for name in spec.replace(",", "+").split("+"):
        name = name.strip()
        if name in ("", "standard"):
            continue
        if name not in VARIANTS:
            known = ", ".join(["standard", *VARIANTS])
            raise ValueError(f"unknown evaluation protocol variant {name!r}; known: {known}")
        for f in dataclasses.fields(Protocol):
            value = getattr(VARIANTS[name], f.name)
            if value != getattr(STANDARD, f.name):
                if fields.get(f.name, value) != value:
                    raise ValueError(f"protocol {spec!r} sets {f.name} twice")
                fields[f.name] = value
    return Protocol(**fields)


METRICS = ("f1", "kendall_tau", "spearman_rho")
"""The keys of ``evaluate_video``'s result, in table order."""


def evaluate_video(
    step_scores, video, mode: str, ratio: float = 0.15, protocol: Protocol = STANDARD
) -> dict[str, float]:
    """F1 and rank correlations of one video's step scores.

    Args:
        step_scores: [n_steps] predicted scores.
        video: a ``csum.data.Video`` (needs change_points, n_frames, picks, user_summary and
            optionally user_scores; without user_scores the user summaries are used as each
            annotator's frame scores, as for SumMe).
        mode: the dataset's F1 combination over users, ``"avg"`` or ``"max"`` (a protocol
            with ``f1_mode`` set overrides it).
        ratio: summary length ratio.
        protocol: the evaluation protocol; the standard one by default.

    Returns:
        ``{"f1", "kendall_tau", "spearman_rho"}`` as fractions.
    """
    summary = keyshot_summary(
        step_scores,
        video.change_points,
        video.n_frames,
        video.picks,
        ratio,
        shot_values=protocol.shot_values,
        capacity=protocol.capacity,
    )
    f1 = f1_score(summary, video.user_summary, protocol.f1_mode or mode)
    if protocol.correlation == "msva":
        tau, rho = msva_correlation(summary, video.user_summary)
    else:
        users = video.user_scores if video.user_scores is not None else video.user_summary
        frame_scores = step_to_frame_scores(step_scores, video.picks, video.n_frames)
        tau, rho = rank_correlation(frame_scores, users)
    return {"f1": f1, "kendall_tau": tau, "spearman_rho": rho}


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float]:
    """Key-wise mean of metric dicts (over videos, or over folds)."""
    return {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
