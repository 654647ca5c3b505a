"""From jet files to one training-ready dataset: selection, class balance, fixed split, scaling.

Everything here is sample-agnostic; the split depends only on the data seed, never on a training seed.
Scaling statistics are fitted on the training split alone and stored, so validation and test jets are
transformed exactly as a new jet would be.

The dataset stage streams: besides one block of jets at a time it holds the labels of the input jets and
the row indices and split codes of the selected ones (~6 bytes per jet), never the sample, so its memory
hardly grows with the number of jets.  A training split of up to ``FIT_BLOCK_ROWS`` jets is fitted in one
block, exactly as in memory; a larger one block by block, which agrees with an in-memory fit to rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .io import ARRAY_KEYS, JetArrays, atomic_path, read_h5, read_jets, write_attrs

FIT_BLOCK_ROWS = 4096  # training jets per block when fitting scalings: 10^4 jets fill it as 10^7 do
WRITE_BLOCK_ROWS = 4096  # jets per block when transforming and writing every array
SUM_ROWS = 8192  # rows (jets or particles) summed, or searched for indices, at once

SPLITS = ("train", "val", "test")
MASK_FEATURE = "is_particle"


def concatenate(parts: Sequence[JetArrays]) -> JetArrays:
    """Stack shards; metadata must agree, cutflow counters are summed."""
    first = parts[0]
    for part in parts[1:]:
        if part.xaug_names != first.xaug_names or part.particle_features != first.particle_features:
            raise ValueError("shards disagree on XAUG variables or particle features")
    stacked = {
        key: np.concatenate([getattr(p, key) for p in parts])
        for key in ARRAY_KEYS
    }
    return JetArrays(
        **stacked,
        xaug_names=first.xaug_names,
        particle_features=first.particle_features,
        provenance={"shards": [p.provenance for p in parts]},
        cutflow=summed_counters(p.cutflow for p in parts),
    )


def summed_counters(counters: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Shards' cutflow counters added key by key (a key missing from a shard counts 0 there)."""
    total: dict[str, int] = {}
    for counter in counters:
        for key, value in counter.items():
            total[key] = total.get(key, 0) + int(value)
    return total


def load_shards(paths: Sequence[str]) -> JetArrays:
    return concatenate([read_jets(p) for p in paths])


def window_mask(
    xaug: np.ndarray, names: Sequence[str], windows: Mapping[str, Sequence[float]]
) -> tuple[np.ndarray, dict[str, int]]:
    """Jets with low < variable < high for every ``{variable: [low, high]}``; each cut's rejections counted
    in order (a jet is counted at the first cut it fails)."""
    keep = np.ones(len(xaug), dtype=bool)
    counts: dict[str, int] = {}
    for name, (low, high) in windows.items():
        if name not in names:
            raise KeyError(f"selection variable {name!r} is not among {list(names)}")
        value = xaug[:, list(names).index(name)]
        passed = (value > low) & (value < high)
        counts[f"rejected_window_{name}"] = int((keep & ~passed).sum())
        keep &= passed
    return keep, counts


def nonzero_rows(mask: np.ndarray, dtype: type[np.integer]) -> np.ndarray:
    """``np.flatnonzero(mask)`` as ``dtype``, found block by block: no 64-bit index array of the whole sample
    is ever made (8 bytes per jet, the largest array the dataset stage would hold)."""
    blocks = (np.flatnonzero(mask[start : start + SUM_ROWS]) + start for start in range(0, len(mask), SUM_ROWS))
    return np.concatenate([np.empty(0, dtype), *(block.astype(dtype) for block in blocks)])


