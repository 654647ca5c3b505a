"""The study's networks (docs/physics.md, "Networks"), written so that every LRP rule applies cleanly.

LRP constraints: every module is used exactly once (separate ReLU instances), flattening is a reshape
rather than ``nn.Flatten``, no in-place operations, and the XAUG vector joins by concatenation right
after the flatten so relevance flows to it through the first dense layer alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

INPUT_KINDS = ("image", "particles", "xaug")  # what a network can take, in this order

MODEL_INPUTS: dict[str, tuple[str, ...]] = {
    "cnn2d": ("image",),
    "cnn2d_xaug": ("image", "xaug"),
    "cnn1d": ("particles",),
    "cnn1d_xaug": ("particles", "xaug"),
    "xaug_dnn": ("xaug",),
}
MODELS = tuple(MODEL_INPUTS)


def dense_head(n_in: int) -> nn.Sequential:
    """The shared dense head: n_in -> 64 -> 128 -> 1 logit."""
    return nn.Sequential(nn.Linear(n_in, 64), nn.ReLU(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 1))


class TaggerNet(nn.Module):
    """A feature extractor (or none), optional XAUG concatenation, dense head; one signal logit."""

    def __init__(
        self,
        name: str,
        inputs: tuple[str, ...],
        extractor: nn.Module | None,
        n_flat: int,
        n_xaug: int,
        head_dropout: float,
    ) -> None:
        super().__init__()
        self.name = name
        self.inputs = inputs
        self.extractor = extractor
        # Dropout on the joined vector (flattened features and the XAUG inputs); off by default, as in the
        # reference study, whose only dropout sits inside the convolutional part.
        self.head_dropout = nn.Dropout(head_dropout)
        self.head = dense_head(n_flat + (n_xaug if "xaug" in inputs else 0))

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        features = self.features(tensors[0]) if self.extractor is not None else None
        return self.head_logit(features, tensors[-1] if "xaug" in self.inputs else None)

    def features(self, tensor: torch.Tensor) -> torch.Tensor:
        """The extractor's output for the image or particle input, flattened per jet."""
        features = self.extractor(tensor)
        return features.reshape(features.shape[0], -1)

    def head_logit(self, features: torch.Tensor | None, xaug: torch.Tensor | None) -> torch.Tensor:
        """The logit from the extracted features and the XAUG inputs (either may be absent): a change of
        an XAUG input reaches only this part, so occlusion extracts once for all of them."""
        parts = [part for part in (features, xaug) if part is not None]
        joined = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        return self.head(self.head_dropout(joined)).squeeze(-1)


