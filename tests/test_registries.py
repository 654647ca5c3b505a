"""The config schema's choices are the registries' names, so a new model, method or process needs no second list."""

from __future__ import annotations

from xaugjets import attribution, relevance
from xaugjets.config import schema_section
from xaugjets.datasets import XAUG_ENCODINGS
from xaugjets.models import MODELS
from xaugjets.processes import PROCESSES
from xaugjets.study import samples
from xaugjets.training import TrainSettings


def enum(section: str, key: str) -> list:
    spec = schema_section(section)[key]
    return spec["items"]["enum"] if spec.get("type") == "array" else spec["enum"]


def test_schema_choices_are_the_registries():
    import yaml

    from xaugjets.config import SCHEMA

    schema = yaml.safe_load(SCHEMA.read_text())
    assert schema["properties"]["models"]["items"]["enum"] == list(MODELS)
    assert enum("relevance", "rules") == list(relevance.RULES)
    assert enum("relevance", "methods") == list(attribution.METHODS)
    assert enum("relevance", "explained_output") == list(relevance.EXPLAINED_OUTPUTS)
    assert enum("dataset", "xaug_encoding") == list(XAUG_ENCODINGS)
    assert set(PROCESSES) == {"zz", "qcd"}


def test_settings_come_from_the_schema_defaults():
    from xaugjets.config import validate_config

    config = validate_config({"samples": ["toy", "pythia"], "models": list(MODELS)})
    settings = TrainSettings.from_config(config["training"])
    for field, value in vars(settings).items():
        assert schema_section("training")[field]["default"] == value, field
    names = list(samples(config))
    assert names == ["toy-overlap0", "toy-overlap1", "toy-overlap2", "toy-reference", "pythia"]
