"""Your own jets: readers of ready-made jet constituents, one per file layout (docs/physics.md "Your own jets").

Each layout is one function in :data:`LAYOUTS` (the config's ``user_samples.*.layout`` enum is checked
against it by a test): ``reader(path, options)`` opens a file and returns a :class:`Source`, the number of
rows and a function that reads rows ``[start, stop)`` as a :class:`Chunk` of flat particle columns
(:class:`xaugjets.jets.EventParticles`) with per-row labels.  A row is one jet (its constituents) or, with
``events``, one event (its particles, clustered by :func:`read_jets` as the Pythia stage does).

- ``toptagging``: the public top-tagging reference dataset, a pandas HDF5 frame (key ``key``) with columns
  ``E_i, PX_i, PY_i, PZ_i`` (i = 0..199, zero-padded, pT-ordered) and ``is_signal_new``.  Read with h5py
  (pandas' "fixed" format, that of the public files: no PyTables needed); a "table"-format frame is read
  with ``pandas.read_hdf`` and needs PyTables.  Slots with E = 0 are padding.
- ``awkward``: jagged per-jet fields in a parquet file (``ak.from_parquet``, needs pyarrow), a ROOT TTree
  (uproot) or an HDF5 file of awkward buffers (``ak.to_buffers`` in one group per chunk, see
  :func:`write_awkward_h5`; h5py only).  Momenta as (E, px, py, pz) or (pt, eta, phi, E); optional ``id``,
  ``charge``, ``vx, vy, vz``, ``weight``, and ``label`` when a file holds both classes.

Optional columns a file lacks are never made up: :func:`xaugjets.jets.not_computable` names what is then
left out, and :func:`read_jets` records it in the jet file's provenance (``not_computable``), from where
the dataset and every relevance table carry it.  Everything is vectorized per chunk; memory is bounded by
``chunk_size`` rows, whatever the size of the file.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from . import jets
from .io import JetArrays

MOMENTA = {"cartesian": ("E", "px", "py", "pz"), "ptetaphi": ("pt", "eta", "phi", "E")}
OPTIONAL = ("id", "charge", "vx", "vy", "vz")


class ReadError(OSError):
    """A file of jets cannot be read; the one-line message names the file."""


@dataclass(frozen=True)
class Chunk:
    """Rows of a file: their particles (flat columns + counts), and per row its label and weight (None: the
    file's class label applies / weight 1)."""

    particles: jets.EventParticles
    label: np.ndarray | None
    weight: np.ndarray | None = None


@dataclass(frozen=True)
class Source:
    """An opened file: its number of rows, the optional columns it has, and ``read(start, stop)``."""

    rows: int
    columns: tuple[str, ...]  # of OPTIONAL, those the file holds
    read: Callable[[int, int], Chunk]
    has_label: bool = True
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReaderOptions:
    """One user sample's reading options (config ``user_samples.<name>``, defaults: the schema)."""

    key: str
    tree: str | None
    coordinates: str
    fields: Mapping[str, str | None]


def _particles(momenta: dict[str, np.ndarray], counts: np.ndarray, coordinates: str) -> dict[str, np.ndarray]:
    """px, py, pz, E from either convention, float64."""
    if coordinates == "ptetaphi":
        pt, eta, phi = (np.asarray(momenta[k], dtype=np.float64) for k in ("pt", "eta", "phi"))
        return {
            "px": pt * np.cos(phi),
            "py": pt * np.sin(phi),
            "pz": pt * np.sinh(eta),
            "E": np.asarray(momenta["E"], dtype=np.float64),
        }
    return {k: np.asarray(momenta[k], dtype=np.float64) for k in jets.MOMENTUM_FIELDS}


# --- toptagging: a pandas HDF5 frame --------------------------------------------------------------------


def _frame_columns(group: Any) -> dict[str, tuple[str, int]]:
    """pandas "fixed" frame: column name -> (block dataset, column index)."""
    out = {}
    for name in sorted(k for k in group if k.startswith("block") and k.endswith("_items")):
        block = name.removesuffix("_items")
        for i, item in enumerate(group[name][()]):
            out[item.decode() if isinstance(item, bytes) else str(item)] = (f"{block}_values", i)
    return out


def read_toptagging(path: Path, options: ReaderOptions) -> Source:
    """The top-tagging reference layout: ``E_i, PX_i, PY_i, PZ_i`` zero-padded, label ``is_signal_new``."""
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise ReadError(f"cannot read {path}: not an HDF5 file ({err})") from err
    if options.key not in handle:
        raise ReadError(f"cannot read {path}: no pandas frame under key {options.key!r} (keys: {list(handle)})")
    group = handle[options.key]
    if isinstance(group, h5py.Group) and "table" in group:  # pandas "table" format: PyTables' own layout
        return _toptagging_table(path, options, int(group["table"].shape[0]))
    if not isinstance(group, h5py.Group) or "block0_items" not in group:
        raise ReadError(f"cannot read {path}: {options.key!r} is not a pandas HDF5 frame")
    columns = _frame_columns(group)
    n_slots = sum(1 for name in columns if name.startswith("E_"))
    wanted = [*(f"{c}_{i}" for c in ("E", "PX", "PY", "PZ") for i in range(n_slots)), "is_signal_new"]
    if n_slots == 0 or any(c not in columns for c in wanted):
        raise ReadError(f"cannot read {path}: not the top-tagging layout (needs E_i, PX_i, PY_i, PZ_i, is_signal_new)")
    blocks = {block: group[block] for block, _ in columns.values()}
    transposed = {block: bool(data.attrs.get("transposed", True)) for block, data in blocks.items()}

    def take(values: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
        return np.stack([values[columns[n][0]][:, columns[n][1]] for n in names], axis=1)

    def read(start: int, stop: int) -> Chunk:
        values = {}
        for block, data in blocks.items():
            values[block] = data[start:stop] if transposed[block] else data[:, start:stop].T
        four = {c: take(values, [f"{c}_{i}" for i in range(n_slots)]) for c in ("E", "PX", "PY", "PZ")}
        label = take(values, ["is_signal_new"])[:, 0]
        return _padded_chunk(four, label)

    rows = int(blocks[columns["is_signal_new"][0]].shape[0 if transposed[columns["is_signal_new"][0]] else 1])
    return Source(rows, (), read, info={"format": "pandas fixed", "slots": n_slots})


def _toptagging_table(path: Path, options: ReaderOptions, rows: int) -> Source:
    try:
        import pandas as pd
        import tables  # noqa: F401
    except ImportError as err:
        raise ReadError(
            f"cannot read {path}: a pandas 'table'-format frame needs PyTables (pip install tables)"
        ) from err

    def read(start: int, stop: int) -> Chunk:
        frame = pd.read_hdf(path, options.key, start=start, stop=stop)
        n_slots = sum(1 for c in frame.columns if str(c).startswith("E_"))
        four = {c: frame[[f"{c}_{i}" for i in range(n_slots)]].to_numpy() for c in ("E", "PX", "PY", "PZ")}
        return _padded_chunk(four, frame["is_signal_new"].to_numpy())

    return Source(rows, (), read, info={"format": "pandas table"})


def _padded_chunk(four: dict[str, np.ndarray], label: np.ndarray) -> Chunk:
    """Zero-padded (rows, slots) E, PX, PY, PZ: slots with E = 0 are padding and removed."""
    real = four["E"] != 0
    momenta = {name: four[c][real] for name, c in zip(("E", "px", "py", "pz"), ("E", "PX", "PY", "PZ"), strict=True)}
    counts = real.sum(axis=1).astype(np.int64)
    return Chunk(jets.EventParticles(_particles(momenta, counts, "cartesian"), counts), np.asarray(label, float))


# --- awkward: parquet, ROOT or HDF5 of awkward buffers ---------------------------------------------------


def write_awkward_h5(path: str | Path, array: ak.Array, chunk_size: int = 10_000) -> None:
    """Write ``array`` (one record per jet) as awkward buffers in HDF5, one group ``chunk{i}`` per
    ``chunk_size`` rows (awkward's to_buffers recipe), so that :func:`read_awkward` reads it chunk by chunk."""
    import h5py

    with h5py.File(path, "w") as f:
        for i, start in enumerate(range(0, max(len(array), 1), chunk_size)):
            group = f.create_group(f"chunk{i}")
            form, length, _ = ak.to_buffers(ak.to_packed(array[start : start + chunk_size]), container=group)
            group.attrs["form"] = form.to_json()
            group.attrs["length"] = length


def _awkward_h5(path: Path) -> tuple[int, Callable[[int, int], ak.Array], list[str]]:
    import h5py

    try:
        handle = h5py.File(path, "r")
        groups = sorted((k for k in handle if k.startswith("chunk")), key=lambda k: int(k[5:]))
        lengths = np.array([int(handle[k].attrs["length"]) for k in groups], dtype=np.int64)
        form = ak.forms.from_json(handle[groups[0]].attrs["form"])
    except (OSError, KeyError, IndexError, ValueError) as err:
        raise ReadError(f"cannot read {path}: not an HDF5 file of awkward buffers ({err})") from err
    ends = np.cumsum(lengths)

    @lru_cache(maxsize=2)
    def load(i: int) -> ak.Array:
        group = handle[groups[i]]
        buffers = {k: group[k][()] for k in group}
        return ak.from_buffers(ak.forms.from_json(group.attrs["form"]), int(group.attrs["length"]), buffers)

    def read(start: int, stop: int) -> ak.Array:
        first, last = np.searchsorted(ends, start, side="right"), np.searchsorted(ends, stop - 1, side="right")
        offset = int(ends[first - 1]) if first else 0
        parts = [load(int(i)) for i in range(first, last + 1)]
        joined = parts[0] if len(parts) == 1 else ak.concatenate(parts)
        return joined[start - offset : stop - offset]

    return int(ends[-1]) if len(ends) else 0, read, list(form.fields)


def _parquet(path: Path) -> tuple[int, Callable[[int, int], ak.Array], list[str]]:
    try:
        meta = ak.metadata_from_parquet(str(path))
    except ImportError as err:
        raise ReadError(f"cannot read {path}: parquet needs pyarrow (pip install pyarrow)") from err
    except Exception as err:  # pyarrow's own errors
        raise ReadError(f"cannot read {path}: not a parquet file ({err})") from err
    lengths = np.asarray(meta["col_counts"], dtype=np.int64)
    ends = np.cumsum(lengths)

    def read(start: int, stop: int) -> ak.Array:
        first, last = np.searchsorted(ends, start, side="right"), np.searchsorted(ends, stop - 1, side="right")
        offset = int(ends[first - 1]) if first else 0
        array = ak.from_parquet(str(path), row_groups=list(range(int(first), int(last) + 1)))
        return array[start - offset : stop - offset]

    return int(ends[-1]) if len(ends) else 0, read, list(meta["form"].fields)


def _root(path: Path, tree: str | None) -> tuple[int, Callable[[int, int], ak.Array], list[str]]:
    try:
        import uproot
    except ImportError as err:
        raise ReadError(f"cannot read {path}: ROOT files need uproot (pip install uproot)") from err
    try:
        handle = uproot.open(path)
        kinds = handle.classnames(cycle=False)  # a TTree, or the RNTuple that uproot >= 5.7 writes by default
        names = [tree] if tree else [name for name, kind in kinds.items() if kind in ("TTree", "ROOT::RNTuple")]
        if len(names) != 1:
            raise ValueError(f"{len(names)} TTrees or RNTuples {list(names)}: set user_samples.<name>.tree")
        ttree = handle[names[0]]
    except Exception as err:  # uproot's own errors
        raise ReadError(f"cannot read {path}: not a ROOT file with one jet TTree or RNTuple ({err})") from err
    fields = list(ttree.keys())
    return int(ttree.num_entries), lambda a, b: ttree.arrays(fields, entry_start=a, entry_stop=b), fields


def read_awkward(path: Path, options: ReaderOptions) -> Source:
    """Jagged per-jet fields: parquet, ROOT (TTree ``tree``) or HDF5 of awkward buffers, by file suffix."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        rows, read_rows, fields = _parquet(path)
    elif suffix == ".root":
        rows, read_rows, fields = _root(path, options.tree)
    elif suffix in (".h5", ".hdf5"):
        rows, read_rows, fields = _awkward_h5(path)
    else:
        raise ReadError(f"cannot read {path}: the awkward layout reads .parquet, .root, .h5 or .hdf5 files")
    names = {k: v for k, v in options.fields.items() if v is not None}
    momenta = MOMENTA[options.coordinates]
    absent = [names.get(k, k) for k in momenta if names.get(k) not in fields]
    if absent:
        raise ReadError(f"cannot read {path}: fields {absent} missing ({options.coordinates} momenta); it has {fields}")
    optional = tuple(k for k in OPTIONAL if names.get(k) in fields)
    if any(k in optional for k in ("vx", "vy", "vz")) and not all(k in optional for k in ("vx", "vy", "vz")):
        optional = tuple(k for k in optional if k not in ("vx", "vy", "vz"))  # a vertex needs all three
    label, weight = names.get("label") if names.get("label") in fields else None, names.get("weight")
    if weight is not None and weight not in fields:
        raise ReadError(f"cannot read {path}: weight field {weight!r} missing; it has {fields}")

    def read(start: int, stop: int) -> Chunk:
        array = read_rows(start, stop)
        first = array[names[momenta[0]]]
        counts = ak.to_numpy(ak.num(first, axis=1)).astype(np.int64)
        flat = {}
        for key in (*momenta, *optional):
            column = array[names[key]]
            if not np.array_equal(ak.to_numpy(ak.num(column, axis=1)), counts):
                raise ReadError(
                    f"cannot read {path}: field {names[key]!r} has other lengths than {names[momenta[0]]!r}"
                )
            flat[key] = np.asarray(ak.to_numpy(ak.flatten(column, axis=1)), dtype=np.float64)
        columns = _particles(flat, counts, options.coordinates) | {k: flat[k] for k in optional}
        return Chunk(
            jets.EventParticles(columns, counts),
            None if label is None else np.asarray(ak.to_numpy(array[label]), dtype=float),
            None if weight is None else np.asarray(ak.to_numpy(array[weight]), dtype=float),
        )

    return Source(rows, optional, read, has_label=label is not None, info={"fields": fields})


Reader = Callable[[Path, ReaderOptions], Source]
LAYOUTS: dict[str, Reader] = {"toptagging": read_toptagging, "awkward": read_awkward}


# --- from a file to a jet file ---------------------------------------------------------------------------

REJECTED_LABEL = "rejected_label_not_0_or_1"


def shard_rows(rows: int, max_jets: int | None, shard: int, shards: int) -> tuple[int, int, int]:
    """Rows [start, stop) of shard ``shard`` of ``shards`` among the first ``max_jets`` rows, and how many
    rows beyond the cap are not read (counted once, by the last shard)."""
    used = rows if max_jets is None else min(rows, max_jets)
    start, stop = used * shard // shards, used * (shard + 1) // shards
    return start, stop, (rows - used) if shard == shards - 1 else 0


def _describe(chunk: Chunk, settings: jets.JetSettings, events: bool) -> jets.JetBatch:
    """The jet stage on one chunk: events are clustered (anti-kT, leading jet above pt_min); jets are taken
    as they are (no pT cut; select with windows), empty rows rejected."""
    if events:
        return jets.process(chunk.particles, settings)
    nonempty = chunk.particles.counts > 0
    batch = jets.describe(jets.LeadingJets(nonempty, chunk.particles.select_events(nonempty)), settings)
    names = {"events": "jets", "rejected_no_jet_above_pt_min": "rejected_no_constituents"}
    batch.cutflow = {names.get(k, k): v for k, v in batch.cutflow.items()}
    return batch


def read_jets(
    path: str | Path,
    layout: str,
    options: ReaderOptions,
    settings: jets.JetSettings,
    *,
    label: int | None = None,
    events: bool = False,
    max_jets: int | None = None,
    shard: int = 0,
    shards: int = 1,
    chunk_size: int = 10_000,
) -> JetArrays:
    """One shard of a file of jets (or events) as :class:`JetArrays`, the format of every jet file.

    ``label`` (1 signal, 0 background) for a file of one class; else each row's label field.  Rows whose
    label is not 0 or 1 and every jet the jet stage rejects are counted in the cutflow.
    """
    path = Path(path)
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose from {list(LAYOUTS)}")
    if not path.is_file():
        raise ReadError(f"cannot read {path}: no such file")
    source = LAYOUTS[layout](path, options)
    if label is None and not source.has_label:
        raise ReadError(f"cannot read {path}: no label field {options.fields.get('label')!r} (or give files per class)")
    available = (*jets.MOMENTUM_FIELDS, *source.columns)
    xaug_names, features = jets.computable_names(available)
    start, stop, beyond = shard_rows(source.rows, max_jets, shard, shards)
    parts: list[tuple[jets.JetBatch, np.ndarray, np.ndarray]] = []
    # The same keys in every shard, in cutflow order: rows_read = not-0/1 labels + events (or jets), and
    # events (jets) = the jet stage's rejections + accepted.
    stage = ("events", "rejected_no_jet_above_pt_min") if events else ("jets", "rejected_no_constituents")
    cutflow = {"rows_read": stop - start, "not_read_beyond_max_jets": beyond, REJECTED_LABEL: 0}
    cutflow |= dict.fromkeys((*stage, "rejected_fewer_than_two_groomed_constituents"), 0)
    began = time.perf_counter()
    for first in range(start, stop, chunk_size):
        try:
            chunk = source.read(first, min(first + chunk_size, stop))
        except ReadError:
            raise
        except Exception as err:  # h5py, awkward, pyarrow or uproot on a damaged file
            raise ReadError(f"cannot read {path}: rows {first}..{min(first + chunk_size, stop)} ({err})") from err
        n = len(chunk.particles)
        labels = np.full(n, float(label)) if label is not None else chunk.label
        good = (labels == 0) | (labels == 1)
        cutflow[REJECTED_LABEL] += int((~good).sum())
        particles = chunk.particles.select_events(good) if not good.all() else chunk.particles
        if not (particles.counts > 0).any():  # nothing for the jet stage: every row counted here
            cutflow[stage[0]] += len(particles)
            cutflow[stage[1]] += len(particles)
            continue
        batch = _describe(Chunk(particles, None), settings, events)
        weight = np.ones(n) if chunk.weight is None else chunk.weight
        parts.append((batch, labels[good][batch.passed], weight[good][batch.passed]))
        print(
            f"{path.name}: rows {first + n - start}/{stop - start}, "
            f"{sum(p[0].cutflow['accepted'] for p in parts)} jets ({time.perf_counter() - began:.1f} s)",
            file=sys.stderr,
            flush=True,
        )
    for batch, _, _ in parts:
        for key, value in batch.cutflow.items():
            if key != "accepted":
                cutflow[key] += value
    cutflow["accepted"] = sum(b.cutflow["accepted"] for b, _, _ in parts)
    grid, n = settings.grid, settings.n_particles
    batches = [b for b, _, _ in parts]

    def stacked(key: str, empty: tuple[int, ...], dtype: Any) -> np.ndarray:
        return np.concatenate([getattr(b, key) for b in batches]) if batches else np.zeros(empty, dtype=dtype)

    return JetArrays(
        image=stacked("image", (0, grid, grid), np.float32),
        particles=stacked("particles", (0, n, len(features)), np.float32),
        mask=stacked("mask", (0, n), bool),
        xaug=stacked("xaug", (0, len(xaug_names)), np.float32),
        label=np.concatenate([p[1] for p in parts] or [np.zeros(0)]).astype(np.int8),
        weight=np.concatenate([p[2] for p in parts] or [np.zeros(0)]).astype(np.float32),
        xaug_names=xaug_names,
        particle_features=features,
        provenance={
            "layout": layout,
            "input": str(path),
            "rows_in_file": source.rows,
            "rows": [start, stop],
            "columns": list(available),
            "not_computable": jets.not_computable(available),
            "reader": json.loads(json.dumps(source.info, default=str)),
        },
        cutflow=cutflow,
    )
