"""Command-line entry points, one sub-command per workflow stage.

The Snakemake rules call these (``python -m xaugjets <stage>``); they work the same by hand, e.g.
``python -m xaugjets train --dataset results/toy-overlap1/dataset.h5 --model cnn2d --seed 1 --outdir /tmp/m``.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

    from .explain import ExplainSettings


def _quiet() -> None:
    """Silence library chatter that would drown the progress lines in job logs."""
    warnings.filterwarnings("ignore", message=".*padding='same' with even kernel.*")
    warnings.filterwarnings("ignore", message=".*did not already require gradients.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    logging.getLogger("lightning.fabric").setLevel(logging.WARNING)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_toy(args: argparse.Namespace) -> None:
    from . import io, toy
    from .seeds import derive_seed

    seed = derive_seed(args.seed, "toy", args.process, args.shard)
    start = time.perf_counter()
    jets = toy.generate(args.jets_per_shard, args.process == "signal", seed, args.grid, args.overlap)
    jets.provenance = io.provenance(
        sample="toy",
        process=args.process,
        shard=args.shard,
        seed=seed,
        base_seed=args.seed,
        overlap=args.overlap,
        grid=args.grid,
    )
    io.write_jets(args.output, jets)
    _log(
        f"toy {args.process} shard {args.shard}: {len(jets)} jets, seed {seed}, cutflow {jets.cutflow} "
        f"({time.perf_counter() - start:.2f} s)"
    )


def cmd_pythia(args: argparse.Namespace) -> None:
    from . import io
    from .generation import GeneratorSettings, generate_jets_with_truth
    from .jets import JetSettings
    from .seeds import derive_seed

    seed = derive_seed(args.seed, "pythia", args.process, args.shard)
    generator = GeneratorSettings.from_config(vars(args), process=args.process, seed=seed)
    jet_settings = JetSettings.from_config(vars(args))
    start = time.perf_counter()
    jets, truth_columns = generate_jets_with_truth(generator, args.events_per_shard, jet_settings, args.batch_size)
    jets.provenance |= io.provenance(
        sample="pythia",
        process=args.process,
        shard=args.shard,
        seed=seed,
        base_seed=args.seed,
        jet_settings=vars(jet_settings),
    )
    io.write_jets(args.output, jets, extra=truth_columns)
    _log(
        f"pythia {args.process} shard {args.shard}: seed {seed}, cutflow {json.dumps(jets.cutflow)} "
        f"({time.perf_counter() - start:.1f} s)"
    )


def cmd_user_jets(args: argparse.Namespace) -> None:
    """Your own jets: one shard of one input file into a jet file (readers.LAYOUTS), or a one-line error."""
    from . import io, readers
    from .config import _defaults, load_schema
    from .jets import JetSettings

    jet_settings = JetSettings.from_config(vars(args), require_z_match=False)
    entry = load_schema()["properties"]["user_samples"]["additionalProperties"]["properties"]
    fields = _defaults(entry["fields"]) | args.fields  # by hand, --fields may name only the fields that differ
    options = readers.ReaderOptions(args.key, args.tree, args.coordinates, fields)
    start = time.perf_counter()
    try:
        jets = readers.read_jets(
            args.input,
            args.layout,
            options,
            jet_settings,
            label=args.label,
            events=args.events,
            max_jets=args.max_jets,
            shard=args.shard,
            shards=args.shards_per_file,
            chunk_size=args.chunk_size,
        )
    except readers.ReadError as err:
        sys.exit(f"user-jets: {' '.join(str(err).split())}")
    jets.provenance |= io.provenance(
        sample="user", layout=args.layout, shard=args.shard, label=args.label, jet_settings=vars(jet_settings)
    )
    io.write_jets(args.output, jets)
    missing = jets.provenance["not_computable"]
    _log(
        f"user jets {args.input} shard {args.shard}: cutflow {json.dumps(jets.cutflow)}; not computable: "
        f"{', '.join(missing) or 'nothing'} ({time.perf_counter() - start:.1f} s)"
    )


# The keys of a user_samples entry that the user-jets stage takes as flags (files and windows are the rule's).
USER_SAMPLE_KEYS = (
    "layout",
    "key",
    "tree",
    "coordinates",
    "fields",
    "events",
    "max_jets",
    "shards_per_file",
    "chunk_size",
)


def user_sample_flags(spec: dict[str, Any]) -> str:
    """The user-jets flags of one validated ``user_samples`` entry."""
    return " ".join(filter(None, (_render(key, spec[key]) for key in USER_SAMPLE_KEYS)))


def cmd_dataset(args: argparse.Namespace) -> None:
    from . import io
    from .datasets import write_dataset

    def provenance(shards: list[dict[str, Any]]) -> dict[str, Any]:
        return io.provenance(
            inputs=list(args.inputs),
            seed=args.seed,
            fractions=args.fractions,
            clip_sigma=args.clip_sigma,
            shards=shards,
        )

    cutflow = write_dataset(
        args.inputs,
        args.output,
        args.fractions,
        args.seed,
        args.clip_sigma,
        args.windows,
        args.xaug_inputs,
        args.xaug_encoding,
        provenance,
    )
    _log(f"dataset {args.output}: cutflow {json.dumps(cutflow)}")


def cmd_train(args: argparse.Namespace) -> None:
    from .models import UserModel
    from .training import TrainSettings, train

    settings = TrainSettings.from_config(vars(args))
    user = UserModel(args.factory, tuple(args.inputs)) if args.factory else None
    metrics = train(args.dataset, args.model, args.seed, args.outdir, settings, user, args.shuffled_labels)
    _log(
        f"{args.model} seed {args.seed}: AUC {metrics['auc']:.4f} after {metrics['epochs']} epochs "
        f"(best {metrics['best_epoch']}, stopped by {metrics['stop_reason']}) on {metrics['device']} "
        f"({metrics['train_seconds']:.1f} s)"
    )
    if args.shuffled_labels:
        _log(
            f"twin on shuffled labels: {metrics['shuffled_labels_epochs']} epochs, "
            f"test AUC {metrics['shuffled_labels_test_auc']:.3f}"
        )


def cmd_explain(args: argparse.Namespace) -> None:
    """Every LRP rule and the occlusion scan for one trained network, in one process: one file each."""
    from . import io
    from .activations import activation_patterns
    from .datasets import read_dataset
    from .explain import ExplainSettings, run_method
    from .models import input_tensors, load_model
    from .occlusion import occlusion_logits, training_means
    from .runtime import pin_threads, resolve_device

    pin_threads(args.threads)
    device = resolve_device(args.accelerator)
    settings = ExplainSettings.from_config(vars(args))
    net = load_model(args.model_file)
    arrays, attrs = read_dataset(args.dataset, "test", settings.max_events)
    outdir = Path(args.outdir)
    for rule in settings.names:
        start = time.perf_counter()
        out, summary = run_method(net, arrays, attrs, rule, settings, device)
        summary["seconds"] = time.perf_counter() - start
        summary["device"] = device.type
        io.write_h5(outdir / f"{rule}.h5", out, {"summary": summary})
    start = time.perf_counter()
    features = attrs["particle_scaling"]["features"]
    found, masked = occlusion_logits(net.cpu(), arrays, training_means(attrs), attrs["xaug_inputs"], features)
    io.write_h5(
        outdir / "occlusion.h5",
        {"logit": out["logit"], "masked_logits": masked, "label": arrays["label"], "weight": arrays["weight"]},
        {"variants": [[feature, mask] for feature, mask, _, _ in found]},
    )
    _log(f"occlusion: {len(found)} masked variants in {time.perf_counter() - start:.1f} s")
    patterns = activation_patterns(net, input_tensors(arrays, net.inputs), arrays["label"])
    with io.atomic_path(outdir / "activations.csv") as tmp:
        patterns.to_csv(tmp, index=False, float_format="%.6g")
    sanity_jets = read_dataset(args.dataset, "test", settings.sanity_jets)[0] if settings.sanity_jets else None
    label_shuffled = load_model(args.label_shuffled).to(device) if args.label_shuffled else None
    _sanity_check(net.to(device), sanity_jets, settings, outdir / "sanity.csv", label_shuffled)


def _sanity_check(
    net: torch.nn.Module,
    arrays: dict | None,
    settings: ExplainSettings,
    path: Path,
    label_shuffled: torch.nn.Module | None,
) -> None:
    """Cascading randomization (and the shuffled-label twin) on a few test jets (none: off, an empty table)."""
    import pandas as pd

    from . import io
    from .attribution import not_applicable
    from .explain import method_for
    from .models import input_tensors
    from .sanity import COLUMNS, cascading_randomization

    start = time.perf_counter()
    table = pd.DataFrame(columns=COLUMNS)
    if arrays is not None:
        # A method that cannot explain this network (all zeros) has no map to randomize: left out.
        methods = {name: method_for(name, settings) for name in settings.names}
        methods = {name: m for name, m in methods.items() if not_applicable(m, net) is None}
        inputs = input_tensors(arrays, net.inputs)
        table = cascading_randomization(
            net, inputs, methods, settings.explained_output, settings.method_settings, label_shuffled=label_shuffled
        )
    with io.atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    _log(f"sanity check: {len(table)} rows ({time.perf_counter() - start:.1f} s)")


def cmd_relevance_summary(args: argparse.Namespace) -> None:
    """Tables over seeds (CSV + Markdown), then their plots, for every rule of one model."""
    from . import plots

    plots.FORMATS[:] = args.formats
    from .aggregation import occlusion_table, relevance_table, write_table
    from .datasets import read_dataset
    from .io import read_h5

    occlusion, metadata = occlusion_table([str(Path(run) / "occlusion.h5") for run in args.runs], args.bootstrap)
    title = f"{args.sample}: {args.model}, occlusion"
    write_table(occlusion, Path(args.tables) / f"occlusion_{args.model}", title, metadata)
    _cross_checks(args)
    data = None
    # Your own jets without PDG id, charge or vertex: what could not be computed (absent for other samples).
    missing = read_h5(args.dataset, ())[1].get("not_computable", {})
    for rule in (*args.rules, *args.methods):
        paths = [str(Path(run) / f"{rule}.h5") for run in args.runs]
        table, metadata = relevance_table(paths, args.bootstrap)
        if missing:
            metadata["not_computable"] = "; ".join(f"{name}: {why}" for name, why in missing.items())
        title = f"{args.sample}: {args.model}, {'LRP rule' if rule in args.rules else 'method'} {rule}"
        base = Path(args.tables) / f"relevance_{args.model}_{rule}"
        write_table(table, base, title, metadata)
        _log(f"{title} (conservation median {metadata['conservation_median']:.3g})\n{table.to_string()}")

        out = Path(args.plots) / f"{args.model}_{rule}"
        plots.relevance_bars(table, title, out / "relevance_bars")
        files = [read_h5(p) for p in paths]
        arrays0, attrs0 = files[0]
        if "mean_image_relevance" in arrays0:
            if data is None:
                data, _ = read_dataset(args.dataset, "test")
            mean_image = np.stack([data["image"][data["label"] == c].mean(axis=0) for c in (0, 1)])
            mean_relevance = np.mean([a["mean_image_relevance"] for a, _ in files], axis=0)
            plots.image_heatmaps(mean_image, mean_relevance, title, out / "image_relevance")
        if "xaug_relevance" in arrays0:
            # Profiles and 2D scatter for the most relevant XAUG variables (table order).
            names = attrs0["summary"]["xaug_inputs"]
            top = [f for f in table["feature"] if f in names][: args.top]
            columns = [names.index(f) for f in top]
            view = plots.XaugRelevance(
                np.concatenate([a["xaug"] for a, _ in files])[:, columns],
                np.concatenate([a["xaug_relevance"] for a, _ in files])[:, columns],
                np.concatenate([a["label"] for a, _ in files]),
                top,
            )
            plots.relevance_profiles(view, title, out / "xaug_profiles")
            if len(top) >= 2:
                plots.relevance_scatter(view.first(3), title, out / "xaug_scatter")


def _cross_checks(args: argparse.Namespace) -> None:
    """Agreement between every pair of explanation methods and the activation patterns of one model."""
    import pandas as pd

    from . import plots
    from .aggregation import occlusion_rankings, relevance_rankings, write_table
    from .crosscheck import activation_summary, method_agreement

    methods = (*args.rules, *args.methods)
    rankings = {m: relevance_rankings([str(Path(run) / f"{m}.h5") for run in args.runs]) for m in methods}
    rankings["occlusion"] = occlusion_rankings([str(Path(run) / "occlusion.h5") for run in args.runs])
    pairs, ranks = method_agreement(rankings)
    base = Path(args.tables) / f"agreement_{args.model}"
    write_table(pairs, base, f"{args.sample}: {args.model}, rank agreement between methods")
    write_table(ranks, Path(args.tables) / f"feature_ranks_{args.model}", f"{args.sample}: {args.model}, ranks")
    plots.agreement_heatmap(pairs, f"{args.sample}: {args.model}", Path(args.plots) / f"agreement_{args.model}")
    _sanity_summary(args)
    patterns = [pd.read_csv(Path(run) / "activations.csv") for run in args.runs]
    rna, sparse = activation_summary(patterns)
    write_table(sparse, Path(args.tables) / f"activations_{args.model}", f"{args.sample}: {args.model}, sparsity")
    plots.activation_patterns(rna, f"{args.sample}: {args.model}", Path(args.plots) / f"activations_{args.model}")


def _sanity_summary(args: argparse.Namespace) -> None:
    """The cascading-randomization check over seeds: a table, its verdict per method, a plot."""
    import pandas as pd

    from . import plots
    from .aggregation import write_table
    from .sanity import SURVIVES, sanity_table

    per_seed = [pd.read_csv(Path(run) / "sanity.csv") for run in args.runs]
    base, title = Path(args.tables) / f"sanity_{args.model}", f"{args.sample}: {args.model}"
    if all(df.empty for df in per_seed):  # switched off (relevance.sanity_jets: 0)
        write_table(pd.DataFrame(columns=["method"]), base, f"{title}: no sanity check (sanity_jets 0)")
        plots.sanity_curves(pd.DataFrame(), SURVIVES, f"{title}: no sanity check", Path(args.plots) / base.name)
        return
    table, verdict = sanity_table(per_seed)
    flagged = verdict.loc[~verdict["passes"], "method"].tolist()
    metadata = {
        "check": "cascading randomization (Adebayo et al. 2018): layers re-initialized from the output",
        "map": "R of every non-zero input element; Spearman ρ per jet with the trained network's map, mean over jets",
        "spearman": "|ρ| of the signed maps (decides the verdict); spearman_abs: ρ of the |R| maps",
        "shuffled labels": "the same network trained on permuted training labels (row 'labels shuffled'); "
        "relevance.shuffled_labels",
        "flagged": f"ρ ≥ {SURVIVES} with every layer random or with the shuffled-label network: "
        f"{', '.join(flagged) if flagged else 'none'}",
        "n_jets": int(per_seed[0]["n_jets"].iloc[0]),
    }
    write_table(table, base, f"{title}, sanity check by cascading randomization", metadata)
    plots.sanity_curves(table, SURVIVES, title, Path(args.plots) / base.name)


def cmd_performance(args: argparse.Namespace) -> None:
    from .aggregation import bootstrap_runs, load_runs, performance_table, write_table, xaug_gain_table

    runs = load_runs(args.inputs)
    boot = bootstrap_runs(runs, args.bootstrap, seed=0)
    errors = f"seed: std over seeds; stat: bootstrap over test jets ({args.bootstrap} resamples); err: both"
    n_test = len(runs[0].scores)
    for table, base, title in (
        (performance_table(runs, args.models, boot), args.csv, "Performance"),
        (xaug_gain_table(runs, boot), args.gain_csv, "XAUG efficiency gain (paired by seed and resample)"),
    ):
        write_table(table, Path(base).with_suffix(""), title, {"test jets": n_test, "errors": errors})
        _log(table.to_string())


def cmd_decision_ordering(args: argparse.Namespace) -> None:
    """ADO between every pair of networks and between each network and each expert variable."""
    from . import plots

    plots.FORMATS[:] = args.formats
    from .aggregation import load_runs, write_table
    from .crosscheck import ado_table
    from .datasets import read_dataset

    runs = load_runs(args.inputs)
    scores: dict[str, list[np.ndarray]] = {}
    for run in sorted(runs, key=lambda r: r.seed):
        scores.setdefault(run.model, []).append(run.scores["logit"].to_numpy())
    test, attrs = read_dataset(args.dataset, "test")
    labels = runs[0].scores["label"].to_numpy()
    if not np.array_equal(test["label"], labels):
        raise ValueError(f"{args.dataset}: test jets differ from the training runs' scores")
    variables = {name: test["xaug"][:, k].astype(np.float64) for k, name in enumerate(attrs["xaug_names"])}
    table = ado_table(scores, labels, variables)
    write_table(table, Path(args.csv).with_suffix(""), "Average decision ordering on the test jets")
    plots.ado_heatmap(table, list(scores), Path(args.plot).with_suffix(""))
    _log(table.to_string())


def cmd_overlap_scan(args: argparse.Namespace) -> None:
    from .aggregation import overlap_scan_table, write_table
    from .crosscheck import toy_ranking_check

    table = overlap_scan_table(args.performance, args.relevance)
    write_table(table, Path(args.csv).with_suffix(""), "Toy: performance and relevance against overlap")
    _log(table.to_string())
    check = toy_ranking_check(table)
    failing = check[~check["holds"]] if len(check) else check
    metadata = {
        "known answer": "only z and θ separate the classes; r1 and r2 are distributed alike in both",
        "margin": "min(R_z, R_θ) − max(R_r1, R_r2), mean normalized |R|; holds when > 0",
        "margin_err": "the two entries' errors (seeds and test-set bootstrap) in quadrature",
        "fails": "; ".join(f"{r.sample} {r.model} {r.method}" for r in failing.itertuples()) or "none",
    }
    write_table(check, Path(args.check_csv).with_suffix(""), "Toy: z and θ above r1 and r2, per method", metadata)
    _log(f"toy check: {int(check['holds'].sum()) if len(check) else 0} of {len(check)} hold")


def cmd_reference_comparison(args: argparse.Namespace) -> None:
    from .aggregation import reference_comparison_table, write_table

    table, metadata = reference_comparison_table(args.inputs)
    write_table(table, Path(args.csv).with_suffix(""), "Toy: the reference study side by side", metadata)
    _log(table.to_string())


def cmd_plot_summary(args: argparse.Namespace) -> None:
    import pandas as pd

    from . import plots

    plots.FORMATS[:] = args.formats
    from .datasets import read_dataset

    scores: dict[str, list] = {}
    histories: dict[str, list] = {}
    for path in args.runs:  # .../{model}/seed{seed}
        model = Path(path).parent.name
        scores.setdefault(model, []).append(pd.read_csv(Path(path) / "scores.csv"))
        histories.setdefault(model, []).append(pd.read_csv(Path(path) / "history.csv"))
    out = Path(args.outdir)
    plots.roc_bands(scores, out / "roc")
    plots.training_curves(histories, out / "training_curves")
    data, attrs = read_dataset(args.dataset, keys=("xaug", "label", "weight"))
    plots.variable_distributions(
        data["xaug"], data["label"], data["weight"], attrs["xaug_names"], out / "xaug_distributions"
    )


def cmd_expert_separation(args: argparse.Namespace) -> None:
    from .aggregation import separation_table, to_markdown
    from .datasets import load_shards
    from .io import atomic_path

    jets = load_shards(args.inputs)
    table = separation_table(jets.xaug, jets.label, jets.weight, jets.xaug_names)
    with atomic_path(args.csv) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    with atomic_path(args.markdown) as tmp:
        tmp.write_text(
            f"# Expert variables: signal vs background before selection ({len(jets)} jets)\n\n" + to_markdown(table)
        )
    _log(table.to_string())


def cmd_z_matching(args: argparse.Namespace) -> None:
    """Signal jets matched to / fully merged with a hadronic Z, before and after the m_SD window."""
    from .io import atomic_path
    from .truth import matching_table, table_markdown

    table = matching_table(args.inputs, args.m_sd_window)
    with atomic_path(args.csv) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    with atomic_path(args.markdown) as tmp:
        tmp.write_text("# Z truth matching of the signal jets (68 % Wilson intervals)\n\n" + table_markdown(table))
    _log(table.to_string())


def cmd_answer(args: argparse.Namespace) -> None:
    from .answer import answer_page
    from .io import atomic_path

    page = answer_page(Path(args.tables), args.sample, args.models, args.methods, args.expert)
    with atomic_path(args.output) as tmp:
        tmp.write_text(page)
    _log(f"{args.sample}: wrote {args.output}")


def cmd_reduced(args: argparse.Namespace) -> None:
    """Rank the XAUG variables every requested way and retrain each model on every top-k set, one seed."""
    import pandas as pd

    from .datasets import read_dataset, select_split
    from .io import atomic_path
    from .models import load_model
    from .reduced import RankingInputs, drop_sets, feature_sets, rankings, retrain, retrain_dropped
    from .runtime import pin_threads
    from .training import TrainSettings

    pin_threads(args.threads)
    settings = TrainSettings.from_config(vars(args))
    arrays, attrs = read_dataset(args.dataset)
    names = list(attrs["xaug_inputs"])
    inputs = RankingInputs(
        names, Path(args.tables), args.ranked_by, select_split(arrays, "train"), list(attrs["xaug_names"]), args.seed
    )
    ranked = rankings(inputs, args.methods, args.rankings)
    for name, order in ranked.items():
        _log(f"ranking {name}: {' '.join(order)}")
    # Each block of retrainings: one row per run, and the run's test-set logits as one column.
    blocks = [retrain(arrays, names, feature_sets(ranked, args.ks), args.models, args.seed, settings)]
    if args.joint_models and args.joint_ks:  # image or particles + top k: fewer k (convolutional trainings)
        joint_sets = feature_sets(ranked, args.joint_ks)
        blocks.append(retrain(arrays, names, joint_sets, args.joint_models, args.seed, settings))
    if args.drop_thresholds:
        occlusion = pd.read_csv(Path(args.tables) / f"occlusion_{args.ranked_by}.csv")
        delta_auc = occlusion[occlusion["mask"] == "zero"].set_index("feature")["delta_auc"]
        sets = drop_sets(delta_auc, names, args.drop_thresholds)
        states = {model: load_model(path).state_dict() for model, path in zip(args.models, args.full, strict=True)}
        blocks.append(retrain_dropped(arrays, names, sets, states, args.seed, settings))
    rows = pd.concat([block[0] for block in blocks], ignore_index=True)
    logits = np.concatenate([block[1] for block in blocks], axis=1)
    outdir = Path(args.outdir)
    test = select_split(arrays, "test")
    columns = {"label": test["label"], "weight": test["weight"]} | {f"run{i}": logits[:, i] for i in range(len(rows))}
    with atomic_path(outdir / "scores.csv") as tmp:
        pd.DataFrame(columns).to_csv(tmp, index=False, float_format="%.9g")
    with atomic_path(outdir / "runs.csv") as tmp:
        rows.to_csv(tmp, index=False, float_format="%.9g")
    _log(rows[["model", "ranking", "k", "auc", "epochs", "stop_reason", "train_seconds"]].to_string())


def cmd_reduced_summary(args: argparse.Namespace) -> None:
    """Reduced-set table over seeds (errors: seeds and test-set bootstrap), the smallest k, and the plot."""
    from . import plots

    plots.FORMATS[:] = args.formats
    from .aggregation import bootstrap_runs, load_runs, write_table
    from .io import read_h5
    from .reduced import drop_table, load_reduced_runs, reduced_table, smallest_sufficient

    _, attrs = read_h5(args.dataset, ())
    names = list(attrs["xaug_inputs"])
    full = load_runs(args.full)
    models = list(dict.fromkeys(run.model for run in full))
    for run in full:
        run.model = f"{run.model}|all|{len(names)}"
    runs = [*full, *load_reduced_runs(args.runs)]
    labels = full[0].scores["label"].to_numpy()
    for run in runs:
        if not np.array_equal(run.scores["label"].to_numpy(), labels):
            raise ValueError(f"{run.model} seed {run.seed}: test jets differ from the all-XAUG network's")
    boot = bootstrap_runs(runs, args.bootstrap, seed=0)
    table = reduced_table(runs, boot, {model: names for model in models})
    metadata = {
        "test jets": len(labels),
        "ranked by": f"{args.ranked_by}: |mean normalized relevance| per method; occlusion: ΔAUC, zero mask",
        "baselines": "single_auc: |AUC − 0.5| of the variable alone (training jets); random: one order per seed",
        "auc_loss": "AUC(all XAUG) − AUC(top k), paired by seed and resample; sufficient when auc_loss ≤ auc_loss_err",
        "errors": f"seed: std over seeds; stat: bootstrap over test jets ({args.bootstrap} resamples); err: both",
    }
    write_table(table, Path(args.csv).with_suffix(""), "Reduced expert sets: top-k XAUG networks", metadata)
    smallest = smallest_sufficient(table[table["ranking"] != "all"])
    write_table(smallest, Path(args.smallest_csv).with_suffix(""), "Smallest sufficient k", metadata)
    plots.reduced_curves(table, f"{args.sample}: top-k XAUG networks", Path(args.plot).with_suffix(""))
    drop_metadata = {
        "dropped": f"every variable whose occlusion ΔAUC (zero mask, {args.ranked_by}, mean over seeds) is below "
        "the threshold; the network is retrained on the rest",
        "start": "scratch: the seeded random initialization; preloaded: the all-XAUG network of the same seed, "
        "without the first dense layer's columns of the dropped variables",
        "auc_loss": "AUC(all XAUG) − AUC(this network), paired by seed and resample",
        "*_vs_scratch": "epochs and training seconds relative to the same set retrained from scratch",
        "errors": metadata["errors"],
    }
    drop = drop_table(runs, boot, {model: names for model in models})
    write_table(drop, Path(args.drop_csv).with_suffix(""), "Multi-feature drop and retrain", drop_metadata)
    _log(smallest.to_string())


def cmd_efp(args: argparse.Namespace) -> None:
    """EFPs of every jet of a dataset, chunked."""
    from .efp import dataset_efps

    start = time.perf_counter()
    meta = dataset_efps(args.dataset, args.output, args.max_degree, args.beta, args.prime_only, args.chunk)
    _log(f"{len(meta['names'])} EFPs (d <= {args.max_degree}) in {time.perf_counter() - start:.1f} s")


def cmd_efp_search(args: argparse.Namespace) -> None:
    """The guided EFP search from every start set towards every black box, one training seed."""
    import pandas as pd

    from .datasets import read_dataset, select_split
    from .efp_search import SearchSettings, guided_search
    from .io import atomic_path, read_h5
    from .models import load_model
    from .runtime import pin_threads, resolve_device
    from .training import TrainSettings, predict

    pin_threads(args.threads)
    training = TrainSettings.from_config(vars(args))
    search = SearchSettings(args.max_steps, args.min_gain, args.max_pairs, args.bootstrap)
    arrays, attrs = read_dataset(args.dataset)
    efps, efp_attrs = read_h5(args.efp, ("efp",))
    if len(efps["efp"]) != len(arrays["label"]):
        raise ValueError(f"{args.efp} has {len(efps['efp'])} jets, {args.dataset} has {len(arrays['label'])}")
    names = list(attrs["xaug_inputs"])
    tables = []
    for model_file in args.black_boxes:
        net = load_model(model_file)
        model = net.name
        device = resolve_device(args.accelerator)
        black_box = {split: predict(net, select_split(arrays, split), device) for split in ("val", "test")}
        for start_name, variables in args.start_sets.items():
            start = list(variables) or names
            missing = sorted(set(start) - set(names))
            if missing:
                _log(f"start set {start_name} skipped: {missing} are not XAUG inputs of this sample")
                continue
            steps = guided_search(
                arrays, efps["efp"], efp_attrs["names"], start, names, black_box, args.seed, training, search
            )
            tables.append(steps.assign(black_box=model, start=start_name, seed=args.seed))
            _log(f"{model} from {start_name}:\n{steps.to_string()}")
    columns = ["black_box", "start", "seed"]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
    with atomic_path(args.output) as tmp:
        table[columns + [c for c in table.columns if c not in columns]].to_csv(tmp, index=False, float_format="%.6g")


def cmd_efp_summary(args: argparse.Namespace) -> None:
    """Guided-search steps over seeds: table and plot."""
    from . import plots

    plots.FORMATS[:] = args.formats
    import pandas as pd

    from .aggregation import write_table
    from .efp_search import search_table

    steps = pd.concat([pd.read_csv(path) for path in args.steps], ignore_index=True)
    table, final = search_table(steps)
    metadata = {
        "expert network": "xaug_dnn on the start set plus the EFPs added so far (log EFP, standardized)",
        "search": "the EFP with the highest ADO to the black box on the validation pairs that the expert network "
        "and the black box order differently; stop when val ADO gains < min_gain",
        "reported": "ADO with the black box and AUC on the test jets",
        "errors": "seed: std over seeds; stat: bootstrap over test jets; err: both",
        "EFPs": args.efp_description,
    }
    write_table(table, Path(args.csv).with_suffix(""), "Black-box guided EFP search", metadata)
    write_table(final, Path(args.final_csv).with_suffix(""), "Guided EFP search: where it ends", metadata)
    plots.efp_search_steps(table, f"{args.sample}: guided EFP search", Path(args.plot).with_suffix(""))
    _log(final.to_string())


def cmd_provenance(args: argparse.Namespace) -> None:
    from .config import config_hash
    from .io import provenance, write_json

    config = json.loads(args.config)
    write_json(args.output, provenance(config=config, config_hash=config_hash(config), sample=args.sample))


# The config keys each stage takes as flags, by section.  Flags carry the config's names and the schema's
# types, defaults and choices; the workflow renders them from the config with :func:`config_flags`.
RUNTIME = ("threads", "accelerator")
TRAINING = (
    "max_epochs", "patience", "min_delta", "batch_size", "learning_rate", "dropout", "head_dropout", "tensorboard",
    "stream_above", *RUNTIME,
)  # fmt: skip
STAGE_SETTINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "toy": {"toy": ("jets_per_shard", "seed"), "images": ("grid",)},
    "pythia": {
        "pythia": (
            "events_per_shard", "seed", "pthat_min", "sqrt_s", "decays", "bias_power", "batch_size", "jet_radius",
            "jet_pt_min", "sd_zcut", "sd_beta", "n_particles", "vertex_cap_mm", "require_z_match",
        ),
        "images": ("grid", "half_width"),
    },
    "user-jets": {
        "pythia": ("jet_radius", "jet_pt_min", "sd_zcut", "sd_beta", "n_particles", "vertex_cap_mm"),
        "images": ("grid", "half_width"),
    },
    "dataset": {"dataset": ("seed", "fractions", "clip_sigma", "xaug_encoding", "windows")},
    "train": {"training": TRAINING, "relevance": ("shuffled_labels",)},
    "explain": {
        "relevance": (
            "rules", "methods", "epsilon", "gamma", "ig_steps", "ig_method", "shapley_samples", "shapley_seed",
            "explained_output", "max_events", "batch_size", "sanity_jets",
        ),
        "training": RUNTIME,
    },
    "relevance-summary": {"relevance": ("rules", "methods", "bootstrap"), "plots": ("formats",)},
    "decision-ordering": {"plots": ("formats",)},
    "plot-summary": {"plots": ("formats",)},
    "performance": {"relevance": ("bootstrap",)},
    "reduced": {
        "training": TRAINING,
        "reduced": ("ks", "models", "joint_ks", "methods", "rankings", "ranked_by", "drop_thresholds"),
    },
    "reduced-summary": {"relevance": ("bootstrap",), "plots": ("formats",), "reduced": ("ranked_by",)},
    "efp": {"efp": ("max_degree", "beta", "prime_only", "chunk")},
    "efp-search": {
        "training": TRAINING,
        "efp": ("start_sets", "max_steps", "min_gain", "max_pairs"),
        "relevance": ("bootstrap",),
    },
    "efp-summary": {"plots": ("formats",)},
}  # fmt: skip


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _render(key: str, value: Any) -> str:
    """One config value as command-line text; None (no value) leaves the flag at its default."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _flag(key) if value else "--no-" + key.replace("_", "-")
    if isinstance(value, dict):
        return f"{_flag(key)} {shlex.quote(json.dumps(value))}"
    if isinstance(value, list | tuple):
        return " ".join([_flag(key), *(shlex.quote(str(v)) for v in value)])
    return f"{_flag(key)} {shlex.quote(str(value))}"


