"""Predict a study's wall time from the per-job costs of a finished run, on N cores or N cluster slots.

    python scripts/predict_time.py --config config/paper.yaml --cores 2 16 --slots 64 256 --gpu-speedup 8

The target's jobs and their dependencies come from a Snakemake dry run of the target config.  Each job's
time is taken from the measured run's ``benchmark:`` records (same rule, sample and network; else the same
rule and sample kind), its fixed part (the empty job: interpreter and imports) kept and its work scaled by
what the rule's work grows with: jets per shard, jets per sample, training jets times epochs (the measured
epochs, capped by the target's ``max_epochs``), seeds; an explain job by its explained jets and each method's
measured seconds times its passes (IG steps, Shapley samples); a reduced-set job by its retrainings, each
weighed by a training of that network on the sample.  The jobs are then
scheduled critical path first on the given number of slots, as a cluster with that many single-core job
slots would run them (``--gpu-speedup`` divides the work of training and explanation jobs, for GPU nodes).
Prints the predicted wall time per slot count and the critical path.
"""

from __future__ import annotations

import argparse
import functools
import heapq
import json
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from xaugjets.config import validate_config
from xaugjets.reduced import DROP_STARTS

REPO = Path(__file__).resolve().parents[1]
EMPTY_JOB_S = {"training": 6.0, "explain": 4.0, "plots": 3.0, "cli": 0.4}  # when results/benchmarks.json is absent
TORCH_RULES = {"train", "explain", "reduced", "efp_search"}
PLOT_RULES = {
    "relevance_summary", "summary_plots", "decision_ordering", "performance_table", "toy_overlap_scan",
    "reduced_summary", "efp_summary",
}  # fmt: skip
XAUG_INPUTS = {"toy": 4, "pythia": 36}  # expert variables per sample kind (all of them: xaug_inputs empty)
PASS_KNOBS = {"integrated_gradients": ("ig_steps",), "shapley": ("shapley_samples",)}  # cost ∝ these settings


@dataclass
class Job:
    rule: str
    wildcards: dict[str, str]
    inputs: list[str]
    outputs: list[str]
    needs: set[int] = field(default_factory=set)
    seconds: float = 0.0


def dry_run(configfiles: list[Path]) -> list[Job]:
    """Every job of a forced dry run of the target config, with its wildcards, inputs and outputs."""
    with tempfile.TemporaryDirectory() as workdir:
        cmd = [sys.executable, "-m", "snakemake", "-n", "--forceall", "--cores", "1", "--directory", workdir]
        proc = subprocess.run([*cmd, "--configfile", *map(str, configfiles)], cwd=REPO, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-2000:])
    jobs, current = [], None
    for line in proc.stdout.splitlines():
        header = re.match(r"^(?:local)?rule (\w+):$", line)
        if header:
            current = Job(header.group(1), {}, [], [])
            jobs.append(current)
        elif current is not None and (item := re.match(r"^    (input|output|wildcards): (.*)$", line)):
            key, value = item.groups()
            if key == "wildcards":
                current.wildcards = dict(pair.split("=", 1) for pair in value.split(", "))
            else:
                getattr(current, f"{key}s").extend(value.split(", "))
    producer = {out: i for i, job in enumerate(jobs) for out in job.outputs}
    for job in jobs:
        job.needs = {producer[path] for path in job.inputs if path in producer}
    return jobs


def kind(sample: str) -> str:
    return "toy" if sample.startswith("toy") else sample


def measured_runs(results: Path) -> pd.DataFrame:
    """One row per recorded job: rule, sample, model, seconds (Snakemake ``benchmark:`` files)."""
    rows = []
    for path in results.glob("*/benchmarks/**/*.tsv"):
        sample = path.relative_to(results).parts[0]
        rule = path.parent.name if path.parent.name != "benchmarks" else path.stem
        model = re.sub(r"_seed\d+$", "", path.stem) if rule in TORCH_RULES | {"relevance_summary"} else ""
        rows.append({"rule": rule, "sample": sample, "model": model, "s": float(pd.read_csv(path, sep="\t")["s"][0])})
    return pd.DataFrame(rows)


