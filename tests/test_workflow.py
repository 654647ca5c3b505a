"""The workflow itself: lint, dry-runs (local and SLURM profile), and the tiny study end to end."""

from __future__ import annotations

import json
import re

import h5py
import pandas as pd
import pytest
from workflow_helpers import REPO, SUBSET_ARGS, SUBSET_SAMPLE, assert_same_tables, job_counts, snakemake

from xaugjets.models import MODELS

# The study's own networks and the example brought in through user_models by its import path.
STUDY_MODELS = [*MODELS, "deepsets"]

DEFAULT = str(REPO / "config" / "config.yaml")
TEST_RULES = ("epsilon", "presetA")


def test_lint():
    proc = snakemake("--lint")
    assert "Congratulations" in proc.stdout + proc.stderr


@pytest.mark.parametrize("caption", sorted((REPO / "workflow" / "report").glob("*.rst")), ids=lambda p: p.name)
def test_report_captions_are_valid_restructuredtext(caption):
    """A caption that docutils cannot parse (``|x|`` is a substitution in RST) prints errors into the report."""
    import docutils.core

    text = re.sub(r"{{.*?}}", "x", caption.read_text())  # the report fills Jinja fields before docutils
    docutils.core.publish_doctree(text, settings_overrides={"halt_level": 2, "report_level": 5})  # raises


@pytest.mark.parametrize("profile", [[], ["--profile", str(REPO / "profiles" / "slurm")]], ids=["local", "slurm"])
def test_dry_run_default_study(tmp_path, profile):
    proc = snakemake("-n", "--cores", "2", "--configfile", DEFAULT, *profile, workdir=tmp_path)
    counts = job_counts(proc.stdout + proc.stderr)
    # toy-overlap0/1/2 and pythia with 6 networks (deepsets from user_models), toy-reference with the 3
    # that see XAUG values
    samples, networks, seeds = 5, 4 * 6 + 3, 3
    assert counts["train"] == networks * seeds
    assert counts["explain"] == networks * seeds  # every rule in one job
    assert counts["relevance_summary"] == networks
    assert counts["toy_jets"] == 4 * 2 * 2
    assert counts["pythia_jets"] == 2 * 8
    assert counts["dataset"] == samples
    assert counts["decision_ordering"] == samples
    assert counts["toy_overlap_scan"] == counts["toy_reference_comparison"] == counts["z_matching_table"] == 1


def test_each_study_writes_into_its_own_folder(tmp_path):
    """study_dir keeps studies apart: the same target lands in each study's folder, never in ./results.

    Run from the folder itself: Snakemake's --directory would override the Snakefile's workdir.
    """
    target = "results/toy-overlap0/jets/signal_0.h5"
    for folder in ("studies/a", "studies/b"):
        config = ("--configfile", str(REPO / "config" / "test.yaml"), "--config", f"study_dir={folder}")
        snakemake(target, "--cores", "1", *config, cwd=tmp_path)
        assert (tmp_path / folder / target).is_file()
    assert not (tmp_path / "results").exists()


@pytest.fixture(scope="module")
def toy(study):
    return study / "results" / SUBSET_SAMPLE


@pytest.fixture(scope="module")
def pythia(study):
    return study / "results" / "pythia"


