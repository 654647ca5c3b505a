"""Cascading randomization: known answers on hand-built inputs and networks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from xaugjets.attribution import METHODS, MethodSettings, lrp_method
from xaugjets.models import build_model
from xaugjets.relevance import RuleParameters
from xaugjets.sanity import (
    SHUFFLED_LABELS,
    SURVIVES,
    cascading_randomization,
    map_correlation,
    parametrized_layers,
    randomized,
    sanity_table,
    shuffled_labels,
)

SHAPES = {"grid": 16, "n_particles": 20, "n_particle_features": 5, "n_xaug": 4, "dropout": 0.2, "head_dropout": 0.0}
FAST = MethodSettings.default(ig_steps=8, batch_size=64)


def cnn2d() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("cnn2d", **SHAPES).eval()


def test_map_correlation_known_values():
    x = np.arange(12.0).reshape(2, 6) + 1
    inputs = [np.ones_like(x)]
    assert np.allclose(map_correlation([x], [x], inputs, True), 1.0)
    assert np.allclose(map_correlation([x], [x[:, ::-1].copy()], inputs, True), -1.0)
    assert np.allclose(map_correlation([x], [-x], inputs, True), 1.0)  # |R|: the sign does not count
    assert np.allclose(map_correlation([x], [-x], inputs, False), -1.0)
    assert np.isnan(map_correlation([x], [np.ones_like(x)], inputs, True)).all()  # a constant map has no ranking


def test_map_correlation_counts_only_active_inputs():
    """Empty pixels (input 0, relevance 0 for every method) must not make unrelated maps look alike."""
    reference = np.array([[0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0]])
    other = np.array([[0.0, 0.0, 0.0, 0.0, 4.0, 3.0, 2.0, 1.0]])
    inputs = [np.array([[0, 0, 0, 0, 1, 1, 1, 1]])]
    assert np.allclose(map_correlation([reference], [other], inputs, True), -1.0)
    assert map_correlation([reference], [other], [np.ones_like(reference)], True)[0] > 0  # what all elements would say


def test_layers_in_forward_order_and_randomization_is_seeded_and_leaves_the_net_alone():
    net = cnn2d()
    assert parametrized_layers(net) == ["extractor.0", "extractor.2", "extractor.4", "head.0", "head.2", "head.4"]
    before = {k: v.clone() for k, v in net.state_dict().items()}
    a, b = randomized(net, ["head.4", "head.2"], seed=3), randomized(net, ["head.4", "head.2"], seed=3)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert torch.equal(a.head[4].weight, b.head[4].weight) and not torch.equal(a.head[4].weight, net.head[4].weight)
    assert torch.equal(a.extractor[0].weight, net.extractor[0].weight)  # only the named layers change


def test_randomizing_every_layer_destroys_the_map_correlation():
    """Uniform images carry no structure of their own: the maps are the network's, so a random network's
    are unrelated to the original's, while the untouched network reproduces its own exactly."""
    images = (
        torch.ones(24, 1, 16, 16) + 0.01 * torch.randn(24, 1, 16, 16, generator=torch.Generator().manual_seed(1)),
    )
    methods = {"epsilon": lrp_method("epsilon", RuleParameters(0.1, 2.0)), "deeplift": METHODS["deeplift"]}
    table = cascading_randomization(cnn2d(), images, methods, "signal", FAST, seed=5)
    assert (table[table["randomized"] == 0]["spearman"] == 1.0).all()
    full = table[table["randomized"] == table["randomized"].max()].set_index("method")["spearman"]
    assert (full.abs() < 0.3).all(), full


def test_verdict_flags_a_method_whose_maps_survive():
    rows = [("kept", k, 0.95) for k in range(3)] + [("good", k, 1.0 - 0.45 * k) for k in range(3)]
    frame = pd.DataFrame(rows, columns=["method", "randomized", "spearman"]).assign(layer="l", n_jets=10)
    per_seed = [frame.assign(spearman_abs=0.9)] * 2
    table, verdict = sanity_table(per_seed)
    assert verdict.set_index("method")["passes"].to_dict() == {"kept": False, "good": True}
    assert SURVIVES == 0.5 and (table["spearman_seed"] == 0).all()


def test_shuffled_labels_permute_within_train_and_val_and_leave_test_alone():
    rng = np.random.default_rng(0)
    split = np.repeat([0, 1, 2], [60, 20, 20])
    arrays = {"label": rng.integers(0, 2, 100), "weight": rng.random(100), "split": split, "x": np.arange(100)}
    out = shuffled_labels(arrays, seed=1)
    np.testing.assert_array_equal(out["label"][split == 2], arrays["label"][split == 2])
    np.testing.assert_array_equal(out["x"], arrays["x"])  # the jets stay where they are
    for s in (0, 1):
        assert sorted(out["label"][split == s]) == sorted(arrays["label"][split == s])  # class counts kept
    assert not np.array_equal(out["label"][split == 0], arrays["label"][split == 0])
    np.testing.assert_array_equal(shuffled_labels(arrays, seed=1)["label"], out["label"])  # seeded


def test_a_shuffled_label_twin_with_the_same_maps_is_flagged():
    """The twin row: the network itself as its "twin" explains alike (ρ = 1, flagged); an unrelated network
    of the same architecture does not."""
    images = (
        torch.ones(24, 1, 16, 16) + 0.01 * torch.randn(24, 1, 16, 16, generator=torch.Generator().manual_seed(1)),
    )
    methods = {"epsilon": lrp_method("epsilon", RuleParameters(0.1, 2.0))}
    same = cascading_randomization(cnn2d(), images, methods, "signal", FAST, seed=5, label_shuffled=cnn2d())
    twin = same[same["randomized"] == SHUFFLED_LABELS]
    assert len(twin) == 1 and twin["spearman"].iloc[0] == 1.0
    _, verdict = sanity_table([same, same])
    assert not verdict["passes"].iloc[0] and verdict["spearman_shuffled_labels"].iloc[0] == 1.0
    torch.manual_seed(7)
    other = build_model("cnn2d", **SHAPES).eval()
    table = cascading_randomization(cnn2d(), images, methods, "signal", FAST, seed=5, label_shuffled=other)
    assert abs(table[table["randomized"] == SHUFFLED_LABELS]["spearman"].iloc[0]) < 0.3
