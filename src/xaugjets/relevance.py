"""Layerwise relevance propagation with captum, and the per-event feature relevances of the study.

An LRP *rule* here is a layer map, the way zennit's composites are: for each layer type, the propagation
rule that layer uses.  Max-pooling always passes the relevance to the winning input (winner-take-all):

==================== ============================ ============================
rule                 convolutions                 dense layers
==================== ============================ ============================
z                    LRP-0                        LRP-0
epsilon              LRP-ε                        LRP-ε
gamma                LRP-γ (w + γw⁺, b + γb⁺)     LRP-γ
alpha1beta0          α1β0 (z⁺ with b⁺)            α1β0 (z⁺ with b⁺)
alpha1beta0_nobias   α1β0 (z⁺, bias dropped)      α1β0 (z⁺, bias dropped)
presetA              α1β0 (z⁺ with b⁺)            LRP-ε
presetA_nobias       α1β0 (z⁺, bias dropped)      LRP-ε
==================== ============================ ============================

α1β0 keeps the positive part of the weights and of the bias in the denominator z⁺ = Σ a w⁺ + b⁺, as
iNNvestigate's ``Alpha1Beta0Rule`` (used by the reference study) does; the ``_nobias`` forms drop the bias
and conserve relevance exactly on non-negative inputs.  z⁺ equals the textbook rule where the layer's
inputs are non-negative (images, min-max scaled or raw non-negative XAUG values, everything after a ReLU).

The *explained output* is the signal logit f, or the predicted class's output sign(f)·f (the reference
study's convention for a two-output network, written for one logit).  Every rule above is linear in the
relevance it starts from, so the second is the first times sign(f): tables of |R| agree, signed
relevances (profiles) differ for background-like jets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import LRP
from captum.attr._utils.lrp_rules import EpsilonRule, PropagationRule
from torch import nn

from .datasets import MASK_FEATURE
from .models import TaggerNet

LRP0_EPSILON = 1e-9
EXPLAINED_OUTPUTS = ("signal", "predicted")


class Alpha1Beta0Rule(PropagationRule):
    """α1β0 with z⁺ = Σ a w⁺ (+ b⁺ when ``keep_bias``): only positive contributions carry relevance."""

    def __init__(self, keep_bias: bool) -> None:
        self.keep_bias = keep_bias

    def _manipulate_weights(self, module: nn.Module, inputs: object, outputs: object) -> None:
        module.weight.data = module.weight.data.clamp(min=0)
        if module.bias is not None:
            module.bias.data = module.bias.data.clamp(min=0) if self.keep_bias else torch.zeros_like(module.bias)


class GammaRule(PropagationRule):
    """LRP-γ: weights and bias w + γw⁺, b + γb⁺, favouring positive contributions by the factor γ."""

    def __init__(self, gamma: float) -> None:
        self.gamma = gamma

    def _manipulate_weights(self, module: nn.Module, inputs: object, outputs: object) -> None:
        module.weight.data = module.weight.data + self.gamma * module.weight.data.clamp(min=0)
        if module.bias is not None:
            module.bias.data = module.bias.data + self.gamma * module.bias.data.clamp(min=0)


@dataclass(frozen=True)
class RuleParameters:
    """The numbers a rule may use: ε of LRP-ε and γ of LRP-γ."""

    epsilon: float
    gamma: float


RuleFactory = Callable[[RuleParameters], PropagationRule]


def _lrp0(p: RuleParameters) -> PropagationRule:
    return EpsilonRule(LRP0_EPSILON)


def _epsilon(p: RuleParameters) -> PropagationRule:
    return EpsilonRule(p.epsilon)


def _gamma(p: RuleParameters) -> PropagationRule:
    return GammaRule(p.gamma)


def _alpha1beta0(p: RuleParameters) -> PropagationRule:
    return Alpha1Beta0Rule(keep_bias=True)


def _alpha1beta0_nobias(p: RuleParameters) -> PropagationRule:
    return Alpha1Beta0Rule(keep_bias=False)


# The composites: rule name -> (convolution rule, dense rule, description for the table metadata).
RULES: dict[str, tuple[RuleFactory, RuleFactory, str]] = {
    "z": (_lrp0, _lrp0, "LRP-0 everywhere (biases kept)"),
    "epsilon": (_epsilon, _epsilon, "LRP-ε everywhere (biases kept in z)"),
    "gamma": (_gamma, _gamma, "LRP-γ everywhere (w + γw⁺, b + γb⁺)"),
    "alpha1beta0": (_alpha1beta0, _alpha1beta0, "α1β0 everywhere, positive bias kept in z⁺"),
    "alpha1beta0_nobias": (_alpha1beta0_nobias, _alpha1beta0_nobias, "α1β0 everywhere, biases dropped"),
    "presetA": (_alpha1beta0, _epsilon, "α1β0 (positive bias kept in z⁺) on convolutions, LRP-ε on dense"),
    "presetA_nobias": (_alpha1beta0_nobias, _epsilon, "α1β0 (biases dropped) on convolutions, LRP-ε on dense"),
}
POOLING_RULE = "winner-take-all (LRP-0 through the max); average pooling: LRP-0 (in proportion)"
POOLING_LAYERS = (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)
PASS_THROUGH_LAYERS = (nn.ReLU, nn.Dropout, nn.Tanh)  # relevance passes unchanged (captum's non-linear layers)


class NoRuleError(TypeError):
    """A layer of the network has no LRP rule: LRP would return wrong numbers, so it does not run."""


def attach_rules(net: nn.Module, rule: str, params: RuleParameters) -> None:
    """Set ``module.rule`` on every layer; captum removes them after each ``attribute`` call.

    Raises :class:`NoRuleError` naming the first layer that no rule covers.
    """
    if rule not in RULES:
        raise ValueError(f"unknown LRP rule {rule!r}; choose from {list(RULES)}")
    missing = missing_rule(net)
    if missing is not None:
        raise NoRuleError(missing)
    conv, dense, _ = RULES[rule]
    for module in net.modules():
        if isinstance(module, nn.Conv1d | nn.Conv2d):
            module.rule = conv(params)
        elif isinstance(module, nn.Linear):
            module.rule = dense(params)
        elif isinstance(module, POOLING_LAYERS):
            module.rule = _lrp0(params)


def missing_rule(net: nn.Module) -> str | None:
    """The first layer that no LRP rule covers, said in words, or None when every layer has one."""
    covered = (nn.Conv1d, nn.Conv2d, nn.Linear, *POOLING_LAYERS, *PASS_THROUGH_LAYERS)
    for name, module in net.named_modules():
        if not list(module.children()) and not isinstance(module, covered):
            return f"LRP has no rule for layer {name!r} ({type(module).__name__})"
    return None


def explain(
    net: TaggerNet,
    inputs: Sequence[torch.Tensor],
    rule: str,
    params: RuleParameters,
    explained_output: str,
    batch_size: int,
    device: torch.device | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Relevance of every input element for the explained output, and the signal logits.

    Returns one array per network input (same shape as the input) and the logits f (N,).  With
    ``explained_output="predicted"`` the relevances explain sign(f)·f.
    """
    if explained_output not in EXPLAINED_OUTPUTS:
        raise ValueError(f"unknown explained output {explained_output!r}; choose from {list(EXPLAINED_OUTPUTS)}")
    device = device or torch.device("cpu")
    net = net.eval().to(device)
    relevances: list[list[np.ndarray]] = [[] for _ in inputs]
    logits = []
    for start in range(0, len(inputs[0]), batch_size):
        batch = tuple(t[start : start + batch_size].to(device) for t in inputs)
        with torch.inference_mode():
            logit = net(*batch).cpu().numpy()
        logits.append(logit)
        sign = np.where(logit < 0, -1.0, 1.0) if explained_output == "predicted" else np.ones_like(logit)
        attach_rules(net, rule, params)
        batch = tuple(t.clone().requires_grad_(True) for t in batch)
        result = LRP(net).attribute(batch if len(batch) > 1 else batch[0])
        result = result if isinstance(result, tuple) else (result,)
        for store, r in zip(relevances, result, strict=True):
            r = r.detach().cpu().numpy()
            store.append(r * sign.reshape((-1,) + (1,) * (r.ndim - 1)).astype(r.dtype))
    return [np.concatenate(r) for r in relevances], np.concatenate(logits)


