"""Shared fixtures: the repository root and a tiny toy dataset built through the real code path."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_helpers import REPO, TEST_CONFIG, snakemake

from xaugjets import datasets, io, toy


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def toy_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small balanced, split and scaled toy dataset file."""
    folder = tmp_path_factory.mktemp("data")
    shards = []
    for signal, seed in ((True, 1), (False, 2)):
        shards.append(str(folder / f"shard{seed}.h5"))
        io.write_jets(shards[-1], toy.generate(300, signal, seed, grid=16, overlap=0))
    path = folder / "dataset.h5"
    datasets.write_dataset(
        shards,
        path,
        {"train": 0.6, "val": 0.2, "test": 0.2},
        seed=5,
        n_sigma=3.0,
        windows={},
        xaug_inputs=(),
        xaug_encoding="minmax",
    )
    return path


@pytest.fixture(scope="session")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny study (config/test.yaml) run for real with 2 cores, plus its report; returns the workdir."""
    workdir = tmp_path_factory.mktemp("study")
    snakemake("--cores", "2", "--configfile", TEST_CONFIG, workdir=workdir)
    snakemake("--cores", "1", "--configfile", TEST_CONFIG, "--report", "report.html", workdir=workdir)
    return workdir
