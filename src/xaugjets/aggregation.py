"""Tables: mean normalized relevance over events and seeds (SPEC §7), performance and XAUG gain (§8)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .io import read_h5

PERFORMANCE_FIGURES = ("auc", "rej30", "rej50", "eff_at_bkg1e-2", "eff_at_bkg1e-1")


def _spread(values: np.ndarray) -> float:
    """Sample standard deviation over seeds (0 for a single seed)."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def relevance_table(paths: Sequence[str]) -> pd.DataFrame:
    """One row per feature: mean ± std over seeds of the per-seed event-averaged normalized relevance.

    ``paths`` are one model's and one rule's relevance files, one per training seed.
    """
    per_seed: dict[str, list[np.ndarray]] = {"all": [], "sig": [], "bkg": []}
    names: list[str] | None = None
    for path in paths:
        arrays, attrs = read_h5(path, ("features", "label"))
        if names is not None and attrs["summary"]["feature_names"] != names:
            raise ValueError(f"{path}: features differ from the other seeds")
        names = attrs["summary"]["feature_names"]
        features, label = arrays["features"], arrays["label"]
        per_seed["all"].append(features.mean(axis=0))
        per_seed["sig"].append(features[label == 1].mean(axis=0))
        per_seed["bkg"].append(features[label == 0].mean(axis=0))
    stacked = {key: np.stack(values) for key, values in per_seed.items()}
    table = pd.DataFrame(
        {
            "feature": names,
            "mean": stacked["all"].mean(axis=0),
            "std": [_spread(col) for col in stacked["all"].T],
            "n_seeds": len(paths),
            "mean_sig": stacked["sig"].mean(axis=0),
            "std_sig": [_spread(col) for col in stacked["sig"].T],
            "mean_bkg": stacked["bkg"].mean(axis=0),
            "std_bkg": [_spread(col) for col in stacked["bkg"].T],
        }
    )
    return table.sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)


def load_metrics(paths: Sequence[str]) -> pd.DataFrame:
    rows = []
    for path in paths:
        try:
            with open(path) as f:
                rows.append(json.load(f))
        except (OSError, json.JSONDecodeError) as err:
            raise OSError(f"cannot read metrics file {path}: {err}") from err
    return pd.DataFrame(rows)


def performance_table(metrics: pd.DataFrame, models: Sequence[str]) -> pd.DataFrame:
    """Per model: n_seeds and mean/std over seeds of every SPEC §8 figure (models in config order)."""
    rows = []
    for model in models:
        sub = metrics[metrics["model"] == model]
        row: dict[str, object] = {"model": model, "n_seeds": len(sub)}
        for fig in PERFORMANCE_FIGURES:
            row[f"{fig}_mean"] = float(sub[fig].mean())
            row[f"{fig}_std"] = _spread(sub[fig].to_numpy())
        rows.append(row)
    return pd.DataFrame(rows)


def xaug_gain_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Each ``*_xaug`` model against its plain twin: εS(with)/εS(without) − 1 at fixed εB, and ΔAUC.

    Gains are computed per seed (same seed, same test set) and then averaged, so the error bar is the
    spread of the paired gain rather than of the two efficiencies separately.
    """
    rows = []
    for model in sorted(set(metrics["model"])):
        twin = model.removesuffix("_xaug")
        if not model.endswith("_xaug") or twin not in set(metrics["model"]):
            continue
        paired = metrics[metrics["model"] == model].merge(
            metrics[metrics["model"] == twin], on="seed", suffixes=("_with", "_without")
        )
        row: dict[str, object] = {"model": model, "baseline": twin, "n_seeds": len(paired)}
        for fig in ("eff_at_bkg1e-2", "eff_at_bkg1e-1"):
            gain = paired[f"{fig}_with"] / paired[f"{fig}_without"].where(paired[f"{fig}_without"] > 0) - 1
            row[f"gain_{fig}_mean"] = float(gain.mean())
            row[f"gain_{fig}_std"] = _spread(gain.to_numpy())
        delta_auc = paired["auc_with"] - paired["auc_without"]
        row["delta_auc_mean"] = float(delta_auc.mean())
        row["delta_auc_std"] = _spread(delta_auc.to_numpy())
        rows.append(row)
    return pd.DataFrame(rows)


def separation_table(xaug: np.ndarray, label: np.ndarray, weight: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    """Per expert variable: weighted AUC (signal vs background; < 0.5 means lower in signal), the
    separation max(AUC, 1 − AUC), class medians and the signal's most probable value (histogram peak)."""
    from .metrics import auc

    rows = []
    for k, name in enumerate(names):
        values = xaug[:, k].astype(np.float64)
        sig, bkg = values[label == 1], values[label == 0]
        low, high = np.percentile(sig, [0.5, 99.5])
        counts, edges = np.histogram(
            sig, bins=40, range=(low, high if high > low else low + 1), weights=weight[label == 1]
        )
        peak = int(np.argmax(counts))
        area = auc(label, values, weight)
        rows.append(
            {
                "variable": name,
                "auc": area,
                "separation": max(area, 1 - area),
                "median_sig": float(np.median(sig)),
                "median_bkg": float(np.median(bkg)),
                "peak_sig": float(0.5 * (edges[peak] + edges[peak + 1])),
            }
        )
    table = pd.DataFrame(rows)
    return table.sort_values("separation", ascending=False, kind="stable").reset_index(drop=True)


def to_markdown(table: pd.DataFrame, digits: int = 4) -> str:
    """Markdown with 'mean ± std' cells wherever a ``*mean*`` column has a ``*std*`` partner."""
    partners = {col: col.replace("mean", "std", 1) for col in table.columns if "mean" in col}
    partners = {m: s for m, s in partners.items() if s in table.columns}
    out = pd.DataFrame()
    for col in table.columns:
        if col in partners.values():
            continue
        if col in partners:
            label = col.replace("mean", "").strip("_") or "mean"
            out[label] = [f"{m:.{digits}g} ± {s:.2g}" for m, s in zip(table[col], table[partners[col]], strict=True)]
        else:
            out[col] = table[col]
    return out.to_markdown(index=False) + "\n"
