# LRP: one job per (sample, model, rule, seed), then one table per (sample, model, rule) over seeds.


rule lrp:
    input:
        dataset="results/{sample}/dataset.h5",
        model="results/{sample}/models/{model}/seed{seed}/model.pt",
    output:
        "results/{sample}/relevance/{model}/{lrp_rule}/seed{seed}.h5",
    params:
        epsilon=config["relevance"]["epsilon"],
        events=config["relevance"]["max_events"],
        batch=config["relevance"]["batch_size"],
        runtime=training_args(),
    threads: config["training"]["threads"]
    log:
        "results/{sample}/logs/lrp/{model}_{lrp_rule}_seed{seed}.log",
    conda:
        "../../envs/xaugjets.yaml"
    resources:
        runtime=60,
        mem_mb=4000,
    shell:
        "python -m xaugjets relevance --dataset {input.dataset} --model-file {input.model} "
        "--rule {wildcards.lrp_rule} --epsilon {params.epsilon} --max-events {params.events} "
        "--batch-size {params.batch} {params.runtime} --output {output} > {log} 2>&1"


rule relevance_summary:
    input:
        relevance=relevance_files,
        dataset="results/{sample}/dataset.h5",
    output:
        csv=report(
            "results/{sample}/tables/relevance_{model}_{lrp_rule}.csv",
            caption="../report/relevance_table.rst",
            category="{sample}",
            subcategory="Relevance tables",
            labels={"model": "{model}", "rule": "{lrp_rule}"},
        ),
        md="results/{sample}/tables/relevance_{model}_{lrp_rule}.md",
        plots=report(
            directory("results/{sample}/plots/relevance/{model}_{lrp_rule}"),
            patterns=["{name}.png"],
            caption="../report/relevance_plots.rst",
            category="{sample}",
            subcategory="Relevance plots",
            labels={"model": "{model}", "rule": "{lrp_rule}", "figure": "{name}"},
        ),
    params:
        title="{sample}: {model}, LRP rule {lrp_rule}",
    log:
        "results/{sample}/logs/relevance_summary/{model}_{lrp_rule}.log",
    conda:
        "../../envs/xaugjets.yaml"
    shell:
        "python -m xaugjets relevance-summary {input.relevance} --dataset {input.dataset} "
        "--csv {output.csv} --markdown {output.md} --plots {output.plots} --title '{params.title}' "
        "> {log} 2>&1"
