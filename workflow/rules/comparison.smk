# Tables across samples: how relevance and performance change with the toy's overlap, and the toy with the
# reference study's conventions side by side with the reference's published values and our defaults.


rule toy_overlap_scan:
    input:
        performance=expand("results/{sample}/tables/performance.csv", sample=toy_overlap_samples(config)),
        relevance=relevance_tables(toy_overlap_samples(config)),
    output:
        csv=report(
            "results/summary/toy_overlap_scan.csv",
            caption="../report/toy_overlap_scan.rst",
            category="summary",
            subcategory="Toy",
            labels={"table": "overlap scan"},
        ),
        md="results/summary/toy_overlap_scan.md",
        check_csv=report(
            "results/summary/toy_check.csv",
            caption="../report/toy_check.rst",
            category="summary",
            subcategory="Toy",
            labels={"table": "known answer: z, θ above r1, r2"},
        ),
        check_md="results/summary/toy_check.md",
    log:
        "results/summary/logs/toy_overlap_scan.log",
    benchmark:
        "results/summary/benchmarks/toy_overlap_scan.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    shell:
        "python -m xaugjets overlap-scan --performance {input.performance} --relevance {input.relevance} "
        "--csv {output.csv} --markdown {output.md} --check-csv {output.check_csv} --check-markdown {output.check_md} "
        "> {log} 2>&1"


rule toy_reference_comparison:
    input:
        relevance_tables(reference_pair()),
    output:
        csv=report(
            "results/summary/toy_reference_comparison.csv",
            caption="../report/toy_reference_comparison.rst",
            category="summary",
            subcategory="Toy",
            labels={"table": "reference comparison"},
        ),
        md="results/summary/toy_reference_comparison.md",
    log:
        "results/summary/logs/toy_reference_comparison.log",
    benchmark:
        "results/summary/benchmarks/toy_reference_comparison.tsv"
    conda:
        "../../envs/xaugjets.yaml"
    shell:
        "python -m xaugjets reference-comparison {input} --csv {output.csv} --markdown {output.md} > {log} 2>&1"
