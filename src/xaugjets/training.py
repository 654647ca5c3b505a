"""Training one network for one seed with PyTorch Lightning, deterministically.

:func:`fit` trains on arrays in memory; given a work folder it also logs (Lightning's CSV logger,
``metrics.csv``) and keeps a ``last.ckpt`` after every epoch, from which a killed job resumes to the same
final weights (model, optimizer, early stopping, history and every random-number state are in it).
:func:`train` reads a dataset, fits and writes the run.  The model we keep is our own ``model.pt`` (state
dict + build arguments), written atomically and loadable with ``torch.load(..., weights_only=True)``;
``last.ckpt`` is removed once the run is written, so nothing half-trained looks like a finished model.

Early stopping watches the validation loss: training ends once it has not improved by ``min_delta`` for
``patience`` epochs.  A run that reaches ``max_epochs`` first is flagged (``stop_reason: max_epochs``),
since its network may not have converged.
"""

from __future__ import annotations

import copy
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger
from torch.utils.data import DataLoader, Dataset, Sampler

from .config import Settings
from .datasets import open_dataset, split_rows, take_rows
from .io import atomic_path, write_json
from .metrics import auc, performance
from .models import TaggerNet, UserModel, build_model, input_tensors, model_keys
from .runtime import pin_threads, resolve_device


@dataclass(frozen=True)
class TrainSettings(Settings):
    """The ``training`` section of the config (defaults live in the schema only)."""

    SECTIONS = ("training",)

    max_epochs: int
    patience: int
    min_delta: float
    batch_size: int
    learning_rate: float
    dropout: float
    head_dropout: float
    threads: int
    accelerator: str
    tensorboard: bool
    stream_above: int


class TaggerModule(L.LightningModule):
    """Binary cross-entropy on the signal logit, weighted by the event weights."""

    def __init__(self, net: TaggerNet, learning_rate: float, shuffle: torch.Generator, run_id: str = "") -> None:
        super().__init__()
        self.net = net
        self.learning_rate = learning_rate
        self.shuffle = shuffle  # the training loader's generator: its state goes into checkpoints
        self.run_id = run_id
        self._val_logits: list[torch.Tensor] = []
        self._val_labels: list[torch.Tensor] = []

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Random-number states, so that a resumed run draws what the uninterrupted one would have."""
        checkpoint["xaugjets"] = {
            "run_id": self.run_id,
            "torch_rng": torch.get_rng_state(),
            "shuffle_rng": self.shuffle.get_state(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        torch.set_rng_state(checkpoint["xaugjets"]["torch_rng"])
        self.shuffle.set_state(checkpoint["xaugjets"]["shuffle_rng"])

    def _loss(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        *inputs, label, weight = batch
        # Images channels-last, as the weights (fit): ~1.2x faster convolutions on CPU (benchmarks/run.py).
        inputs = [t.contiguous(memory_format=torch.channels_last) if t.ndim == 4 else t for t in inputs]
        logit = self.net(*inputs)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logit, label, weight=weight)
        return loss, logit, label

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        loss, _, label = self._loss(batch)
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(label))
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> None:
        loss, logit, label = self._loss(batch)
        self.log("val_loss", loss, on_step=False, on_epoch=True, batch_size=len(label))
        self._val_logits.append(logit.detach().cpu())
        self._val_labels.append(label.detach().cpu())

    def on_validation_epoch_end(self) -> None:
        labels = torch.cat(self._val_labels).numpy()
        logits = torch.cat(self._val_logits).numpy()
        self.log("val_auc", auc(labels, logits) if len(set(labels)) == 2 else float("nan"))
        self._val_logits.clear()
        self._val_labels.clear()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.learning_rate)


class HistoryAndBest(Callback):
    """Record the training curve, print progress, and keep the weights of the best validation epoch."""

    def __init__(self, max_epochs: int) -> None:
        self.max_epochs = max_epochs
        self.rows: list[dict[str, float]] = []
        self.best_loss = float("inf")
        self.best_epoch = -1
        self.best_state: dict[str, torch.Tensor] = {}
        self._start = time.perf_counter()

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "best_loss": self.best_loss, "best_epoch": self.best_epoch, "best": self.best_state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rows, self.best_loss, self.best_epoch = state["rows"], state["best_loss"], state["best_epoch"]
        self.best_state = state["best"]

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        row = {
            "epoch": trainer.current_epoch,
            "train_loss": metrics["train_loss"],
            "val_loss": metrics["val_loss"],
            "val_auc": metrics["val_auc"],
        }
        self.rows.append(row)
        if row["val_loss"] < self.best_loss:
            self.best_loss, self.best_epoch = row["val_loss"], trainer.current_epoch
            self.best_state = copy.deepcopy({k: v.detach().cpu() for k, v in module.net.state_dict().items()})
        print(
            f"epoch {trainer.current_epoch + 1}/{self.max_epochs} train_loss {row['train_loss']:.4f} "
            f"val_loss {row['val_loss']:.4f} val_auc {row['val_auc']:.4f} "
            f"({time.perf_counter() - self._start:.1f} s)",
            file=sys.stderr,
            flush=True,
        )


class LastCheckpoint(Callback):
    """Write ``last.ckpt`` atomically at the end of every epoch, after early stopping and the history."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        with atomic_path(self.path) as tmp:
            trainer.save_checkpoint(tmp, weights_only=False)  # the full state, not only the weights


