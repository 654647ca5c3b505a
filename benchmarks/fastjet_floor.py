#!/usr/bin/env python
"""What the FastJet steps cost from C++ (no Python binding), next to the project's chain.

    python benchmarks/fastjet_floor.py --process qcd --events 500

Generates events with the project's Pythia settings, writes their visible particles to a scratch
directory, compiles ``fastjet_floor.cc`` with g++ against the headers and libraries shipped in the
``fastjet`` wheel, and runs it.  Needs a C++ compiler; not part of the tests.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import awkward as ak
import numpy as np

from xaugjets import native
from xaugjets.generation import GeneratorSettings, make_pythia, visible_particles

SOURCE = Path(__file__).with_name("fastjet_floor.cc")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--process", choices=["zz", "qcd"], default="qcd")
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--seed", type=int, default=4242)
    args = parser.parse_args()
    pythia = make_pythia(GeneratorSettings.default(process=args.process, seed=args.seed))
    events = pythia.nextBatch(args.events, "skip")
    particles = visible_particles(pythia, events)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        particles.counts.astype(np.int64).tofile(work / "counts.bin")
        particles.four_vectors().astype(np.float64).tofile(work / "momenta.bin")
        binary = work / "fastjet_floor"
        include, lib = native.fastjet_prefix()
        subprocess.run(native.compile_command("g++", SOURCE, binary, include, lib, shared=False), check=True)
        print(f"process {args.process}, {ak.num(events, axis=0)} events")
        subprocess.run([str(binary), str(work / "counts.bin"), str(work / "momenta.bin")], check=True)


if __name__ == "__main__":
    main()
