"""Tables with honest errors: relevance over events and seeds, performance and the XAUG gain.

Every figure carries two errors and their quadrature sum:

- ``seed``: the standard deviation over training seeds (how much one training varies);
- ``stat``: the bootstrap standard deviation over test jets of the seed-averaged figure (how much the
  finite test set moves it).  One set of resampled test jets is shared by every model and seed, so
  differences and ratios between models (the XAUG gain, ΔAUC) are paired;
- ``err``: sqrt(seed² + stat²).

A rejection whose background efficiency reaches the last background jet is a lower bound (``_bound``)
and prints as "> N".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .io import read_h5
from .metrics import RankedScores, auc, performance

PERFORMANCE_FIGURES = ("auc", "rej30", "rej50", "eff_at_bkg1e-2", "eff_at_bkg1e-1")
GAIN_FIGURES = ("eff_at_bkg1e-2", "eff_at_bkg1e-1")


def seed_spread(values: np.ndarray) -> float:
    """Sample standard deviation over seeds, ignoring undefined values (0 for a single seed)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def with_errors(row: dict[str, object], name: str, point: float, seed: float, stat: float) -> None:
    row[name] = point
    row[f"{name}_seed"] = seed
    row[f"{name}_stat"] = stat
    row[f"{name}_err"] = float(np.hypot(seed, stat))


