"""The samples of a study: names, kinds and the conventions each one is explained with.

A *sample kind* (``toy``, ``pythia``, ``user``) makes jets; a *sample* is one study of a kind with its own
folder ``results/{sample}/``.  The toy kind gives one sample per overlap level (``toy-overlap{N}``) and, when
enabled, ``toy-reference`` with the reference study's conventions.  A name in ``samples`` that is a key of
``user_samples`` is a sample of kind ``user``: your own jets, read from files (:mod:`xaugjets.readers`).
Everything downstream of the jet files only sees the sample name and its :class:`Sample` settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .processes import PROCESSES

REFERENCE_TOY = "toy-reference"
TOY_PROCESSES = ("signal", "background")


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


@dataclass(frozen=True)
class SampleKind:
    """A way of making jets: the samples that one entry of ``samples`` expands to, and each sample's jet files
    as (part, shards), the part being a process or an input file.  Adding a kind is one entry here, its
    section of the config schema and the rule that writes ``results/{sample}/jets/{part}_{shard}.h5``."""

    expand: Callable[[dict[str, Any], str, Sample], dict[str, Sample]]
    jet_parts: Callable[[dict[str, Any], str], tuple[list[str], int]]


def _toy_samples(config: dict[str, Any], entry: str, base: Sample) -> dict[str, Sample]:
    """One sample per overlap level and, when enabled, the reference-conventions toy."""
    out = {
        f"toy-overlap{level}": replace(base, name=f"toy-overlap{level}", overlap=level)
        for level in config["toy"]["overlaps"]
    }
    reference = config["toy"]["reference"]
    if reference["enabled"]:
        # Only the networks that see XAUG values: the others are the same networks as at the same overlap with
        # the default conventions (same jets, same seeds), so they are not retrained.
        out[REFERENCE_TOY] = replace(
            base,
            name=REFERENCE_TOY,
            xaug_encoding=reference["xaug_encoding"],
            explained_output=reference["explained_output"],
            models=tuple(m for m in base.models if m in reference["models"]),
            overlap=reference["overlap"],
        )
    return out


def _pythia_samples(config: dict[str, Any], entry: str, base: Sample) -> dict[str, Sample]:
    """One sample; the m_SD window is part of its selection."""
    return {entry: replace(base, windows=base.windows | {"m_sd": config["pythia"]["m_sd_window"]})}


def _user_samples(config: dict[str, Any], entry: str, base: Sample) -> dict[str, Sample]:
    """Your own jets: the sample's windows on top of the dataset's."""
    return {entry: replace(base, windows=base.windows | config["user_samples"][entry]["windows"])}


def _toy_parts(config: dict[str, Any], sample: str) -> tuple[list[str], int]:
    return list(TOY_PROCESSES), config["toy"]["shards"]


def _pythia_parts(config: dict[str, Any], sample: str) -> tuple[list[str], int]:
    return list(PROCESSES), config["pythia"]["shards"]


def _user_parts(config: dict[str, Any], sample: str) -> tuple[list[str], int]:
    spec = config["user_samples"][sample]
    return list(user_inputs(spec)), spec["shards_per_file"]


SAMPLE_KINDS: dict[str, SampleKind] = {
    "toy": SampleKind(_toy_samples, _toy_parts),
    "pythia": SampleKind(_pythia_samples, _pythia_parts),
    "user": SampleKind(_user_samples, _user_parts),
}
BUILT_IN = ("toy", "pythia")  # names in `samples` that are kinds; any other is a key of user_samples
RESERVED = (*BUILT_IN, "summary")  # folder names under results/ that a user sample must not take


def _kind_of_entry(entry: str) -> str:
    return entry if entry in BUILT_IN else "user"


def samples(config: dict[str, Any]) -> dict[str, Sample]:
    """Every sample of a validated config, by name, in config order."""
    out: dict[str, Sample] = {}
    for entry in config["samples"]:
        kind = _kind_of_entry(entry)
        base = Sample(
            name=entry,
            kind=kind,
            xaug_encoding=config["dataset"]["xaug_encoding"],
            explained_output=config["relevance"]["explained_output"],
            models=tuple(config["models"]),
            windows=dict(config["dataset"]["windows"]),
        )
        out |= SAMPLE_KINDS[kind].expand(config, entry, base)
    return out


def jet_files(config: dict[str, Any], sample: str) -> list[str]:
    """The jet files of one sample, every part and shard, relative to the study folder."""
    parts, shards = SAMPLE_KINDS[samples(config)[sample].kind].jet_parts(config, sample)
    return [f"results/{sample}/jets/{part}_{shard}.h5" for part in parts for shard in range(shards)]


def check_samples(config: dict[str, Any]) -> None:
    """Every name in ``samples`` is a built-in kind or a key of ``user_samples``, and no user sample takes a
    name of the study's own folders.  Raises :class:`xaugjets.config.ConfigError` naming the key."""
    from .config import ConfigError

    user = config.get("user_samples", {})
    for name in user:
        if name in RESERVED or name.startswith("toy-"):
            raise ConfigError(f"user_samples.{name}: the study already uses results/{name}/; choose another name")
    for i, name in enumerate(config["samples"]):
        if name not in BUILT_IN and name not in user:
            raise ConfigError(f"samples.{i}: {name!r} is neither one of {list(BUILT_IN)} nor in user_samples")


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


def reduced_joint_models(config: dict[str, Any], sample: str) -> list[str]:
    """The image (or particles) + top-k networks of a sample: reduced.joint_models that it trains."""
    return [model for model in config["reduced"]["joint_models"] if model in samples(config)[sample].models]


def reduced_methods(config: dict[str, Any]) -> list[str]:
    """The explanation rankings of the reduced sets that the study computes (reduced.methods ∩ what runs)."""
    explained = {*config["relevance"]["rules"], *config["relevance"]["methods"]}
    return [method for method in config["reduced"]["methods"] if method in explained]


def efp_samples(config: dict[str, Any]) -> list[str]:
    """The samples that get the guided EFP search: every one with the expert network and a black box, except
    the reference-conventions toy (it checks conventions)."""
    if not config["efp"]["enabled"]:
        return []
    return [s.name for s in samples(config).values() if s.name != REFERENCE_TOY and efp_black_boxes(config, s.name)]


def efp_black_boxes(config: dict[str, Any], sample: str) -> list[str]:
    """The configured black boxes that ``sample`` trains (none if it lacks the expert network, xaug_dnn)."""
    models = samples(config)[sample].models
    return [model for model in config["efp"]["black_boxes"] if model in models] if "xaug_dnn" in models else []