def measured_trainings(results: Path, key: str) -> dict[tuple[str, str], float]:
    """Mean of a training record (``epochs``, ``train_seconds``) per (sample, model) in the measured run."""
    values = defaultdict(list)
    for path in results.glob("*/models/*/seed*/metrics.json"):
        metrics = json.loads(path.read_text())
        values[(path.parts[-5], metrics["model"])].append(metrics[key])
    return {k: sum(v) / len(v) for k, v in values.items()}


def study_config(results: Path) -> dict:
    return json.loads(next(results.glob("*/provenance.json")).read_text())["config"]


def target_config(configfiles: list[Path]) -> dict:
    """The target's config as the workflow sees it: config/config.yaml, the given files merged by key."""
    config: dict = {}
    for path in [REPO / "config" / "config.yaml", *configfiles]:
        for key, value in yaml.safe_load(path.read_text()).items():
            config[key] = config.get(key, {}) | value if isinstance(value, dict) else value
    return validate_config(config)


def jets_per_sample(config: dict, sample: str) -> float:
    """Generated jets (toy) or events (Pythia) per class: what the sample's jobs scale with."""
    if kind(sample) == "toy":
        return config["toy"]["shards"] * config["toy"]["jets_per_shard"]
    return config["pythia"]["shards"] * config["pythia"]["events_per_shard"]


def explained_jets(config: dict, sample: str) -> float:
    return min(
        config["relevance"]["max_events"], 2 * jets_per_sample(config, sample) * config["dataset"]["fractions"]["test"]
    )


def n_methods(config: dict) -> int:
    return len(config["relevance"]["rules"]) + len(config["relevance"]["methods"])


def reduced_work(config: dict, sample: str, unit: Callable[[str], float]) -> float:
    """Work of one reduced-set job in trainings weighed by ``unit(network)``: every ranking and network at every
    k below the full set, the image + top-k networks at their k, and the drop-and-retrain fits (two starts
    per threshold).  Weighing matters: one convolutional retraining costs as much as dozens of xaug_dnn ones."""
    reduced = config.get("reduced")
    if not reduced or not reduced["enabled"]:  # a run from before the reduced sets, or with them off
        return 0.0
    n_xaug = XAUG_INPUTS.get(kind(sample), 36)
    ks, joint_ks = ([k for k in reduced.get(key, []) if k < n_xaug] for key in ("ks", "joint_ks"))
    sets = len(reduced["methods"]) + len(reduced["rankings"])
    retrained = sum(unit(model) for model in reduced["models"])
    joint = sum(unit(model) for model in reduced.get("joint_models", []) if model in config["models"])
    drops = len(reduced.get("drop_thresholds", [])) * len(DROP_STARTS) * retrained
    return sets * (len(ks) * retrained + len(joint_ks) * joint) + drops


def efp_fits(config: dict, sample: str) -> int:
    """Trainings of one guided-search job at most: every black box and start set, every step."""
    efp = config.get("efp")
    if not efp or not efp["enabled"]:  # a run from before the search, or with it off
        return 0
    from xaugjets.toy import XAUG_NAMES as TOY_XAUG

    starts = [s for s in efp["start_sets"].values() if kind(sample) != "toy" or set(s) <= set(TOY_XAUG)]
    boxes = [m for m in efp["black_boxes"] if m in config["models"]]
    return len(boxes) * len(starts) * (efp["max_steps"] + 1)


@functools.cache
def _graph_count(max_degree: int, prime_only: bool) -> int:
    """Enumerating the graphs takes a while; every job of a prediction asks for the same two counts."""
    from xaugjets.efp import graphs

    return len(graphs(max_degree, prime_only))


def efp_count(config: dict) -> int:
    """EFPs per jet (cost of the efp job grows with it)."""
    efp = config.get("efp")
    return _graph_count(efp["max_degree"], efp["prime_only"]) if efp else 1


