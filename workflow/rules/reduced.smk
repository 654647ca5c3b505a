# Reduced expert sets: one job per (sample, seed) ranks the XAUG variables every configured way and
# retrains each reduced-set network on every top-k set and every drop set (from scratch and preloaded);
# one job per sample tabulates them over seeds.


rule reduced:
    input:
        dataset="results/{sample}/dataset.h5",
        tables=ranking_tables,
        full=expand(
            "results/{{sample}}/models/{model}/seed{{seed}}/model.pt",
            model=config["reduced"]["models"] if config["reduced"]["drop_thresholds"] else [],
        ),
    output:
        runs="results/{sample}/reduced/seed{seed}/runs.csv",
        scores="results/{sample}/reduced/seed{seed}/scores.csv",
    params:
        outdir=subpath(output.runs, parent=True),
        tables=lambda wildcards: f"results/{wildcards.sample}/tables",
        settings=config_flags("reduced", config, methods=REDUCED_METHODS),
        joint_models=lambda wildcards: " ".join(reduced_joint_models(config, wildcards.sample)),
    threads: config["training"]["threads"]
    log:
        "results/{sample}/logs/reduced/seed{seed}.log",
    benchmark:
        "results/{sample}/benchmarks/reduced/seed{seed}.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    resources:
        runtime=120,
        mem_mb=4000,
    shell:
        "python -m xaugjets reduced --dataset {input.dataset} --tables {params.tables} --seed {wildcards.seed} "
        "--outdir {params.outdir} --full {input.full} --joint-models {params.joint_models} {params.settings} > {log} 2>&1"


rule reduced_summary:
    input:
        runs=expand("results/{{sample}}/reduced/seed{seed}/runs.csv", seed=config["training"]["seeds"]),
        full=lambda wildcards: expand(
            "results/{sample}/models/{model}/seed{seed}/metrics.json",
            sample=wildcards.sample,
            model=[*config["reduced"]["models"], *reduced_joint_models(config, wildcards.sample)],
            seed=config["training"]["seeds"],
        ),
        dataset="results/{sample}/dataset.h5",
    output:
        csv=report(
            "results/{sample}/tables/reduced.csv",
            caption="../report/reduced.rst",
            category="{sample}",
            subcategory="Reduced expert sets",
            labels={"table": "top-k networks"},
        ),
        md="results/{sample}/tables/reduced.md",
        smallest_csv=report(
            "results/{sample}/tables/reduced_smallest.csv",
            caption="../report/reduced.rst",
            category="{sample}",
            subcategory="Reduced expert sets",
            labels={"table": "smallest sufficient k"},
        ),
        smallest_md="results/{sample}/tables/reduced_smallest.md",
        drop_csv=report(
            "results/{sample}/tables/reduced_drop.csv",
            caption="../report/reduced.rst",
            category="{sample}",
            subcategory="Reduced expert sets",
            labels={"table": "drop and retrain"},
        ),
        drop_md="results/{sample}/tables/reduced_drop.md",
        plot=report(
            "results/{sample}/plots/reduced.png",
            caption="../report/reduced.rst",
            category="{sample}",
            subcategory="Reduced expert sets",
            labels={"figure": "AUC against k"},
        ),
    params:
        runs=lambda wildcards, input: " ".join(str(Path(p).parent) for p in input.runs),
        settings=config_flags("reduced-summary", config),
    log:
        "results/{sample}/logs/reduced_summary.log",
    benchmark:
        "results/{sample}/benchmarks/reduced_summary.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    shell:
        "python -m xaugjets reduced-summary {params.runs} --full {input.full} --dataset {input.dataset} "
        "--sample {wildcards.sample} --csv {output.csv} --markdown {output.md} "
        "--smallest-csv {output.smallest_csv} --smallest-markdown {output.smallest_md} --plot {output.plot} "
        "--drop-csv {output.drop_csv} "
        "{params.settings} > {log} 2>&1"
