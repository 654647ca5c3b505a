# Shared helpers: config validation, the study's samples and the lists of targets.
import json
import sys
from pathlib import Path

# Jobs import the package from this checkout even where it is not installed (cluster nodes, --sdm conda);
# a deployed workflow without src/ (snakedeploy, or a copy) uses the installed package instead.
_SRC = Path(workflow.basedir) / "src"
if _SRC.is_dir():
    shell.prefix('export PYTHONPATH="%s${{PYTHONPATH:+:$PYTHONPATH}}"; ' % _SRC)
    sys.path.insert(0, str(_SRC))

from xaugjets.cli import config_flags, user_sample_flags  # noqa: E402
from xaugjets.config import ConfigError, validate_config  # noqa: E402
from xaugjets.processes import PROCESSES  # noqa: E402
from xaugjets.study import (  # noqa: E402
    REFERENCE_TOY,
    TOY_PROCESSES,
    efp_black_boxes,
    efp_samples,
    jet_files,
    reduced_joint_models,
    reduced_methods,
    reduced_samples,
    samples,
    toy_overlap_samples,
    user_inputs,
)

try:
    validate_config(config)  # the package's schema: workflow/schemas/config.schema.yaml
except ConfigError as err:
    raise WorkflowError(f"Invalid configuration: {err}") from None

SAMPLES = samples(config)
TOY_SAMPLES = [name for name, s in SAMPLES.items() if s.kind == "toy"]
USER_SAMPLES = [name for name, s in SAMPLES.items() if s.kind == "user"]
REDUCED_SAMPLES = reduced_samples(config)
REDUCED_METHODS = reduced_methods(config)  # the explanation rankings that the study's explain jobs compute
EFP_SAMPLES = efp_samples(config)
EFP_DESCRIPTION = (
    f"prime EFPs with d <= {config['efp']['max_degree']}" if config["efp"]["prime_only"] else
    f"all EFPs with d <= {config['efp']['max_degree']}"
) + f", beta = {config['efp']['beta']}, of the particle list (z normalized over it)"
# Explanation methods: the LRP rules and the other attribution methods, one table each.
METHODS = [*config["relevance"]["rules"], *config["relevance"]["methods"]]


def shard_files(wildcards):
    """The jet files of one sample: every part (process or input file) and shard."""
    return jet_files(config, wildcards.sample)


def seed_dirs(kind):
    """Per-seed folders of one (sample, model): trained models or explanations."""

    def dirs(wildcards):
        return expand(
            "results/{sample}/{kind}/{model}/seed{seed}",
            sample=wildcards.sample,
            kind=kind,
            model=wildcards.model,
            seed=config["training"]["seeds"],
        )

    return dirs


def relevance_files(wildcards):
    """Everything the explain jobs of one (sample, model) write, every seed."""
    return expand(
        "results/{sample}/relevance/{model}/seed{seed}/{name}",
        sample=wildcards.sample,
        model=wildcards.model,
        name=[*(f"{m}.h5" for m in METHODS), "occlusion.h5", "activations.csv", "sanity.csv"],
        seed=config["training"]["seeds"],
    )


def metrics_files(wildcards):
    return expand(
        "results/{sample}/models/{model}/seed{seed}/metrics.json",
        sample=wildcards.sample,
        model=SAMPLES[wildcards.sample].models,
        seed=config["training"]["seeds"],
    )


def dataset_settings(wildcards):
    """The dataset stage's flags for one sample: its XAUG encoding and its selection windows."""
    sample = SAMPLES[wildcards.sample]
    return config_flags("dataset", config, windows=sample.windows, xaug_encoding=sample.xaug_encoding)


def user_model(wildcards):
    """For a network declared in user_models: its factory and inputs as flags of the train stage."""
    spec = config["user_models"].get(wildcards.model)
    return "" if spec is None else f"--factory {spec['factory']} --inputs {' '.join(spec['inputs'])}"


