"""Jets from particles: anti-kT clustering, mMDT / soft-drop grooming, N-subjettiness, expert variables.

Everything is vectorized over events with the awkward-array interface of the scikit-hep ``fastjet``
package (the only route to fastjet-contrib's SoftDrop and Nsubjettiness from Python).

Input: an awkward array of events, each a list of visible final-state particles with fields
``px, py, pz, E`` [GeV], ``id`` (PDG), ``charge`` [e], ``vx, vy, vz`` (production vertex) [mm].

Conventions (see docs/physics.md):
- jets: anti-kT R = 0.8, pT > ``pt_min``, the leading jet of each event;
- grooming: mMDT = soft drop with β = 0, z_cut = 0.1, R0 = 0.8, on the C/A reclustered jet;
- subjets: the groomed constituents reclustered with C/A into exactly two exclusive jets
  (the last C/A merging of the groomed jet is the soft-drop splitting);
- N-subjettiness: WTA-kT axes, normalized measure τ_N = Σ pT_i min_k ΔR_ik^β / Σ pT_i R0^β with
  R0 = 0.8; groomed τ use the groomed constituents in numerator and normalization alike.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import awkward as ak
import fastjet
import numpy as np
import vector

vector.register_awkward()

NEUTRINO_IDS = (12, 14, 16)
CHARGED_HADRON_IDS = (211, 321, 2212)
NEUTRAL_HADRON_IDS = (2112, 130)
NSUB_BETAS = (0.5, 1.0, 2.0)
VERTEX_FLOOR_MM = 1e-6  # added before the log so prompt particles (vertex at 0) stay finite


@dataclass(frozen=True)
class JetSettings:
    radius: float = 0.8
    pt_min: float = 200.0
    zcut: float = 0.1
    sd_beta: float = 0.0
    n_particles: int = 20
    grid: int = 16
    half_width: float = 2.0


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


def visible_final_state(particles: ak.Array) -> ak.Array:
    """Final-state particles (status > 0) without neutrinos."""
    keep = (particles.status > 0) & ~_isin(np.abs(particles.id), NEUTRINO_IDS)
    return particles[keep]


def _isin(values: ak.Array, choices: tuple[int, ...]) -> ak.Array:
    """Element-wise membership for jagged arrays (np.isin needs rectangular input)."""
    flat = ak.flatten(values)
    return ak.unflatten(np.isin(ak.to_numpy(flat), choices), ak.num(values))


def _momenta(particles: ak.Array) -> ak.Array:
    return ak.zip(
        {"px": particles.px, "py": particles.py, "pz": particles.pz, "E": particles.E}, with_name="Momentum4D"
    )


def _padded(array: ak.Array, length: int, fill: float = 0.0) -> np.ndarray:
    return ak.to_numpy(ak.fill_none(ak.pad_none(array, length, clip=True, axis=1), fill)).astype(np.float64)


def _wrap(dphi: np.ndarray | ak.Array) -> np.ndarray | ak.Array:
    return (dphi + np.pi) % (2 * np.pi) - np.pi


def leading_jets(particles: ak.Array, settings: JetSettings) -> tuple[np.ndarray, ak.Array]:
    """Cluster anti-kT jets per event; return (events with a jet above pt_min, its constituents)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sequence = fastjet.ClusterSequence(
            _momenta(particles), fastjet.JetDefinition(fastjet.antikt_algorithm, settings.radius)
        )
        jets = sequence.inclusive_jets(min_pt=settings.pt_min)
        index = sequence.constituent_index(min_pt=settings.pt_min)
    has_jet = ak.to_numpy(ak.num(jets, axis=1) > 0)
    jet_pt = np.hypot(jets.px, jets.py)[has_jet]
    lead = ak.argmax(jet_pt, axis=1, keepdims=True)
    constituents = particles[has_jet][ak.flatten(index[has_jet][lead], axis=1)]
    return has_jet, constituents


