"""Layerwise relevance propagation with captum, and the per-event feature relevances of SPEC §7.

LRP explains the signal logit.  Rules (per layer type):

========== ===================== ===================== ==============
rule       convolutions          dense layers          max-pooling
========== ===================== ===================== ==============
z          ε = 1e-9 (LRP-0)      ε = 1e-9              ε = 1e-9
epsilon    ε                     ε                     ε
alpha1beta0 α1β0 (z⁺, no bias)   α1β0 (z⁺, no bias)    ε = 1e-9
presetA    α1β0 (z⁺, no bias)    ε                     ε = 1e-9
========== ===================== ===================== ==============

captum's ``Alpha1_Beta0_Rule`` keeps positive weights only (the z⁺ rule); it equals α1β0 exactly where
the layer's inputs are non-negative (images, scaled XAUG values, everything after a ReLU) and is the usual
approximation elsewhere (standardized particle features entering the first 1D convolution).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import torch
from captum.attr import LRP
from captum.attr._utils.lrp_rules import Alpha1_Beta0_Rule, EpsilonRule, PropagationRule
from torch import nn

from .models import TaggerNet, input_tensors

RULES = ("z", "epsilon", "alpha1beta0", "presetA")
LRP0_EPSILON = 1e-9


def _rule_for(module: nn.Module, rule: str, epsilon: float) -> PropagationRule | None:
    if isinstance(module, nn.Conv1d | nn.Conv2d):
        kind = {"z": "z", "epsilon": "eps", "alpha1beta0": "ab", "presetA": "ab"}[rule]
    elif isinstance(module, nn.Linear):
        kind = {"z": "z", "epsilon": "eps", "alpha1beta0": "ab", "presetA": "eps"}[rule]
    elif isinstance(module, nn.MaxPool1d | nn.MaxPool2d):
        kind = "eps" if rule == "epsilon" else "z"
    else:
        return None
    if kind == "ab":
        return Alpha1_Beta0_Rule(set_bias_to_zero=True)
    return EpsilonRule(epsilon if kind == "eps" else LRP0_EPSILON)


def attach_rules(net: nn.Module, rule: str, epsilon: float) -> None:
    """Set ``module.rule`` on every layer; captum removes them after each ``attribute`` call."""
    if rule not in RULES:
        raise ValueError(f"unknown LRP rule {rule!r}; choose from {list(RULES)}")
    for module in net.modules():
        chosen = _rule_for(module, rule, epsilon)
        if chosen is not None:
            module.rule = chosen


def explain(
    net: TaggerNet,
    inputs: Sequence[torch.Tensor],
    rule: str,
    epsilon: float,
    batch_size: int = 512,
    device: torch.device | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Relevance of every input element for the signal logit, and the logits themselves.

    Returns one array per network input (same shape as the input) and the logits (N,).
    """
    device = device or torch.device("cpu")
    net = net.eval().to(device)
    relevances: list[list[np.ndarray]] = [[] for _ in inputs]
    logits = []
    n = len(inputs[0])
    for start in range(0, n, batch_size):
        batch = tuple(t[start : start + batch_size].to(device) for t in inputs)
        with torch.no_grad():
            logits.append(net(*batch).cpu().numpy())
        attach_rules(net, rule, epsilon)
        batch = tuple(t.requires_grad_(True) for t in batch)
        result = LRP(net).attribute(batch if len(batch) > 1 else batch[0])
        result = result if isinstance(result, tuple) else (result,)
        for store, r in zip(relevances, result, strict=True):
            store.append(r.detach().cpu().numpy())
        print(f"LRP {rule}: {min(start + batch_size, n)}/{n} events", file=sys.stderr, flush=True)
    return [np.concatenate(r) for r in relevances], np.concatenate(logits)


def conservation(relevances: Sequence[np.ndarray], logits: np.ndarray) -> np.ndarray:
    """Per event |Σ relevance − logit| / |logit|: 0 for a perfectly conservative propagation."""
    total = sum(r.reshape(len(r), -1).sum(axis=1, dtype=np.float64) for r in relevances)
    return np.abs(total - logits) / np.maximum(np.abs(logits), 1e-12)


def feature_relevances(
    relevances: Sequence[np.ndarray],
    input_names: Sequence[str],
    xaug_names: Sequence[str],
    particle_features: Sequence[str],
) -> tuple[np.ndarray, list[str], list[np.ndarray]]:
    """SPEC §7 steps 1-2: per-event normalized relevance, one number per feature.

    Each event is divided by its largest |relevance| over all inputs; a feature's value is |R| for an XAUG
    variable, Σ|R| over pixels for the image, Σ|R| over particles and features for the particle list (and
    per particle feature, as ``particles:<feature>``).  Returns (N, n_features), feature names, and the
    normalized (signed) relevance arrays per input.
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
            columns += [per_feature.sum(axis=1, keepdims=True), per_feature]
            names += ["particles", *(f"particles:{f}" for f in particle_features)]
        else:
            columns.append(np.abs(r))
            names += list(xaug_names)
    return np.concatenate(columns, axis=1).astype(np.float32), names, normalized


def run_relevance(
    net: TaggerNet, arrays: dict, attrs: dict, rule: str, epsilon: float, batch_size: int, device: torch.device
) -> tuple[dict[str, np.ndarray], dict]:
    """Explain ``arrays`` (one split of a dataset) and summarize per event; arrays + attributes to store."""
    inputs = input_tensors(arrays, net.inputs)
    relevances, logits = explain(net, inputs, rule, epsilon, batch_size, device)
    particle_features = attrs["particle_scaling"]["features"]
    features, names, normalized = feature_relevances(relevances, net.inputs, attrs["xaug_inputs"], particle_features)
    deviation = conservation(relevances, logits)
    out = {
        "features": features,
        "label": arrays["label"],
        "logit": logits.astype(np.float32),
        "conservation": deviation.astype(np.float32),
        "xaug": arrays["xaug_scaled"],
    }
    if "xaug" in net.inputs:
        out["xaug_relevance"] = normalized[-1].astype(np.float32)
    if "image" in net.inputs:
        image = normalized[0][:, 0]
        out["mean_image_relevance"] = np.stack([image[arrays["label"] == c].mean(axis=0) for c in (0, 1)])
    summary = {
        "feature_names": names,
        "rule": rule,
        "epsilon": epsilon,
        "model": net.name,
        "xaug_inputs": attrs["xaug_inputs"],
        "n_events": len(logits),
        "conservation_median": float(np.median(deviation)),
        "conservation_max": float(deviation.max()),
    }
    return out, summary
