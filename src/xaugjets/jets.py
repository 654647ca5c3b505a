"""Jets from particles: anti-kT clustering, mMDT / soft-drop grooming, N-subjettiness, expert variables.

Anti-kT, soft drop, the subjets and the N-subjettiness axes come from FastJet / fastjet-contrib, batch by
batch: from the small compiled library of :mod:`xaugjets.native` where a C++ compiler is available, else
through the awkward-array interface of the scikit-hep ``fastjet`` package (same results, slower).
Everything else works on flat numpy columns (:class:`EventParticles`): one pass per quantity over all
particles of a batch, no per-event Python and only a handful of awkward calls, because this stage must
stay cheap next to Pythia itself (see ``benchmarks/throughput.py``).

Input: :class:`EventParticles` (or an awkward array of events convertible to it), each particle with
``px, py, pz, E`` [GeV], ``id`` (PDG), ``charge`` [e], ``vx, vy, vz`` (production vertex) [mm].

Conventions (see docs/physics.md):
- jets: anti-kT R = 0.8, pT > ``pt_min``, the leading jet of each event;
- grooming: mMDT = soft drop with β = 0, z_cut = 0.1, R0 = 0.8, on the C/A reclustered jet;
- subjets: the groomed constituents reclustered with C/A into exactly two exclusive jets, i.e. the two
  prongs of the soft-drop splitting (the last C/A merging of the groomed jet);
- N-subjettiness: WTA-kT axes, normalized measure τ_N = Σ pT_i min_k ΔR_ik^β / Σ pT_i R0^β with
  R0 = 0.8; groomed τ use the groomed constituents in numerator and normalization alike.  The axes are
  FastJet's exclusive kT jets with winner-take-all pT recombination and R = 1000 (fastjet-contrib's
  ``WTA_KT_Axes``), found once per N and reused for all β; ``tests/test_jets.py`` checks the values
  against fastjet-contrib's ``Nsubjettiness``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import awkward as ak
import fastjet
import numpy as np

from . import native

NEUTRINO_IDS = (12, 14, 16)
CHARGED_HADRON_IDS = (211, 321, 2212)
NEUTRAL_HADRON_IDS = (2112, 130)
NSUB_BETAS = (0.5, 1.0, 2.0)
VERTEX_FLOOR_MM = 1e-6  # added before the log so prompt particles (vertex at 0) stay finite
TAU_FLOOR = 1e-12  # each τ in beta3 / beta3_sd is floored here: τ_N = 0 (≤ N constituents) keeps the log finite
PARTICLE_FIELDS = ("px", "py", "pz", "E", "id", "charge", "vx", "vy", "vz")
MOMENTUM_FIELDS = ("px", "py", "pz", "E")


@dataclass(frozen=True)
class JetSettings:
    radius: float = 0.8
    pt_min: float = 200.0
    zcut: float = 0.1
    sd_beta: float = 0.0
    n_particles: int = 20
    grid: int = 16
    half_width: float = 2.0
    # Production-vertex distances (√(x² + y²) and |z|, each) are replaced by min(distance, cap) before the
    # displacement variables are formed; None = no cap.  Emulates a tracker radius without removing particles.
    vertex_cap_mm: float | None = None
    # Signal only: keep only leading jets fully merged with a hadronic Z.  Needs the event record, so
    # :mod:`xaugjets.generation` applies it (see :mod:`xaugjets.truth`); :func:`process` ignores it.
    require_z_match: bool = False


def _beta_label(beta: float) -> str:
    return f"{beta:g}"


XAUG_NAMES: list[str] = [
    "pt",
    "eta",
    "phi",
    "mass",
    "m_sd",
    *(f"tau{n}_b{_beta_label(b)}" for b in NSUB_BETAS for n in (1, 2, 3)),
    *(f"tau{n}_b{_beta_label(b)}_sd" for b in NSUB_BETAS for n in (1, 2, 3)),
    "tau21",
    "beta3",
    "beta3_sd",
    "dr_subjets",
    "z_subjets",
    "pull_angle",
    "n_charged_hadrons",
    "n_neutral_hadrons",
    "n_photons",
    "n_electrons",
    "n_muons",
    "log_vtx_xy",
    "log_vtx_z",
]

PARTICLE_FEATURES: list[str] = [
    "log_pt",
    "log_e",
    "log_pt_rel",
    "deta_rot",
    "dphi_rot",
    "dr_jet",
    "dr_subjet1",
    "dr_subjet2",
    "charge",
    "is_electron",
    "is_muon",
    "is_photon",
    "is_charged_hadron",
    "is_neutral_hadron",
    "log_dxy",
    "log_dz",
]


@dataclass(frozen=True)
class EventParticles:
    """Particles of a batch of events as flat numpy columns plus the number of particles per event."""

    columns: dict[str, np.ndarray]
    counts: np.ndarray

    @classmethod
    def from_awkward(cls, events: ak.Array, fields: tuple[str, ...] = PARTICLE_FIELDS) -> EventParticles:
        """From an awkward array of events (lists of particle records) with at least ``fields``."""
        counts = ak.to_numpy(ak.num(events, axis=1)).astype(np.int64)
        columns = {name: ak.to_numpy(ak.flatten(events[name], axis=1)) for name in fields}
        return cls({name: np.asarray(col, dtype=np.float64) for name, col in columns.items()}, counts)

    def __len__(self) -> int:
        return len(self.counts)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    # Cached: the jet stage asks for these dozens of times per batch (the columns never change).
    @cached_property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.counts)])

    @cached_property
    def event_index(self) -> np.ndarray:
        """The event each particle belongs to."""
        return np.repeat(np.arange(len(self.counts)), self.counts)

    @cached_property
    def position(self) -> np.ndarray:
        """Each particle's position inside its event."""
        return np.arange(int(self.counts.sum())) - np.repeat(self.offsets[:-1], self.counts)

    def take(self, index: np.ndarray, counts: np.ndarray) -> EventParticles:
        """Particles ``index`` (flat), regrouped into events of ``counts`` particles."""
        return EventParticles({name: col[index] for name, col in self.columns.items()}, counts)

    def select_events(self, keep: np.ndarray) -> EventParticles:
        return self.take(np.repeat(keep, self.counts), self.counts[keep])

    def select_particles(self, keep: np.ndarray) -> EventParticles:
        """The particles where ``keep`` (flat mask), still grouped by event (events may become empty)."""
        counts = np.bincount(self.event_index[keep], minlength=len(self.counts)).astype(np.int64)
        return self.take(np.flatnonzero(keep), counts)

    def sorted_by_pt(self) -> EventParticles:
        """Within each event, particles by decreasing pT."""
        return self.take(np.lexsort((-self.pt, self.event_index)), self.counts)

    @property
    def pt(self) -> np.ndarray:
        return np.hypot(self["px"], self["py"])

    def four_vectors(self) -> np.ndarray:
        """(particles, 4) array of px, py, pz, E."""
        return np.stack([self[name] for name in MOMENTUM_FIELDS], axis=1)

    def momenta(self) -> ak.Array:
        """The four-momenta as the jagged awkward array FastJet's multi-event interface expects."""
        record = ak.contents.RecordArray(
            [ak.contents.NumpyArray(self[name]) for name in MOMENTUM_FIELDS], list(MOMENTUM_FIELDS)
        )
        return ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(self.offsets), record))

    def padded(self, values: np.ndarray, width: int, fill: float = 0.0) -> np.ndarray:
        """A per-particle column as an (events, width) array: the first ``width`` particles, then ``fill``."""
        out = np.full((len(self.counts), width), fill, dtype=np.float64)
        position = self.position
        keep = position < width
        out[self.event_index[keep], position[keep]] = values[keep]
        return out


