"""The config schema's choices are the registries' names, so a new model, method or process needs no second list."""

from __future__ import annotations

import shlex
from dataclasses import fields

import pytest

from xaugjets import attribution, reduced, relevance
from xaugjets.attribution import MethodSettings
from xaugjets.cli import STAGE_SETTINGS, build_parser, config_flags
from xaugjets.config import BUILTIN_MODELS, has_default, schema_section, section_defaults
from xaugjets.datasets import XAUG_ENCODINGS
from xaugjets.explain import ExplainSettings
from xaugjets.generation import GeneratorSettings
from xaugjets.jets import JetSettings
from xaugjets.models import MODELS
from xaugjets.processes import PROCESSES
from xaugjets.study import SAMPLE_KINDS, TOY_PROCESSES, jet_files, samples
from xaugjets.training import TrainSettings


def enum(section: str, key: str) -> list:
    spec = schema_section(section)[key]
    return spec["items"]["enum"] if spec.get("type") == "array" else spec["enum"]


def test_schema_choices_are_the_registries():
    import yaml

    from xaugjets.config import SCHEMA

    schema = yaml.safe_load(SCHEMA.read_text())
    assert list(BUILTIN_MODELS) == list(MODELS)
    reference = schema["properties"]["toy"]["properties"]["reference"]["properties"]["models"]
    assert reference["items"]["enum"] == list(MODELS)
    assert enum("relevance", "rules") == list(relevance.RULES)
    assert enum("relevance", "methods") == list(attribution.METHODS)
    assert enum("relevance", "explained_output") == list(relevance.EXPLAINED_OUTPUTS)
    assert enum("dataset", "xaug_encoding") == list(XAUG_ENCODINGS)
    assert enum("relevance", "ig_method") == list(attribution.IG_QUADRATURES)
    assert enum("reduced", "methods") == [*relevance.RULES, *attribution.METHODS]
    assert enum("reduced", "rankings") == list(reduced.RANKINGS)
    assert set(enum("reduced", "models")) == {m for m in MODELS if "xaug" in m}
    assert set(PROCESSES) == {"zz", "qcd"}


REQUIRED = {  # the non-settings arguments of each stage
    "pythia": ["--process", "zz", "--shard", "0", "--output", "x.h5"],
    "train": ["--dataset", "d.h5", "--model", "cnn2d", "--seed", "1", "--outdir", "m"],
    "explain": ["--dataset", "d.h5", "--model-file", "m.pt", "--outdir", "r"],
    "reduced": ["--dataset", "d.h5", "--tables", "t", "--seed", "1", "--outdir", "r"],
}
STAGE_CLASSES = [  # (stage, settings class, per-job fields)
    ("pythia", JetSettings, {}),
    ("pythia", GeneratorSettings, {"process": "zz", "seed": 7}),
    ("train", TrainSettings, {}),
    ("explain", ExplainSettings, {}),
    ("explain", MethodSettings, {}),
]


@pytest.mark.parametrize(("stage", "cls", "per_job"), STAGE_CLASSES, ids=lambda v: getattr(v, "__name__", None))
def test_every_knob_has_one_default(stage, cls, per_job):
    """Settings take their defaults from the schema only: no field of a config key has a default of its own,
    the schema-default settings carry the schema's values, and the stage's flags give the same settings."""
    sections = {key: value for name in cls.SECTIONS for key, value in section_defaults(name).items()}
    for f in fields(cls):
        key = cls.CONFIG_KEYS.get(f.name, f.name)
        if key in sections:
            assert not has_default(cls, f.name), f"{cls.__name__}.{f.name} restates the default of {key}"
        else:
            assert has_default(cls, f.name) or f.name in per_job, f"{cls.__name__}.{f.name} comes from nowhere"
    default = cls.default(**per_job)
    for f in fields(cls):
        key = cls.CONFIG_KEYS.get(f.name, f.name)
        if key in sections and f.name not in per_job:
            expected = sections[key]
            assert getattr(default, f.name) == (tuple(expected) if isinstance(expected, list) else expected), f.name
    flags = vars(build_parser().parse_args([stage, *REQUIRED[stage]]))
    assert cls.from_config(flags, **per_job) == default


def test_workflow_flags_round_trip():
    """config_flags renders a config that the stage's parser reads back unchanged (lists, booleans, JSON)."""
    from xaugjets.config import validate_config

    config = validate_config({"samples": ["pythia"], "models": ["cnn2d"], "pythia": {"vertex_cap_mm": 3.0}})
    config["pythia"]["require_z_match"] = True
    config["dataset"]["windows"] = {"m_sd": [60.0, 120.0]}
    for stage in ("pythia", "dataset", "train", "explain", "reduced"):
        argv = shlex.split(config_flags(stage, config))
        args = vars(build_parser().parse_args([stage, *REQUIRED.get(stage, ["in.h5", "--output", "o.h5"]), *argv]))
        for section, keys in STAGE_SETTINGS[stage].items():
            for key in keys:
                value = config[section][key]
                assert args[key] == value or list(args[key]) == value, (stage, key)
    with pytest.raises(KeyError, match="no config keys"):
        config_flags("train", config, windows={})


def test_settings_come_from_the_schema_defaults():
    from xaugjets.config import validate_config

    config = validate_config({"samples": ["toy", "pythia"], "models": list(MODELS)})
    settings = TrainSettings.from_config(config["training"])
    for field, value in vars(settings).items():
        assert schema_section("training")[field]["default"] == value, field
    names = list(samples(config))
    assert names == ["toy-overlap0", "toy-overlap1", "toy-overlap2", "toy-reference", "pythia"]


def test_methods_declare_what_they_need():
    """Every registered method names its completeness baseline and records only real settings."""
    knobs = {f.name for f in fields(MethodSettings)}
    for name, method in attribution.METHODS.items():
        assert method.baseline in attribution.BASELINES, name
        assert set(method.knobs) <= knobs, name
    lrp = attribution.lrp_method("z", relevance.RuleParameters(0.1, 2.0))
    assert lrp.baseline == "output" and lrp.needs is None


def test_every_sample_kind_names_its_jet_files():
    """Each kind expands to its samples and lists one jet file per part and shard; the workflow asks only this."""
    from xaugjets.config import validate_config

    config = validate_config(
        {
            "samples": ["toy", "pythia", "mine"],
            "models": ["xaug_dnn"],
            "toy": {"overlaps": [0, 2], "shards": 3},
            "pythia": {"shards": 2},
            "user_samples": {"mine": {"layout": "awkward", "files": {"signal": ["s.parquet"], "background": ["b.h5"]}}},
        }
    )
    found = samples(config)
    assert {s.kind for s in found.values()} == set(SAMPLE_KINDS)
    assert jet_files(config, "toy-overlap2") == [
        f"results/toy-overlap2/jets/{process}_{shard}.h5" for process in TOY_PROCESSES for shard in range(3)
    ]
    assert len(jet_files(config, "pythia")) == 2 * len(PROCESSES)
    assert jet_files(config, "mine") == ["results/mine/jets/signal0_0.h5", "results/mine/jets/background0_0.h5"]
