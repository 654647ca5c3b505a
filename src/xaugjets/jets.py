"""Jets from particles: anti-kT clustering, mMDT / soft-drop grooming, N-subjettiness, expert variables.

Anti-kT, soft drop, the subjets and the N-subjettiness axes come from FastJet / fastjet-contrib, batch by
batch, through one of two backends with the same functions (``leading_jets``, ``substructure``):
:mod:`xaugjets.native`, a small compiled library, where a C++ compiler is available, else
:mod:`xaugjets.fastjet_binding`, the awkward-array interface of the scikit-hep ``fastjet`` package (same
results, slower).  :func:`fastjet_backend` picks one once per process; ``backend=`` forces either.
Everything else works on flat numpy columns (:class:`EventParticles`): one pass per quantity over all
particles of a batch, no per-event Python and only a handful of awkward calls, because this stage must
stay cheap next to Pythia itself (see ``benchmarks/throughput.py``).

Input: :class:`EventParticles` (or an awkward array of events convertible to it), each particle with
``px, py, pz, E`` [GeV], ``id`` (PDG), ``charge`` [e], ``vx, vy, vz`` (production vertex) [mm].

:func:`describe` runs the named steps: substructure (backend), selection and cutflow,
:func:`ordered_subjets`, :func:`expert_variables` (defined once in :data:`XAUG_VARIABLES`, from which
:data:`XAUG_NAMES` is read), :func:`jet_image`, and the particle list of :mod:`xaugjets.particles`.

Conventions (see docs/physics.md "Jets and grooming" and "Expert (XAUG) variables"):
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

import importlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cache, cached_property
from types import ModuleType
from typing import ClassVar

import awkward as ak
import numpy as np

from .config import Settings
from .images import align_to_subjets, parity_flip, pixelize
from .particles import (
    PARTICLE_FEATURES,
    PARTICLE_NEEDS,
    VERTEX_FIELDS,
    VERTEX_FLOOR_MM,
    JetCoordinates,
    ParticleView,
    missing_inputs,
    particle_list,
    type_flags,
    vertex_distances,
    wrap,
)

NEUTRINO_IDS = (12, 14, 16)
NSUB_BETAS = (0.5, 1.0, 2.0)
TAU_FLOOR = 1e-12  # each τ in beta3 / beta3_sd is floored here: τ_N = 0 (≤ N constituents) keeps the log finite
PARTICLE_FIELDS = ("px", "py", "pz", "E", "id", "charge", "vx", "vy", "vz")
MOMENTUM_FIELDS = ("px", "py", "pz", "E")
# The FastJet backends, by name: modules with leading_jets(particles, settings) -> LeadingJets and
# substructure(constituents, settings) -> Substructure.
FASTJET_BACKENDS = {"compiled": "xaugjets.native", "binding": "xaugjets.fastjet_binding"}


@dataclass(frozen=True)
class JetSettings(Settings):
    """The jet stage's knobs, from the ``pythia`` and ``images`` config sections (defaults: the schema)."""

    SECTIONS = ("pythia", "images")
    CONFIG_KEYS: ClassVar[dict[str, str]] = {"radius": "jet_radius", "pt_min": "jet_pt_min", "zcut": "sd_zcut"}

    radius: float
    pt_min: float
    zcut: float
    sd_beta: float
    n_particles: int
    grid: int
    half_width: float
    # Production-vertex distances (√(x² + y²) and |z|, each) are replaced by min(distance, cap) before the
    # displacement variables are formed; None = no cap.  Emulates a tracker radius without removing particles.
    vertex_cap_mm: float | None
    # Signal only: keep only leading jets fully merged with a hadronic Z.  Needs the event record, so
    # :mod:`xaugjets.generation` applies it (see :mod:`xaugjets.truth`); :func:`process` ignores it.
    require_z_match: bool


def _beta_label(beta: float) -> str:
    return f"{beta:g}"


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


def visible_final_state(status: np.ndarray, pdg_id: np.ndarray) -> np.ndarray:
    """Mask of final-state particles (status > 0) that are not neutrinos."""
    return (status > 0) & ~np.isin(np.abs(pdg_id), NEUTRINO_IDS)


def _rapidity(energy: np.ndarray, pz: np.ndarray) -> np.ndarray:
    return 0.5 * np.log(np.maximum(energy + pz, 1e-300) / np.maximum(energy - pz, 1e-300))


