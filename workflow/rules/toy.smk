# The toy sample (SPEC §2): one seeded job per class and shard, written straight as jet files.


rule toy_jets:
    output:
        "results/toy/jets/{process}_{shard}.h5",
    params:
        jets=config["toy"]["jets_per_shard"],
        grid=config["images"]["grid"],
        overlap=config["toy"]["overlap"],
        seed=config["toy"]["seed"],
    wildcard_constraints:
        process="signal|background",
    log:
        "results/toy/logs/toy_jets/{process}_{shard}.log",
    conda:
        "../../envs/xaugjets.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    shell:
        "python -m xaugjets toy --process {wildcards.process} --shard {wildcards.shard} "
        "--jets {params.jets} --grid {params.grid} --overlap {params.overlap} --seed {params.seed} "
        "--output {output} > {log} 2>&1"
