"""One explanation job: every method, LRP rules and the other attribution methods, on one trained network.

All methods share one call signature (:class:`attribution.AttributionMethod`), so the job loops over
names; each result is summarized the same way (per-jet normalized relevance per feature) together with
what it depends on, recorded in the file and later in the table's metadata.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import torch

from . import attribution, relevance
from .config import Settings
from .models import TaggerNet, input_tensors

ALL_METHODS = (*relevance.RULES, *attribution.METHODS)


@dataclass(frozen=True)
class ExplainSettings(Settings):
    """The ``relevance`` config section for one job (the sample sets ``explained_output``)."""

    SECTIONS = ("relevance",)

    rules: tuple[str, ...]
    methods: tuple[str, ...]
    epsilon: float
    gamma: float
    ig_steps: int
    ig_method: str
    shapley_samples: int
    shapley_seed: int
    explained_output: str
    max_events: int
    batch_size: int
    sanity_jets: int

    @property
    def method_settings(self) -> attribution.MethodSettings:
        return attribution.MethodSettings.from_config(vars(self))

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.rules, *self.methods)


def method_for(name: str, settings: ExplainSettings) -> attribution.AttributionMethod:
    """The registered method ``name``: an LRP rule or another attribution method."""
    if name in relevance.RULES:
        return attribution.lrp_method(name, relevance.RuleParameters(settings.epsilon, settings.gamma))
    if name in attribution.METHODS:
        return attribution.METHODS[name]
    raise ValueError(f"unknown explanation method {name!r}; choose from {list(ALL_METHODS)}")


def _logits(net: TaggerNet, inputs: tuple[torch.Tensor, ...], batch_size: int) -> np.ndarray:
    with torch.inference_mode():
        return np.concatenate(
            [net(*(t[i : i + batch_size] for t in inputs)).numpy() for i in range(0, len(inputs[0]), batch_size)]
        )


def completeness_target(
    method: attribution.AttributionMethod,
    net: TaggerNet,
    inputs: tuple[torch.Tensor, ...],
    logits: np.ndarray,
    settings: ExplainSettings,
) -> tuple[np.ndarray, str]:
    """What Σ relevance should equal for this method (its ``baseline``), and its name.

    LRP and gradient × input split the explained output itself; integrated gradients and DeepLIFT split
    f(x) − f(0); Shapley values split f(x) − f(x with the XAUG values at 0).
    """
    explained = relevance.explained_values(logits, settings.explained_output)
    if method.baseline == "output":
        return explained, "explained output"
    zeroed = tuple(torch.zeros_like(t) for t in inputs)
    if method.baseline == "xaug":
        zeroed = (*inputs[:-1], zeroed[-1]) if "xaug" in net.inputs else inputs
    sign = np.sign(explained) * np.sign(np.where(logits == 0, 1.0, logits))
    return sign * (logits - _logits(net, zeroed, settings.batch_size)), "f(x) − f(baseline)"


def run_method(
    net: TaggerNet, arrays: dict, attrs: dict, name: str, settings: ExplainSettings, device: torch.device
) -> tuple[dict[str, np.ndarray], dict]:
    """Explain ``arrays`` (one split of a dataset) with one method and summarize per jet."""
    method = method_for(name, settings)
    inputs = input_tensors(arrays, net.inputs)
    reason = attribution.not_applicable(method, net)
    if reason is None:
        relevances = method.attribute(net.to(device), inputs, settings.explained_output, settings.method_settings)
    else:
        relevances = [np.zeros(t.shape, dtype=np.float32) for t in inputs]
        print(f"{net.name} {name}: not applicable ({reason}); every value is 0", file=sys.stderr, flush=True)
    net = net.cpu()
    logits = _logits(net, inputs, settings.batch_size)
    particle_features = attrs["particle_scaling"]["features"]
    features, names, normalized = relevance.feature_relevances(
        relevances, net.inputs, attrs["xaug_inputs"], particle_features
    )
    target, target_name = completeness_target(method, net, inputs, logits, settings)
    deviation = relevance.conservation(relevances, target)
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
    is_lrp = name in relevance.RULES
    summary = {
        "feature_names": names,
        "method": "LRP" if is_lrp else name,
        "rule": name,
        "rule_description": relevance.RULES[name][2] if is_lrp else method.description,
        **({"pooling": relevance.POOLING_RULE, "epsilon": settings.epsilon, "gamma": settings.gamma} if is_lrp else {}),
        **{knob: getattr(settings, knob) for knob in method.knobs},
        "explained_output": "signal logit f" if settings.explained_output == "signal" else "predicted class sign(f)·f",
        "xaug_encoding": attrs.get("xaug_encoding", "minmax"),
        "normalization": "per jet by the largest |R| over all inputs; |R| summed per feature",
        "conservation_of": target_name,
        **({"applicable": f"no: {reason}; every value is 0"} if reason is not None else {}),
        "model": net.name,
        "xaug_inputs": attrs["xaug_inputs"],
        "n_events": len(logits),
        "conservation_median": float(np.median(deviation)),
        "conservation_max": float(deviation.max()),
    }
    print(
        f"{net.name} {name}: {len(logits)} jets; |ΣR − {target_name}| / |{target_name}|: "
        f"median {summary['conservation_median']:.3g}, max {summary['conservation_max']:.3g}",
        file=sys.stderr,
        flush=True,
    )
    return out, summary
