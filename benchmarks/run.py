#!/usr/bin/env python
"""Performance ratios of the study's compute stages, each against a baseline measured in the same run.

    .venv/bin/python benchmarks/run.py                   # every section, 5 repeats (a few minutes)
    .venv/bin/python benchmarks/run.py --quick           # smoke test: 2 repeats, smaller work (< 1 min)
    .venv/bin/python benchmarks/run.py --sections 2 4 --repeats 3 --json /tmp/bench.json

Sections (benchmarks/README.md says how to read them):

1. GEMM reference: single-thread fp32 FLOP/s of ``torch.mm`` on square matrices.
2. Training FLOP/s of every network (fwd + bwd + optimizer step of one training batch), as a fraction of
   the GEMM rate; and the speed of cnn2d's levers (channels_last, batch size x2 / x0.5, torch.compile).
3. Lightning overhead: ``training.fit`` against a plain PyTorch loop doing the same work.
4. Explanation cost: every LRP rule and attribution method of the config, per batch, in units of one
   forward + input-gradient pass of the same batch on the same network.
5. Job overhead: an empty job's wall time, times the jobs of ``results/``, over their total seconds.
6. Bootstrap of the occlusion table: scores sorted once against a sort per resample.

Every measurement runs with ``torch.set_num_threads(1)`` (the study's ``training.threads``), after a
warm-up, timed with ``time.perf_counter``; each ratio is taken per repeat between timings that alternate
in order (so machine drift hits both alike) and printed as min / median / max over the repeats.  The
networks and settings come from the config (schema defaults filled in); inputs are random normal
arrays of the sample's shapes (fixed seed), so no generated data is needed.  Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import dataclasses
import io
import json
import logging
import math
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

from xaugjets import toy, training
from xaugjets.attribution import MethodSettings
from xaugjets.config import validate_config
from xaugjets.datasets import SPLITS, split_rows
from xaugjets.explain import ExplainSettings, method_for
from xaugjets.jets import XAUG_NAMES
from xaugjets.metrics import RankedScores, auc
from xaugjets.models import MODEL_INPUTS, TaggerNet, build_model, input_tensors
from xaugjets.particles import PARTICLE_FEATURES
from xaugjets.study import Sample, samples

REPO = Path(__file__).resolve().parents[1]
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
COMPILE_LIMIT_S = 60
VAL_BATCH = 4096  # training.fit's validation batch
MANY_PASSES = {"integrated_gradients": "ig_steps", "shapley": "shapley_samples"}  # method -> its pass count
# What a job of each kind imports before it works: an empty job is an interpreter running just that.
EXPLAIN_MODULES = "xaugjets.explain, xaugjets.occlusion, xaugjets.activations, xaugjets.sanity, xaugjets.io"
EMPTY_JOBS = {
    "cli": ["-c", "import xaugjets.cli; xaugjets.cli.build_parser()"],
    "training stages": ["-c", "import xaugjets.cli, xaugjets.training, xaugjets.datasets, xaugjets.io"],
    "explanation stage": ["-c", f"import xaugjets.cli, {EXPLAIN_MODULES}"],  # torch and captum, no Lightning
    "table+plot stages": ["-c", "import xaugjets.cli, xaugjets.aggregation, xaugjets.plots, xaugjets.crosscheck"],
}
# Which empty job each workflow stage pays (a stage is the folder or file name under results/*/benchmarks/).
STAGE_IMPORTS = (
    dict.fromkeys(("train", "reduced", "efp_search"), "training stages") | {"explain": "explanation stage"}
) | dict.fromkeys(
    (
        "relevance_summary",
        "summary_plots",
        "decision_ordering",
        "performance_table",
        "toy_overlap_scan",
        "reduced_summary",
        "efp_summary",
    ),
    "table+plot stages",
)
Spread = dict[str, float]


@dataclasses.dataclass
class Bench:
    """Everything a section needs: the study's settings, the input arrays and the timing knobs."""

    config: dict[str, Any]
    sample: Sample
    train: training.TrainSettings
    explain: ExplainSettings
    methods: MethodSettings
    arrays: dict[str, np.ndarray]
    repeats: int
    target_s: float
    args: argparse.Namespace


