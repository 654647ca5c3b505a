"""DeepLIFT (rescale rule) against the all-zero reference, in one forward and one backward pass.

DeepLIFT keeps every linear layer's derivative and replaces each non-linearity's by a finite difference
between the jet and the reference: y = σ(x) passes the multiplier Δy/Δx with Δ = (jet) − (reference), and a
max-pool routes the change of its output to the inputs that win it (captum's ``maxpool`` rule).  The chain
rule of these multipliers makes Σ relevance = f(x) − f(0) exactly.

The reference is the same for every jet, so its activations are one extra row appended to the batch: each
hook reads the reference from the last row.  As for LRP (:mod:`relevance`), a forward hook keeps each layer's
output value and routes the gradient through the multiplier, so one ordinary ``autograd.grad`` gives the
multipliers of a whole batch, instead of captum's backward hooks on a doubled batch.  This needs networks that
treat the jets of a batch independently, as every network does in eval mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from .relevance import input_times_gradient

EPSILON = 1e-10  # captum's: where |Δx| is below it, the plain derivative is used
RESCALE_LAYERS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.Tanh, nn.Sigmoid, nn.Softplus)  # element-wise non-linearities
MAX_POOLS = (nn.MaxPool1d, nn.MaxPool2d)


def _inverse_change(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """1/Δx (0 where |Δx| < EPSILON) and the mask of those places, Δx measured from the last row."""
    change = x - x[-1:]
    tiny = change.abs() < EPSILON
    return torch.where(tiny, 0.0, 1.0 / torch.where(tiny, 1.0, change)), tiny.to(x.dtype)


def _through(value: torch.Tensor, carrier: torch.Tensor) -> torch.Tensor:
    """``value`` exactly, with the gradient of ``carrier``."""
    return value.detach() + (carrier - carrier.detach())


def _rescale(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
    """g_in = g_out · Δy/Δx, or the derivative itself where Δx vanishes."""
    (x,) = args
    with torch.no_grad():
        inverse, tiny = _inverse_change(x)
        multiplier = (output - output[-1:]) * inverse
    return _through(output, x * multiplier + output * tiny)


def _max_pool(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
    """Route Δy to the inputs that win the pool, for the jet and for the reference, and divide by their Δx.

    With y* = max(y, y_ref), the part y* − y_ref goes to the jet's winner and y − y* (≤ 0) to the
    reference's winner of the same window; where Δx vanishes the plain max-pool gradient is kept.
    """
    (x,) = args
    pool = nn.functional.max_pool1d if isinstance(module, nn.MaxPool1d) else nn.functional.max_pool2d
    with torch.no_grad():
        _, winners = pool(
            x, module.kernel_size, module.stride, module.padding, module.dilation, module.ceil_mode, return_indices=True
        )
        reference_winners = winners[-1:].expand_as(winners)
        top = torch.maximum(output, output[-1:])
        to_winner, to_reference_winner = top - output[-1:], output - top
        inverse, tiny = _inverse_change(x)

    def picked(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return values.flatten(2).gather(2, index.flatten(2)).view_as(output)

    scaled = x * inverse
    carrier = (
        picked(scaled, winners) * to_winner
        + picked(scaled, reference_winners) * to_reference_winner
        + picked(x * tiny, winners)
    )
    return _through(output, carrier)


@contextmanager
def multipliers_attached(net: nn.Module) -> Iterator[None]:
    """Within the block, the gradient of ``net`` at a batch whose last row is the reference is DeepLIFT's."""
    handles = []
    for module in net.modules():
        if isinstance(module, RESCALE_LAYERS):
            handles.append(module.register_forward_hook(_rescale))
        elif isinstance(module, MAX_POOLS):
            handles.append(module.register_forward_hook(_max_pool))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _jets_only(output: torch.Tensor) -> torch.Tensor:
    """Start the backward pass from every jet's output, not from the reference row."""
    start = torch.ones_like(output)
    start[-1] = 0.0
    return start


def deeplift(net: nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """DeepLIFT relevances of the signal logit, one tensor per input: x · multiplier (the reference is 0)."""
    with multipliers_attached(net):
        products, _ = input_times_gradient(net, [torch.cat([t, torch.zeros_like(t[:1])]) for t in batch], _jets_only)
    return tuple(p[:-1] for p in products)
