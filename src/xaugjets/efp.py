"""Energy flow polynomials (EFPs) of each jet's particle list, computed in chunks of jets.

An EFP is a sum over N-tuples of the jet's particles of their momentum fractions times pairwise angles,
one angle factor per edge of a multigraph G (Komiske, Metodiev, Thaler 2018):

    EFP_G = Σ_{i1..iN} z_i1 ··· z_iN · Π_{(k,l) ∈ G} θ_ik il ,   θ_ij = ΔR_ij^β ,   Σ z_i = 1.

Together the EFPs are a linear basis of infrared- and collinear-safe observables; the graphs with at most d
edges span every such observable to angular degree d.  ``energyflow`` enumerates the graphs and writes
each one's einsum contraction; here the contraction runs over a whole chunk of jets at once (a leading
jet axis), which is a few hundred times faster than energyflow's jet-by-jet loop and gives the same
numbers (tests/test_efp.py checks both against each other).

The particle list holds the leading ``n_particles`` constituents of a jet (docs/physics.md), so the EFPs
here are those of that list, with z normalized over it.  How a sample's particle columns give z and the
two angular coordinates is a registry entry of :data:`LAYOUTS`, one per particle layout of the study.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .io import atomic_path, read_h5


@dataclass(frozen=True)
class Layout:
    """Which particle columns hold the momentum fraction (and how to read it) and the two angles."""

    fraction: str
    to_fraction: Callable[[np.ndarray], np.ndarray]
    angles: tuple[str, str]


# One entry per particle layout: the toy's (fraction, x, y) and the jet stage's (Pythia and your own jets).
LAYOUTS: dict[str, Layout] = {
    "toy": Layout("fraction", lambda column: column, ("x", "y")),
    "jets": Layout("log_pt_rel", np.exp, ("deta_rot", "dphi_rot")),
}


def layout_of(features: Sequence[str]) -> Layout:
    """The registered layout whose columns ``features`` has; a one-line error names what is missing."""
    for layout in LAYOUTS.values():
        if {layout.fraction, *layout.angles} <= set(features):
            return layout
    raise KeyError(f"no EFP particle layout fits the particle features {list(features)}; see xaugjets.efp.LAYOUTS")


def fractions_and_angles(
    particles: np.ndarray, mask: np.ndarray, features: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(z, ΔR matrix) of a chunk of jets: z (N, P) sums to 1 per jet over real particles, padding has z = 0."""
    layout = layout_of(features)
    columns = [list(features).index(name) for name in (layout.fraction, *layout.angles)]
    values = particles[..., columns].astype(np.float64)
    z = np.where(mask, layout.to_fraction(values[..., 0]), 0.0)
    total = z.sum(axis=1, keepdims=True)
    z = np.divide(z, total, out=np.zeros_like(z), where=total > 0)
    position = values[..., 1:]
    delta = position[:, :, None, :] - position[:, None, :, :]
    return z, np.sqrt(np.einsum("npqc,npqc->npq", delta, delta))


@dataclass(frozen=True)
class Graph:
    """One EFP: its name, edges, and the einsum of energyflow with one θ power per distinct edge."""

    name: str
    edges: tuple[tuple[int, int], ...]
    n_vertices: int
    einsum: str  # energyflow's, e.g. "ab,ac,a,b,c": the θ factors, then one z per vertex
    powers: tuple[int, ...]  # the multiplicity of each distinct edge


def graphs(max_degree: int, prime_only: bool = True) -> list[Graph]:
    """Every EFP multigraph with 1 to ``max_degree`` edges (connected ones only if ``prime_only``).

    The graph without edges is Σ z = 1 for every jet, so it is left out.
    """
    import energyflow

    selection = (f"d<={max_degree}", "p==1") if prime_only else (f"d<={max_degree}",)
    out = []
    for efp in energyflow.EFPSet(*selection, measure="hadr", beta=1, normed=True, coords="ptyphim").efps:
        n, _, d, _, k, *_ = (int(x) for x in efp.spec)
        if d == 0:
            continue
        out.append(Graph(f"efp_n{n}_d{d}_k{k}", tuple(map(tuple, efp.graph)), n, efp.einstr, tuple(efp.weights)))
    return out


def _batched(einsum: str) -> str:
    """energyflow's per-jet contraction with a leading jet axis on every operand."""
    operands = einsum.split("->")[0]
    return ",".join("J" + term for term in operands.split(",")) + "->J"


def efp_values(z: np.ndarray, delta_r: np.ndarray, chosen: Sequence[Graph], beta: float) -> np.ndarray:
    """(N, graphs) EFPs of a chunk of jets from z (N, P) and ΔR (N, P, P), θ = ΔR^β."""
    theta = delta_r**beta
    out = np.empty((len(z), len(chosen)), dtype=np.float64)
    for i, graph in enumerate(chosen):
        operands = [theta**power for power in graph.powers] + [z] * graph.n_vertices
        out[:, i] = np.einsum(_batched(graph.einsum), *operands, optimize="greedy")
    return out


def _chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def dataset_efps(
    dataset: str | Path, output: str | Path, max_degree: int, beta: float, prime_only: bool, chunk: int
) -> dict[str, object]:
    """EFPs of every jet of a dataset file, read and written ``chunk`` jets at a time (memory flat in N).

    Writes ``efp`` (N, graphs) in the dataset's row order, with the graphs' names and edges as attributes.
    """
    import h5py

    chosen = graphs(max_degree, prime_only)
    _, attrs = read_h5(dataset, ())
    features = attrs["particle_features"]
    with h5py.File(dataset, "r") as f:
        n_jets = len(f["label"])
    meta = {
        "names": [g.name for g in chosen],
        "edges": {g.name: [list(e) for e in g.edges] for g in chosen},
        "beta": beta,
        "max_degree": max_degree,
        "prime_only": prime_only,
        "layout": next(name for name, layout in LAYOUTS.items() if layout is layout_of(features)),
        "particles": "the leading particles of the particle list, z normalized over them",
    }
    with atomic_path(output) as tmp, h5py.File(tmp, "w") as out:
        rows_per_chunk = (max(min(chunk, n_jets), 1), len(chosen))
        values = out.create_dataset("efp", (n_jets, len(chosen)), dtype=np.float64, chunks=rows_per_chunk)
        for rows in _chunks(n_jets, chunk):
            arrays, _ = read_h5(dataset, ("particles", "mask"), rows)
            z, delta_r = fractions_and_angles(arrays["particles"], arrays["mask"], features)
            values[rows] = efp_values(z, delta_r, chosen, beta)
        for key, value in meta.items():
            out.attrs[key] = json.dumps(value)
    return meta
