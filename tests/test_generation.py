"""Pythia generation: failures and rejections are counted, not hidden; signal jets carry Z truth (real Pythia,
tiny samples)."""

from __future__ import annotations

import awkward as ak
import numpy as np

from xaugjets import truth
from xaugjets.generation import (
    REJECTED_UNMERGED,
    GeneratorSettings,
    generate_jets,
    generate_jets_with_truth,
    make_pythia,
    next_batch,
)
from xaugjets.jets import JetSettings

# Pythia's own event check with a momentum tolerance tight enough that some events fail it (3 of the
# first 20 with this seed), so nextBatch returns None for them.
STRICT = GeneratorSettings.default(process="zz", seed=5, extra=("Check:epTolErr = 1e-12",))


def test_failed_events_are_dropped_and_counted():
    events, failed = next_batch(make_pythia(STRICT), 20)
    assert 0 < failed < 20
    assert len(events) == 20 - failed
    assert not ak.any(ak.is_none(events, axis=0))


def test_shard_cutflow_adds_up_with_failures():
    _, failed = next_batch(make_pythia(STRICT), 20)
    cutflow = generate_jets(STRICT, 20, JetSettings.default(), batch_size=7).cutflow
    assert cutflow["failed_next"] == failed  # same seed, same failures, whatever the batch size
    assert cutflow["generated"] == cutflow["failed_next"] + cutflow["events"]
    rejected = cutflow["rejected_no_jet_above_pt_min"] + cutflow["rejected_fewer_than_two_groomed_constituents"]
    assert cutflow[REJECTED_UNMERGED] == 0  # require_z_match is off by default
    assert cutflow["events"] == rejected + cutflow["accepted"]
    assert cutflow["accepted"] > 0


SIGNAL = GeneratorSettings.default(process="zz", seed=21)


def test_signal_jets_carry_z_truth_and_qcd_jets_nan():
    found_jets, found = generate_jets_with_truth(SIGNAL, 40, JetSettings.default(), batch_size=15)
    assert set(found) == set(truth.TRUTH_KEYS)
    assert all(len(values) == len(found_jets) > 30 for values in found.values())
    assert np.isfinite(found["truth_dr_z"]).all()  # both Z bosons decay to quarks: every event has one
    assert truth.matched(found, 0.8).mean() > 0.8  # the leading jet is almost always a Z
    merged = truth.fully_merged(found, 0.8)
    assert 0 < merged.sum() < len(merged)  # at pT ~ 2 m_Z / R some Z are not fully merged
    # Both quarks of a matched Z lie within R of the jet exactly when the jet is fully merged.
    close = np.maximum(found["truth_dr_q1"], found["truth_dr_q2"]) < 0.8
    np.testing.assert_array_equal(merged, close & (found["truth_dr_z"] < 0.8))
    qcd = GeneratorSettings.default(process="qcd", seed=21)
    qcd_jets, qcd = generate_jets_with_truth(qcd, 10, JetSettings.default(), batch_size=10)
    assert len(qcd_jets) > 0 and all(np.isnan(values).all() for values in qcd.values())


def test_require_z_match_rejects_and_counts_every_unmerged_signal_jet():
    free_jets, free = generate_jets_with_truth(SIGNAL, 40, JetSettings.default(), batch_size=15)
    kept_jets, kept = generate_jets_with_truth(SIGNAL, 40, JetSettings.default(require_z_match=True), batch_size=15)
    merged = truth.fully_merged(free, 0.8)
    cutflow = kept_jets.cutflow
    assert cutflow[REJECTED_UNMERGED] == int((~merged).sum()) > 0
    assert cutflow["accepted"] == len(kept_jets) == int(merged.sum())
    np.testing.assert_array_equal(kept_jets.xaug, free_jets.xaug[merged])  # same seed: the same events
    np.testing.assert_array_equal(kept["truth_dr_z"], free["truth_dr_z"][merged])
    rejected = sum(value for key, value in cutflow.items() if key.startswith("rejected"))
    assert cutflow["events"] == rejected + cutflow["accepted"]
