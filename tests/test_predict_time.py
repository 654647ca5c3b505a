"""The wall-time predictor's scheduler on hand-built job graphs with known answers."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from workflow_helpers import REPO

spec = importlib.util.spec_from_file_location("predict_time", REPO / "scripts" / "predict_time.py")
predict_time = sys.modules.setdefault("predict_time", importlib.util.module_from_spec(spec))
spec.loader.exec_module(predict_time)
Job = predict_time.Job


def graph(seconds: list[float], needs: list[set[int]]) -> list:
    return [Job("r", {}, [], [], need, s) for s, need in zip(seconds, needs, strict=True)]


def test_independent_jobs_fill_the_slots():
    jobs = graph([4, 4, 4, 4], [set(), set(), set(), set()])
    assert predict_time.simulate(jobs, 1) == 16
    assert predict_time.simulate(jobs, 2) == 8
    assert predict_time.simulate(jobs, 8) == 4


def test_a_chain_is_as_long_as_its_jobs_and_is_the_critical_path():
    jobs = graph([1, 2, 3, 0.5], [set(), {0}, {1}, set()])
    assert predict_time.simulate(jobs, 4) == 6
    assert [j.seconds for j in predict_time.critical_path(jobs)] == [1, 2, 3]


def test_longest_remaining_path_goes_first():
    # One slot can't help it; two slots: the long chain must start at once, not after the short jobs.
    jobs = graph([1, 1, 1, 1, 5, 5], [set(), set(), set(), set(), set(), {4}])  # the chain listed last
    assert predict_time.simulate(jobs, 2) == 10  # in listed order it would take 12


def test_the_readme_times_the_run_of_its_own_study(tmp_path):
    """The wall time is read from the latest log that completed the study's jobs, not from a later run of
    another study or a partial rerun (both log into the same .snakemake/log)."""
    spec = importlib.util.spec_from_file_location("readme_results", REPO / "scripts" / "readme_results.py")
    readme_results = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(readme_results)

    def log(name: str, steps: int, start: str, end: str) -> None:
        lines = [f"[Wed Dec  2 {start} 2026]", f"{steps} of {steps} steps (100%) done", f"[Wed Dec  2 {end} 2026]"]
        (tmp_path / f"{name}.snakemake.log").write_text("\n".join(lines) + "\n")

    log("2026-12-02T01", 276, "01:00:00", "01:52:10")  # the study: 275 benchmarked jobs + all
    log("2026-12-02T02", 6, "02:00:00", "02:00:30")  # a rerun of a few jobs
    log("2026-12-02T03", 86, "03:00:00", "03:15:00")  # another study
    assert readme_results.wall_time(tmp_path, 275) == "The last complete run (276 jobs) took 52 min 10 s of wall time."
    assert "no complete" in readme_results.wall_time(tmp_path, 100)


def test_settings_the_records_cannot_foresee_are_named():
    """Training settings change the epochs a training needs, so a prediction across them says so."""
    from xaugjets.config import validate_config

    measured = validate_config({"samples": ["toy"], "models": ["xaug_dnn"]})
    same = validate_config({"samples": ["toy"], "models": ["xaug_dnn"], "toy": {"shards": 50}})
    assert predict_time.unforeseen(same, measured) == []
    other = validate_config(
        {
            "samples": ["toy"],
            "models": ["xaug_dnn", "cnn2d_xaug"],
            "training": {"batch_size": 1024},
            "reduced": {"models": ["xaug_dnn", "cnn2d_xaug"]},
        }
    )
    notes = predict_time.unforeseen(other, measured)
    assert notes[0].startswith(f"training.batch_size is 1024 here but {measured['training']['batch_size']}")
    assert len(notes) == 3 and "cnn2d_xaug" in notes[2]


def test_reduced_work_weighs_each_retraining_by_its_network():
    """A convolutional retraining costs as much as many xaug_dnn ones, so fits are weighed, not counted."""
    from xaugjets.config import validate_config

    reduced = {"ks": [1, 2, 3, 5], "models": ["xaug_dnn"], "joint_ks": [3], "methods": ["presetA"]}
    reduced |= {"rankings": ["random"], "drop_thresholds": [0.0]}
    joint = reduced | {"joint_models": ["cnn2d_xaug"]}
    config = validate_config({"samples": ["toy"], "models": ["xaug_dnn", "cnn2d_xaug"], "reduced": joint})
    unit = {"xaug_dnn": 1.0, "cnn2d_xaug": 10.0}.get
    # toy: 4 XAUG inputs, so k in (1, 2, 3); 2 rankings x (3 xaug_dnn + 1 joint) fits + 2 drop fits (two starts)
    assert predict_time.reduced_work(config, "toy-overlap0", unit) == 2 * (3 * 1.0 + 10.0) + 2 * 1.0
    alone = validate_config({"samples": ["toy"], "models": ["xaug_dnn"], "reduced": reduced})
    assert predict_time.reduced_work(alone, "toy-overlap0", unit) == 2 * 3 + 2


def test_explain_work_scales_each_method_by_its_passes():
    """IG steps and Shapley samples multiply their methods' measured seconds; a method the measured run did not
    have costs the average one; occlusion, activations and the sanity check (the rest) stay as measured."""
    import pandas as pd

    from xaugjets.config import validate_config

    relevance = {"rules": ["z"], "methods": ["integrated_gradients", "shapley"], "ig_steps": 32, "shapley_samples": 25}
    measured = validate_config({"samples": ["toy"], "models": ["xaug_dnn"], "relevance": relevance})
    seconds = {"z": (1.0, {}), "integrated_gradients": (2.0, {"ig_steps": 32})}
    seconds |= {"shapley": (3.0, {"shapley_samples": 25})}
    records = predict_time.Records(pd.DataFrame(), measured, {}, {}, {}, {("toy-overlap0", "xaug_dnn"): seconds})
    relevance |= {"rules": ["z", "epsilon"], "ig_steps": 64, "shapley_samples": 50}
    target = validate_config({"samples": ["toy"], "models": ["xaug_dnn"], "relevance": relevance})
    job = Job("explain", {"sample": "toy-overlap0", "model": "xaug_dnn"}, [], [])
    # rest 10 - 6 = 4; z 1, epsilon as the mean method (2), IG 2 x 2, Shapley 3 x 2
    assert predict_time.explain_factor(job, target, records, 10.0) == pytest.approx((4 + 1 + 2 + 4 + 6) / 10)
