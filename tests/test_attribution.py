"""Attribution methods besides LRP: known answers (completeness, linear layers, additive functions)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xaugjets import attribution, relevance
from xaugjets.attribution import METHODS, MethodSettings
from xaugjets.models import MODEL_INPUTS, MODELS, build_model

SHAPES = {"grid": 16, "n_particles": 20, "n_particle_features": 5, "n_xaug": 4, "dropout": 0.2, "head_dropout": 0.0}
FAST = MethodSettings.default(ig_steps=16, shapley_samples=3, batch_size=5)


def inputs_for(name: str, n: int = 8, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    make = {
        "image": lambda: torch.rand(n, 1, 16, 16, generator=g),
        "particles": lambda: torch.randn(n, 5, 20, generator=g),
        "xaug": lambda: torch.rand(n, 4, generator=g) + 0.1,
    }
    return tuple(make[key]() for key in MODEL_INPUTS[name])


def model(name: str, seed: int = 1) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(name, **SHAPES).eval()


def delta(net: nn.Module, x: tuple[torch.Tensor, ...]) -> np.ndarray:
    with torch.no_grad():
        return (net(*x) - net(*(torch.zeros_like(t) for t in x))).double().numpy()


def total(rel: list[np.ndarray]) -> np.ndarray:
    return sum(r.reshape(len(r), -1).sum(axis=1, dtype=np.float64) for r in rel)


def centred(net: nn.Module, x: tuple[torch.Tensor, ...]) -> nn.Module:
    """Shift the last bias so that the logits of ``x`` take both signs."""
    with torch.no_grad():
        net.head[-1].bias -= net(*x).median()
    return net


class Negated(nn.Module):
    """−f of a network, with its input names (not a TaggerNet: Shapley takes the generic path)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.inputs = net.inputs

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return -self.net(*tensors)


class Wrapped(Negated):
    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self.net(*tensors)


class Additive(nn.Module):
    """f = g(image) + Σ_i h_i(x_i) + c: its Shapley values over XAUG are h_i(x_i) − h_i(0), exactly."""

    def __init__(self, with_image: bool) -> None:
        super().__init__()
        self.inputs = ("image", "xaug") if with_image else ("xaug",)
        self.scale = nn.Parameter(torch.tensor([1.5, -2.0, 0.5, 3.0]), requires_grad=False)

    def terms(self, xaug: torch.Tensor) -> torch.Tensor:
        return self.scale * xaug + xaug**2 - torch.sin(3 * xaug) + 0.7

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        out = self.terms(tensors[-1]).sum(dim=1)
        if len(tensors) == 2:
            out = out + tensors[0].flatten(1).square().sum(dim=1)
        return out


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One thread: the tests share the machine, and tiny batches only lose from threading."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def zero_biases(net: nn.Module) -> nn.Module:
    with torch.no_grad():
        for module in net.modules():
            if getattr(module, "bias", None) is not None:
                module.bias.zero_()
    return net


@pytest.mark.parametrize("name", MODELS)
def test_integrated_gradients_complete_exactly_on_bias_free_networks(name):
    # Without biases the network is positively homogeneous, f(αx) = αf(x): the gradient is constant on the
    # path, so any quadrature is exact and ΣR = f(x) − f(0) = f(x) to rounding.
    net = zero_biases(model(name))
    x = inputs_for(name)
    rel = METHODS["integrated_gradients"].attribute(net, x, "signal", MethodSettings.default(ig_steps=4))
    expected = delta(net, x)
    assert np.abs(total(rel) - expected).max() < 1e-5 * np.abs(expected).max()


@pytest.mark.parametrize(("name", "steps"), [("xaug_dnn", 16384), ("cnn2d_xaug", 4096)])
def test_integrated_gradients_completeness(name, steps):
    # With biases the gradient jumps where a ReLU switches on the path: the quadrature error falls as
    # 1/steps, hence thousands of points (trapezoid: no Gauss-Legendre set-up cost); images of 8×8 pixels.
    torch.manual_seed(1)
    net = build_model(name, **{**SHAPES, "grid": 8}).eval()
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(6, 1, 8, 8, generator=g), torch.rand(6, 4, generator=g) + 0.1)[-len(MODEL_INPUTS[name]) :]
    settings = MethodSettings.default(ig_steps=steps, ig_method="riemann_trapezoid", batch_size=8192)
    rel = METHODS["integrated_gradients"].attribute(net, x, "signal", settings)
    expected = delta(net, x)
    # Relative to the largest |f(x) − f(0)| of the batch: single jets of a random network can sit at ~0.
    assert np.abs(total(rel) - expected).max() < 1e-3 * np.abs(expected).max()


class Linear(nn.Module):
    inputs = ("xaug",)

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(4, 1, bias=False)

    def forward(self, xaug: torch.Tensor) -> torch.Tensor:
        return self.layer(xaug).squeeze(-1)


def test_gradient_x_input_of_a_bias_free_linear_layer_is_w_times_x():
    torch.manual_seed(0)
    net = Linear()
    x = inputs_for("xaug_dnn", n=9)
    (rel,) = METHODS["gradient_x_input"].attribute(net, x, "signal", FAST)
    np.testing.assert_array_equal(rel, (net.layer.weight.detach() * x[0]).numpy())


@pytest.mark.parametrize("name", MODELS)
def test_deeplift_sums_to_delta_on_every_model(name):
    net = model(name)
    x = inputs_for(name)
    rel = METHODS["deeplift"].attribute(net, x, "signal", FAST)
    expected = delta(net, x)
    assert np.abs(total(rel) - expected).max() < 1e-4 * np.abs(expected).max()


