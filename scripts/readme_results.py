"""Copy the results of a finished `make run` into README.md (between the results markers).

The README's numbers are never typed by hand: this script reads the tables under ``results/`` and rewrites
the block between ``<!-- results:begin -->`` and ``<!-- results:end -->``.  ``--check`` exits 1 when the
README differs from what the current results give (run it after `make run` at the final commit).

    python scripts/readme_results.py [--results results] [--readme README.md] [--check]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from xaugjets.aggregation import error_text, to_markdown

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
HEADLINE_RULE = "presetA"
CODE_PATHS = ("src", "workflow", "config", "Snakefile", "requirements.txt", "pyproject.toml")


def _table(path: Path, columns: list[str] | None = None, digits: int = 3) -> str:
    table = pd.read_csv(path)
    if columns is not None:
        keep = [c for c in table.columns if any(c == k or c.startswith(f"{k}_") for k in columns)]
        table = table[keep]
    return to_markdown(table, digits=digits)


def _value(row: pd.Series, name: str, digits: int = 3) -> str:
    return f"{row[name]:.{digits}g} ± {error_text(row[f'{name}_err'])}"


def top_relevance(results: Path, sample: str, models: list[str], n: int = 5) -> str:
    """Top-n features per model for the headline rule, each with its combined error."""
    lines = []
    for model in models:
        path = results / sample / "tables" / f"relevance_{model}_{HEADLINE_RULE}.csv"
        if not path.exists():
            continue
        table = pd.read_csv(path).head(n)
        cells = ", ".join(f"{r['feature']} {_value(r, 'mean')}" for _, r in table.iterrows())
        lines.append(f"- `{model}`: {cells}")
    return "\n".join(lines)


def reference_pivot(table: pd.DataFrame) -> str:
    """One row per (network, method): the XAUG relevances with the reference conventions, then the defaults."""
    table = table[table["feature"].isin(["z", "theta", "r1", "r2"])]
    rows = []
    for (model, rule), group in table.groupby(["model", "rule"], sort=False):
        cells = group.set_index("feature")
        row = {"network": model, "method": rule}
        row |= {f"{f} (reference conv.)": cells.loc[f, "reference_conventions"] for f in cells.index}
        row |= {f"{f} (defaults)": cells.loc[f, "default_conventions"] for f in ("z", "theta") if f in cells.index}
        rows.append(row)
    note = (
        "The reference study (raw inputs, predicted class, preset A with biases) found z most relevant "
        '(0.95-1.0) and θ ≈ 0.4 (docs/physics.md, "The toy studies", gives the reasons for every difference).'
    )
    return note + "\n\n" + pd.DataFrame(rows).to_markdown(index=False)


def drop_summary(table: pd.DataFrame) -> str:
    """The drop-and-retrain table, the columns a reader compares: AUC lost, epochs, seconds, vs scratch."""
    rows = [
        {
            "network": row["model"],
            "ΔAUC threshold": f"{row['threshold']:g}",
            "kept": int(row["k"]),
            "start": row["start"],
            "AUC": f"{row['auc']:.4f} ± {error_text(row['auc_err'])}",
            "AUC lost": f"{row['auc_loss']:.4f} ± {error_text(row['auc_loss_err'])}",
            "epochs": f"{row['epochs_mean']:.3g} ± {error_text(row['epochs_spread'])}",
            "seconds": f"{row['train_seconds_mean']:.3g} ± {error_text(row['train_seconds_spread'])}",
            "epochs vs scratch": f"{row['epochs_vs_scratch']:.2f}",
        }
        for _, row in table.iterrows()
    ]
    return pd.DataFrame(rows).to_markdown(index=False)


def reduced_pivot(table: pd.DataFrame) -> str:
    """Per network, one row per ranking and one column per k: AUC ± combined error (all variables: last)."""
    parts = []
    for model, rows in table.groupby("model", sort=False):
        cells = rows.assign(cell=[_value(r, "auc") for _, r in rows.iterrows()])
        pivot = cells.pivot(index="ranking", columns="k", values="cell").fillna("")
        order = [r for r in dict.fromkeys(rows["ranking"]) if r != "all"] + ["all"]
        pivot = pivot.loc[order].reset_index()
        pivot.columns = ["ranking", *(f"k = {k}" for k in pivot.columns[1:])]
        parts += [f"`{model}`:", "", pivot.to_markdown(index=False), ""]
    return "\n".join(parts).strip()


def toy_check_summary(table: pd.DataFrame) -> str:
    """How many (overlap, network, method) place z and θ above r1 and r2, and the margins of those that do not."""
    failing = table[~table["holds"]]
    lines = [
        f"The toy's known answer (only z and θ separate the classes): {int(table['holds'].sum())} of {len(table)} "
        "(overlap, network, method) give both more mean normalized relevance than r1 and r2 "
        "(`results/summary/toy_check.md`)."
    ]
    if len(failing):
        cells = failing.assign(
            margin=[f"{r.margin:.3f} ± {error_text(r.margin_err)}" for r in failing.itertuples()],
            below=failing["weakest_informative"] + " < " + failing["strongest_uninformative"],
        )
        lines += [
            "",
            "Where it fails:",
            "",
            cells[["sample", "model", "method", "below", "margin"]].to_markdown(index=False),
        ]
    return "\n".join(lines)


def benchmark_records(results: Path) -> list[Path]:
    """The ``benchmark:`` records of a study, one per job that did work."""
    return list(results.glob("*/benchmarks/**/*.tsv"))


def run_summary(results: Path) -> str:
    """Job-seconds per stage from the benchmark files."""
    rows = []
    for path in benchmark_records(results):
        stage = path.parent.name if path.parent.name != "benchmarks" else path.stem
        bench = pd.read_csv(path, sep="\t")
        rows.append(
            {"stage": stage, "seconds": float(bench["s"].iloc[0]), "max_rss_mb": float(bench["max_rss"].iloc[0])}
        )
    if not rows:
        return "(no benchmark records found)"
    frame = pd.DataFrame(rows)
    stages = frame.groupby("stage").agg(
        jobs=("seconds", "size"),
        job_seconds=("seconds", "sum"),
        mean_s=("seconds", "mean"),
        max_rss_mb=("max_rss_mb", "max"),
    )
    stages["share"] = stages["job_seconds"] / stages["job_seconds"].sum()
    stages = stages.sort_values("job_seconds", ascending=False).reset_index()
    total = f"{len(frame)} jobs, {frame['seconds'].sum():.0f} job-seconds"
    return f"{total}.\n\n" + stages.to_markdown(index=False, floatfmt=".3g") + "\n"


def _min_s(seconds: float) -> str:
    return "{} min {} s".format(*divmod(round(seconds), 60))


def wall_time(logs: Path, jobs: int) -> str:
    """The wall time of the latest complete snakemake run of this study: the latest log that completed its
    ``jobs`` benchmarked jobs plus the target rule (other studies and partial reruns log elsewhere or fewer)."""
    from datetime import datetime

    for log in sorted(logs.glob("*.snakemake.log"), reverse=True):
        text = log.read_text()
        done = [line for line in text.splitlines() if "steps (100%) done" in line]
        stamps = [line.strip("[]") for line in text.splitlines() if line.startswith("[") and line.endswith("]")]
        if done and len(stamps) >= 2 and int(done[-1].split()[0]) == jobs + 1:
            first, last = (datetime.strptime(s, "%a %b %d %H:%M:%S %Y") for s in (stamps[0], stamps[-1]))
            took = _min_s((last - first).total_seconds())
            return f"The last complete run ({done[-1].split()[0]} jobs) took {took} of wall time."
    return "(no complete snakemake log of this study found)"


def _spread(entry: dict, scale: float = 1.0, digits: int = 3) -> str:
    return "{:.{d}g} [{:.{d}g}, {:.{d}g}]".format(*(entry[k] * scale for k in ("median", "min", "max")), d=digits)


def benchmark_summary(path: Path) -> str:
    """The ratios of `python benchmarks/run.py --json results/benchmarks.json`: median [min, max] over repeats."""
    if not path.exists():
        return "(run `python benchmarks/run.py --json results/benchmarks.json` on an idle machine to fill this)"
    bench = json.loads(path.read_text())
    gemm = bench["gemm"]["flops_per_s"]
    lines = [
        f"Single thread ({bench['settings']['torch']}), median [min, max] over {bench['settings']['repeats']} "
        f"repeats. fp32 GEMM reference: {_spread(gemm, 1e-9)} GFLOP/s.",
        "",
        "| network | training GFLOP/s | of GEMM | Lightning / plain loop (with log + checkpoint) |",
        "| --- | --- | --- | --- |",
    ]
    lightning = bench.get("lightning", {}).get("networks", {})
    for name, net in bench["training"]["networks"].items():
        ratio = lightning.get(name)
        cell = f"{_spread(ratio['fit_over_plain'])} ({_spread(ratio['fit_logged_over_plain'])})" if ratio else "-"
        lines.append(f"| {name} | {_spread(net['flops_per_s'], 1e-9)} | {net['fraction_of_gemm']:.1%} | {cell} |")
    levers = bench["training"].get("levers_cnn2d", {})
    lines += [
        "",
        "cnn2d training levers (jets/s against the step as trained: fp32, channels-last images): "
        + "; ".join(f"{k} {_spread(v)}" if isinstance(v, dict) else f"{k}: {v}" for k, v in levers.items())
        + ".",
    ]
    shown = [n for n in ("cnn2d_xaug", "cnn1d_xaug", "xaug_dnn") if n in bench["explanations"]["networks"]]
    nets = {n: bench["explanations"]["networks"][n] for n in shown}
    lines += [
        "",
        "Explanation cost of a batch of 500 jets in units of one forward + backward pass of the same batch "
        "(median; per pass for the methods that are many passes by construction):",
        "",
        "| method | " + " | ".join(shown) + " |",
        "| --- |" + " --- |" * len(shown),
    ]
    for method in next(iter(nets.values())):
        if not isinstance(nets[shown[0]][method], dict) or "multiple" not in nets[shown[0]][method]:
            continue
        cells = []
        for entry in (net[method] for net in nets.values()):
            cell = f"{entry['multiple']['median']:.3g}"
            if "per_pass" in entry:
                cell += f" ({entry['per_pass']['median']:.2g} per pass, {entry['passes']} passes)"
            cells.append(cell)
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    overhead = bench.get("jobs", {}).get("overhead")
    if overhead:
        lines += [
            "",
            f"Job overhead (empty job of each kind × jobs / job-seconds): {overhead['share']:.1%} of "
            f"{overhead['job_s']:.0f} job-seconds over {overhead['jobs']} jobs.",
        ]
    return "\n".join(lines)


def prediction_check(path: Path) -> str:
    """The figures of `python benchmarks/prediction_check.py --json results/prediction_check.json`."""
    if not path.exists():
        return "(run `python benchmarks/prediction_check.py --json results/prediction_check.json` to fill this)"
    check = json.loads(path.read_text())
    return (
        f"`scripts/predict_time.py` against a real run of {' + '.join(f'`{c}`' for c in check['configs'])} "
        f"({check['jobs']} jobs, {check['cores']} cores), predicted from this study's records before the run: "
        f"predicted {_min_s(check['predicted_s'])}, measured {_min_s(check['measured_s'])}, "
        f"predicted / measured = {check['ratio']:.2f}. "
        "The check shares this study's training settings: it tests the cost of each job, not how many epochs a "
        "training with other settings needs (`predict_time.py` warns when they differ)."
    )


def memory_check(path: Path) -> str:
    """The figures of `python benchmarks/memory.py --json results/memory.json`."""
    if not path.exists():
        return "(run `python benchmarks/memory.py --json results/memory.json` to fill this)"
    memory = json.loads(path.read_text())
    return (
        f"Peak resident memory (maximum RSS) and wall time of each job, on the jets of {memory['source']} "
        "replicated to each size (`training.stream_above 0`: the training job reads every batch from disk):\n\n"
        + memory["table"]
    )


def render(results: Path) -> str:
    parts = [BEGIN, ""]
    # The last commit that changed what a run computes (code, rules, config): the one that produced these.
    commit = subprocess.run(
        ["git", "log", "-1", "--format=%h", "--", *CODE_PATHS], capture_output=True, text=True
    ).stdout.strip()
    provenance = next(results.glob("*/provenance.json"), None)
    config = json.loads(provenance.read_text())["config"] if provenance else {}
    parts.append(
        f"Copied by `python scripts/readme_results.py` from `results/` of `make run` with the code and config "
        f"of commit `{commit}` "
        f"(config hash `{json.loads(provenance.read_text())['config_hash'] if provenance else '?'}`). "
        "Each value is the mean over training seeds ± the combined error; the Markdown tables in "
        "`results/` also give the seed spread and the bootstrap (test-set) error separately."
    )
    models = config.get("models", [])
    scan = results / "summary" / "toy_overlap_scan.csv"
    if scan.exists():
        frame = pd.read_csv(scan)
        auc = frame[frame["quantity"] == "auc"].pivot(index="model", columns="sample", values="value")
        err = frame[frame["quantity"] == "auc"].pivot(index="model", columns="sample", values="err")
        cells = auc.map(lambda v: f"{v:.4f}").astype(str) + " ± " + err.map(error_text)
        parts += ["", "### Toy: AUC against overlap", "", cells.reset_index().to_markdown(index=False)]
        rel = frame[(frame["model"] == "xaug_dnn") & (frame["rule"] == HEADLINE_RULE)]
        rel = rel[rel["quantity"].str.startswith("relevance:")].copy()
        rel["feature"] = rel["quantity"].str.removeprefix("relevance:")
        rel["cell"] = rel["value"].map(lambda v: f"{v:.3f}") + " ± " + rel["err"].map(error_text)
        pivot = rel.pivot(index="feature", columns="sample", values="cell").reset_index()
        parts += [
            "",
            f"`xaug_dnn`, rule `{HEADLINE_RULE}`, mean normalized relevance:",
            "",
            pivot.to_markdown(index=False),
        ]
    check = results / "summary" / "toy_check.csv"
    if check.exists():
        parts += ["", toy_check_summary(pd.read_csv(check))]
    comparison = results / "summary" / "toy_reference_comparison.csv"
    if comparison.exists():
        parts += ["", "### Toy with the reference study's conventions, side by side", ""]
        parts += [reference_pivot(pd.read_csv(comparison))]
    pythia = results / "pythia" / "tables"
    if pythia.exists():
        parts += ["", "### Pythia8 ZZ (Z → qq̄) vs QCD", ""]
        cutflow_log = results / "pythia" / "logs" / "dataset.log"
        if cutflow_log.exists():
            cutflow = json.loads(cutflow_log.read_text().split("cutflow ", 1)[1])
            parts.append(
                f"{cutflow['dataset_jets']} jets after the window and class balancing "
                f"({cutflow['train_jets']} train / {cutflow['val_jets']} val / {cutflow['test_jets']} test)."
            )
        parts += ["", _table(pythia / "performance.csv").strip()]
        parts += ["", "XAUG efficiency gain (paired by seed and by test-set resample):", ""]
        parts += [_table(pythia / "xaug_gain.csv").strip()]
        parts += ["", f"Top-5 mean normalized relevance, rule `{HEADLINE_RULE}`:", ""]
        parts += [top_relevance(results, "pythia", models)]
        if (pythia / "z_matching.md").exists():
            parts += ["", "Signal jets matched to a hadronic Z (generator truth):", ""]
            parts += [(pythia / "z_matching.md").read_text().split("\n", 2)[2].strip()]
    answer = results / "pythia" / "answer.md"
    if answer.exists():
        text = answer.read_text()
        ado = text.split("## How much of each network the expert variables capture", 1)
        if len(ado) == 2:
            parts += [
                "",
                "How much of each Pythia network the expert variables capture (from `results/pythia/answer.md`):",
            ]
            parts += ["", ado[1].split("## ", 1)[0].strip()]
        reduced = text.split("## Reduced expert sets", 1)
        if len(reduced) == 2:
            parts += ["", "How few expert variables suffice (from `results/pythia/answer.md`):", ""]
            parts += [reduced[1].split("## ", 1)[0].strip()]
        search = text.split("## What the expert variables miss: the guided EFP search", 1)
        if len(search) == 2:
            parts += ["", "What the expert variables miss, by the guided EFP search (from `results/pythia/answer.md`):"]
            parts += ["", search[1].split("## ", 1)[0].strip()]
    if (pythia / "reduced_drop.md").exists():
        parts += [
            "",
            "Drop every variable below an occlusion-ΔAUC threshold and retrain, from scratch and from the full "
            "network's weights (`results/pythia/tables/reduced_drop.md`):",
            "",
            drop_summary(pd.read_csv(pythia / "reduced_drop.csv")),
        ]
    if (pythia / "reduced.csv").exists():
        parts += [
            "",
            "AUC of the top-k networks against k, per ranking: the expert variables alone, and the image + top k "
            "(`results/pythia/tables/reduced.md`):",
            "",
        ]
        parts += [reduced_pivot(pd.read_csv(pythia / "reduced.csv"))]
    parts += ["", "### Where the time goes (from the `benchmark:` records)", ""]
    parts += [wall_time(Path(".snakemake") / "log", len(benchmark_records(results))), "", run_summary(results).strip()]
    parts += ["", "### Performance ratios (`benchmarks/run.py`)", "", benchmark_summary(results / "benchmarks.json")]
    parts += ["", "### Time prediction check (`benchmarks/prediction_check.py`)", ""]
    parts += [prediction_check(results / "prediction_check.json")]
    parts += ["", "### Memory against the number of jets (`benchmarks/memory.py`)", ""]
    parts += [memory_check(results / "memory.json")]
    parts += ["", END]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default="results", type=Path)
    parser.add_argument("--readme", default="README.md", type=Path)
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is not up to date")
    args = parser.parse_args(argv)
    text = args.readme.read_text()
    if BEGIN not in text or END not in text:
        print(f"{args.readme}: markers {BEGIN} / {END} are missing", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    updated = head + render(args.results) + tail
    if args.check:
        same = updated == text
        print("README results are up to date" if same else "README results differ from results/", file=sys.stderr)
        return 0 if same else 1
    args.readme.write_text(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