def config_flags(stage: str, config: dict[str, Any], **overrides: Any) -> str:
    """The flags of ``stage`` from a validated config; ``overrides`` replace per-sample values by key."""
    values = {key: config[section][key] for section, keys in STAGE_SETTINGS[stage].items() for key in keys}
    unknown = set(overrides) - set(values)
    if unknown:
        raise KeyError(f"{stage} takes no config keys {sorted(unknown)}")
    return " ".join(filter(None, (_render(k, v) for k, v in (values | overrides).items())))


def _add_setting(p: argparse.ArgumentParser, key: str, spec: dict[str, Any]) -> None:
    """One flag from a schema property: its type, default, choices and description, never restated."""
    kinds = {"integer": int, "number": float, "string": str, "object": json.loads}
    kind = spec.get("type")
    if isinstance(kind, list):  # nullable: [number, "null"]
        kind = next(k for k in kind if k != "null")
    help_ = f"{spec.get('description', '')} (default {spec.get('default')})"
    if kind == "boolean":
        p.add_argument(_flag(key), action=argparse.BooleanOptionalAction, default=spec["default"], help=help_)
    elif kind == "array":
        item = spec["items"]
        size = {"nargs": spec["minItems"]} if spec.get("minItems") == spec.get("maxItems", -1) else {"nargs": "*"}
        p.add_argument(_flag(key), **size, type=kinds[item["type"]], default=spec["default"], choices=item.get("enum"))
    else:
        p.add_argument(_flag(key), type=kinds[kind], default=spec["default"], choices=spec.get("enum"), help=help_)


