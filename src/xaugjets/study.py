"""The samples of a study: names, kinds and the conventions each one is explained with.

A *sample kind* (``toy``, ``pythia``, ``user``) makes jets; a *sample* is one study of a kind with its own
folder ``results/{sample}/``.  The toy kind gives one sample per overlap level (``toy-overlap{N}``) and, when
enabled, ``toy-reference`` with the reference study's conventions.  A name in ``samples`` that is a key of
``user_samples`` is a sample of kind ``user``: your own jets, read from files (:mod:`xaugjets.readers`).
Everything downstream of the jet files only sees the sample name and its :class:`Sample` settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REFERENCE_TOY = "toy-reference"
SAMPLE_KINDS = ("toy", "pythia")  # the built-in kinds; any other name in `samples` is one of user_samples
RESERVED = ("toy", "pythia", "summary")  # folder names under results/ that a user sample must not take


@dataclass(frozen=True)
class Sample:
    """One sample of the study and the conventions it is trained and explained with."""

    name: str
    kind: str
    xaug_encoding: str
    explained_output: str
    models: tuple[str, ...]
    windows: dict[str, list[float]]  # the selection on raw expert variables before training
    overlap: int | None = None


def samples(config: dict[str, Any]) -> dict[str, Sample]:
    """Every sample of a validated config, by name, in config order."""
    encoding = config["dataset"]["xaug_encoding"]
    output = config["relevance"]["explained_output"]
    models = tuple(config["models"])
    windows = dict(config["dataset"]["windows"])
    out: dict[str, Sample] = {}
    for kind in config["samples"]:
        if kind == "toy":
            for level in config["toy"]["overlaps"]:
                name = f"toy-overlap{level}"
                out[name] = Sample(name, "toy", encoding, output, models, windows, level)
            reference = config["toy"]["reference"]
            if reference["enabled"]:
                # Only the networks that see XAUG values: the others are the same networks as at the same
                # overlap with the default conventions (same jets, same seeds), so they are not retrained.
                xaug_models = tuple(m for m in models if m in reference["models"])
                out[REFERENCE_TOY] = Sample(
                    REFERENCE_TOY,
                    "toy",
                    reference["xaug_encoding"],
                    reference["explained_output"],
                    xaug_models,
                    windows,
                    reference["overlap"],
                )
        elif kind == "pythia":  # the m_SD window is part of its selection
            out[kind] = Sample(
                kind, kind, encoding, output, models, windows | {"m_sd": config["pythia"]["m_sd_window"]}
            )
        else:  # your own jets: the sample's windows on top of the dataset's
            out[kind] = Sample(
                kind, "user", encoding, output, models, windows | config["user_samples"][kind]["windows"]
            )
    return out


def check_samples(config: dict[str, Any]) -> None:
    """Every name in ``samples`` is a built-in kind or a key of ``user_samples``, and no user sample takes a
    name of the study's own folders.  Raises :class:`xaugjets.config.ConfigError` naming the key."""
    from .config import ConfigError

    user = config.get("user_samples", {})
    for name in user:
        if name in RESERVED or name.startswith("toy-"):
            raise ConfigError(f"user_samples.{name}: the study already uses results/{name}/; choose another name")
    for i, name in enumerate(config["samples"]):
        if name not in SAMPLE_KINDS and name not in user:
            raise ConfigError(f"samples.{i}: {name!r} is neither one of {list(SAMPLE_KINDS)} nor in user_samples")


def user_inputs(spec: dict[str, Any]) -> dict[str, tuple[str, int | None]]:
    """The input files of a user sample by part name (the jet files' prefix): ``file{i}`` for files with a
    label field, ``signal{i}``/``background{i}`` for files of one class; each with its class label or None."""
    files = spec["files"]
    if isinstance(files, list):
        return {f"file{i}": (path, None) for i, path in enumerate(files)}
    return {
        f"{kind}{i}": (path, label)
        for kind, label in (("signal", 1), ("background", 0))
        for i, path in enumerate(files[kind])
    }


def toy_overlap_samples(config: dict[str, Any]) -> list[str]:
    """The overlap scan's samples, in overlap order."""
    return [s.name for s in samples(config).values() if s.kind == "toy" and s.name != REFERENCE_TOY]


def reduced_samples(config: dict[str, Any]) -> list[str]:
    """The samples that get the reduced-set retraining: every one that trains the networks it needs (a study
    without them simply has no reduced sets; its answer page says so), except the reference-conventions toy
    (it checks conventions, not which variables suffice)."""
    reduced = config["reduced"]
    if not reduced["enabled"]:
        return []
    needed = {reduced["ranked_by"], *reduced["models"]}
    return [s.name for s in samples(config).values() if s.name != REFERENCE_TOY and needed <= set(s.models)]


def reduced_methods(config: dict[str, Any]) -> list[str]:
    """The explanation rankings of the reduced sets that the study computes (reduced.methods ∩ what runs)."""
    explained = {*config["relevance"]["rules"], *config["relevance"]["methods"]}
    return [method for method in config["reduced"]["methods"] if method in explained]
