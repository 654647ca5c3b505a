"""Per-particle quantities of the jet stage, and the particle list of each jet.

The particle list (docs/physics.md "Images and particle lists") holds the leading ``n_particles``
constituents of each jet by decreasing pT, zero padded, with a mask.  Its features are defined once, in
:data:`PARTICLE_VARIABLES` as (name, function) pairs; :data:`PARTICLE_FEATURES` (the order of the last axis
in the jet files) is read off that tuple.  The particle type flags and the production-vertex distances
live here too because the expert variables of :mod:`xaugjets.jets` count and cap the same quantities.

Nothing here imports :mod:`xaugjets.jets`; it imports from here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .jets import EventParticles

CHARGED_HADRON_IDS = (211, 321, 2212)
NEUTRAL_HADRON_IDS = (2112, 130)
VERTEX_FLOOR_MM = 1e-6  # added before the log so prompt particles (vertex at 0) stay finite
VERTEX_FIELDS = ("vx", "vy", "vz")
# The particle columns besides the four-momentum: files of your own jets may lack them (xaugjets.readers).
# What needs them is left out, never filled with made-up values; see OPTIONAL_NEEDS and missing_inputs.
OPTIONAL_FIELDS = {"id": "PDG id", "charge": "electric charge", **dict.fromkeys(VERTEX_FIELDS, "production vertex")}
TYPE_FLAGS = ("is_electron", "is_muon", "is_photon", "is_charged_hadron", "is_neutral_hadron")


def wrap(dphi: np.ndarray) -> np.ndarray:
    """An azimuthal difference wrapped into [-π, π)."""
    return (dphi + np.pi) % (2 * np.pi) - np.pi


def type_flags(pdg_id: np.ndarray) -> dict[str, np.ndarray]:
    """Per particle: is it an electron, muon, photon, charged hadron, neutral hadron (by |PDG id|)."""
    abs_id = np.abs(pdg_id).astype(np.int64)
    return {
        "is_electron": abs_id == 11,
        "is_muon": abs_id == 13,
        "is_photon": abs_id == 22,
        "is_charged_hadron": np.isin(abs_id, CHARGED_HADRON_IDS),
        "is_neutral_hadron": np.isin(abs_id, NEUTRAL_HADRON_IDS),
    }


def vertex_distances(particles: EventParticles, cap_mm: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Transverse √(x² + y²) and longitudinal |z| production-vertex distance [mm], each capped at ``cap_mm``.

    One function for the XAUG variables and the particle list, so both see the same (capped) distances.
    """
    vtx_xy = np.hypot(particles["vx"], particles["vy"])
    vtx_z = np.abs(particles["vz"])
    if cap_mm is not None:
        vtx_xy, vtx_z = np.minimum(vtx_xy, cap_mm), np.minimum(vtx_z, cap_mm)
    return vtx_xy, vtx_z


@dataclass(frozen=True)
class JetCoordinates:
    """Constituent coordinates of each jet from the image step: (jets, most constituents), zero padded."""

    deta: np.ndarray  # η - η_jet
    dphi: np.ndarray  # φ - φ_jet, wrapped
    x: np.ndarray  # aligned to the subjets (second subjet at (0, -1)), in units of r0, after the parity flip
    y: np.ndarray
    r0: np.ndarray  # (jets,): the distance between the two subjets
    subjets: tuple[np.ndarray, np.ndarray]  # (jets, 2): (Δη, Δφ) of the leading and second subjet from the jet


