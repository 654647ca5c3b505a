"""Attribution methods besides LRP (captum), behind one call signature shared with LRP.

Every method is an :class:`AttributionMethod`: ``attribute(net, inputs, explained_output, settings)``
returns one float32 array per network input, of the input's shape, the way :func:`relevance.explain`
does for LRP.  ``METHODS`` registers them by name, as zennit registers its attributors, so a workflow rule
can loop over names; :func:`lrp_method` wraps an LRP rule in the same interface.

Reference point.  Every method explains the output *relative to the all-zero input*, the point LRP's
relevances are measured from (docs/physics.md, "Encodings of the XAUG inputs"): the integrated-gradients
path starts at 0, DeepLIFT's reference is 0, and a Shapley "absent" feature is set to 0.  Gradient×input
has no baseline but equals IG for a locally linear function with baseline 0.  The numbers therefore
depend on the XAUG encoding exactly as LRP's do.

Explained output.  ``"signal"`` explains the signal logit f, ``"predicted"`` explains sign(f)·f with the
sign fixed per jet at the jet itself.  Every method here is linear in the function it explains (IG and
gradient×input through the gradient; DeepLIFT's rescale multipliers Δy/Δx do not depend on what flows
back from above, so negating the output negates every multiplier; Shapley values are averages of
differences of the output), and sign(f) is a constant per jet, so attributing sign(f)·f equals sign(f)
times the attribution of f *exactly*.  That is how it is computed, as for LRP.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from captum.attr import IntegratedGradients, ShapleyValueSampling
from torch import nn

from . import relevance
from .config import Settings
from .deeplift import deeplift
from .models import TaggerNet

Batch = tuple[torch.Tensor, ...]
IG_QUADRATURES = ("gausslegendre", "riemann_trapezoid", "riemann_middle", "riemann_left", "riemann_right")


@dataclass(frozen=True)
class MethodSettings(Settings):
    """Knobs of the methods: IG path points and quadrature, Shapley permutations and their seed, jets per batch.

    IG on a ReLU network integrates a piecewise-constant gradient, so its completeness error falls only as
    1/ig_steps (~10% at 32 steps on an untrained CNN, ~1e-3 at a few thousand): log ΣR against f(x) − f(0)
    (``relevance.conservation``) when it matters.  ``ig_method`` is captum's ("gausslegendre", or
    "riemann_trapezoid", cheaper to set up for thousands of steps).  Shapley permutations restart from
    ``shapley_seed`` in every batch, so every jet sees the same permutations whatever the batch size.
    """

    SECTIONS = ("relevance",)

    ig_steps: int
    shapley_samples: int
    batch_size: int
    shapley_seed: int
    ig_method: str

    def __post_init__(self) -> None:
        for key in ("ig_steps", "shapley_samples", "batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"MethodSettings.{key} must be >= 1, got {getattr(self, key)}")
        if self.ig_method not in IG_QUADRATURES:
            raise ValueError(f"MethodSettings.ig_method must be one of {list(IG_QUADRATURES)}, got {self.ig_method!r}")


# What Σ relevance of a method adds up to: the explained output itself ("output"), or its change from a
# baseline where every input ("all") or only the XAUG input ("xaug") is set to 0.
BASELINES = ("output", "all", "xaug")


class AttributionMethod(Protocol):
    """What every entry of ``METHODS`` (and :func:`lrp_method`) provides.

    ``baseline`` (one of :data:`BASELINES`) fixes the completeness check; ``knobs`` are the
    :class:`MethodSettings` fields recorded with its tables; ``needs`` is a network input without which
    the method has nothing to explain (its relevances are then all 0).
    """

    description: str
    baseline: str
    knobs: tuple[str, ...]
    needs: str | None

    def attribute(
        self, net: nn.Module, inputs: tuple[torch.Tensor, ...], explained_output: str, settings: MethodSettings
    ) -> list[np.ndarray]: ...


def _check_output(explained_output: str) -> None:
    if explained_output not in relevance.EXPLAINED_OUTPUTS:
        raise ValueError(
            f"unknown explained output {explained_output!r}; choose from {list(relevance.EXPLAINED_OUTPUTS)}"
        )


def _zeros(batch: Batch) -> Batch:
    return tuple(torch.zeros_like(t) for t in batch)


def _with_grad(batch: Batch) -> Batch:
    return tuple(t.detach().requires_grad_(True) for t in batch)


def _integrated_gradients(net: nn.Module, batch: Batch, settings: MethodSettings) -> Batch:
    # Path points go through the network batch_size at a time (at least one point per jet), so memory
    # stays that of one plain pass of batch_size jets.
    return IntegratedGradients(net).attribute(
        _with_grad(batch),
        baselines=_zeros(batch),
        n_steps=settings.ig_steps,
        method=settings.ig_method,
        internal_batch_size=max(settings.batch_size, len(batch[0])),
    )


def _gradient_x_input(net: nn.Module, batch: Batch, settings: MethodSettings) -> Batch:
    return relevance.input_times_gradient(net, batch)[0]


def _xaug_function(net: nn.Module, batch: Batch) -> tuple[Callable[..., torch.Tensor], tuple[torch.Tensor, ...]]:
    """The network as a function of its XAUG input alone, and the fixed tensors it takes as extra args.

    For a :class:`TaggerNet` (in eval mode) the feature extractor and the flattened features' share of the
    first dense layer, W_flat·features + b, run once per batch; each Shapley perturbation then costs only
    W_xaug·xaug and the rest of the head (the same function, ~30× cheaper for the CNNs).  Any other module
    is called whole, with the XAUG tensor put back in last place.
    """
    if isinstance(net, TaggerNet) and isinstance(net.head[0], nn.Linear):
        first, rest = net.head[0], net.head[1:]
        n_flat = first.in_features - batch[-1].shape[1]
        with torch.no_grad():
            if net.extractor is None:
                fixed = first.bias.expand(len(batch[-1]), -1)
            else:
                features = net.extractor(batch[0]).reshape(len(batch[0]), -1)
                fixed = nn.functional.linear(features, first.weight[:, :n_flat], first.bias)

        def head(xaug: torch.Tensor, fixed: torch.Tensor) -> torch.Tensor:
            return rest(fixed + xaug @ first.weight[:, n_flat:].T).squeeze(-1)

        return head, (fixed,)
    return (lambda xaug, *fixed: net(*fixed, xaug)), tuple(batch[:-1])


def _shapley(net: nn.Module, batch: Batch, settings: MethodSettings) -> Batch:
    names = tuple(getattr(net, "inputs", ()))
    if "xaug" not in names:
        return _zeros(batch)
    if names[-1] != "xaug":
        raise ValueError(f"the XAUG input must come last, got inputs {names}")
    xaug = batch[-1]
    func, fixed = _xaug_function(net, batch)
    # One feature per XAUG column; a whole permutation per forward pass when only the head is evaluated.
    per_eval = xaug.shape[1] if isinstance(net, TaggerNet) else 1
    mask = torch.arange(xaug.shape[1], device=xaug.device).unsqueeze(0)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(settings.shapley_seed)  # captum draws its permutations from the global generator
        values = ShapleyValueSampling(func).attribute(
            xaug,
            baselines=0.0,
            additional_forward_args=fixed or None,
            feature_mask=mask,
            n_samples=settings.shapley_samples,
            perturbations_per_eval=per_eval,
        )
    return (*_zeros(batch[:-1]), values)


@dataclass(frozen=True)
class BatchedMethod:
    """An attribution run batch by batch; ``compute`` (captum, or plain autograd) maps (net, batch, settings) to
    one tensor per input."""

    name: str
    description: str
    compute: Callable[[nn.Module, Batch, MethodSettings], Batch]
    baseline: str
    knobs: tuple[str, ...] = ()
    needs: str | None = None

    def attribute(
        self, net: nn.Module, inputs: tuple[torch.Tensor, ...], explained_output: str, settings: MethodSettings
    ) -> list[np.ndarray]:
        """One float32 array per input (same shape) explaining f, or sign(f)·f for ``"predicted"``."""
        _check_output(explained_output)
        net = net.eval()
        device = relevance.device_of(net)
        stores: list[list[np.ndarray]] = [[] for _ in inputs]
        for start in range(0, len(inputs[0]), settings.batch_size):
            batch = tuple(t[start : start + settings.batch_size].to(device, torch.float32) for t in inputs)
            result = self.compute(net, batch, settings)
            if explained_output == "predicted":
                with torch.no_grad():
                    sign = torch.where(net(*batch) < 0, -1.0, 1.0)
                result = tuple(r * sign.reshape((-1,) + (1,) * (r.ndim - 1)) for r in result)
            for store, r in zip(stores, result, strict=True):
                store.append(r.detach().cpu().numpy().astype(np.float32))
        return [np.concatenate(s) for s in stores]


@dataclass(frozen=True)
class LRPMethod:
    """An LRP rule of :mod:`relevance` behind the shared signature (``batch_size`` from the settings)."""

    rule: str
    params: relevance.RuleParameters
    baseline: str = "output"
    knobs: tuple[str, ...] = ()
    needs: str | None = None

    @property
    def description(self) -> str:
        return f"LRP, {relevance.RULES[self.rule][2]}; reference point: the all-zero input"

    def attribute(
        self, net: nn.Module, inputs: tuple[torch.Tensor, ...], explained_output: str, settings: MethodSettings
    ) -> list[np.ndarray]:
        rel, _ = relevance.explain(
            net, inputs, self.rule, self.params, explained_output, settings.batch_size, relevance.device_of(net)
        )
        return [r.astype(np.float32) for r in rel]


def not_applicable(method: AttributionMethod, net: nn.Module) -> str | None:
    """Why ``method`` cannot explain ``net`` (its table then holds zeros and says so), or None.

    A network without the input the method needs has nothing for it to explain; LRP on a layer without a
    rule would return wrong numbers, so it does not run (the other methods still do).
    """
    if method.needs is not None and method.needs not in getattr(net, "inputs", ()):
        return f"the network has no {method.needs.upper()} input"
    if isinstance(method, LRPMethod):
        return relevance.missing_rule(net)
    return None


def lrp_method(rule: str, params: relevance.RuleParameters) -> AttributionMethod:
    """LRP with ``rule`` as an :class:`AttributionMethod`, so tables can treat it like the others."""
    if rule not in relevance.RULES:
        raise ValueError(f"unknown LRP rule {rule!r}; choose from {list(relevance.RULES)}")
    return LRPMethod(rule, params)


METHODS: dict[str, AttributionMethod] = {
    "integrated_gradients": BatchedMethod(
        "integrated_gradients",
        "integrated gradients: (x − x0)·mean gradient on the straight path x0 → x (Gauss-Legendre, ig_steps "
        "points), ΣR = f(x) − f(x0) up to the quadrature; baseline x0 = all-zero inputs",
        _integrated_gradients,
        baseline="all",
        knobs=("ig_steps",),
    ),
    "gradient_x_input": BatchedMethod(
        "gradient_x_input",
        "gradient × input: x·∂f/∂x at the jet, a first-order split; no baseline (measured from the value 0)",
        _gradient_x_input,
        baseline="output",
    ),
    "deeplift": BatchedMethod(
        "deeplift",
        "DeepLIFT, rescale rule (max-pool: change routed to the winners), ΣR = f(x) − f(x0); "
        "baseline x0 = all-zero inputs",
        lambda net, batch, settings: deeplift(net, batch),
        baseline="all",
    ),
    "shapley": BatchedMethod(
        "shapley",
        "Shapley value sampling over the XAUG values only (shapley_samples seeded permutations), other inputs "
        "fixed at the jet's and given zero; baseline: an absent XAUG value is 0",
        _shapley,
        baseline="xaug",
        knobs=("shapley_samples",),
        needs="xaug",
    ),
}
method_descriptions: dict[str, str] = {name: method.description for name, method in METHODS.items()}


def attribute(
    method: str,
    net: nn.Module,
    inputs: Sequence[torch.Tensor],
    explained_output: str = "signal",
    settings: MethodSettings | None = None,
) -> list[np.ndarray]:
    """Convenience: ``METHODS[method].attribute(...)`` with a readable error for an unknown name."""
    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}; choose from {list(METHODS)}")
    return METHODS[method].attribute(net, tuple(inputs), explained_output, settings or MethodSettings.default())