def balance_and_split(labels: np.ndarray, fractions: Mapping[str, float], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal numbers of each class, then a per-class split into train/val/test.

    Returns (kept row indices in increasing order, split code per kept row: 0 train, 1 val, 2 test).
    Indices are 32-bit below 2³¹ jets: with the labels, a few bytes per jet is all that grows with the sample.
    """
    rng = np.random.default_rng(seed)
    index = np.int32 if len(labels) < 2**31 else np.int64
    per_class = [nonzero_rows(labels == c, index) for c in (0, 1)]
    n = min(len(rows) for rows in per_class)
    if n == 0:
        raise ValueError("one class has no jets left after selection")
    total = sum(fractions[s] for s in SPLITS)
    n_train = round(n * fractions["train"] / total)
    n_val = round(n * fractions["val"] / total)
    code = np.full(len(labels), -1, dtype=np.int8)  # split code per jet, -1: not kept
    for rows in per_class:
        code[rng.permutation(rows)[:n]] = np.repeat(
            np.array([0, 1, 2], dtype=np.int8), [n_train, n_val, n - n_train - n_val]
        )
    kept = nonzero_rows(code >= 0, index)  # the original jet order on disk
    return kept, code[kept]


Blocks = Callable[[], Iterable[np.ndarray]]  # a fresh pass over the rows, one block at a time


def add_rows(total: np.ndarray | None, block: np.ndarray) -> np.ndarray | None:
    """``total`` plus the rows of ``block``, added one after the other as numpy sums the columns of one
    C-ordered array: a sum over blocks agrees with the sum over their concatenation to rounding (numpy's
    order can depend on the array's layout in memory; the study's samples give the same bits either way)."""
    if len(block) == 0:
        return total
    return np.add.reduce(block if total is None else np.concatenate([total[None], block]), axis=0)


def row_chunks(blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """The rows of ``blocks`` in pieces of at most ``SUM_ROWS``: float64 temporaries stay small whatever the
    block (a block of 4,096 jets holds ~80,000 particles); sums over pieces agree with one sum to rounding."""
    for block in blocks:
        for start in range(0, len(block), SUM_ROWS):
            yield block[start : start + SUM_ROWS]
        del block  # not held while the next block is read


@dataclass(frozen=True)
class ColumnStats:
    """Per column: mean and standard deviation (as ``x.mean(0)``, ``x.std(0)``), smallest and largest value."""

    mean: np.ndarray
    std: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def fit(cls, blocks: Blocks) -> ColumnStats:
        """Two passes over ``blocks``: the sums, then the squared deviations and the range."""
        total, n = None, 0
        for chunk in row_chunks(blocks()):
            total, n = add_rows(total, chunk), n + len(chunk)
            del chunk  # a view: it would hold its block while the next one is read
        if total is None:
            raise ValueError("no rows to fit a scaling on")
        mean = total / n
        squares, low, high = None, np.full_like(mean, np.inf), np.full_like(mean, -np.inf)
        for chunk in row_chunks(blocks()):
            squares = add_rows(squares, (chunk - mean) ** 2)
            low, high = np.minimum(low, chunk.min(axis=0)), np.maximum(high, chunk.max(axis=0))
            del chunk
        return cls(mean, np.sqrt(squares / n), low, high)


XAUG_ENCODINGS = ("minmax", "standard", "raw")


@dataclass(frozen=True)
class XaugScaling:
    """How XAUG values enter the networks; statistics come from the training split.

    LRP measures relevance against the input 0, so the encoding fixes the reference point:

    - ``minmax``: clip to mean ± n σ, scale to [0, 1]; the reference is the clipped minimum of each
      variable, so a jet at the bottom of a variable's range gets no relevance from it;
    - ``standard``: clip to mean ± n σ, subtract the mean and divide by σ; the reference is the average
      training jet, so relevance measures the departure from it;
    - ``raw``: physical values, as the reference study fed its toy; the reference is the value 0.
    """

    names: list[str]
    encoding: str
    mean: np.ndarray
    std: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def fit(cls, blocks: Blocks, names: list[str], n_sigma: float, encoding: str) -> XaugScaling:
        """Fit on the training values that ``blocks`` yields (float64, one column per name)."""
        if encoding not in XAUG_ENCODINGS:
            raise ValueError(f"unknown XAUG encoding {encoding!r}; choose from {list(XAUG_ENCODINGS)}")
        stats = ColumnStats.fit(blocks)
        low, high = stats.mean - n_sigma * stats.std, stats.mean + n_sigma * stats.std
        lowest, highest = np.clip(stats.low, low, high), np.clip(stats.high, low, high)
        return cls(names, encoding, stats.mean, stats.std, lowest, highest)

    def transform(self, x: np.ndarray) -> np.ndarray:
        if self.encoding == "raw":
            return x.astype(np.float32)
        clipped = np.clip(x, self.low, self.high)
        if self.encoding == "standard":
            return ((clipped - self.mean) / np.where(self.std > 0, self.std, 1.0)).astype(np.float32)
        span = np.where(self.high > self.low, self.high - self.low, 1.0)
        return ((clipped - self.low) / span).astype(np.float32)

    def to_dict(self) -> dict[str, object]:
        return {
            "names": self.names,
            "encoding": self.encoding,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "low": self.low.tolist(),
            "high": self.high.tolist(),
        }


@dataclass(frozen=True)
class ParticleScaling:
    """Real particles standardized with training statistics, the mask appended as a feature.

    Padding stays exactly zero in every feature and 0 in ``is_particle``, so it can never look like a
    real particle to the network.
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, blocks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]) -> ParticleScaling:
        """Fit on the real particles of the training (particles, mask) blocks."""

        def real_particles() -> Iterator[np.ndarray]:
            for particles, mask in blocks():
                real = particles[mask]
                del particles, mask  # not held while the next block is read
                yield real

        stats = ColumnStats.fit(real_particles)
        return cls(stats.mean, np.where(stats.std > 0, stats.std, 1.0))

    def transform(self, particles: np.ndarray, mask: np.ndarray) -> np.ndarray:
        scaled = np.where(mask[..., None], (particles - self.mean) / self.std, 0.0)
        return np.concatenate([scaled, mask[..., None]], axis=-1).astype(np.float32)


