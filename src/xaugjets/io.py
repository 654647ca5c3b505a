"""On-disk formats and atomic writes.

A *jet file* (HDF5) is the hand-over point between the sample-specific front end (toy, Pythia) and the
sample-agnostic back end.  Datasets, one row per jet:

- ``image``      float32 (N, G, G)  pre-processed jet image, pixel = pT fraction
- ``particles``  float32 (N, P, F)  leading-particle list, zero padded
- ``mask``       bool    (N, P)     True for real particles
- ``xaug``       float32 (N, K)     expert variables, raw (physical units)
- ``label``      int8    (N,)       1 signal, 0 background
- ``weight``     float32 (N,)       generator event weight (1 for unbiased samples)

Attributes (JSON strings): ``xaug_names``, ``particle_features``, ``provenance``, ``cutflow``.
A *dataset file* adds ``split`` (0 train, 1 validation, 2 test), ``xaug_scaled``, ``particles_scaled``
the scaling parameters fitted on the training split (``xaug_scaling``, ``particle_scaling``) and the
training-split means of the encoded inputs (``training_means``, the occlusion reference).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import h5py
import numpy as np

ARRAY_KEYS = ("image", "particles", "mask", "xaug", "label", "weight")
JSON_ATTRS = ("xaug_names", "particle_features", "provenance", "cutflow")


@dataclass
class JetArrays:
    """All per-jet arrays of one sample (or shard), aligned on axis 0."""

    image: np.ndarray
    particles: np.ndarray
    mask: np.ndarray
    xaug: np.ndarray
    label: np.ndarray
    weight: np.ndarray
    xaug_names: list[str]
    particle_features: list[str]
    provenance: dict[str, Any] = field(default_factory=dict)
    cutflow: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.label)
        for key in ARRAY_KEYS:
            if len(getattr(self, key)) != n:
                raise ValueError(f"{key} has {len(getattr(self, key))} rows, label has {n}")
        if self.xaug.shape[1] != len(self.xaug_names):
            raise ValueError("xaug columns do not match xaug_names")
        if self.particles.shape[2] != len(self.particle_features):
            raise ValueError("particle feature axis does not match particle_features")

    def __len__(self) -> int:
        return len(self.label)

    def select(self, rows: np.ndarray) -> JetArrays:
        """Rows ``rows`` (index or boolean mask) of every array; metadata is shared."""
        arrays = {key: getattr(self, key)[rows] for key in ARRAY_KEYS}
        return JetArrays(
            **arrays,
            xaug_names=self.xaug_names,
            particle_features=self.particle_features,
            provenance=self.provenance,
            cutflow=self.cutflow,
        )


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` and rename it into place only if the block succeeds.

    A killed job therefore never leaves a half-written file under the final name.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: str | os.PathLike[str], payload: Mapping[str, Any]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value)}")


def write_h5(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], attrs: Mapping[str, Any]) -> None:
    """Write arrays (gzip-compressed) and JSON attributes atomically."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for key, value in arrays.items():
            value = np.asarray(value)
            kwargs = {"compression": "gzip", "compression_opts": 4, "shuffle": True} if value.ndim else {}
            f.create_dataset(key, data=value, **kwargs)
        write_attrs(f, attrs)


def write_attrs(f: h5py.File, attrs: Mapping[str, Any]) -> None:
    """Attributes as JSON strings (numpy arrays and scalars as lists and numbers)."""
    for key, value in attrs.items():
        f.attrs[key] = json.dumps(value, default=_json_default)


READ_BLOCK_ROWS = 8192  # rows read from disk at once when a file is read selectively


def read_rows(dataset: h5py.Dataset, rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (increasing) of ``dataset``, read one block of the file at a time.

    Memory holds one block plus the result, whatever the size of the file, and a block without a wanted
    row is never read (nor decompressed).
    """
    out = np.empty((len(rows), *dataset.shape[1:]), dtype=dataset.dtype)
    block_of_row = rows // READ_BLOCK_ROWS
    for block in np.unique(block_of_row):
        lo, hi = np.searchsorted(block_of_row, [block, block + 1])
        first, last = rows[lo], rows[hi - 1]
        out[lo:hi] = dataset[first : last + 1][rows[lo:hi] - first]
    return out


def _read(dataset: h5py.Dataset, rows: slice | np.ndarray | None) -> np.ndarray:
    if rows is None:
        return dataset[()]
    return dataset[rows] if isinstance(rows, slice) else read_rows(dataset, rows)


def read_h5(
    path: str | os.PathLike[str], keys: tuple[str, ...] | None = None, rows: slice | np.ndarray | None = None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read arrays and JSON attributes; any unreadable or incomplete file raises naming the file.

    ``rows``: a slice, or increasing row indices read block by block (:func:`read_rows`).
    """
    path = Path(path)
    if isinstance(rows, np.ndarray) and np.any(np.diff(rows) <= 0):
        raise ValueError(f"rows of {path} must be strictly increasing")
    if not path.exists():
        raise FileNotFoundError(f"input file is missing: {path}")
    try:
        with h5py.File(path, "r") as f:
            wanted = keys if keys is not None else tuple(f.keys())
            missing = [k for k in wanted if k not in f]
            if missing:
                raise KeyError(f"datasets {missing} missing")
            arrays = {k: _read(f[k], rows) for k in wanted}
            attrs = {k: json.loads(v) for k, v in f.attrs.items()}
    except (OSError, KeyError, ValueError) as err:
        raise OSError(f"cannot read {path}: corrupt, truncated or not a jet file ({err})") from err
    return arrays, attrs


def write_jets(
    path: str | os.PathLike[str],
    jets: JetArrays,
    extra: Mapping[str, np.ndarray] | None = None,
    extra_attrs: Mapping[str, Any] | None = None,
) -> None:
    arrays = {key: getattr(jets, key) for key in ARRAY_KEYS} | dict(extra or {})
    attrs = {key: getattr(jets, key) for key in JSON_ATTRS} | dict(extra_attrs or {})
    write_h5(path, arrays, attrs)


def read_jets(path: str | os.PathLike[str]) -> JetArrays:
    arrays, attrs = read_h5(path, ARRAY_KEYS)
    missing = [k for k in ("xaug_names", "particle_features") if k not in attrs]
    if missing:
        raise OSError(f"cannot read {path}: attributes {missing} missing, not a jet file")
    return JetArrays(**arrays, **{k: attrs.get(k, {}) for k in JSON_ATTRS})


def software_versions() -> dict[str, str]:
    """Versions of the packages that can change the study's numbers."""
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for dist in (
        "numpy",
        "torch",
        "lightning",
        "captum",
        "fastjet",
        "awkward",
        "pythia8mc",
        "h5py",
        "scikit-learn",
        "snakemake",
        "xaugjets",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    return versions


def git_commit(repo: str | os.PathLike[str] | None = None) -> str:
    """The commit of the code that ran (``-dirty`` when the tree had changes), or 'unknown'."""
    cwd = Path(repo) if repo else Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("-dirty" if dirty else "")


def provenance(**fields: Any) -> dict[str, Any]:
    """Provenance record stored with every data product: caller fields plus versions and commit."""
    return {**fields, "versions": software_versions(), "git_commit": git_commit()}