@dataclass
class Records:
    """What the measured run tells about each kind of job."""

    runs: pd.DataFrame  # one row per job: rule, sample, model, seconds
    config: dict  # the measured run's configuration
    epochs: dict[tuple[str, str], float]  # mean epochs per (sample, model)
    fit_seconds: dict[tuple[str, str], float]  # mean seconds of one fit (the training alone) per (sample, model)
    empty: dict[str, float]  # seconds of an empty job of each kind
    methods: dict[tuple[str, str], dict[str, tuple[float, dict]]]  # explanation seconds per (sample, model)

    def pool(self, rule: str, sample: str, model: str) -> pd.DataFrame:
        """The measured jobs of ``rule`` for this network: on the same sample, else one of its kind, else any."""
        runs = self.runs
        same = runs[(runs["rule"] == rule) & (runs["model"] == model)]
        exact = same[same["sample"] == sample]
        pool = exact if len(exact) else same[same["sample"].map(kind) == kind(sample)]
        return pool if len(pool) else runs[runs["rule"] == rule]

    def training_unit(self, sample: str) -> Callable[[str], float]:
        """The seconds of one fit of a network on ``sample`` (the training alone, as a reduced-set job repeats
        it; a training job also loads, evaluates and writes): the weight of one retraining."""

        def unit(model: str) -> float:
            same_kind = [sec for (s, m), sec in self.fit_seconds.items() if kind(s) == kind(sample) and m == model]
            return self.fit_seconds.get((sample, model)) or (sum(same_kind) / len(same_kind) if same_kind else 1.0)

        return unit


def explanation_records(results: Path) -> dict[tuple[str, str], dict[str, tuple[float, dict]]]:
    """Per (sample, model) and method: mean seconds over the seeds' explain jobs, and the method's settings
    that count passes (IG steps, Shapley samples), from the summaries the explain jobs store."""
    import h5py

    seconds: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    knobs: dict[tuple[str, str, str], dict] = {}
    for path in results.glob("*/relevance/*/seed*/*.h5"):
        if path.stem == "occlusion":
            continue
        with h5py.File(path, "r") as f:
            summary = json.loads(f.attrs["summary"])
        key = (path.parts[-5], path.parts[-3], path.stem)
        seconds[key].append(summary["seconds"])
        knobs[key] = {knob: summary[knob] for knob in PASS_KNOBS.get(path.stem, ()) if knob in summary}
    out: dict[tuple[str, str], dict[str, tuple[float, dict]]] = defaultdict(dict)
    for (sample, model, method), values in seconds.items():
        out[sample, model][method] = (sum(values) / len(values), knobs[sample, model, method])
    return dict(out)


def explain_factor(job: Job, target: dict, records: Records, work: float) -> float:
    """The target's explain job over the measured one: each method's measured seconds scaled by its passes
    (IG steps, Shapley samples), a method the run did not have costed as the mean one; the rest of the job
    (occlusion, activation patterns, sanity check) as measured; all of it by the explained jets."""
    sample, model = job.wildcards.get("sample", ""), job.wildcards.get("model", "")
    explained = explained_jets(target, sample) / explained_jets(records.config, sample)
    measured = records.methods.get((sample, model)) or next(
        (m for (s, mod), m in records.methods.items() if kind(s) == kind(sample) and mod == model), {}
    )
    if not measured or work <= 0:  # no summaries: every method as costly as the average one
        return explained * n_methods(target) / n_methods(records.config)
    typical = sum(sec for sec, _ in measured.values()) / len(measured)
    wanted = [*target["relevance"]["rules"], *target["relevance"]["methods"]]
    methods = 0.0
    for method in wanted:
        sec, knobs = measured.get(method, (typical, {}))
        for knob, value in knobs.items():
            sec *= target["relevance"][knob] / value
        methods += sec
    rest = max(work - sum(sec for sec, _ in measured.values()), 0.0)
    return explained * (rest + methods) / work