class Shards:
    """Jet files read as one sample by global row, a block at a time; metadata must agree."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = list(paths)
        labels, attrs = zip(*(read_h5(p, ("label",)) for p in self.paths), strict=True)
        for path, attr in zip(self.paths, attrs, strict=True):
            missing = [k for k in ("xaug_names", "particle_features") if k not in attr]
            if missing:
                raise OSError(f"cannot read {path}: attributes {missing} missing, not a jet file")
            if (attr["xaug_names"], attr["particle_features"]) != (
                attrs[0]["xaug_names"],
                attrs[0]["particle_features"],
            ):
                raise ValueError(f"shards disagree on XAUG variables or particle features: {path}")
        self.attrs = attrs
        self.xaug_names: list[str] = attrs[0]["xaug_names"]
        self.particle_features: list[str] = attrs[0]["particle_features"]
        self.label = np.concatenate([label["label"] for label in labels])
        self.offsets = np.cumsum([0, *(len(label["label"]) for label in labels)])
        with h5py.File(self.paths[0], "r") as f:
            self.layout = {key: (f[key].shape[1:], f[key].dtype) for key in ARRAY_KEYS}

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def read(self, keys: tuple[str, ...], rows: np.ndarray) -> dict[str, np.ndarray]:
        """Arrays ``keys`` at increasing global ``rows``."""
        shard = np.searchsorted(self.offsets, rows, side="right") - 1
        parts = [read_h5(self.paths[i], keys, rows[shard == i] - self.offsets[i])[0] for i in np.unique(shard)]
        if len(parts) == 1:  # the usual block, inside one shard: no copy
            return parts[0]
        return {key: np.concatenate([part[key] for part in parts]) for key in keys}

    def blocks(self, keys: tuple[str, ...], rows: np.ndarray, size: int) -> Iterator[dict[str, np.ndarray]]:
        for start in range(0, len(rows), size):
            yield self.read(keys, rows[start : start + size])

    def cutflow(self) -> dict[str, int]:
        """The shards' counters, summed."""
        return summed_counters(attr.get("cutflow", {}) for attr in self.attrs)

    def not_computable(self) -> dict[str, str]:
        """What the shards could not compute for lack of particle columns, and why (your own jets without PDG
        id, charge or vertex: :func:`xaugjets.jets.not_computable`); empty for the toy and Pythia samples."""
        found: dict[str, str] = {}
        for attr in self.attrs:
            found |= attr.get("provenance", {}).get("not_computable", {})
        return found


def class_weight_means(shards: Shards, rows: np.ndarray) -> np.ndarray:
    """Mean weight of the background (0) and signal (1) jets among ``rows``: the dataset normalizes weights to
    mean 1 per class so that both classes weigh the same in the loss.  Summed over each class's whole array,
    as numpy sums it in memory (pairwise): held for this step only."""
    weight = np.concatenate([b["weight"] for b in shards.blocks(("weight",), rows, FIT_BLOCK_ROWS)])
    label = shards.label[rows]
    return np.array([weight[label == c].astype(np.float64).mean() for c in (0, 1)])