class Batches(Dataset):
    """Rows ``rows`` of a dataset's arrays as (inputs..., label, weight) batches, read a batch at a time.

    The arrays are numpy arrays or, for a dataset too large to hold, h5py datasets on disk
    (:func:`datasets.open_dataset`): a batch holds the same values either way, and the same as a
    ``TensorDataset`` of the whole split would collate.
    """

    def __init__(self, arrays: Mapping[str, Any], rows: np.ndarray, inputs: tuple[str, ...]) -> None:
        self.arrays, self.rows, self.inputs = arrays, rows, inputs

    def __len__(self) -> int:
        return len(self.rows)

    def __getitems__(self, positions: np.ndarray) -> tuple[torch.Tensor, ...]:
        batch = take_rows(self.arrays, self.rows[positions], (*model_keys(self.inputs), "label", "weight"))
        return (
            *(t.contiguous() for t in input_tensors(batch, self.inputs)),
            torch.as_tensor(batch["label"], dtype=torch.float32),
            torch.as_tensor(batch["weight"], dtype=torch.float32),
        )


def _as_collated(batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return batch


class BatchPositions(Sampler[np.ndarray]):
    """Positions of each batch, in a random order drawn exactly as ``RandomSampler`` draws it (the same calls
    on the same generator, so the same batches), held as one array instead of a list of Python integers
    (~36 bytes per jet, which would make a training job's memory grow with the sample)."""

    def __init__(self, n: int, batch_size: int, generator: torch.Generator, shuffle: bool) -> None:
        self.n, self.batch_size, self.generator, self.shuffle = n, batch_size, generator, shuffle

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def __iter__(self) -> Iterator[np.ndarray]:
        if not self.shuffle:
            yield from (
                np.arange(start, min(start + self.batch_size, self.n)) for start in range(0, self.n, self.batch_size)
            )
            return
        order = torch.randperm(self.n, generator=self.generator).numpy()
        # RandomSampler draws a second permutation for the epoch's remainder when it runs dry: while the
        # last batch fills if that batch is short, on the request after the last batch if it is full.
        short = self.n % self.batch_size
        for start in range(0, self.n, self.batch_size):
            if short and start + self.batch_size >= self.n:
                torch.randperm(self.n, generator=self.generator)
            yield order[start : start + self.batch_size]
        if not short:
            torch.randperm(self.n, generator=self.generator)


def _loader(
    arrays: Mapping[str, Any],
    rows: np.ndarray,
    inputs: tuple[str, ...],
    batch_size: int,
    generator: torch.Generator,
    shuffle: bool,
) -> DataLoader:
    """Batches of (inputs..., label, weight) of ``rows``.

    Every loader has its own ``generator``, even unshuffled: each pass draws a base seed from it, and
    without one it would draw from the global generator that dropout uses.
    """
    return DataLoader(
        Batches(arrays, rows, inputs),
        batch_sampler=BatchPositions(len(rows), batch_size, generator, shuffle),
        generator=generator,
        collate_fn=_as_collated,
    )


def model_shapes(arrays: dict) -> dict[str, int]:
    """Build arguments that fix a network's input shapes."""
    return {
        "grid": int(arrays["image"].shape[-1]),
        "n_particles": int(arrays["particles_scaled"].shape[1]),
        "n_particle_features": int(arrays["particles_scaled"].shape[2]),
        "n_xaug": int(arrays["xaug_scaled"].shape[1]),
    }


def predict(
    net: TaggerNet,
    arrays: Mapping[str, Any],
    device: torch.device,
    batch_size: int = 4096,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Signal logits for rows ``rows`` (default: all) of ``arrays`` (eval mode, no gradients), a batch at a time."""
    net.eval().to(device)
    rows = np.arange(len(arrays["label"])) if rows is None else rows
    out = []
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            batch = take_rows(arrays, rows[start : start + batch_size], model_keys(net.inputs))
            out.append(net(*(t.to(device) for t in input_tensors(batch, net.inputs))).cpu())
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.float32)


@dataclass
class FitResult:
    """A trained network (best validation epoch) and how training went."""

    net: TaggerNet
    history: list[dict[str, float]]
    best_epoch: int
    best_val_loss: float
    stop_reason: str
    seconds: float


def _resume_point(workdir: Path | None, run_id: str) -> Path | None:
    """``workdir``/last.ckpt if it belongs to this very run; a stale or unreadable one is removed."""
    last = None if workdir is None else workdir / "last.ckpt"
    if last is None or not last.exists():
        return None
    try:
        stored = torch.load(last, map_location="cpu", weights_only=True).get("xaugjets", {}).get("run_id")
    except Exception as err:  # a job killed while writing it
        stored = f"unreadable ({err})"
    if stored == run_id:
        print(f"resuming from {last}", file=sys.stderr, flush=True)
        return last
    print(f"ignoring {last}: it belongs to another run ({stored})", file=sys.stderr, flush=True)
    last.unlink()
    return None


def _loggers(workdir: Path | None, tensorboard: bool) -> list[Logger] | bool:
    """Lightning's CSV log in the work folder (metrics.csv), and TensorBoard's beside it when asked for."""
    if workdir is None:
        return False
    loggers: list[Logger] = [CSVLogger(workdir, name="", version="")]
    if tensorboard:  # needs the tensorboard package (pip install tensorboard); Lightning says so if missing
        loggers.append(TensorBoardLogger(workdir, name="", version="tensorboard"))
    return loggers


def _trainer(
    settings: TrainSettings, device: torch.device, callbacks: list[Callback], workdir: Path | None
) -> L.Trainer:
    """Deterministic, quiet unless run by hand; with a work folder: CSV log and a last.ckpt every epoch."""
    if workdir is not None:
        callbacks = [*callbacks, LastCheckpoint(workdir / "last.ckpt")]
    return L.Trainer(
        max_epochs=settings.max_epochs,
        accelerator="gpu" if device.type == "cuda" else "cpu",
        devices=1,
        deterministic=True,
        logger=_loggers(workdir, settings.tensorboard),
        enable_checkpointing=False,
        enable_progress_bar=sys.stderr.isatty(),
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,  # epoch-level metrics only; silences the interval warning
        callbacks=callbacks,
    )


def fit(
    arrays: dict,
    model_name: str,
    seed: int,
    settings: TrainSettings,
    workdir: Path | None = None,
    run_id: str = "",
    callbacks: Sequence[Callback] = (),
    user: UserModel | None = None,
    initial: Mapping[str, torch.Tensor] | None = None,
) -> FitResult:
    """Fit ``model_name`` on the train split of ``arrays`` with early stopping on the val split.

    Without ``workdir`` nothing touches a file.  With it, a ``last.ckpt`` there from the same ``run_id``
    (model, seed, settings and dataset) is resumed.  ``callbacks`` are extra Lightning callbacks (tests);
    ``user`` builds a network declared in ``user_models`` instead of one of the study's own; ``initial``
    is a state dict to start from instead of the seeded random initialization (retraining a reduced network
    from the full one's weights).
    """
    pin_threads(settings.threads)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS on GPUs
    L.seed_everything(seed, workers=True, verbose=False)
    device = resolve_device(settings.accelerator)
    train_rows, val_rows = (split_rows(arrays["split"], arrays["label"], split) for split in ("train", "val"))
    net = build_model(
        model_name,
        dropout=settings.dropout,
        head_dropout=settings.head_dropout,
        user=user,
        **model_shapes(arrays),
    )
    if initial is not None:
        net.load_state_dict(initial)
    inputs = net.inputs
    if "image" in inputs:
        net = net.to(memory_format=torch.channels_last)
    history = HistoryAndBest(settings.max_epochs)
    stopper = EarlyStopping("val_loss", patience=settings.patience, min_delta=settings.min_delta)
    # Lightning's deterministic mode is process-wide; put it back afterwards, or an explanation in the same
    # process (DeepLIFT's max-unpooling has no deterministic kernel) would fail.
    deterministic = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    trainer = _trainer(settings, device, [stopper, history, *callbacks], workdir)
    shuffle = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    try:
        trainer.fit(
            TaggerModule(net, settings.learning_rate, shuffle, run_id),
            _loader(arrays, train_rows, inputs, settings.batch_size, shuffle, shuffle=True),
            _loader(arrays, val_rows, inputs, 4096, torch.Generator().manual_seed(seed), shuffle=False),
            ckpt_path=_resume_point(workdir, run_id),
            weights_only=True,
        )
    finally:
        torch.use_deterministic_algorithms(deterministic[0], warn_only=deterministic[1])
    seconds = time.perf_counter() - start
    net.load_state_dict(history.best_state)
    stopped_early = stopper.stopped_epoch > 0 or len(history.rows) < settings.max_epochs
    return FitResult(
        net=net,
        history=history.rows,
        best_epoch=history.best_epoch + 1,
        best_val_loss=history.best_loss,
        stop_reason="early_stopping" if stopped_early else "max_epochs",
        seconds=seconds,
    )


def run_id(dataset: str, model_name: str, seed: int, settings: TrainSettings) -> str:
    """What a resumable checkpoint must match: the model, seed, settings and this very dataset file."""
    stat = os.stat(dataset)
    return f"{model_name}|{seed}|{sorted(vars(settings).items())}|{stat.st_size}|{stat.st_mtime_ns}"


def evaluate(
    result: FitResult,
    arrays: Mapping[str, Any],
    model_name: str,
    seed: int,
    settings: TrainSettings,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Logits of a fitted network on the test rows ``rows`` of ``arrays`` (default: all of them) and its
    metrics: performance figures and how training went."""
    device = resolve_device(settings.accelerator)
    rows = np.arange(len(arrays["label"])) if rows is None else rows
    scores = predict(result.net, arrays, device, rows=rows)
    metrics = performance(arrays["label"][rows], scores, arrays["weight"][rows]) | {
        "model": model_name,
        "seed": seed,
        "epochs": len(result.history),
        "best_epoch": result.best_epoch,
        "best_val_loss": result.best_val_loss,
        "stop_reason": result.stop_reason,
        "max_epochs": settings.max_epochs,
        "train_seconds": result.seconds,
        "device": device.type,
        "threads": settings.threads,
        "n_test": len(scores),
    }
    return scores, metrics


def _save_model(path: Path, net: TaggerNet, model_name: str, seed: int, settings: TrainSettings, **record: Any) -> None:
    """``model.pt``: the weights and what rebuilds the network, readable with ``weights_only=True``."""
    with atomic_path(path) as tmp:
        torch.save(
            {
                "state_dict": net.cpu().state_dict(),
                "model": model_name,
                "dropout": settings.dropout,
                "head_dropout": settings.head_dropout,
                "seed": seed,
                **record,
            },
            tmp,
        )


def train(
    dataset: str,
    model_name: str,
    seed: int,
    outdir: str,
    settings: TrainSettings,
    user: UserModel | None = None,
    shuffled_twin: bool = False,
) -> dict[str, Any]:
    """Fit ``model_name`` with training seed ``seed``; write model.pt, history.csv, scores.csv, metrics.json.

    ``shuffled_twin``: also fit the same network and settings, from its own seed, on shuffled training labels
    and write it as shuffled_labels.pt, for the explanations' sanity check (nothing to learn: it stops early).
    """
    from .sanity import LABEL_SHUFFLE_SEED_OFFSET, shuffled_labels

    arrays, attrs = open_dataset(dataset, settings.stream_above)
    out = Path(outdir)
    workdir = out / "lightning"
    identity = run_id(dataset, model_name, seed, settings) + f"|{user}"
    result = fit(arrays, model_name, seed, settings, workdir, identity, user=user)
    test_rows = split_rows(arrays["split"], arrays["label"], "test")
    scores, metrics = evaluate(result, arrays, model_name, seed, settings, test_rows)
    metrics["n_train"] = int((arrays["split"] == 0).sum())
    record = {
        "shapes": model_shapes(arrays),
        "xaug_inputs": attrs["xaug_inputs"],
        "user": None if user is None else {"factory": user.factory, "inputs": list(user.inputs)},
    }
    _save_model(out / "model.pt", result.net, model_name, seed, settings, **record)
    if shuffled_twin:  # its own seed: a shared initialization would make the two networks' maps alike
        twin_seed = seed + LABEL_SHUFFLE_SEED_OFFSET
        twin = fit(shuffled_labels(arrays, seed), model_name, twin_seed, settings, user=user)
        metrics["shuffled_labels_epochs"] = len(twin.history)
        twin_metrics = evaluate(twin, arrays, model_name, twin_seed, settings, test_rows)[1]
        metrics["shuffled_labels_test_auc"] = twin_metrics["auc"]
        _save_model(out / "shuffled_labels.pt", twin.net, model_name, twin_seed, settings, **record, labels="shuffled")
    with atomic_path(out / "history.csv") as tmp:
        pd.DataFrame(result.history).to_csv(tmp, index=False, float_format="%.6g")
    with atomic_path(out / "scores.csv") as tmp:
        test = {key: arrays[key][test_rows] for key in ("label", "weight")}
        pd.DataFrame(test | {"logit": scores}).to_csv(
            tmp,
            index=False,
            float_format="%.9g",  # enough digits to recompute the figures (bootstrap)
        )
    write_json(out / "metrics.json", metrics)
    (workdir / "last.ckpt").unlink(missing_ok=True)  # the run is written: nothing left to resume
    return metrics
