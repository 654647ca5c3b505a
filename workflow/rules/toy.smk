# The toy sample (docs/physics.md, "Toy sample"): one seeded job per (toy study, class, shard), written
# straight as jet files.  Each toy study has its own overlap level.


rule toy_jets:
    output:
        "results/{sample}/jets/{process}_{shard}.h5",
    params:
        jets=config["toy"]["jets_per_shard"],
        grid=config["images"]["grid"],
        overlap=lambda wildcards: SAMPLES[wildcards.sample].overlap,
        seed=config["toy"]["seed"],
    wildcard_constraints:
        sample="|".join(TOY_SAMPLES) or "no-toy",
        process="signal|background",
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
        "--jets {params.jets} --grid {params.grid} --overlap {params.overlap} --seed {params.seed} "
        "--output {output} > {log} 2>&1"