def work_factor(job: Job, target: dict, records: Records) -> float:
    """How much more work this job is than its measured counterpart (1: the same)."""
    measured, epochs = records.config, records.epochs
    sample, model = job.wildcards.get("sample", "pythia"), job.wildcards.get("model", "")
    jets = jets_per_sample(target, sample) / jets_per_sample(measured, sample)
    seeds = len(target["training"]["seeds"]) / len(measured["training"]["seeds"])
    methods = n_methods(target) / n_methods(measured)
    unit = records.training_unit(sample)
    reduced = reduced_work(target, sample, unit) / max(reduced_work(measured, sample, unit), 1e-9)
    runs = reduced_work(target, sample, lambda _: 1.0) / max(reduced_work(measured, sample, lambda _: 1.0), 1.0)
    same_kind = [e for (s, m), e in epochs.items() if kind(s) == kind(sample) and m == model]
    trained = epochs.get((sample, model)) or (sum(same_kind) / len(same_kind) if same_kind else 1.0)
    factors = {
        "toy_jets": target["toy"]["jets_per_shard"] / measured["toy"]["jets_per_shard"],
        "pythia_jets": target["pythia"]["events_per_shard"] / measured["pythia"]["events_per_shard"],
        "dataset": jets,
        "expert_separation": jets,
        "z_matching_table": jets,
        "train": jets * min(trained, target["training"]["max_epochs"]) / trained,
        "relevance_summary": seeds * methods,
        "performance_table": seeds,
        "summary_plots": seeds,
        "decision_ordering": seeds,
        "reduced": jets * reduced,
        "reduced_summary": seeds * runs,  # tables over the retrained networks, whatever their cost
        "efp": jets * efp_count(target) / efp_count(measured),
        "efp_search": jets * efp_fits(target, sample) / max(efp_fits(measured, sample), 1),
        "efp_summary": seeds,
    }
    return factors.get(job.rule, 1.0)


def empty_kind(rule: str) -> str:
    """Which empty job a rule's jobs pay (benchmarks/run.py, section 5): Lightning for the trainings."""
    if rule in TORCH_RULES:
        return "explain" if rule == "explain" else "training"
    return "plots" if rule in PLOT_RULES else "cli"


def empty_job_seconds(results: Path) -> dict[str, float]:
    """The fixed cost of a job of each kind: from benchmarks/run.py's record if there is one."""
    path = results / "benchmarks.json"
    if not path.exists():
        return EMPTY_JOB_S
    empty = json.loads(path.read_text())["jobs"]["empty_job_s"]
    return {
        "training": empty["training stages"]["median"],
        "explain": empty["explanation stage"]["median"],
        "plots": empty["table+plot stages"]["median"],
        "cli": empty["cli"]["median"],
    }


CONVERGENCE_KEYS = ("batch_size", "patience", "min_delta", "learning_rate", "dropout")


def reduced_networks(config: dict) -> set[str]:
    """The networks a study retrains on reduced sets: reduced.models, and the joint models it trains."""
    reduced = config.get("reduced", {})
    joint = [model for model in reduced.get("joint_models", []) if model in config.get("models", [])]
    return {*reduced.get("models", []), *joint}


def unforeseen(target: dict, measured: dict) -> list[str]:
    """What the measured run cannot tell about the target: the epochs a training needs depend on the training
    settings (seen here: paper.yaml's batch 1024, patience 10, min_delta 1e-4 took 2.2-4.9x, per seed, the
    epochs of the default study's), and a reduced-set network that the measured run did not retrain has no
    cost record."""
    notes = [
        f"training.{key} is {target['training'][key]} here but {measured['training'][key]} in the measured run"
        for key in CONVERGENCE_KEYS
        if target["training"][key] != measured["training"][key]
    ]
    if notes:
        notes.append("so the epochs of every training are a guess: measure them in a small run with these settings")
    unmeasured = reduced_networks(target) - reduced_networks(measured)
    if target["reduced"]["enabled"] and unmeasured:
        notes.append(f"reduced sets of {sorted(unmeasured)} are costed like the measured run's networks' (too low)")
    return notes


def read_records(results: Path) -> Records:
    return Records(
        measured_runs(results),
        study_config(results),
        measured_trainings(results, "epochs"),
        measured_trainings(results, "train_seconds"),
        empty_job_seconds(results),
        explanation_records(results),
    )


def job_seconds(jobs: list[Job], results: Path, target: dict, gpu_speedup: float) -> None:
    """Set each job's predicted seconds: the measured mean of its kind, fixed part kept, work scaled."""
    records = read_records(results)
    for job in jobs:
        pool = records.pool(job.rule, job.wildcards.get("sample", ""), job.wildcards.get("model", ""))
        if not len(pool):
            job.seconds = 0.0  # the target-only "all" rule
            continue
        fixed = records.empty[empty_kind(job.rule)]
        work = max(pool["s"].mean() - fixed, 0.0)
        if job.rule == "explain":
            work *= explain_factor(job, target, records, work)
        else:
            work *= work_factor(job, target, records)
        # GPU nodes speed up the torch stages (training and explanation).
        job.seconds = fixed + work / (gpu_speedup if job.rule in TORCH_RULES else 1.0)


