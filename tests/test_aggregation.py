"""Relevance, performance and XAUG-gain tables on inputs with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xaugjets.aggregation import performance_table, relevance_table, to_markdown, xaug_gain_table
from xaugjets.io import write_h5


def relevance_file(path, sig_value: float, bkg_value: float) -> str:
    features = np.array([[sig_value, 0.1]] * 3 + [[bkg_value, 0.3]] * 1, dtype=np.float32)
    label = np.array([1, 1, 1, 0], dtype=np.int8)
    write_h5(path, {"features": features, "label": label}, {"summary": {"feature_names": ["theta", "r1"]}})
    return str(path)


def test_relevance_table_means_and_seed_spread(tmp_path):
    paths = [relevance_file(tmp_path / f"s{i}.h5", v, 0.5) for i, v in enumerate((1.0, 0.8, 0.6))]
    table = relevance_table(paths).set_index("feature")
    # seed means over events: (3 v + 0.5) / 4 -> 0.875, 0.725, 0.575
    assert table.loc["theta", "mean"] == pytest.approx(0.725)
    assert table.loc["theta", "std"] == pytest.approx(0.15)
    assert table.loc["theta", "mean_sig"] == pytest.approx(0.8)
    assert table.loc["theta", "mean_bkg"] == pytest.approx(0.5)
    assert table.loc["r1", "mean"] == pytest.approx(0.15)
    assert table.loc["r1", "std"] == pytest.approx(0.0, abs=1e-7)
    assert (table["n_seeds"] == 3).all()
    assert list(table.index) == ["theta", "r1"]  # sorted by relevance


def metrics_frame() -> pd.DataFrame:
    rows = []
    for seed, (plain, xaug) in enumerate(((0.40, 0.52), (0.50, 0.60), (0.45, 0.54))):
        rows.append(
            {
                "model": "cnn2d",
                "seed": seed,
                "auc": 0.9,
                "rej30": 10.0,
                "rej50": 5.0,
                "eff_at_bkg1e-2": plain,
                "eff_at_bkg1e-1": 0.8,
            }
        )
        rows.append(
            {
                "model": "cnn2d_xaug",
                "seed": seed,
                "auc": 0.95,
                "rej30": 20.0,
                "rej50": 8.0,
                "eff_at_bkg1e-2": xaug,
                "eff_at_bkg1e-1": 0.88,
            }
        )
    return pd.DataFrame(rows)


def test_performance_table():
    table = performance_table(metrics_frame(), ["cnn2d", "cnn2d_xaug"]).set_index("model")
    assert table.loc["cnn2d", "n_seeds"] == 3
    assert table.loc["cnn2d", "eff_at_bkg1e-2_mean"] == pytest.approx(0.45)
    assert table.loc["cnn2d", "eff_at_bkg1e-2_std"] == pytest.approx(0.05)
    assert table.loc["cnn2d_xaug", "auc_std"] == pytest.approx(0.0, abs=1e-12)


def test_xaug_gain_is_paired_by_seed():
    gain = xaug_gain_table(metrics_frame()).set_index("model")
    per_seed = np.array([0.52 / 0.40, 0.60 / 0.50, 0.54 / 0.45]) - 1
    assert gain.loc["cnn2d_xaug", "baseline"] == "cnn2d"
    assert gain.loc["cnn2d_xaug", "gain_eff_at_bkg1e-2_mean"] == pytest.approx(per_seed.mean())
    assert gain.loc["cnn2d_xaug", "gain_eff_at_bkg1e-2_std"] == pytest.approx(per_seed.std(ddof=1))
    assert gain.loc["cnn2d_xaug", "gain_eff_at_bkg1e-1_mean"] == pytest.approx(0.1)


def test_markdown_pairs_mean_and_std():
    md = to_markdown(
        pd.DataFrame({"feature": ["z"], "mean": [0.5], "std": [0.1], "mean_sig": [0.7], "std_sig": [0.05]})
    )
    assert "0.5 ± 0.1" in md and "0.7 ± 0.05" in md and "std" not in md