def fit_scalings(
    shards: Shards, train: np.ndarray, columns: list[int], n_sigma: float, xaug_encoding: str
) -> tuple[XaugScaling, ParticleScaling]:
    """The XAUG scaling of the input ``columns`` and the particle scaling, fitted on the training rows ``train``
    read a block at a time."""
    xaug_scaling = XaugScaling.fit(
        lambda: (b["xaug"][:, columns].astype(np.float64) for b in shards.blocks(("xaug",), train, FIT_BLOCK_ROWS)),
        [shards.xaug_names[c] for c in columns],
        n_sigma,
        xaug_encoding,
    )
    particle_scaling = ParticleScaling.fit(
        lambda: ((b["particles"], b["mask"]) for b in shards.blocks(("particles", "mask"), train, FIT_BLOCK_ROWS))
    )
    return xaug_scaling, particle_scaling


def write_dataset(
    inputs: Sequence[str],
    output: str | Path,
    fractions: Mapping[str, float],
    seed: int,
    n_sigma: float,
    windows: Mapping[str, Sequence[float]],
    xaug_inputs: Sequence[str],
    xaug_encoding: str,
    provenance: Callable[[list[dict[str, Any]]], dict[str, Any]] = lambda shards: {"shards": shards},
) -> dict[str, int]:
    """Select, balance, split and scale the jets of ``inputs`` into the dataset file ``output``, streaming.

    ``xaug_inputs`` picks the XAUG variables fed to the networks (empty: all); every variable stays
    available in raw form for plots.  ``provenance`` turns the shards' provenance records into the file's.
    Returns the cutflow.
    """
    shards = Shards(inputs)
    inputs_used = list(xaug_inputs) or list(shards.xaug_names)
    unknown = sorted(set(inputs_used) - set(shards.xaug_names))
    if unknown:
        raise KeyError(f"xaug variables {unknown} are not in this sample; it has {shards.xaug_names}")
    columns = [shards.xaug_names.index(name) for name in inputs_used]
    keep, window_counts = (
        np.ones(len(shards), dtype=bool),
        dict.fromkeys((f"rejected_window_{name}" for name in windows), 0),
    )
    for start in range(0, len(shards) if windows else 0, FIT_BLOCK_ROWS):
        block = shards.read(("xaug",), np.arange(start, min(start + FIT_BLOCK_ROWS, len(shards))))
        passed, counts = window_mask(block["xaug"], shards.xaug_names, windows)
        keep[start : start + len(passed)] = passed
        window_counts = {key: window_counts[key] + counts[key] for key in counts}
    selected = nonzero_rows(keep, np.int32 if len(keep) < 2**31 else np.int64)
    del keep
    chosen, split = balance_and_split(shards.label[selected], fractions, seed)
    n_selected, rows = len(selected), selected[chosen]
    del selected, chosen
    class_mean = class_weight_means(shards, rows)
    # From here on, what grows with the sample is the row indices and split codes (5 bytes per jet).
    xaug_scaling, particle_scaling = fit_scalings(shards, rows[split == 0], columns, n_sigma, xaug_encoding)
    cutflow = {
        **shards.cutflow(),
        "dataset_input": len(shards),
        **window_counts,
        "rejected_class_balance": n_selected - len(rows),
        "dataset_jets": len(rows),
        **{f"{name}_jets": int((split == i).sum()) for i, name in enumerate(SPLITS)},
    }
    n_particle_features = len(shards.particle_features) + 1
    layout = shards.layout | {
        "weight": ((), np.dtype(np.float32)),
        "split": ((), split.dtype),
        "xaug_scaled": ((len(columns),), np.dtype(np.float32)),
        "particles_scaled": ((*shards.layout["mask"][0], n_particle_features), np.dtype(np.float32)),
    }
    sums: dict[str, np.ndarray | None] = {"xaug": None, "image": None}  # over the training rows
    with atomic_path(output) as tmp, h5py.File(tmp, "w") as out:
        target = {
            # Contiguous and uncompressed: a training batch of random rows is read from disk in ~1 ms.
            key: out.create_dataset(key, (len(rows), *shape), dtype=dtype)
            for key, (shape, dtype) in layout.items()
        }
        for start, block in zip(
            range(0, len(rows), WRITE_BLOCK_ROWS),
            shards.blocks(ARRAY_KEYS, rows, WRITE_BLOCK_ROWS),
            strict=True,
        ):
            part = slice(start, start + WRITE_BLOCK_ROWS)
            block |= {
                "weight": (block["weight"].astype(np.float64) / class_mean[block["label"]]).astype(np.float32),
                "split": split[part],
                "xaug_scaled": xaug_scaling.transform(block["xaug"][:, columns]),
                "particles_scaled": particle_scaling.transform(block["particles"], block["mask"]),
            }
            for key, value in block.items():
                target[key][part] = value
            in_train = block["split"] == 0
            sums = {"xaug": add_rows(sums["xaug"], block["xaug_scaled"][in_train])} | {
                "image": add_rows(sums["image"], block["image"][in_train])
            }
            del block  # not held while the next block is read
        attrs = {
            "xaug_names": shards.xaug_names,
            "particle_features": shards.particle_features,
            "provenance": provenance([attr.get("provenance", {}) for attr in shards.attrs]),
            "cutflow": cutflow,
            "xaug_scaling": xaug_scaling.to_dict(),
            "xaug_inputs": inputs_used,
            "xaug_encoding": xaug_encoding,
            "particle_scaling": {
                "mean": particle_scaling.mean.tolist(),
                "std": particle_scaling.std.tolist(),
                "features": [*shards.particle_features, MASK_FEATURE],
            },
            # The occlusion reference (each network input at its training mean), stored so that an
            # explanation job need not read the training split.
            "training_means": {key: total / cutflow["train_jets"] for key, total in sums.items()},
        }
        missing = shards.not_computable()
        if missing:  # recorded where it applies only, so that other samples' files stay as they were
            attrs["not_computable"] = missing
        write_attrs(out, attrs)
    return cutflow


