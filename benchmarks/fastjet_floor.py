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
import fastjet
import numpy as np

from xaugjets.generation import GeneratorSettings, make_pythia, visible_particles

SOURCE = Path(__file__).with_name("fastjet_floor.cc")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--process", choices=["zz", "qcd"], default="qcd")
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--seed", type=int, default=4242)
    args = parser.parse_args()
    pythia = make_pythia(GeneratorSettings(process=args.process, seed=args.seed))
    events = pythia.nextBatch(args.events, "skip")
    particles = visible_particles(pythia, events)
    prefix = Path(fastjet.__file__).parent
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        particles.counts.astype(np.int64).tofile(work / "counts.bin")
        momenta = np.stack([particles[name] for name in ("px", "py", "pz", "E")], axis=1)
        momenta.astype(np.float64).tofile(work / "momenta.bin")
        binary = work / "fastjet_floor"
        libraries = ["-lfastjetcontribfragile", "-lfastjettools", "-lfastjet", f"-Wl,-rpath,{prefix / 'lib64'}"]
        compile_command = ["g++", "-O2", "-o", str(binary), str(SOURCE), f"-I{prefix / 'include'}"]
        subprocess.run([*compile_command, f"-L{prefix / 'lib64'}", *libraries], check=True)
        print(f"process {args.process}, {ak.num(events, axis=0)} events")
        subprocess.run([str(binary), str(work / "counts.bin"), str(work / "momenta.bin")], check=True)


if __name__ == "__main__":
    main()