@dataclass(frozen=True)
class ParticleView:
    """What the particle features of the leading ``n`` constituents of each jet are computed from."""

    constituents: EventParticles  # by decreasing pT within each jet
    jet_pt: np.ndarray  # (jets,)
    coordinates: JetCoordinates
    flags: dict[str, np.ndarray]  # type_flags of the constituents ({} without PDG ids)
    vertex: tuple[np.ndarray, ...]  # vertex_distances of the constituents (() without production vertices)
    n: int

    def padded(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """A per-constituent column as (jets, n): the leading n constituents, then ``fill``."""
        return self.constituents.padded(values, self.n, fill)

    def first(self, values: np.ndarray) -> np.ndarray:
        """The first n columns of a padded (jets, most constituents) array, zero padded on the right."""
        out = np.zeros((values.shape[0], self.n))
        k = min(self.n, values.shape[1])
        out[:, :k] = values[:, :k]
        return out

    @cached_property
    def lead_pt(self) -> np.ndarray:
        return self.padded(self.constituents.pt, 1.0)

    def subjet_distance(self, i: int) -> np.ndarray:
        """ΔR of the leading n constituents to subjet ``i`` (0 leading, 1 second)."""
        c, n = self.coordinates.subjets[i], self.n
        return np.hypot(self.coordinates.deta[:, :n] - c[:, :1], wrap(self.coordinates.dphi[:, :n] - c[:, 1:2]))


ParticleVariable = Callable[[ParticleView], np.ndarray]


def _flag(name: str) -> ParticleVariable:
    return lambda view: view.padded(view.flags[name])


def _log_vertex(axis: int) -> ParticleVariable:
    return lambda view: np.log(view.padded(view.vertex[axis]) + VERTEX_FLOOR_MM)


PARTICLE_VARIABLES: tuple[tuple[str, ParticleVariable], ...] = (
    ("log_pt", lambda view: np.log(view.lead_pt)),
    ("log_e", lambda view: np.log(view.padded(view.constituents["E"], 1.0))),
    ("log_pt_rel", lambda view: np.log(view.lead_pt / view.jet_pt[:, None])),
    ("deta_rot", lambda view: view.first(view.coordinates.x * view.coordinates.r0[:, None])),
    ("dphi_rot", lambda view: view.first(view.coordinates.y * view.coordinates.r0[:, None])),
    ("dr_jet", lambda view: view.first(np.hypot(view.coordinates.deta, view.coordinates.dphi))),
    ("dr_subjet1", lambda view: view.first(view.subjet_distance(0))),
    ("dr_subjet2", lambda view: view.first(view.subjet_distance(1))),
    ("charge", lambda view: view.padded(view.constituents["charge"])),
    *((name, _flag(name)) for name in TYPE_FLAGS),
    ("log_dxy", _log_vertex(0)),
    ("log_dz", _log_vertex(1)),
)

PARTICLE_FEATURES: list[str] = [name for name, _ in PARTICLE_VARIABLES]
# The particle features that need an optional column (OPTIONAL_FIELDS); the others need only the momentum.
PARTICLE_NEEDS: dict[str, tuple[str, ...]] = {
    "charge": ("charge",),
    **{name: ("id",) for name in TYPE_FLAGS},
    "log_dxy": VERTEX_FIELDS,
    "log_dz": VERTEX_FIELDS,
}


def missing_inputs(
    names: Iterable[str], needs: dict[str, tuple[str, ...]], available: Collection[str]
) -> dict[str, str]:
    """Of ``names``, those that need a column not in ``available``, each with why (e.g. "needs id (PDG id)")."""
    out = {}
    for name in names:
        absent = [field for field in needs.get(name, ()) if field not in available]
        if absent:
            what = ", ".join(dict.fromkeys(OPTIONAL_FIELDS[field] for field in absent))
            out[name] = f"needs {', '.join(absent)} ({what})"
    return out


def particle_features(view: ParticleView) -> dict[str, np.ndarray]:
    """Every particle feature its columns allow as a (jets, n) array, in PARTICLE_FEATURES order (padding not
    yet zeroed); with every column present, all of them."""
    skipped = missing_inputs(PARTICLE_FEATURES, PARTICLE_NEEDS, view.constituents.columns)
    return {name: variable(view) for name, variable in PARTICLE_VARIABLES if name not in skipped}


def particle_list(view: ParticleView) -> tuple[np.ndarray, np.ndarray]:
    """The (jets, n, len(PARTICLE_FEATURES)) float32 particle list, zero where masked, and the (jets, n) mask."""
    mask = view.padded(np.ones_like(view.constituents.pt)).astype(bool)
    values = np.stack(list(particle_features(view).values()), axis=-1)
    values[~mask] = 0.0
    return values.astype(np.float32), mask
