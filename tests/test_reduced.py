"""Reduced expert sets: rankings with known answers, the top-k sets, retraining and the sufficiency rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from test_training import SETTINGS

from xaugjets.aggregation import Run, bootstrap_runs
from xaugjets.datasets import read_dataset, select_split
from xaugjets.reduced import (
    RANKINGS,
    RankingInputs,
    by_chance,
    by_single_variable_auc,
    drop_sets,
    feature_sets,
    preloaded_weights,
    rankings,
    reduced_table,
    retrain,
    smallest_sufficient,
    with_xaug_columns,
)

NAMES = ["a", "b", "c"]


def inputs(tmp_path: Path, seed: int = 1) -> RankingInputs:
    """Three variables: c separates the classes perfectly, a partly (reversed sign), b not at all."""
    rng = np.random.default_rng(0)
    label = np.repeat([0, 1], 500)
    xaug = np.column_stack([-label + rng.normal(0, 1, 1000), rng.normal(0, 1, 1000), 5.0 * label])
    train = {"xaug": xaug, "label": label, "weight": np.ones(1000)}
    return RankingInputs(NAMES, tmp_path, "net", train, NAMES, seed)


def test_single_variable_auc_ranks_by_separation_either_sign(tmp_path):
    assert by_single_variable_auc(inputs(tmp_path)) == ["c", "a", "b"]


def test_random_ranking_is_a_seeded_permutation(tmp_path):
    first, again, other = (by_chance(inputs(tmp_path, seed)) for seed in (1, 1, 2))
    assert sorted(first) == NAMES and first == again
    orders = {tuple(by_chance(inputs(tmp_path, seed))) for seed in range(20)}
    assert len(orders) > 1 and other in [list(o) for o in orders]


def test_explanation_and_occlusion_rankings_read_the_tables(tmp_path):
    # The relevance table lists a feature that is not an XAUG input (the image): it is ignored.
    pd.DataFrame({"feature": ["image", "b", "a", "c"], "mean": [0.9, 0.5, 0.7, 0.1]}).to_csv(
        tmp_path / "relevance_net_presetA.csv", index=False
    )
    occlusion = {"feature": NAMES * 2, "mask": ["zero"] * 3 + ["mean"] * 3, "delta_auc": [0, 0.2, 0.1, 9, 9, 9]}
    pd.DataFrame(occlusion).to_csv(tmp_path / "occlusion_net.csv", index=False)
    ranked = rankings(inputs(tmp_path), ["presetA"], list(RANKINGS))
    assert ranked["presetA"] == ["a", "b", "c"]
    assert ranked["occlusion"] == ["b", "c", "a"]  # the zero mask only
    assert list(ranked) == ["presetA", "occlusion", "single_auc", "random"]


def test_feature_sets_skip_the_full_set():
    sets = feature_sets({"r": ["c", "a", "b"]}, [1, 2, 3, 5])
    assert sets == [("r", 1, ("c",)), ("r", 2, ("c", "a"))]


def test_retrain_uses_only_the_kept_variables_and_trains_equal_sets_once(toy_dataset):
    arrays, attrs = read_dataset(str(toy_dataset))
    names = attrs["xaug_inputs"]
    kept = with_xaug_columns(arrays, names, ["theta", "z"])
    np.testing.assert_array_equal(kept["xaug_scaled"][:, 1], arrays["xaug_scaled"][:, names.index("z")])
    # "x" and "y" agree on the top 2 as a set (order differs): one fit serves both.
    sets = feature_sets({"x": ["z", "theta", "r1", "r2"], "y": ["theta", "z", "r2", "r1"]}, [1, 2])
    rows, logits = retrain(arrays, names, sets, ["xaug_dnn"], seed=3, settings=SETTINGS)
    assert list(rows["k"]) == [1, 2, 1, 2] and list(rows["features"]) == ["z", "z theta", "theta", "theta z"]
    assert logits.shape == (int((arrays["split"] == 2).sum()), 4)
    np.testing.assert_array_equal(logits[:, 1], logits[:, 3])
    assert not np.array_equal(logits[:, 0], logits[:, 2])
    assert (rows["auc"] > 0.8).all()  # z or θ alone separates the overlap-0 toy


def _run(name: str, seed: int, logit: np.ndarray, label: np.ndarray, features: str = "") -> Run:
    from xaugjets.metrics import performance

    metrics = performance(label, logit) | {"model": name, "seed": seed, "epochs": 5, "best_epoch": 3}
    metrics |= {"stop_reason": "early_stopping", "features": features} if features else {}
    return Run(name, seed, metrics, pd.DataFrame({"label": label, "weight": 1.0, "logit": logit}))


def test_a_top_k_network_equal_to_the_full_one_loses_nothing_and_suffices():
    rng = np.random.default_rng(1)
    label = np.repeat([0, 1], 200)
    runs = []
    for seed in (1, 2):
        full = label + rng.normal(0, 1, 400)
        runs.append(_run("m|all|3", seed, full, label))
        runs.append(_run("m|r|1", seed, rng.normal(0, 1, 400), label, "a"))  # knows nothing
        runs.append(_run("m|r|2", seed, full, label, "a b"))  # the full network's very scores
        runs.append(_run("m|random|1", seed, rng.normal(0, 1, 400), label, "c"))
        runs.append(_run("m|random|2", seed, rng.normal(0, 1, 400), label, "c a"))
    table = reduced_table(runs, bootstrap_runs(runs, 50, seed=0), {"m": ["a", "b", "c"]})
    row = table.set_index(["ranking", "k"])
    assert row.loc[("all", 3), "auc_loss"] == 0 and row.loc[("r", 2), "auc_loss"] == 0
    assert row.loc[("r", 2), "auc_loss_err"] == 0
    assert row.loc[("r", 1), "auc_loss"] > 3 * row.loc[("r", 1), "auc_loss_err"]
    assert row.loc[("r", 2), "auc_minus_random"] > 0.1
    smallest = smallest_sufficient(table[table["ranking"] != "all"]).set_index("ranking")
    assert smallest.loc["r", "smallest_k"] == "2" and smallest.loc["r", "features"] == "a b"
    assert smallest.loc["random", "smallest_k"] == "> 2"  # a bound, not a measurement
    # Tried from k = 2 up only: k = 2 suffices, so the smallest sufficient k is a bound "≤ 2".
    only_from_two = smallest_sufficient(table[table["k"] == 2]).set_index("ranking")
    assert only_from_two.loc["r", "smallest_k"] == "≤ 2"


def test_a_study_without_the_networks_or_methods_has_no_reduced_sets_of_them():
    from xaugjets.config import validate_config
    from xaugjets.study import reduced_joint_models, reduced_methods, reduced_samples

    config = validate_config({"samples": ["toy"], "models": ["cnn2d"], "relevance": {"rules": ["epsilon"]}})
    assert reduced_samples(config) == [] and reduced_methods(config) == ["integrated_gradients"]
    config = validate_config({"samples": ["toy"], "models": ["xaug_dnn"], "toy": {"overlaps": [0, 1]}})
    assert reduced_samples(config) == ["toy-overlap0", "toy-overlap1"]  # never the reference toy
    assert reduced_joint_models(config, "toy-overlap0") == []  # cnn2d_xaug is not trained: no image + top k
    config = validate_config({"samples": ["toy"], "models": ["xaug_dnn", "cnn2d_xaug"]})
    assert reduced_joint_models(config, "toy-overlap0") == ["cnn2d_xaug"]


def test_selected_split_keeps_columns_consistent(toy_dataset):
    arrays, attrs = read_dataset(str(toy_dataset))
    test = with_xaug_columns(select_split(arrays, "test"), attrs["xaug_inputs"], ["r1"])
    assert test["xaug_scaled"].shape[1] == 1 and test["xaug"].shape[1] == len(attrs["xaug_names"])


def test_drop_sets_keep_variables_at_or_above_each_threshold_and_skip_trivial_sets():
    delta_auc = pd.Series({"a": 0.02, "b": 0.0005, "c": -0.001})
    sets = drop_sets(delta_auc, NAMES, [-1.0, 0.0, 0.001, 0.05])
    assert sets == [(0.0, ("a", "b")), (0.001, ("a",))]  # -1 keeps all, 0.05 keeps none


def test_a_preloaded_network_is_the_full_one_with_the_dropped_inputs_at_zero():
    """Removing a variable's input weights is the same as feeding it 0: before any retraining, the reduced
    network from preloaded weights gives the full network's logits on jets with the dropped inputs zeroed."""
    import torch

    from xaugjets.models import build_model

    torch.manual_seed(0)
    shapes = {"grid": 8, "n_particles": 4, "n_particle_features": 3}
    full = build_model("cnn2d_xaug", dropout=0.0, head_dropout=0.0, n_xaug=5, **shapes).eval()
    kept = [0, 3, 4]
    reduced = build_model("cnn2d_xaug", dropout=0.0, head_dropout=0.0, n_xaug=3, **shapes).eval()
    reduced.load_state_dict(preloaded_weights(full.state_dict(), 5, kept))
    image, xaug = torch.rand(6, 1, 8, 8), torch.rand(6, 5)
    zeroed = xaug.clone()
    zeroed[:, [1, 2]] = 0.0
    with torch.no_grad():
        torch.testing.assert_close(reduced(image, xaug[:, kept]), full(image, zeroed))
