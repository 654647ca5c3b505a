"""The one-page answer per sample: what each network uses, how far the methods agree, how much of each
black box the expert variables capture.  Built only from the sample's tables, so every number on the page
is one of theirs, with its error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .aggregation import error_text

TOP = 5  # features listed per method


def _value(row: pd.Series, name: str) -> str:
    return f"{row[name]:.3g} ± {error_text(row[f'{name}_err'])}"


def _performance(tables: Path, models: Sequence[str]) -> str:
    perf = pd.read_csv(tables / "performance.csv").set_index("model").loc[list(models)]
    rows = [
        {"network": model, "AUC": _value(row, "auc"), "εS at εB = 0.1": _value(row, "eff_at_bkg1e-1")}
        for model, row in perf.iterrows()
    ]
    return pd.DataFrame(rows).to_markdown(index=False)


def _top_features(tables: Path, model: str, methods: Sequence[str]) -> str:
    """One row per method: its TOP features by mean normalized relevance (occlusion: by ΔAUC, zero mask)."""
    rows = []
    for method in methods:
        table = pd.read_csv(tables / f"relevance_{model}_{method}.csv")
        if table["mean"].abs().sum() == 0:  # Shapley without XAUG inputs, LRP on a layer without a rule
            rows.append([method, "not applicable (the table's metadata say why)"])
            continue
        top = table.sort_values("mean", ascending=False, kind="stable").head(TOP)
        rows.append([method, *(f"{r['feature']} ({_value(r, 'mean')})" for _, r in top.iterrows())])
    occlusion = pd.read_csv(tables / f"occlusion_{model}.csv")
    top = occlusion[occlusion["mask"] == "zero"].sort_values("delta_auc", ascending=False, kind="stable").head(TOP)
    rows.append(["occlusion ΔAUC", *(f"{r['feature']} ({_value(r, 'delta_auc')})" for _, r in top.iterrows())])
    width = max(len(r) for r in rows)
    header = ["method", *(f"#{i}" for i in range(1, width))]
    return pd.DataFrame([r + [""] * (width - len(r)) for r in rows], columns=header).to_markdown(index=False)


def _agreement(tables: Path, model: str) -> str:
    pairs = pd.read_csv(tables / f"agreement_{model}.csv").dropna(subset=["spearman"])
    ranks = pd.read_csv(tables / f"feature_ranks_{model}.csv")
    if pairs.empty:
        return "Rank correlations are undefined here (a single input feature)."
    worst = pairs.nsmallest(1, "spearman").iloc[0]
    disputed = ranks.nlargest(3, "rank_spread")["feature"].tolist()
    return (
        f"Median Spearman correlation between the methods' feature rankings: {pairs['spearman'].median():.2f} "
        f"over {len(pairs)} pairs (least alike: {worst['method_a']} and {worst['method_b']}, "
        f"{worst['spearman']:.2f} ± {error_text(worst['spearman_seed'])} over seeds).  "
        f"Features ranked most differently: {', '.join(disputed)}."
    )


def _sanity(tables: Path, model: str) -> str:
    """Which methods the cascading-randomization check flags (their maps outlive a random network)."""
    from .sanity import SHUFFLED_LABELS, SURVIVES

    table = pd.read_csv(tables / f"sanity_{model}.csv")
    if table.empty:
        return "Sanity check by cascading randomization: switched off."
    last = table[table["randomized"] == table["randomized"].max()]
    flagged = last[last["spearman"] >= SURVIVES]
    worst = last.nlargest(1, "spearman").iloc[0]
    verdict = (
        f"flagged (their maps stay alike with every layer random, ρ ≥ {SURVIVES}): "
        + ", ".join(f"{r['method']} (ρ = {r['spearman']:.2f})" for _, r in flagged.iterrows())
        if len(flagged)
        else f"every method passes (largest ρ with every layer random: {worst['method']}, {worst['spearman']:.2f})"
    )
    text = f"Sanity check by cascading randomization: {verdict}."
    twin = table[table["randomized"] == SHUFFLED_LABELS]
    if len(twin):
        alike = twin[twin["spearman"] >= SURVIVES]
        top = twin.nlargest(1, "spearman").iloc[0]
        listed = ", ".join(f"{r['method']} (ρ = {r['spearman']:.2f})" for _, r in alike.iterrows())
        text += " Against the same network trained on shuffled labels: " + (
            f"flagged (maps alike, ρ ≥ {SURVIVES}): {listed}"
            if len(alike)
            else f"every method's maps differ (largest ρ: {top['method']}, {top['spearman']:.2f})"
        ) + "."
    return text


def _decision_ordering(tables: Path, models: Sequence[str], expert: str) -> str:
    """ADO of the expert network and of the best single expert variable to every other network."""
    ado = pd.read_csv(tables / "ado.csv")
    rows = []
    for model in models:
        if model == expert:
            continue
        pair = ado[((ado["a"] == expert) & (ado["b"] == model)) | ((ado["a"] == model) & (ado["b"] == expert))]
        single = ado[(ado["a"] == model) & ~ado["b"].isin(models)].nlargest(1, "ado")
        rows.append(
            {
                "network": model,
                f"ADO with {expert}": f"{pair['ado'].iloc[0]:.3f} ± {error_text(pair['ado_seed'].iloc[0])}"
                if len(pair)
                else "",
                "best single variable": (
                    f"{single['b'].iloc[0]} ({single['ado'].iloc[0]:.3f} ± {error_text(single['ado_seed'].iloc[0])})"
                    if len(single)
                    else ""
                ),
            }
        )
    return pd.DataFrame(rows).to_markdown(index=False)


def _reduced(tables: Path) -> str:
    """Per reduced-set network and ranking: the smallest sufficient k, its variables and what it reaches."""
    if not (tables / "reduced_smallest.csv").exists():
        return "Not run for this sample (reduced.enabled is off, or the networks it needs are not trained)."
    smallest = pd.read_csv(tables / "reduced_smallest.csv", dtype={"smallest_k": str}, keep_default_na=False)
    table = pd.read_csv(tables / "reduced.csv")
    lines, rows = [], []
    for model, group in table.groupby("model", sort=False):
        full = group[group["ranking"] == "all"].iloc[0]
        lines.append(f"The {model} on all {int(full['k'])} expert variables: AUC {_value(full, 'auc')}.")
        for _, pick in smallest[smallest["model"] == model].iterrows():
            k = int(pick["smallest_k"].lstrip(">≤ "))  # a bound "> k" ("≤ k") is read at the largest (smallest) tried k
            at = group[(group["ranking"] == pick["ranking"]) & (group["k"] == k)].iloc[0]
            rows.append(
                {
                    "network": model,
                    "ranking": pick["ranking"],
                    "smallest sufficient k": pick["smallest_k"],
                    "variables": pick["features"] or "(none of the tried k suffices)",
                    "AUC at that k": _value(at, "auc"),
                    "AUC lost": _value(at, "auc_loss"),
                    "AUC − random ranking's": "" if pd.isna(at["auc_minus_random"]) else _value(at, "auc_minus_random"),
                }
            )
    return "\n".join(
        [
            *lines,
            "",
            "A set suffices when the all-variable network's AUC exceeds the top-k network's (AUC lost) by no more "
            "than the error of that difference (paired by seed and test-set resample); where none of the tried k "
            "suffices, the columns give the largest tried k.  `tables/reduced.csv` has every k.",
            "",
            pd.DataFrame(rows).to_markdown(index=False),
        ]
    )


def _efp_search(tables: Path) -> str:
    """Per black box and start set: ADO with the black box before and after the guided EFP search."""
    if not (tables / "efp_search_final.csv").exists():
        return "Not run for this sample (efp.enabled is off, or the networks it needs are not trained)."
    final = pd.read_csv(tables / "efp_search_final.csv", keep_default_na=False)
    rows = [
        {
            "black box": row["black_box"],
            "start set": row["start"],
            "ADO, start set alone": _value(row, "start_ado"),
            "EFPs added (mean over seeds)": f"{row['efps_added']:.3g}",
            "ADO, end of search": _value(row, "ado"),
            "AUC, end of search": _value(row, "auc"),
            "EFPs added per seed": row["final_sets"],
        }
        for _, row in final.iterrows()
    ]
    return "\n".join(
        [
            "The expert network (xaug_dnn) on a start set, then with the energy flow polynomial that best orders "
            "the jet pairs on which it and the black box disagree, added step by step (`tables/efp_search.csv`).",
            "",
            pd.DataFrame(rows).to_markdown(index=False),
        ]
    )


def answer_page(tables: Path, sample: str, models: Sequence[str], methods: Sequence[str], expert: str) -> str:
    """The page, in Markdown.  ``expert`` is the network that sees only expert variables (xaug_dnn)."""
    tables = Path(tables)
    parts = [
        f"# What the networks use: {sample}",
        "",
        "Every value is the mean over training seeds ± the seed spread and the test-set bootstrap error in "
        "quadrature (the tables under `tables/` give both).  Relevance: mean normalized |R| per feature "
        "(per jet, the largest |R| over all inputs is 1); occlusion: AUC lost when the feature is set to 0.",
        "",
        "## Performance",
        "",
        _performance(tables, models),
    ]
    for model in models:
        parts += ["", f"## {model}: the most relevant inputs, by method", "", _top_features(tables, model, methods)]
        parts += ["", _agreement(tables, model), "", _sanity(tables, model)]
    if expert in models:
        parts += [
            "",
            "## How much of each network the expert variables capture",
            "",
            f"Average decision ordering (ADO): the fraction of signal-background jet pairs that two taggers order "
            f"the same way (1: the same decisions, 0.5: unrelated), ± its spread over training seeds.  {expert} "
            "sees only the expert variables; a single variable's sign is chosen so that it tags signal.",
            "",
            _decision_ordering(tables, models, expert),
        ]
    parts += ["", "## Reduced expert sets", "", _reduced(tables)]
    parts += ["", "## What the expert variables miss: the guided EFP search", "", _efp_search(tables)]
    parts.append("")
    return "\n".join(parts)
