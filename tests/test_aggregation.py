"""Relevance, performance and XAUG-gain tables on inputs with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xaugjets.aggregation import (
    Run,
    bootstrap_runs,
    performance_table,
    relevance_table,
    to_markdown,
    xaug_gain_table,
)
from xaugjets.io import write_h5
from xaugjets.metrics import performance


def relevance_file(path, sig_value: float, bkg_value: float) -> str:
    features = np.array([[sig_value, 0.1]] * 3 + [[bkg_value, 0.3]] * 1, dtype=np.float32)
    label = np.array([1, 1, 1, 0], dtype=np.int8)
    summary = {"feature_names": ["theta", "r1"], "model": "xaug_dnn", "rule": "z", "conservation_median": 0.0}
    write_h5(path, {"features": features, "label": label}, {"summary": summary})
    return str(path)


def test_relevance_table_means_and_seed_spread(tmp_path):
    paths = [relevance_file(tmp_path / f"s{i}.h5", v, 0.5) for i, v in enumerate((1.0, 0.8, 0.6))]
    table, metadata = relevance_table(paths, n_resamples=50)
    table = table.set_index("feature")
    # seed means over events: (3 v + 0.5) / 4 -> 0.875, 0.725, 0.575
    assert table.loc["theta", "mean"] == pytest.approx(0.725)
    assert table.loc["theta", "mean_seed"] == pytest.approx(0.15)
    assert table.loc["theta", "mean_sig"] == pytest.approx(0.8)
    assert table.loc["theta", "mean_bkg"] == pytest.approx(0.5)
    assert table.loc["r1", "mean"] == pytest.approx(0.15)
    assert table.loc["r1", "mean_seed"] == pytest.approx(0.0, abs=1e-7)
    assert table.loc["theta", "mean_sig_stat"] == pytest.approx(0.0, abs=1e-12)  # constant within the class
    assert table.loc["theta", "mean_err"] >= table.loc["theta", "mean_seed"]
    assert (table["n_seeds"] == 3).all()
    assert list(table.index) == ["theta", "r1"]  # sorted by relevance
    assert metadata["model"] == "xaug_dnn" and metadata["n_jets"] == 4


def test_relevance_stat_error_is_the_standard_error_of_the_mean(tmp_path):
    rng = np.random.default_rng(3)
    features = rng.normal(1.0, 0.2, size=(4000, 1)).astype(np.float32)
    label = (np.arange(4000) % 2).astype(np.int8)
    summary = {"feature_names": ["z"], "model": "m", "rule": "z", "conservation_median": 0.0}
    write_h5(tmp_path / "a.h5", {"features": features, "label": label}, {"summary": summary})
    table, _ = relevance_table([str(tmp_path / "a.h5")], n_resamples=400)
    assert table.loc[0, "mean_stat"] == pytest.approx(0.2 / np.sqrt(4000), rel=0.15)
    assert table.loc[0, "mean_seed"] == 0.0


def make_runs(capped: bool = False) -> list[Run]:
    """Two models x three seeds on one shared test set with known score distributions."""
    rng = np.random.default_rng(0)
    n = 2000
    label = (np.arange(n) % 2).astype(np.int8)
    jet = rng.normal(0, 1, n)  # what every network sees of a jet: scores are correlated across networks
    runs = []
    for seed in range(3):
        for model, shift in (("cnn2d", 1.0), ("cnn2d_xaug", 2.0 + 10 * capped)):
            logit = jet + 0.3 * rng.normal(0, 1, n) + shift * label
            scores = pd.DataFrame({"label": label, "weight": np.ones(n), "logit": logit})
            metrics = performance(label, logit) | {"model": model, "seed": seed, "epochs": 10, "best_epoch": 5}
            metrics["stop_reason"] = "early_stopping" if seed else "max_epochs"
            runs.append(Run(model, seed, metrics, scores))
    return runs


def test_performance_table_errors_and_convergence_flags():
    runs = make_runs()
    boot = bootstrap_runs(runs, n_resamples=100, seed=1)
    table = performance_table(runs, ["cnn2d", "cnn2d_xaug"], boot).set_index("model")
    aucs = [r.metrics["auc"] for r in runs if r.model == "cnn2d"]
    assert table.loc["cnn2d", "auc"] == pytest.approx(np.mean(aucs))
    assert table.loc["cnn2d", "auc_seed"] == pytest.approx(np.std(aucs, ddof=1))
    # Hanley-McNeil-like size: an AUC of ~0.76 on 1000 + 1000 jets moves by ~0.01 between test sets.
    assert 0.005 < table.loc["cnn2d", "auc_stat"] < 0.02
    assert table.loc["cnn2d", "auc_err"] == pytest.approx(
        np.hypot(table.loc["cnn2d", "auc_seed"], table.loc["cnn2d", "auc_stat"])
    )
    assert table.loc["cnn2d", "n_hit_max_epochs"] == 1
    assert not table.loc["cnn2d", "rej30_bound"]


def test_capped_rejection_is_a_bound_in_markdown():
    runs = make_runs(capped=True)
    boot = bootstrap_runs(runs, n_resamples=30, seed=1)
    table = performance_table(runs, ["cnn2d", "cnn2d_xaug"], boot)
    assert table.set_index("model").loc["cnn2d_xaug", "rej30_bound"]
    assert "> 1000" in to_markdown(table)


def test_xaug_gain_is_paired_by_seed_and_resample():
    runs = make_runs()
    boot = bootstrap_runs(runs, n_resamples=100, seed=2)
    gain = xaug_gain_table(runs, boot).set_index("model")
    per_seed = np.array(
        [runs[2 * s + 1].metrics["eff_at_bkg1e-1"] / runs[2 * s].metrics["eff_at_bkg1e-1"] - 1 for s in range(3)]
    )
    assert gain.loc["cnn2d_xaug", "baseline"] == "cnn2d"
    assert gain.loc["cnn2d_xaug", "gain_eff_at_bkg1e-1"] == pytest.approx(per_seed.mean())
    assert gain.loc["cnn2d_xaug", "gain_eff_at_bkg1e-1_seed"] == pytest.approx(per_seed.std(ddof=1))
    assert gain.loc["cnn2d_xaug", "gain_eff_at_bkg1e-1_stat"] > 0
    assert gain.loc["cnn2d_xaug", "gain_eff_at_bkg1e-1_n_undefined"] == 0
    # Paired: ΔAUC's stat error is smaller than the quadrature sum of the two AUCs' own stat errors.
    perf = performance_table(runs, ["cnn2d", "cnn2d_xaug"], boot).set_index("model")
    assert gain.loc["cnn2d_xaug", "delta_auc_stat"] < np.hypot(*perf["auc_stat"])


def test_markdown_folds_errors_and_lists_metadata():
    md = to_markdown(
        pd.DataFrame({"feature": ["z"], "mean": [0.5], "mean_seed": [0.1], "mean_stat": [0.05], "mean_err": [0.11]}),
        metadata={"rule": "presetA"},
    )
    assert "0.5 ± 0.11 (seed 0.1, stat 0.05)" in md and "- **rule**: presetA" in md and "mean_seed" not in md
