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


def _ratio(change_out: torch.Tensor, change_in: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    """Δy/Δx, or ``fallback`` (the plain derivative) where |Δx| < EPSILON."""
    return torch.where(change_in.abs() < EPSILON, fallback, change_out / change_in)


class _Multiplied(torch.autograd.Function):
    """The value of ``output``, with the gradient g · multiplier passed to ``x`` (an element-wise layer)."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor, output: torch.Tensor, multiplier: torch.Tensor
    ):
        ctx.save_for_backward(multiplier)
        return output.detach().view_as(output)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor):
        (multiplier,) = ctx.saved_tensors
        return grad * multiplier, None, None


class _Routed(torch.autograd.Function):
    """The value of a max-pool's ``output``, with g · weight sent to the positions ``index`` of its input ``x``."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor, output: torch.Tensor, routes: list):
        ctx.routes, ctx.shape = routes, x.shape
        return output.detach().view_as(output)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor):
        grad_in = grad.new_zeros(ctx.shape).flatten(2)
        for index, weight in ctx.routes:
            grad_in.scatter_add_(2, index.flatten(2), (grad * weight).flatten(2))
        return grad_in.view(ctx.shape), None, None


def _rescale(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
    """g_in = g_out · Δy/Δx, or the derivative itself where Δx vanishes."""
    (x,) = args
    with torch.no_grad():
        change_in, change_out = x - x[-1:], output - output[-1:]
    if isinstance(module, nn.ReLU):  # its derivative is known: the multiplier alone carries the gradient
        with torch.no_grad():
            multiplier = _ratio(change_out, change_in, (x > 0).to(x.dtype))
        return _Multiplied.apply(x, output, multiplier)
    with torch.no_grad():
        tiny = change_in.abs() < EPSILON
        multiplier = _ratio(change_out, change_in, torch.zeros_like(x))
    carrier = x * multiplier + output * tiny  # the derivative through the layer itself where Δx vanishes
    return output.detach() + (carrier - carrier.detach())


def _max_pool(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
    """Route Δy to the inputs that win the pool, for the jet and for the reference, and divide by their Δx.

    With y* = max(y, y_ref), the part y* − y_ref goes to the jet's winner and y − y* (≤ 0) to the
    reference's winner of the same window; where Δx vanishes the plain max-pool gradient is kept.
    Everything is computed at the winners only (the pool's output size).
    """
    (x,) = args
    pool = nn.functional.max_pool1d if isinstance(module, nn.MaxPool1d) else nn.functional.max_pool2d
    with torch.no_grad():
        _, winners = pool(
            x, module.kernel_size, module.stride, module.padding, module.dilation, module.ceil_mode, return_indices=True
        )
        reference_input, reference_output = x[-1:].expand_as(x), output[-1:]
        top = torch.maximum(output, reference_output)
        ones = torch.ones_like(output)
        change_at_winner = output - _picked(reference_input, winners, output)
        routes = [(winners, _ratio(top - reference_output, change_at_winner, ones))]
        to_reference_winner = output - top  # ≤ 0, and 0 unless the reference's maximum is the larger
        if to_reference_winner.any():
            reference_winners = winners[-1:].expand_as(winners)
            change_at_reference = _picked(x, reference_winners, output) - reference_output
            routes.append((reference_winners, _ratio(to_reference_winner, change_at_reference, 0 * ones)))
    return _Routed.apply(x, output, routes)


def _picked(values: torch.Tensor, index: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``values`` at the pool's winners ``index`` (flat positions per channel), shaped like the pool's output."""
    return values.flatten(2).gather(2, index.flatten(2)).view_as(like)


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
