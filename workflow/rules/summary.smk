# Performance and XAUG-gain tables over all models and seeds, ROC bands and training curves.


rule performance_table:
    input:
        metrics_files,
    output:
        csv=report(
            "results/{sample}/tables/performance.csv",
            caption="../report/performance.rst",
            category="{sample}",
            subcategory="Performance",
            labels={"table": "performance"},
        ),
        md="results/{sample}/tables/performance.md",
        gain_csv=report(
            "results/{sample}/tables/xaug_gain.csv",
            caption="../report/xaug_gain.rst",
            category="{sample}",
            subcategory="Performance",
            labels={"table": "XAUG gain"},
        ),
        gain_md="results/{sample}/tables/xaug_gain.md",
    params:
        models=lambda wildcards: " ".join(SAMPLES[wildcards.sample].models),
        settings=config_flags("performance", config),
    log:
        "results/{sample}/logs/performance_table.log",
    benchmark:
        "results/{sample}/benchmarks/performance_table.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    shell:
        "python -m xaugjets performance {input} --models {params.models} {params.settings} "
        "--csv {output.csv} "
        "--markdown {output.md} --gain-csv {output.gain_csv} --gain-markdown {output.gain_md} "
        "> {log} 2>&1"


rule summary_plots:
    input:
        metrics=metrics_files,
        dataset="results/{sample}/dataset.h5",
    output:
        report(
            directory("results/{sample}/plots/summary"),
            patterns=["{name}.png"],
            caption="../report/summary_plots.rst",
            category="{sample}",
            subcategory="Performance",
            labels={"figure": "{name}"},
        ),
    params:
        runs=lambda wildcards, input: " ".join(str(Path(m).parent) for m in input.metrics),
        settings=config_flags("plot-summary", config),
    log:
        "results/{sample}/logs/summary_plots.log",
    benchmark:
        "results/{sample}/benchmarks/summary_plots.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    shell:
        "python -m xaugjets plot-summary {params.runs} --dataset {input.dataset} --outdir {output} {params.settings} "
        "> {log} 2>&1"


rule expert_separation:
    input:
        shard_files,
    output:
        csv=report(
            "results/{sample}/tables/xaug_separation.csv",
            caption="../report/xaug_separation.rst",
            category="{sample}",
            subcategory="Expert variables",
            labels={"table": "separation"},
        ),
        md="results/{sample}/tables/xaug_separation.md",
    log:
        "results/{sample}/logs/expert_separation.log",
    benchmark:
        "results/{sample}/benchmarks/expert_separation.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    shell:
        "python -m xaugjets expert-separation {input} --csv {output.csv} --markdown {output.md} > {log} 2>&1"


rule decision_ordering:
    input:
        metrics=metrics_files,
        dataset="results/{sample}/dataset.h5",
    output:
        csv=report(
            "results/{sample}/tables/ado.csv",
            caption="../report/ado.rst",
            category="{sample}",
            subcategory="Decision ordering",
            labels={"table": "ADO"},
        ),
        md="results/{sample}/tables/ado.md",
        plot=report(
            "results/{sample}/plots/ado.png",
            caption="../report/ado.rst",
            category="{sample}",
            subcategory="Decision ordering",
            labels={"figure": "ADO"},
        ),
    params:
        settings=config_flags("decision-ordering", config),
    log:
        "results/{sample}/logs/decision_ordering.log",
    benchmark:
        "results/{sample}/benchmarks/decision_ordering.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    shell:
        "python -m xaugjets decision-ordering {input.metrics} --dataset {input.dataset} --csv {output.csv} "
        "--markdown {output.md} --plot {output.plot} {params.settings} > {log} 2>&1"


rule answer:
    input:
        sample_tables,
    output:
        report(
            "results/{sample}/answer.md",
            caption="../report/answer.rst",
            category="{sample}",
            subcategory="0. What the networks use",
            labels={"page": "answer"},
        ),
    params:
        models=lambda wildcards: " ".join(SAMPLES[wildcards.sample].models),
        methods=" ".join(METHODS),
        tables=lambda wildcards: f"results/{wildcards.sample}/tables",
        expert="xaug_dnn",  # the network that sees only the expert variables
    log:
        "results/{sample}/logs/answer.log",
    benchmark:
        "results/{sample}/benchmarks/answer.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    shell:
        "python -m xaugjets answer --tables {params.tables} --sample {wildcards.sample} --models {params.models} "
        "--methods {params.methods} --expert {params.expert} --output {output} > {log} 2>&1"
