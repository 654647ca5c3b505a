"""The tiny study against a committed summary written on another machine, with tolerances.

Training floats differ across CPUs and torch builds, and Pythia's event stream may differ across builds
of its math library, so nothing here is compared exactly.  Each committed value is compared with the new
run's within 4 combined standard deviations of both runs (their stated seed + test-set errors), plus a
small floor; a real change of the code (a variable computed differently, a network wired differently)
moves a value far beyond that.  Regenerate after an intended change with
``XAUGJETS_WRITE_EXPECTED=1 pytest tests/test_cross_machine.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

EXPECTED = Path(__file__).parent / "data" / "tiny_study_expected.json"
# Separation AUCs of 400-event Pythia shards: the Hanley-McNeil error of an AUC on ~150 jets per class.
SEPARATION_SIGMA = 0.03
FLOOR = 0.02


def summarize(results: Path) -> dict[str, list[float]]:
    """{quantity: [value, error]} for the numbers the tiny study is checked on."""
    out: dict[str, list[float]] = {}
    for sample in ("toy-overlap0", "toy-overlap2", "pythia"):
        perf = pd.read_csv(results / sample / "tables" / "performance.csv")
        for _, row in perf.iterrows():
            out[f"{sample}/auc/{row['model']}"] = [float(row["auc"]), float(row["auc_err"])]
    for sample in ("toy-overlap2", "toy-reference"):
        table = pd.read_csv(results / sample / "tables" / "relevance_xaug_dnn_presetA.csv")
        for _, row in table.iterrows():
            out[f"{sample}/relevance/xaug_dnn_presetA/{row['feature']}"] = [float(row["mean"]), float(row["mean_err"])]
    separation = pd.read_csv(results / "pythia" / "tables" / "xaug_separation.csv")
    for _, row in separation.iterrows():
        out[f"pythia/separation_auc/{row['variable']}"] = [float(row["auc"]), SEPARATION_SIGMA]
    return out


@pytest.mark.slow
def test_tiny_study_agrees_with_the_committed_summary(study):
    new = summarize(study / "results")
    if os.environ.get("XAUGJETS_WRITE_EXPECTED"):
        EXPECTED.write_text(json.dumps(new, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"wrote {EXPECTED}")
    expected = json.loads(EXPECTED.read_text())
    assert set(new) == set(expected), sorted(set(new) ^ set(expected))
    off = {}
    for key, (value, error) in expected.items():
        new_value, new_error = new[key]
        tolerance = 4 * float(np.hypot(error, new_error)) + FLOOR
        if abs(new_value - value) > tolerance:
            off[key] = (value, new_value, round(tolerance, 4))
    assert not off, f"beyond tolerance (expected, new, tolerance): {off}"
