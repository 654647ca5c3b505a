"""The one-pass LRP and DeepLIFT engines against captum's hook-based LRP and DeepLift, independent implementations
of the same rules."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from captum.attr import LRP, DeepLift
from captum.attr._utils.lrp_rules import EpsilonRule, PropagationRule
from torch import nn

from xaugjets import relevance
from xaugjets.deeplift import deeplift
from xaugjets.examples import deep_sets
from xaugjets.models import MODEL_INPUTS, MODELS, ForeignNet, build_model
from xaugjets.relevance import RuleParameters

PARAMS = RuleParameters(epsilon=0.1, gamma=2.0)
SHAPES = {"grid": 16, "n_particles": 20, "n_particle_features": 5, "n_xaug": 4, "dropout": 0.2, "head_dropout": 0.0}


class CaptumAlpha1Beta0(PropagationRule):
    def __init__(self, keep_bias: bool) -> None:
        self.keep_bias = keep_bias

    def _manipulate_weights(self, module, inputs, outputs) -> None:
        module.weight.data = module.weight.data.clamp(min=0)
        if module.bias is not None:
            module.bias.data = module.bias.data.clamp(min=0) if self.keep_bias else torch.zeros_like(module.bias)


class CaptumGamma(PropagationRule):
    def __init__(self, gamma: float) -> None:
        self.gamma = gamma

    def _manipulate_weights(self, module, inputs, outputs) -> None:
        module.weight.data = module.weight.data + self.gamma * module.weight.data.clamp(min=0)
        if module.bias is not None:
            module.bias.data = module.bias.data + self.gamma * module.bias.data.clamp(min=0)


CAPTUM_RULES = {
    "z": lambda: EpsilonRule(1e-9),
    "epsilon": lambda: EpsilonRule(PARAMS.epsilon),
    "gamma": lambda: CaptumGamma(PARAMS.gamma),
    "alpha1beta0": lambda: CaptumAlpha1Beta0(True),
    "alpha1beta0_nobias": lambda: CaptumAlpha1Beta0(False),
}
COMPOSITES = {  # rule -> (convolutions, dense layers), as relevance.RULES
    "z": ("z", "z"),
    "epsilon": ("epsilon", "epsilon"),
    "gamma": ("gamma", "gamma"),
    "alpha1beta0": ("alpha1beta0", "alpha1beta0"),
    "alpha1beta0_nobias": ("alpha1beta0_nobias", "alpha1beta0_nobias"),
    "presetA": ("alpha1beta0", "epsilon"),
    "presetA_nobias": ("alpha1beta0_nobias", "epsilon"),
}


def captum_lrp(net: nn.Module, inputs: tuple[torch.Tensor, ...], rule: str) -> list[np.ndarray]:
    conv, dense = COMPOSITES[rule]
    for module in net.modules():
        if isinstance(module, nn.Conv1d | nn.Conv2d):
            module.rule = CAPTUM_RULES[conv]()
        elif isinstance(module, nn.Linear):
            module.rule = CAPTUM_RULES[dense]()
        elif isinstance(module, relevance.POOLING_LAYERS):
            module.rule = CAPTUM_RULES["z"]()
    batch = tuple(t.clone().requires_grad_(True) for t in inputs)
    result = LRP(net).attribute(batch if len(batch) > 1 else batch[0])
    return [r.detach().numpy() for r in (result if isinstance(result, tuple) else (result,))]


def networks() -> dict[str, tuple[nn.Module, tuple[torch.Tensor, ...]]]:
    g = torch.Generator().manual_seed(3)
    make = {
        "image": lambda n: torch.rand(n, 1, 16, 16, generator=g),
        "particles": lambda n: torch.randn(n, 5, 20, generator=g),
        "xaug": lambda n: torch.rand(n, 4, generator=g),
    }
    out = {}
    for index, name in enumerate(MODELS):
        torch.manual_seed(index)
        out[name] = build_model(name, **SHAPES).eval(), tuple(make[k](12) for k in MODEL_INPUTS[name])
    torch.manual_seed(9)
    sets = ForeignNet("deepsets", ("particles",), deep_sets(16, 20, 5, 4)).eval()
    out["deepsets"] = sets, (make["particles"](12),)
    torch.manual_seed(10)  # relevance crosses a Tanh unchanged, as captum passes it
    tanh = ForeignNet("tanh", ("xaug",), nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))).eval()
    out["tanh"] = tanh, (make["xaug"](12),)
    return out


NETWORKS = networks()


@pytest.mark.parametrize("rule", list(relevance.RULES))
@pytest.mark.parametrize("name", list(NETWORKS))
def test_one_pass_lrp_equals_captum(name, rule):
    net, inputs = NETWORKS[name]
    ours, logits = relevance.explain(net, inputs, rule, PARAMS, "signal", 5)  # 5: several batches
    theirs = captum_lrp(net, inputs, rule)
    with torch.no_grad():  # the forward value is untouched: the same batches give the same logits
        plain = torch.cat([net(*(t[i : i + 5] for t in inputs)) for i in range(0, 12, 5)])
    np.testing.assert_array_equal(logits, plain.numpy())
    for mine, reference in zip(ours, theirs, strict=True):
        scale = np.abs(reference).max()
        assert scale > 0
        # captum stabilizes LRP-0 by 1e-9 where the gradient form needs nothing: tiny |z| differ slightly
        np.testing.assert_allclose(mine, reference, rtol=1e-4, atol=1e-4 * scale)


def captum_deeplift(net: nn.Module, inputs: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
    """captum's DeepLift from 0, with each max-pool given a copy of its input.

    captum (0.9) hooks a non-linearity's output tensor and the next layer's input tensor; a ReLU feeding a
    max-pool shares one, and the ReLU then reads the gradient before the pool's rule rewrites it (Σ R misses
    f(x) − f(0) by ~10%).  The copy (same values) restores the order.
    """
    pools = [m for m in net.modules() if isinstance(m, nn.MaxPool1d | nn.MaxPool2d)]
    handles = [m.register_forward_pre_hook(lambda _, args: tuple(a.clone() for a in args)) for m in pools]
    batch = tuple(t.clone().requires_grad_(True) for t in inputs)
    zeros = tuple(torch.zeros_like(t) for t in inputs)
    if len(batch) == 1:
        batch, zeros = batch[0], zeros[0]
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Setting forward, backward hooks", category=UserWarning)
            result = DeepLift(net).attribute(batch, zeros)
    finally:
        for handle in handles:
            handle.remove()
    return [r.detach().numpy() for r in (result if isinstance(result, tuple) else (result,))]


@pytest.mark.parametrize("name", list(NETWORKS))
def test_one_pass_deeplift_equals_captum(name):
    net, inputs = NETWORKS[name]
    ours = deeplift(net, inputs)
    for mine, reference in zip(ours, captum_deeplift(net, inputs), strict=True):
        scale = np.abs(reference).max()
        assert scale > 0
        np.testing.assert_allclose(mine.numpy(), reference, rtol=1e-4, atol=1e-5 * scale)