@pytest.mark.parametrize("with_image", [False, True])
@pytest.mark.parametrize("samples", [1, 4])
def test_shapley_recovers_the_terms_of_an_additive_function(with_image, samples):
    net = Additive(with_image)
    x = inputs_for("cnn2d_xaug" if with_image else "xaug_dnn", n=7)
    rel = METHODS["shapley"].attribute(net, x, "signal", MethodSettings.default(shapley_samples=samples, batch_size=4))
    with torch.no_grad():
        expected = (net.terms(x[-1]) - net.terms(torch.zeros_like(x[-1]))).numpy()
    np.testing.assert_allclose(rel[-1], expected, rtol=1e-5, atol=1e-5)
    if with_image:
        assert not rel[0].any()  # Shapley values are computed on the XAUG vector only


def test_shapley_is_zero_without_xaug_input():
    rel = METHODS["shapley"].attribute(model("cnn1d"), inputs_for("cnn1d"), "signal", FAST)
    assert rel[0].shape == (8, 5, 20) and not rel[0].any()


def test_shapley_head_shortcut_equals_the_whole_network():
    net = model("cnn2d_xaug")
    x = inputs_for("cnn2d_xaug")
    fast = METHODS["shapley"].attribute(net, x, "signal", FAST)
    whole = METHODS["shapley"].attribute(Wrapped(net), x, "signal", FAST)
    np.testing.assert_allclose(fast[1], whole[1], rtol=1e-4, atol=1e-6)
    total_shapley = fast[1].sum(axis=1)
    with torch.no_grad():
        expected = (net(*x) - net(x[0], torch.zeros_like(x[1]))).numpy()
    np.testing.assert_allclose(total_shapley, expected, rtol=1e-4, atol=1e-6)  # efficiency


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("name", ["cnn1d_xaug", "cnn2d_xaug"])
def test_predicted_is_sign_times_signal_and_linear_in_the_sign(method, name):
    x = inputs_for(name, n=10)
    net = centred(model(name), x)
    with torch.no_grad():
        sign = np.where(net(*x).numpy() < 0, -1.0, 1.0)
    assert set(sign) == {-1.0, 1.0}
    signal = METHODS[method].attribute(net, x, "signal", FAST)
    predicted = METHODS[method].attribute(net, x, "predicted", FAST)
    negated = METHODS[method].attribute(Negated(net), x, "signal", FAST)
    for s, p, n in zip(signal, predicted, negated, strict=True):
        # Equal up to rounding: two runs of the same batch need not be bit-identical (BLAS code paths).
        scale = 1e-5 * np.abs(s).max()
        np.testing.assert_allclose(p, s * sign.reshape((-1,) + (1,) * (s.ndim - 1)), rtol=1e-5, atol=scale)
        # Attributing −f gives −(attribution of f): so attributing sign(f)·f gives sign(f)·R(f) exactly.
        np.testing.assert_allclose(n, -s, rtol=1e-4, atol=scale)


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("name", ["xaug_dnn", "cnn2d_xaug", "cnn1d_xaug"])
def test_an_ignored_xaug_column_gets_no_attribution(method, name):
    net = model(name)
    with torch.no_grad():
        net.head[0].weight[:, -4 + 2] = 0.0  # the XAUG values are the last 4 columns of the joined vector
    x = inputs_for(name)
    xaug = METHODS[method].attribute(net, x, "signal", FAST)[-1]
    assert np.abs(xaug[:, 2]).max() < 1e-7
    assert np.abs(xaug[:, [0, 1, 3]]).max() > 1e-5


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("name", MODELS)
def test_shapes_dtype_and_batch_independence(method, name):
    net = model(name)
    x = inputs_for(name, n=7)
    small = METHODS[method].attribute(net, x, "signal", FAST)
    large = METHODS[method].attribute(
        net, x, "signal", MethodSettings.default(ig_steps=16, shapley_samples=3, batch_size=64)
    )
    for r, big, t in zip(small, large, x, strict=True):
        assert r.shape == tuple(t.shape) and r.dtype == np.float32 and np.isfinite(r).all()
        np.testing.assert_allclose(r, big, rtol=1e-4, atol=1e-6 * max(np.abs(big).max(), 1e-12))


def test_lrp_method_shares_the_signature():
    net = model("cnn2d_xaug")
    x = inputs_for("cnn2d_xaug")
    params = relevance.RuleParameters(epsilon=0.1, gamma=2.0)
    lrp = attribution.lrp_method("epsilon", params)
    ours = lrp.attribute(net, x, "predicted", FAST)
    theirs, _ = relevance.explain(net, x, "epsilon", params, "predicted", FAST.batch_size)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert "LRP" in lrp.description


def test_descriptions_and_errors():
    assert set(attribution.method_descriptions) == set(METHODS)
    assert all("baseline" in d for d in attribution.method_descriptions.values())
    net, x = model("xaug_dnn"), inputs_for("xaug_dnn")
    with pytest.raises(ValueError, match="explained output"):
        METHODS["deeplift"].attribute(net, x, "background", FAST)
    with pytest.raises(ValueError, match="unknown attribution method"):
        attribution.attribute("saliency", net, x)
    with pytest.raises(ValueError, match="unknown LRP rule"):
        attribution.lrp_method("beta", relevance.RuleParameters(0.1, 2.0))
    with pytest.raises(ValueError, match="ig_steps"):
        MethodSettings.default(ig_steps=0)
    with pytest.raises(ValueError, match="ig_method"):
        MethodSettings.default(ig_method="simpson")
