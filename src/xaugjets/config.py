"""Configuration checks: the JSON schema (with defaults) plus the cross-field rules a schema cannot say.

The Snakefile calls :func:`validate_config` before building the DAG, so a bad config stops the run
before any job starts, with a message that names the offending key.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A configuration value is invalid; the message starts with the key path."""


def _check_window(key: str, window: list[float]) -> None:
    low, high = window
    if not low < high:
        raise ConfigError(f"{key}: window low ({low}) must be below high ({high})")


def semantic_checks(config: dict[str, Any]) -> None:
    """Rules that span several keys or depend on values (the schema has checked types and ranges)."""
    if config["images"]["grid"] % 2:
        raise ConfigError(f"images.grid: must be even for the parity flip, got {config['images']['grid']}")
    for name, window in config["dataset"]["windows"].items():
        _check_window(f"dataset.windows.{name}", window)
    pythia = config["pythia"]
    if not pythia["decays"]:
        raise ConfigError("pythia.decays: the list of allowed Z decays is empty")
    _check_window("pythia.m_sd_window", pythia["m_sd_window"])


def validate_config(config: dict[str, Any], schema: str | Path = SCHEMA) -> dict[str, Any]:
    """Validate ``config`` in place (filling defaults) and return it; raise naming the key on error."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, str(schema), set_default=True)
    except WorkflowError as err:
        raise ConfigError(_schema_message(err)) from err
    semantic_checks(config)
    return config


def _schema_message(err: Exception) -> str:
    """Turn jsonschema's report into 'key.path: reason'."""
    cause = err.__cause__ or err.__context__
    while cause is not None and not hasattr(cause, "absolute_path"):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return str(err)
    path = ".".join(str(p) for p in cause.absolute_path) or "<top level>"
    return f"{path}: {cause.message}"


def config_hash(config: dict[str, Any]) -> str:
    """A short stable hash of the resolved config, recorded in every provenance file."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
