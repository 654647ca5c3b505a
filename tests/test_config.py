"""A broken config stops before any job runs, with a message naming the key."""

from __future__ import annotations

import copy
import json
import re
import shlex
import subprocess
import sys

import pytest
import yaml
from workflow_helpers import REPO, job_counts, snakemake

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
        ("models", ["cnn2d", "transformer"], r"models\.1: 'transformer' is neither one of .* nor in user_models"),
        ("user_models", {"cnn2d": {"factory": "a.b:c", "inputs": ["image"]}}, r"user_models\.cnn2d: the study already"),
        ("user_models", {"me": {"factory": "no", "inputs": ["image"]}}, r"user_models\.me\.factory: 'no' does"),
        ("relevance.rules", ["z", "no_such_rule"], r"relevance\.rules\.1: 'no_such_rule' is not one of"),
        ("toy.jets_per_shard", -5, r"toy\.jets_per_shard: -5 is less than the minimum"),
        ("training.seeds", [], r"training\.seeds: \[\] should be non-empty"),
        ("models", ..., r"'models' is a required property"),
        ("samples", ..., r"'samples' is a required property"),
        ("training.max_epochs", "ten", r"training\.max_epochs: 'ten' is not of type 'integer'"),
        ("relevance.epsilon", -0.1, r"relevance\.epsilon: -0.1 is less than or equal to the minimum"),
        ("training.learning_rat", 0.1, r"training: Additional properties are not allowed \('learning_rat'"),
        ("images.grid", 15, r"images\.grid: must be even"),
        ("dataset.windows", {"theta": [0.3, 0.1]}, r"dataset\.windows\.theta: window low \(0.3\) must be below"),
        ("efp.black_boxes", ["cnn2d", "cnn3d"], r"efp\.black_boxes\.1: 'cnn3d' is neither one of"),
        ("efp.max_degree", 9, r"efp\.max_degree: 9 is greater than the maximum of 7"),
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
    assert "models.1: 'cnn9d' is neither one of" in proc.stdout + proc.stderr
    assert "Job stats" not in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


def overridden(good: dict, *entries: str) -> dict:
    """``good`` merged with ``--config`` entries exactly as Snakemake 9 parses and merges them."""
    from snakemake.cli import parse_config
    from snakemake.utils import update_config

    cfg = copy.deepcopy(good)
    update_config(cfg, parse_config(list(entries)))
    return cfg


DATASET = "dataset={windows: {m_sd: [50, 150.0]}, fractions: {train: .5, val: .25, test: .25}}"