def xaug_inputs(wildcards):
    sample = SAMPLES[wildcards.sample]
    section = config["user_samples"][sample.name] if sample.kind == "user" else config[sample.kind]
    return " ".join(section["xaug_inputs"])


def user_input(wildcards):
    """The input file of one part of a user sample."""
    return user_inputs(config["user_samples"][wildcards.sample])[wildcards.part][0]


def user_jet_settings(wildcards):
    """The user-jets flags of one part: the sample's reading options, its class, the jet settings."""
    spec = config["user_samples"][wildcards.sample]
    label = user_inputs(spec)[wildcards.part][1]
    jet = {key: spec[key] for key in ("jet_radius", "jet_pt_min") if spec[key] is not None}
    flags = [user_sample_flags(spec), config_flags("user-jets", config, **jet)]
    return " ".join([*flags, *([] if label is None else [f"--label {label}"])])


def sample_tables(wildcards):
    """The tables of one sample that its one-page answer reads."""
    sample = SAMPLES[wildcards.sample]
    per_model = ("occlusion", "agreement", "feature_ranks", "sanity")
    return [
        *relevance_tables([wildcards.sample]),
        *expand("results/{sample}/tables/{kind}_{model}.csv", sample=wildcards.sample, kind=per_model, model=sample.models),
        f"results/{wildcards.sample}/tables/performance.csv",
        f"results/{wildcards.sample}/tables/ado.csv",
        *([f"results/{wildcards.sample}/tables/reduced_smallest.csv"] if wildcards.sample in REDUCED_SAMPLES else []),
        *([f"results/{wildcards.sample}/tables/efp_search_final.csv"] if wildcards.sample in EFP_SAMPLES else []),
    ]


def ranking_tables(wildcards):
    """The tables that rank the XAUG variables for the reduced sets: each method's, and the occlusion table."""
    reduced = config["reduced"]
    tables = f"results/{wildcards.sample}/tables"
    return [
        *(f"{tables}/relevance_{reduced['ranked_by']}_{method}.csv" for method in REDUCED_METHODS),
        *(
            [f"{tables}/occlusion_{reduced['ranked_by']}.csv"]
            if "occlusion" in reduced["rankings"] or reduced["drop_thresholds"]
            else []
        ),
    ]


def relevance_tables(samples):
    """Every relevance table of the given samples (each with its own networks)."""
    return [
        path
        for sample in samples
        for path in expand(
            "results/{sample}/tables/relevance_{model}_{method}.csv",
            sample=sample,
            model=SAMPLES[sample].models,
            method=METHODS,
        )
    ]


def reference_pair():
    """The reference-conventions toy, and the default-conventions toy at the same overlap when it runs."""
    same_overlap = f"toy-overlap{config['toy']['reference']['overlap']}"
    return [s for s in (REFERENCE_TOY, same_overlap) if s in SAMPLES] if REFERENCE_TOY in SAMPLES else []


def all_targets():
    targets = []
    for sample in SAMPLES:
        targets += [
            f"results/{sample}/provenance.json",
            f"results/{sample}/tables/performance.csv",
            f"results/{sample}/tables/xaug_gain.csv",
            f"results/{sample}/tables/xaug_separation.csv",
            f"results/{sample}/plots/summary",
            f"results/{sample}/tables/ado.csv",
            f"results/{sample}/answer.md",
        ]
        targets += relevance_tables([sample])
        if sample in REDUCED_SAMPLES:
            targets.append(f"results/{sample}/tables/reduced.csv")
        if sample in EFP_SAMPLES:
            targets.append(f"results/{sample}/tables/efp_search.csv")
    if len(toy_overlap_samples(config)) > 1:
        targets.append("results/summary/toy_overlap_scan.csv")
    if REFERENCE_TOY in SAMPLES:
        targets.append("results/summary/toy_reference_comparison.csv")
    if "pythia" in SAMPLES:
        targets.append("results/pythia/tables/z_matching.csv")
    return targets
