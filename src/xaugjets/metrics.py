"""Tagger performance figures (docs/physics.md "Performance") from scores and labels, with optional event weights."""

from __future__ import annotations

import numpy as np

SIGNAL_EFFICIENCIES = (0.3, 0.5)
BACKGROUND_EFFICIENCIES = (1e-2, 1e-1)


def roc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(εB, εS) at every distinct score threshold, starting at (0, 0); tied scores form one point.

    Plain numpy (no scikit-learn import) so that short plotting jobs start fast.
    """
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=np.float64)
    order = np.argsort(-np.asarray(scores), kind="stable")
    sorted_scores = np.asarray(scores)[order]
    is_sig = np.asarray(labels)[order] == 1
    w = weights[order]
    sig = np.cumsum(np.where(is_sig, w, 0.0))
    bkg = np.cumsum(np.where(is_sig, 0.0, w))
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
    sig = np.r_[0.0, sig[last_of_tie]]
    bkg = np.r_[0.0, bkg[last_of_tie]]
    return bkg / bkg[-1], sig / sig[-1]


def auc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Area under the (εB, εS) curve; ties count one half, as in the Mann-Whitney statistic."""
    eff_bkg, eff_sig = roc(labels, scores, weights)
    return float(np.sum(np.diff(eff_bkg) * 0.5 * (eff_sig[1:] + eff_sig[:-1])))


class RankedScores:
    """Scores of many variants (variants × jets) sorted once, so that :meth:`auc` under new jet weights
    (a bootstrap resample is a weight: how often each jet was drawn) needs no sort.

    The weighted Mann-Whitney form: each signal jet counts the background weight below its score plus half
    the background weight tied with it, which is the trapezoid area of :func:`auc` exactly.
    """

    def __init__(self, labels: np.ndarray, scores: np.ndarray) -> None:
        scores = np.atleast_2d(scores)
        n = scores.shape[1]
        self.order = np.argsort(scores, axis=1, kind="stable")
        ranked = np.take_along_axis(scores, self.order, axis=1)
        self.is_sig = np.asarray(labels)[self.order] == 1
        position = np.broadcast_to(np.arange(n), scores.shape)
        new_value = np.ones(scores.shape, dtype=bool)
        new_value[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
        last_of_value = np.ones(scores.shape, dtype=bool)
        last_of_value[:, :-1] = new_value[:, 1:]
        self.first = np.maximum.accumulate(np.where(new_value, position, 0), axis=1)
        self.last = np.minimum.accumulate(np.where(last_of_value, position, n - 1)[:, ::-1], axis=1)[:, ::-1]

    def auc(self, weights: np.ndarray) -> np.ndarray:
        """The AUC of every variant with per-jet ``weights``."""
        w = np.asarray(weights, dtype=np.float64)[self.order]
        w_bkg = np.where(self.is_sig, 0.0, w)
        below_incl = np.cumsum(w_bkg, axis=1)
        below = np.take_along_axis(below_incl - w_bkg, self.first, axis=1)
        tied = np.take_along_axis(below_incl, self.last, axis=1) - below
        w_sig = np.where(self.is_sig, w, 0.0)
        return np.sum(w_sig * (below + 0.5 * tied), axis=1) / (w_sig.sum(axis=1) * w_bkg.sum(axis=1))


def performance(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float | bool]:
    """AUC, rejection 1/εB at fixed εS, and εS at fixed εB (linear interpolation along the ROC).

    ``rej30_capped`` / ``rej50_capped`` say that no background jet passes at that εS: the rejection is
    then capped at the number of background jets and is a lower bound, not a measurement.
    """
    eff_bkg, eff_sig = roc(labels, scores, weights)
    out = {"auc": auc(labels, scores, weights)}
    for target in SIGNAL_EFFICIENCIES:
        bkg = float(np.interp(target, eff_sig, eff_bkg))
        # A perfectly clean selection has infinite rejection; cap it at 1 / (one background jet).
        floor = 1.0 / max(int((labels == 0).sum()), 1)
        out[f"rej{int(target * 100)}"] = 1.0 / max(bkg, floor)
        out[f"rej{int(target * 100)}_capped"] = bool(bkg <= floor)
    for target in BACKGROUND_EFFICIENCIES:
        out[f"eff_at_bkg{target:.0e}".replace("e-0", "e-")] = float(np.interp(target, eff_bkg, eff_sig))
    return out
