# Generator truth of the Pythia signal: how many signal jets contain a hadronic Z (matched) and both its
# quarks (fully merged), before and after the m_SD window, from the truth columns of the zz jet files.


rule z_matching_table:
    input:
        expand("results/pythia/jets/zz_{shard}.h5", shard=range(config["pythia"]["shards"])),
    output:
        csv=report(
            "results/pythia/tables/z_matching.csv",
            caption="../report/z_matching.rst",
            category="pythia",
            subcategory="Truth matching",
            labels={"table": "Z matching"},
        ),
        md="results/pythia/tables/z_matching.md",
    params:
        window=" ".join(str(v) for v in config["pythia"]["m_sd_window"]),
    log:
        "results/pythia/logs/z_matching_table.log",
    benchmark:
        "results/pythia/benchmarks/z_matching_table.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    shell:
        "python -m xaugjets z-matching {input} --m-sd-window {params.window} --csv {output.csv} "
        "--markdown {output.md} > {log} 2>&1"
