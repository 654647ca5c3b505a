"""Occlusion: how much the AUC drops when one input is hidden from a trained network.

Each input (every XAUG variable, every physical particle feature, the image as a whole) is replaced by a
mask value, two ways, both labelled in the tables:

- ``zero``: the value 0 (LRP's reference point, so occlusion and LRP ask the same question);
- ``mean``: the training-set mean of the encoded input (an "average jet" value for that input).

For particle features the encoded training mean of real particles is 0 by construction (they are
standardized), so both masks agree there; padding slots stay 0.  The masked logits are stored per variant
so that the tables can bootstrap ΔAUC = AUC(full) − AUC(masked) paired over the same test jets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .datasets import MASK_FEATURE
from .models import TaggerNet, input_tensors

MASKS = ("zero", "mean")


def training_means(attrs: dict) -> dict[str, np.ndarray]:
    """Encoded training-split means of each network input (XAUG vector, image, particle features), as the
    dataset stage stored them; a particle feature's mean is 0 by its standardization."""
    if "training_means" not in attrs:
        raise KeyError("the dataset file has no training means (built by an older version): rebuild it")
    means = attrs["training_means"]
    return {
        "xaug": np.asarray(means["xaug"], dtype=np.float32),
        "image": np.asarray(means["image"], dtype=np.float32),
        "particles": np.zeros(len(attrs["particle_scaling"]["features"]), dtype=np.float32),
    }


def variants(
    net: TaggerNet, xaug_names: Sequence[str], particle_features: Sequence[str]
) -> list[tuple[str, str, str, int | None]]:
    """(feature name, mask, network input, column) for every occlusion of this network."""
    out = []
    for name in net.inputs:
        if name == "image":
            out += [("image", mask, "image", None) for mask in MASKS]
        elif name == "particles":
            out += [
                (f"particles:{f}", mask, "particles", k)
                for k, f in enumerate(particle_features)
                if f != MASK_FEATURE
                for mask in MASKS
            ]
        else:
            out += [(f, mask, "xaug", k) for k, f in enumerate(xaug_names) for mask in MASKS]
    return out


def _masked(
    tensors: dict[str, torch.Tensor], variant: tuple[str, str, str, int | None], means: dict[str, np.ndarray]
) -> dict[str, torch.Tensor]:
    """The inputs with one feature replaced by its mask value (copies only the tensor that changes)."""
    _, mask, key, column = variant
    changed = tensors[key].clone()
    if key == "image":
        fill = torch.as_tensor(means["image"], dtype=changed.dtype) if mask == "mean" else 0.0
        changed[:] = fill
    elif key == "particles":  # (N, F, P): only real particles, padding stays 0
        real = tensors["particles"][:, -1:, :] > 0  # the is_particle channel is the last feature
        changed[:, column : column + 1, :] = torch.where(real, float(means["particles"][column]), 0.0)
    else:
        changed[:, column] = float(means["xaug"][column]) if mask == "mean" else 0.0
    return tensors | {key: changed}


def occlusion_logits(
    net: TaggerNet,
    arrays: dict,
    means: dict[str, np.ndarray],
    xaug_names: Sequence[str],
    particle_features: Sequence[str],
    batch_size: int = 4096,
) -> tuple[list[tuple[str, str, str, int | None]], np.ndarray]:
    """Logits of the network with each input masked in turn: (variants, (n_variants, n_jets)).

    Batch by batch, every variant of it.  Where the XAUG inputs join after the extractor (a convolutional
    ``TaggerNet`` with XAUG), masking one of them changes only the head, so the extractor runs once per batch
    for all of them: the same operations on the same batch, so the same logits, at a fraction of the cost.
    """
    net = net.eval()
    tensors = dict(zip(net.inputs, input_tensors(arrays, net.inputs), strict=True))
    found = variants(net, xaug_names, particle_features)
    logits = np.empty((len(found), len(arrays["label"])), dtype=np.float32)
    extracts_once = isinstance(net, TaggerNet) and net.extractor is not None and "xaug" in net.inputs
    with torch.inference_mode():
        for start in range(0, logits.shape[1], batch_size):
            batch = {k: t[start : start + batch_size] for k, t in tensors.items()}
            features = net.features(batch[net.inputs[0]]) if extracts_once else None
            for v, variant in enumerate(found):
                masked = _masked(batch, variant, means)
                if features is not None and variant[2] == "xaug":
                    logit = net.head_logit(features, masked["xaug"])
                else:
                    logit = net(*(masked[k] for k in net.inputs))
                logits[v, start : start + batch_size] = logit.numpy()
    return found, logits
