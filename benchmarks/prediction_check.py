#!/usr/bin/env python
"""Check ``scripts/predict_time.py`` against a real run: predict a scaled-down paper study from the default
study's records, then run it here and compare the wall times.

    .venv/bin/python benchmarks/prediction_check.py --cores 2 --json results/prediction_check.json

The target is ``config/paper.yaml`` with ``benchmarks/paper_scaled.yaml`` laid over it (paper's methods, k
list, patience and batch sizes; fewer shards, jets and seeds).  The prediction is made first, from the
``benchmark:`` records under ``--results`` (a finished default study), and printed before the run starts;
the run writes into its own study folder, which is removed first so that every job runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import predict_time  # noqa: E402

CONFIGS = [REPO / "config" / "paper.yaml", REPO / "benchmarks" / "paper_scaled.yaml"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=REPO / "results", help="the measured default study")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    target = predict_time.target_config(CONFIGS)
    jobs = predict_time.dry_run(CONFIGS)
    predict_time.job_seconds(jobs, args.results, target, 1.0)
    predicted = predict_time.simulate(jobs, args.cores)
    print(f"predicted: {len(jobs)} jobs, {predict_time.describe(predicted)} on {args.cores} cores", flush=True)

    study = REPO / target["study_dir"]
    shutil.rmtree(study, ignore_errors=True)
    command = [sys.executable, "-m", "snakemake", "--cores", str(args.cores), "--configfile", *map(str, CONFIGS)]
    start = time.perf_counter()
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # jobs' python
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env)
    measured = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"the scaled-down paper study failed:\n{proc.stderr[-3000:]}")
    ratio = predicted / measured
    print(f"measured:  {predict_time.describe(measured)}; predicted / measured = {ratio:.3f}")
    if args.json:
        figures = {
            "configs": [str(c.relative_to(REPO)) for c in CONFIGS],
            "cores": args.cores,
            "jobs": len(jobs),
            "predicted_s": predicted,
            "measured_s": measured,
            "ratio": ratio,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
