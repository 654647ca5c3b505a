"""Z truth matching on hand-built event records with known answers, and the matching table."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from xaugjets import io, jets, truth
from xaugjets.particles import PARTICLE_FEATURES


def p4(pt: float, y: float, phi: float, mass: float = 0.0) -> list[float]:
    """px, py, pz, E of a particle with rapidity ``y`` (exact also for massive particles)."""
    mt = np.hypot(pt, mass)
    return [pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y), mt * np.cosh(y)]


def record(entries: list[tuple[int, int, int, list[float]]]) -> dict[str, np.ndarray]:
    """One event record: (PDG id, daughter1, daughter2, four-momentum) per entry, as Pythia lists them."""
    return {
        "id": np.array([e[0] for e in entries]),
        "daughter1": np.array([e[1] for e in entries]),
        "daughter2": np.array([e[2] for e in entries]),
        "momenta": np.array([e[3] for e in entries], dtype=np.float64),
    }


def batch(*events: dict[str, np.ndarray]) -> truth.ZCandidates:
    columns = {k: np.concatenate([e[k] for e in events]) for k in ("id", "daughter1", "daughter2", "momenta")}
    counts = np.array([len(e["id"]) for e in events])
    return truth.find_hadronic_z(columns["id"], columns["daughter1"], columns["daughter2"], columns["momenta"], counts)


SYSTEM = (90, 0, 0, [0.0, 0.0, 0.0, 13000.0])
Z_AT = p4(400, 0.3, 1.0, mass=91.19)

# Event 0: a Z copied once (single daughter) and then decaying to u ū; the last copy is the hadronic Z.
EVENT0 = record(
    [
        SYSTEM,
        (23, 2, 2, p4(390, 0.2, 1.1, 91.19)),
        (23, 3, 4, Z_AT),
        (-2, 0, 0, p4(100, 0.5, 1.3)),
        (2, 0, 0, p4(300, 0.25, 0.9)),
    ]
)
# Event 1: Z -> e+ e- only (not hadronic).
EVENT1 = record(
    [SYSTEM, (23, 2, 3, p4(300, 0.0, 0.0, 91.19)), (11, 0, 0, p4(150, 0.1, 0.1)), (-11, 0, 0, p4(150, -0.1, -0.1))]
)
# Event 2: two hadronic Z bosons, back to back; the jet will sit near the second one.
EVENT2 = record(
    [
        SYSTEM,
        (23, 3, 4, p4(350, -1.0, 0.0, 91.19)),
        (23, 5, 6, p4(350, 1.0, np.pi, 91.19)),
        (5, 0, 0, p4(200, -1.1, 0.1)),
        (-5, 0, 0, p4(150, -0.9, -0.1)),
        (1, 0, 0, p4(250, 1.05, np.pi - 0.1)),
        (-1, 0, 0, p4(100, 0.8, -np.pi + 0.5)),
    ]
)


def test_only_last_z_copies_with_two_quark_daughters_are_found():
    found = batch(EVENT0, EVENT1, EVENT2)
    np.testing.assert_array_equal(found.event, [0, 2, 2])
    np.testing.assert_allclose(found.z[0], Z_AT)
    np.testing.assert_allclose(found.q1[0], p4(300, 0.25, 0.9))  # the harder quark first, whatever the order
    np.testing.assert_allclose(found.q2[0], p4(100, 0.5, 1.3))
    np.testing.assert_allclose(found.q1[2], p4(250, 1.05, np.pi - 0.1))


def test_delta_r_uses_rapidity_not_pseudorapidity():
    heavy = np.array([p4(100, 0.5, 0.0, mass=91.19)])
    light = np.array([p4(100, 0.5, 0.0)])
    assert truth.delta_r(heavy, light)[0] == pytest.approx(0.0, abs=1e-12)  # same y, different η
    assert truth.delta_r(np.array([p4(50, 0.0, 3.0)]), np.array([p4(50, 0.4, -3.0)]))[0] == pytest.approx(
        np.hypot(0.4, 2 * np.pi - 6.0)
    )


def test_jets_match_the_nearest_z_of_their_own_event():
    found = batch(EVENT0, EVENT1, EVENT2)
    jet_axes = np.array([p4(420, 0.3, 1.0, mass=95.0), p4(300, 0.0, 0.0, 91.0), p4(340, 0.95, np.pi - 0.05, 90.0)])
    out = truth.match_jets(jet_axes, np.array([0, 1, 2]), found)
    assert out["truth_dr_z"][0] == pytest.approx(0.0, abs=1e-12)
    assert out["truth_dr_q1"][0] == pytest.approx(np.hypot(0.05, 0.1))
    assert out["truth_dr_q2"][0] == pytest.approx(np.hypot(0.2, 0.3))
    assert np.isnan([out[k][1] for k in truth.TRUTH_KEYS]).all()  # leptonic Z: nothing to match
    assert out["truth_dr_z"][2] == pytest.approx(np.hypot(0.05, 0.05))  # the second Z, not the first
    assert out["truth_dr_q1"][2] == pytest.approx(np.hypot(0.1, 0.05))
    assert out["truth_dr_q2"][2] == pytest.approx(np.hypot(0.15, 2 * np.pi - (np.pi - 0.05) - (np.pi - 0.5)))
    assert list(truth.matched(out, 0.8)) == [True, False, True]
    assert list(truth.fully_merged(out, 0.8)) == [True, False, True]
    assert list(truth.fully_merged(out, 0.5)) == [True, False, False]  # event 2: q2 is 0.57 away


def test_jet_events_without_any_candidate_and_empty_batches():
    none = truth.match_jets(np.array([p4(300, 0.0, 0.0)]), np.array([4]), batch(EVENT0))  # Z in event 0 only
    assert np.isnan(none["truth_dr_z"]).all()
    empty = truth.match_jets(np.zeros((0, 4)), np.zeros(0, dtype=np.int64), batch(EVENT0))
    assert all(len(v) == 0 for v in empty.values())


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (37, 50), (50, 50), (412, 700)])
def test_wilson_interval_equals_scipy_for_unit_weights(k, n):
    passed = np.arange(n) < k
    fraction, low, high = truth.wilson_interval(passed)
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=truth.CONFIDENCE, method="wilson")
    assert fraction == pytest.approx(k / n)
    assert (low, high) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert low <= fraction <= high


def test_weighted_fraction_uses_kish_effective_entries():
    passed = np.array([True, False, True, False])
    fraction, low, high = truth.wilson_interval(passed, np.array([3.0, 1.0, 3.0, 1.0]))
    assert fraction == pytest.approx(0.75)
    # n_eff = 8² / 20 = 3.2, the Wilson interval of 0.75 with that n.
    z, n = stats.norm.ppf(0.5 + truth.CONFIDENCE / 2), 3.2
    centre = (0.75 + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(0.75 * 0.25 / n + z**2 / (4 * n**2))
    assert (low, high) == pytest.approx((centre - half, centre + half))


def write_jet_file(path, m_sd, dr_z, dr_q1, dr_q2, label, radius=0.8):
    n = len(m_sd)
    xaug = np.zeros((n, len(jets.XAUG_NAMES)), dtype=np.float32)
    xaug[:, jets.XAUG_NAMES.index("m_sd")] = m_sd
    arrays = io.JetArrays(
        image=np.zeros((n, 2, 2), dtype=np.float32),
        particles=np.zeros((n, 1, len(PARTICLE_FEATURES)), dtype=np.float32),
        mask=np.ones((n, 1), dtype=bool),
        xaug=xaug,
        label=np.asarray(label, dtype=np.int8),
        weight=np.ones(n, dtype=np.float32),
        xaug_names=list(jets.XAUG_NAMES),
        particle_features=list(PARTICLE_FEATURES),
        provenance={"jet_settings": {"radius": radius}},
    )
    extra = {"truth_dr_z": dr_z, "truth_dr_q1": dr_q1, "truth_dr_q2": dr_q2}
    io.write_jets(path, arrays, extra={k: np.asarray(v, dtype=np.float64) for k, v in extra.items()})


def test_matching_table_counts_signal_jets_before_and_after_the_window(tmp_path):
    nan = np.nan
    # Signal: in window and merged; in window, matched not merged; outside, merged; outside, unmatched.
    write_jet_file(
        tmp_path / "zz.h5",
        [90, 100, 30, 200],
        [0.1, 0.2, 0.1, 1.5],
        [0.2, 0.3, 0.1, 1.0],
        [0.5, 0.9, 0.6, 2.0],
        [1, 1, 1, 1],
    )
    write_jet_file(tmp_path / "qcd.h5", [90, 95], [nan, nan], [nan, nan], [nan, nan], [0, 0])  # ignored
    table = truth.matching_table([tmp_path / "zz.h5", tmp_path / "qcd.h5"], (50.0, 150.0))
    assert list(table["n_jets"]) == [4, 2]
    np.testing.assert_allclose(table["matched"], [0.75, 1.0])
    np.testing.assert_allclose(table["fully_merged"], [0.5, 0.5])
    ci = stats.binomtest(2, 4).proportion_ci(confidence_level=truth.CONFIDENCE, method="wilson")
    assert (table["fully_merged_low"][0], table["fully_merged_high"][0]) == pytest.approx((ci.low, ci.high))
    markdown = truth.table_markdown(table)
    assert "| 50 < m_SD < 150 GeV | 2 | 1.000 [" in markdown
    # A wider jet radius in the file's provenance merges the second jet too.
    write_jet_file(tmp_path / "wide.h5", [90, 100], [0.1, 0.2], [0.2, 0.3], [0.5, 0.9], [1, 1], radius=1.0)
    assert truth.matching_table([tmp_path / "wide.h5"], (50.0, 150.0))["fully_merged"][1] == pytest.approx(1.0)
