"""A broken config stops before any job runs, with a message naming the key."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from xaugjets.config import ConfigError, config_hash, validate_config


@pytest.fixture(scope="module")
def good(repo) -> dict:
    return yaml.safe_load((repo / "config" / "config.yaml").read_text())


def broken(good: dict, path: str, value) -> dict:
    """``good`` with ``path`` (dot-separated) set to ``value``, or removed when value is ...."""
    cfg = copy.deepcopy(good)
    *parents, leaf = path.split(".")
    node = cfg
    for key in parents:
        node = node.setdefault(key, {})
    if value is ...:
        del node[leaf]
    else:
        node[leaf] = value
    return cfg


def test_default_and_test_configs_are_valid(repo, good):
    validate_config(good)
    assert good["training"]["accelerator"] == "auto"  # default filled in
    validate_config(yaml.safe_load((repo / "config" / "test.yaml").read_text()))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("models", ["cnn2d", "transformer"], r"models\.1: 'transformer' is not one of"),
        ("relevance.rules", ["z", "gamma"], r"relevance\.rules\.1: 'gamma' is not one of"),
        ("toy.jets_per_shard", -5, r"toy\.jets_per_shard: -5 is less than the minimum"),
        ("training.seeds", [], r"training\.seeds: \[\] should be non-empty"),
        ("models", ..., r"'models' is a required property"),
        ("samples", ..., r"'samples' is a required property"),
        ("training.max_epochs", "ten", r"training\.max_epochs: 'ten' is not of type 'integer'"),
        ("relevance.epsilon", -0.1, r"relevance\.epsilon: -0.1 is less than or equal to the minimum"),
        ("training.learning_rat", 0.1, r"training: Additional properties are not allowed \('learning_rat'"),
        ("images.grid", 15, r"images\.grid: must be even"),
        ("dataset.windows", {"theta": [0.3, 0.1]}, r"dataset\.windows\.theta: window low \(0.3\) must be below"),
    ],
)
def test_broken_config_names_the_key(good, path, value, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(broken(good, path, value))


def test_config_hash_is_stable(good):
    a = copy.deepcopy(good)
    assert config_hash(a) == config_hash(copy.deepcopy(good))
    a["training"]["seeds"] = [9]
    assert config_hash(a) != config_hash(good)


def test_snakemake_stops_before_any_job(repo, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("samples: [toy]\nmodels: [cnn2d, cnn9d]\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--cores",
            "1",
            "--configfile",
            str(bad),
            "--directory",
            str(tmp_path),
            "--snakefile",
            str(repo / "Snakefile"),
        ],
        capture_output=True,
        text=True,
        cwd=repo,
    )
    assert proc.returncode != 0
    assert "models.1: 'cnn9d' is not one of" in proc.stdout + proc.stderr
    assert "Job stats" not in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()
