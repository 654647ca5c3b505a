"""Peak memory of the jobs that see a whole sample, against the number of jets (performance issue, item 5).

    .venv/bin/python benchmarks/memory.py                                   # 10^4, 10^5 and 10^6 jets
    .venv/bin/python benchmarks/memory.py --sizes 10000 30000 --json /tmp/memory.json

For each size N it replicates the jets of ``--source`` (the study's Pythia jet files by default, else a toy
sample) to N jets in shards of ``--shard-jets``, then runs, each as its own process exactly as a workflow job
runs it, and records its peak resident memory (``/usr/bin/time``'s maximum RSS) and wall time:

1. the dataset stage on those shards (no selection windows, so every jet enters);
2. a training job of ``xaug_dnn`` for one epoch, reading its batches from disk (``stream_above 0``);
3. an explanation job of that network (every method of the config, its capped test jets).

It prints a table and the ratio of the largest to the smallest peak per job (target: within 1.2).
"""

from __future__ import annotations

import argparse
import glob
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import yaml

from xaugjets import toy
from xaugjets.cli import config_flags
from xaugjets.config import validate_config
from xaugjets.datasets import concatenate, load_shards
from xaugjets.io import ARRAY_KEYS, JetArrays

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def source_jets(pattern: str) -> tuple[JetArrays, str]:
    """The jets to replicate: the files matching ``pattern`` (relative to the repository), or a toy sample
    when there are none."""
    paths = sorted(glob.glob(str(REPO / pattern)))
    if paths:
        return load_shards(paths), f"{len(paths)} files `{pattern}`"
    parts = [toy.generate(5000, signal, seed, grid=16, overlap=1) for signal, seed in ((True, 1), (False, 2))]
    return concatenate(parts), "toy sample, overlap 1 (no jet files found)"


def write_shards(jets: JetArrays, n_jets: int, shard_jets: int, folder: Path) -> list[str]:
    """``n_jets`` jets, the source's rows in one fixed random order (so both classes are in every size),
    repeated, in uncompressed shards of ``shard_jets``."""
    order = np.random.default_rng(0).permutation(len(jets))
    paths = []
    for start in range(0, n_jets, shard_jets):
        rows = order[np.arange(start, min(start + shard_jets, n_jets)) % len(jets)]
        path = folder / f"shard{len(paths)}.h5"
        with h5py.File(path, "w") as f:
            for key in ARRAY_KEYS:
                f.create_dataset(key, data=getattr(jets, key)[rows])
            f.attrs["xaug_names"] = json.dumps(jets.xaug_names)
            f.attrs["particle_features"] = json.dumps(jets.particle_features)
            f.attrs["provenance"] = json.dumps({"replicated_from_rows": len(jets)})
            f.attrs["cutflow"] = json.dumps({"accepted": len(rows)})
        paths.append(str(path))
    return paths


def measured(command: str, folder: Path, name: str) -> dict[str, float]:
    """Peak RSS [MB] and wall time [s] of one job, run through GNU time; its output goes to a log file."""
    timing = folder / f"{name}.time"
    with open(folder / f"{name}.log", "w") as log:
        subprocess.run(
            ["/usr/bin/time", "-f", "%M %e", "-o", str(timing), *shlex.split(command)],
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            cwd=REPO,
        )
    peak_kb, seconds = timing.read_text().split()[-2:]
    return {"peak_rss_mb": int(peak_kb) / 1024, "seconds": float(seconds)}


def jobs(config: dict[str, Any], shards: list[str], folder: Path) -> dict[str, dict[str, float]]:
    dataset, model = folder / "dataset.h5", folder / "model"
    commands = {
        "dataset": f"{PYTHON} -m xaugjets dataset {' '.join(shards)} {config_flags('dataset', config, windows={})} "
        f"--xaug-inputs --output {dataset}",
        "train (xaug_dnn, 1 epoch)": f"{PYTHON} -m xaugjets train --dataset {dataset} --model xaug_dnn --seed 1 "
        f"--outdir {model} {config_flags('train', config, max_epochs=1, stream_above=0, shuffled_labels=False)}",
        "explain (xaug_dnn)": f"{PYTHON} -m xaugjets explain --dataset {dataset} --model-file {model}/model.pt "
        f"{config_flags('explain', config)} --outdir {folder / 'explain'}",
    }
    return {name: measured(command, folder, f"job{i}") for i, (name, command) in enumerate(commands.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--source", default="results/pythia/jets/*.h5", help="jet files to replicate (glob)")
    parser.add_argument("--shard-jets", type=int, default=100_000)
    parser.add_argument("--config", type=Path, default=REPO / "config" / "config.yaml")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    config = validate_config(yaml.safe_load(args.config.read_text()))
    jets, described = source_jets(args.source)
    print(f"source: {described}, {len(jets)} jets replicated to {args.sizes}")
    results: dict[str, dict[str, dict[str, float]]] = {}
    for n_jets in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            shards = write_shards(jets, n_jets, args.shard_jets, folder)
            results[str(n_jets)] = jobs(config, shards, folder)
        print(f"{n_jets} jets: " + ", ".join(f"{k} {v['peak_rss_mb']:.0f} MB" for k, v in results[str(n_jets)].items()))
    names = list(next(iter(results.values())))
    header = ["job", *(f"{int(n):,} jets: MB (s)" for n in results), "largest / smallest peak"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    ratios = {}
    for name in names:
        peaks = [results[n][name]["peak_rss_mb"] for n in results]
        ratios[name] = max(peaks) / min(peaks)
        cells = [f"{results[n][name]['peak_rss_mb']:.0f} ({results[n][name]['seconds']:.0f})" for n in results]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {ratios[name]:.2f} |")
    table = "\n".join(lines)
    print("\n" + table)
    if args.json:
        payload = {"source": described, "jobs": results, "ratio": ratios, "table": table}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