@pytest.mark.parametrize(
    ("entry", "path", "expected"),
    [
        ('training={"seeds": [1,2,3,4,5]}', "training.seeds", [1, 2, 3, 4, 5]),
        ('training={"learning_rate": 1e-4, "dropout": 0}', "training.learning_rate", 1e-4),
        ('training={"learning_rate": 1e-4, "dropout": 0}', "training.dropout", 0),
        ('pythia={"m_sd_window": [60, 120.5], "pthat_min": 300}', "pythia.m_sd_window", [60, 120.5]),
        ('pythia={"decays": [5], "events_per_shard": 10_000}', "pythia.decays", [5]),
        ('pythia={"decays": [5], "events_per_shard": 10_000}', "pythia.events_per_shard", 10000),
        (DATASET, "dataset.windows", {"m_sd": [50, 150.0]}),
        (DATASET, "dataset.fractions.train", 0.5),
        ("images={grid: 32}", "images.grid", 32),
        ("training={accelerator: cpu}", "training.accelerator", "cpu"),  # strings stay strings
        ('toy={"xaug_inputs": [1]}', "toy.xaug_inputs", ["1"]),  # a list of names, not numbers
    ],
)
def test_config_overrides_get_the_schema_types(good, entry, path, expected):
    cfg = validate_config(overridden(good, entry))
    value = cfg
    for key in path.split("."):
        value = value[key]
    assert value == expected
    assert json.dumps(value) == json.dumps(expected)  # int stays int, float stays float, str stays str


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('training={"max_epochs": ten}', r"training\.max_epochs: 'ten' is not of type 'integer'"),
        ('training={"max_epochs": 1.5}', r"training\.max_epochs: '1\.5' is not of type 'integer'"),
        ('relevance={"epsilon": nan}', r"relevance\.epsilon: 'nan' is not of type 'number'"),
        ('training={"seeds": [1, -2]}', r"training\.seeds\.1: -2 is less than the minimum"),
        ('pythia={"decays": [7]}', r"pythia\.decays\.0: 7 is not one of"),
    ],
)
def test_bad_config_overrides_still_name_the_key(good, entry, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(overridden(good, entry))


def test_coercion_is_in_place(good):
    """The Snakefile's ``config`` object itself must hold the converted values."""
    cfg = overridden(good, 'training={"seeds": [4, 5]}')
    seeds = cfg["training"]["seeds"]
    validate_config(cfg)
    assert seeds == [4, 5]


COERCE_SCHEMA = """
$schema: "https://json-schema.org/draft/2020-12/schema"
$defs:
  window: {type: array, prefixItems: [{type: number}, {type: integer}], items: {type: boolean}}
type: object
properties:
  flag: {type: boolean}
  either: {type: [integer, string]}
  maybe: {anyOf: [{type: "null"}, {type: number}]}
  level: {enum: [0, 1, 2]}
  window: {$ref: "#/$defs/window"}
  remote: {$ref: "other.yaml#/$defs/count"}
  first: &item {type: object, additionalProperties: {type: integer}}
  second: *item
  all: {allOf: [{$ref: "#/$defs/window"}, {minItems: 1}]}
patternProperties:
  "^n_": {type: integer}
additionalProperties: {type: string}
"""


def test_coerce_types_follows_the_schema(tmp_path):
    from xaugjets.config import coerce_types

    (tmp_path / "schema.yaml").write_text(COERCE_SCHEMA)
    (tmp_path / "other.yaml").write_text("$defs: {count: {type: integer}}\n")
    data = {
        "flag": "false",
        "either": "3",
        "maybe": "2.5",
        "level": "1",
        "window": ["1.5", "2", "yes", "off"],
        "remote": "7",
        "first": {"a": "1"},
        "second": {"b": "2"},
        "all": ["0", "1.0", "True"],
        "n_jets": "10",
        "name": "42",
        "untouched": None,
    }
    out = coerce_types(data, tmp_path / "schema.yaml")
    assert out is data
    assert data == {
        "flag": False,
        "either": "3",
        "maybe": 2.5,
        "level": 1,
        "window": [1.5, 2, True, False],
        "remote": 7,
        "first": {"a": 1},
        "second": {"b": 2},
        "all": [0, 1, True],
        "n_jets": 10,
        "name": "42",
        "untouched": None,
    }
    assert [type(v) for v in data["window"]] == [float, int, bool, bool]
    assert [type(v) for v in data["all"]] == [int, int, bool]


def test_readme_config_override_dry_run(repo, tmp_path):
    """The README's `snakemake --cores 4 --config 'training={...}'` example, as a dry run, trains 5 seeds."""
    match = re.search(r"`(snakemake --cores \d+ --config '[^`]+')`", (repo / "README.md").read_text())
    assert match, "README.md no longer shows a `snakemake --cores N --config '...'` example"
    command = shlex.split(match.group(1))
    # The Snakefile's `configfile: "config/config.yaml"` is read relative to the working directory.
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text((repo / "config" / "config.yaml").read_text())
    default = job_counts(_output(snakemake("-n", "--cores", "4", workdir=tmp_path)))
    counts = job_counts(_output(snakemake("-n", *command[1:], workdir=tmp_path)))
    default_seeds = len(
        validate_config(yaml.safe_load((repo / "config" / "config.yaml").read_text()))["training"]["seeds"]
    )
    # Jobs per seed are the same with and without the override; only the number of seeds changes (to 5).
    assert counts["train"] > 0 and counts["train"] * default_seeds == default["train"] * 5
    assert counts.get("lrp", 0) * default_seeds == default.get("lrp", 0) * 5


def _output(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout + proc.stderr


def config_docs(*args: str) -> subprocess.CompletedProcess:
    """Run scripts/config_docs.py (its defaults: the repository's schema and config/README.md)."""
    return subprocess.run([sys.executable, "scripts/config_docs.py", *args], capture_output=True, text=True, cwd=REPO)


def test_config_readme_is_up_to_date():
    proc = config_docs("--check")
    assert proc.returncode == 0, f"config/README.md is stale: run `python scripts/config_docs.py`\n{proc.stderr}"


def test_config_readme_documents_every_key(repo):
    """Every key path of the schema has a row, and every section a table (an independent walk)."""
    schema = yaml.safe_load((repo / "workflow" / "schemas" / "config.schema.yaml").read_text())
    text = (repo / "config" / "README.md").read_text()

    def keys(node: dict, prefix: str) -> list[str]:
        out = []
        for name, child in (node.get("properties") or {}).items():
            out += [f"{prefix}{name}", *keys(child, f"{prefix}{name}.")]
        return out

    for key in keys(schema, ""):
        assert f"| `{key}` |" in text, f"config/README.md has no row for {key}"
    for section in schema["properties"]:
        assert f"## `{section}`" in text


def test_config_docs_check_sees_a_changed_schema(repo, tmp_path):
    schema = yaml.safe_load((repo / "workflow" / "schemas" / "config.schema.yaml").read_text())
    schema["properties"]["training"]["properties"]["new_knob"] = {"type": "integer", "default": 7}
    (tmp_path / "schema.yaml").write_text(yaml.safe_dump(schema))
    assert config_docs("--check", "--schema", str(tmp_path / "schema.yaml")).returncode == 1
    out = tmp_path / "README.md"
    assert config_docs("--schema", str(tmp_path / "schema.yaml"), "--output", str(out)).returncode == 0
    assert "| `training.new_knob` | integer | `7` |" in out.read_text()
    assert config_docs("--check", "--schema", str(tmp_path / "schema.yaml"), "--output", str(out)).returncode == 0


def readme_settings(text: str) -> list[tuple[str, object]]:
    """Every ``key.path: value`` of the README's "Common changes" table, value parsed as YAML."""
    table = text.split("Common changes:", 1)[1].strip().split("\n\n", 1)[0]
    cells = [line.split("|")[2] for line in table.splitlines() if line.startswith("| ") and line.count("|") >= 3]
    settings = []
    for cell in cells:
        for snippet in re.findall(r"`([a-z_]+(?:\.[a-z_]+)*): ([^`]+)`", cell):
            settings.append((snippet[0], yaml.safe_load(snippet[1])))
    return settings


def test_readme_common_changes_are_valid_settings(repo, good):
    """Each setting the README's table of common changes shows passes the schema and lands at its key."""
    settings = readme_settings((repo / "README.md").read_text())
    assert len(settings) >= 15, "the README's table of common changes was not found"
    for path, value in settings:
        cfg = validate_config(broken(good, path, value))
        node = cfg
        for key in path.split("."):
            node = node[key]
        assert node == value, path


def test_readme_settings_parser_sees_a_typo(good):
    """The check above can fail: a misspelt key in the table is rejected by the schema, naming it."""
    text = "Common changes:\n\n| to | set |\n| --- | --- |\n| more seeds | `training.seed: [1, 2]` |\n\nNext"
    ((path, value),) = readme_settings(text)
    with pytest.raises(ConfigError, match="training"):
        validate_config(broken(good, path, value))
