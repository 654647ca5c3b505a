# Explanations: one job per (sample, model, seed) runs every LRP rule and the occlusion scan on the test jets;
# one job per (sample, model) turns them into tables (errors over seeds and test jets) and plots.


rule explain:
    input:
        dataset="results/{sample}/dataset.h5",
        model="results/{sample}/models/{model}/seed{seed}/model.pt",
        twin=expand(
            "results/{{sample}}/models/{{model}}/seed{{seed}}/{name}",
            name=["shuffled_labels.pt"] if config["relevance"]["shuffled_labels"] else [],
        ),
    output:
        relevance=expand("results/{{sample}}/relevance/{{model}}/seed{{seed}}/{method}.h5", method=METHODS),
        occlusion="results/{sample}/relevance/{model}/seed{seed}/occlusion.h5",
        activations="results/{sample}/relevance/{model}/seed{seed}/activations.csv",
        sanity="results/{sample}/relevance/{model}/seed{seed}/sanity.csv",
    params:
        outdir=subpath(output.occlusion, parent=True),
        twin=lambda wildcards, input: f"--label-shuffled {input.twin}" if input.twin else "",
        settings=lambda wildcards: config_flags(
            "explain", config, explained_output=SAMPLES[wildcards.sample].explained_output
        ),
    threads: config["training"]["threads"]
    log:
        "results/{sample}/logs/explain/{model}_seed{seed}.log",
    benchmark:
        "results/{sample}/benchmarks/explain/{model}_seed{seed}.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    resources:
        runtime=60,
        mem_mb=4000,
    shell:
        "python -m xaugjets explain --dataset {input.dataset} --model-file {input.model} {params.settings} "
        "--outdir {params.outdir} {params.twin} > {log} 2>&1"


rule relevance_summary:
    input:
        relevance=relevance_files,
        dataset="results/{sample}/dataset.h5",
    output:
        csv=[
            report(
                f"results/{{sample}}/tables/relevance_{{model}}_{method}.csv",
                caption="../report/relevance_table.rst",
                category="{sample}",
                subcategory="Relevance tables",
                labels={"model": "{model}", "rule": method},
            )
            for method in METHODS
        ],
        md=expand("results/{{sample}}/tables/relevance_{{model}}_{method}.md", method=METHODS),
        occlusion=report(
            "results/{sample}/tables/occlusion_{model}.csv",
            caption="../report/occlusion.rst",
            category="{sample}",
            subcategory="Occlusion",
            labels={"model": "{model}"},
        ),
        occlusion_md="results/{sample}/tables/occlusion_{model}.md",
        agreement=report(
            "results/{sample}/tables/agreement_{model}.csv",
            caption="../report/agreement.rst",
            category="{sample}",
            subcategory="Method agreement",
            labels={"model": "{model}", "table": "rank correlations"},
        ),
        feature_ranks=report(
            "results/{sample}/tables/feature_ranks_{model}.csv",
            caption="../report/agreement.rst",
            category="{sample}",
            subcategory="Method agreement",
            labels={"model": "{model}", "table": "ranks per method"},
        ),
        sanity=report(
            "results/{sample}/tables/sanity_{model}.csv",
            caption="../report/sanity.rst",
            category="{sample}",
            subcategory="Sanity checks",
            labels={"model": "{model}", "table": "cascading randomization"},
        ),
        activations=report(
            "results/{sample}/tables/activations_{model}.csv",
            caption="../report/activations.rst",
            category="{sample}",
            subcategory="Activation patterns",
            labels={"model": "{model}", "table": "sparsity"},
        ),
        cross_check_plots=[
            report(
                f"results/{{sample}}/plots/relevance/{name}_{{model}}.png",
                caption=f"../report/{name}.rst",
                category="{sample}",
                subcategory={"agreement": "Method agreement", "sanity": "Sanity checks"}.get(name, "Activation patterns"),
                labels={"model": "{model}", "figure": name},
            )
            for name in ("agreement", "activations", "sanity")
        ],
        plots=[
            report(
                directory(f"results/{{sample}}/plots/relevance/{{model}}_{method}"),
                patterns=["{name}.png"],
                caption="../report/relevance_plots.rst",
                category="{sample}",
                subcategory="Relevance plots",
                labels={"model": "{model}", "rule": method, "figure": "{name}"},
            )
            for method in METHODS
        ],
    params:
        runs=seed_dirs("relevance"),
        settings=config_flags("relevance-summary", config),
        tables=lambda wildcards, output: Path(output.csv[0]).parent,
        plots=lambda wildcards, output: Path(output.plots[0]).parent,
    log:
        "results/{sample}/logs/relevance_summary/{model}.log",
    benchmark:
        "results/{sample}/benchmarks/relevance_summary/{model}.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    shell:
        "python -m xaugjets relevance-summary {params.runs} {params.settings} --dataset {input.dataset} "
        "--sample {wildcards.sample} --model {wildcards.model} "
        "--tables {params.tables} --plots {params.plots} "
        "> {log} 2>&1"