def _stage_settings(p: argparse.ArgumentParser, stage: str) -> None:
    from .config import schema_section

    for section, keys in STAGE_SETTINGS.get(stage, {}).items():
        properties = schema_section(section)
        for key in keys:
            _add_setting(p, key, properties[key])


Command = tuple[Callable[[argparse.Namespace], None], Callable[[argparse.ArgumentParser], None], str]
COMMANDS: dict[str, Command] = {}  # name -> (what it runs, its arguments, its help), in --help order


def command(name: str, run: Callable[[argparse.Namespace], None], help_: str) -> Callable:
    """Register the decorated argument builder as sub-command ``name`` that runs ``run``."""

    def register(arguments: Callable[[argparse.ArgumentParser], None]) -> Callable[[argparse.ArgumentParser], None]:
        COMMANDS[name] = (run, arguments, help_)
        return arguments

    return register


def _outputs(p: argparse.ArgumentParser, *names: str) -> None:
    for name in names:
        p.add_argument(_flag(name), required=True)


@command("toy", cmd_toy, "Generate one seeded shard of toy jets of one class.")
def _args_toy(p: argparse.ArgumentParser) -> None:
    from .study import TOY_PROCESSES

    p.add_argument("--process", choices=TOY_PROCESSES, required=True)
    p.add_argument("--shard", type=int, required=True)
    p.add_argument("--overlap", type=int, required=True, help="overlap level of the class distributions")
    _outputs(p, "output")


