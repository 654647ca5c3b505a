#!/usr/bin/env python
"""Throughput of the Pythia chain against bare generation, in one process with the same settings.

    python benchmarks/throughput.py --process qcd --events 600

Baseline: ``Pythia.next()`` in a loop (no output).  Chain: ``nextBatch`` + visible-particle extraction
+ jets (anti-kT, mMDT, N-subjettiness, expert variables, image, particle list).  Prints events/s of both,
their ratio (chain / bare; 1.0 means the chain after generation is free), and the cost per jet of each stage.
"""

from __future__ import annotations

import argparse
import time

import awkward as ak

from xaugjets import jets
from xaugjets.generation import GeneratorSettings, make_pythia, visible_particles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--process", choices=["zz", "qcd"], default="qcd")
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--seed", type=int, default=4242)
    args = parser.parse_args()
    settings = GeneratorSettings(process=args.process, seed=args.seed)
    jet_settings = jets.JetSettings()

    # Baseline: bare generation with the same settings and seed.
    pythia = make_pythia(settings)
    start = time.perf_counter()
    failed = sum(not pythia.next() for _ in range(args.events))
    bare = time.perf_counter() - start

    # The chain, stage by stage, on the same event stream.
    pythia = make_pythia(settings)
    stages = {
        "generation (nextBatch)": 0.0,
        "visible particles": 0.0,
        "anti-kT leading jet": 0.0,
        "grooming, substructure, images": 0.0,
    }
    n_jets = 0
    for done in range(0, args.events, args.batch_size):
        t0 = time.perf_counter()
        events = pythia.nextBatch(min(args.batch_size, args.events - done), "none")
        events = events[~ak.to_numpy(ak.is_none(events, axis=0))]
        t1 = time.perf_counter()
        particles = visible_particles(pythia, events)
        t2 = time.perf_counter()
        jets.leading_jets(particles, jet_settings)
        t3 = time.perf_counter()
        batch = jets.process(particles, jet_settings)  # repeats the clustering: subtract it below
        t4 = time.perf_counter()
        n_jets += batch.cutflow["accepted"]
        stages["generation (nextBatch)"] += t1 - t0
        stages["visible particles"] += t2 - t1
        stages["anti-kT leading jet"] += t3 - t2
        stages["grooming, substructure, images"] += (t4 - t3) - (t3 - t2)
    chain = sum(stages.values())

    print(f"process {args.process}, {args.events} events, {n_jets} jets, {failed} failed next() calls")
    print(f"bare Pythia next():   {args.events / bare:8.1f} events/s  ({1e3 * bare / args.events:.2f} ms/event)")
    print(f"generation + chain:   {args.events / chain:8.1f} events/s  ({1e3 * chain / args.events:.2f} ms/event)")
    print(f"ratio chain/bare throughput: {bare / chain:.3f}  (target >= 0.9)")
    print("cost per jet by stage:")
    for name, seconds in stages.items():
        print(f"  {name:32s} {1e3 * seconds / max(n_jets, 1):7.3f} ms  ({100 * seconds / chain:5.1f} %)")


if __name__ == "__main__":
    main()
