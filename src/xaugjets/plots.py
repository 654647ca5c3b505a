"""Publication plots: relevance bars, image/relevance heatmaps, ROC bands, training curves, relevance
profiles and expert-variable distributions; PNG, plus PDF or SVG where ``plots.formats`` asks for them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import hist
import matplotlib.pyplot as plt
import mplhep
import numpy as np
import pandas as pd

from .io import atomic_path
from .metrics import roc

# The HEP look physicists know (mplhep's CMS style: ticks inside on all four sides, Helvetica-like font),
# scaled down to the study's small multi-panel figures.  Minor ticks are off: on the 12-36-panel grids they
# double the drawing time of every plotting job.  No experiment label: these are not an experiment's plots.
plt.style.use(mplhep.style.CMS)
plt.rcParams.update(
    {
        "xtick.minor.visible": False,
        "ytick.minor.visible": False,
        "font.size": 9,
        "axes.titlesize": 9,
        "axes.labelsize": 9,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
        "legend.fontsize": 8,
        "xtick.major.size": 5,
        "ytick.major.size": 5,
        "xtick.minor.size": 2.5,
        "ytick.minor.size": 2.5,
        "axes.labelpad": 2,
        "axes.titlepad": 4,
        "figure.dpi": 100,
        "axes.prop_cycle": matplotlib.cycler(color=plt.get_cmap("tab10").colors),
    }
)
CLASS_NAMES = {1: "signal", 0: "background"}
CLASS_COLORS = {1: "#d62728", 0: "#1f77b4"}


FORMATS: list[str] = []  # set by the plotting commands from the config (plots.formats); empty: its default


def save(fig: plt.Figure, base: str | Path) -> list[Path]:
    """Write ``base``.{png, ...} (the configured formats) atomically and close the figure."""
    if not FORMATS:
        from .config import section_defaults

        FORMATS.extend(section_defaults("plots")["formats"])
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("constrained")
    written = []
    for ext in FORMATS:
        path = Path(f"{base}.{ext}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, dpi=130)
        fig.set_layout_engine("none")  # keep the layout just computed: the second format only draws
        written.append(path)
    plt.close(fig)
    return written


def relevance_bars(table: pd.DataFrame, title: str, base: str | Path, top: int = 15) -> None:
    """Horizontal bars of the mean normalized relevance per feature (all jets, signal, background) with the
    combined error (seed and test-set); beyond the ``top`` most relevant, the rest is folded into one bar."""
    shown = table.iloc[:top]
    rest = table.iloc[top:]
    names = [*shown["feature"], *([f"{len(rest)} others (sum)"] if len(rest) else [])]
    fig, ax = plt.subplots(figsize=(6.0, 0.32 * len(names) * 1.5 + 1.2))
    height = 0.27
    y = np.arange(len(names))
    for i, (suffix, label, color) in enumerate(
        (("", "all", "0.35"), ("_sig", "signal", CLASS_COLORS[1]), ("_bkg", "background", CLASS_COLORS[0]))
    ):
        values = [*shown[f"mean{suffix}"], *([rest[f"mean{suffix}"].sum()] if len(rest) else [])]
        errors = [*shown[f"mean{suffix}_err"], *([np.hypot.reduce(rest[f"mean{suffix}_err"])] if len(rest) else [])]
        ax.barh(y + (i - 1) * height, values, height, xerr=errors, capsize=2, color=color, label=label)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlabel("mean normalized relevance")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize="small", loc="best")
    save(fig, base)


def image_heatmaps(mean_image: np.ndarray, mean_relevance: np.ndarray, title: str, base: str | Path) -> None:
    """Rows: true class; columns: mean image (pT fraction, log colour) and mean normalized relevance."""
    fig, axes = plt.subplots(2, 2, figsize=(7.5, 6.5), constrained_layout=True)
    limit = float(np.abs(mean_relevance).max()) or 1.0
    for row, label in enumerate((1, 0)):
        img = axes[row, 0].imshow(
            np.maximum(mean_image[label], 1e-6),
            origin="lower",
            cmap="viridis",
            norm=matplotlib.colors.LogNorm(vmin=1e-4, vmax=max(mean_image.max(), 1e-3)),
        )
        fig.colorbar(img, ax=axes[row, 0], label="mean pT fraction")
        rel = axes[row, 1].imshow(mean_relevance[label], origin="lower", cmap="RdBu_r", vmin=-limit, vmax=limit)
        fig.colorbar(rel, ax=axes[row, 1], label="mean normalized relevance")
        axes[row, 0].set_ylabel(CLASS_NAMES[label])
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_title("mean image")
    axes[0, 1].set_title("mean relevance")
    fig.suptitle(title)
    save(fig, base)


def roc_bands(scores: Mapping[str, Sequence[pd.DataFrame]], base: str | Path) -> None:
    """Background rejection vs signal efficiency; line = mean over seeds, band = ± std."""
    grid = np.linspace(0.05, 1.0, 200)
    fig, ax = plt.subplots(figsize=(5, 4))
    for model, frames in scores.items():
        curves = []
        for frame in frames:
            eff_bkg, eff_sig = roc(frame["label"].to_numpy(), frame["logit"].to_numpy(), frame["weight"].to_numpy())
            floor = 1.0 / max(int((frame["label"] == 0).sum()), 1)
            curves.append(1.0 / np.maximum(np.interp(grid, eff_sig, eff_bkg), floor))
        curves_arr = np.array(curves)
        mean, std = curves_arr.mean(axis=0), curves_arr.std(axis=0)
        (line,) = ax.plot(grid, mean, label=f"{model} ({len(frames)} seeds)")
        ax.fill_between(grid, np.maximum(mean - std, 1), mean + std, color=line.get_color(), alpha=0.25)
    ax.set_yscale("log")
    ax.set_xlabel(r"signal efficiency $\varepsilon_S$")
    ax.set_ylabel(r"background rejection $1/\varepsilon_B$")
    ax.legend(frameon=False, fontsize="small")
    save(fig, base)


def training_curves(histories: Mapping[str, Sequence[pd.DataFrame]], base: str | Path) -> None:
    """Training and validation loss per epoch for every model and seed."""
    fig, axes = plt.subplots(1, len(histories), figsize=(3.2 * len(histories), 3), sharey=True, squeeze=False)
    for ax, (model, frames) in zip(axes[0], histories.items(), strict=True):
        for i, frame in enumerate(frames):
            epoch = frame["epoch"] + 1
            ax.plot(epoch, frame["train_loss"], color="C0", alpha=0.8, label="train" if i == 0 else None)
            ax.plot(epoch, frame["val_loss"], color="C1", alpha=0.8, ls="--", label="validation" if i == 0 else None)
        ax.set_title(model)
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
    axes[0, 0].set_ylabel("weighted BCE loss")
    axes[0, 0].legend(frameon=False, fontsize="small")
    save(fig, base)


@dataclass(frozen=True)
class XaugRelevance:
    """Per jet: the XAUG inputs as the network sees them, their signed normalized relevance, the class."""

    values: np.ndarray  # (jets, variables)
    relevance: np.ndarray  # (jets, variables)
    labels: np.ndarray  # (jets,)
    names: Sequence[str]

    def first(self, n: int) -> XaugRelevance:
        return XaugRelevance(self.values[:, :n], self.relevance[:, :n], self.labels, self.names[:n])


def relevance_profiles(view: XaugRelevance, title: str, base: str | Path, bins: int = 10) -> None:
    """Mean signed normalized relevance of each XAUG variable in bins of its input value, by class, with the
    standard error of each bin's mean (over jets and seeds); the variable's distribution underneath.

    Bins span the 1st to 99th percentile of the input as the network sees it (scaled or raw), so the plot
    works for every encoding; the input value 0 is LRP's reference point.
    """
    values, relevance, labels, names = view.values, view.relevance, view.labels, view.names
    fig, axes = plt.subplots(
        2, len(names), figsize=(2.8 * len(names), 4.2), sharex="col", squeeze=False, height_ratios=(2.2, 1)
    )
    for k, name in enumerate(names):
        ax, hist_ax = axes[0, k], axes[1, k]
        low, high = np.percentile(values[:, k], [1, 99])
        high = high if high > low else low + 1.0
        # Jets beyond the 1st/99th percentile count in the edge bins (clipped into them, never dropped).
        inside = np.clip(values[:, k], low, high - 0.5 * (high - low) / bins)
        for label in (1, 0):
            sel = labels == label
            profile = hist.Hist(hist.axis.Regular(bins, low, high), storage=hist.storage.Mean())
            profile.fill(inside[sel], sample=relevance[sel, k])
            count = profile.view().count
            ax.errorbar(
                profile.axes[0].centers,
                np.where(count > 0, profile.values(), np.nan),
                yerr=np.sqrt(np.nan_to_num(profile.variances())),  # standard error of each bin's mean
                marker="o",
                ms=3,
                capsize=2,
                color=CLASS_COLORS[label],
                label=CLASS_NAMES[label],
            )
            mplhep.histplot(count / max(count.sum(), 1), profile.axes[0].edges, ax=hist_ax, color=CLASS_COLORS[label])
        ax.axhline(0, color="0.6", lw=0.8)
        hist_ax.set_xlabel(f"{name} (network input)")
    axes[0, 0].set_ylabel("mean signed norm. relevance")
    axes[1, 0].set_ylabel("fraction of jets")
    axes[0, 0].legend(frameon=False, fontsize="small")
    fig.suptitle(title)
    save(fig, base)


def relevance_scatter(view: XaugRelevance, title: str, base: str | Path, max_points: int = 2000) -> None:
    """Pairs of the given variables (scaled values), coloured by the summed |relevance| of the pair.

    Rows: signal, background; one column per pair.
    """
    values, labels, names = view.values, view.labels, view.names
    pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    fig, axes = plt.subplots(2, len(pairs), figsize=(3.0 * len(pairs), 5.6), squeeze=False)
    colour = np.abs(view.relevance)
    vmax = float(np.percentile(colour, 99)) or 1.0
    for col, (i, j) in enumerate(pairs):
        for row, label in enumerate((1, 0)):
            sel = np.flatnonzero(labels == label)[:max_points]
            ax = axes[row, col]
            points = ax.scatter(
                values[sel, i],
                values[sel, j],
                c=colour[sel, i] + colour[sel, j],
                s=4,
                cmap="viridis",
                vmin=0,
                vmax=2 * vmax,
                rasterized=True,
            )
            ax.set_xlabel(names[i])
            ax.set_ylabel(f"{CLASS_NAMES[label]}: {names[j]}" if col == 0 else names[j])
    fig.colorbar(points, ax=axes, label="|R| of the two variables")
    fig.suptitle(title)
    save(fig, base)


def variable_distributions(
    xaug: np.ndarray, labels: np.ndarray, weights: np.ndarray, names: Sequence[str], base: str | Path
) -> None:
    """Normalized distributions of every expert variable, signal vs background."""
    ncol = min(6, len(names))
    nrow = int(np.ceil(len(names) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol, 2.2 * nrow), squeeze=False)
    for ax, (k, name) in zip(axes.flat, enumerate(names), strict=False):
        finite = np.isfinite(xaug[:, k])
        low, high = np.percentile(xaug[finite, k], [0.5, 99.5])
        high = high if high > low else low + 1
        for label in (1, 0):
            sel = finite & (labels == label)
            counts = hist.Hist(hist.axis.Regular(40, low, high), storage=hist.storage.Weight())
            counts.fill(np.clip(xaug[sel, k], low, high - 0.5 * (high - low) / 40), weight=weights[sel])
            mplhep.histplot(
                counts, ax=ax, density=True, yerr=False, color=CLASS_COLORS[label], label=CLASS_NAMES[label]
            )
        ax.set_xlabel(name)
        ax.set_yticks([])
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    axes.flat[0].legend(frameon=False, fontsize="x-small")
    save(fig, base)


def agreement_heatmap(pairs: pd.DataFrame, title: str, base: str | Path) -> None:
    """Spearman ρ between the feature rankings of every pair of explanation methods (mean over seeds)."""
    methods = list(dict.fromkeys([*pairs["method_a"], *pairs["method_b"]]))
    matrix = np.eye(len(methods))
    index = {m: i for i, m in enumerate(methods)}
    for _, row in pairs.iterrows():
        i, j = index[row["method_a"]], index[row["method_b"]]
        matrix[i, j] = matrix[j, i] = row["spearman"]
    fig, ax = plt.subplots(figsize=(0.55 * len(methods) + 2.5, 0.55 * len(methods) + 1.8), layout="constrained")
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-1, vmax=1)
    for i in range(len(methods)):
        for j in range(len(methods)):
            ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=6)
    ax.set_xticks(range(len(methods)), methods, rotation=60, ha="right")
    ax.set_yticks(range(len(methods)), methods)
    fig.colorbar(image, ax=ax, label="Spearman ρ of feature rankings")
    ax.set_title(title)
    save(fig, base)


def sanity_curves(table: pd.DataFrame, survives: float, title: str, base: str | Path) -> None:
    """Map correlation with the trained network against layers randomized from the output, per method."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    if table.empty:
        ax.text(0.5, 0.5, title, ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        save(fig, base)
        return
    cascade = table[table["randomized"] >= 0]  # the shuffled-label twin (randomized < 0) is drawn last, apart
    twin_x = cascade["randomized"].max() + 1.5
    for i, (method, rows) in enumerate(cascade.groupby("method", sort=False)):
        style = "-" if i < 10 else "--"
        line = ax.errorbar(
            rows["randomized"], rows["spearman"], yerr=rows["spearman_seed"], ls=style, marker="o", ms=3, label=method
        )
        twin = table[(table["method"] == method) & (table["randomized"] < 0)]
        if len(twin):
            color = line[0].get_color()
            ax.errorbar([twin_x], twin["spearman"], yerr=twin["spearman_seed"], marker="s", ms=4, color=color)
    steps = cascade.drop_duplicates("randomized").sort_values("randomized")
    ticks, names = list(steps["randomized"]), ["trained", *steps["layer"].iloc[1:]]
    if (table["randomized"] < 0).any():
        ticks, names = [*ticks, twin_x], [*names, "labels shuffled"]
    ax.set_xticks(ticks, names, rotation=45, ha="right", fontsize=7)
    ax.axhline(survives, color="0.5", ls=":", lw=1)
    ax.set_xlabel("layers re-initialized, from the output")
    ax.set_ylabel("|Spearman ρ| of R maps with the trained net")
    ax.legend(frameon=False, fontsize=6, ncol=2)
    ax.set_title(title)
    save(fig, base)


def activation_patterns(rna: pd.DataFrame, title: str, base: str | Path) -> None:
    """Relative neural activity per node of each layer, signal and background, mean over seeds."""
    layers = list(dict.fromkeys(rna.sort_values("depth")["layer"]))
    fig, axes = plt.subplots(len(layers), 1, figsize=(6.0, 1.3 * len(layers) + 0.8), squeeze=False)
    for ax, layer in zip(axes[:, 0], layers, strict=True):
        sub = rna[rna["layer"] == layer]
        for label in (1, 0):
            cls = sub[sub["class"] == label].sort_values("node")
            ax.plot(
                cls["node"], cls["mean"], marker=".", ms=3, lw=0.6, color=CLASS_COLORS[label], label=CLASS_NAMES[label]
            )
        ax.axhline(0.2, color="0.6", lw=0.6, ls="--")
        ax.set_ylabel(layer, fontsize=7)
        ax.set_ylim(0, 1.05)
    axes[-1, 0].set_xlabel("node")
    axes[0, 0].legend(frameon=False, fontsize="small")
    fig.suptitle(f"{title}: relative neural activity")
    save(fig, base)


def ado_heatmap(table: pd.DataFrame, models: Sequence[str], base: str | Path, top: int = 12) -> None:
    """ADO of each network with every other network and with its most similar expert variables."""
    variables = table[~table["b"].isin(models)]
    best = variables.groupby("b")["ado"].max().sort_values(ascending=False).index[:top]
    columns = [*models, *best]
    matrix = np.full((len(models), len(columns)), np.nan)
    for _, row in table.iterrows():
        if row["b"] in columns:
            i, j = models.index(row["a"]), columns.index(row["b"])
            matrix[i, j] = row["ado"]
            if row["b"] in models:
                matrix[models.index(row["b"]), models.index(row["a"])] = row["ado"]
    for i in range(len(models)):
        matrix[i, i] = 1.0
    fig, ax = plt.subplots(figsize=(0.6 * len(columns) + 2.5, 0.5 * len(models) + 2.2), layout="constrained")
    image = ax.imshow(matrix, cmap="viridis", vmin=0.5, vmax=1.0)
    for i in range(len(models)):
        for j in range(len(columns)):
            ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=6, color="w")
    ax.set_xticks(range(len(columns)), columns, rotation=60, ha="right")
    ax.set_yticks(range(len(models)), models)
    fig.colorbar(image, ax=ax, label="average decision ordering")
    ax.set_title("ADO: networks vs networks and the most similar expert variables")
    save(fig, base)


