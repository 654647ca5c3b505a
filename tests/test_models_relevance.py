"""Networks and LRP: shapes, XAUG wiring, conservation, and captum against a hand-computed LRP."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xaugjets import relevance
from xaugjets.models import MODEL_INPUTS, MODELS, build_model
from xaugjets.relevance import RuleParameters

PARAMS = RuleParameters(epsilon=0.1, gamma=2.0)

SHAPES = {"grid": 16, "n_particles": 20, "n_particle_features": 5, "n_xaug": 4, "dropout": 0.2, "head_dropout": 0.0}


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
    rel, logits = relevance.explain(net, x, "z", PARAMS, "signal", 512)
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
    rel, _ = relevance.explain(net, x, "epsilon", PARAMS, "signal", 512)
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
    rel, logits = relevance.explain(net, x, "alpha1beta0_nobias", PARAMS, "signal", 512)
    positive = logits > 0
    assert positive.any()
    assert (rel[0][positive] >= -1e-7).all()


def test_rules_restore_weights():
    torch.manual_seed(6)
    net = build_model("cnn2d_xaug", **SHAPES).eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    for rule in relevance.RULES:
        relevance.explain(net, inputs_for("cnn2d_xaug"), rule, PARAMS, "signal", 512)
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert not any(module._forward_hooks for module in net.modules())  # and leave no hook behind


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
        with relevance.rules_attached(build_model("xaug_dnn", **SHAPES), "delta", PARAMS):
            pass


class PoolNet(nn.Module):
    """Hand-built: conv (1 -> 1 channel, 1x1, weight 1, no bias), ReLU, max-pool 2, flatten, dense (weights 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.name, self.inputs = "pool", ("image",)
        self.conv = nn.Conv2d(1, 1, 1, bias=False)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.dense = nn.Linear(4, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.fill_(1.0)
            self.dense.weight.fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(self.relu(self.conv(x)))
        return self.dense(pooled.reshape(len(x), -1)).squeeze(-1)


@pytest.mark.parametrize("rule", list(relevance.RULES))
def test_max_pooling_is_winner_take_all_for_every_rule(rule):
    """Each 2x2 block's relevance lands on its maximum alone, and in full: with ε = 0.1 at the pooling layer
    a block with maximum 0.1 would lose half of it."""
    x = torch.tensor([[0.1, 0.02, 0.3, 0.0], [0.05, 0.0, 0.1, 0.2], [0.0, 0.0, 0.5, 0.1], [0.0, 0.2, 0.05, 0.4]])
    rel, logits = relevance.explain(PoolNet().eval(), (x.reshape(1, 1, 4, 4),), rule, PARAMS, "signal", 512)
    winners = np.zeros((4, 4))
    winners[0, 0], winners[0, 2], winners[3, 1], winners[2, 2] = 0.1, 0.3, 0.2, 0.5
    expected = winners.copy()  # LRP-0 and α1β0 without biases: each winner keeps its own contribution
    if rule in ("epsilon", "presetA", "presetA_nobias"):  # ε at the dense layer: R = a · f / (f + ε)
        expected *= logits[0] / (logits[0] + 0.1)
    if rule == "epsilon":  # and at the 1x1 convolution: R_x = x · R / (x + ε)
        expected *= winners / (winners + 0.1)
    np.testing.assert_allclose(rel[0][0, 0], expected, rtol=1e-5, atol=1e-7)


def dense_net(weight: list[float], bias: float) -> nn.Module:
    """One dense layer with a bias: the smallest net on which bias treatments differ."""

    class Dense(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.name, self.inputs = "dense", ("xaug",)
            self.dense = nn.Linear(len(weight), 1)
            with torch.no_grad():
                self.dense.weight.copy_(torch.tensor([weight]))
                self.dense.bias.fill_(bias)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.dense(x).squeeze(-1)

    return Dense().eval()


def test_alpha1beta0_keeps_the_positive_bias_and_nobias_drops_it():
    """z⁺ = Σ x w⁺ + b⁺: with b = 1, x = (1, 2), w = (1, -1), z⁺ = 2 and f = 0 ... R_1 = x1 w1⁺ / z⁺ · f."""
    net = dense_net([1.0, 2.0], bias=1.0)
    x = (torch.tensor([[1.0, 2.0]]),)
    f = 1.0 + 4.0 + 1.0
    with_bias, _ = relevance.explain(net, x, "alpha1beta0", PARAMS, "signal", 512)
    without, _ = relevance.explain(net, x, "alpha1beta0_nobias", PARAMS, "signal", 512)
    np.testing.assert_allclose(with_bias[0][0], [1.0 / 6.0 * f, 4.0 / 6.0 * f], rtol=1e-6)  # bias absorbs 1/6
    np.testing.assert_allclose(without[0][0], [1.0 / 5.0 * f, 4.0 / 5.0 * f], rtol=1e-6)  # conserves f


def test_gamma_rule_on_a_dense_layer():
    """LRP-γ: R_i = x_i (w_i + γ w_i⁺) / (Σ x (w + γ w⁺) + b + γ b⁺) · f."""
    net = dense_net([1.0, -0.5], bias=0.5)
    x = (torch.tensor([[2.0, 1.0]]),)
    f = 2.0 - 0.5 + 0.5
    rel, _ = relevance.explain(net, x, "gamma", PARAMS, "signal", 512)
    z = 2.0 * 3.0 - 0.5 + 1.5
    np.testing.assert_allclose(rel[0][0], [2.0 * 3.0 / z * f, -0.5 / z * f], rtol=1e-6)


def test_predicted_class_explains_sign_times_logit():
    net = dense_net([1.0, -1.0, 0.5, -0.25], bias=0.0)
    x = (torch.randn(32, 4, generator=torch.Generator().manual_seed(8)),)
    signal, logits = relevance.explain(net, x, "z", PARAMS, "signal", 512)
    predicted, _ = relevance.explain(net, x, "z", PARAMS, "predicted", 512)
    assert (logits < 0).any() and (logits > 0).any()
    sign = np.sign(logits)
    for s, p in zip(signal, predicted, strict=True):
        np.testing.assert_allclose(p, s * sign.reshape((-1,) + (1,) * (s.ndim - 1)), rtol=1e-6, atol=1e-9)
    explained = relevance.explained_values(logits, "predicted")
    assert (explained > 0).all()
    assert relevance.conservation(predicted, explained).max() < 1e-4


def test_mask_channel_is_kept_out_of_the_particle_total():
    particles = np.zeros((1, 3, 2))  # (N, F, P): features pt, eta, is_particle
    particles[0, 0], particles[0, 1], particles[0, 2] = [1.0, 0.0], [0.5, 0.5], [2.0, 2.0]
    feats, names, _ = relevance.feature_relevances([particles], ("particles",), [], ["pt", "eta", "is_particle"])
    values = dict(zip(names, feats[0], strict=True))
    # Normalized by the largest |R| (2): pt 0.5, eta 0.5, mask 2 -> the total leaves the mask out.
    assert values["particles"] == pytest.approx(1.0)
    assert values["particles:is_particle"] == pytest.approx(2.0)
