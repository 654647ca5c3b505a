"""Operations: a real SLURM scheduler on loopback, and kill-and-resume of a running study.

Both run a slice of config/test.yaml and compare its tables with the full tiny study (the ``study``
fixture), which ran locally.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from slurm_cluster import LocalSlurm, SlurmUnavailable
from workflow_helpers import REPO, SUBSET_ARGS, SUBSET_JOBS, SUBSET_SAMPLE, assert_same_tables, job_counts, snakemake

# Resources of the SLURM profile sized for a real cluster, shrunk to the 2-core test node without GPUs.
SMALL_NODE = [
    "--set-resources",
    "dataset:mem_mb=1500",
    "train:mem_mb=1500",
    "train:gpu=0",
    "train:cpus_per_task=1",
    "explain:mem_mb=1500",
    "explain:gpu=0",
    "explain:cpus_per_task=1",
    "summary_plots:mem_mb=1500",
]

# The slice takes about 4 minutes here; a run still going after this is waiting on a job it lost.
HANG_AFTER_S = 1200


@pytest.mark.slurm
@pytest.mark.slow
def test_study_through_real_slurm(study, tmp_path):
    try:
        cluster = LocalSlurm(tmp_path / "cluster").__enter__()
    except SlurmUnavailable as err:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(err))
    try:
        proc = snakemake(
            "--profile",
            str(REPO / "profiles" / "slurm"),
            "--jobs",
            "4",
            *SUBSET_ARGS,
            *SMALL_NODE,
            # The README's way of batching short jobs: two explanation jobs per SLURM job.
            "--groups",
            "explain=explain",
            "--group-components",
            "explain=2",
            "--slurm-status-command",
            "squeue",
            "--slurm-no-account",
            "--slurm-init-seconds-before-status-checks",
            "2",
            "--latency-wait",
            "10",
            workdir=tmp_path / "run",
            timeout=HANG_AFTER_S,
        )
    except subprocess.TimeoutExpired as err:
        queue = subprocess.run(["squeue", "--states=all"], capture_output=True, text=True).stdout
        log = (err.stderr or b"").decode(errors="replace") if isinstance(err.stderr, bytes) else err.stderr or ""
        pytest.fail(f"snakemake under SLURM still running after {HANG_AFTER_S} s\nsqueue:\n{queue}\n{log[-3000:]}")
    finally:
        cluster.__exit__(None, None, None)
    output = proc.stdout + proc.stderr
    job_ids = set(re.findall(r"SLURM jobid (\d+)", output))
    assert len(job_ids) >= 5, output[-3000:]  # arrays count once; every rule went through sbatch
    assert_same_tables(study / "results" / SUBSET_SAMPLE, tmp_path / "run" / "results" / SUBSET_SAMPLE)
    daemons = subprocess.run(["pgrep", "-f", str(tmp_path / "cluster")], capture_output=True, text=True)
    assert daemons.stdout.strip() == "", "a SLURM daemon started by the test is still running"


def _count(pattern: str, root: Path) -> int:
    return len(list(root.glob(pattern)))


@pytest.mark.slow
def test_kill_and_resume(study, tmp_path):
    """SIGKILL the whole snakemake process group mid-run, run again: nothing finished is redone and the
    tables equal an uninterrupted run's."""
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--cores",
        "2",
        *SUBSET_ARGS,
        "--directory",
        str(tmp_path),
    ]
    first = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    results = tmp_path / "results" / SUBSET_SAMPLE
    lrp_logs = results / "logs" / "explain"
    deadline = time.time() + 600
    # Kill once an explanation job has started: snakemake schedules it only after recording its training.
    while _count("*.log", lrp_logs) < 1 and time.time() < deadline and first.poll() is None:
        time.sleep(0.2)
    assert first.poll() is None, "the run finished before it could be interrupted"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    recorded_done = {log.stem for log in lrp_logs.glob("*.log")}  # model_seedN
    # Any checkpoint under its final name is complete (written by rename after training).
    for checkpoint in results.glob("models/*/seed*/model.pt"):
        payload = torch.load(checkpoint, map_location="cpu", weights_only=True)
        assert payload["state_dict"], checkpoint

    snakemake("--unlock", "--cores", "1", *SUBSET_ARGS, workdir=tmp_path)
    second = snakemake("--cores", "2", *SUBSET_ARGS, workdir=tmp_path)
    rerun = job_counts(second.stdout + second.stderr)
    print(f"killed with {len(recorded_done)} trainings recorded as done; the second run executed {rerun}")
    assert len(recorded_done) >= 1
    assert rerun["total"] < SUBSET_JOBS
    assert rerun.get("train", 0) <= 4 - len(recorded_done)
    assert "toy_jets" not in rerun
    assert_same_tables(study / "results" / SUBSET_SAMPLE, tmp_path / "results" / SUBSET_SAMPLE)
