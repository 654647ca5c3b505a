# One training job per (sample, model, seed), PyTorch Lightning, CUDA when present.


rule train:
    input:
        "results/{sample}/dataset.h5",
    output:
        model="results/{sample}/models/{model}/seed{seed}/model.pt",
        history="results/{sample}/models/{model}/seed{seed}/history.csv",
        scores="results/{sample}/models/{model}/seed{seed}/scores.csv",
        metrics="results/{sample}/models/{model}/seed{seed}/metrics.json",
    params:
        outdir=subpath(output.model, parent=True),
        epochs=config["training"]["max_epochs"],
        patience=config["training"]["patience"],
        min_delta=config["training"]["min_delta"],
        batch=config["training"]["batch_size"],
        lr=config["training"]["learning_rate"],
        dropout=config["training"]["dropout"],
        head_dropout=config["training"]["head_dropout"],
        runtime=training_args(),
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
        "--outdir {params.outdir} --max-epochs {params.epochs} --patience {params.patience} "
        "--min-delta {params.min_delta} --batch-size {params.batch} --learning-rate {params.lr} "
        "--dropout {params.dropout} --head-dropout {params.head_dropout} "
        "{params.runtime} > {log} 2>&1"
