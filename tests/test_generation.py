"""Pythia generation: failures are counted, not hidden (real Pythia, tiny samples)."""

from __future__ import annotations

import awkward as ak

from xaugjets.generation import GeneratorSettings, generate_jets, make_pythia, next_batch
from xaugjets.jets import JetSettings

# Pythia's own event check with a momentum tolerance tight enough that some events fail it (3 of the
# first 20 with this seed), so nextBatch returns None for them.
STRICT = GeneratorSettings(process="zz", seed=5, extra=("Check:epTolErr = 1e-12",))


def test_failed_events_are_dropped_and_counted():
    events, failed = next_batch(make_pythia(STRICT), 20)
    assert 0 < failed < 20
    assert len(events) == 20 - failed
    assert not ak.any(ak.is_none(events, axis=0))


def test_shard_cutflow_adds_up_with_failures():
    _, failed = next_batch(make_pythia(STRICT), 20)
    cutflow = generate_jets(STRICT, 20, JetSettings(), batch_size=7).cutflow
    assert cutflow["failed_next"] == failed  # same seed, same failures, whatever the batch size
    assert cutflow["generated"] == cutflow["failed_next"] + cutflow["events"]
    rejected = cutflow["rejected_no_jet_above_pt_min"] + cutflow["rejected_fewer_than_two_groomed_constituents"]
    assert cutflow["events"] == rejected + cutflow["accepted"]
    assert cutflow["accepted"] > 0
