"""Pythia8 event generation (docs/physics.md "Pythia8 sample") in batches, straight into the jet stage.

Events come from ``Pythia.nextBatch`` as awkward arrays (no per-particle Python loop).  Each shard has
its own recorded seed.  Failed events (``nextBatch`` returns None for them) and every jet-level rejection
are counted in the shard's cutflow.  For the signal, each jet is matched to the hadronic Z bosons of its
event record (:mod:`xaugjets.truth`); ``JetSettings.require_z_match`` rejects jets that are not fully
merged (``rejected_not_fully_merged_z``).

The processes of the study (their Pythia settings, class labels and whether they carry Z truth) are
registered once, in :data:`xaugjets.processes.PROCESSES`; the command line and the workflow's wildcards
read their names from it.  :mod:`xaugjets.truth` (scipy) is imported where it is used, so that importing this module for
the registry (the Snakefile does, at parse time) stays cheap.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import awkward as ak
import numpy as np

from . import jets
from .config import Settings
from .io import JetArrays
from .particles import PARTICLE_FEATURES
from .processes import PROCESSES


def import_pythia() -> ModuleType:
    """PyPI's ``pythia8mc``, else conda-forge's ``pythia8`` module."""
    try:
        import pythia8mc

        return pythia8mc
    except ImportError:
        try:
            import pythia8
        except ImportError as err:
            raise ImportError("neither pythia8mc (PyPI) nor pythia8 (conda-forge) can be imported") from err
        return pythia8


@dataclass(frozen=True)
class GeneratorSettings(Settings):
    """One shard's Pythia setup: the ``pythia`` config section plus the process and the shard's seed.

    ``extra`` (not a config knob) appends raw Pythia lines, for tests.
    """

    SECTIONS = ("pythia",)

    process: str
    seed: int
    pthat_min: float
    decays: Sequence[int]
    sqrt_s: float
    bias_power: float  # > 0 switches on PhaseSpace:bias2Selection with this power of pT-hat
    extra: Sequence[str] = ()

    def pythia_lines(self) -> list[str]:
        """The Pythia settings for this process; √s is set explicitly for both samples."""
        if self.process not in PROCESSES:
            raise ValueError(f"unknown process {self.process!r}; choose from {list(PROCESSES)}")
        if not 1 <= self.seed <= 900_000_000:
            raise ValueError(f"Pythia seed must be in 1..900000000, got {self.seed}")
        lines = [
            "Print:quiet = on",
            "Next:numberCount = 0",
            f"Beams:eCM = {self.sqrt_s:.1f}",
            "Random:setSeed = on",
            f"Random:seed = {self.seed}",
            f"PhaseSpace:pTHatMin = {self.pthat_min:.3f}",
        ]
        decays = " ".join(str(d) for d in self.decays)
        lines += [line.format(decays=decays) for line in PROCESSES[self.process].settings]
        if self.bias_power > 0:
            lines += [
                "PhaseSpace:bias2Selection = on",
                f"PhaseSpace:bias2SelectionPow = {self.bias_power}",
                f"PhaseSpace:bias2SelectionRef = {self.pthat_min:.3f}",
            ]
        return [*lines, *self.extra]


def make_pythia(settings: GeneratorSettings) -> Any:
    module = import_pythia()
    pythia = module.Pythia("", False)
    for line in settings.pythia_lines():
        if not pythia.readString(line):
            raise ValueError(f"Pythia rejected the setting {line!r}")
    if not pythia.init():
        raise RuntimeError("Pythia initialization failed")
    if not hasattr(pythia, "nextBatch"):
        raise RuntimeError(f"{module.__name__} has no nextBatch; Pythia >= 8.313 is required")
    return pythia


def next_batch(pythia: Any, n_events: int) -> tuple[ak.Array, int]:
    """``n_events`` calls of ``next()`` through ``nextBatch``: the events generated, and how many failed."""
    events = pythia.nextBatch(n_events, "none")  # a failed event comes back as None
    ok = ~ak.to_numpy(ak.is_none(events, axis=0))
    if ok.all():  # the usual case: no copy of the whole batch
        return events, 0
    return events[ok], int((~ok).sum())


def visible_particles(pythia: Any, events: ak.Array) -> jets.EventParticles:
    """Visible final-state particles with the columns the jet stage needs (charge from Pythia's tables).

    Reads the numpy buffers under the flattened particle records directly: the equivalent high-level
    awkward calls (a dozen field accesses and ``fill_none`` on the vertex records) take ~6 ms per batch
    whatever its size, against ~2 ms here (measured with batches of 10 QCD events).
    """
    counts = ak.to_numpy(ak.num(events.prt, axis=1))
    record = ak.flatten(events.prt, axis=1).layout

    def column(content: ak.contents.Content) -> np.ndarray:
        return np.asarray(content.data)

    visible = jets.visible_final_state(column(record.content("status")), column(record.content("id")))
    keep = np.flatnonzero(visible)
    ids = column(record.content("id"))[keep]
    unique = np.unique(ids)
    charges = np.array([pythia.particleData.charge(int(i)) for i in unique], dtype=np.float64)
    momentum = record.content("p")
    columns = {
        name: column(momentum.content(part))[keep]
        for name, part in zip(jets.MOMENTUM_FIELDS, "px py pz e".split(), strict=True)
    }
    # vProd is option-typed: None where Pythia stores no production vertex (then it is the origin).
    vertex = record.content("vProd").to_IndexedOptionArray64()
    index = np.asarray(vertex.index)[keep]
    stored = index >= 0
    for name, part in (("vx", "px"), ("vy", "py"), ("vz", "pz")):
        columns[name] = np.where(stored, column(vertex.content.content(part))[np.where(stored, index, 0)], 0.0)
    columns = {name: values.astype(np.float64) for name, values in columns.items()}
    columns["id"] = ids.astype(np.float64)
    columns["charge"] = charges[np.searchsorted(unique, ids)]
    event = np.searchsorted(np.cumsum(counts), keep, side="right")  # the event each kept entry belongs to
    return jets.EventParticles(columns, np.bincount(event, minlength=len(counts)).astype(np.int64))


REJECTED_UNMERGED = "rejected_not_fully_merged_z"


def z_truth(
    events: ak.Array, batch: jets.JetBatch, process: str, jet_settings: jets.JetSettings
) -> tuple[jets.JetBatch, dict[str, np.ndarray]]:
    """Truth ΔR of each jet to its event's hadronic Z and quarks (NaN for QCD), and the batch after
    ``require_z_match`` (signal jets not fully merged rejected and counted; the count is 0 otherwise)."""
    from . import truth

    if not PROCESSES[process].z_truth:
        return batch.reject(np.ones(len(batch.xaug), dtype=bool), REJECTED_UNMERGED), truth.no_truth(len(batch.xaug))
    found = truth.match_jets(batch.momentum, np.flatnonzero(batch.passed), truth.hadronic_z_from_events(events))
    keep = np.ones(len(batch.xaug), dtype=bool)
    if jet_settings.require_z_match:
        keep = truth.fully_merged(found, jet_settings.radius)
    return batch.reject(keep, REJECTED_UNMERGED), {key: values[keep] for key, values in found.items()}


def generate_jets(
    settings: GeneratorSettings, n_events: int, jet_settings: jets.JetSettings, batch_size: int
) -> JetArrays:
    """Generate ``n_events`` events and return the accepted leading jets as :class:`JetArrays`."""
    return generate_jets_with_truth(settings, n_events, jet_settings, batch_size)[0]


def generate_jets_with_truth(
    settings: GeneratorSettings, n_events: int, jet_settings: jets.JetSettings, batch_size: int
) -> tuple[JetArrays, dict[str, np.ndarray]]:
    """Generate ``n_events`` events: the accepted leading jets and their truth columns (``truth.TRUTH_KEYS``)."""
    from . import truth

    pythia = make_pythia(settings)
    parts: list[jets.JetBatch] = []
    weights: list[np.ndarray] = []
    truths: list[dict[str, np.ndarray]] = []
    failed = 0
    start = time.perf_counter()
    for done in range(0, n_events, batch_size):
        size = min(batch_size, n_events - done)
        events, failures = next_batch(pythia, size)
        failed += failures
        batch = jets.process(visible_particles(pythia, events), jet_settings)
        batch, found = z_truth(events, batch, settings.process, jet_settings)
        parts.append(batch)
        truths.append(found)
        weights.append(ak.to_numpy(events.info.weights[:, 0])[batch.passed])
        print(
            f"{settings.process} seed {settings.seed}: {done + size}/{n_events} events, "
            f"{sum(p.cutflow['accepted'] for p in parts)} jets "
            f"({time.perf_counter() - start:.1f} s)",
            file=sys.stderr,
            flush=True,
        )
    info = pythia.infoPython()
    cutflow = {"generated": n_events, "failed_next": failed}
    for key in parts[0].cutflow:
        cutflow[key] = sum(p.cutflow[key] for p in parts)
    label = PROCESSES[settings.process].label
    n = cutflow["accepted"]
    jet_arrays = JetArrays(
        image=np.concatenate([p.image for p in parts]),
        particles=np.concatenate([p.particles for p in parts]),
        mask=np.concatenate([p.mask for p in parts]),
        xaug=np.concatenate([p.xaug for p in parts]),
        label=np.full(n, label, dtype=np.int8),
        weight=np.concatenate(weights).astype(np.float32),
        xaug_names=list(jets.XAUG_NAMES),
        particle_features=list(PARTICLE_FEATURES),
        provenance={
            "pythia_settings": settings.pythia_lines(),
            "sigma_gen_mb": info.sigmaGen(),
            "n_tried": info.nTried(),
            "n_selected": info.nSelected(),
            "n_accepted": info.nAccepted(),
        },
        cutflow=cutflow,
    )
    return jet_arrays, {key: np.concatenate([t[key] for t in truths]) for key in truth.TRUTH_KEYS}
