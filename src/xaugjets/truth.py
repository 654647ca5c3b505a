"""Generator truth for the signal: which leading jets contain a hadronically decaying Z and both its quarks.

Why: the Pythia signal sample is labelled by process, not by content.  A ZZ event's leading jet may hold
only one quark of a Z (unmerged, at low boost) or no Z at all (an ISR jet); the matching table says how
often that happens before and after the m_SD window, and ``pythia.require_z_match`` can keep only fully
merged jets.

Definitions (docs/physics.md):
- hadronic Z: a PDG 23 entry whose two daughters are quarks (|PDG| 1..6), i.e. the last copy before
  the decay (earlier copies have the next copy as their only daughter); its quarks are those daughters,
  ``q1`` the harder one in pT;
- ΔR in (rapidity, φ), the metric of the anti-kT clustering, from the jet's four-momentum axis;
- matched: ΔR(jet, nearest hadronic Z) < R; fully merged: matched and ΔR(jet, q) < R for both quarks,
  with R the jet radius.

Everything works on flat numpy columns of a batch: no loop over particles, events or Z candidates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np
import pandas as pd
from scipy import stats

from .processes import PDG_Z

QUARK_IDS = (1, 2, 3, 4, 5, 6)
TRUTH_KEYS = ("truth_dr_z", "truth_dr_q1", "truth_dr_q2")
RECORD_FIELDS = ("id", "daughter1", "daughter2")
CONFIDENCE = 0.6827  # "68 %" intervals: ± 1 σ of a normal distribution


@dataclass(frozen=True)
class ZCandidates:
    """Hadronically decaying Z bosons of a batch, one row each: the event, the Z and its two quarks."""

    event: np.ndarray  # (n,) event index within the batch
    z: np.ndarray  # (n, 4) px, py, pz, E [GeV]
    q1: np.ndarray  # (n, 4) the harder quark in pT
    q2: np.ndarray  # (n, 4) the softer quark


def find_hadronic_z(
    pdg_id: np.ndarray, daughter1: np.ndarray, daughter2: np.ndarray, momenta: np.ndarray, counts: np.ndarray
) -> ZCandidates:
    """Hadronic Z bosons from flat event-record columns (daughter indices local to each event, as in Pythia).

    ``momenta`` is (particles, 4) px, py, pz, E; ``counts`` the number of record entries per event.  A Z
    qualifies when it has exactly two daughters (``daughter2 == daughter1 + 1``) and both are quarks.
    """
    pdg_id, daughter1, daughter2 = (np.asarray(c, dtype=np.int64) for c in (pdg_id, daughter1, daughter2))
    counts = np.asarray(counts, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    event = np.repeat(np.arange(len(counts)), counts)
    candidate = np.flatnonzero((pdg_id == PDG_Z) & (daughter1 > 0) & (daughter2 == daughter1 + 1))
    event_of = event[candidate]
    inside = daughter2[candidate] < counts[event_of]  # never index outside the Z's own event
    candidate, event_of = candidate[inside], event_of[inside]
    first = offsets[event_of] + daughter1[candidate]
    second = first + 1
    quarks = np.isin(np.abs(pdg_id[first]), QUARK_IDS) & np.isin(np.abs(pdg_id[second]), QUARK_IDS)
    candidate, event_of, first, second = candidate[quarks], event_of[quarks], first[quarks], second[quarks]
    q_a, q_b = momenta[first], momenta[second]
    harder_b = np.hypot(q_b[:, 0], q_b[:, 1]) > np.hypot(q_a[:, 0], q_a[:, 1])
    q1 = np.where(harder_b[:, None], q_b, q_a)
    q2 = np.where(harder_b[:, None], q_a, q_b)
    return ZCandidates(event_of, momenta[candidate], q1, q2)


def hadronic_z_from_events(events: ak.Array) -> ZCandidates:
    """:func:`find_hadronic_z` on the event record that ``Pythia.nextBatch`` delivers (a few awkward calls)."""
    particles = events.prt
    counts = ak.to_numpy(ak.num(particles, axis=1))
    flat = {name: ak.to_numpy(ak.flatten(particles[name], axis=1)) for name in RECORD_FIELDS}
    momenta = np.stack([ak.to_numpy(ak.flatten(particles.p[c], axis=1)) for c in ("px", "py", "pz", "e")], axis=1)
    return find_hadronic_z(flat["id"], flat["daughter1"], flat["daughter2"], momenta.astype(np.float64), counts)


def _rapidity_phi(p4: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(y, φ) of (n, 4) four-momenta."""
    energy, pz = p4[:, 3], p4[:, 2]
    y = 0.5 * np.log(np.maximum(energy + pz, 1e-300) / np.maximum(energy - pz, 1e-300))
    return y, np.arctan2(p4[:, 1], p4[:, 0])