DATASET_KEYS = ("image", "particles_scaled", "mask", "xaug", "xaug_scaled", "label", "weight", "split")


def split_rows(split_codes: np.ndarray, labels: np.ndarray, split: str, max_rows: int | None = None) -> np.ndarray:
    """Row indices of one split, in file order.

    ``max_rows`` keeps the first ``max_rows // 2`` jets of each class, so a capped subset stays balanced and
    is the same for every model and seed.
    """
    in_split = split_codes == SPLITS.index(split)
    if max_rows is None:
        return np.flatnonzero(in_split)
    return np.sort(np.concatenate([np.flatnonzero(in_split & (labels == c))[: max_rows // 2] for c in (0, 1)]))


def select_split(arrays: dict[str, np.ndarray], split: str, max_rows: int | None = None) -> dict[str, np.ndarray]:
    """Rows of one split of arrays already in memory (see :func:`split_rows`)."""
    rows = split_rows(arrays["split"], arrays["label"], split, max_rows)
    return {key: value[rows] for key, value in arrays.items()}


def read_dataset(
    path: str, split: str | None = None, max_rows: int | None = None, keys: tuple[str, ...] = DATASET_KEYS
) -> tuple[dict[str, np.ndarray], dict]:
    """Arrays ``keys`` of a dataset file, optionally of one split only (see :func:`split_rows`).

    A split is read from disk row by row block, never the whole file, so a job that needs the capped test
    split (an explanation job) uses the same memory whatever the size of the sample.
    """
    if split is None:
        return read_h5(path, keys)
    index, attrs = read_h5(path, ("split", "label"))
    rows = split_rows(index["split"], index["label"], split, max_rows)
    arrays, _ = read_h5(path, keys, rows)
    return arrays, attrs


IN_MEMORY_KEYS = ("split", "label", "weight")  # ~6 bytes per jet: always held


def open_dataset(path: str, stream_above: int) -> tuple[dict[str, Any], dict]:
    """Every array of a dataset file: loaded, or for more than ``stream_above`` jets left on disk as h5py
    datasets (the file stays open for the job) that :func:`take_rows` reads batch by batch, with split,
    label and weight in memory."""
    small, attrs = read_h5(path, IN_MEMORY_KEYS)
    if len(small["label"]) <= stream_above:
        return read_dataset(path)
    handle = h5py.File(path, "r")
    return {key: handle[key] for key in DATASET_KEYS if key not in small} | small, attrs


def take_rows(arrays: Mapping[str, Any], rows: np.ndarray, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """Rows ``rows`` (any order, no repeats) of ``keys``; an array on disk is read in increasing row order, as
    HDF5 requires, and put back in the order asked for."""
    order = np.argsort(rows, kind="stable")
    out = {}
    for key in keys:
        column = arrays[key]
        if isinstance(column, np.ndarray):
            out[key] = column[rows]
        else:
            values = column[rows[order]]
            out[key] = np.empty_like(values)
            out[key][order] = values
    return out
