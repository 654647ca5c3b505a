"""Networks and LRP: shapes, XAUG wiring, conservation, and captum against a hand-computed LRP."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xaugjets import relevance
from xaugjets.models import MODEL_INPUTS, MODELS, build_model

SHAPES = {"grid": 16, "n_particles": 20, "n_particle_features": 5, "n_xaug": 4}


def inputs_for(name: str, n: int = 6, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    make = {
        "image": lambda: torch.rand(n, 1, 16, 16, generator=g),
        "particles": lambda: torch.randn(n, 5, 20, generator=g),
        "xaug": lambda: torch.rand(n, 4, generator=g),
    }
    return tuple(make[key]() for key in MODEL_INPUTS[name])


@pytest.mark.parametrize("name", MODELS)
def test_one_logit_and_xaug_wiring(name):
    torch.manual_seed(0)
    net = build_model(name, **SHAPES).eval()
    x = inputs_for(name)
    out = net(*x)
    assert out.shape == (6,)
    if "xaug" in MODEL_INPUTS[name]:
        changed = (*x[:-1], x[-1] + 1.0)
        assert not torch.allclose(net(*changed), out)


def zero_biases(net: nn.Module) -> None:
    with torch.no_grad():
        for module in net.modules():
            if getattr(module, "bias", None) is not None:
                module.bias.zero_()


@pytest.mark.parametrize("name", MODELS)
def test_lrp0_conserves_relevance_without_biases(name):
    torch.manual_seed(1)
    net = build_model(name, **SHAPES).eval()
    zero_biases(net)
    x = inputs_for(name, n=16, seed=2)
    rel, logits = relevance.explain(net, x, "z", epsilon=0.1)
    deviation = relevance.conservation(rel, logits)
    assert np.abs(logits).min() > 1e-6
    assert deviation.max() < 1e-4


def hand_lrp_epsilon(weights, biases, x, eps):
    """Textbook LRP-ε for a ReLU MLP: R_j = a_j Σ_k w_jk R_k / (z_k + ε sign z_k)."""
    activations = [x]
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        z = activations[-1] @ w.T + b
        activations.append(np.maximum(z, 0) if i < len(weights) - 1 else z)
    rel = activations[-1]
    for i in range(len(weights) - 1, -1, -1):
        a = activations[i]
        z = a @ weights[i].T + biases[i]
        s = rel / (z + eps * np.where(z >= 0, 1.0, -1.0))
        rel = a * (s @ weights[i])
    return rel


def test_captum_epsilon_matches_hand_computation():
    torch.manual_seed(3)
    net = build_model("xaug_dnn", **SHAPES).eval()
    x = inputs_for("xaug_dnn", n=5, seed=4)
    rel, _ = relevance.explain(net, x, "epsilon", epsilon=0.1)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    weights = [m.weight.detach().double().numpy() for m in linears]
    biases = [m.bias.detach().double().numpy() for m in linears]
    expected = hand_lrp_epsilon(weights, biases, x[0].double().numpy(), 0.1)
    np.testing.assert_allclose(rel[0], expected, rtol=1e-4, atol=1e-6)


def test_alpha1beta0_on_positive_inputs_gives_nonnegative_relevance():
    torch.manual_seed(5)
    net = build_model("cnn2d", **SHAPES).eval()
    zero_biases(net)
    x = inputs_for("cnn2d", n=8)
    rel, logits = relevance.explain(net, x, "alpha1beta0", epsilon=0.1)
    positive = logits > 0
    assert positive.any()
    assert (rel[0][positive] >= -1e-7).all()


def test_rules_restore_weights():
    torch.manual_seed(6)
    net = build_model("cnn2d_xaug", **SHAPES).eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    for rule in relevance.RULES:
        relevance.explain(net, inputs_for("cnn2d_xaug"), rule, epsilon=0.1)
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_feature_relevances_normalization():
    image = np.zeros((2, 1, 2, 2))
    image[0, 0, 0, 0], image[0, 0, 1, 1] = 2.0, -1.0
    image[1, 0, 0, 0] = 0.5
    xaug = np.array([[4.0, -1.0], [0.0, -0.25]])
    feats, names, normalized = relevance.feature_relevances([image, xaug], ("image", "xaug"), ["a", "b"], [])
    assert names == ["image", "a", "b"]
    np.testing.assert_allclose(feats, [[0.75, 1.0, 0.25], [1.0, 0.0, 0.5]])
    assert np.abs(normalized[1]).max() == 1.0


def test_unknown_rule():
    with pytest.raises(ValueError, match="unknown LRP rule"):
        relevance.attach_rules(build_model("xaug_dnn", **SHAPES), "gamma", 0.1)