def _eta(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> np.ndarray:
    return np.arcsinh(pz / np.maximum(np.hypot(px, py), 1e-12))


@cache
def default_backend() -> str:
    """``compiled`` where the library of :mod:`xaugjets.native` builds and loads here, else ``binding``."""
    from . import native

    return "compiled" if native.available() else "binding"


def fastjet_backend(name: str | None = None) -> ModuleType:
    """The FastJet backend module ``name`` (a key of FASTJET_BACKENDS), by default :func:`default_backend`."""
    name = name or default_backend()
    if name not in FASTJET_BACKENDS:
        raise ValueError(f"unknown FastJet backend {name!r}; choose from {list(FASTJET_BACKENDS)}")
    return importlib.import_module(FASTJET_BACKENDS[name])


def leading_jets(
    particles: EventParticles | ak.Array, settings: JetSettings, backend: str | None = None
) -> LeadingJets:
    """Cluster anti-kT jets per event and keep the constituents of the hardest jet above pt_min.

    ``backend`` (``compiled`` or ``binding``; default :func:`default_backend`): both give the same jets.
    """
    if not isinstance(particles, EventParticles):
        particles = EventParticles.from_awkward(particles)
    return fastjet_backend(backend).leading_jets(particles, settings)


def substructure(constituents: EventParticles, settings: JetSettings, backend: str | None = None) -> Substructure:
    """mMDT / soft drop (fastjet-contrib SoftDrop on the C/A reclustered jet), subjets and N-subjettiness.

    ``backend`` (``compiled`` or ``binding``; default :func:`default_backend`): both give the same results.
    """
    return fastjet_backend(backend).substructure(constituents, settings)


def pull_angle(particles: EventParticles, axis: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> np.ndarray:
    """|angle| between the pull vector of a subjet and the direction to the other subjet, in (y, φ).

    t = Σ_i (pT_i / pT_subjet) |r_i| r_i with r_i the constituent's (Δy, Δφ) from the subjet axis;
    ``particles`` are the subjet's constituents, ``axis`` and ``other`` per-event 4-vectors.
    """
    event = particles.event_index
    y_axis, phi_axis = _rapidity(axis["E"], axis["pz"]), np.arctan2(axis["py"], axis["px"])
    pt = particles.pt
    dy = _rapidity(particles["E"], particles["pz"]) - y_axis[event]
    dphi = wrap(np.arctan2(particles["py"], particles["px"]) - phi_axis[event])
    weight = pt * np.hypot(dy, dphi) / np.bincount(event, weights=pt, minlength=len(particles))[event]
    t_y = np.bincount(event, weights=weight * dy, minlength=len(particles))
    t_phi = np.bincount(event, weights=weight * dphi, minlength=len(particles))
    d_y = _rapidity(other["E"], other["pz"]) - y_axis
    d_phi = wrap(np.arctan2(other["py"], other["px"]) - phi_axis)
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


def process(particles: EventParticles | ak.Array, settings: JetSettings, backend: str | None = None) -> JetBatch:
    """From visible particles per event to expert variables, image and particle list of the leading jet."""
    return describe(leading_jets(particles, settings, backend), settings, backend)


class Kinematics:
    """pT, η and φ of ``momentum`` (px, py, pz, E arrays), each computed once."""

    momentum: dict[str, np.ndarray]

    @cached_property
    def pt(self) -> np.ndarray:
        return np.hypot(self.momentum["px"], self.momentum["py"])

    @cached_property
    def eta(self) -> np.ndarray:
        return _eta(self.momentum["px"], self.momentum["py"], self.momentum["pz"])

    @cached_property
    def phi(self) -> np.ndarray:
        return np.arctan2(self.momentum["py"], self.momentum["px"])


@dataclass(frozen=True)
class Subjets(Kinematics):
    """The two subjets of each jet, ordered by pT (leading first): each column (jets, 2)."""

    momentum: dict[str, np.ndarray]  # px, py, pz, E
    leading_label: np.ndarray  # (jets,): the Substructure.subjet label (1 or 2) of the leading subjet

    def four_vector(self, i: int) -> dict[str, np.ndarray]:
        """Subjet ``i`` (0 leading, 1 second) of each jet."""
        return {k: v[:, i] for k, v in self.momentum.items()}


def ordered_subjets(found: np.ndarray) -> Subjets:
    """The (jets, 2, 4) subjets FastJet found (in clustering order), leading by pT first."""
    rows = np.arange(len(found))
    swap = np.hypot(*found[:, 1, :2].T) > np.hypot(*found[:, 0, :2].T)
    order = np.stack([swap.astype(np.int64), (~swap).astype(np.int64)], axis=1)
    momenta = {name: found[rows[:, None], order, i] for i, name in enumerate(MOMENTUM_FIELDS)}
    return Subjets(momenta, order[:, 0] + 1)


@dataclass(frozen=True)
class JetFrame(Kinematics):
    """The accepted jets: what their expert variables, images and particle lists are computed from."""

    constituents: EventParticles  # by decreasing pT within each jet; column "subjet": 1, 2, or 0 (groomed away)
    subjets: Subjets
    tau: np.ndarray  # (jets, 2 [ungroomed, groomed], len(NSUB_BETAS), 3 [N = 1..3])
    m_sd: np.ndarray  # (jets,)
    settings: JetSettings

    @cached_property
    def momentum(self) -> dict[str, np.ndarray]:
        """The jet four-vector: the sum over its constituents."""
        event, n_jets = self.constituents.event_index, len(self.constituents)
        return {k: np.bincount(event, weights=self.constituents[k], minlength=n_jets) for k in MOMENTUM_FIELDS}

    @cached_property
    def mass(self) -> np.ndarray:
        jet = self.momentum
        return np.sqrt(np.maximum(jet["E"] ** 2 - jet["px"] ** 2 - jet["py"] ** 2 - jet["pz"] ** 2, 0))

    @cached_property
    def flags(self) -> dict[str, np.ndarray]:
        """The constituents' particle types (:func:`xaugjets.particles.type_flags`)."""
        return type_flags(self.constituents["id"])

    @cached_property
    def vertex(self) -> tuple[np.ndarray, np.ndarray]:
        """The constituents' capped production-vertex distances (:func:`xaugjets.particles.vertex_distances`)."""
        return vertex_distances(self.constituents, self.settings.vertex_cap_mm)

    def taus(self, groomed: bool, beta: float) -> np.ndarray:
        """(jets, 3): τ_1..τ_3 at ``beta``, of the groomed or the ungroomed jet."""
        return self.tau[:, int(groomed), NSUB_BETAS.index(beta)]


def jet_frame(constituents: EventParticles, sub: Substructure, accepted: np.ndarray, settings: JetSettings) -> JetFrame:
    """The jets where ``accepted`` with their constituents sorted by pT and labelled by subjet."""
    constituents = EventParticles(constituents.columns | {"subjet": sub.subjet}, constituents.counts)
    constituents = constituents.select_events(accepted).sorted_by_pt()
    subjets = ordered_subjets(sub.subjets[accepted])
    return JetFrame(constituents, subjets, sub.tau[accepted], sub.m_sd[accepted], settings)


# Expert variables (docs/physics.md "Expert (XAUG) variables"), each a function of the JetFrame.
JetVariable = Callable[[JetFrame], np.ndarray]


def _tau(groomed: bool, beta: float, n: int) -> JetVariable:
    return lambda jets: jets.taus(groomed, beta)[:, n - 1]


def _tau21(jets: JetFrame) -> np.ndarray:
    tau = jets.taus(False, 1.0)
    return tau[:, 1] / np.maximum(tau[:, 0], 1e-12)


def _reference_beta3(formula: Callable[..., np.ndarray], groomed: bool) -> JetVariable:
    """``formula`` (beta3 or beta3_sd) of τ1(β = 0.5), τ2(β = 1), τ2(β = 2)."""
    return lambda jets: formula(
        jets.taus(groomed, 0.5)[:, 0], jets.taus(groomed, 1.0)[:, 1], jets.taus(groomed, 2.0)[:, 1]
    )


def _dr_subjets(jets: JetFrame) -> np.ndarray:
    eta, phi = jets.subjets.eta, jets.subjets.phi
    return np.hypot(eta[:, 0] - eta[:, 1], wrap(phi[:, 0] - phi[:, 1]))


def _z_subjets(jets: JetFrame) -> np.ndarray:
    return jets.subjets.pt.min(axis=1) / jets.subjets.pt.sum(axis=1)


def _pull_angle(jets: JetFrame) -> np.ndarray:
    """The pull angle of the leading subjet towards the second one."""
    constituents, subjets = jets.constituents, jets.subjets
    in_leading = constituents["subjet"] == subjets.leading_label[constituents.event_index]
    return pull_angle(constituents.select_particles(in_leading), subjets.four_vector(0), subjets.four_vector(1))


def _multiplicity(flag: str) -> JetVariable:
    return lambda jets: np.bincount(jets.constituents.event_index, weights=jets.flags[flag], minlength=len(jets.pt))


def _log_max_vertex(axis: int) -> JetVariable:
    """log of the largest (capped) vertex distance among the leading n_particles constituents."""
    return lambda jets: np.log(
        jets.constituents.padded(jets.vertex[axis], jets.settings.n_particles).max(axis=1) + VERTEX_FLOOR_MM
    )


XAUG_VARIABLES: tuple[tuple[str, JetVariable], ...] = (
    ("pt", lambda jets: jets.pt),
    ("eta", lambda jets: jets.eta),
    ("phi", lambda jets: jets.phi),
    ("mass", lambda jets: jets.mass),
    ("m_sd", lambda jets: jets.m_sd),
    *((f"tau{n}_b{_beta_label(b)}", _tau(False, b, n)) for b in NSUB_BETAS for n in (1, 2, 3)),
    *((f"tau{n}_b{_beta_label(b)}_sd", _tau(True, b, n)) for b in NSUB_BETAS for n in (1, 2, 3)),
    ("tau21", _tau21),
    ("beta3", _reference_beta3(beta3, groomed=False)),
    ("beta3_sd", _reference_beta3(beta3_sd, groomed=True)),
    ("dr_subjets", _dr_subjets),
    ("z_subjets", _z_subjets),
    ("pull_angle", _pull_angle),
    ("n_charged_hadrons", _multiplicity("is_charged_hadron")),
    ("n_neutral_hadrons", _multiplicity("is_neutral_hadron")),
    ("n_photons", _multiplicity("is_photon")),
    ("n_electrons", _multiplicity("is_electron")),
    ("n_muons", _multiplicity("is_muon")),
    ("log_vtx_xy", _log_max_vertex(0)),
    ("log_vtx_z", _log_max_vertex(1)),
)

XAUG_NAMES: list[str] = [name for name, _ in XAUG_VARIABLES]
# The expert variables that need an optional particle column (particles.OPTIONAL_FIELDS): the particle-type
# multiplicities need PDG ids, the displacements the production vertex.  No expert variable uses the charge
# (n_charged_hadrons counts |PDG id| 211, 321, 2212); the particle list's `charge` feature does.
XAUG_NEEDS: dict[str, tuple[str, ...]] = {
    **{f"n_{kind}": ("id",) for kind in ("charged_hadrons", "neutral_hadrons", "photons", "electrons", "muons")},
    "log_vtx_xy": VERTEX_FIELDS,
    "log_vtx_z": VERTEX_FIELDS,
}


def not_computable(available: Collection[str]) -> dict[str, str]:
    """What cannot be computed from particles with only the columns ``available``, and why: expert
    variables by name, particle-list features as ``particles:{feature}`` (the relevance tables' names)."""
    xaug = missing_inputs(XAUG_NAMES, XAUG_NEEDS, available)
    particles = missing_inputs(PARTICLE_FEATURES, PARTICLE_NEEDS, available)
    return xaug | {f"particles:{name}": why for name, why in particles.items()}


def computable_names(available: Collection[str]) -> tuple[list[str], list[str]]:
    """The expert variables and particle features that particles with the columns ``available`` give."""
    skipped = not_computable(available)
    return (
        [name for name in XAUG_NAMES if name not in skipped],
        [name for name in PARTICLE_FEATURES if f"particles:{name}" not in skipped],
    )


def expert_variables(jets: JetFrame) -> dict[str, np.ndarray]:
    """Every expert variable of every jet, (jets,) each, in XAUG_NAMES order; with optional particle columns
    missing (files of your own jets), those that need them are left out (:func:`not_computable`)."""
    skipped = missing_inputs(XAUG_NAMES, XAUG_NEEDS, jets.constituents.columns)
    return {name: variable(jets) for name, variable in XAUG_VARIABLES if name not in skipped}


def jet_image(jets: JetFrame, settings: JetSettings) -> tuple[np.ndarray, JetCoordinates]:
    """Every constituent, in the frame of the two subjets (second subjet at (0, -1)), pixelized and
    parity flipped; and the constituent coordinates (for the particle list)."""
    constituents = jets.constituents
    event, n_max = constituents.event_index, int(constituents.counts.max())
    eta = _eta(constituents["px"], constituents["py"], constituents["pz"])
    phi = np.arctan2(constituents["py"], constituents["px"])
    deta = constituents.padded(eta - jets.eta[event], n_max)
    dphi = constituents.padded(wrap(phi - jets.phi[event]), n_max)
    frac = constituents.padded(constituents.pt / jets.pt[event], n_max)
    s_eta, s_phi = jets.subjets.eta, jets.subjets.phi
    leading, second = (np.stack([s_eta[:, i] - jets.eta, wrap(s_phi[:, i] - jets.phi)], axis=1) for i in (0, 1))
    x, y, r0 = align_to_subjets(deta, dphi, leading, second)
    image, _ = pixelize(x, y, frac, settings.grid, settings.half_width)
    image, flipped = parity_flip(image)
    x = np.where(flipped[:, None], -x, x)
    return image, JetCoordinates(deta, dphi, x, y, r0, (leading, second))


def particle_view(jets: JetFrame, coordinates: JetCoordinates, settings: JetSettings) -> ParticleView:
    """The input of :func:`xaugjets.particles.particle_list` for these jets."""
    columns = jets.constituents.columns
    flags = jets.flags if "id" in columns else {}
    vertex = jets.vertex if all(name in columns for name in VERTEX_FIELDS) else ()
    return ParticleView(jets.constituents, jets.pt, coordinates, flags, vertex, settings.n_particles)


def select_two_prongs(found: LeadingJets, sub: Substructure) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Jets with at least two groomed constituents: that mask (per jet), passed (per event), the cutflow."""
    has_jet, constituents = found.has_jet, found.constituents
    two_prongs = np.bincount(constituents.event_index[sub.groomed], minlength=len(constituents)) >= 2
    passed = np.zeros(len(has_jet), dtype=bool)
    passed[np.flatnonzero(has_jet)[two_prongs]] = True
    cutflow = {
        "events": len(has_jet),
        "rejected_no_jet_above_pt_min": int((~has_jet).sum()),
        "rejected_fewer_than_two_groomed_constituents": int((~two_prongs).sum()),
        "accepted": int(passed.sum()),
    }
    return two_prongs, passed, cutflow


def _empty_batch(
    passed: np.ndarray, cutflow: dict[str, int], settings: JetSettings, available: Collection[str]
) -> JetBatch:
    n, grid = settings.n_particles, settings.grid
    xaug_names, features = computable_names(available)
    return JetBatch(
        xaug=np.zeros((0, len(xaug_names)), dtype=np.float32),
        image=np.zeros((0, grid, grid), dtype=np.float32),
        particles=np.zeros((0, n, len(features)), dtype=np.float32),
        mask=np.zeros((0, n), dtype=bool),
        momentum=np.zeros((0, 4)),
        passed=passed,
        cutflow=cutflow,
    )


def describe(found: LeadingJets, settings: JetSettings, backend: str | None = None) -> JetBatch:
    """Grooming, subjets, N-subjettiness, expert variables, image and particle list of each leading jet."""
    sub = substructure(found.constituents, settings, backend)
    two_prongs, passed, cutflow = select_two_prongs(found, sub)
    if cutflow["accepted"] == 0:
        return _empty_batch(passed, cutflow, settings, found.constituents.columns)
    jets = jet_frame(found.constituents, sub, two_prongs, settings)
    xaug = np.stack([np.asarray(values, dtype=np.float64) for values in expert_variables(jets).values()], axis=1)
    image, coordinates = jet_image(jets, settings)
    particles, mask = particle_list(particle_view(jets, coordinates, settings))
    return JetBatch(
        xaug=xaug.astype(np.float32),
        image=image,
        particles=particles,
        mask=mask,
        momentum=np.stack([jets.momentum[name] for name in MOMENTUM_FIELDS], axis=1),
        passed=passed,
        cutflow=cutflow,
    )
