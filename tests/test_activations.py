"""Neuron activation patterns: hand-built networks with known activations, and the real networks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from xaugjets.activations import activation_patterns, activation_sums, sparsity
from xaugjets.models import MODEL_INPUTS, MODELS, build_model


class Dense(nn.Module):
    """x -> ReLU(x W1ᵀ) -> ReLU(· W2ᵀ) with hand-set weights (no biases)."""

    inputs = ("xaug",)

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(2, 3, bias=False)
        self.relu1 = nn.ReLU()
        self.second = nn.Linear(3, 2, bias=False)
        self.relu2 = nn.ReLU()
        with torch.no_grad():
            self.first.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]))
            self.second.weight.copy_(torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, -1.0]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu2(self.second(self.relu1(self.first(x)))).sum(dim=1)


def test_hand_built_dense_network():
    x = torch.tensor([[2.0, 1.0], [1.0, 3.0], [0.0, 4.0], [1.0, 1.0]])
    labels = np.array([1, 1, 0, 0])
    # layer 1 = ReLU(x1, x2, x1 − x2): jets (2,1,1), (1,3,0) | (0,4,0), (1,1,0)
    # class 1 sums (3, 4, 1) -> RNA (3/4, 1, 1/4); class 0 sums (1, 5, 0) -> (1/5, 1, 0)
    # layer 2 = ReLU(h1 + h2, −h3): class 1 jets (3, 0), (4, 0) -> sums (7, 0); class 0 (4, 0), (2, 0) -> (6, 0)
    df = activation_patterns(Dense(), (x,), labels, batch_size=3)
    assert list(df.columns) == ["layer", "depth", "node", "class", "rna", "mean_activation"]
    rna = df.set_index(["layer", "class", "node"])["rna"]
    np.testing.assert_allclose(rna.loc["relu1", 1].to_numpy(), [0.75, 1.0, 0.25])
    np.testing.assert_allclose(rna.loc["relu1", 0].to_numpy(), [0.2, 1.0, 0.0])
    np.testing.assert_allclose(rna.loc["relu2", 1].to_numpy(), [1.0, 0.0])
    np.testing.assert_allclose(rna.loc["relu2", 0].to_numpy(), [1.0, 0.0])
    mean = df.set_index(["layer", "class", "node"])["mean_activation"]
    np.testing.assert_allclose(mean.loc["relu1", 1].to_numpy(), [1.5, 2.0, 0.5])


def test_convolution_nodes_are_channels_summed_over_positions():
    conv = nn.Conv1d(1, 2, kernel_size=1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[1.0]], [[-2.0]]]))
    net = nn.Sequential(conv, nn.ReLU())
    x = torch.tensor([[[1.0, -1.0, 2.0]], [[-3.0, 0.0, 1.0]]])  # (jets, 1 channel, 3 positions)
    sums, classes = activation_sums(net, (x,), np.array([0, 0]))
    # channel 0 = ReLU(x): 1+0+2 + 0+0+1 = 4; channel 1 = ReLU(−2x): 0+2+0 + 6+0+0 = 8
    np.testing.assert_allclose(sums["1"], [[4.0, 8.0]])
    assert list(classes) == [0]
    df = activation_patterns(net, (x,), np.array([0, 0]))
    np.testing.assert_allclose(df["rna"], [0.5, 1.0])


def test_silent_layer_has_zero_rna():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].bias.fill_(-1.0)
    df = activation_patterns(net, (torch.randn(5, 2),), np.array([0, 1, 0, 1, 1]))
    assert (df["rna"] == 0).all()


@pytest.mark.parametrize("name", MODELS)
def test_every_relu_of_the_study_networks(name):
    torch.manual_seed(0)
    shapes = {"grid": 8, "n_particles": 8, "n_particle_features": 5, "n_xaug": 4, "dropout": 0.2, "head_dropout": 0.0}
    net = build_model(name, **shapes)
    g = torch.Generator().manual_seed(1)
    make = {
        "image": lambda: torch.rand(20, 1, 8, 8, generator=g),
        "particles": lambda: torch.randn(20, 5, 8, generator=g),
        "xaug": lambda: torch.rand(20, 4, generator=g),
    }
    x = tuple(make[key]() for key in MODEL_INPUTS[name])
    labels = np.repeat([0, 1], 10)
    df = activation_patterns(net, x, labels, batch_size=7)
    n_relu = sum(isinstance(m, nn.ReLU) for m in net.modules())
    assert df["layer"].nunique() == n_relu
    peaks = df.groupby(["layer", "class"])["rna"].max()
    np.testing.assert_allclose(peaks.to_numpy(), 1.0)  # the most active node of each layer and class
    assert df["rna"].between(0, 1).all()
    widths = df[df["class"] == 0].groupby("depth")["node"].size().to_list()
    assert widths[-2:] == [64, 128]  # the dense head
    if name.startswith("cnn2d"):
        assert widths[:3] == [32, 32, 32]  # convolution channels
    same = activation_patterns(net, x, labels, batch_size=20)
    pd.testing.assert_frame_equal(df, same, rtol=1e-5, atol=1e-6)  # float32 activations


def test_sparsity_of_a_hand_built_pattern():
    df = pd.DataFrame(
        {
            "layer": ["a"] * 8 + ["b"] * 4,
            "node": [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 0, 1],
            "class": [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1],
            "rna": [1.0, 0.1, 0.19, 0.2, 1.0, 0.5, 0.0, 0.05, 1.0, 0.3, 0.1, 1.0],
        }
    )
    out = sparsity(df, threshold=0.2).set_index(["layer", "class"])
    assert out.loc[("a", 0), "sparsity"] == 0.5  # 0.1 and 0.19 (0.2 is not below 0.2)
    assert out.loc[("a", 1), "sparsity"] == 0.5
    assert out.loc[("b", 0), "sparsity"] == 0.0
    assert out.loc[("b", 1), "sparsity"] == 0.5
    assert (out["n_nodes"] == [4, 4, 2, 2]).all()
    assert sparsity(df, threshold=1.01)["sparsity"].eq(1.0).all()


def test_errors():
    with pytest.raises(ValueError, match="labels"):
        activation_patterns(Dense(), (torch.zeros(3, 2),), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"no nn\.ReLU"):
        activation_patterns(nn.Linear(2, 1), (torch.zeros(3, 2),), np.array([0, 1, 1]))
    relu = nn.ReLU()
    with pytest.raises(ValueError, match="more than once"):
        activation_patterns(nn.Sequential(relu, nn.Linear(2, 2), relu), (torch.zeros(3, 2),), np.array([0, 1, 1]))
