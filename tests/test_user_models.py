"""Networks brought in by import path (user_models): built, wrapped, saved, reloaded and explained."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xaugjets import relevance
from xaugjets.attribution import METHODS, lrp_method, not_applicable
from xaugjets.examples import DeepSets
from xaugjets.models import UserModel, build_model, load_model
from xaugjets.relevance import NoRuleError, RuleParameters

SHAPES = {"grid": 16, "n_particles": 20, "n_particle_features": 5, "n_xaug": 4, "dropout": 0.2, "head_dropout": 0.0}
EXAMPLE = UserModel("xaugjets.examples:deep_sets", ("particles",))
PARAMS = RuleParameters(epsilon=0.1, gamma=2.0)


def particles(n: int = 7, seed: int = 0, real: int = 12) -> torch.Tensor:
    """(jets, features, slots): ``real`` particles, then padding that is exactly 0, as in the datasets."""
    x = torch.randn(n, 5, 20, generator=torch.Generator().manual_seed(seed))
    x[:, :, real:] = 0.0
    return x


def test_user_network_is_built_from_its_import_path():
    torch.manual_seed(0)
    net = build_model("deepsets", user=EXAMPLE, **SHAPES).eval()
    assert net.name == "deepsets" and net.inputs == ("particles",)
    assert net(particles()).shape == (7,)


def test_deep_sets_ignores_particle_order_and_padding():
    torch.manual_seed(0)
    net = build_model("deepsets", user=EXAMPLE, **SHAPES).eval()
    x = particles()
    shuffled = x[:, :, torch.randperm(20, generator=torch.Generator().manual_seed(1))]
    torch.testing.assert_close(net(shuffled), net(x))
    # A padded slot contributes nothing: its per-particle features are exactly 0 (no bias in φ).
    phi = net.net.phi(x)
    assert torch.equal(phi[:, :, 12:], torch.zeros_like(phi[:, :, 12:]))


def test_saved_user_network_reloads_with_the_same_outputs(tmp_path):
    torch.manual_seed(0)
    net = build_model("deepsets", user=EXAMPLE, **SHAPES).eval()
    shapes = {k: SHAPES[k] for k in ("grid", "n_particles", "n_particle_features", "n_xaug")}
    payload = {
        "state_dict": net.state_dict(),
        "model": "deepsets",
        "shapes": shapes,
        "dropout": 0.2,
        "head_dropout": 0.0,
        "user": {"factory": EXAMPLE.factory, "inputs": list(EXAMPLE.inputs)},
    }
    torch.save(payload, tmp_path / "model.pt")
    again = load_model(str(tmp_path / "model.pt"))
    torch.testing.assert_close(again(particles()), net(particles()))


def test_lrp_conserves_on_the_deep_sets_network_without_biases():
    """Bias-free everywhere, LRP-0 splits f exactly over the particle features (the pooling included)."""
    torch.manual_seed(0)
    net = DeepSets(5, 20)
    for layer in net.rho:
        if isinstance(layer, nn.Linear):
            nn.init.zeros_(layer.bias)
    wrapped = build_model("deepsets", user=EXAMPLE, **SHAPES)
    wrapped.net = net
    (rel,), logits = relevance.explain(wrapped.eval(), (particles(),), "z", PARAMS, "signal", 64)
    np.testing.assert_allclose(rel.reshape(len(rel), -1).sum(axis=1), logits, rtol=1e-4, atol=1e-6)
    assert np.abs(rel[:, :, 12:]).max() == 0.0  # padding gets no relevance


def test_lrp_names_the_layer_it_has_no_rule_for():
    net = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.ReLU(), nn.Linear(8, 1))
    wrapped = build_model("mine", user=EXAMPLE, **SHAPES)
    wrapped.net = net
    with pytest.raises(NoRuleError, match=r"layer 'net\.1' \(LayerNorm\)"):
        relevance.explain(wrapped.eval(), (torch.rand(3, 4),), "epsilon", PARAMS, "signal", 8)
    # The explain job asks first: LRP is "not applicable" (zeros, said in the table), the others still run.
    assert "'net.1' (LayerNorm)" in not_applicable(lrp_method("epsilon", PARAMS), wrapped)
    assert not_applicable(METHODS["integrated_gradients"], wrapped) is None
    assert not_applicable(METHODS["shapley"], wrapped) == "the network has no XAUG input"
    assert not_applicable(lrp_method("epsilon", PARAMS), build_model("deepsets", user=EXAMPLE, **SHAPES)) is None


def test_a_factory_that_does_not_import_is_named():
    with pytest.raises(ImportError, match="no_such_module:build"):
        build_model("mine", user=UserModel("no_such_module:build", ("image",)), **SHAPES)
