"""Sanity check of the explanations by cascading randomization of the network (Adebayo et al. 2018).

Starting from the output, the weights of one more layer at a time are replaced by a fresh random
initialization, and every explanation method explains the same jets again.  An explanation that reflects
what the network learned must change: the rank correlation between the trained network's relevance map of
a jet and the randomized network's falls towards 0.  A method whose maps stay alike once every layer is
random describes the input, not the network, and is flagged.  The same holds for a network of the same
architecture trained on shuffled labels (it has learned nothing about the classes): a method whose maps of
it resemble the trained network's is flagged too.

The map of a jet is R over its active input elements (non-zero pixels, particle features and expert
variables): every method here gives an input at 0 no relevance, so over all elements the empty pixels and
padded particle slots alone would make any two maps of a sparse jet image look alike.  The correlation is
Spearman's, per jet, over the active elements, averaged over the jets, in two forms:

- ``spearman``: of the signed maps, as |ρ| (a random output layer may flip the explained output's sign
  as a whole); this one decides whether a method passes;
- ``spearman_abs``: of the |R| maps.  It stays high for every method on jet images, since |R| follows the
  pT of the pixel whatever the weights (R is linear in the input for LRP and gradient × input): it measures
  how much of a magnitude map is the jet's own image rather than the network.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

if TYPE_CHECKING:  # the tables of the summary jobs need neither torch nor captum: imported where used
    import torch
    from torch import nn

    from .attribution import AttributionMethod, MethodSettings

COLUMNS = ["method", "randomized", "layer", "spearman", "spearman_abs", "n_jets"]
SURVIVES = 0.5  # mean map correlation above which a fully randomized network still "explains" alike
SHUFFLED_LABELS = -1  # the ``randomized`` value of the rows comparing with a network trained on shuffled labels
SHUFFLED_LAYER = "labels shuffled (retrained)"
LABEL_SHUFFLE_SEED_OFFSET = 104729  # the label permutation and the twin of training seed s use seed s + this


def shuffled_labels(arrays: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    """``arrays`` whose training and validation labels are permuted (with their weights) within each split: a
    network trained on them can learn nothing about the classes.  Test rows are untouched."""
    rng = np.random.default_rng(seed + LABEL_SHUFFLE_SEED_OFFSET)
    label, weight = arrays["label"].copy(), arrays["weight"].copy()
    for split in (0, 1):
        rows = np.flatnonzero(arrays["split"] == split)
        moved = rng.permutation(rows)
        label[rows], weight[rows] = arrays["label"][moved], arrays["weight"][moved]
    return arrays | {"label": label, "weight": weight}


def parametrized_layers(net: nn.Module) -> list[str]:
    """Names of the layers with weights, input side first (definition order, which is the forward order)."""
    return [name for name, m in net.named_modules() if not list(m.children()) and any(True for _ in m.parameters())]


def randomized(net: nn.Module, layers: Sequence[str], seed: int) -> nn.Module:
    """A copy of ``net`` whose ``layers`` are re-initialized (seeded, the layer's own initialization)."""
    import torch

    copied = copy.deepcopy(net)
    modules = dict(copied.named_modules())
    generator_state = torch.get_rng_state()
    try:
        for i, name in enumerate(layers):
            torch.manual_seed(seed + i)
            modules[name].reset_parameters()
    finally:
        torch.set_rng_state(generator_state)
    return copied.eval()


def _flat(arrays: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.asarray(a).reshape(len(a), -1) for a in arrays], axis=1).astype(np.float64)


def map_correlation(
    reference: Sequence[np.ndarray], other: Sequence[np.ndarray], inputs: Sequence[np.ndarray], absolute: bool
) -> np.ndarray:
    """Per jet: Spearman correlation of two maps (R, or |R| if ``absolute``) over its non-zero ``inputs``.

    NaN where a map is constant (no ranking).
    """
    active = _flat(inputs) != 0
    a, b = (np.where(active, np.abs(_flat(m)) if absolute else _flat(m), np.nan) for m in (reference, other))
    a, b = (stats.rankdata(m, axis=1, nan_policy="omit") for m in (a, b))
    a, b = a - np.nanmean(a, axis=1, keepdims=True), b - np.nanmean(b, axis=1, keepdims=True)
    norm = np.sqrt(np.nansum(a * a, axis=1) * np.nansum(b * b, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, np.nansum(a * b, axis=1) / norm, np.nan)


def cascading_randomization(
    net: nn.Module,
    inputs: tuple[torch.Tensor, ...],
    methods: Mapping[str, AttributionMethod],
    explained_output: str,
    settings: MethodSettings,
    seed: int = 0,
    label_shuffled: nn.Module | None = None,
) -> pd.DataFrame:
    """One row per (method, number of layers randomized from the output): the mean map correlation.

    With ``label_shuffled`` (the same network trained on shuffled labels), one more row per method compares
    with its maps (``randomized`` = :data:`SHUFFLED_LABELS`): the data-randomization test of the same paper.
    """
    net = net.eval()
    values = [t.cpu().numpy() for t in inputs]
    reference = {name: method.attribute(net, inputs, explained_output, settings) for name, method in methods.items()}
    layers = parametrized_layers(net)[::-1]
    rows = [dict(zip(COLUMNS, (name, 0, "", 1.0, 1.0, len(inputs[0])), strict=True)) for name in methods]
    others = [(k, layers[k - 1], randomized(net, layers[:k], seed)) for k in range(1, len(layers) + 1)]
    if label_shuffled is not None:
        others.append((SHUFFLED_LABELS, SHUFFLED_LAYER, label_shuffled.eval()))
    for k, layer, other in others:
        for name, method in methods.items():
            maps = method.attribute(other, inputs, explained_output, settings)
            signed, magnitude = (map_correlation(reference[name], maps, values, a) for a in (False, True))
            row = (name, k, layer, abs(_mean(signed)), _mean(magnitude), int(np.isfinite(signed).sum()))
            rows.append(dict(zip(COLUMNS, row, strict=True)))
    return pd.DataFrame(rows)


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("nan")


def sanity_table(per_seed: Sequence[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean map correlation over seeds per (method, layers randomized), and per method the verdict."""
    frame = pd.concat([df.assign(seed=i) for i, df in enumerate(per_seed)])

    def spread(values: pd.Series) -> float:
        return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0

    table = (
        frame.groupby(["method", "randomized", "layer"], sort=False)
        .agg(
            spearman=("spearman", "mean"),
            spearman_seed=("spearman", spread),
            spearman_abs=("spearman_abs", "mean"),
            spearman_abs_seed=("spearman_abs", spread),
        )
        .reset_index()
    )
    last = table[table["randomized"] == table["randomized"].max()].set_index("method")
    shuffled = table[table["randomized"] == SHUFFLED_LABELS].set_index("method")["spearman"].reindex(last.index)
    verdict = pd.DataFrame(
        {
            "method": last.index,
            "spearman_all_random": last["spearman"].to_numpy(),
            "spearman_all_random_seed": last["spearman_seed"].to_numpy(),
            "spearman_shuffled_labels": shuffled.to_numpy(),
            "passes": ((last["spearman"] < SURVIVES) & ~(shuffled >= SURVIVES)).to_numpy(),
        }
    )
    return table, verdict
