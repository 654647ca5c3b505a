"""The wall-time predictor's scheduler on hand-built job graphs with known answers."""

from __future__ import annotations

import importlib.util
import sys

from workflow_helpers import REPO

spec = importlib.util.spec_from_file_location("predict_time", REPO / "scripts" / "predict_time.py")
predict_time = sys.modules.setdefault("predict_time", importlib.util.module_from_spec(spec))
spec.loader.exec_module(predict_time)
Job = predict_time.Job


def graph(seconds: list[float], needs: list[set[int]]) -> list:
    return [Job("r", {}, [], [], need, s) for s, need in zip(seconds, needs, strict=True)]


def test_independent_jobs_fill_the_slots():
    jobs = graph([4, 4, 4, 4], [set(), set(), set(), set()])
    assert predict_time.simulate(jobs, 1) == 16
    assert predict_time.simulate(jobs, 2) == 8
    assert predict_time.simulate(jobs, 8) == 4


def test_a_chain_is_as_long_as_its_jobs_and_is_the_critical_path():
    jobs = graph([1, 2, 3, 0.5], [set(), {0}, {1}, set()])
    assert predict_time.simulate(jobs, 4) == 6
    assert [j.seconds for j in predict_time.critical_path(jobs)] == [1, 2, 3]


def test_longest_remaining_path_goes_first():
    # One slot can't help it; two slots: the long chain must start at once, not after the short jobs.
    jobs = graph([1, 1, 1, 1, 5, 5], [set(), set(), set(), set(), set(), {4}])  # the chain listed last
    assert predict_time.simulate(jobs, 2) == 10  # in listed order it would take 12