def explained_values(logits: np.ndarray, explained_output: str) -> np.ndarray:
    """The number LRP distributes: f, or sign(f)·f for the predicted class."""
    return np.abs(logits) if explained_output == "predicted" else logits


def conservation(relevances: Sequence[np.ndarray], explained: np.ndarray) -> np.ndarray:
    """Per event |Σ relevance − explained output| / |explained output|: 0 when nothing is absorbed."""
    total = sum(r.reshape(len(r), -1).sum(axis=1, dtype=np.float64) for r in relevances)
    return np.abs(total - explained) / np.maximum(np.abs(explained), 1e-12)


def feature_relevances(
    relevances: Sequence[np.ndarray],
    input_names: Sequence[str],
    xaug_names: Sequence[str],
    particle_features: Sequence[str],
) -> tuple[np.ndarray, list[str], list[np.ndarray]]:
    """Per-event normalized relevance, one number per feature.

    Each event is divided by its largest |relevance| over all inputs; a feature's value is |R| for an XAUG
    variable, Σ|R| over pixels for the image, Σ|R| over particles and physical features for the particle
    list (and per particle feature, as ``particles:<feature>``).  The constant mask channel
    ``is_particle`` is listed on its own and kept out of the particle total: LRP credits it like a bias.
    Returns (N, n_features), feature names, and the normalized (signed) relevance arrays per input.
    """
    flat = [r.reshape(len(r), -1) for r in relevances]
    scale = np.max(np.concatenate([np.abs(f) for f in flat], axis=1), axis=1)
    scale = np.where(scale > 0, scale, 1.0)
    normalized = [r / scale.reshape((-1,) + (1,) * (r.ndim - 1)) for r in relevances]
    columns, names = [], []
    for name, r in zip(input_names, normalized, strict=True):
        if name == "image":
            columns.append(np.abs(r).reshape(len(r), -1).sum(axis=1, keepdims=True))
            names.append("image")
        elif name == "particles":  # (N, F, P)
            per_feature = np.abs(r).sum(axis=2)
            physical = [i for i, f in enumerate(particle_features) if f != MASK_FEATURE]
            columns += [per_feature[:, physical].sum(axis=1, keepdims=True), per_feature]
            names += ["particles", *(f"particles:{f}" for f in particle_features)]
        else:
            columns.append(np.abs(r))
            names += list(xaug_names)
    return np.concatenate(columns, axis=1).astype(np.float32), names, normalized