def reduced_curves(table: pd.DataFrame, title: str, base: str | Path) -> None:
    """AUC and εS at εB = 0.1 against k, one line per ranking, the all-XAUG network as a band; per model."""
    models = list(dict.fromkeys(table["model"]))
    figures = (("auc", "AUC"), ("eff_at_bkg1e-1", r"$\varepsilon_S$ at $\varepsilon_B = 0.1$"))
    fig, axes = plt.subplots(len(models), 2, figsize=(9.0, 3.4 * len(models) + 0.6), squeeze=False)
    for row_axes, model in zip(axes, models, strict=True):
        rows = table[table["model"] == model]
        full = rows[rows["ranking"] == "all"].iloc[0]
        for ax, (figure, label) in zip(row_axes, figures, strict=True):
            low, high = full[figure] - full[f"{figure}_err"], full[figure] + full[f"{figure}_err"]
            ax.axhspan(low, high, color="0.85", label=f"all {int(full['k'])} XAUG (±1σ)")
            for ranking, curve in rows[rows["ranking"] != "all"].groupby("ranking", sort=False):
                curve = curve.sort_values("k")
                ax.errorbar(curve["k"], curve[figure], yerr=curve[f"{figure}_err"], marker="o", ms=3, label=ranking)
            ax.set_xlabel("k (top-k XAUG variables)")
            ax.set_ylabel(f"{label} ({model})")
        row_axes[0].legend(frameon=False, fontsize=7)
    fig.suptitle(title)
    save(fig, base)


def efp_search_steps(table: pd.DataFrame, title: str, base: str | Path) -> None:
    """ADO with the black box and AUC against the search step, one line per (black box, start set)."""
    figures = (("ado", "ADO with the black box (test)"), ("auc", "AUC of the expert network (test)"))
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.8))
    for (black_box, start), curve in table.groupby(["black_box", "start"], sort=False):
        for ax, (figure, label) in zip(axes, figures, strict=True):
            search = f"{black_box} from {start}"
            ax.errorbar(curve["step"], curve[figure], yerr=curve[f"{figure}_err"], marker="o", ms=3, label=search)
            ax.set_xlabel("step (EFPs added)")
            ax.set_ylabel(label)
    axes[0].legend(frameon=False, fontsize=7)
    fig.suptitle(title)
    save(fig, base)
