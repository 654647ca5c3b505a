# From the jet files of a sample to one dataset: selection, class balance, fixed split, scaling.
# Sample-agnostic: the toy and the Pythia sample both go through here.


rule dataset:
    input:
        shard_files,
    output:
        "results/{sample}/dataset.h5",
    params:
        seed=config["dataset"]["seed"],
        fractions=" ".join(str(config["dataset"]["fractions"][s]) for s in ("train", "val", "test")),
        clip=config["dataset"]["clip_sigma"],
        encoding=lambda wildcards: SAMPLES[wildcards.sample].xaug_encoding,
        xaug=xaug_inputs,
        windows=dataset_selection,
    log:
        "results/{sample}/logs/dataset.log",
    benchmark:
        "results/{sample}/benchmarks/dataset.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    resources:
        runtime=30,
        mem_mb=8000,
    shell:
        "python -m xaugjets dataset {input} --output {output} --seed {params.seed} "
        "--fractions {params.fractions} --clip-sigma {params.clip} --xaug-encoding {params.encoding} "
        "--xaug-inputs {params.xaug} "
        "--windows '{params.windows}' > {log} 2>&1"


rule provenance:
    output:
        report(
            "results/{sample}/provenance.json",
            caption="../report/provenance.rst",
            category="{sample}",
            subcategory="Provenance",
            labels={"file": "provenance"},
        ),
    params:
        config=json.dumps(config, sort_keys=True),
    log:
        "results/{sample}/logs/provenance.log",
    benchmark:
        "results/{sample}/benchmarks/provenance.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    shell:
        "python -m xaugjets provenance --config '{params.config}' --sample {wildcards.sample} "
        "--output {output} > {log} 2>&1"
