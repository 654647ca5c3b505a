"""ROC figures against scikit-learn and known answers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from xaugjets.metrics import auc, performance


def test_auc_matches_sklearn_with_weights_and_ties():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 2000)
    scores = np.round(rng.normal(labels, 1.0), 1)
    weights = rng.uniform(0.2, 3.0, 2000)
    assert auc(labels, scores, weights) == pytest.approx(
        roc_auc_score(labels, scores, sample_weight=weights), rel=1e-12
    )


def test_known_efficiencies():
    # background scores 0..999, signal scores 500..1499: at εB = 0.1 (threshold 900) εS = 0.6.
    labels = np.r_[np.zeros(1000), np.ones(1000)]
    scores = np.r_[np.arange(1000), np.arange(500, 1500)].astype(float)
    perf = performance(labels, scores)
    assert perf["eff_at_bkg1e-1"] == pytest.approx(0.6, abs=2e-3)
    assert perf["eff_at_bkg1e-2"] == pytest.approx(0.51, abs=2e-3)
    assert perf["rej50"] == 1000.0  # no background above the εS = 0.5 threshold: capped at 1/N_bkg
    assert perf["auc"] == pytest.approx(1 - 0.5 * 0.5 * 0.5, abs=1e-3)


def test_perfect_separation_is_capped_rejection():
    labels = np.r_[np.zeros(100), np.ones(100)]
    perf = performance(labels, labels.astype(float))
    assert perf["auc"] == 1.0
    assert perf["rej30"] == 100.0  # capped at one background jet


def test_ranked_scores_match_auc_with_ties_weights_and_resamples():
    """The sort-once AUC of many variants equals auc() row by row, and a resample equals its weights."""
    from xaugjets.metrics import RankedScores

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 400)
    weights = rng.uniform(0.5, 2.0, 400)
    scores = np.round(rng.normal(size=(5, 400)) + labels, 1)  # rounded: many ties
    ranked = RankedScores(labels, scores)
    expected = [auc(labels, row, weights) for row in scores]
    np.testing.assert_allclose(ranked.auc(weights), expected, rtol=0, atol=1e-12)
    rows = rng.integers(0, 400, 400)
    resampled = [auc(labels[rows], row[rows], weights[rows]) for row in scores]
    np.testing.assert_allclose(ranked.auc(weights * np.bincount(rows, minlength=400)), resampled, atol=1e-12)
    np.testing.assert_allclose(RankedScores(labels, [labels, -labels, 0 * labels]).auc(weights), [1, 0, 0.5])