def users_of(jobs: list[Job]) -> dict[int, list[int]]:
    """Per job: the jobs that need it."""
    users = defaultdict(list)
    for i, job in enumerate(jobs):
        for need in job.needs:
            users[need].append(i)
    return users


def remaining_path(jobs: list[Job]) -> list[float]:
    """Per job: the longest chain of job seconds from it to the end (the scheduling priority)."""
    users = users_of(jobs)
    memo: dict[int, float] = {}

    def longest(i: int) -> float:
        if i not in memo:
            memo[i] = jobs[i].seconds + max((longest(u) for u in users[i]), default=0.0)
        return memo[i]

    sys.setrecursionlimit(max(10_000, 4 * len(jobs)))
    return [longest(i) for i in range(len(jobs))]


def simulate(jobs: list[Job], slots: int) -> float:
    """Wall time with ``slots`` single-core job slots, ready jobs started longest remaining path first."""
    priority = remaining_path(jobs)
    waiting = {i: set(job.needs) for i, job in enumerate(jobs)}
    ready = [(-priority[i], i) for i, needs in waiting.items() if not needs]
    heapq.heapify(ready)
    running: list[tuple[float, int]] = []
    now = 0.0
    users = users_of(jobs)
    while ready or running:
        while ready and len(running) < slots:
            _, i = heapq.heappop(ready)
            heapq.heappush(running, (now + jobs[i].seconds, i))
        now, done = heapq.heappop(running)
        for user in users[done]:
            waiting[user].discard(done)
            if not waiting[user]:
                heapq.heappush(ready, (-priority[user], user))
    return now


def critical_path(jobs: list[Job]) -> list[Job]:
    priority = remaining_path(jobs)
    path, candidates = [], [i for i, job in enumerate(jobs) if not job.needs]
    users = users_of(jobs)
    while candidates:
        best = max(candidates, key=lambda i: priority[i])
        path.append(jobs[best])
        candidates = users[best]
    return path


def describe(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {rest:02d} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=REPO / "results", help="the measured run")
    parser.add_argument("--config", type=Path, nargs="+", default=[REPO / "config" / "paper.yaml"], help="target")
    parser.add_argument("--cores", type=int, nargs="+", default=[2, 16], help="cores of one workstation")
    parser.add_argument("--slots", type=int, nargs="*", default=[64, 256], help="cluster job slots (nodes × jobs)")
    parser.add_argument("--gpu-speedup", type=float, default=0.0, help="work of train/explain on a GPU node: ÷ this")
    args = parser.parse_args(argv)
    jobs = dry_run(args.config)
    target = target_config(args.config)
    job_seconds(jobs, args.results, target, 1.0)
    total = sum(job.seconds for job in jobs)
    print(f"{len(jobs)} jobs, {total:.0f} predicted job-seconds ({', '.join(map(str, args.config))})")
    for note in unforeseen(target, study_config(args.results)):
        print(f"  warning: {note}")
    for n in args.cores:
        print(f"  {n:>4} cores: {describe(simulate(jobs, n))}")
    for n in args.slots:
        print(f"  {n:>4} cluster slots (CPU): {describe(simulate(jobs, n))}")
    if args.gpu_speedup:
        job_seconds(jobs, args.results, target, args.gpu_speedup)
        for n in args.slots:
            print(
                f"  {n:>4} cluster slots, GPUs for train/explain (÷{args.gpu_speedup:g}): {describe(simulate(jobs, n))}"
            )
        job_seconds(jobs, args.results, target, 1.0)
    path = critical_path(jobs)
    print(f"critical path ({describe(sum(job.seconds for job in path))}, CPU):")
    for job in path:
        print(f"  {job.rule:<20} {job.seconds:8.1f} s  {' '.join(f'{k}={v}' for k, v in job.wildcards.items())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
