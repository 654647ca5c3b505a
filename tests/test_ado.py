"""Average decision ordering: limiting cases, a hand-counted example, exact against brute force and sampling."""

from __future__ import annotations

import numpy as np
import pytest

from xaugjets.ado import ado, ado_matrix, best_sign, kendall_s


def brute_force(a: np.ndarray, b: np.ndarray, labels: np.ndarray) -> float:
    """Every (signal, background) pair through the n_sig × n_bkg matrix."""
    s, k = labels == 1, labels == 0
    da = np.sign(a[s][:, None] - a[k][None, :])
    db = np.sign(b[s][:, None] - b[k][None, :])
    return float(np.mean(np.where(da * db > 0, 1.0, np.where(da * db < 0, 0.0, 0.5))))


@pytest.fixture
def sample() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    labels = np.repeat([1, 0], [130, 170])
    a = rng.normal(labels, 1.0)
    b = a + rng.normal(0, 0.8, len(a))
    return a, b, labels


def test_self_negation_and_monotonic_transform(sample):
    a, _, labels = sample
    assert ado(a, a, labels) == 1.0
    assert ado(a, -a, labels) == 0.0
    assert ado(a, np.exp(3 * a) + 7, labels) == 1.0
    assert ado(a, -np.arctan(a), labels) == 0.0


def test_constant_ties_count_half(sample):
    a, b, labels = sample
    assert ado(np.zeros_like(a), b, labels) == 0.5
    assert ado(a, np.full_like(a, 2.0), labels) == 0.5
    assert ado(np.zeros_like(a), np.zeros_like(a), labels) == 0.5


def test_hand_computed_three_by_three():
    # Signal jets s1..s3, background b1..b3; pairs (s_i, b_j) with sign(Δf), sign(Δg):
    labels = np.array([1, 1, 1, 0, 0, 0])
    f = np.array([3.0, 2.0, 0.0, 1.0, 2.0, 0.5])
    g = np.array([1.0, 5.0, 0.0, 2.0, 0.0, 0.0])
    #        b1 (f1, g2)   b2 (f2, g0)   b3 (f.5, g0)
    # s1 f3 g1:  +,-  -> 0     +,+ -> 1     +,+ -> 1
    # s2 f2 g5:  +,+  -> 1     0,+ -> ½     +,+ -> 1
    # s3 f0 g0:  -,-  -> 1     -,0 -> ½     -,0 -> ½
    expected = (0 + 1 + 1 + 1 + 0.5 + 1 + 1 + 0.5 + 0.5) / 9
    assert ado(f, g, labels) == pytest.approx(expected, abs=1e-15)
    assert brute_force(f, g, labels) == pytest.approx(expected, abs=1e-15)


def test_exact_matches_brute_force_with_ties():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 400)
    a = rng.integers(0, 6, 400).astype(float) + labels  # many ties
    b = np.round(a + rng.normal(0, 1.5, 400))
    assert ado(a, b, labels) == pytest.approx(brute_force(a, b, labels), abs=1e-12)


def test_sampled_agrees_with_exact(sample):
    a, b, labels = sample
    exact = ado(a, b, labels)
    sampled = ado(a, b, labels, max_pairs=10_000, seed=1)
    assert sampled != exact and abs(sampled - exact) < 5 / (2 * np.sqrt(10_000))  # five standard errors
    assert ado(a, b, labels, max_pairs=10_000, seed=1) == sampled  # seeded
    assert ado(a, b, labels, max_pairs=10**9) == exact  # fewer pairs than max_pairs: exact


def test_against_the_truth_is_the_auc(sample):
    a, _, labels = sample
    from sklearn.metrics import roc_auc_score

    assert ado(a, labels.astype(float), labels) == pytest.approx(roc_auc_score(labels, a), abs=1e-12)


def test_best_sign(sample):
    a, b, labels = sample
    assert best_sign(a, labels) == 1
    assert best_sign(-a, labels) == -1
    assert best_sign(-b, labels, reference=a) == -1
    assert ado(best_sign(-b, labels, reference=a) * -b, a, labels) >= 0.5


def test_matrix(sample):
    a, b, labels = sample
    table = ado_matrix({"a": a, "b": b, "minus_a": -a}, labels)
    assert list(table.index) == list(table.columns) == ["a", "b", "minus_a"]
    np.testing.assert_allclose(table.to_numpy(), table.to_numpy().T)
    assert table.loc["a", "a"] == 1.0 and table.loc["a", "minus_a"] == 0.0
    assert table.loc["a", "b"] == pytest.approx(brute_force(a, b, labels))
    oriented = ado_matrix({"a": a, "minus_a": -a}, labels, orient=True)
    assert (oriented.to_numpy() == 1.0).all()


def test_kendall_s_and_errors():
    assert kendall_s(np.array([1.0, 2, 3]), np.array([1.0, 3, 2])) == 1  # 2 concordant − 1 discordant
    assert kendall_s(np.ones(4), np.arange(4.0)) == 0
    with pytest.raises(ValueError, match="both signal and background"):
        ado(np.arange(3.0), np.arange(3.0), np.ones(3))
    with pytest.raises(ValueError, match="length"):
        ado(np.arange(3.0), np.arange(4.0), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="finite"):
        ado(np.array([0.0, np.nan]), np.zeros(2), np.array([0, 1]))


def test_toy_ranking_check_margin_and_verdict():
    """margin = min(R_z, R_θ) − max(R_r1, R_r2); a network without XAUG inputs is left out."""
    import pandas as pd

    from xaugjets.crosscheck import toy_ranking_check

    def rows(model, method, values):
        return [
            {"sample": "toy", "model": model, "rule": method, "quantity": f"relevance:{f}", "value": v, "err": 0.03}
            for f, v in values.items()
        ]

    scan = pd.DataFrame(
        rows("dnn", "good", {"z": 0.9, "theta": 0.5, "r1": 0.1, "r2": 0.2})
        + rows("dnn", "bad", {"z": 0.9, "theta": 0.3, "r1": 0.4, "r2": 0.2})
        + rows("cnn", "good", {"image": 1.0})
        + [{"sample": "toy", "model": "dnn", "rule": "", "quantity": "auc", "value": 0.9, "err": 0.01}]
    )
    check = toy_ranking_check(scan).set_index("method")
    assert list(check.index) == ["good", "bad"]
    assert check.loc["good", "margin"] == pytest.approx(0.3) and check.loc["good", "holds"]
    assert check.loc["bad", "margin"] == pytest.approx(-0.1) and not check.loc["bad", "holds"]
    assert check.loc["bad", "weakest_informative"] == "theta" and check.loc["bad", "strongest_uninformative"] == "r1"
    assert check.loc["bad", "margin_err"] == pytest.approx(0.03 * np.sqrt(2))
