# Your own jets (docs/physics.md "Your own jets"): one job per (user sample, input file, shard) reads ready-made
# jet constituents with a layout of xaugjets.readers.LAYOUTS (top-tagging HDF5, awkward parquet/ROOT/HDF5) and
# writes the jet file format of the Pythia sample, so that the dataset rule and everything after it run as
# for any sample.  Every rejected row is counted in the cutflow; the expert variables and particle features
# that the file's columns cannot give (no PDG id, charge or vertex) are recorded as not_computable.


rule user_jets:
    input:
        user_input,
    output:
        "results/{sample}/jets/{part}_{shard}.h5",
    params:
        settings=user_jet_settings,
    wildcard_constraints:
        sample="|".join(USER_SAMPLES) or "no-user-sample",
        part=r"(file|signal|background)\d+",
    log:
        "results/{sample}/logs/user_jets/{part}_{shard}.log",
    benchmark:
        "results/{sample}/benchmarks/user_jets/{part}_{shard}.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    resources:
        runtime=60,
        mem_mb=4000,
    shell:
        "python -m xaugjets user-jets {input} --shard {wildcards.shard} {params.settings} --output {output} "
        "> {log} 2>&1"
