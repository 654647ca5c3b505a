"""FastJet backend through the awkward-array interface of the scikit-hep ``fastjet`` package.

The fallback where the compiled library of :mod:`xaugjets.native` cannot be built (no C++ compiler): the
same FastJet and fastjet-contrib calls, the same results (``tests/test_jets.py``), about twice as slow.
Same functions and signatures as :mod:`xaugjets.native`; :func:`xaugjets.jets.fastjet_backend` picks one.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import awkward as ak
import fastjet
import numpy as np

from .jets import MOMENTUM_FIELDS, NSUB_BETAS, EventParticles, JetSettings, LeadingJets, Substructure


@contextmanager
def _quiet_fastjet() -> Iterator[None]:
    """Silence FastJet's Python warnings: it flags every exclusive-jet call, even for kT and C/A."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _cluster(particles: EventParticles, definition: fastjet.JetDefinition) -> fastjet.ClusterSequence:
    with _quiet_fastjet():
        return fastjet.ClusterSequence(particles.momenta(), definition)


def _records_to_numpy(records: ak.Array, per_event: int) -> dict[str, np.ndarray]:
    """Jets returned by FastJet, exactly ``per_event`` per event, as (events, per_event) arrays."""
    return {k: ak.to_numpy(ak.flatten(records[k], axis=1)).reshape(-1, per_event) for k in MOMENTUM_FIELDS}


def leading_jets(particles: EventParticles, settings: JetSettings) -> LeadingJets:
    """Cluster anti-kT jets per event and keep the constituents of the hardest jet above pt_min."""
    sequence = _cluster(particles, fastjet.JetDefinition(fastjet.antikt_algorithm, settings.radius))
    with _quiet_fastjet():
        found = sequence.inclusive_jets(min_pt=settings.pt_min)
        index = sequence.constituent_index(min_pt=settings.pt_min)
    has_jet = np.asarray(ak.to_numpy(ak.num(found, axis=1) > 0), dtype=bool)
    jet_pt = np.hypot(found.px, found.py)[has_jet]
    lead = ak.argmax(jet_pt, axis=1, keepdims=True)
    local = index[has_jet][lead][:, 0]  # per event with a jet: the leading jet's particle indices
    # np.asarray: with no jet in the batch awkward's option types come back as (empty) masked arrays
    counts = np.asarray(ak.to_numpy(ak.num(local, axis=1)), dtype=np.int64)
    flat = np.asarray(ak.to_numpy(ak.flatten(local, axis=1)), dtype=np.int64)
    first = np.repeat(particles.offsets[:-1][has_jet], counts)
    return LeadingJets(has_jet, particles.take(first + flat, counts))


def _momentum_keys(particles: EventParticles) -> np.ndarray:
    """One exact key per particle (its jet and four-momentum): FastJet hands back exact copies of its input."""
    rows = np.ascontiguousarray(np.column_stack([particles.event_index, particles.four_vectors()]))
    return rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))).ravel()


def _nsubjettiness(sequence: fastjet.ClusterSequence, r0: float) -> np.ndarray:
    """(jets, len(NSUB_BETAS), 3): contrib's Nsubjettiness (WTA-kT axes, normalized measure) via the binding."""
    with _quiet_fastjet():
        tau = [
            sequence.njettiness(
                measure_definition="NormalizedMeasure", axes_definition="WTA_KT_Axes", njets=[1, 2, 3], beta=beta, R0=r0
            )
            for beta in NSUB_BETAS
        ]
    return np.stack([ak.to_numpy(values) for values in tau], axis=1)


def substructure(constituents: EventParticles, settings: JetSettings) -> Substructure:
    """mMDT / soft drop (contrib SoftDrop on the C/A reclustered jet), the two subjets and N-subjettiness.

    The groomed constituents are recognised by their exact four-momenta; jets with fewer than two of them
    keep zero subjets and τ.
    """
    n_jets = len(constituents)
    cambridge = fastjet.JetDefinition(fastjet.cambridge_algorithm, settings.radius)
    with _quiet_fastjet():
        result = _cluster(constituents, cambridge).exclusive_jets_softdrop_grooming(
            njets=1, beta=settings.sd_beta, symmetry_cut=settings.zcut, R0=settings.radius
        )
    kept = EventParticles.from_awkward(result.constituents, MOMENTUM_FIELDS)
    groomed = np.isin(_momentum_keys(constituents), _momentum_keys(kept))
    subjets, subjet = np.zeros((n_jets, 2, 4)), np.zeros(len(groomed), dtype=np.uint8)
    tau = np.zeros((n_jets, 2, len(NSUB_BETAS), 3))
    two_prongs = np.bincount(constituents.event_index[groomed], minlength=n_jets) >= 2
    if two_prongs.any():
        inside = np.flatnonzero(np.repeat(two_prongs, constituents.counts))
        jet = constituents.take(inside, constituents.counts[two_prongs])
        prongs = jet.select_particles(groomed[inside])
        sequence = _cluster(prongs, cambridge)
        with _quiet_fastjet():
            found = _records_to_numpy(sequence.exclusive_jets(n_jets=2), 2)
            index = sequence.exclusive_jets_constituent_index(njets=2)
        subjets[two_prongs] = np.stack([found[name] for name in MOMENTUM_FIELDS], axis=-1)
        per_subjet = ak.to_numpy(ak.flatten(ak.num(index, axis=2), axis=1))
        local = ak.to_numpy(ak.flatten(index, axis=None)).astype(np.int64)
        owner = np.repeat(np.arange(len(per_subjet)), per_subjet)  # 2 * jet + (subjet - 1)
        subjet[inside[groomed[inside]][prongs.offsets[owner // 2] + local]] = owner % 2 + 1
        tau[two_prongs, 0] = _nsubjettiness(_cluster(jet, cambridge), settings.radius)
        tau[two_prongs, 1] = _nsubjettiness(sequence, settings.radius)
    return Substructure(ak.to_numpy(result.msoftdrop), subjets, tau, groomed, subjet)