@pytest.mark.slow
def test_toy_performance_tables(toy):
    perf = pd.read_csv(toy / "tables" / "performance.csv").set_index("model")
    assert list(perf.index) == STUDY_MODELS
    assert (perf["n_seeds"] == 2).all()
    # The XAUG variables z and θ separate the toy classes almost perfectly (overlap 0).
    assert perf.loc["xaug_dnn", "auc"] > 0.98
    assert perf.loc["cnn1d_xaug", "auc"] > 0.98
    assert (perf["auc"] > 0.8).all()
    # Every figure has its seed, test-set and combined error; 3 epochs with patience 2 reach max_epochs.
    assert (perf["auc_err"] >= perf[["auc_seed", "auc_stat"]].max(axis=1)).all()
    assert (perf["auc_stat"] > 0).any()
    assert (perf["n_hit_max_epochs"] >= 0).all() and (perf["best_epoch_mean"] <= 3).all()
    gain = pd.read_csv(toy / "tables" / "xaug_gain.csv").set_index("model")
    assert set(gain.index) == {"cnn2d_xaug", "cnn1d_xaug"}
    assert (gain["n_seeds"] == 2).all()
    assert "(seed " in (toy / "tables" / "performance.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("model", STUDY_MODELS)
def test_toy_relevance_tables(toy, model):
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
    expected["deepsets"] = expected["cnn1d"]
    for rule in TEST_RULES:
        table = pd.read_csv(toy / "tables" / f"relevance_{model}_{rule}.csv").set_index("feature")
        assert set(table.index) == expected[model]
        assert (table["n_seeds"] == 2).all()
        assert (table["mean"] >= 0).all() and (table["mean_stat"] >= 0).all()
        assert table["mean"].max() >= 1.0 - 1e-6 or len(table) > 1  # the largest |R| per event is 1
        assert (toy / "plots" / "relevance" / f"{model}_{rule}" / "relevance_bars.png").stat().st_size > 5000
        md = (toy / "tables" / f"relevance_{model}_{rule}.md").read_text()
        for what in ("explained_output", "rule_description", "xaug_encoding", "normalization", "conservation_median"):
            assert f"**{what}**" in md, what
    if model == "xaug_dnn":
        table = pd.read_csv(toy / "tables" / "relevance_xaug_dnn_presetA.csv").set_index("feature")
        informative = max(table.loc["theta", "mean"], table.loc["z", "mean"])
        assert informative > 2 * max(table.loc["r1", "mean"], table.loc["r2", "mean"])


@pytest.mark.slow
def test_lrp_logs_conservation_and_plots(toy):
    log = (toy / "logs" / "explain" / "cnn2d_seed1.log").read_text()
    assert "|ΣR − explained output| / |explained output|" in log
    assert (toy / "plots" / "relevance" / "cnn2d_xaug_presetA" / "image_relevance.png").exists()
    assert (toy / "plots" / "relevance" / "xaug_dnn_epsilon" / "xaug_profiles.png").exists()
    assert (toy / "plots" / "relevance" / "cnn1d_xaug_epsilon" / "xaug_scatter.png").exists()
    for name in ("roc", "training_curves", "xaug_distributions"):
        assert (toy / "plots" / "summary" / f"{name}.png").stat().st_size > 5000
    history = pd.read_csv(toy / "models" / "cnn2d" / "seed1" / "history.csv")
    assert list(history.columns) == ["epoch", "train_loss", "val_loss", "val_auc"] and len(history) >= 1


@pytest.mark.slow
def test_provenance_and_report(study, toy):
    prov = json.loads((toy / "provenance.json").read_text())
    assert len(prov["config_hash"]) == 16
    assert prov["config"]["training"]["seeds"] == [1, 2]
    assert "torch" in prov["versions"] and prov["git_commit"]
    report = (study / "report.html").read_text(errors="replace")
    assert "performance" in report and len(report) > 100_000


@pytest.mark.slow
def test_pythia_sample_through_the_same_rules(pythia):
    """The real generator feeds the same dataset, training, LRP and table rules as the toy."""
    separation = pd.read_csv(pythia / "tables" / "xaug_separation.csv").set_index("variable")
    assert len(separation) == 36
    assert 80 < separation.loc["m_sd", "peak_sig"] < 100  # Z mass peak of the groomed signal jets
    assert separation.loc["tau21", "auc"] < 0.4  # τ21 lower for two-prong Z jets
    assert separation.loc["m_sd", "auc"] > 0.6
    perf = pd.read_csv(pythia / "tables" / "performance.csv").set_index("model")
    assert (perf["n_seeds"] == 2).all() and list(perf.index) == STUDY_MODELS
    table = pd.read_csv(pythia / "tables" / "relevance_xaug_dnn_presetA.csv")
    assert len(table) == 36 and (table["n_seeds"] == 2).all()
    cutflow = json.loads((pythia / "logs" / "dataset.log").read_text().split("cutflow ", 1)[1])
    assert cutflow["generated"] == 800 and cutflow["rejected_window_m_sd"] > 0
    assert cutflow["failed_next"] >= 0 and "rejected_no_jet_above_pt_min" in cutflow


@pytest.mark.slow
def test_same_tables_with_fewer_cores(toy, tmp_path):
    """A second run with --cores 1 (a slice of the study) reproduces the first run's numbers exactly."""
    snakemake("--cores", "1", *SUBSET_ARGS, workdir=tmp_path)
    assert_same_tables(toy, tmp_path / "results" / SUBSET_SAMPLE)


def test_paper_config_dry_run_with_slurm_profile(tmp_path):
    proc = snakemake(
        "-n",
        "--profile",
        str(REPO / "profiles" / "slurm"),
        "--configfile",
        str(REPO / "config" / "paper.yaml"),
        workdir=tmp_path,
    )
    counts = job_counts(proc.stdout + proc.stderr)
    networks = 4 * 5 + 3  # toy-overlap0/1/2 and pythia with 5 networks, toy-reference with 3
    assert counts["pythia_jets"] == 2 * 1000
    assert counts["toy_jets"] == 4 * 2 * 25
    assert counts["train"] == networks * 10
    assert counts["explain"] == networks * 10
    assert counts["relevance_summary"] == networks
    assert counts["reduced"] == 4 * 10  # every sample but toy-reference, every seed
    assert counts["efp"] == 4 and counts["efp_search"] == 4 * 10 and counts["efp_summary"] == 4
    per_sample = 5 * 7 + 4 * (11 + 12)  # 7 summaries each; reduced (10 seeds + 1) and EFP (1 + 10 seeds + 1)
    assert counts["total"] == 2000 + 200 + 230 + 230 + 23 + per_sample + 4


@pytest.mark.slow
def test_overlap_scan_and_reference_comparison(study):
    """The toy studies side by side: one row per overlap level, and z first with the reference conventions."""
    scan = pd.read_csv(study / "results" / "summary" / "toy_overlap_scan.csv")
    assert set(scan["sample"]) == {"toy-overlap0", "toy-overlap2"}
    auc = scan[scan["quantity"] == "auc"].set_index(["sample", "model"])["value"]
    assert auc.loc[("toy-overlap0", "xaug_dnn")] > auc.loc[("toy-overlap2", "xaug_dnn")]  # harder with overlap
    check = pd.read_csv(study / "results" / "summary" / "toy_check.csv")  # 3 XAUG networks, 6 methods, 2 toys
    assert len(check) == 3 * 6 * 2 and set(check["model"]) == {"cnn2d_xaug", "cnn1d_xaug", "xaug_dnn"}
    comparison = pd.read_csv(study / "results" / "summary" / "toy_reference_comparison.csv")
    assert set(comparison["model"]) == {"cnn2d_xaug", "cnn1d_xaug", "xaug_dnn"}
    first = comparison[comparison["xaug_rank_reference_conventions"] == 1]
    assert set(first["feature"]) == {"z"}, first
    z = comparison[(comparison["feature"] == "z") & (comparison["model"] == "xaug_dnn")]
    assert (z["reference_conventions"] != z["default_conventions"]).all()
    matching = pd.read_csv(study / "results" / "pythia" / "tables" / "z_matching.csv")
    assert len(matching) == 2 and (matching.filter(like="fully_merged").to_numpy(dtype=float) > 0.3).all()


@pytest.mark.slow
def test_cross_checks_of_the_explanations(toy):
    """Method agreement, occlusion, activation patterns and decision ordering for every network."""
    for model in STUDY_MODELS:
        pairs = pd.read_csv(toy / "tables" / f"agreement_{model}.csv")
        methods = set(pairs["method_a"]) | set(pairs["method_b"])
        assert {"epsilon", "presetA", "integrated_gradients", "deeplift", "occlusion"} <= methods
        # NaN: a ranking without ties to break is constant for that seed (undefined correlation), not an error
        assert (pairs["spearman"].isna() | pairs["spearman"].between(-1, 1)).all() and (pairs["n_seeds"] == 2).all()
        occlusion = pd.read_csv(toy / "tables" / f"occlusion_{model}.csv")
        assert set(occlusion["mask"]) == {"zero", "mean"} and (occlusion["delta_auc_err"] >= 0).all()
        sparsity = pd.read_csv(toy / "tables" / f"activations_{model}.csv")
        assert sparsity["sparsity"].between(0, 1).all() and set(sparsity["class"]) == {0, 1}
    ado = pd.read_csv(toy / "tables" / "ado.csv")
    assert ado["ado"].between(0.5 - 1e-9, 1).sum() >= len(ado) - 5  # signs chosen so variables tag signal
    theta = ado[(ado["a"] == "xaug_dnn") & (ado["b"] == "theta")]["ado"].item()
    assert theta > 0.9  # at overlap 0, θ alone orders (almost) every pair as the network does


@pytest.mark.slow
def test_readme_results_are_copied_from_the_tables(study, tmp_path):
    """scripts/readme_results.py fills the README's results block from a run's tables, and --check sees it."""
    import subprocess
    import sys

    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:begin -->\nSTALE-BLOCK\n<!-- results:end -->\nrest\n")
    script = str(REPO / "scripts" / "readme_results.py")
    args = ["--results", str(study / "results"), "--readme", str(readme)]
    subprocess.run([sys.executable, script, *args], check=True, cwd=REPO)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "STALE-BLOCK" not in text
    perf = pd.read_csv(study / "results" / "pythia" / "tables" / "performance.csv").set_index("model")
    assert f"{perf.loc['xaug_dnn', 'auc']:.3g}" in text  # the table's own number, not a typed one
    assert "toy_overlap" not in text or "AUC against overlap" in text
    check = subprocess.run([sys.executable, script, *args, "--check"], cwd=REPO)
    assert check.returncode == 0
    readme.write_text(text.replace(f"{perf.loc['xaug_dnn', 'auc']:.3g}", "0.123456"))
    assert subprocess.run([sys.executable, script, *args, "--check"], cwd=REPO).returncode == 1


@pytest.mark.slow
def test_one_page_answer_copies_the_tables(toy):
    """The answer page names every network and quotes the tables' numbers, not new ones."""
    page = (toy / "answer.md").read_text()
    for model in STUDY_MODELS:
        assert f"## {model}: the most relevant inputs, by method" in page
    top = pd.read_csv(toy / "tables" / "relevance_xaug_dnn_presetA.csv").sort_values("mean", ascending=False).iloc[0]
    assert f"{top['feature']} ({top['mean']:.3g} ± " in page
    assert "ADO with xaug_dnn" in page
    cnn2d = page.split("## cnn2d: ")[1].split("## ")[0]  # no XAUG input: Shapley values do not apply
    assert re.search(r"\| shapley +\| not applicable", cnn2d)


@pytest.mark.slow
def test_reduced_sets_in_the_tiny_study(study):
    """Every ranking at every k below the full set; the all-variable row is the study's own xaug_dnn."""
    results = study / "results"
    assert not (results / "toy-reference" / "tables" / "reduced.csv").exists()  # conventions, not sets
    table = pd.read_csv(results / "pythia" / "tables" / "reduced.csv")
    rankings = {"presetA", "integrated_gradients", "occlusion", "single_auc", "random"}
    assert set(table["ranking"]) == rankings | {"all"}
    reduced_ks = table[table["ranking"] != "all"].groupby("model")["k"].agg(set).to_dict()
    assert reduced_ks == {"xaug_dnn": {1, 2}, "cnn2d_xaug": {3}}  # reduced.ks; the image + top k at joint_ks
    perf = pd.read_csv(results / "pythia" / "tables" / "performance.csv").set_index("model")
    for model, full in table[table["ranking"] == "all"].set_index("model").iterrows():
        assert full["auc"] == pytest.approx(perf.loc[model, "auc"], abs=1e-12) and full["auc_loss"] == 0
    smallest = pd.read_csv(results / "pythia" / "tables" / "reduced_smallest.csv", dtype={"smallest_k": str})
    assert set(smallest["ranking"]) == rankings
    assert smallest["smallest_k"].str.fullmatch(r"[12]|> 2|≤ 3|> 3").all()  # joint_ks: [3] only
    assert re.search(r"\| xaug_dnn +\| presetA", (results / "pythia" / "answer.md").read_text())
    toy = pd.read_csv(results / "toy-overlap0" / "tables" / "reduced.csv")
    single = toy[(toy["ranking"] == "single_auc") & (toy["model"] == "xaug_dnn")]  # k = 1, 2 (reduced.ks)
    assert set(single["features"]) <= {"z", "theta", "z theta", "theta z"}


@pytest.mark.slow
def test_drop_and_retrain_in_the_tiny_study(study):
    """Each drop set twice, from scratch and from the full network's weights, with fewer variables than all."""
    drop = pd.read_csv(study / "results" / "pythia" / "tables" / "reduced_drop.csv")
    assert len(drop) and set(drop["start"]) == {"scratch", "preloaded"}
    assert (drop.groupby("threshold")["start"].nunique() == 2).all()
    assert ((drop["k"] < 36) & (drop["k"] + drop["dropped"] == 36)).all()
    assert (drop.loc[drop["start"] == "scratch", "epochs_vs_scratch"] == 1).all()


@pytest.mark.slow
def test_guided_efp_search_in_the_tiny_study(study):
    """Both black boxes from both start sets on Pythia; the toy has no m_sd, so only the XAUG start runs."""
    results = study / "results"
    final = pd.read_csv(results / "pythia" / "tables" / "efp_search_final.csv")
    assert set(zip(final["black_box"], final["start"], strict=True)) == {
        (box, start) for box in ("cnn2d", "cnn1d") for start in ("xaug", "m_sd_tau21")
    }
    assert final[["start_ado", "ado"]].stack().between(0, 1).all()
    steps = pd.read_csv(results / "pythia" / "tables" / "efp_search.csv")
    assert (steps.loc[steps["step"] == 0, "added"] == "(start set) (2/2)").all()
    assert set(pd.read_csv(results / "toy-overlap0" / "tables" / "efp_search_final.csv")["start"]) == {"xaug"}
    assert "guided EFP search" in (results / "pythia" / "answer.md").read_text()
    assert "efp_n2_d1_k0" in h5py.File(results / "pythia" / "efp.h5", "r").attrs["names"]