@dataclass(frozen=True)
class LeadingJets:
    """The leading jet of each event that has one above pt_min, as its constituents."""

    has_jet: np.ndarray  # per input event
    constituents: EventParticles  # one entry per event with a jet


def visible_final_state(status: np.ndarray, pdg_id: np.ndarray) -> np.ndarray:
    """Mask of final-state particles (status > 0) that are not neutrinos."""
    return (status > 0) & ~np.isin(np.abs(pdg_id), NEUTRINO_IDS)


def _wrap(dphi: np.ndarray) -> np.ndarray:
    return (dphi + np.pi) % (2 * np.pi) - np.pi


def _rapidity(energy: np.ndarray, pz: np.ndarray) -> np.ndarray:
    return 0.5 * np.log(np.maximum(energy + pz, 1e-300) / np.maximum(energy - pz, 1e-300))


def _eta(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> np.ndarray:
    return np.arcsinh(pz / np.maximum(np.hypot(px, py), 1e-12))


def _records_to_numpy(records: ak.Array, per_event: int) -> dict[str, np.ndarray]:
    """Jets returned by FastJet, exactly ``per_event`` per event, as (events, per_event) arrays."""
    return {k: ak.to_numpy(ak.flatten(records[k], axis=1)).reshape(-1, per_event) for k in MOMENTUM_FIELDS}


@contextmanager
def _quiet_fastjet() -> Iterator[None]:
    """Silence FastJet's Python warnings: it flags every exclusive-jet call, even for kT and C/A."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _cluster(particles: EventParticles, definition: fastjet.JetDefinition) -> fastjet.ClusterSequence:
    with _quiet_fastjet():
        return fastjet.ClusterSequence(particles.momenta(), definition)


def leading_jets(particles: EventParticles | ak.Array, settings: JetSettings, compiled: bool = True) -> LeadingJets:
    """Cluster anti-kT jets per event and keep the constituents of the hardest jet above pt_min.

    ``compiled`` runs FastJet through :mod:`xaugjets.native` where it can be built, else (or with
    ``compiled=False``) through the scikit-hep binding; both give the same jets.
    """
    if not isinstance(particles, EventParticles):
        particles = EventParticles.from_awkward(particles)
    result = None
    if compiled:
        result = native.leading_jets(particles.four_vectors(), particles.counts, settings.radius, settings.pt_min)
    if result is not None:
        has_jet, in_jet = result
        # Events without a jet have no particle in_jet: one gather, regrouped into the events with a jet.
        index = np.flatnonzero(in_jet)
        counts = np.bincount(particles.event_index[index], minlength=len(particles))[has_jet]
        return LeadingJets(has_jet, particles.take(index, counts.astype(np.int64)))
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


def pull_angle(particles: EventParticles, axis: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> np.ndarray:
    """|angle| between the pull vector of a subjet and the direction to the other subjet, in (y, φ).

    t = Σ_i (pT_i / pT_subjet) |r_i| r_i with r_i the constituent's (Δy, Δφ) from the subjet axis;
    ``particles`` are the subjet's constituents, ``axis`` and ``other`` per-event 4-vectors.
    """
    event = particles.event_index
    y_axis, phi_axis = _rapidity(axis["E"], axis["pz"]), np.arctan2(axis["py"], axis["px"])
    pt = particles.pt
    dy = _rapidity(particles["E"], particles["pz"]) - y_axis[event]
    dphi = _wrap(np.arctan2(particles["py"], particles["px"]) - phi_axis[event])
    weight = pt * np.hypot(dy, dphi) / np.bincount(event, weights=pt, minlength=len(particles))[event]
    t_y = np.bincount(event, weights=weight * dy, minlength=len(particles))
    t_phi = np.bincount(event, weights=weight * dphi, minlength=len(particles))
    d_y = _rapidity(other["E"], other["pz"]) - y_axis
    d_phi = _wrap(np.arctan2(other["py"], other["px"]) - phi_axis)
    return np.abs(np.arctan2(t_y * d_phi - t_phi * d_y, t_y * d_y + t_phi * d_phi))


def beta3(tau1_b05: np.ndarray, tau2_b1: np.ndarray, tau2_b2: np.ndarray) -> np.ndarray:
    """The reference study's ungroomed β3 = ln(τ1^(0.5)² √τ2^(1) / τ2^(2)), each τ floored at TAU_FLOOR.

    Kept exactly as the reference writes it (docs/physics.md: it is not the ungroomed twin of beta3_sd).
    """
    t1, t2_b1, t2_b2 = (np.maximum(t, TAU_FLOOR) for t in (tau1_b05, tau2_b1, tau2_b2))
    return 2 * np.log(t1) + 0.5 * np.log(t2_b1) - np.log(t2_b2)


def beta3_sd(tau1_b05: np.ndarray, tau2_b1: np.ndarray, tau2_b2: np.ndarray) -> np.ndarray:
    """The reference study's groomed β3 = ln(τ2^(2) / τ1^(0.5) / τ2^(1)) (groomed τ), each τ floored at TAU_FLOOR."""
    t1, t2_b1, t2_b2 = (np.maximum(t, TAU_FLOOR) for t in (tau1_b05, tau2_b1, tau2_b2))
    return np.log(t2_b2) - np.log(t1) - np.log(t2_b1)


def vertex_distances(particles: EventParticles, cap_mm: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Transverse √(x² + y²) and longitudinal |z| production-vertex distance [mm], each capped at ``cap_mm``.

    One function for the XAUG variables and the particle list, so both see the same (capped) distances.
    """
    vtx_xy = np.hypot(particles["vx"], particles["vy"])
    vtx_z = np.abs(particles["vz"])
    if cap_mm is not None:
        vtx_xy, vtx_z = np.minimum(vtx_xy, cap_mm), np.minimum(vtx_z, cap_mm)
    return vtx_xy, vtx_z


@dataclass
class JetBatch:
    """Per-jet outputs of :func:`process` for the events that passed."""

    xaug: np.ndarray
    image: np.ndarray
    particles: np.ndarray
    mask: np.ndarray
    momentum: np.ndarray  # (jets, 4) px, py, pz, E of each kept jet, float64 (for truth matching)
    passed: np.ndarray  # per input event: True where a jet was kept
    cutflow: dict[str, int]

    def reject(self, keep: np.ndarray, reason: str) -> JetBatch:
        """The batch without the jets where ``keep`` is False, counted as ``reason`` in the cutflow.

        ``reason`` is inserted before ``accepted`` (0 when nothing is rejected), so every shard's cutflow
        has the same keys and still adds up: events = Σ rejected + accepted.
        """
        keep = np.asarray(keep, dtype=bool)
        passed = self.passed.copy()
        passed[np.flatnonzero(self.passed)[~keep]] = False
        cutflow = {k: v for k, v in self.cutflow.items() if k != "accepted"}
        cutflow[reason] = cutflow.get(reason, 0) + int((~keep).sum())
        cutflow["accepted"] = int(keep.sum())
        return JetBatch(
            xaug=self.xaug[keep],
            image=self.image[keep],
            particles=self.particles[keep],
            mask=self.mask[keep],
            momentum=self.momentum[keep],
            passed=passed,
            cutflow=cutflow,
        )


def process(particles: EventParticles | ak.Array, settings: JetSettings) -> JetBatch:
    """From visible particles per event to expert variables, image and particle list of the leading jet."""
    return describe(leading_jets(particles, settings), settings)


@dataclass(frozen=True)
class Substructure:
    """What FastJet finds inside each jet: the mMDT grooming, the two subjets, N-subjettiness.

    Subjets and τ stay zero for jets with fewer than two groomed constituents (the jet stage drops them).
    """

    m_sd: np.ndarray  # (jets,) groomed mass [GeV]
    subjets: np.ndarray  # (jets, 2, 4): the two exclusive C/A jets of the groomed constituents (px, py, pz, E)
    tau: np.ndarray  # (jets, 2, len(NSUB_BETAS), 3): τ_N, N = 1..3, of the ungroomed [:, 0] and groomed [:, 1] jet
    groomed: np.ndarray  # per constituent: survives mMDT
    subjet: np.ndarray  # per constituent: 1 or 2, the subjet it belongs to; 0 where groomed away


def substructure(constituents: EventParticles, settings: JetSettings, compiled: bool = True) -> Substructure:
    """mMDT / soft drop (fastjet-contrib SoftDrop on the C/A reclustered jet), subjets and N-subjettiness.

    ``compiled`` runs FastJet through :mod:`xaugjets.native` where it can be built, else (or with
    ``compiled=False``) through the scikit-hep binding; both give the same results.
    """
    result = None
    if compiled:
        momenta, counts = constituents.four_vectors(), constituents.counts
        result = native.substructure(momenta, counts, settings.radius, settings.zcut, settings.sd_beta, NSUB_BETAS)
    return Substructure(*result) if result is not None else _substructure_binding(constituents, settings)


def _momentum_keys(particles: EventParticles) -> np.ndarray:
    """One exact key per particle (its jet and four-momentum): FastJet hands back exact copies of its input."""
    rows = np.ascontiguousarray(np.column_stack([particles.event_index, particles.four_vectors()]))
    return rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))).ravel()


def _nsubjettiness_binding(sequence: fastjet.ClusterSequence, r0: float) -> np.ndarray:
    """(jets, len(NSUB_BETAS), 3): contrib's Nsubjettiness (WTA-kT axes, normalized measure) via the binding."""
    with _quiet_fastjet():
        tau = [
            sequence.njettiness(
                measure_definition="NormalizedMeasure", axes_definition="WTA_KT_Axes", njets=[1, 2, 3], beta=beta, R0=r0
            )
            for beta in NSUB_BETAS
        ]
    return np.stack([ak.to_numpy(values) for values in tau], axis=1)


def _substructure_binding(constituents: EventParticles, settings: JetSettings) -> Substructure:
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
        tau[two_prongs, 0] = _nsubjettiness_binding(_cluster(jet, cambridge), settings.radius)
        tau[two_prongs, 1] = _nsubjettiness_binding(sequence, settings.radius)
    return Substructure(ak.to_numpy(result.msoftdrop), subjets, tau, groomed, subjet)


def describe(found: LeadingJets, settings: JetSettings) -> JetBatch:
    """Grooming, subjets, N-subjettiness, expert variables, image and particle list of each leading jet."""
    from .images import align_to_subjets, parity_flip, pixelize

    has_jet, constituents = found.has_jet, found.constituents
    sub = substructure(constituents, settings)
    two_prongs = np.bincount(constituents.event_index[sub.groomed], minlength=len(constituents)) >= 2
    passed = np.zeros(len(has_jet), dtype=bool)
    passed[np.flatnonzero(has_jet)[two_prongs]] = True
    cutflow = {
        "events": len(has_jet),
        "rejected_no_jet_above_pt_min": int((~has_jet).sum()),
        "rejected_fewer_than_two_groomed_constituents": int((~two_prongs).sum()),
        "accepted": int(passed.sum()),
    }
    n_jets = cutflow["accepted"]
    if n_jets == 0:
        n, grid = settings.n_particles, settings.grid
        return JetBatch(
            xaug=np.zeros((0, len(XAUG_NAMES)), dtype=np.float32),
            image=np.zeros((0, grid, grid), dtype=np.float32),
            particles=np.zeros((0, n, len(PARTICLE_FEATURES)), dtype=np.float32),
            mask=np.zeros((0, n), dtype=bool),
            momentum=np.zeros((0, 4)),
            passed=passed,
            cutflow=cutflow,
        )

    constituents = EventParticles(constituents.columns | {"subjet": sub.subjet}, constituents.counts)
    constituents = constituents.select_events(two_prongs).sorted_by_pt()
    tau = {beta: sub.tau[two_prongs, 0, b] for b, beta in enumerate(NSUB_BETAS)}  # {β: (jets, N = 1..3)}
    tau_sd = {beta: sub.tau[two_prongs, 1, b] for b, beta in enumerate(NSUB_BETAS)}

    # Subjets ordered by pT.
    rows = np.arange(n_jets)
    found_subjets = sub.subjets[two_prongs]
    swap = np.hypot(*found_subjets[:, 1, :2].T) > np.hypot(*found_subjets[:, 0, :2].T)
    order = np.stack([swap.astype(np.int64), (~swap).astype(np.int64)], axis=1)
    subjets = {name: found_subjets[rows[:, None], order, i] for i, name in enumerate(MOMENTUM_FIELDS)}
    s_pt = np.hypot(subjets["px"], subjets["py"])
    s_eta = _eta(subjets["px"], subjets["py"], subjets["pz"])
    s_phi = np.arctan2(subjets["py"], subjets["px"])
    dr_subjets = np.hypot(s_eta[:, 0] - s_eta[:, 1], _wrap(s_phi[:, 0] - s_phi[:, 1]))
    z_subjets = s_pt.min(axis=1) / s_pt.sum(axis=1)
    in_leading = constituents["subjet"] == (order[:, 0] + 1)[constituents.event_index]
    leading = {k: v[:, 0] for k, v in subjets.items()}
    second = {k: v[:, 1] for k, v in subjets.items()}
    pull = pull_angle(constituents.select_particles(in_leading), leading, second)

    # Jet four-vector and kinematics.
    event = constituents.event_index
    jet = {k: np.bincount(event, weights=constituents[k], minlength=n_jets) for k in MOMENTUM_FIELDS}
    jet_pt = np.hypot(jet["px"], jet["py"])
    jet_eta = _eta(jet["px"], jet["py"], jet["pz"])
    jet_phi = np.arctan2(jet["py"], jet["px"])
    jet_mass = np.sqrt(np.maximum(jet["E"] ** 2 - jet["px"] ** 2 - jet["py"] ** 2 - jet["pz"] ** 2, 0))

    # Constituent-level columns (already ordered by pT within each jet).
    pt = constituents.pt
    eta = _eta(constituents["px"], constituents["py"], constituents["pz"])
    phi = np.arctan2(constituents["py"], constituents["px"])
    abs_id = np.abs(constituents["id"]).astype(np.int64)
    flags = {
        "is_electron": abs_id == 11,
        "is_muon": abs_id == 13,
        "is_photon": abs_id == 22,
        "is_charged_hadron": np.isin(abs_id, CHARGED_HADRON_IDS),
        "is_neutral_hadron": np.isin(abs_id, NEUTRAL_HADRON_IDS),
    }
    vtx_xy, vtx_z = vertex_distances(constituents, settings.vertex_cap_mm)
    n = settings.n_particles
    counts = {
        f"n_{name}": np.bincount(event, weights=flags[flag], minlength=n_jets)
        for name, flag in (
            ("charged_hadrons", "is_charged_hadron"),
            ("neutral_hadrons", "is_neutral_hadron"),
            ("photons", "is_photon"),
            ("electrons", "is_electron"),
            ("muons", "is_muon"),
        )
    }

    values = {"pt": jet_pt, "eta": jet_eta, "phi": jet_phi, "mass": jet_mass, "m_sd": sub.m_sd[two_prongs]}
    for beta in NSUB_BETAS:
        for k in (1, 2, 3):
            values[f"tau{k}_b{_beta_label(beta)}"] = tau[beta][:, k - 1]
            values[f"tau{k}_b{_beta_label(beta)}_sd"] = tau_sd[beta][:, k - 1]
    values["tau21"] = tau[1.0][:, 1] / np.maximum(tau[1.0][:, 0], 1e-12)
    values["beta3"] = beta3(tau[0.5][:, 0], tau[1.0][:, 1], tau[2.0][:, 1])
    values["beta3_sd"] = beta3_sd(tau_sd[0.5][:, 0], tau_sd[1.0][:, 1], tau_sd[2.0][:, 1])
    values |= {
        "dr_subjets": dr_subjets,
        "z_subjets": z_subjets,
        "pull_angle": pull,
        **counts,
        "log_vtx_xy": np.log(constituents.padded(vtx_xy, n).max(axis=1) + VERTEX_FLOOR_MM),
        "log_vtx_z": np.log(constituents.padded(vtx_z, n).max(axis=1) + VERTEX_FLOOR_MM),
    }
    xaug = np.stack([np.asarray(values[name], dtype=np.float64) for name in XAUG_NAMES], axis=1)

    # Image: every constituent, in the frame of the two subjets (second subjet at (0, -1)).
    n_max = int(constituents.counts.max())
    deta = constituents.padded(eta - jet_eta[event], n_max)
    dphi = constituents.padded(_wrap(phi - jet_phi[event]), n_max)
    frac = constituents.padded(pt / jet_pt[event], n_max)
    subjet_coords = [np.stack([s_eta[:, i] - jet_eta, _wrap(s_phi[:, i] - jet_phi)], axis=1) for i in (0, 1)]
    x, y, r0 = align_to_subjets(deta, dphi, *subjet_coords)
    image, _ = pixelize(x, y, frac, settings.grid, settings.half_width)
    image, flipped = parity_flip(image)
    x = np.where(flipped[:, None], -x, x)

    # Particle list: the leading n_particles constituents, zero padded, with a mask.
    mask = constituents.padded(np.ones_like(pt), n).astype(bool)
    lead_pt = constituents.padded(pt, n, 1.0)
    d_sub = [np.hypot(deta[:, :n] - c[:, :1], _wrap(dphi[:, :n] - c[:, 1:2])) for c in subjet_coords]
    feats = {
        "log_pt": np.log(lead_pt),
        "log_e": np.log(constituents.padded(constituents["E"], n, 1.0)),
        "log_pt_rel": np.log(lead_pt / jet_pt[:, None]),
        "deta_rot": _pad_cols(x * r0[:, None], n),
        "dphi_rot": _pad_cols(y * r0[:, None], n),
        "dr_jet": _pad_cols(np.hypot(deta, dphi), n),
        "dr_subjet1": _pad_cols(d_sub[0], n),
        "dr_subjet2": _pad_cols(d_sub[1], n),
        "charge": constituents.padded(constituents["charge"], n),
        **{name: constituents.padded(flag, n) for name, flag in flags.items()},
        "log_dxy": np.log(constituents.padded(vtx_xy, n) + VERTEX_FLOOR_MM),
        "log_dz": np.log(constituents.padded(vtx_z, n) + VERTEX_FLOOR_MM),
    }
    particle_array = np.stack([feats[name] for name in PARTICLE_FEATURES], axis=-1)
    particle_array[~mask] = 0.0
    return JetBatch(
        xaug=xaug.astype(np.float32),
        image=image,
        particles=particle_array.astype(np.float32),
        mask=mask,
        momentum=np.stack([jet[name] for name in MOMENTUM_FIELDS], axis=1),
        passed=passed,
        cutflow=cutflow,
    )


def _pad_cols(values: np.ndarray, n: int) -> np.ndarray:
    """First n columns of a per-constituent array, zero padded on the right."""
    out = np.zeros((values.shape[0], n))
    k = min(n, values.shape[1])
    out[:, :k] = values[:, :k]
    return out
