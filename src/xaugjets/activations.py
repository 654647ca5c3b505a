"""Neuron activation patterns per class (Roy & Neubauer, arXiv:2211.12770).

Relative neural activity of node n of a layer for class c:

    RNA(n, c) = A(n, c) / max_m A(m, c),   A(n, c) = Σ over jets of class c of the node's post-ReLU activation

so the most active node of each layer has RNA 1 for each class, and the pattern compares how the two
classes use a layer independently of the number of jets and of the layer's overall scale.  A layer is an
``nn.ReLU`` module (read through a forward hook); a node of a convolutional layer is a channel, its
activation summed over positions first.  A layer silent for a class (A = 0 everywhere) gets RNA 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # the summary jobs read the tables (``sparsity``) without torch: imported where used
    import torch
    from torch import nn

QUIET_RNA = 0.2  # a node below this relative activity counts as quiet (the interaction-network study's cut)


def activation_sums(
    net: nn.Module, inputs: Sequence[torch.Tensor], labels: np.ndarray, batch_size: int = 512
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A(n, c) per ReLU layer (name -> (n_classes, n_nodes)) and the classes (sorted labels).

    Each ReLU must run once per forward pass (as in every ``models`` network); a reused one would mix
    layers, so it is refused.
    """
    import torch
    from torch import nn

    labels = np.asarray(labels).ravel()
    if len(labels) != len(inputs[0]):
        raise ValueError(f"{len(labels)} labels for {len(inputs[0])} jets")
    classes, codes = np.unique(labels, return_inverse=True)
    relus = [(name, m) for name, m in net.named_modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ValueError("the network has no nn.ReLU module")
    sums = {name: torch.zeros(0) for name, _ in relus}
    seen: dict[str, int] = {}
    onehot = torch.zeros(0)

    def hook(name: str):
        def record(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
            seen[name] = seen.get(name, 0) + 1
            per_node = output.reshape(output.shape[0], output.shape[1], -1).sum(dim=2) if output.ndim > 2 else output
            total = onehot.T @ per_node.double()  # (classes, nodes): the class sums of this batch
            sums[name] = total if sums[name].numel() == 0 else sums[name] + total

        return record

    device = next(net.parameters(), torch.empty(0)).device
    handles = [m.register_forward_hook(hook(name)) for name, m in relus]
    try:
        net = net.eval()
        codes_t = torch.as_tensor(codes)
        with torch.inference_mode():
            for start in range(0, len(labels), batch_size):
                seen.clear()
                onehot = nn.functional.one_hot(codes_t[start : start + batch_size], len(classes)).double().to(device)
                net(*(t[start : start + batch_size].to(device) for t in inputs))
                reused = [name for name, count in seen.items() if count > 1]
                if reused:
                    raise ValueError(f"ReLU modules used more than once per forward pass: {reused}")
    finally:
        for handle in handles:
            handle.remove()
    return {name: s.cpu().numpy() for name, s in sums.items() if s.numel()}, classes


def activation_patterns(
    net: nn.Module, inputs: Sequence[torch.Tensor], labels: np.ndarray, batch_size: int = 512
) -> pd.DataFrame:
    """Tidy RNA table: one row per (layer, node, class) with ``rna`` and ``mean_activation``.

    ``layer`` is the ReLU's module name (e.g. ``extractor.1``, ``head.3``), ``depth`` its order in the
    forward pass (0 = first), ``node`` the unit or channel index, ``class`` the label value.
    """
    sums, classes = activation_sums(net, inputs, labels, batch_size)
    counts = np.array([(np.asarray(labels) == c).sum() for c in classes], dtype=np.float64)
    frames = []
    for depth, (layer, total) in enumerate(sums.items()):
        peak = total.max(axis=1, keepdims=True)
        rna = np.divide(total, peak, out=np.zeros_like(total), where=peak > 0)
        n_classes, n_nodes = total.shape
        frames.append(
            pd.DataFrame(
                {
                    "layer": layer,
                    "depth": depth,
                    "node": np.tile(np.arange(n_nodes), n_classes),
                    "class": np.repeat(classes, n_nodes),
                    "rna": rna.ravel(),
                    "mean_activation": (total / counts[:, None]).ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def sparsity(df: pd.DataFrame, threshold: float = QUIET_RNA) -> pd.DataFrame:
    """Per layer and class, the fraction of nodes with RNA below ``threshold`` (and the node count)."""
    keys = ["depth", "layer", "class"] if "depth" in df else ["layer", "class"]
    grouped = df.assign(quiet=df["rna"] < threshold).groupby(keys, sort=True)
    out = grouped.agg(sparsity=("quiet", "mean"), n_nodes=("node", "size")).reset_index()
    return out.drop(columns="depth", errors="ignore")
