# One training job per (sample, model, seed), PyTorch Lightning, CUDA when present.


rule train:
    input:
        "results/{sample}/dataset.h5",
    output:
        model="results/{sample}/models/{model}/seed{seed}/model.pt",
        history="results/{sample}/models/{model}/seed{seed}/history.csv",
        scores="results/{sample}/models/{model}/seed{seed}/scores.csv",
        metrics="results/{sample}/models/{model}/seed{seed}/metrics.json",
        twin=expand(  # the sanity check's network trained on shuffled labels (relevance.shuffled_labels)
            "results/{{sample}}/models/{{model}}/seed{{seed}}/{name}",
            name=["shuffled_labels.pt"] if config["relevance"]["shuffled_labels"] else [],
        ),
    params:
        outdir=subpath(output.model, parent=True),
        settings=config_flags("train", config),
        user=user_model,
    threads: config["training"]["threads"]
    log:
        "results/{sample}/logs/train/{model}_seed{seed}.log",
    benchmark:
        "results/{sample}/benchmarks/train/{model}_seed{seed}.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    resources:
        runtime=120,
        mem_mb=4000,
    shell:
        "python -m xaugjets train --dataset {input} --model {wildcards.model} --seed {wildcards.seed} "
        "--outdir {params.outdir} {params.settings} {params.user} > {log} 2>&1"
