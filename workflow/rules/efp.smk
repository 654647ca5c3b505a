# Energy flow polynomials and the black-box guided search: one EFP job per sample, one search job per
# (sample, seed) running every black box and start set, one job per sample tabulating them over seeds.


rule efp:
    input:
        "results/{sample}/dataset.h5",
    output:
        "results/{sample}/efp.h5",
    params:
        settings=config_flags("efp", config),
    log:
        "results/{sample}/logs/efp.log",
    benchmark:
        "results/{sample}/benchmarks/efp.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    resources:
        runtime=60,
        mem_mb=2000,
    shell:
        "python -m xaugjets efp --dataset {input} --output {output} {params.settings} > {log} 2>&1"


rule efp_search:
    input:
        dataset="results/{sample}/dataset.h5",
        efp="results/{sample}/efp.h5",
        black_boxes=lambda wildcards: expand(
            "results/{sample}/models/{model}/seed{seed}/model.pt",
            sample=wildcards.sample,
            model=efp_black_boxes(config, wildcards.sample),
            seed=wildcards.seed,
        ),
    output:
        "results/{sample}/efp_search/seed{seed}/steps.csv",
    params:
        settings=config_flags("efp-search", config),
    threads: config["training"]["threads"]
    log:
        "results/{sample}/logs/efp_search/seed{seed}.log",
    benchmark:
        "results/{sample}/benchmarks/efp_search/seed{seed}.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    resources:
        runtime=120,
        mem_mb=4000,
    shell:
        "python -m xaugjets efp-search --dataset {input.dataset} --efp {input.efp} "
        "--black-boxes {input.black_boxes} --seed {wildcards.seed} --output {output} {params.settings} > {log} 2>&1"


rule efp_summary:
    input:
        expand("results/{{sample}}/efp_search/seed{seed}/steps.csv", seed=config["training"]["seeds"]),
    output:
        csv=report(
            "results/{sample}/tables/efp_search.csv",
            caption="../report/efp_search.rst",
            category="{sample}",
            subcategory="Guided EFP search",
            labels={"table": "steps"},
        ),
        md="results/{sample}/tables/efp_search.md",
        final_csv=report(
            "results/{sample}/tables/efp_search_final.csv",
            caption="../report/efp_search.rst",
            category="{sample}",
            subcategory="Guided EFP search",
            labels={"table": "start and end of each search"},
        ),
        final_md="results/{sample}/tables/efp_search_final.md",
        plot=report(
            "results/{sample}/plots/efp_search.png",
            caption="../report/efp_search.rst",
            category="{sample}",
            subcategory="Guided EFP search",
            labels={"figure": "ADO and AUC against step"},
        ),
    params:
        description=EFP_DESCRIPTION,
        settings=config_flags("efp-summary", config),
    log:
        "results/{sample}/logs/efp_summary.log",
    benchmark:
        "results/{sample}/benchmarks/efp_summary.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    shell:
        "python -m xaugjets efp-summary {input} --sample {wildcards.sample} --csv {output.csv} --markdown {output.md} "
        "--final-csv {output.final_csv} --final-markdown {output.final_md} --plot {output.plot} "
        "--efp-description {params.description:q} {params.settings} > {log} 2>&1"
