"""Running the real workflow from tests: the venv's interpreter first on PATH, outputs in a temp dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def snakemake(
    *args: str, workdir: Path | None = None, cwd: Path = REPO, check: bool = True, timeout: float = 3600
) -> subprocess.CompletedProcess:
    """Run ``snakemake --snakefile <repo>/Snakefile ARGS`` from ``cwd`` (with ``--directory workdir`` if given)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), *args]
    if workdir is not None:
        cmd += ["--directory", str(workdir)]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry-run as {rule: count}."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Job stats")) + 3
    counts = {}
    for line in lines[start:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


TEST_CONFIG = str(REPO / "config" / "test.yaml")
# A small slice of config/test.yaml (toy only, two networks, one LRP rule) for the SLURM and resume tests;
# its tables must equal the corresponding tables of the full tiny study.
SUBSET_MODELS = ["xaug_dnn", "cnn2d_xaug"]
SUBSET_RULES = ["presetA"]
SUBSET_ARGS = ["--configfile", TEST_CONFIG, str(REPO / "tests" / "data" / "subset.yaml")]
SUBSET_SAMPLE = "toy-overlap0"
SUBSET_JOBS = 22  # toy_jets 4, dataset, provenance, train 4, explain 4, relevance_summary 2, 5 summaries, all


def assert_same_tables(reference: Path, other: Path, models=SUBSET_MODELS, rules=SUBSET_RULES) -> None:
    """Two runs on one machine: relevance tables byte for byte, performance rows value for value.

    Both runs come from this machine and this torch build, where the code promises identical bits, so the
    comparison is exact.  Only the values are compared, not pandas' dtypes: a column whose values happen to
    be whole numbers in one table (a capped rejection) reads as int64 there and float64 in the other.
    """
    import pandas as pd

    for model in models:
        for rule in rules:
            name = f"tables/relevance_{model}_{rule}.csv"
            assert (other / name).read_text() == (reference / name).read_text(), name
    first = pd.read_csv(reference / "tables" / "performance.csv").set_index("model").loc[models]
    second = pd.read_csv(other / "tables" / "performance.csv").set_index("model").loc[models]
    pd.testing.assert_frame_equal(first, second, check_dtype=False, check_exact=True)
