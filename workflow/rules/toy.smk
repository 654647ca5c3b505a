# The toy sample (docs/physics.md, "Toy sample"): one seeded job per (toy study, class, shard), written
# straight as jet files.  Each toy study has its own overlap level.


rule toy_jets:
    output:
        "results/{sample}/jets/{process}_{shard}.h5",
    params:
        overlap=lambda wildcards: SAMPLES[wildcards.sample].overlap,
        settings=config_flags("toy", config),
    wildcard_constraints:
        sample="|".join(TOY_SAMPLES) or "no-toy",
        process="|".join(TOY_PROCESSES),
    log:
        "results/{sample}/logs/toy_jets/{process}_{shard}.log",
    benchmark:
        "results/{sample}/benchmarks/toy_jets/{process}_{shard}.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    shell:
        "python -m xaugjets toy --process {wildcards.process} --shard {wildcards.shard} "
        "--overlap {params.overlap} {params.settings} --output {output} > {log} 2>&1"
