"""training.fit on arrays in memory: no files, early stopping bookkeeping, same seed same weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from xaugjets.datasets import open_dataset, read_dataset
from xaugjets.training import FitResult, TrainSettings, fit, predict

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
    tensorboard=False,
    stream_above=1_000_000,
)


def test_two_epoch_fit_reaches_max_epochs_and_is_flagged(toy_dataset):
    arrays, _ = read_dataset(str(toy_dataset))
    result = fit(arrays, "xaug_dnn", seed=3, settings=SETTINGS)
    assert isinstance(result, FitResult)
    assert len(result.history) == 2 and result.stop_reason == "max_epochs"
    assert 1 <= result.best_epoch <= 2
    assert result.history[-1]["val_auc"] > 0.9  # z and θ separate the overlap-0 toy almost perfectly


@pytest.mark.parametrize("model", ["xaug_dnn", "cnn2d"])  # cnn2d: channels-last convolutions
def test_fit_is_reproducible_for_a_seed(toy_dataset, model):
    arrays, _ = read_dataset(str(toy_dataset))
    first = fit(arrays, model, seed=5, settings=SETTINGS).net.state_dict()
    second = fit(arrays, model, seed=5, settings=SETTINGS).net.state_dict()
    other = fit(arrays, model, seed=6, settings=SETTINGS).net.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_fit_leaves_the_process_wide_determinism_flag_as_it_found_it(toy_dataset):
    """Lightning's deterministic mode would otherwise outlive the fit and break DeepLIFT in the same process."""
    arrays, _ = read_dataset(str(toy_dataset))
    assert not torch.are_deterministic_algorithms_enabled()
    fit(arrays, "xaug_dnn", seed=3, settings=SETTINGS)
    assert not torch.are_deterministic_algorithms_enabled()


def test_early_stopping_ends_before_max_epochs(toy_dataset):
    arrays, _ = read_dataset(str(toy_dataset))
    settings = TrainSettings(**{**vars(SETTINGS), "max_epochs": 50, "patience": 1, "min_delta": 0.5})
    result = fit(arrays, "xaug_dnn", seed=3, settings=settings)
    assert result.stop_reason == "early_stopping" and len(result.history) == 2


class Interrupt(RuntimeError):
    """Stands in for a job killed between epochs."""


class KillAtEpoch(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, module) -> None:
        if trainer.current_epoch == self.epoch:
            raise Interrupt(f"killed at epoch {self.epoch}")


def test_killed_fit_resumes_from_its_last_checkpoint_to_the_same_weights(toy_dataset, tmp_path):
    """Dropout, shuffling, Adam and early stopping all carry state: the resumed run must end identically."""
    arrays, _ = read_dataset(str(toy_dataset))
    settings = TrainSettings(**{**vars(SETTINGS), "max_epochs": 5})
    whole = fit(arrays, "cnn1d_xaug", seed=4, settings=settings, workdir=tmp_path / "whole", run_id="a")
    with pytest.raises(Interrupt):
        fit(arrays, "cnn1d_xaug", 4, settings, tmp_path / "killed", "a", callbacks=[KillAtEpoch(3)])
    assert (tmp_path / "killed" / "last.ckpt").exists()
    resumed = fit(arrays, "cnn1d_xaug", 4, settings, tmp_path / "killed", "a")
    assert [row["val_loss"] for row in resumed.history] == [row["val_loss"] for row in whole.history]
    assert resumed.best_epoch == whole.best_epoch
    expected = whole.net.state_dict()
    assert all(torch.equal(expected[k], v) for k, v in resumed.net.state_dict().items())
    assert (tmp_path / "whole" / "metrics.csv").read_text().count("\n") > 5  # Lightning's CSV log


def test_a_checkpoint_of_another_run_is_not_resumed(toy_dataset, tmp_path):
    arrays, _ = read_dataset(str(toy_dataset))
    with pytest.raises(Interrupt):
        fit(arrays, "xaug_dnn", 4, SETTINGS, tmp_path, "old settings", callbacks=[KillAtEpoch(1)])
    fresh = fit(arrays, "xaug_dnn", 4, SETTINGS, tmp_path, "new settings")
    assert len(fresh.history) == SETTINGS.max_epochs  # started from epoch 0


def test_csv_log_always_and_tensorboard_only_when_asked(tmp_path):
    """The work folder gets Lightning's CSV log; TensorBoard's joins it with training.tensorboard."""
    import importlib.util

    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    from xaugjets.training import _loggers

    assert _loggers(None, tensorboard=True) is False  # fit without file I/O
    (csv,) = _loggers(tmp_path, tensorboard=False)
    assert isinstance(csv, CSVLogger) and Path(csv.log_dir) == tmp_path
    if importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX"):
        assert isinstance(_loggers(tmp_path, tensorboard=True)[1], TensorBoardLogger)
    else:  # not installed: Lightning's error names the package to install
        with pytest.raises(ModuleNotFoundError, match="tensorboard"):
            _loggers(tmp_path, tensorboard=True)


@pytest.mark.parametrize("model", ["cnn2d_xaug", "cnn1d"])  # image + XAUG, particle list
def test_training_from_disk_equals_training_in_memory(toy_dataset, model):
    """A dataset above ``stream_above`` is read batch by batch from disk: the same batches, the same network."""
    in_memory, _ = open_dataset(str(toy_dataset), stream_above=10**9)
    on_disk, _ = open_dataset(str(toy_dataset), stream_above=0)
    assert isinstance(in_memory["image"], np.ndarray) and not isinstance(on_disk["image"], np.ndarray)
    first, second = (fit(arrays, model, seed=5, settings=SETTINGS) for arrays in (in_memory, on_disk))
    assert [row["val_loss"] for row in first.history] == [row["val_loss"] for row in second.history]
    weights = first.net.state_dict(), second.net.state_dict()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    rows = np.array([7, 3, 100, 42])  # any order
    cpu = torch.device("cpu")
    np.testing.assert_array_equal(
        predict(first.net, in_memory, cpu, rows=rows), predict(second.net, on_disk, cpu, rows=rows)
    )


@pytest.mark.parametrize("batch_size", [100, 120])  # 360 training jets: a short last batch, and none
def test_batches_are_those_of_a_shuffled_tensor_dataset(toy_dataset, batch_size):
    """The loader draws its permutations as DataLoader(TensorDataset, shuffle=True) does, also when the
    consumer stops after len(loader) batches as Lightning does: same batches, same generator state."""
    from itertools import islice

    from torch.utils.data import DataLoader, TensorDataset

    from xaugjets.datasets import split_rows
    from xaugjets.models import input_tensors
    from xaugjets.training import _loader

    arrays, _ = read_dataset(str(toy_dataset))
    rows = split_rows(arrays["split"], arrays["label"], "train")
    train = {key: value[rows] for key, value in arrays.items()}
    reference_tensors = (*input_tensors(train, ("image",)), torch.as_tensor(train["label"], dtype=torch.float32))
    generators = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    reference = DataLoader(
        TensorDataset(*reference_tensors), batch_size=batch_size, shuffle=True, generator=generators[0]
    )
    ours = _loader(arrays, rows, ("image",), batch_size, generators[1], shuffle=True)
    assert len(ours) == len(reference)
    for _ in range(3):
        for (image, label), (our_image, our_label, _) in zip(
            islice(reference, len(reference)), islice(ours, len(ours)), strict=True
        ):
            assert torch.equal(image, our_image) and torch.equal(label, our_label)
        assert torch.equal(generators[0].get_state(), generators[1].get_state())