def _cluster_ca(particles: ak.Array, radius: float) -> fastjet.ClusterSequence:
    return fastjet.ClusterSequence(_momenta(particles), fastjet.JetDefinition(fastjet.cambridge_algorithm, radius))


def _nsubjettiness(sequence: fastjet.ClusterSequence, radius: float) -> dict[float, np.ndarray]:
    return {
        beta: ak.to_numpy(
            sequence.njettiness(
                measure_definition="NormalizedMeasure",
                axes_definition="WTA_KT_Axes",
                njets=[1, 2, 3],
                beta=beta,
                R0=radius,
            )
        ).astype(np.float64)
        for beta in NSUB_BETAS
    }


def _kinematics(p: ak.Array) -> dict[str, ak.Array]:
    pt = np.hypot(p.px, p.py)
    return {"pt": pt, "eta": np.arcsinh(p.pz / np.maximum(pt, 1e-12)), "phi": np.arctan2(p.py, p.px)}


def pull_angle(constituents: ak.Array, axis: ak.Array, other: ak.Array) -> np.ndarray:
    """|angle| between the pull vector of a subjet and the direction to the other subjet, in (y, φ).

    t = Σ_i (pT_i / pT_subjet) |r_i| r_i with r_i the constituent's (Δy, Δφ) from the subjet axis.
    Computed on flat numpy arrays (one bincount per sum) rather than jagged awkward arithmetic.
    """
    counts = ak.to_numpy(ak.num(constituents, axis=1))
    jet = np.repeat(np.arange(len(counts)), counts)
    flat = {k: ak.to_numpy(ak.flatten(constituents[k])) for k in ("px", "py", "pz", "E")}
    ax = {k: ak.to_numpy(axis[k]) for k in ("px", "py", "pz", "E")}
    y_axis, phi_axis = _rapidity_np(ax), np.arctan2(ax["py"], ax["px"])
    pt = np.hypot(flat["px"], flat["py"])
    dy = _rapidity_np(flat) - y_axis[jet]
    dphi = _wrap(np.arctan2(flat["py"], flat["px"]) - phi_axis[jet])
    weight = pt * np.hypot(dy, dphi) / np.bincount(jet, weights=pt, minlength=len(counts))[jet]
    t_y = np.bincount(jet, weights=weight * dy, minlength=len(counts))
    t_phi = np.bincount(jet, weights=weight * dphi, minlength=len(counts))
    oth = {k: ak.to_numpy(other[k]) for k in ("px", "py", "pz", "E")}
    d_y = _rapidity_np(oth) - y_axis
    d_phi = _wrap(np.arctan2(oth["py"], oth["px"]) - phi_axis)
    return np.abs(np.arctan2(t_y * d_phi - t_phi * d_y, t_y * d_y + t_phi * d_phi))


def _rapidity_np(p: dict[str, np.ndarray]) -> np.ndarray:
    return 0.5 * np.log(np.maximum(p["E"] + p["pz"], 1e-12) / np.maximum(p["E"] - p["pz"], 1e-12))


@dataclass
class JetBatch:
    """Per-jet outputs of :func:`process` for the events that passed."""

    xaug: np.ndarray
    image: np.ndarray
    particles: np.ndarray
    mask: np.ndarray
    passed: np.ndarray  # per input event: True where a jet was kept
    cutflow: dict[str, int]


