"""Reduced expert sets: rank the XAUG variables, retrain on the top k of each ranking, and find the
smallest k that recovers the network trained on all of them.

A ranking is a registered function of what the study already knows about the variables (:data:`RANKINGS`):
an explanation method's relevance table or the occlusion table of a trained network, or a baseline that
ignores every network (each variable's own AUC, a random order).  If an explanation ranks well, its top k
should beat the baselines at equal k.  Adding a ranking is one function plus one registry entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .aggregation import Run, paired_difference, paired_runs, performance_table, seed_spread
from .metrics import auc

if TYPE_CHECKING:
    from .training import TrainSettings

DROP_LABEL = "drop<{threshold:g}:{start}"  # the ranking label of a drop-and-retrain run (is_drop_run finds them)
DROP_STARTS = ("scratch", "preloaded")  # a drop set's network starts from random weights or the full network's
RANDOM_SEED_OFFSET = 7919  # the random ranking of training seed s uses seed s + this (not the training stream)


@dataclass(frozen=True)
class RankingInputs:
    """What a ranking may look at: the tables of the ranking network and the training jets."""

    names: list[str]  # the XAUG inputs of the dataset, in column order
    tables: Path  # results/{sample}/tables
    ranked_by: str  # the network whose explanations rank the variables
    train: dict[str, np.ndarray]  # the training split: raw xaug (all variables), label, weight
    all_names: list[str]  # the names of train["xaug"]'s columns
    seed: int


def _ordered(scores: pd.Series, names: Sequence[str]) -> list[str]:
    """``names`` by decreasing score (ties: dataset order)."""
    return list(scores.reindex(names).fillna(-np.inf).sort_values(ascending=False, kind="stable").index)


def by_explanation(method: str) -> Callable[[RankingInputs], list[str]]:
    """Rank by |mean normalized relevance| of ``method`` (an LRP rule or attribution method) on ``ranked_by``."""

    def rank(inputs: RankingInputs) -> list[str]:
        path = inputs.tables / f"relevance_{inputs.ranked_by}_{method}.csv"
        table = pd.read_csv(path).set_index("feature")
        return _ordered(table["mean"].abs(), inputs.names)

    return rank


def by_occlusion(inputs: RankingInputs) -> list[str]:
    """Rank by ΔAUC when the variable is set to zero in ``ranked_by`` (no retraining)."""
    table = pd.read_csv(inputs.tables / f"occlusion_{inputs.ranked_by}.csv")
    return _ordered(table[table["mask"] == "zero"].set_index("feature")["delta_auc"], inputs.names)


def by_single_variable_auc(inputs: RankingInputs) -> list[str]:
    """Baseline: each variable alone as a discriminant on the training jets, |AUC − ½| (either sign)."""
    train = inputs.train
    separation = {
        name: abs(auc(train["label"], train["xaug"][:, inputs.all_names.index(name)], train["weight"]) - 0.5)
        for name in inputs.names
    }
    return _ordered(pd.Series(separation), inputs.names)


def by_chance(inputs: RankingInputs) -> list[str]:
    """Baseline: a random order, one per training seed (the spread over seeds includes the draw)."""
    order = np.random.default_rng(inputs.seed + RANDOM_SEED_OFFSET).permutation(len(inputs.names))
    return [inputs.names[i] for i in order]


# Rankings besides the explanation methods' (config reduced.rankings checks its choices against this).
RANKINGS: dict[str, Callable[[RankingInputs], list[str]]] = {
    "occlusion": by_occlusion,
    "single_auc": by_single_variable_auc,
    "random": by_chance,
}


def rankings(inputs: RankingInputs, methods: Sequence[str], others: Sequence[str]) -> dict[str, list[str]]:
    """Every requested ranking by name: one per explanation method, then those of :data:`RANKINGS`."""
    out = {method: by_explanation(method)(inputs) for method in methods}
    return out | {name: RANKINGS[name](inputs) for name in others}


def feature_sets(ranked: dict[str, list[str]], ks: Sequence[int]) -> list[tuple[str, int, tuple[str, ...]]]:
    """(ranking, k, top-k variables) for every k below the full set (the full set is the reference network)."""
    return [(name, k, tuple(order[:k])) for name, order in ranked.items() for k in ks if k < len(order)]


def with_xaug_columns(arrays: dict[str, np.ndarray], names: Sequence[str], keep: Sequence[str]) -> dict:
    """``arrays`` whose network input ``xaug_scaled`` holds only the variables ``keep`` (in that order)."""
    columns = [list(names).index(name) for name in keep]
    return arrays | {"xaug_scaled": arrays["xaug_scaled"][:, columns]}


def retrain(
    arrays: dict[str, np.ndarray],
    names: Sequence[str],
    sets: Sequence[tuple[str, int, tuple[str, ...]]],
    models: Sequence[str],
    seed: int,
    settings: TrainSettings,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Fit every model on every reduced set with training seed ``seed``: one row and one logit column each.

    Equal sets (two rankings that agree on the top k) are trained once: same variables, same seed, same
    network.  Nothing is written here; the caller stores the rows and the test-set logits.
    """
    from .datasets import select_split
    from .training import evaluate, fit

    test = select_split(arrays, "test")
    done: dict[tuple[str, tuple[str, ...]], tuple[np.ndarray, dict]] = {}
    rows, logits = [], []
    for model in models:
        for ranking, k, keep in sets:
            key = (model, tuple(sorted(keep)))
            if key not in done:
                result = fit(with_xaug_columns(arrays, names, keep), model, seed, settings)
                done[key] = evaluate(result, with_xaug_columns(test, names, keep), model, seed, settings)
            scores, metrics = done[key]
            rows.append(metrics | {"ranking": ranking, "k": k, "features": " ".join(keep)})
            logits.append(scores)
    return pd.DataFrame(rows), np.stack(logits, axis=1)


