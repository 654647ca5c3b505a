# Shared helpers: config validation, wildcard constraints and the lists of targets.
import json
import sys
from pathlib import Path

# Jobs import the package from this checkout even where it is not installed (cluster nodes, --sdm conda).
_SRC = str(Path(workflow.basedir) / "src")
shell.prefix('export PYTHONPATH="%s${{PYTHONPATH:+:$PYTHONPATH}}"; ' % _SRC)
sys.path.insert(0, _SRC)

from xaugjets.config import ConfigError, validate_config  # noqa: E402

try:
    validate_config(config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")
except ConfigError as err:
    raise WorkflowError(f"Invalid configuration: {err}") from None

IMAGE_MODELS = {"cnn2d", "cnn2d_xaug"}
XAUG_MODELS = {"cnn2d_xaug", "cnn1d_xaug", "xaug_dnn"}
TOY_PROCESSES = ("signal", "background")


def shard_files(wildcards):
    """The jet files of one sample: every process and shard."""
    if wildcards.sample == "toy":
        return expand(
            "results/toy/jets/{process}_{shard}.h5",
            process=TOY_PROCESSES,
            shard=range(config["toy"]["shards"]),
        )
    return expand(
        "results/pythia/jets/{process}_{shard}.h5",
        process=("zz", "qcd"),
        shard=range(config["pythia"]["shards"]),
    )


def seed_runs(wildcards):
    return expand(
        "results/{sample}/models/{model}/seed{seed}",
        sample=wildcards.sample,
        model=config["models"],
        seed=config["training"]["seeds"],
    )


def relevance_files(wildcards):
    return expand(
        "results/{sample}/relevance/{model}/{lrp_rule}/seed{seed}.h5",
        sample=wildcards.sample,
        model=wildcards.model,
        lrp_rule=wildcards.lrp_rule,
        seed=config["training"]["seeds"],
    )


def metrics_files(wildcards):
    return expand(
        "results/{sample}/models/{model}/seed{seed}/metrics.json",
        sample=wildcards.sample,
        model=config["models"],
        seed=config["training"]["seeds"],
    )


def pythia_args():
    """Physics flags of the Pythia generation and jet stage (SPEC §3-§5)."""
    p = config["pythia"]
    decays = " ".join(str(d) for d in p["decays"])
    return (
        f"--pthat-min {p['pthat_min']} --decays {decays} --bias-power {p['bias_power']} "
        f"--batch-size {p['batch_size']} --jet-radius {p['jet_radius']} --jet-pt-min {p['jet_pt_min']} "
        f"--sd-zcut {p['sd_zcut']} --sd-beta {p['sd_beta']} --n-particles {p['n_particles']} "
        f"--grid {config['images']['grid']} --half-width {config['images']['half_width']}"
    )


def dataset_selection(wildcards):
    """Per-sample XAUG windows (JSON) for the dataset stage: pythia adds the m_SD window."""
    windows = dict(config["dataset"]["windows"])
    if wildcards.sample == "pythia":
        windows["m_sd"] = config["pythia"]["m_sd_window"]
    return json.dumps(windows)


def xaug_inputs(wildcards):
    return " ".join(config[wildcards.sample]["xaug_inputs"])


def training_args():
    """Command-line flags shared by training and LRP jobs (threads, accelerator)."""
    t = config["training"]
    return f"--threads {t['threads']} --accelerator {t['accelerator']}"


def all_targets():
    targets = []
    for sample in config["samples"]:
        targets += [
            f"results/{sample}/provenance.json",
            f"results/{sample}/tables/performance.csv",
            f"results/{sample}/tables/performance.md",
            f"results/{sample}/tables/xaug_gain.csv",
            f"results/{sample}/tables/xaug_separation.csv",
            f"results/{sample}/plots/summary",
        ]
        for model in config["models"]:
            for lrp in config["relevance"]["rules"]:
                targets += [
                    f"results/{sample}/tables/relevance_{model}_{lrp}.csv",
                    f"results/{sample}/tables/relevance_{model}_{lrp}.md",
                    f"results/{sample}/plots/relevance/{model}_{lrp}",
                ]
    return targets
