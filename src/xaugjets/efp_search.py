"""The black-box guided search through EFP space (Faucett, Thaler, Whiteson, arXiv:2010.11998).

How much of a black-box tagger g (a network on the jet image or the particle list) can a network on
human-readable inputs reproduce?  Start from an expert set S (XAUG variables), train a small network f_S on
it, and measure how alike the two decide with the average decision ordering ADO(f_S, g) (:mod:`xaugjets.ado`).
Then, step by step:

1. take the (signal, background) jet pairs that f_S and g order differently: there S lacks what g uses;
2. on those pairs only, find the EFP that orders them most like g (ADO, either sign): the observable
   that best explains the disagreement;
3. add it to S, retrain f_S, and measure ADO and AUC again.

The search stops when a step raises ADO(f_S, g) by less than ``min_gain`` or after ``max_steps``.  The
choice (steps 1-2) and the stopping decision use the validation jets; ADO and AUC are reported on the
test jets, so the test set never steers the search.  Nothing here reads or writes a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .ado import ado
from .aggregation import bootstrap_distribution, seed_spread, with_errors
from .datasets import select_split
from .metrics import auc

if TYPE_CHECKING:
    from .training import TrainSettings

EXPERT_MODEL = "xaug_dnn"  # the network on the expert set: the XAUG variables' own network
LOG_FLOOR = 1e-30  # EFPs of a one-particle jet are 0; the log feature needs a finite value


@dataclass(frozen=True)
class SearchSettings:
    """The knobs of one search (config ``efp``)."""

    max_steps: int
    min_gain: float
    max_pairs: int
    bootstrap: int


def efp_features(efps: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Network inputs from EFPs: log, standardized with training-jet statistics (EFPs span decades)."""
    logs = np.log(np.maximum(efps, LOG_FLOOR))
    mean, std = logs[train].mean(axis=0), logs[train].std(axis=0)
    return ((logs - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)


def sampled_pairs(labels: np.ndarray, max_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(signal row, background row) of every pair, or of ``max_pairs`` drawn uniformly when there are more."""
    sig, bkg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    if len(sig) * len(bkg) <= max_pairs:
        i, j = np.meshgrid(sig, bkg, indexing="ij")
        return i.ravel(), j.ravel()
    rng = np.random.default_rng(seed)
    return rng.choice(sig, max_pairs), rng.choice(bkg, max_pairs)


def pair_ado(candidates: np.ndarray, reference: np.ndarray, pairs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """ADO of every column of ``candidates`` with ``reference`` on the given pairs, sign chosen (≥ ½).

    Ties in either count ½, as in :func:`xaugjets.ado.ado`; NaN without pairs.
    """
    i, j = pairs
    if len(i) == 0:
        return np.full(candidates.shape[1], np.nan)
    order = np.sign(reference[i] - reference[j])[:, None]
    value = 0.5 + 0.5 * np.mean(np.sign(candidates[i] - candidates[j]) * order, axis=0)
    return np.maximum(value, 1.0 - value)


def disordered(first: np.ndarray, second: np.ndarray, pairs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Which pairs two discriminants order differently (a tie in one of them counts as a disagreement)."""
    i, j = pairs
    return np.sign(first[i] - first[j]) * np.sign(second[i] - second[j]) <= 0


def _test_figures(scores: np.ndarray, black_box: np.ndarray, test: dict, n_resamples: int) -> dict[str, float]:
    """ADO with the black box and AUC on the test jets, each with its bootstrap standard deviation."""
    labels, weights = test["label"], test["weight"]

    def figures(rows: np.ndarray) -> np.ndarray:
        return np.array(
            [ado(scores[rows], black_box[rows], labels[rows]), auc(labels[rows], scores[rows], weights[rows])]
        )

    spread = bootstrap_distribution(figures, len(labels), n_resamples, seed=0).std(axis=1, ddof=1)
    return {
        "ado": ado(scores, black_box, labels),
        "ado_stat": float(spread[0]),
        "auc": auc(labels, scores, weights),
        "auc_stat": float(spread[1]),
    }


def _expert_inputs(part: dict[str, np.ndarray], xaug_columns: list[int], chosen: list[int]) -> dict:
    """``part`` whose network input holds the start set's XAUG columns and the chosen EFPs."""
    return part | {
        "xaug_scaled": np.concatenate([part["xaug_scaled"][:, xaug_columns], part["efp"][:, chosen]], axis=1)
    }


def guided_search(
    arrays: dict[str, np.ndarray],
    efps: np.ndarray,
    efp_names: Sequence[str],
    start: Sequence[str],
    xaug_names: Sequence[str],
    black_box: dict[str, np.ndarray],
    seed: int,
    training: TrainSettings,
    search: SearchSettings,
) -> pd.DataFrame:
    """One search from the expert set ``start``: one row per step (step 0 is ``start`` alone).

    ``arrays`` is the dataset (all splits), ``efps`` its (jets, EFPs) table in the same row order,
    ``black_box`` the black box's logits on the ``val`` and ``test`` jets.  Every network is trained with
    training seed ``seed``.
    """
    from .runtime import resolve_device
    from .training import evaluate, fit, predict

    device = resolve_device(training.accelerator)
    scaled_efps = efp_features(efps, arrays["split"] == 0)
    xaug_columns = [list(xaug_names).index(name) for name in start]
    val, test = (select_split(arrays | {"efp": scaled_efps, "efp_raw": efps}, split) for split in ("val", "test"))
    pairs = sampled_pairs(val["label"], search.max_pairs, seed)
    chosen: list[int] = []
    rows: list[dict] = []
    previous = -np.inf
    for step in range(search.max_steps + 1):
        result = fit(_expert_inputs(arrays | {"efp": scaled_efps}, xaug_columns, chosen), EXPERT_MODEL, seed, training)
        test_scores, metrics = evaluate(
            result, _expert_inputs(test, xaug_columns, chosen), EXPERT_MODEL, seed, training
        )
        val_scores = predict(result.net, _expert_inputs(val, xaug_columns, chosen), device)
        val_ado = ado(val_scores, black_box["val"], val["label"])
        row = {
            "step": step,
            "added": efp_names[chosen[-1]] if chosen else "",
            "inputs": len(xaug_columns) + len(chosen),
            "val_ado": val_ado,
            **_test_figures(test_scores, black_box["test"], test, search.bootstrap),
            "epochs": metrics["epochs"],
            "stop_reason": metrics["stop_reason"],
        }
        gain = val_ado - previous
        row["accepted"] = step == 0 or gain >= search.min_gain
        rows.append(row)
        if not row["accepted"] or step == search.max_steps:
            break
        previous = val_ado
        differ = disordered(val_scores, black_box["val"], pairs)
        row["disordered_pairs"] = int(differ.sum())
        if not differ.any():  # the expert network already orders every pair like the black box
            break
        candidates = pair_ado(val["efp_raw"], black_box["val"], (pairs[0][differ], pairs[1][differ]))
        candidates[chosen] = -np.inf
        chosen.append(int(np.nanargmax(candidates)))
        row["next_pair_ado"] = float(candidates[chosen[-1]])
    return pd.DataFrame(rows)


def _added(names: pd.Series) -> str:
    """The EFPs added at one step over seeds, most frequent first: "efp_n2_d2_k0 (2/3), efp_n3_d3_k1 (1/3)"."""
    counts = names.fillna("").value_counts(sort=True)
    return ", ".join(f"{name or '(start set)'} ({n}/{len(names)})" for name, n in counts.items())


def _figures(row: dict, group: pd.DataFrame) -> None:
    """ADO and AUC of the seeds in ``group``: mean, seed spread, test-set bootstrap (same jets: mean of seeds')."""
    for figure in ("ado", "auc"):
        with_errors(
            row, figure, float(group[figure].mean()), seed_spread(group[figure]), float(group[f"{figure}_stat"].mean())
        )


def search_table(steps: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per step, per search end) over seeds.

    The step table has one row per (black box, start set, step) with the seeds that reached it; the end
    table compares the start set alone with the last accepted step of each seed.
    """
    keys = ["black_box", "start"]
    rows = []
    for (black_box, start, step), group in steps.groupby([*keys, "step"], sort=False):
        row = {"black_box": black_box, "start": start, "step": int(step), "seeds": len(group)}
        row |= {"added": _added(group["added"]), "accepted": f"{int(group['accepted'].sum())}/{len(group)}"}
        row["hit_max_epochs"] = f"{int((group['stop_reason'] == 'max_epochs').sum())}/{len(group)}"
        _figures(row, group)
        rows.append(row)
    ends = []
    for (black_box, start), group in steps.groupby(keys, sort=False):
        first = group[group["step"] == 0]
        last = group[group["accepted"].astype(bool)].sort_values("step").groupby("seed").tail(1)
        row = {"black_box": black_box, "start": start, "seeds": len(first)}
        _figures(row, first)
        row = {f"start_{k}" if k.startswith(("ado", "auc")) else k: v for k, v in row.items()}
        row["efps_added"] = float(last["step"].mean())
        row["hit_max_epochs"] = f"{int((group['stop_reason'] == 'max_epochs').sum())}/{len(group)} trainings"
        _figures(row, last)
        row["final_sets"] = "; ".join(
            " ".join(group[(group["seed"] == seed) & group["accepted"].astype(bool) & (group["step"] > 0)]["added"])
            or "(none)"
            for seed in sorted(group["seed"].unique())
        )
        ends.append(row)
    return pd.DataFrame(rows), pd.DataFrame(ends)
