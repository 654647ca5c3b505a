"""training.fit on arrays in memory: no files, early stopping bookkeeping, same seed same weights."""

from __future__ import annotations

import torch

from xaugjets.datasets import read_dataset
from xaugjets.training import FitResult, TrainSettings, fit

SETTINGS = TrainSettings(
    max_epochs=2,
    patience=5,
    min_delta=0.0,
    batch_size=128,
    learning_rate=1e-3,
    dropout=0.2,
    head_dropout=0.0,
    threads=1,
    accelerator="cpu",
)


def test_two_epoch_fit_reaches_max_epochs_and_is_flagged(toy_dataset):
    arrays, _ = read_dataset(str(toy_dataset))
    result = fit(arrays, "xaug_dnn", seed=3, settings=SETTINGS)
    assert isinstance(result, FitResult)
    assert len(result.history) == 2 and result.stop_reason == "max_epochs"
    assert 1 <= result.best_epoch <= 2
    assert result.history[-1]["val_auc"] > 0.9  # z and θ separate the overlap-0 toy almost perfectly


def test_fit_is_reproducible_for_a_seed(toy_dataset):
    arrays, _ = read_dataset(str(toy_dataset))
    first = fit(arrays, "xaug_dnn", seed=5, settings=SETTINGS).net.state_dict()
    second = fit(arrays, "xaug_dnn", seed=5, settings=SETTINGS).net.state_dict()
    other = fit(arrays, "xaug_dnn", seed=6, settings=SETTINGS).net.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_early_stopping_ends_before_max_epochs(toy_dataset):
    arrays, _ = read_dataset(str(toy_dataset))
    settings = TrainSettings(**{**vars(SETTINGS), "max_epochs": 50, "patience": 1, "min_delta": 0.5})
    result = fit(arrays, "xaug_dnn", seed=3, settings=settings)
    assert result.stop_reason == "early_stopping" and len(result.history) == 2