@command("pythia", cmd_pythia, "Generate one seeded Pythia8 shard and process it into a jet file.")
def _args_pythia(p: argparse.ArgumentParser) -> None:
    from .processes import PROCESSES

    p.add_argument("--process", choices=list(PROCESSES), required=True)
    p.add_argument("--shard", type=int, required=True)
    _outputs(p, "output")


@command("user-jets", cmd_user_jets, "Read one shard of a file of your own jets into a jet file.")
def _args_user_jets(p: argparse.ArgumentParser) -> None:
    from .config import _defaults, load_schema

    p.add_argument("input", help="a file of jets (or events) in the given layout")
    p.add_argument("--label", type=int, choices=[0, 1], help="the class of every row (a file per class)")
    p.add_argument("--shard", type=int, default=0, help="which of shards-per-file equal row ranges to read")
    entry = load_schema()["properties"]["user_samples"]["additionalProperties"]["properties"]
    for key in USER_SAMPLE_KEYS:  # types, defaults and choices from the schema's user_samples entry
        _add_setting(p, key, entry[key] | {"default": _defaults(entry[key])})
    _outputs(p, "output")


@command("dataset", cmd_dataset, "Merge jet shards, select, balance, split and scale into a dataset.")
def _args_dataset(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+")
    p.add_argument("--xaug-inputs", nargs="*", default=[], help="XAUG variables fed to the networks (empty: all)")
    _outputs(p, "output")


@command("train", cmd_train, "Train one network with one seed.")
def _args_train(p: argparse.ArgumentParser) -> None:
    _outputs(p, "dataset", "model", "outdir")
    p.add_argument("--seed", type=int, required=True, help="training seed")
    p.add_argument("--factory", help="a network from outside the package: module:function (see user_models)")
    p.add_argument("--inputs", nargs="+", choices=["image", "particles", "xaug"], help="what --factory's network takes")


@command("explain", cmd_explain, "Every explanation method, occlusion and activations for one network.")
def _args_explain(p: argparse.ArgumentParser) -> None:
    _outputs(p, "dataset", "model_file")
    p.add_argument("--outdir", required=True, help="one {method}.h5 per explanation method is written here")
    p.add_argument("--label-shuffled", help="the same network trained on shuffled labels (sanity check)")


@command(
    "relevance-summary",
    cmd_relevance_summary,
    "Relevance tables over seeds (CSV + Markdown) and their plots, for every explanation method.",
)
def _args_relevance_summary(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", help="explanation folders of one model, one per seed")
    _outputs(p, "dataset", "sample", "model", "tables", "plots")
    p.add_argument("--top", type=int, default=6, help="XAUG variables shown in profiles (most relevant first)")


@command("performance", cmd_performance, "Performance and XAUG-gain tables from the training runs.")
def _args_performance(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", help="metrics.json files (scores.csv is read beside each)")
    p.add_argument("--models", nargs="+", required=True)
    _outputs(p, "csv", "markdown", "gain_csv", "gain_markdown")


@command("decision-ordering", cmd_decision_ordering, "ADO between networks and expert variables.")
def _args_decision_ordering(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", help="metrics.json files (scores.csv is read beside each)")
    _outputs(p, "dataset", "csv", "markdown", "plot")


@command("overlap-scan", cmd_overlap_scan, "Toy performance and relevance against the overlap level.")
def _args_overlap_scan(p: argparse.ArgumentParser) -> None:
    p.add_argument("--performance", nargs="+", required=True, help="results/{sample}/tables/performance.csv")
    p.add_argument("--relevance", nargs="+", required=True, help="results/{sample}/tables/relevance_*.csv")
    _outputs(p, "csv", "markdown", "check_csv", "check_markdown")


def _args_tables(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", help="input files")
    _outputs(p, "csv", "markdown")


@command("plot-summary", cmd_plot_summary, "ROC bands, training curves and XAUG distributions.")
def _args_plot_summary(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", help="training output folders .../{model}/seed{seed}")
    _outputs(p, "dataset", "outdir")


@command(
    "z-matching",
    cmd_z_matching,
    "Matched and fully merged fractions of the signal jets (label 1), before and after the m_SD window.",
)
def _args_z_matching(p: argparse.ArgumentParser) -> None:
    _args_tables(p)
    p.add_argument("--m-sd-window", type=float, nargs=2, required=True, metavar=("LOW", "HIGH"))


@command("answer", cmd_answer, "The one-page answer of a sample (Markdown), from its tables.")
def _args_answer(p: argparse.ArgumentParser) -> None:
    _outputs(p, "tables", "sample", "expert", "output")
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--methods", nargs="+", required=True, help="explanation methods (LRP rules first)")


@command("reduced", cmd_reduced, "Rank the XAUG variables and retrain each model on every top-k set (one seed).")
def _args_reduced(p: argparse.ArgumentParser) -> None:
    _outputs(p, "dataset", "tables", "outdir")
    p.add_argument("--seed", type=int, required=True, help="training seed")
    p.add_argument("--full", nargs="*", default=[], help="model.pt of each reduced.models network (this seed)")
    p.add_argument("--joint-models", nargs="*", default=[], help="reduced.joint_models that this sample trains")


@command("reduced-summary", cmd_reduced_summary, "Top-k XAUG networks over seeds: table, smallest k, plot.")
def _args_reduced_summary(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", help="reduced/seed{seed} folders (runs.csv, scores.csv)")
    p.add_argument("--full", nargs="+", required=True, help="metrics.json of the all-XAUG networks (every seed)")
    _outputs(p, "dataset", "sample", "csv", "markdown", "smallest_csv", "smallest_markdown", "plot", "drop_csv")


@command("efp", cmd_efp, "Energy flow polynomials of every jet of a dataset (chunked).")
def _args_efp(p: argparse.ArgumentParser) -> None:
    _outputs(p, "dataset", "output")


@command("efp-search", cmd_efp_search, "Guided EFP search towards each black box from each start set (one seed).")
def _args_efp_search(p: argparse.ArgumentParser) -> None:
    _outputs(p, "dataset", "efp", "output")
    p.add_argument("--black-boxes", nargs="+", required=True, help="model.pt of each black box (this seed)")
    p.add_argument("--seed", type=int, required=True, help="training seed")


@command("efp-summary", cmd_efp_summary, "Guided EFP search over seeds: step table, end points, plot.")
def _args_efp_summary(p: argparse.ArgumentParser) -> None:
    p.add_argument("steps", nargs="+", help="steps.csv of every seed")
    _outputs(p, "sample", "csv", "markdown", "final_csv", "final_markdown", "plot", "efp_description")


@command("provenance", cmd_provenance, "Record config, its hash, versions and git commit.")
def _args_provenance(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="the resolved config as JSON")
    _outputs(p, "sample", "output")


command(
    "reference-comparison",
    cmd_reference_comparison,
    "The reference-conventions toy side by side (relevance tables of toy-reference and the default toy).",
)(_args_tables)


command(
    "expert-separation",
    cmd_expert_separation,
    "AUC and signal peak of every expert variable, from the jet files (before selection).",
)(_args_tables)


def build_parser() -> argparse.ArgumentParser:
    """One sub-command per stage: its own arguments, then the config keys it takes (:data:`STAGE_SETTINGS`)."""
    parser = argparse.ArgumentParser(prog="xaugjets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (func, add_arguments, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        add_arguments(p)
        _stage_settings(p, name)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    _quiet()
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
