#!/usr/bin/env python
"""Throughput of the Pythia chain against bare generation, in one process with the same settings.

    python benchmarks/throughput.py --process qcd --events 1000

Baseline: ``Pythia.next()`` in a loop (no output).  Chain: ``nextBatch`` + visible-particle extraction
+ jets (anti-kT, mMDT, N-subjettiness, expert variables, image, particle list).  Two Pythia instances with
the same settings and seed produce the same event stream; the benchmark alternates between them batch by
batch, in the order bare-chain, chain-bare, bare-chain, ..., so both see the same events and the same
machine load (timings on a shared VM drift by 10-20 % over a minute, and whichever generator runs
right after the jet code is measurably slower).  Prints events/s of both, their ratio (chain / bare;
1.0 means the chain after generation is free), the ratio that ``nextBatch`` and anti-kT alone would
allow (both required: the first by the design, the second is FastJet on every visible particle), and
the cost per jet of each stage.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from xaugjets import jets
from xaugjets.generation import GeneratorSettings, make_pythia, next_batch, visible_particles
from xaugjets.processes import PROCESSES


def time_bare(pythia: Any, n_events: int) -> tuple[float, int]:
    """Seconds for ``n_events`` bare ``next()`` calls, and how many of them failed."""
    start = time.perf_counter()
    failures = sum(not pythia.next() for _ in range(n_events))
    return time.perf_counter() - start, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--process", choices=list(PROCESSES), default="qcd")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--seed", type=int, default=4242)
    args = parser.parse_args()
    settings = GeneratorSettings.default(process=args.process, seed=args.seed)
    jet_settings = jets.JetSettings.default()
    bare_pythia, chain_pythia = make_pythia(settings), make_pythia(settings)

    bare = 0.0
    batch_ratios = []  # chain / bare throughput per batch: the same events, timed back to back
    stages = {"generation (nextBatch)": 0.0, "visible particles": 0.0, "anti-kT leading jet": 0.0}
    stages["grooming, N-subjettiness, XAUG, image, list"] = 0.0
    n_jets = failed = 0
    for batch, done in enumerate(range(0, args.events, args.batch_size)):
        size = min(args.batch_size, args.events - done)
        if batch % 2 == 0:
            seconds, failures = time_bare(bare_pythia, size)
        t1 = time.perf_counter()
        events, _ = next_batch(chain_pythia, size)
        t2 = time.perf_counter()
        particles = visible_particles(chain_pythia, events)
        t3 = time.perf_counter()
        found = jets.leading_jets(particles, jet_settings)
        t4 = time.perf_counter()
        n_jets += jets.describe(found, jet_settings).cutflow["accepted"]
        t5 = time.perf_counter()
        if batch % 2 == 1:
            seconds, failures = time_bare(bare_pythia, size)
        bare += seconds
        failed += failures
        batch_ratios.append(seconds / (t5 - t1))
        for name, spent in zip(stages, (t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            stages[name] += spent
    chain = sum(stages.values())

    print(f"process {args.process}, {args.events} events, {n_jets} jets, {failed} failed next() calls")
    print(f"bare Pythia next():   {args.events / bare:8.1f} events/s  ({1e3 * bare / args.events:.2f} ms/event)")
    print(f"generation + chain:   {args.events / chain:8.1f} events/s  ({1e3 * chain / args.events:.2f} ms/event)")
    print(f"ratio chain/bare throughput: {bare / chain:.3f}  (target >= 0.9)")
    print(
        f"  per batch of {args.batch_size}: median {np.median(batch_ratios):.3f}, "
        f"range {min(batch_ratios):.3f}-{max(batch_ratios):.3f} (the spread is machine noise)"
    )
    generation = stages["generation (nextBatch)"]
    after = chain - generation
    print(
        f"  of which nextBatch vs bare next(): {1e3 * (generation - bare) / args.events:+.2f} ms/event "
        f"({100 * (generation - bare) / bare:+.1f} %); jets after nextBatch: "
        f"{1e3 * after / args.events:.2f} ms/event ({100 * after / bare:.1f} % of bare)"
    )
    floor = generation + stages["anti-kT leading jet"]
    print(f"  floor: nextBatch + anti-kT alone (everything else free) would give ratio {bare / floor:.3f}")
    print("cost per jet by stage:")
    for name, seconds in stages.items():
        print(f"  {name:44s} {1e3 * seconds / max(n_jets, 1):7.3f} ms  ({100 * seconds / chain:5.1f} %)")


if __name__ == "__main__":
    main()