def drop_sets(occlusion: pd.Series, names: Sequence[str], thresholds: Sequence[float]) -> list[tuple[float, tuple]]:
    """(t, kept variables) for every threshold t: drop each variable whose ΔAUC (``occlusion``, by name) is
    below t.  A threshold that keeps every variable (the full network) or none is left out."""
    out = []
    for threshold in thresholds:
        kept = tuple(name for name in names if occlusion.get(name, -np.inf) >= threshold)
        if 0 < len(kept) < len(names):
            out.append((float(threshold), kept))
    return out


def preloaded_weights(state: dict, n_xaug: int, kept_columns: Sequence[int]) -> dict:
    """The full network's weights for a network on the XAUG columns ``kept_columns`` only.

    The XAUG vector joins the dense head last (:class:`xaugjets.models.TaggerNet`), so the first head layer
    loses the weight columns of the dropped variables; every other weight is kept as it is.
    """
    weight = state["head.0.weight"]
    n_flat = weight.shape[1] - n_xaug
    keep = [*range(n_flat), *(n_flat + c for c in kept_columns)]
    return state | {"head.0.weight": weight[:, keep].clone()}


def retrain_dropped(
    arrays: dict[str, np.ndarray],
    names: Sequence[str],
    sets: Sequence[tuple[float, tuple[str, ...]]],
    full_states: dict[str, dict],
    seed: int,
    settings: TrainSettings,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Fit every model of ``full_states`` on every drop set twice: from scratch and from its full weights.

    Rows carry the ranking ``drop<{t}:{start}`` (start: scratch or preloaded), the threshold and the start.
    """
    from .datasets import select_split
    from .training import evaluate, fit

    test = select_split(arrays, "test")
    done: dict[tuple[str, tuple[str, ...], str], tuple[np.ndarray, dict]] = {}
    rows, logits = [], []
    for model, state in full_states.items():
        for threshold, keep in sets:
            columns = [list(names).index(name) for name in keep]
            for start in DROP_STARTS:
                if (model, keep, start) not in done:  # two thresholds that keep the same set share a fit
                    initial = preloaded_weights(state, len(names), columns) if start == "preloaded" else None
                    result = fit(with_xaug_columns(arrays, names, keep), model, seed, settings, initial=initial)
                    test_keep = with_xaug_columns(test, names, keep)
                    done[model, keep, start] = evaluate(result, test_keep, model, seed, settings)
                scores, metrics = done[model, keep, start]
                ranking = DROP_LABEL.format(threshold=threshold, start=start)
                rows.append(metrics | {"ranking": ranking, "k": len(keep), "features": " ".join(keep)})
                rows[-1] |= {"threshold": threshold, "start": start}
                logits.append(scores)
    return pd.DataFrame(rows), np.stack(logits, axis=1) if logits else np.empty((len(test["label"]), 0))


def load_reduced_runs(folders: Sequence[str | Path]) -> list[Run]:
    """The runs written by :func:`retrain` (runs.csv + scores.csv per seed folder), one :class:`Run` each.

    A run's model is named ``{model}|{ranking}|{k}``; one-line errors name the file.
    """
    out = []
    for folder in map(Path, folders):
        try:
            rows = pd.read_csv(folder / "runs.csv")
            scores = pd.read_csv(folder / "scores.csv")
        except (OSError, ValueError) as err:
            raise OSError(f"cannot read reduced-set runs in {folder}: {err}") from err
        for i, row in rows.iterrows():
            run_scores = scores[["label", "weight"]].assign(logit=scores[f"run{i}"])
            name = f"{row['model']}|{row['ranking']}|{row['k']}"
            out.append(Run(name, int(row["seed"]), row.to_dict(), run_scores))
    return out


def is_drop_run(run: Run) -> bool:
    """A drop-and-retrain run carries its ΔAUC threshold; a top-k run has none."""
    return bool(pd.notna(run.metrics.get("threshold", np.nan)))


def reduced_table(runs: Sequence[Run], boot: np.ndarray, full: dict[str, list[str]]) -> pd.DataFrame:
    """One row per (model, ranking, k), and the all-XAUG network as ranking "all".

    Besides AUC and εS at εB = 0.1 (seed mean, seed / stat / combined errors): ``auc_loss``, the AUC of the
    all-XAUG network minus this one, and ``auc_minus_random``, this one minus the random ranking's at the
    same k; both paired by seed and by test-set resample.  ``full`` maps a model to its XAUG inputs.
    """
    rows = []
    for name in dict.fromkeys(run.model for run in runs if not is_drop_run(run)):  # drop runs: drop_table
        model, ranking, k = name.split("|")
        index = [i for i, run in enumerate(runs) if run.model == name]
        features = {runs[i].metrics.get("features", " ".join(full[model])) for i in index}
        row = {"model": model, "ranking": ranking, "k": int(k)}
        row |= {"features": features.pop() if len(features) == 1 else "(differs by seed)"}
        perf = performance_table(runs, [name], boot).iloc[0]
        row |= {key: perf[key] for key in perf.index if key.startswith(("n_", "auc", "eff_at_bkg1e-1", "epochs_mean"))}
        full_runs = paired_runs(runs, f"{model}|all|{len(full[model])}", name)
        paired_difference(row, "auc_loss", runs, boot, *full_runs, "auc")
        random = f"{model}|random|{k}"
        if ranking not in ("all", "random") and any(run.model == random for run in runs):
            paired_difference(row, "auc_minus_random", runs, boot, *paired_runs(runs, name, random), "auc")
        rows.append(row)
    return pd.DataFrame(rows)


def smallest_sufficient(table: pd.DataFrame) -> pd.DataFrame:
    """Per (model, ranking): the smallest k whose AUC is within its error of the all-XAUG network's.

    "Within its error" means auc_loss ≤ auc_loss_err: the paired loss (by seed and test-set resample) is
    compatible with zero at one standard deviation.  Where no tried k qualifies, the answer is a bound
    "> k_max"; where the smallest tried k (above 1) qualifies, it is "≤ k".
    """
    rows = []
    for (model, ranking), group in table.groupby(["model", "ranking"], sort=False):
        group = group.sort_values("k")
        enough = group[group["auc_loss"] <= group["auc_loss_err"]]
        k_min, k_max = int(group["k"].min()), int(group["k"].max())
        k = int(enough["k"].iloc[0]) if len(enough) else None
        rows.append(
            {
                "model": model,
                "ranking": ranking,
                # Bounds where the tried ks stop: "> k_max" when none suffices, "≤ k_min" when the smallest
                # tried one does (and smaller sets were not tried).
                "smallest_k": f"> {k_max}" if k is None else f"≤ {k}" if k == k_min > 1 else str(k),
                "features": enough["features"].iloc[0] if len(enough) else "",
            }
        )
    return pd.DataFrame(rows)


def drop_table(runs: Sequence[Run], boot: np.ndarray, full: dict[str, list[str]]) -> pd.DataFrame:
    """One row per (model, threshold, start) of the drop-and-retrain runs: variables kept, AUC, the AUC lost
    against the all-XAUG network (paired), epochs and training seconds (mean ± spread over seeds)."""
    rows = []
    for name in dict.fromkeys(run.model for run in runs if is_drop_run(run)):
        model, _, k = name.split("|")
        index = [i for i, run in enumerate(runs) if run.model == name]
        metrics = pd.DataFrame([runs[i].metrics for i in index])
        row = {"model": model, "threshold": float(metrics["threshold"].iloc[0]), "start": metrics["start"].iloc[0]}
        row |= {"k": int(k), "dropped": len(full[model]) - int(k)}
        perf = performance_table(runs, [name], boot).iloc[0]
        row |= {key: perf[key] for key in perf.index if key.startswith(("n_seeds", "auc", "n_hit_max_epochs"))}
        full_runs = paired_runs(runs, f"{model}|all|{len(full[model])}", name)
        paired_difference(row, "auc_loss", runs, boot, *full_runs, "auc")
        for column in ("epochs", "train_seconds"):
            values = metrics[column].to_numpy(dtype=np.float64)
            row[f"{column}_mean"], row[f"{column}_spread"] = float(values.mean()), seed_spread(values)
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    scratch = table[table["start"] == "scratch"].set_index(["model", "threshold"])
    for column in ("epochs", "train_seconds"):
        reference = scratch[f"{column}_mean"].reindex(pd.MultiIndex.from_frame(table[["model", "threshold"]]))
        table[f"{column}_vs_scratch"] = table[f"{column}_mean"].to_numpy() / reference.to_numpy()
    return table.sort_values(["model", "threshold", "start"], kind="stable").reset_index(drop=True)
