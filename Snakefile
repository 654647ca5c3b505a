# XAUG + LRP study: from event generation to relevance tables, plots and a report.
# Quick start: `make run` (the default study) and `make test`. See README.md.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


# Each study writes into its own folder (config key study_dir; "." = here), so studies never overwrite
# each other.  Set after validation: the schema fills the default.
workdir: config["study_dir"]


wildcard_constraints:
    sample="|".join(SAMPLES),
    model="|".join(config["models"]),
    method="|".join(METHODS),
    seed=r"\d+",
    shard=r"\d+",


include: "workflow/rules/toy.smk"
include: "workflow/rules/pythia.smk"
include: "workflow/rules/user_jets.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/relevance.smk"
include: "workflow/rules/reduced.smk"
include: "workflow/rules/efp.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/comparison.smk"
include: "workflow/rules/truth.smk"


report: "workflow/report/workflow.rst"


rule all:
    input:
        all_targets(),
    default_target: True
