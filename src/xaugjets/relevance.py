"""Layerwise relevance propagation (one modified backward pass), and the per-event feature relevances.

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

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .datasets import MASK_FEATURE
from .models import TaggerNet

LRP0_EPSILON = 1e-9  # the stabilizer of LRP-0 and of the pooling layers (captum's default)
EXPLAINED_OUTPUTS = ("signal", "predicted")


@dataclass(frozen=True)
class LayerRule:
    """One layer's propagation rule: R_in = a ⊙ W'ᵀ (R_out / (z' + ε·sign z')), with z' = W'a + b'.

    W' = W⁺ for α1β0 (``positive_only``), else W + γW⁺; the bias b' is transformed the same way, or
    dropped (``keep_bias=False``).  sign 0 counts as +1.
    """

    epsilon: float = LRP0_EPSILON
    gamma: float = 0.0
    positive_only: bool = False
    keep_bias: bool = True

    @property
    def changes_weights(self) -> bool:
        return self.positive_only or self.gamma != 0.0 or not self.keep_bias

    @property
    def is_gradient(self) -> bool:
        """LRP-0 is the plain gradient (R = a ⊙ ∂f/∂a); its stabilizer only guards a division it never makes."""
        return not self.changes_weights and self.epsilon <= LRP0_EPSILON

    def weights(self, weight: torch.Tensor) -> torch.Tensor:
        if self.positive_only:
            return weight.clamp(min=0)
        return weight + self.gamma * weight.clamp(min=0) if self.gamma else weight

    def bias(self, bias: torch.Tensor | None) -> torch.Tensor | None:
        return self.weights(bias) if bias is not None and self.keep_bias else None


@dataclass(frozen=True)
class RuleParameters:
    """The numbers a rule may use: ε of LRP-ε and γ of LRP-γ."""

    epsilon: float
    gamma: float


RuleFactory = Callable[[RuleParameters], LayerRule]


def _lrp0(p: RuleParameters) -> LayerRule:
    return LayerRule()


def _epsilon(p: RuleParameters) -> LayerRule:
    return LayerRule(epsilon=p.epsilon)


def _gamma(p: RuleParameters) -> LayerRule:
    return LayerRule(gamma=p.gamma)


def _alpha1beta0(p: RuleParameters) -> LayerRule:
    return LayerRule(positive_only=True)


def _alpha1beta0_nobias(p: RuleParameters) -> LayerRule:
    return LayerRule(positive_only=True, keep_bias=False)


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
PASS_THROUGH_LAYERS = (nn.ReLU, nn.Dropout, nn.Tanh)  # relevance passes unchanged


class NoRuleError(TypeError):
    """A layer of the network has no LRP rule: LRP would return wrong numbers, so it does not run."""


def missing_rule(net: nn.Module) -> str | None:
    """The first layer that no LRP rule covers, said in words, or None when every layer has one."""
    covered = (nn.Conv1d, nn.Conv2d, nn.Linear, *POOLING_LAYERS, *PASS_THROUGH_LAYERS)
    for name, module in net.named_modules():
        if not list(module.children()) and not isinstance(module, covered):
            return f"LRP has no rule for layer {name!r} ({type(module).__name__})"
    return None


def _stabilized(z: torch.Tensor, epsilon: float) -> torch.Tensor:
    """z + ε·sign z (−0 counts as negative: the same to float precision as sign 0 → +1)."""
    return z + torch.copysign(z.new_tensor(epsilon), z)


def _carried(output: torch.Tensor, modified: torch.Tensor, epsilon: float) -> torch.Tensor:
    """z with the gradient of z'·c, c = z / (z' + ε·sign z'): the value is z exactly (z'c − z'c = 0)."""
    carried = modified * (output.detach() / _stabilized(modified.detach(), epsilon))
    return output.detach() + (carried - carried.detach())


