"""The samples of a study: names, kinds and the conventions each one is explained with.

A *sample kind* (``toy``, ``pythia``) makes jets; a *sample* is one study of a kind with its own folder
``results/{sample}/``.  The toy kind gives one sample per overlap level (``toy-overlap{N}``) and, when
enabled, ``toy-reference`` with the reference study's conventions.  Everything downstream of the jet
files only sees the sample name and its :class:`Sample` settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REFERENCE_TOY = "toy-reference"


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
        else:  # pythia: the m_SD window is part of its selection
            out[kind] = Sample(
                kind, kind, encoding, output, models, windows | {"m_sd": config["pythia"]["m_sd_window"]}
            )
    return out


def toy_overlap_samples(config: dict[str, Any]) -> list[str]:
    """The overlap scan's samples, in overlap order."""
    return [s.name for s in samples(config).values() if s.kind == "toy" and s.name != REFERENCE_TOY]
