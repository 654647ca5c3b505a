"""From jet files to one training-ready dataset: selection, class balance, fixed split, scaling.

Everything here is sample-agnostic; the split depends only on the data seed, never on a training seed.
Scaling statistics are fitted on the training split alone and stored, so validation and test jets are
transformed exactly as a new jet would be.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .io import JetArrays, read_h5, read_jets

SPLITS = ("train", "val", "test")
MASK_FEATURE = "is_particle"


def concatenate(parts: Sequence[JetArrays]) -> JetArrays:
    """Stack shards; metadata must agree, cutflow counters are summed."""
    first = parts[0]
    for part in parts[1:]:
        if part.xaug_names != first.xaug_names or part.particle_features != first.particle_features:
            raise ValueError("shards disagree on XAUG variables or particle features")
    cutflow: dict[str, int] = {}
    for part in parts:
        for key, value in part.cutflow.items():
            cutflow[key] = cutflow.get(key, 0) + int(value)
    stacked = {
        key: np.concatenate([getattr(p, key) for p in parts])
        for key in ("image", "particles", "mask", "xaug", "label", "weight")
    }
    return JetArrays(
        **stacked,
        xaug_names=first.xaug_names,
        particle_features=first.particle_features,
        provenance={"shards": [p.provenance for p in parts]},
        cutflow=cutflow,
    )


def load_shards(paths: Sequence[str]) -> JetArrays:
    return concatenate([read_jets(p) for p in paths])


def not_computable(jets: JetArrays) -> dict[str, str]:
    """What the shards could not compute for lack of particle columns, and why (your own jets without PDG
    id, charge or vertex: :func:`xaugjets.jets.not_computable`); empty for the toy and Pythia samples."""
    found: dict[str, str] = {}
    for shard in jets.provenance.get("shards", []):
        found |= shard.get("not_computable", {})
    return found


def apply_windows(jets: JetArrays, windows: Mapping[str, Sequence[float]]) -> tuple[JetArrays, dict[str, int]]:
    """Keep jets with low < variable < high for every ``{variable: [low, high]}``; count each cut."""
    keep = np.ones(len(jets), dtype=bool)
    counts: dict[str, int] = {}
    for name, (low, high) in windows.items():
        if name not in jets.xaug_names:
            raise KeyError(f"selection variable {name!r} is not among {jets.xaug_names}")
        value = jets.xaug[:, jets.xaug_names.index(name)]
        passed = (value > low) & (value < high)
        counts[f"rejected_window_{name}"] = int((keep & ~passed).sum())
        keep &= passed
    return jets.select(keep), counts


def balance_and_split(labels: np.ndarray, fractions: Mapping[str, float], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal numbers of each class, then a per-class split into train/val/test.

    Returns (kept row indices, split code per kept row: 0 train, 1 val, 2 test).
    """
    rng = np.random.default_rng(seed)
    per_class = [np.flatnonzero(labels == c) for c in (0, 1)]
    n = min(len(rows) for rows in per_class)
    if n == 0:
        raise ValueError("one class has no jets left after selection")
    total = sum(fractions[s] for s in SPLITS)
    n_train = round(n * fractions["train"] / total)
    n_val = round(n * fractions["val"] / total)
    kept, codes = [], []
    for rows in per_class:
        chosen = rng.permutation(rows)[:n]
        kept.append(chosen)
        codes.append(np.repeat(np.array([0, 1, 2], dtype=np.int8), [n_train, n_val, n - n_train - n_val]))
    kept_rows = np.concatenate(kept)
    order = np.argsort(kept_rows, kind="stable")  # keep the original jet order on disk
    return kept_rows[order], np.concatenate(codes)[order]


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
    def fit(cls, x: np.ndarray, names: list[str], n_sigma: float, encoding: str) -> XaugScaling:
        if encoding not in XAUG_ENCODINGS:
            raise ValueError(f"unknown XAUG encoding {encoding!r}; choose from {list(XAUG_ENCODINGS)}")
        mean, std = x.mean(axis=0), x.std(axis=0)
        clipped = np.clip(x, mean - n_sigma * std, mean + n_sigma * std)
        return cls(names, encoding, mean, std, clipped.min(axis=0), clipped.max(axis=0))

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


def standardize_particles(
    particles: np.ndarray, mask: np.ndarray, train: np.ndarray
) -> tuple[np.ndarray, dict[str, list]]:
    """Standardize real particles with training statistics and append the mask as a feature.

    Padding stays exactly zero in every feature and 0 in ``is_particle``, so it can never look like a
    real particle to the network.
    """
    real_train = particles[train][mask[train]]
    mean, std = real_train.mean(axis=0), real_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    scaled = np.where(mask[..., None], (particles - mean) / std, 0.0)
    out = np.concatenate([scaled, mask[..., None]], axis=-1).astype(np.float32)
    return out, {"mean": mean.tolist(), "std": std.tolist()}


def build_dataset(
    jets: JetArrays,
    fractions: Mapping[str, float],
    seed: int,
    n_sigma: float,
    windows: Mapping[str, Sequence[float]],
    xaug_inputs: Sequence[str],
    xaug_encoding: str,
) -> tuple[JetArrays, dict, dict]:
    """Select, balance, split and scale.  Returns (jets, extra arrays, extra attributes).

    ``xaug_inputs`` picks the XAUG variables fed to the networks (empty: all); every variable stays
    available in raw form for plots.
    """
    inputs = list(xaug_inputs) or list(jets.xaug_names)
    unknown = sorted(set(inputs) - set(jets.xaug_names))
    if unknown:
        raise KeyError(f"xaug variables {unknown} are not in this sample; it has {jets.xaug_names}")
    columns = [jets.xaug_names.index(name) for name in inputs]
    n_in = len(jets)
    jets, window_counts = apply_windows(jets, windows)
    rows, split = balance_and_split(jets.label, fractions, seed)
    n_selected = len(jets)
    jets = jets.select(rows)
    # Normalize weights to mean 1 per class so both classes weigh the same in the loss.
    weight = jets.weight.astype(np.float64)
    for c in (0, 1):
        weight[jets.label == c] /= weight[jets.label == c].mean()
    jets.weight = weight.astype(np.float32)
    train = split == 0
    xaug_scaling = XaugScaling.fit(jets.xaug[train][:, columns].astype(np.float64), inputs, n_sigma, xaug_encoding)
    particles_scaled, particle_scaling = standardize_particles(jets.particles, jets.mask, train)
    jets.cutflow = {
        **jets.cutflow,
        "dataset_input": n_in,
        **window_counts,
        "rejected_class_balance": n_selected - len(rows),
        "dataset_jets": len(rows),
        **{f"{name}_jets": int((split == i).sum()) for i, name in enumerate(SPLITS)},
    }
    extra = {
        "split": split,
        "xaug_scaled": xaug_scaling.transform(jets.xaug[:, columns]),
        "particles_scaled": particles_scaled,
    }
    # The occlusion reference (each network input at its training mean), stored so that an explanation
    # job need not read the training split.
    training_means = {"xaug": extra["xaug_scaled"][train].mean(axis=0), "image": jets.image[train].mean(axis=0)}
    attrs = {
        "xaug_scaling": xaug_scaling.to_dict(),
        "xaug_inputs": inputs,
        "xaug_encoding": xaug_encoding,
        "particle_scaling": particle_scaling | {"features": [*jets.particle_features, MASK_FEATURE]},
        "training_means": training_means,
    }
    missing = not_computable(jets)
    if missing:  # recorded where it applies only, so that other samples' files stay as they were
        attrs["not_computable"] = missing
    return jets, extra, attrs


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