def bootstrap_distribution(statistic, n: int, n_resamples: int, seed: int) -> np.ndarray:
    """(outputs, resamples) of ``statistic(rows)`` over resampled test rows (scipy.stats.bootstrap)."""
    result = stats.bootstrap(
        (np.arange(n),),
        statistic,
        vectorized=False,
        n_resamples=n_resamples,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    return np.asarray(result.bootstrap_distribution).reshape(-1, n_resamples)


def relevance_table(paths: Sequence[str], n_resamples: int, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """One row per feature: the seed-averaged event-mean normalized relevance with seed and stat errors.

    ``paths`` are one model's and one method's relevance files, one per training seed, all on the same test
    jets.  Returns the table (sorted by relevance) and metadata shared by the seeds (rule, encoding, ...),
    with the median conservation over seeds.
    """
    features, labels, summaries = [], None, []
    for path in paths:
        arrays, attrs = read_h5(path, ("features", "label"))
        summary = attrs["summary"]
        if summaries and summary["feature_names"] != summaries[0]["feature_names"]:
            raise ValueError(f"{path}: features differ from the other seeds")
        if labels is not None and not np.array_equal(arrays["label"], labels):
            raise ValueError(f"{path}: explained jets differ from the other seeds")
        labels = arrays["label"]
        features.append(arrays["features"].astype(np.float64))
        summaries.append(summary)
    stacked = np.stack(features)  # (seeds, jets, features)
    classes = {"": np.ones(len(labels), dtype=bool), "_sig": labels == 1, "_bkg": labels == 0}

    def class_means(rows: np.ndarray) -> np.ndarray:
        """Seed-averaged means for all jets, signal, background: (3 × features,)."""
        sub, lab = stacked[:, rows], labels[rows]
        parts = [sub.mean(axis=1), sub[:, lab == 1].mean(axis=1), sub[:, lab == 0].mean(axis=1)]
        return np.concatenate([p.mean(axis=0) for p in parts])

    boot = bootstrap_distribution(class_means, len(labels), n_resamples, seed)
    stat = np.nanstd(boot, axis=1, ddof=1).reshape(3, -1)
    names = summaries[0]["feature_names"]
    rows = []
    for k, name in enumerate(names):
        row: dict[str, object] = {"feature": name, "n_seeds": len(paths)}
        for c, (suffix, rows_in_class) in enumerate(classes.items()):
            per_seed = stacked[:, rows_in_class, k].mean(axis=1)
            with_errors(row, f"mean{suffix}", float(per_seed.mean()), seed_spread(per_seed), float(stat[c, k]))
        rows.append(row)
    table = pd.DataFrame(rows).sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)
    keys = ("method", "rule", "rule_description", "pooling", "epsilon", "gamma", "ig_steps", "shapley_samples")
    keys = (*keys, "explained_output", "conservation_of", "applicable")
    metadata = {key: summaries[0][key] for key in keys if key in summaries[0]}
    metadata |= {
        "model": summaries[0]["model"],
        "xaug_encoding": summaries[0].get("xaug_encoding", "minmax"),
        "normalization": summaries[0].get("normalization", ""),
        "n_jets": len(labels),
        "n_seeds": len(paths),
        "conservation_median": float(np.median([s["conservation_median"] for s in summaries])),
        "errors": f"seed: std over seeds; stat: bootstrap over test jets ({n_resamples} resamples); err: both",
    }
    return table, metadata


@dataclass
class Run:
    """One trained network (model, seed): its metrics and test-set scores."""

    model: str
    seed: int
    metrics: dict
    scores: pd.DataFrame


def load_runs(metrics_paths: Sequence[str]) -> list[Run]:
    """Read ``metrics.json`` and the ``scores.csv`` beside it for every run; one-line errors name the file."""
    runs = []
    for path in metrics_paths:
        scores_path = Path(path).with_name("scores.csv")
        try:
            with open(path) as f:
                metrics = json.load(f)
            scores = pd.read_csv(scores_path)
        except (OSError, ValueError) as err:
            raise OSError(f"cannot read training output {path} / {scores_path.name}: {err}") from err
        runs.append(Run(metrics["model"], int(metrics["seed"]), metrics, scores))
    labels = runs[0].scores["label"].to_numpy()
    for run in runs[1:]:
        if not np.array_equal(run.scores["label"].to_numpy(), labels):
            raise ValueError(f"{run.model} seed {run.seed}: test set differs from {runs[0].model}'s")
    return runs


def bootstrap_runs(runs: Sequence[Run], n_resamples: int, seed: int) -> np.ndarray:
    """Figures of every run on shared resamples of the test jets: (runs, figures, resamples)."""
    label = runs[0].scores["label"].to_numpy()
    weight = runs[0].scores["weight"].to_numpy()
    logits = [run.scores["logit"].to_numpy() for run in runs]

    def figures(rows: np.ndarray) -> np.ndarray:
        out = []
        for logit in logits:
            values = performance(label[rows], logit[rows], weight[rows])
            out.append([values[f] for f in PERFORMANCE_FIGURES])
        return np.asarray(out).ravel()

    boot = bootstrap_distribution(figures, len(label), n_resamples, seed)
    return boot.reshape(len(runs), len(PERFORMANCE_FIGURES), n_resamples)


def performance_table(runs: Sequence[Run], models: Sequence[str], boot: np.ndarray) -> pd.DataFrame:
    """Per model: every figure as the seed mean with seed, stat and combined errors; convergence columns."""
    rows = []
    for model in models:
        index = [i for i, run in enumerate(runs) if run.model == model]
        metrics = pd.DataFrame([runs[i].metrics for i in index])
        row: dict[str, object] = {"model": model, "n_seeds": len(index)}
        for f, fig in enumerate(PERFORMANCE_FIGURES):
            values = metrics[fig].to_numpy(dtype=np.float64)
            stat = float(np.std(boot[index, f].mean(axis=0), ddof=1))
            with_errors(row, fig, float(values.mean()), seed_spread(values), stat)
            if fig.startswith("rej"):
                row[f"{fig}_bound"] = bool(metrics.get(f"{fig}_capped", pd.Series(False, index=metrics.index)).any())
        row["epochs_mean"] = float(metrics["epochs"].mean())
        row["best_epoch_mean"] = float(metrics["best_epoch"].mean())
        row["n_hit_max_epochs"] = int((metrics.get("stop_reason", pd.Series(dtype=str)) == "max_epochs").sum())
        rows.append(row)
    return pd.DataFrame(rows)


def xaug_gain_table(runs: Sequence[Run], boot: np.ndarray) -> pd.DataFrame:
    """Each ``*_xaug`` model against its plain twin: εS(with)/εS(without) − 1 at fixed εB, and ΔAUC.

    Paired twice: by seed (same seed, same test set) and by bootstrap resample (same resampled jets), so
    the errors are those of the difference, not of the two figures separately.  A seed whose baseline
    efficiency is 0 has an undefined gain and is counted in ``n_undefined``.
    """
    models = {run.model for run in runs}
    rows = []
    for model in sorted(models):
        twin = model.removesuffix("_xaug")
        if not model.endswith("_xaug") or twin not in models:
            continue
        with_, without = paired_runs(runs, model, twin)
        row: dict[str, object] = {"model": model, "baseline": twin, "n_seeds": len(with_)}
        for fig in GAIN_FIGURES:
            f = PERFORMANCE_FIGURES.index(fig)
            point_with = np.array([runs[i].metrics[fig] for i in with_], dtype=np.float64)
            point_without = np.array([runs[i].metrics[fig] for i in without], dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                point = np.where(point_without > 0, point_with / point_without - 1, np.nan)
                resampled = np.where(boot[without, f] > 0, boot[with_, f] / boot[without, f] - 1, np.nan)
            row[f"gain_{fig}_n_undefined"] = int(np.isnan(point).sum())
            stat = float(np.nanstd(np.nanmean(resampled, axis=0), ddof=1))
            with_errors(row, f"gain_{fig}", float(np.nanmean(point)), seed_spread(point), stat)
        paired_difference(row, "delta_auc", runs, boot, with_, without, "auc")
        rows.append(row)
    return pd.DataFrame(rows)


def paired_runs(runs: Sequence[Run], model: str, baseline: str) -> tuple[list[int], list[int]]:
    """Indices of ``model``'s and ``baseline``'s runs with the same seed, in seed order."""
    by_seed = {(run.model, run.seed): i for i, run in enumerate(runs)}
    seeds = sorted(s for (m, s) in by_seed if m == model and (baseline, s) in by_seed)
    return [by_seed[(model, s)] for s in seeds], [by_seed[(baseline, s)] for s in seeds]


def paired_difference(
    row: dict[str, object],
    name: str,
    runs: Sequence[Run],
    boot: np.ndarray,
    with_: Sequence[int],
    without: Sequence[int],
    fig: str,
) -> None:
    """``fig`` of runs ``with_`` minus runs ``without``, paired by seed and by bootstrap resample."""
    f = PERFORMANCE_FIGURES.index(fig)
    point = np.array([runs[i].metrics[fig] - runs[j].metrics[fig] for i, j in zip(with_, without, strict=True)])
    stat = float(np.std((boot[list(with_), f] - boot[list(without), f]).mean(axis=0), ddof=1))
    with_errors(row, name, float(point.mean()), seed_spread(point), stat)


def separation_table(xaug: np.ndarray, label: np.ndarray, weight: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    """Per expert variable: weighted AUC (signal vs background; < 0.5 means lower in signal), the
    separation max(AUC, 1 − AUC), class medians and the signal's most probable value (histogram peak)."""
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


def _cell(table: pd.DataFrame, base: str, i: int, digits: int) -> str:
    value = table[base].iloc[i]
    prefix = "> " if f"{base}_bound" in table.columns and bool(table[f"{base}_bound"].iloc[i]) else ""
    if not np.isfinite(value):
        return "undefined"
    seed, stat = table[f"{base}_seed"].iloc[i], table[f"{base}_stat"].iloc[i]
    if prefix:
        return f"> {value:.{digits}g} (bound: background exhausted)"
    err = table[f"{base}_err"].iloc[i]
    return f"{value:.{digits}g} ± {error_text(err)} (seed {error_text(seed)}, stat {error_text(stat)})"


def error_text(value: float) -> str:
    """Two significant digits; rounding noise of an exact result (a perfect AUC) prints as 0."""
    return "0" if abs(value) < 1e-12 else f"{value:.2g}"


def to_markdown(table: pd.DataFrame, digits: int = 4, metadata: dict | None = None) -> str:
    """Markdown with "value ± err (seed s, stat t)" cells wherever a column has ``_seed``/``_stat`` partners.

    ``metadata`` (what the table depends on) is listed above the table.
    """
    bases = [c for c in table.columns if f"{c}_seed" in table.columns and f"{c}_stat" in table.columns]
    hidden = {f"{b}_{s}" for b in bases for s in ("seed", "stat", "err", "bound")}
    out = pd.DataFrame()
    for col in table.columns:
        if col in hidden:
            continue
        if col in bases:
            out[col] = [_cell(table, col, i, digits) for i in range(len(table))]
        else:
            out[col] = table[col]
    lines = [
        f"- **{key}**: {f'{value:.3g}' if isinstance(value, float) else value}"
        for key, value in (metadata or {}).items()
    ]
    return ("\n".join(lines) + "\n\n" if lines else "") + out.to_markdown(index=False) + "\n"


def write_table(table: pd.DataFrame, base: str | Path, title: str, metadata: dict | None = None) -> None:
    """``base``.csv (every column) and ``base``.md (errors folded into cells, metadata listed), atomically."""
    from .io import atomic_path

    base = Path(base)
    with atomic_path(base.with_suffix(".csv")) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    with atomic_path(base.with_suffix(".md")) as tmp:
        tmp.write_text(f"# {title}\n\n" + to_markdown(table, metadata=metadata))


def _sample_of(path: str) -> str:
    """results/{sample}/tables/<file>: the sample name."""
    return Path(path).parts[-3]


def overlap_scan_table(performance_paths: Sequence[str], relevance_paths: Sequence[str]) -> pd.DataFrame:
    """Long table over toy overlap levels: each model's AUC, and each feature's relevance per model and rule."""
    rows = []
    for path in performance_paths:
        sample = _sample_of(path)
        for _, perf in pd.read_csv(path).iterrows():
            rows.append(
                {"sample": sample, "model": perf["model"], "rule": "", "quantity": "auc"}
                | {
                    k: perf[f"auc{s}"]
                    for k, s in (("value", ""), ("seed", "_seed"), ("stat", "_stat"), ("err", "_err"))
                }
            )
    for path in relevance_paths:
        sample = _sample_of(path)
        model, rule = _model_rule(path)
        for _, rel in pd.read_csv(path).iterrows():
            rows.append(
                {"sample": sample, "model": model, "rule": rule, "quantity": f"relevance:{rel['feature']}"}
                | {
                    k: rel[f"mean{s}"]
                    for k, s in (("value", ""), ("seed", "_seed"), ("stat", "_stat"), ("err", "_err"))
                }
            )
    return pd.DataFrame(rows)


def _model_rule(path: str) -> tuple[str, str]:
    """relevance_{model}_{rule}.csv -> (model, rule); a model name may contain underscores, a rule may too."""
    from .explain import ALL_METHODS

    stem = Path(path).stem.removeprefix("relevance_")
    for rule in sorted(ALL_METHODS, key=len, reverse=True):
        if stem.endswith(f"_{rule}"):
            return stem[: -len(rule) - 1], rule
    raise ValueError(f"{path}: no known rule at the end of the name")


# The reference study's toy result (Agarwal et al., JHEP 05 (2021) 208): raw XAUG inputs, the predicted
# class explained, preset A with biases; z is the most relevant XAUG input, θ well below it.
REFERENCE_TOY_RELEVANCE = {"z": "0.95-1.0", "theta": "≈ 0.4"}
REFERENCE_RULES = ("z", "epsilon", "alpha1beta0", "presetA")  # the LRP rules the reference study used


def reference_comparison_table(relevance_paths: Sequence[str]) -> tuple[pd.DataFrame, dict]:
    """Per XAUG model and rule: the reference's values, ours with its conventions, ours with the defaults."""
    tables: dict[tuple[str, str, str], pd.DataFrame] = {}
    for path in relevance_paths:
        model, rule = _model_rule(path)
        tables[(_sample_of(path), model, rule)] = pd.read_csv(path).set_index("feature")
    samples = sorted({s for s, _, _ in tables}, key=lambda s: s != "toy-reference")
    rows = []
    for (sample, model, rule), table in tables.items():
        if sample != samples[0]:
            continue
        for feature in ("z", "theta", "r1", "r2", "image"):
            if feature not in table.index:
                continue
            row = {
                "model": model,
                "rule": rule,
                "feature": feature,
                "reference": REFERENCE_TOY_RELEVANCE.get(feature, "") if rule in REFERENCE_RULES else "",
            }
            for label, other in zip(("reference_conventions", "default_conventions"), samples, strict=False):
                entry = tables[(other, model, rule)].loc[feature]
                row[label] = f"{entry['mean']:.3f} ± {entry['mean_err']:.3f}"
            xaug = table.loc[[f for f in ("z", "theta", "r1", "r2") if f in table.index], "mean"]
            row["xaug_rank_reference_conventions"] = (
                int((xaug > table.loc[feature, "mean"]).sum()) + 1 if feature in xaug else ""
            )
            rows.append(row)
    metadata = {"samples": ", ".join(samples), "reference": "Agarwal et al., JHEP 05 (2021) 208 (toy, quoted values)"}
    return pd.DataFrame(rows), metadata


def delta_auc_one(labels: np.ndarray, weights: np.ndarray, full: np.ndarray, masked: np.ndarray) -> np.ndarray:
    """AUC(full) − AUC(masked) for each row of ``masked`` (variants × jets)."""
    aucs = RankedScores(labels, np.vstack([full, masked])).auc(weights)
    return aucs[0] - aucs[1:]


def occlusion_table(paths: Sequence[str], n_resamples: int, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """ΔAUC = AUC(full) − AUC(one input masked) per feature and mask, seed mean with seed and stat errors.

    ``paths`` are one model's occlusion files, one per seed, on the same test jets; the bootstrap resamples
    those jets once for every seed and variant, so each ΔAUC is paired.
    """
    full, masked, labels, weights, names = [], [], None, None, None
    for path in paths:
        arrays, attrs = read_h5(path, ("logit", "masked_logits", "label", "weight"))
        if names is not None and attrs["variants"] != names:
            raise ValueError(f"{path}: occlusion variants differ from the other seeds")
        names, labels, weights = attrs["variants"], arrays["label"], arrays["weight"]
        full.append(arrays["logit"])
        masked.append(arrays["masked_logits"])
    # Every seed's full and masked scores sorted once: a resample only reweights the jets (by how often
    # each was drawn), so the bootstrap never sorts again.
    ranked = RankedScores(labels, np.vstack([np.vstack([f, m]) for f, m in zip(full, masked, strict=True)]))
    n_seeds, n_variants = len(paths), len(names)

    def delta_auc(rows: np.ndarray) -> np.ndarray:
        aucs = ranked.auc(weights * np.bincount(rows, minlength=len(labels))).reshape(n_seeds, n_variants + 1)
        return np.mean(aucs[:, :1] - aucs[:, 1:], axis=0)

    boot = bootstrap_distribution(delta_auc, len(labels), n_resamples, seed)
    per_seed = np.array([delta_auc_one(labels, weights, f, sm) for f, sm in zip(full, masked, strict=True)])
    rows = []
    for v, (feature, mask) in enumerate(names):
        row: dict[str, object] = {"feature": feature, "mask": mask, "n_seeds": len(paths)}
        with_errors(
            row, "delta_auc", float(per_seed[:, v].mean()), seed_spread(per_seed[:, v]), float(np.std(boot[v], ddof=1))
        )
        rows.append(row)
    table = pd.DataFrame(rows).sort_values(["mask", "delta_auc"], ascending=[False, False], kind="stable")
    metadata = {
        "method": "occlusion",
        "masks": "zero: the input set to 0 (LRP's reference point); mean: the encoded training-set mean",
        "n_jets": len(labels),
        "n_seeds": len(paths),
        "errors": f"seed: std over seeds; stat: bootstrap over test jets ({n_resamples} resamples); err: both",
    }
    return table.reset_index(drop=True), metadata


def relevance_rankings(paths: Sequence[str]) -> list[pd.Series]:
    """Per seed: each feature's mean normalized relevance over the explained jets."""
    out = []
    for path in paths:
        arrays, attrs = read_h5(path, ("features",))
        out.append(pd.Series(arrays["features"].mean(axis=0), index=attrs["summary"]["feature_names"]))
    return out


def occlusion_rankings(paths: Sequence[str]) -> list[pd.Series]:
    """Per seed: each feature's ΔAUC with the zero mask (the mask that matches the other methods' baseline)."""
    out = []
    for path in paths:
        arrays, attrs = read_h5(path, ("logit", "masked_logits", "label", "weight"))
        zero = [i for i, (_, mask) in enumerate(attrs["variants"]) if mask == "zero"]
        delta = delta_auc_one(arrays["label"], arrays["weight"], arrays["logit"], arrays["masked_logits"][zero])
        out.append(pd.Series(delta, index=[attrs["variants"][i][0] for i in zero]))
    return out