def delta_r(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ΔR in (rapidity, φ) between rows of two (n, 4) four-momentum arrays."""
    (ya, pa), (yb, pb) = _rapidity_phi(a), _rapidity_phi(b)
    return np.hypot(ya - yb, (pa - pb + np.pi) % (2 * np.pi) - np.pi)


def match_jets(jets: np.ndarray, jet_event: np.ndarray, candidates: ZCandidates) -> dict[str, np.ndarray]:
    """Per jet: ΔR to the nearest hadronic Z of its event and to that Z's two quarks (NaN without a Z).

    ``jets`` is (jets, 4) px, py, pz, E and ``jet_event`` the batch event each jet comes from.
    """
    n_jets = len(jets)
    out = {key: np.full(n_jets, np.nan) for key in TRUTH_KEYS}
    if n_jets == 0 or len(candidates.event) == 0:
        return out
    size = max(int(jet_event.max()), int(candidates.event.max())) + 1
    row_of_event = np.full(size, -1, dtype=np.int64)
    row_of_event[jet_event] = np.arange(n_jets)
    row = row_of_event[candidates.event]
    with_jet = np.flatnonzero(row >= 0)
    row = row[with_jet]
    dr_z = delta_r(jets[row], candidates.z[with_jet])
    order = np.lexsort((dr_z, row))  # by jet, nearest Z first
    _, first = np.unique(row[order], return_index=True)
    best = order[first]
    rows, chosen = row[best], with_jet[best]
    out["truth_dr_z"][rows] = dr_z[best]
    out["truth_dr_q1"][rows] = delta_r(jets[rows], candidates.q1[chosen])
    out["truth_dr_q2"][rows] = delta_r(jets[rows], candidates.q2[chosen])
    return out


def no_truth(n_jets: int) -> dict[str, np.ndarray]:
    """The truth columns of jets without a Z to match (QCD): NaN."""
    return {key: np.full(n_jets, np.nan) for key in TRUTH_KEYS}


def matched(truth: Mapping[str, np.ndarray], radius: float) -> np.ndarray:
    """ΔR(jet, Z) < R (NaN, i.e. no Z, is never matched)."""
    return np.asarray(truth["truth_dr_z"]) < radius


def fully_merged(truth: Mapping[str, np.ndarray], radius: float) -> np.ndarray:
    """Matched, and both quarks of the matched Z within ΔR < R of the jet axis."""
    return (
        matched(truth, radius)
        & (np.asarray(truth["truth_dr_q1"]) < radius)
        & (np.asarray(truth["truth_dr_q2"]) < radius)
    )


def wilson_interval(
    passed: np.ndarray, weights: np.ndarray | None = None, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """Fraction of ``passed`` with its Wilson score interval: (fraction, low, high).

    With ``weights`` the fraction is weighted and the interval uses Kish's effective number of entries
    (Σw)²/Σw²; with equal weights this is exactly the binomial Wilson interval of k out of n.
    """
    passed = np.asarray(passed, dtype=bool)
    w = np.ones(len(passed)) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(passed) == 0 or w.sum() <= 0:
        return float("nan"), float("nan"), float("nan")
    fraction = float(w[passed].sum() / w.sum())
    n = float(w.sum() ** 2 / (w**2).sum())
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    centre = (fraction + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(fraction * (1 - fraction) / n + z**2 / (4 * n**2))
    # The Wilson interval always contains the fraction; the clips only undo rounding at 0 and 1.
    return fraction, float(min(max(centre - half, 0.0), fraction)), float(max(min(centre + half, 1.0), fraction))


def _radius(attrs: Mapping[str, object], path: str | Path) -> float:
    provenance = attrs.get("provenance")
    settings = provenance.get("jet_settings") if isinstance(provenance, dict) else None
    if not isinstance(settings, dict) or "radius" not in settings:
        raise OSError(f"{path}: no jet_settings.radius in the provenance, cannot define matching")
    return float(settings["radius"])


def matching_table(paths: Sequence[str | Path], m_sd_window: Sequence[float]) -> pd.DataFrame:
    """Signal jets before and after ``low < m_SD < high`` (raw m_sd): jets, matched and fully merged fractions.

    Fractions are weighted by the event weight (1 unless pythia.bias_power > 0), each with a 68 % Wilson
    interval.  Reads only signal jets (label 1) of the given jet files.
    """
    from .io import read_h5

    parts: dict[str, list[np.ndarray]] = {"m_sd": [], "weight": [], "matched": [], "merged": []}
    for path in paths:
        arrays, attrs = read_h5(path, ("xaug", "label", "weight", *TRUTH_KEYS))
        names = list(attrs["xaug_names"])
        signal = arrays["label"] == 1
        radius = _radius(attrs, path)
        truth = {key: arrays[key][signal] for key in TRUTH_KEYS}
        parts["m_sd"].append(arrays["xaug"][signal, names.index("m_sd")])
        parts["weight"].append(arrays["weight"][signal])
        parts["matched"].append(matched(truth, radius))
        parts["merged"].append(fully_merged(truth, radius))
    columns = {key: np.concatenate(values) for key, values in parts.items()}
    low, high = m_sd_window
    rows = []
    for selection, keep in (
        ("all signal jets", np.ones(len(columns["m_sd"]), dtype=bool)),
        (f"{low:g} < m_SD < {high:g} GeV", (columns["m_sd"] > low) & (columns["m_sd"] < high)),
    ):
        row: dict[str, object] = {"selection": selection, "n_jets": int(keep.sum())}
        for name in ("matched", "merged"):
            label = "fully_merged" if name == "merged" else name
            value, lo, hi = wilson_interval(columns[name][keep], columns["weight"][keep])
            row |= {label: value, f"{label}_low": lo, f"{label}_high": hi}
        rows.append(row)
    return pd.DataFrame(rows)


def table_markdown(table: pd.DataFrame) -> str:
    """The matching table as Markdown, fractions as value [low, high] (68 % Wilson interval)."""
    lines = [
        "| selection | jets | matched (ΔR(jet, Z) < R) | fully merged (Z and both quarks within R) |",
        "| --- | ---: | --- | --- |",
    ]
    for row in table.to_dict("records"):
        cells = [f"{row[k]:.3f} [{row[f'{k}_low']:.3f}, {row[f'{k}_high']:.3f}]" for k in ("matched", "fully_merged")]
        lines.append(f"| {row['selection']} | {row['n_jets']} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"
