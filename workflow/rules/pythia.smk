# The Pythia8 sample (docs/physics.md "Pythia8 sample", "Jets and grooming", "Images and particle lists"):
# one job per (process, shard) generates events with nextBatch and turns them straight into a jet file
# (clustering, grooming, substructure, images, particle lists), so full events never have to be stored.
# Signal jet files also hold truth_dr_z, truth_dr_q1, truth_dr_q2 (ΔR of the jet to the nearest hadronic Z
# and its quarks; NaN for QCD), read by workflow/rules/truth.smk.  The processes are those registered in
# xaugjets.processes.PROCESSES.


rule pythia_jets:
    output:
        "results/pythia/jets/{process}_{shard}.h5",
    params:
        settings=config_flags("pythia", config),
    wildcard_constraints:
        process="|".join(PROCESSES),
    log:
        "results/pythia/logs/pythia_jets/{process}_{shard}.log",
    benchmark:
        "results/pythia/benchmarks/pythia_jets/{process}_{shard}.tsv"
    conda:
        "../../envs/pythia.yaml"
    resources:
        runtime=120,
        mem_mb=4000,
    shell:
        "python -m xaugjets pythia --process {wildcards.process} --shard {wildcards.shard} {params.settings} "
        "--output {output} > {log} 2>&1"
