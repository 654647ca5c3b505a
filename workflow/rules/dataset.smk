# From the jet files of a sample to one dataset: selection, class balance, fixed split, scaling.
# Sample-agnostic: the toy and the Pythia sample both go through here.


rule dataset:
    input:
        shard_files,
    output:
        "results/{sample}/dataset.h5",
    params:
        settings=dataset_settings,
        xaug=xaug_inputs,
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
        "python -m xaugjets dataset {input} {params.settings} --xaug-inputs {params.xaug} "
        "--output {output} > {log} 2>&1"


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