# ---------------------------------------------------------------------------------------------- set-up


def quiet() -> None:
    """Keep results the only output: library warnings and Lightning's info lines say nothing about speed."""
    warnings.simplefilter("ignore")
    for name in ("lightning.pytorch", "lightning.fabric", "torch._dynamo", "torch._inductor"):
        logging.getLogger(name).setLevel(logging.ERROR)


def load_config(path: Path) -> dict[str, Any]:
    """The study's config with every schema default filled in, exactly as the workflow sees it."""
    return validate_config(yaml.safe_load(path.read_text()))


def input_dims(config: dict[str, Any], sample: Sample) -> dict[str, int]:
    """The networks' input shapes (``build_model`` arguments) for one sample, from config and package."""
    if sample.kind == "toy":
        n_particles, features, names = 2 * toy.PARTICLES_PER_SUBJET, toy.PARTICLE_FEATURES, toy.XAUG_NAMES
    else:
        n_particles, features, names = config["pythia"]["n_particles"], PARTICLE_FEATURES, XAUG_NAMES
    return {
        "grid": config["images"]["grid"],
        "n_particles": n_particles,
        "n_particle_features": len(features) + 1,  # datasets.standardize_particles appends the mask channel
        "n_xaug": len(config[sample.kind]["xaug_inputs"] or names),
    }


def synthetic_arrays(dims: dict[str, int], n: int, fractions: dict[str, float], seed: int) -> dict[str, np.ndarray]:
    """Dataset arrays (``datasets.DATASET_KEYS`` layout the networks read) of random normal inputs."""
    rng = np.random.default_rng(seed)
    p = np.array([fractions[s] for s in SPLITS])
    return {
        "image": rng.standard_normal((n, dims["grid"], dims["grid"]), dtype=np.float32),
        "particles_scaled": rng.standard_normal((n, dims["n_particles"], dims["n_particle_features"]), np.float32),
        "xaug_scaled": rng.standard_normal((n, dims["n_xaug"]), dtype=np.float32),
        "label": rng.integers(0, 2, n).astype(np.int8),
        "weight": np.ones(n, dtype=np.float32),
        "split": rng.choice(len(SPLITS), size=n, p=p / p.sum()).astype(np.int8),
    }


def network(bench: Bench, name: str, seed: int = 0) -> TaggerNet:
    """A freshly initialized network of the study, shaped for the bench's arrays, laid out as fit trains it
    (image networks channels-last)."""
    torch.manual_seed(seed)
    t = bench.train
    net = build_model(name, dropout=t.dropout, head_dropout=t.head_dropout, **training.model_shapes(bench.arrays))
    return net.to(memory_format=torch.channels_last) if "image" in net.inputs else net


