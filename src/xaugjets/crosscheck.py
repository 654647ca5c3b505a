"""Explanations checked against each other and against the physics: method agreement, decision ordering,
neuron activation patterns.

- **Method agreement.** Every pair of methods (LRP rules, the captum methods, occlusion) ranks the same
  features; Spearman's ρ and Kendall's τ (``scipy.stats``) between the two rankings, per training seed,
  then mean ± spread over seeds.  The features whose rank differs most between methods are named.
- **Decision ordering (ADO).** Between every pair of trained networks on the same test jets (per seed,
  then averaged), and between each network and each single expert variable, with the variable's sign
  chosen so that ADO ≥ ½ (:mod:`xaugjets.ado`).
- **Activation patterns.** Relative neural activity per node, layer and class, averaged over seeds, and
  the sparsity (fraction of nodes with RNA < 0.2) per layer and class.
- **The toy's known answer.** On the toy only z and θ separate the classes; r1 and r2 have one
  distribution for both.  Every method should give z and θ more relevance than r1 and r2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from .ado import ado, best_sign
from .aggregation import seed_spread


def method_agreement(rankings: Mapping[str, Sequence[pd.Series]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rank correlations between every pair of methods, and the features they disagree on.

    ``rankings[method]`` holds one Series per seed (feature -> importance, larger = more important), seeds
    in the same order for every method.  Only features every method scores are compared.  Returns the pair
    table (method_a, method_b, spearman ± seed spread, kendall ± seed spread) and a per-feature table of
    each method's mean rank with the spread of the ranks across methods.  Methods that give every feature
    0 (not applicable to this network) are left out.
    """
    # A method that scores nothing (Shapley values of a network without XAUG inputs) has no ranking.
    rankings = {m: seeds for m, seeds in rankings.items() if any(np.any(s.to_numpy() != 0) for s in seeds)}
    methods = list(rankings)
    common = sorted(set.intersection(*(set(s.index) for seeds in rankings.values() for s in seeds)))
    rows = []
    for a, b in combinations(methods, 2):
        rho, tau = [], []
        for sa, sb in zip(rankings[a], rankings[b], strict=True):
            rho.append(stats.spearmanr(sa[common], sb[common]).statistic)
            tau.append(stats.kendalltau(sa[common], sb[common]).statistic)
        rows.append(
            {
                "method_a": a,
                "method_b": b,
                "spearman": float(np.nanmean(rho)),
                "spearman_seed": seed_spread(rho),
                "kendall": float(np.nanmean(tau)),
                "kendall_seed": seed_spread(tau),
                "n_features": len(common),
                "n_seeds": len(rho),
            }
        )
    ranks = pd.DataFrame(
        {m: np.mean([s[common].rank(ascending=False) for s in seeds], axis=0) for m, seeds in rankings.items()},
        index=common,
    )
    ranks["rank_spread"] = ranks[methods].std(axis=1, ddof=1) if len(methods) > 1 else 0.0
    ranks = ranks.sort_values("rank_spread", ascending=False).rename_axis("feature").reset_index()
    return pd.DataFrame(rows), ranks


def ado_table(
    scores: Mapping[str, Sequence[np.ndarray]], labels: np.ndarray, variables: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """ADO between every pair of networks (same seed, then mean ± spread) and of each network with each
    single variable (sign chosen per variable so that the variable's AUC ≥ ½, i.e. it is a tagger)."""
    rows = []
    models = list(scores)
    for a, b in combinations(models, 2):
        values = [ado(sa, sb, labels) for sa, sb in zip(scores[a], scores[b], strict=True)]
        rows.append({"a": a, "b": b, "ado": float(np.mean(values)), "ado_seed": seed_spread(values), "b_sign": 1})
    for name, values in variables.items():
        sign = best_sign(values, labels)
        for model in models:
            per_seed = [ado(s, sign * values, labels) for s in scores[model]]
            rows.append(
                {
                    "a": model,
                    "b": name,
                    "ado": float(np.mean(per_seed)),
                    "ado_seed": seed_spread(per_seed),
                    "b_sign": sign,
                }
            )
    return pd.DataFrame(rows)


def activation_summary(patterns: Sequence[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean RNA per (layer, node, class) over seeds, and sparsity per (layer, class) with its seed spread."""
    from .activations import sparsity

    stacked = pd.concat([p.assign(seed=i) for i, p in enumerate(patterns)])
    rna = stacked.groupby(["depth", "layer", "node", "class"], as_index=False)["rna"].agg(["mean", "std"])
    per_seed = pd.concat([sparsity(p).assign(seed=i) for i, p in enumerate(patterns)])
    sparse = per_seed.groupby(["layer", "class"], as_index=False, sort=False).agg(
        n_nodes=("n_nodes", "first"), sparsity=("sparsity", "mean"), sparsity_seed=("sparsity", seed_spread)
    )
    return rna, sparse


TOY_INFORMATIVE, TOY_UNINFORMATIVE = ("z", "theta"), ("r1", "r2")


def toy_ranking_check(scan: pd.DataFrame) -> pd.DataFrame:
    """Per toy sample, network and method: does each of z, θ get more relevance than each of r1, r2?

    ``scan`` is the overlap-scan table (:func:`xaugjets.aggregation.overlap_scan_table`).  The margin is
    min(R_z, R_θ) − max(R_r1, R_r2) of the mean normalized |R| over seeds and test jets; its error combines
    the two entries' errors (seeds and bootstrap) in quadrature.  Networks without the XAUG inputs are left out.
    """
    relevance = scan[scan["quantity"].str.startswith("relevance:")]
    relevance = relevance.assign(feature=relevance["quantity"].str.removeprefix("relevance:"))
    rows = []
    for (sample, model, method), group in relevance.groupby(["sample", "model", "rule"], sort=False):
        values = group.set_index("feature")
        if not {*TOY_INFORMATIVE, *TOY_UNINFORMATIVE} <= set(values.index):
            continue
        weakest = values.loc[list(TOY_INFORMATIVE), "value"].idxmin()
        strongest = values.loc[list(TOY_UNINFORMATIVE), "value"].idxmax()
        margin = float(values.at[weakest, "value"] - values.at[strongest, "value"])
        rows.append(
            {
                "sample": sample,
                "model": model,
                "method": method,
                "weakest_informative": weakest,
                "strongest_uninformative": strongest,
                "margin": margin,
                "margin_err": float(np.hypot(values.at[weakest, "err"], values.at[strongest, "err"])),
                "holds": margin > 0,
            }
        )
    return pd.DataFrame(rows)
