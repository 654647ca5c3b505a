"""Average decision ordering (ADO; Faucett, Thaler, Whiteson, arXiv:2010.11998).

Two discriminants *decide alike* on a (signal, background) pair when they order it the same way.  ADO is
the fraction of all such pairs on which they do, a pair tied in either function counting ½:

    ADO(f, g) = ½ + ½ · mean over pairs (s, b) of sign(f_s − f_b)·sign(g_s − g_b).

ADO = 1 for any strictly increasing transform of the same function (the decision boundaries coincide),
0 for a decreasing one, ½ against a constant.  Against the truth label itself it is the AUC.

Exact computation without the n_sig × n_bkg matrix: the sum over cross pairs is Kendall's S (concordant
minus discordant pairs, ties 0) of all jets minus that of the signal jets and that of the background
jets, each S an O(n log n) merge sort (``scipy.stats.kendalltau``).  ``max_pairs`` instead averages over
that many pairs drawn uniformly (with replacement, seeded): an unbiased estimate with standard error
≤ 1/(2√max_pairs), for a cheap look at huge samples.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats


def _validated(scores_a: np.ndarray, scores_b: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, ...]:
    a = np.asarray(scores_a, dtype=np.float64).ravel()
    b = np.asarray(scores_b, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if not (len(a) == len(b) == len(y)):
        raise ValueError(f"scores and labels differ in length: {len(a)}, {len(b)}, {len(y)}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("scores must be finite")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (background) or 1 (signal)")
    signal = y == 1
    if signal.all() or not signal.any():
        raise ValueError("ADO needs both signal and background jets")
    return a, b, signal


def _tie_pairs(x: np.ndarray) -> float:
    _, counts = np.unique(x, return_counts=True)
    return float(np.sum(counts * (counts - 1) / 2))


def kendall_s(x: np.ndarray, y: np.ndarray) -> float:
    """Σ over unordered pairs of sign(Δx)·sign(Δy) (concordant − discordant, ties 0), in O(n log n).

    Read back from τ_b = S / √((n0 − tx)(n0 − ty)), with n0 = n(n−1)/2 and tx, ty the pairs tied in x, y.
    """
    n0 = len(x) * (len(x) - 1) / 2
    norm = (n0 - _tie_pairs(x)) * (n0 - _tie_pairs(y))
    if norm <= 0:  # one of them is constant: every pair is tied
        return 0.0
    tau = stats.kendalltau(x, y, variant="b").statistic
    return float(np.round(tau * np.sqrt(norm)))


def ado(
    scores_a: np.ndarray,
    scores_b: np.ndarray,
    labels: np.ndarray,
    max_pairs: int | None = None,
    seed: int = 0,
) -> float:
    """ADO of two discriminants over all (signal, background) pairs; ties in either count ½.

    ``max_pairs=None`` (default): exact, O(n log n).  Otherwise, when n_sig·n_bkg exceeds ``max_pairs``,
    the mean over ``max_pairs`` pairs drawn uniformly with replacement by ``numpy.random.default_rng(seed)``.
    """
    a, b, signal = _validated(scores_a, scores_b, labels)
    n_sig, n_bkg = int(signal.sum()), int((~signal).sum())
    if max_pairs is not None and n_sig * n_bkg > max_pairs:
        if max_pairs < 1:
            raise ValueError(f"max_pairs must be >= 1, got {max_pairs}")
        rng = np.random.default_rng(seed)
        sig, bkg = np.flatnonzero(signal), np.flatnonzero(~signal)
        i, j = rng.choice(sig, max_pairs), rng.choice(bkg, max_pairs)
        agree = np.sign(a[i] - a[j]) * np.sign(b[i] - b[j])
        return float(0.5 + 0.5 * agree.mean())
    cross = kendall_s(a, b) - kendall_s(a[signal], b[signal]) - kendall_s(a[~signal], b[~signal])
    return float(0.5 + 0.5 * cross / (n_sig * n_bkg))


def best_sign(scores: np.ndarray, labels: np.ndarray, reference: np.ndarray | None = None) -> int:
    """+1 or −1, whichever makes ``sign·scores`` order pairs like ``reference`` at least half the time.

    Without a reference, the truth: the sign that makes a single variable a signal-like discriminant
    (AUC ≥ ½).  ADO(−f, g) = 1 − ADO(f, g), so one evaluation decides; a tie (ADO = ½) keeps +1.
    """
    reference = np.asarray(labels, dtype=np.float64) if reference is None else reference
    return 1 if ado(scores, reference, labels) >= 0.5 else -1


def ado_matrix(
    score_dict: Mapping[str, np.ndarray],
    labels: np.ndarray,
    max_pairs: int | None = None,
    seed: int = 0,
    orient: bool = False,
) -> pd.DataFrame:
    """Symmetric table of ADO between every two discriminants (index and columns: the names).

    ``orient=True`` first multiplies each by :func:`best_sign` (against the truth), so that single
    variables such as τ21, smaller for signal, enter as discriminants and the matrix compares decisions.
    """
    names = list(score_dict)
    scores = {
        k: np.asarray(v, dtype=np.float64) * (best_sign(v, labels) if orient else 1) for k, v in score_dict.items()
    }
    table = pd.DataFrame(np.nan, index=pd.Index(names, name="a"), columns=pd.Index(names, name="b"))
    for i, first in enumerate(names):
        for second in names[i:]:
            value = ado(scores[first], scores[second], labels, max_pairs, seed)
            table.loc[first, second] = table.loc[second, first] = value
    return table
