"""The workflow itself: lint, dry-runs (local and SLURM profile), and the tiny study end to end."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from workflow_helpers import REPO, job_counts, snakemake

from xaugjets.models import MODELS
from xaugjets.relevance import RULES

DEFAULT = str(REPO / "config" / "config.yaml")
TEST = str(REPO / "config" / "test.yaml")


def test_lint():
    proc = snakemake("--lint")
    assert "Congratulations" in proc.stdout + proc.stderr


@pytest.mark.parametrize("profile", [[], ["--profile", str(REPO / "profiles" / "slurm")]], ids=["local", "slurm"])
def test_dry_run_default_study(tmp_path, profile):
    proc = snakemake("-n", "--cores", "2", "--configfile", DEFAULT, *profile, workdir=tmp_path)
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts["train"] == 5 * 3
    assert counts["lrp"] == 5 * 4 * 3
    assert counts["relevance_summary"] == 5 * 4
    assert counts["toy_jets"] == 2 * 2


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The tiny study (config/test.yaml) run for real, with 2 cores, plus its report."""
    workdir = tmp_path_factory.mktemp("study")
    snakemake("--cores", "2", "--configfile", TEST, workdir=workdir)
    snakemake("--cores", "1", "--configfile", TEST, "--report", "report.html", workdir=workdir)
    return workdir / "results" / "toy"


@pytest.mark.slow
def test_performance_tables(study):
    perf = pd.read_csv(study / "tables" / "performance.csv").set_index("model")
    assert list(perf.index) == list(MODELS)
    assert (perf["n_seeds"] == 2).all()
    # The XAUG variables z and θ separate the toy classes almost perfectly.
    assert perf.loc["xaug_dnn", "auc_mean"] > 0.99
    assert perf.loc["cnn1d_xaug", "auc_mean"] > 0.99
    assert (perf["auc_mean"] > 0.8).all()
    gain = pd.read_csv(study / "tables" / "xaug_gain.csv").set_index("model")
    assert set(gain.index) == {"cnn2d_xaug", "cnn1d_xaug"}
    assert (gain["n_seeds"] == 2).all()


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
def test_relevance_tables(study, model):
    expected = {
        "cnn2d": {"image"},
        "cnn2d_xaug": {"image", "z", "theta", "r1", "r2"},
        "cnn1d": {
            "particles",
            "particles:fraction",
            "particles:x",
            "particles:y",
            "particles:subjet",
            "particles:is_particle",
        },
        "xaug_dnn": {"z", "theta", "r1", "r2"},
    }
    expected["cnn1d_xaug"] = expected["cnn1d"] | expected["xaug_dnn"]
    for rule in RULES:
        table = pd.read_csv(study / "tables" / f"relevance_{model}_{rule}.csv").set_index("feature")
        assert set(table.index) == expected[model]
        assert (table["n_seeds"] == 2).all()
        assert (table["mean"] >= 0).all() and (table["mean"] <= table["mean"].max()).all()
        assert table["mean"].max() >= 1.0 - 1e-6 or len(table) > 1  # the largest |R| per event is 1
        assert (study / "plots" / "relevance" / f"{model}_{rule}" / "relevance_bars.png").stat().st_size > 5000
    if model == "xaug_dnn":
        table = pd.read_csv(study / "tables" / "relevance_xaug_dnn_presetA.csv").set_index("feature")
        informative = max(table.loc["theta", "mean"], table.loc["z", "mean"])
        assert informative > 2 * max(table.loc["r1", "mean"], table.loc["r2", "mean"])


@pytest.mark.slow
def test_lrp_logs_conservation_and_plots(study):
    log = (study / "logs" / "lrp" / "cnn2d_z_seed1.log").read_text()
    assert "relative deviation of Σ relevance from the logit" in log
    assert (study / "plots" / "relevance" / "cnn2d_xaug_presetA" / "image_relevance.pdf").exists()
    assert (study / "plots" / "relevance" / "xaug_dnn_epsilon" / "xaug_profiles.png").exists()
    for name in ("roc", "training_curves", "xaug_distributions"):
        assert (study / "plots" / "summary" / f"{name}.png").stat().st_size > 5000
    history = pd.read_csv(study / "models" / "cnn2d" / "seed1" / "history.csv")
    assert list(history.columns) == ["epoch", "train_loss", "val_loss", "val_auc"] and len(history) >= 1


@pytest.mark.slow
def test_provenance_and_report(study):
    prov = json.loads((study / "provenance.json").read_text())
    assert len(prov["config_hash"]) == 16
    assert prov["config"]["training"]["seeds"] == [1, 2]
    assert "torch" in prov["versions"] and prov["git_commit"]
    report = (study.parent.parent / "report.html").read_text(errors="replace")
    assert "performance" in report and len(report) > 100_000


@pytest.mark.slow
def test_same_tables_with_fewer_cores(study, tmp_path):
    """A second run with --cores 1 (two models) reproduces the first run's numbers exactly."""
    models = ["xaug_dnn", "cnn2d_xaug"]
    snakemake(
        "--cores",
        "1",
        "--configfile",
        TEST,
        "--config",
        f"models={json.dumps(models)}",
        "relevance={'rules': ['presetA', 'z'], 'epsilon': 0.1, 'max_events': 200, 'batch_size': 200}",
        workdir=tmp_path,
    )
    again = tmp_path / "results" / "toy"
    for model in models:
        for rule in ("presetA", "z"):
            name = f"tables/relevance_{model}_{rule}.csv"
            assert (again / name).read_text() == (study / name).read_text(), name
    first = pd.read_csv(study / "tables" / "performance.csv").set_index("model").loc[models]
    second = pd.read_csv(again / "tables" / "performance.csv").set_index("model").loc[models]
    pd.testing.assert_frame_equal(first, second)