def cnn2d_extractor(grid: int, dropout: float) -> tuple[nn.Module, int]:
    layers = nn.Sequential(
        nn.Conv2d(1, 32, 5, padding="same"),
        nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding="same"),
        nn.ReLU(),
        nn.Conv2d(32, 32, 2, padding="same"),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.MaxPool2d(2),
    )
    return layers, 32 * (grid // 2) ** 2


def cnn1d_extractor(n_features: int, n_particles: int, dropout: float) -> tuple[nn.Module, int]:
    layers = nn.Sequential(
        nn.Conv1d(n_features, 64, 3, padding="same"),
        nn.ReLU(),
        nn.Conv1d(64, 64, 1),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Conv1d(64, 32, 3, padding="same"),
        nn.ReLU(),
        nn.Conv1d(32, 32, 1),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.MaxPool1d(2),
    )
    return layers, 32 * (n_particles // 4)


@dataclass(frozen=True)
class UserModel:
    """A network from outside the package: ``factory`` ("module:function") and the inputs it takes.

    The function gets the input shapes as keywords (``grid``, ``n_particles``, ``n_particle_features``,
    ``n_xaug``) and returns an ``nn.Module`` whose forward takes the ``inputs`` tensors in the order of
    :data:`INPUT_KINDS` (image (N, 1, grid, grid), particles (N, features, particles), xaug (N, n_xaug))
    and returns one signal logit per jet.
    """

    factory: str
    inputs: tuple[str, ...]

    def build(self, shapes: dict[str, int]) -> nn.Module:
        module_name, _, function = self.factory.partition(":")
        try:
            make = getattr(importlib.import_module(module_name), function)
        except (ImportError, AttributeError) as err:
            raise ImportError(f"cannot import the model factory {self.factory!r}: {err}") from err
        return make(**shapes)


class ForeignNet(nn.Module):
    """A user's network behind the study's interface: a name, its inputs, one logit per jet."""

    def __init__(self, name: str, inputs: tuple[str, ...], net: nn.Module) -> None:
        super().__init__()
        self.name = name
        self.inputs = tuple(kind for kind in INPUT_KINDS if kind in inputs)
        self.net = net

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self.net(*tensors).reshape(len(tensors[0]))


def build_model(
    name: str,
    grid: int,
    n_particles: int,
    n_particle_features: int,
    n_xaug: int,
    dropout: float,
    head_dropout: float,
    user: UserModel | None = None,
) -> TaggerNet:
    """Construct model ``name`` for inputs of the given shapes (``dropout`` acts inside the extractor).

    ``user`` builds a network from outside the package instead (the dropout settings are then its own).
    """
    if user is not None:
        shapes = {
            "grid": grid,
            "n_particles": n_particles,
            "n_particle_features": n_particle_features,
            "n_xaug": n_xaug,
        }
        return ForeignNet(name, user.inputs, user.build(shapes))  # type: ignore[return-value]
    if name not in MODEL_INPUTS:
        raise ValueError(f"unknown model {name!r}; choose from {list(MODELS)} or declare it in user_models")
    inputs = MODEL_INPUTS[name]
    extractor: nn.Module | None = None
    n_flat = 0
    if inputs[0] == "image":
        extractor, n_flat = cnn2d_extractor(grid, dropout)
    elif inputs[0] == "particles":
        extractor, n_flat = cnn1d_extractor(n_particle_features, n_particles, dropout)
    return TaggerNet(name, inputs, extractor, n_flat, n_xaug, head_dropout)


def model_keys(inputs: Sequence[str]) -> tuple[str, ...]:
    """The dataset arrays that a network with these inputs reads (see :func:`input_tensors`)."""
    return tuple({"image": "image", "particles": "particles_scaled"}.get(name, "xaug_scaled") for name in inputs)


def input_tensors(arrays: dict, inputs: Sequence[str]) -> tuple[torch.Tensor, ...]:
    """Network inputs from dataset arrays: images get a channel axis, particle lists go channels-first."""
    out = []
    for key in inputs:
        if key == "image":
            out.append(torch.as_tensor(arrays["image"], dtype=torch.float32).unsqueeze(1))
        elif key == "particles":
            out.append(torch.as_tensor(arrays["particles_scaled"], dtype=torch.float32).transpose(1, 2))
        else:
            out.append(torch.as_tensor(arrays["xaug_scaled"], dtype=torch.float32))
    return tuple(out)


def read_model_file(path: str) -> dict:
    """The record of ``model.pt`` (weights, network, shapes, seed), read without unpickling arbitrary objects."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"model file is missing: {path}") from err
    except Exception as err:
        raise OSError(f"cannot read model file {path}: {err}") from err


def user_model_of(payload: dict) -> UserModel | None:
    """The user network a model record was built from (None: one of the study's own)."""
    return UserModel(payload["user"]["factory"], tuple(payload["user"]["inputs"])) if payload.get("user") else None


def load_model(path: str) -> TaggerNet:
    """Rebuild a trained network from ``model.pt`` without unpickling arbitrary objects."""
    payload = read_model_file(path)
    net = build_model(
        payload["model"],
        dropout=payload["dropout"],
        head_dropout=payload["head_dropout"],
        user=user_model_of(payload),
        **payload["shapes"],
    )
    net.load_state_dict(payload["state_dict"])
    return net.eval()