def _rule_hook(module: nn.Module, rule: LayerRule) -> Callable:
    """A forward hook that keeps the layer's output value z and makes its gradient carry the rule.

    With R = a ⊙ g at every layer (relevance = activation × modified gradient), the rule is
    g_in = W'ᵀ (g_out · c) with c = z / (z' + ε·sign z'), so one ordinary forward and backward pass
    compute LRP for the whole network.  Unchanged weights (LRP-ε) only rescale the output's gradient by
    c; changed ones (γ, α1β0) route it through z' = W'a + b', computed once per call.
    """
    if not rule.changes_weights:

        def rescale(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            with torch.no_grad():
                scale = output / _stabilized(output, rule.epsilon)
            if output.requires_grad:
                output.register_hook(lambda grad: grad * scale)

        return rescale
    weight, bias = rule.weights(module.weight.detach()), rule.bias(_detached(module.bias))

    def reroute(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
        (a,) = args
        if isinstance(module, nn.Linear):
            return _carried(output, nn.functional.linear(a, weight, bias), rule.epsilon)
        return _carried(output, module._conv_forward(a, weight, bias), rule.epsilon)

    return reroute


def _pass_through_hook(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
    """An activation other than ReLU (Tanh): relevance crosses it unchanged (z' = its input)."""
    return _carried(output, args[0], LRP0_EPSILON)


def device_of(net: nn.Module) -> torch.device:
    """Where the network's parameters live (the CPU for a network without any)."""
    return next(net.parameters(), torch.empty(0)).device


def _detached(tensor: torch.Tensor | None) -> torch.Tensor | None:
    return None if tensor is None else tensor.detach()


@contextmanager
def rules_attached(net: nn.Module, rule: str, params: RuleParameters) -> Iterator[None]:
    """Within the block, the network's gradient is the LRP rule's (weights are never touched).

    Raises ValueError for an unknown rule and :class:`NoRuleError` naming the first layer no rule covers.
    Layers under LRP-0 need no hook, and neither do ReLU and Dropout (their gradient already passes
    relevance unchanged: a dead unit has a = 0 and so carries none) nor the pooling layers (the gradient
    of a max goes to the winner, of a mean in proportion).
    """
    if rule not in RULES:
        raise ValueError(f"unknown LRP rule {rule!r}; choose from {list(RULES)}")
    missing = missing_rule(net)
    if missing is not None:
        raise NoRuleError(missing)
    conv, dense, _ = RULES[rule]
    conv_rule, dense_rule = conv(params), dense(params)
    handles = []
    for module in net.modules():
        layer_rule = conv_rule if isinstance(module, nn.Conv1d | nn.Conv2d) else dense_rule
        if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Linear) and not layer_rule.is_gradient:
            handles.append(module.register_forward_hook(_rule_hook(module, layer_rule)))
        elif isinstance(module, nn.Tanh):
            handles.append(module.register_forward_hook(_pass_through_hook))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _signs(logit: torch.Tensor) -> torch.Tensor:
    return torch.where(logit < 0, -1.0, 1.0)


def input_times_gradient(
    net: nn.Module,
    batch: Sequence[torch.Tensor],
    start: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """Each input times the gradient of the output, started from ``start(output)`` (default 1); and the output.

    Plain, this is gradient × input; with LRP rules (:func:`rules_attached`) or DeepLIFT multipliers
    (:mod:`deeplift`) attached, the same pass gives their relevances.  An input the output does not use gets 0.
    """
    inputs = tuple(t.detach().requires_grad_(True) for t in batch)
    with torch.enable_grad():
        output = net(*inputs)
        weight = torch.ones_like(output) if start is None else start(output.detach())
        grads = torch.autograd.grad(output, inputs, weight, allow_unused=True)
    products = tuple(torch.zeros_like(x) if g is None else x.detach() * g for x, g in zip(inputs, grads, strict=True))
    return products, output.detach()


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
    ``explained_output="predicted"`` the relevances explain sign(f)·f.  One forward and one backward
    pass per batch (:func:`rules_attached`); the relevance of an input is input × its modified gradient.
    """
    if explained_output not in EXPLAINED_OUTPUTS:
        raise ValueError(f"unknown explained output {explained_output!r}; choose from {list(EXPLAINED_OUTPUTS)}")
    device = device or torch.device("cpu")
    net = net.eval() if device_of(net) == device else net.eval().to(device)
    relevances: list[list[np.ndarray]] = [[] for _ in inputs]
    logits = []
    # Every rule is linear in the relevance it starts from: sign(f)·f starts from sign(f).
    start = _signs if explained_output == "predicted" else None
    with rules_attached(net, rule, params):
        for first in range(0, len(inputs[0]), batch_size):
            batch = tuple(t[first : first + batch_size].to(device) for t in inputs)
            relevance, logit = input_times_gradient(net, batch, start)
            for store, r in zip(relevances, relevance, strict=True):
                store.append(r.cpu().numpy())
            logits.append(logit.cpu().numpy())
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