def channels_last(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """Images channels-last, as TaggerModule feeds them."""
    return [t.contiguous(memory_format=torch.channels_last) if t.ndim == 4 else t for t in tensors]


def first_rows(arrays: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """The same jets for every network and method, so their times compare."""
    return {key: value[:n] for key, value in arrays.items()}


def train_batch(arrays: dict[str, np.ndarray], inputs: tuple[str, ...], n: int) -> tuple[torch.Tensor, ...]:
    """One training batch as the loader yields it: network inputs, then label and weight."""
    rows = first_rows(arrays, n)
    label = torch.as_tensor(rows["label"], dtype=torch.float32)
    return (*input_tensors(rows, inputs), label, torch.as_tensor(rows["weight"]))


# ---------------------------------------------------------------------------------------------- timing


def spread(values: list[float]) -> Spread:
    """Min / median / max: the median is the estimate, min and max show how noisy the machine was."""
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def fmt(s: Spread, scale: float = 1.0, digits: int = 3) -> str:
    """A spread as one table cell."""
    return " / ".join(f"{s[k] * scale:.{digits}g}" for k in ("min", "median", "max"))


def seconds_per_call(fn: Callable[[], object], calls: int) -> float:
    """Mean wall time of ``calls`` back-to-back calls (several calls average out the timer's resolution)."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def calls_for(fn: Callable[[], object], target_s: float) -> int:
    """Warm ``fn`` up and return how many calls last about ``target_s`` (one for slow functions)."""
    first = seconds_per_call(fn, 1)
    if first >= target_s:
        return 1
    return max(1, min(10_000, round(target_s / seconds_per_call(fn, 1))))


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, target_s: float) -> dict[str, list[float]]:
    """Seconds per call of each function, per repeat; the order rotates each repeat so drift hits all alike."""
    calls = {name: calls_for(fn, target_s) for name, fn in fns.items()}
    names = list(fns)
    out: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            out[name].append(seconds_per_call(fns[name], calls[name]))
    return out


def ratios(num: list[float], den: list[float]) -> list[float]:
    """Per-repeat ratios: each pair was timed in the same round, so slow phases of the machine cancel."""
    return [a / b for a, b in zip(num, den, strict=True)]


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """A plain-text table, columns padded to their widest cell."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print(f"\n== {title}")
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise TimeoutError in the main thread after ``seconds`` (bounds torch.compile's first call)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def deterministic_restored() -> Iterator[None]:
    """Run with deterministic algorithms (as ``training.fit``'s Trainer sets them) and restore the flag after."""
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)
        torch.set_num_threads(1)  # fit pins threads from its settings; keep every later measurement at one


# ------------------------------------------------------------------------------------------ 1. GEMM


def section_gemm(bench: Bench) -> dict[str, Any]:
    """Baseline of section 2: what one core does on the densest possible work."""
    n = bench.args.gemm_size
    a, b = torch.randn(n, n), torch.randn(n, n)
    seconds = interleaved({"mm": lambda: torch.mm(a, b)}, bench.repeats, bench.target_s)["mm"]
    rate = spread([2 * n**3 / s for s in seconds])
    table(
        "1. GEMM reference (torch.mm, fp32, 1 thread)", ["n", "GFLOP/s min / median / max"], [[str(n), fmt(rate, 1e-9)]]
    )
    return {"n": n, "flops_per_call": 2 * n**3, "flops_per_s": rate}


# ------------------------------------------------------------------------------------------ 2. training


def tagger_module(net: torch.nn.Module, lr: float) -> training.TaggerModule:
    """The package's LightningModule, for its loss and optimizer (its shuffle generator is unused here)."""
    return training.TaggerModule(net, lr, torch.Generator())  # type: ignore[arg-type]


def train_step(net: torch.nn.Module, lr: float, batch: tuple[torch.Tensor, ...]) -> Callable[[], None]:
    """One training step as Lightning runs it: TaggerModule's loss, backward, the package's optimizer."""
    module = tagger_module(net, lr)
    optimizer = module.configure_optimizers()
    net.train()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss, _, _ = module._loss(batch)
        loss.backward()
        optimizer.step()

    return step


def nchw_step(net: torch.nn.Module, lr: float, batch: tuple[torch.Tensor, ...]) -> Callable[[], None]:
    """A training step with plain (N, C, H, W) tensors throughout: the layout before channels-last."""
    *inputs, label, weight = batch
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.binary_cross_entropy_with_logits(net(*inputs), label, weight=weight).backward()
        optimizer.step()

    return step


def fwd_bwd_flops(net: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> int:
    """FLOPs of one forward + backward of the training loss (the optimizer step is not counted)."""
    module = tagger_module(net, 0.0)
    with FlopCounterMode(display=False) as counter:
        module._loss(batch)[0].backward()
    net.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def section_training(bench: Bench, gemm: dict[str, Any]) -> dict[str, Any]:
    """Training FLOP/s of every network, against the GEMM rate; then cnn2d's levers."""
    size, lr = bench.train.batch_size, bench.train.learning_rate
    nets = {name: network(bench, name) for name in MODEL_INPUTS}
    batches = {name: train_batch(bench.arrays, MODEL_INPUTS[name], size) for name in nets}
    flops = {name: fwd_bwd_flops(nets[name], batches[name]) for name in nets}
    seconds = interleaved({n: train_step(nets[n], lr, batches[n]) for n in nets}, bench.repeats, bench.target_s)
    gemm_rate = gemm["flops_per_s"]["median"]
    out: dict[str, Any] = {"batch_size": size, "networks": {}}
    rows = []
    for name in nets:
        rate = spread([flops[name] / s for s in seconds[name]])
        step_ms = spread([1e3 * s for s in seconds[name]])
        out["networks"][name] = {"fwd_bwd_flops": flops[name], "step_ms": step_ms, "flops_per_s": rate}
        out["networks"][name]["fraction_of_gemm"] = rate["median"] / gemm_rate
        rows.append(
            [name, f"{flops[name] / 1e9:.3g}", fmt(step_ms), fmt(rate, 1e-9), f"{rate['median'] / gemm_rate:.1%}"]
        )
    title = f"2. Training FLOP/s as trained (batch {size}, fwd+bwd FLOPs / time of fwd+bwd+Adam step)"
    table(title, ["network", "GFLOP/step", "step ms min/med/max", "GFLOP/s min/med/max", "of GEMM"], rows)
    out["levers_cnn2d"] = section_levers(bench)
    return out


def lever_steps(bench: Bench) -> dict[str, tuple[Callable[[], None], int]]:
    """cnn2d's training step as trained (fp32, channels-last) and with each lever, each with its batch size
    (its own copy of the net); "NCHW" is the layout the study used before channels-last."""
    size, lr, inputs = bench.train.batch_size, bench.train.learning_rate, MODEL_INPUTS["cnn2d"]
    trained = network(bench, "cnn2d")
    nchw = copy.deepcopy(trained).to(memory_format=torch.contiguous_format)
    batch = train_batch(bench.arrays, inputs, size)
    return {
        "as trained": (train_step(trained, lr, batch), size),
        "NCHW instead of channels-last": (nchw_step(nchw, lr, batch), size),
        "batch x2": (train_step(copy.deepcopy(trained), lr, train_batch(bench.arrays, inputs, 2 * size)), 2 * size),
        "batch x0.5": (
            train_step(copy.deepcopy(trained), lr, train_batch(bench.arrays, inputs, size // 2)),
            size // 2,
        ),
    }


def section_levers(bench: Bench) -> dict[str, Any]:
    """Jets/s of each lever over the step as trained (> 1: faster), timed interleaved with it."""
    steps = lever_steps(bench)
    seconds = interleaved({name: fn for name, (fn, _) in steps.items()}, bench.repeats, bench.target_s)
    per_jet = {name: [s / steps[name][1] for s in seconds[name]] for name in steps}
    out: dict[str, Any] = {name: spread(ratios(per_jet["as trained"], per_jet[name])) for name in list(steps)[1:]}
    out["torch.compile"] = compiled_lever(bench) if not bench.args.no_compile else "not available: --no-compile"
    rows = [[name, fmt(s) if isinstance(s, dict) else s] for name, s in out.items()]
    table(
        "2b. cnn2d training levers: jets/s over the step as trained (> 1: faster)",
        ["lever", "ratio min / median / max"],
        rows,
    )
    return out


def compiled_lever(bench: Bench) -> Spread | str:
    """torch.compile'd cnn2d over plain, or why not: compile errors or a first call over COMPILE_LIMIT_S."""
    size, lr, inputs = bench.train.batch_size, bench.train.learning_rate, MODEL_INPUTS["cnn2d"]
    plain = network(bench, "cnn2d")
    batch = train_batch(bench.arrays, inputs, size)
    try:
        import torch._inductor.config as inductor

        inductor.compile_threads = 1  # compile in this process, so the time limit can interrupt it
        compiled = torch.compile(copy.deepcopy(plain))
        step = train_step(compiled, lr, batch)
        with time_limit(COMPILE_LIMIT_S):
            step()  # compiles forward and backward
        seconds = interleaved({"plain": train_step(plain, lr, batch), "compiled": step}, bench.repeats, bench.target_s)
        return spread(ratios(seconds["plain"], seconds["compiled"]))
    except Exception as err:  # any failure means "not available here", with the reason
        return f"not available: {type(err).__name__}: {(str(err).strip().splitlines() or [''])[0][:100]}"
    finally:
        torch.compiler.reset()


# ------------------------------------------------------------------------------------------ 3. Lightning


def plain_fit(arrays: dict[str, np.ndarray], name: str, seed: int, settings: training.TrainSettings) -> TaggerNet:
    """training.fit's work without Lightning: same net, loaders, loss, optimizer, validation and best state."""
    torch.manual_seed(seed)
    train, val = (split_rows(arrays["split"], arrays["label"], split) for split in ("train", "val"))
    shapes = training.model_shapes(arrays)
    net = build_model(name, dropout=settings.dropout, head_dropout=settings.head_dropout, **shapes)
    inputs = MODEL_INPUTS[name]
    if "image" in inputs:
        net = net.to(memory_format=torch.channels_last)  # as fit trains it
    train_loader = training._loader(
        arrays, train, inputs, settings.batch_size, torch.Generator().manual_seed(seed), True
    )
    val_loader = training._loader(arrays, val, inputs, VAL_BATCH, torch.Generator().manual_seed(seed), False)
    optimizer = torch.optim.Adam(net.parameters(), lr=settings.learning_rate)  # TaggerModule's optimizer
    loss_fn = torch.nn.functional.binary_cross_entropy_with_logits
    best_loss, best_state = math.inf, {}
    for _ in range(settings.max_epochs):
        net.train()
        for *x, label, weight in train_loader:
            optimizer.zero_grad()
            loss_fn(net(*channels_last(x)), label, weight=weight).backward()
            optimizer.step()
        net.eval()
        with torch.no_grad():
            pairs = [(net(*channels_last(x)), label, weight) for *x, label, weight in val_loader]
        logits, labels = torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs])
        val_loss = float(loss_fn(logits, labels, weight=torch.cat([p[2] for p in pairs])))
        auc(labels.numpy(), logits.numpy())
        if val_loss < best_loss:
            best_loss, best_state = val_loss, copy.deepcopy(net.state_dict())
    net.load_state_dict(best_state)
    return net


def lightning_fit(
    arrays: dict[str, np.ndarray], name: str, seed: int, settings: training.TrainSettings, logged: bool
) -> None:
    """training.fit, its progress lines swallowed; ``logged``: with a fresh work folder (CSV log, last.ckpt
    every epoch) as ``training.train`` runs it in a job, else in memory only."""
    with contextlib.redirect_stderr(io.StringIO()), tempfile.TemporaryDirectory() as tmp:
        training.fit(arrays, name, seed, settings, workdir=Path(tmp) if logged else None)


def section_lightning(bench: Bench) -> dict[str, Any]:
    """Wall time of training.fit over the plain loop, for a small and a convolutional network."""
    epochs = bench.args.epochs
    settings = dataclasses.replace(
        bench.train, max_epochs=epochs, patience=epochs + 1, threads=1, accelerator="cpu"
    )  # patience > epochs: early stopping never fires
    arrays = synthetic_arrays(
        training.model_shapes(bench.arrays), bench.args.jets, bench.config["dataset"]["fractions"], 1
    )
    n_train = int((arrays["split"] == 0).sum())
    out: dict[str, Any] = {"epochs": epochs, "jets": bench.args.jets, "train_jets": n_train, "networks": {}}
    rows = []
    for name in ("xaug_dnn", "cnn2d"):
        fns = {
            "plain": lambda name=name: plain_fit(arrays, name, 1, settings),
            "fit": lambda name=name: lightning_fit(arrays, name, 1, settings, logged=False),
            "fit_logged": lambda name=name: lightning_fit(arrays, name, 1, settings, logged=True),
        }
        with deterministic_restored():
            seconds = interleaved(fns, bench.repeats, 0.0)
        entry = out["networks"][name] = {f"{key}_s": spread(value) for key, value in seconds.items()}
        for key in ("fit", "fit_logged"):
            entry[f"{key}_over_plain"] = spread(ratios(seconds[key], seconds["plain"]))
        cells = [fmt(entry[k]) for k in ("plain_s", "fit_s", "fit_over_plain", "fit_logged_s", "fit_logged_over_plain")]
        rows.append([name, *cells])
    title = (
        f"3. Lightning overhead ({epochs} epochs, {n_train} train jets, batch {settings.batch_size}; target <= 1.05)"
    )
    header = ["network", "plain s", "fit s", "fit / plain", "fit+workdir s", "fit+workdir / plain"]
    table(title + "; all min / median / max", header, rows)
    return out


# ------------------------------------------------------------------------------------------ 4. explanations


def grad_pass(net: TaggerNet, inputs: tuple[torch.Tensor, ...]) -> Callable[[], None]:
    """The baseline: one forward plus the gradient of the summed output w.r.t. the inputs (gradient × input's cost)."""

    def run() -> None:
        x = tuple(t.detach().requires_grad_(True) for t in inputs)
        torch.autograd.grad(net(*x).sum(), x)

    return run


def explain_call(bench: Bench, net: TaggerNet, method: str, inputs: tuple[torch.Tensor, ...]) -> Callable[[], None]:
    """One batch explained the way explain.run_method calls the method."""
    attributor = method_for(method, bench.explain)
    return lambda: attributor.attribute(net, inputs, bench.explain.explained_output, bench.methods)


def passes(bench: Bench, method: str) -> int | None:
    """How many passes a method makes by construction (None: a fixed small number)."""
    return getattr(bench.methods, MANY_PASSES[method]) if method in MANY_PASSES else None


def explain_entry(bench: Bench, method: str, seconds: list[float], base: list[float]) -> dict[str, Any]:
    """One method on one network: its time over the baseline's per repeat, and per pass where it has many."""
    multiple = spread(ratios(seconds, base))
    entry: dict[str, Any] = {"multiple": multiple, "seconds": spread(seconds)}
    if n := passes(bench, method):
        entry |= {"passes": n, "per_pass": {k: v / n for k, v in multiple.items()}}
    return entry


def per_pass_cell(entry: dict[str, Any], method: str, inputs: tuple[str, ...]) -> str:
    """The multiple per pass for many-pass methods; a Shapley run without XAUG input computes nothing."""
    if method == "shapley" and "xaug" not in inputs:
        return "n/a: no XAUG input (returns zeros)"
    return f"{fmt(entry['per_pass'])}  ({entry['passes']} {MANY_PASSES[method]})" if "per_pass" in entry else "-"


def section_explanations(bench: Bench) -> dict[str, Any]:
    """Explanation time per batch over one forward + input-gradient pass of the same batch and network."""
    size = bench.methods.batch_size
    out: dict[str, Any] = {"batch_size": size, "networks": {}}
    rows = []
    for name, inputs in MODEL_INPUTS.items():
        # As the explain jobs see it: load_model rebuilds a saved network in the plain layout.
        net = network(bench, name).to(memory_format=torch.contiguous_format).eval()
        tensors = input_tensors(first_rows(bench.arrays, size), inputs)
        fns = {"base": grad_pass(net, tensors)} | {m: explain_call(bench, net, m, tensors) for m in bench.explain.names}
        seconds = interleaved(fns, bench.repeats, bench.target_s)  # one round: the baseline and every method
        base = spread([1e3 * s for s in seconds["base"]])
        out["networks"][name] = {"base_ms": base}
        for method in bench.explain.names:
            entry = out["networks"][name][method] = explain_entry(bench, method, seconds[method], seconds["base"])
            cells = [f"{base['median']:.3g}", fmt(entry["multiple"]), per_pass_cell(entry, method, inputs)]
            rows.append([name, method, *cells])
    header = ["network", "method", "base ms", "multiple min/med/max", "multiple / passes"]
    table(f"4. Explanation cost per batch of {size} (multiple of one fwd + input-grad pass)", header, rows)
    return out


# ------------------------------------------------------------------------------------------ 5. jobs


def empty_job(argv: list[str]) -> Callable[[], None]:
    """One interpreter start running ``argv``, as a Snakemake job starts (output discarded)."""
    python = str(VENV_PYTHON if VENV_PYTHON.exists() else sys.executable)
    return lambda: subprocess.run([python, *argv], cwd=REPO, capture_output=True, check=True)


def job_seconds(results: Path) -> dict[str, tuple[int, float]]:
    """Per workflow stage: job executions (rows of Snakemake benchmark files) and their total seconds (``s``)."""
    out: dict[str, tuple[int, float]] = {}
    for path in sorted(results.glob("*/benchmarks/**/*.tsv")):
        stage = path.parent.name if path.parent.name != "benchmarks" else path.stem
        with open(path, newline="") as f:
            values = [float(row["s"]) for row in csv.DictReader(f, delimiter="\t")]
        jobs, total = out.get(stage, (0, 0.0))
        out[stage] = (jobs + len(values), total + sum(values))
    return out


def section_jobs(bench: Bench) -> dict[str, Any]:
    """Empty-job wall time per kind of job; and their share of the recorded job-seconds, if results/ has them."""
    seconds = interleaved({label: empty_job(argv) for label, argv in EMPTY_JOBS.items()}, bench.repeats, 0.0)
    empty = {label: spread(s) for label, s in seconds.items()}
    table(
        "5. Empty job wall time (subprocess: the imports a job of that kind needs, s)",
        ["job", "min / median / max"],
        [[k, fmt(v)] for k, v in empty.items()],
    )
    out: dict[str, Any] = {"empty_job_s": empty}
    per_stage = job_seconds(bench.args.results)
    if not per_stage:
        print(f"no Snakemake benchmark files under {bench.args.results}/*/benchmarks/: overhead skipped")
        return out
    rows, overhead, jobs_total, seconds_total = [], 0.0, 0, 0.0
    for stage, (jobs, total) in sorted(per_stage.items(), key=lambda item: -item[1][1]):
        kind = STAGE_IMPORTS.get(stage, "cli")
        cost = empty[kind]["median"] * jobs
        overhead, jobs_total, seconds_total = overhead + cost, jobs_total + jobs, seconds_total + total
        rows.append([stage, kind, str(jobs), f"{total:.0f}", f"{cost / total:.1%}"])
    rows.append(["total", "", str(jobs_total), f"{seconds_total:.0f}", f"{overhead / seconds_total:.1%}"])
    out["overhead"] = {"jobs": jobs_total, "job_s": seconds_total, "share": overhead / seconds_total}
    header = ["stage", "empty job", "jobs", "job-s", "overhead"]
    table("5b. Job overhead = empty job (median) x jobs / job-seconds (target <= 10 %)", header, rows)
    return out


# ------------------------------------------------------------------------------------------ main


# -------------------------------------------------------------------------------- 6. bootstrap of a table


def section_bootstrap(bench: Bench) -> dict[str, Any]:
    """The occlusion table's bootstrap (ΔAUC of every seed and masked variant per resample): the scores sorted
    once and each resample a reweighting (``metrics.RankedScores``), against ``auc`` re-sorting per resample."""
    rng = np.random.default_rng(0)
    n = bench.explain.max_events
    shapes = training.model_shapes(bench.arrays)
    variants = 2 * (shapes["n_xaug"] + shapes["n_particle_features"] + 1)  # zero and mean mask of each input
    rows = len(bench.config["training"]["seeds"]) * (variants + 1)
    labels = rng.integers(0, 2, n)
    weights = np.ones(n)
    scores = rng.normal(size=(rows, n)) + labels
    resamples = [rng.integers(0, n, n) for _ in range(5)]

    def sorted_per_resample() -> None:
        for picked in resamples:
            [auc(labels[picked], row[picked], weights[picked]) for row in scores]

    def sorted_once() -> None:
        ranked = RankedScores(labels, scores)
        for picked in resamples:
            ranked.auc(weights * np.bincount(picked, minlength=n))

    seconds = interleaved({"per_resample": sorted_per_resample, "once": sorted_once}, bench.repeats, 0.0)
    out = {"jets": n, "score_rows": rows, "resamples": len(resamples)}
    out |= {f"{key}_s": spread(value) for key, value in seconds.items()}
    out["speedup"] = spread(ratios(seconds["per_resample"], seconds["once"]))
    title = f"6. Occlusion bootstrap ({n} jets, {rows} score rows, {len(resamples)} resamples per call)"
    header = ["sorted per resample s", "sorted once s", "speed-up"]
    table(title + "; all min / median / max", header, [[fmt(out[k]) for k in ("per_resample_s", "once_s", "speedup")]])
    return out


def parse_args() -> argparse.Namespace:
    """Defaults give the full run (a few minutes on one core); ``--quick`` overrides them for a smoke test."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per measurement (default 5)")
    parser.add_argument(
        "--sections", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6], choices=range(1, 7), help="which to run"
    )
    parser.add_argument("--json", type=Path, help="also write every number to this JSON file")
    parser.add_argument("--config", type=Path, default=REPO / "config" / "config.yaml", help="study config")
    parser.add_argument("--sample", default="pythia", help="whose input shapes and conventions (default pythia)")
    parser.add_argument("--target-s", type=float, default=0.1, help="seconds one timing sample lasts at least")
    parser.add_argument("--gemm-size", type=int, default=1024, help="n of the n x n GEMM")
    parser.add_argument("--jets", type=int, default=2048, help="jets of section 3's dataset (split as the config)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of section 3 (no early stopping)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile lever")
    parser.add_argument("--results", type=Path, default=REPO / "results", help="where section 5 looks for jobs")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 2 repeats, smaller work, no compile (not the study's settings)",
    )
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.target_s, args.gemm_size, args.jets, args.epochs = 2, 0.05, 512, 1024, 1
        args.no_compile = True
    return args


def make_bench(args: argparse.Namespace) -> Bench:
    """The study's settings for one sample and random inputs of its shapes."""
    config = load_config(args.config)
    sample = samples(config)[args.sample]
    explain = ExplainSettings.from_config(config["relevance"], explained_output=sample.explained_output)
    methods = MethodSettings.from_config(config["relevance"])
    if args.quick:
        methods = dataclasses.replace(methods, batch_size=min(64, methods.batch_size))
    train = training.TrainSettings.from_config(config["training"])
    n = max(2 * train.batch_size, methods.batch_size)
    arrays = synthetic_arrays(input_dims(config, sample), n, config["dataset"]["fractions"], seed=0)
    return Bench(config, sample, train, explain, methods, arrays, args.repeats, args.target_s, args)


def main() -> None:
    """Run the chosen sections in order, printing each table as it is done, then write the JSON."""
    args = parse_args()
    quiet()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    bench = make_bench(args)
    shapes = training.model_shapes(bench.arrays)
    print(f"torch {torch.__version__}, torch.set_num_threads(1) for every measurement; wall time by perf_counter")
    print(f"config {args.config.name} (schema defaults filled), sample {args.sample}: {shapes}")
    print(
        f"repeats {args.repeats}; ratios per repeat, printed min / median / max" + (" (--quick)" if args.quick else "")
    )
    results: dict[str, Any] = {"settings": {"torch": torch.__version__, "threads": 1, "sample": args.sample}}
    results["settings"] |= {"shapes": shapes, "repeats": args.repeats, "quick": args.quick, "config": str(args.config)}
    results["settings"] |= {"target_s": args.target_s, "train_batch": bench.train.batch_size}
    results["settings"] |= {"explain_batch": bench.methods.batch_size}
    if 1 in args.sections or 2 in args.sections:
        results["gemm"] = section_gemm(bench)
    if 2 in args.sections:
        results["training"] = section_training(bench, results["gemm"])
    if 3 in args.sections:
        results["lightning"] = section_lightning(bench)
    if 4 in args.sections:
        results["explanations"] = section_explanations(bench)
    if 5 in args.sections:
        results["jobs"] = section_jobs(bench)
    if 6 in args.sections:
        results["bootstrap"] = section_bootstrap(bench)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