def process(particles: ak.Array, settings: JetSettings) -> JetBatch:
    """From visible particles per event to expert variables, image and particle list of the leading jet."""
    from .images import align_to_subjets, parity_flip, pixelize

    n_events = len(particles)
    has_jet, constituents = leading_jets(particles, settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ungroomed = _cluster_ca(constituents, settings.radius)
        groomed = ungroomed.exclusive_jets_softdrop_grooming(
            njets=1, beta=settings.sd_beta, symmetry_cut=settings.zcut, R0=settings.radius
        )
        two_prongs = ak.to_numpy(ak.num(groomed.constituents, axis=1) >= 2)
        tau = {beta: values[two_prongs] for beta, values in _nsubjettiness(ungroomed, settings.radius).items()}
        constituents = constituents[two_prongs]
        groomed = groomed[two_prongs]
        groomed_sequence = _cluster_ca(groomed.constituents, settings.radius)
        subjets = groomed_sequence.exclusive_jets(n_jets=2)
        subjet_index = groomed_sequence.exclusive_jets_constituent_index(njets=2)
        tau_sd = _nsubjettiness(groomed_sequence, settings.radius)

    passed = np.zeros(n_events, dtype=bool)
    passed[np.flatnonzero(has_jet)[two_prongs]] = True
    cutflow = {
        "events": n_events,
        "rejected_no_jet_above_pt_min": int((~has_jet).sum()),
        "rejected_fewer_than_two_groomed_constituents": int((~two_prongs).sum()),
        "accepted": int(passed.sum()),
    }

    # Jet four-vector and kinematics.
    jet = ak.zip({k: ak.sum(constituents[k], axis=1) for k in ("px", "py", "pz", "E")}, with_name="Momentum4D")
    jet_pt = ak.to_numpy(jet.pt)
    jet_eta = ak.to_numpy(jet.eta)
    jet_phi = ak.to_numpy(jet.phi)
    jet_mass = ak.to_numpy(np.sqrt(np.maximum(jet.E**2 - jet.px**2 - jet.py**2 - jet.pz**2, 0)))

    # Subjets ordered by pT.
    sub_pt = np.hypot(subjets.px, subjets.py)
    order = ak.argsort(sub_pt, axis=1, ascending=False)
    subjets = subjets[order]
    subjet_index = subjet_index[order]
    s1, s2 = subjets[:, 0], subjets[:, 1]
    s_pt = ak.to_numpy(np.hypot(subjets.px, subjets.py))
    s_eta = ak.to_numpy(np.arcsinh(subjets.pz / np.maximum(np.hypot(subjets.px, subjets.py), 1e-12)))
    s_phi = ak.to_numpy(np.arctan2(subjets.py, subjets.px))
    dr_subjets = np.hypot(s_eta[:, 0] - s_eta[:, 1], _wrap(s_phi[:, 0] - s_phi[:, 1]))
    z_subjets = s_pt.min(axis=1) / s_pt.sum(axis=1)
    groomed_constituents = ak.zip({k: groomed.constituents[k] for k in ("px", "py", "pz", "E")})
    pull = pull_angle(groomed_constituents[subjet_index[:, 0]], s1, s2)

    # Constituent-level arrays, ordered by pT.
    kin = _kinematics(constituents)
    constituents = constituents[ak.argsort(kin["pt"], axis=1, ascending=False)]
    kin = _kinematics(constituents)
    abs_id = np.abs(constituents.id)
    is_charged_hadron = _isin(abs_id, CHARGED_HADRON_IDS)
    is_neutral_hadron = _isin(abs_id, NEUTRAL_HADRON_IDS)
    vtx_xy = np.hypot(constituents.vx, constituents.vy)
    vtx_z = np.abs(constituents.vz)
    lead = slice(0, settings.n_particles)
    counts = {
        name: ak.to_numpy(ak.sum(flag, axis=1))
        for name, flag in (
            ("n_charged_hadrons", is_charged_hadron),
            ("n_neutral_hadrons", is_neutral_hadron),
            ("n_photons", abs_id == 22),
            ("n_electrons", abs_id == 11),
            ("n_muons", abs_id == 13),
        )
    }

    values = {"pt": jet_pt, "eta": jet_eta, "phi": jet_phi, "mass": jet_mass, "m_sd": ak.to_numpy(groomed.msoftdrop)}
    for beta in NSUB_BETAS:
        for n in (1, 2, 3):
            values[f"tau{n}_b{_beta_label(beta)}"] = tau[beta][:, n - 1]
            values[f"tau{n}_b{_beta_label(beta)}_sd"] = tau_sd[beta][:, n - 1]
    values["tau21"] = tau[1.0][:, 1] / np.maximum(tau[1.0][:, 0], 1e-12)
    values["beta3"] = tau[1.0][:, 1] / np.maximum(tau[0.5][:, 0] ** 2, 1e-12)
    values["beta3_sd"] = tau_sd[1.0][:, 1] / np.maximum(tau_sd[0.5][:, 0] ** 2, 1e-12)
    values |= {
        "dr_subjets": dr_subjets,
        "z_subjets": z_subjets,
        "pull_angle": pull,
        **counts,
        "log_vtx_xy": np.log(ak.to_numpy(ak.max(vtx_xy[:, lead], axis=1)) + VERTEX_FLOOR_MM),
        "log_vtx_z": np.log(ak.to_numpy(ak.max(vtx_z[:, lead], axis=1)) + VERTEX_FLOOR_MM),
    }
    xaug = np.stack([np.asarray(values[name], dtype=np.float64) for name in XAUG_NAMES], axis=1)

    # Image: every constituent, in the frame of the two subjets (second subjet at (0, -1)).
    n_max = int(ak.max(ak.num(constituents, axis=1)))
    deta = _padded(kin["eta"] - jet_eta, n_max)
    dphi = _padded(_wrap(kin["phi"] - jet_phi), n_max)
    frac = _padded(kin["pt"], n_max) / jet_pt[:, None]
    subjet_coords = [np.stack([s_eta[:, i] - jet_eta, _wrap(s_phi[:, i] - jet_phi)], axis=1) for i in (0, 1)]
    x, y, r0 = align_to_subjets(deta, dphi, *subjet_coords)
    image, _ = pixelize(x, y, frac, settings.grid, settings.half_width)
    image, flipped = parity_flip(image)
    x = np.where(flipped[:, None], -x, x)

    # Particle list: the leading n_particles constituents, zero padded, with a mask.
    n = settings.n_particles
    mask = _padded(ak.ones_like(kin["pt"]), n).astype(bool)
    pt = _padded(kin["pt"], n, 1.0)
    energy = _padded(constituents.E, n, 1.0)
    d_sub = [np.hypot(deta[:, :n] - c[:, :1], _wrap(dphi[:, :n] - c[:, 1:2])) for c in subjet_coords]
    feats = {
        "log_pt": np.log(pt),
        "log_e": np.log(energy),
        "log_pt_rel": np.log(pt / jet_pt[:, None]),
        "deta_rot": _pad_cols(x * r0[:, None], n),
        "dphi_rot": _pad_cols(y * r0[:, None], n),
        "dr_jet": _pad_cols(np.hypot(deta, dphi), n),
        "dr_subjet1": _pad_cols(d_sub[0], n),
        "dr_subjet2": _pad_cols(d_sub[1], n),
        "charge": _padded(constituents.charge, n),
        "is_electron": _padded(abs_id == 11, n),
        "is_muon": _padded(abs_id == 13, n),
        "is_photon": _padded(abs_id == 22, n),
        "is_charged_hadron": _padded(is_charged_hadron, n),
        "is_neutral_hadron": _padded(is_neutral_hadron, n),
        "log_dxy": np.log(_padded(vtx_xy, n) + VERTEX_FLOOR_MM),
        "log_dz": np.log(_padded(vtx_z, n) + VERTEX_FLOOR_MM),
    }
    particle_array = np.stack([feats[name] for name in PARTICLE_FEATURES], axis=-1)
    particle_array[~mask] = 0.0
    return JetBatch(
        xaug=xaug.astype(np.float32),
        image=image,
        particles=particle_array.astype(np.float32),
        mask=mask,
        passed=passed,
        cutflow=cutflow,
    )


def _pad_cols(values: np.ndarray, n: int) -> np.ndarray:
    """First n columns of a per-constituent array, zero padded on the right."""
    out = np.zeros((values.shape[0], n))
    k = min(n, values.shape[1])
    out[:, :k] = values[:, :k]
    return out
