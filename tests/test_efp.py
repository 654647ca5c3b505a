"""Energy flow polynomials and the guided search: closed forms, energyflow's own numbers, invariances,
chunking, and a search whose first step is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_training import SETTINGS

from xaugjets import efp, io
from xaugjets.datasets import read_dataset
from xaugjets.efp_search import SearchSettings, disordered, guided_search, pair_ado, sampled_pairs, search_table

TOY_FEATURES = ["fraction", "x", "y", "subjet"]


def by_name(chosen: list[efp.Graph], name: str) -> int:
    return [g.name for g in chosen].index(name)


def random_jets(n: int, particles: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Toy-layout particle lists with a few padded slots per jet."""
    rng = np.random.default_rng(seed)
    values = np.stack(
        [rng.exponential(1.0, (n, particles)), rng.normal(0, 0.3, (n, particles)), rng.normal(0, 0.3, (n, particles))],
        axis=-1,
    )
    mask = np.ones((n, particles), dtype=bool)
    mask[:, -3:] = rng.random((n, 3)) < 0.5
    particles_array = np.concatenate([values, np.zeros((n, particles, 1))], axis=-1)
    return np.where(mask[..., None], particles_array, 0.0), mask


def test_two_particle_jet_matches_the_closed_forms():
    """Two particles at distance θ: Σ_ij z_i z_j θ_ij^k = 2 z1 z2 θ^k; the triangle-free 3-vertex chain
    Σ_ijk z_i z_j z_k θ_ij θ_ik = z1 z2 θ² (z1 + z2) ... = z1 z2 θ² for z1 + z2 = 1."""
    z1, z2, theta = 0.3, 0.7, 0.4
    particles = np.array([[[z1, 0.0, 0.0, 0.0], [z2, theta, 0.0, 0.0]]])
    z, delta_r = efp.fractions_and_angles(particles, np.ones((1, 2), dtype=bool), TOY_FEATURES)
    chosen = efp.graphs(3)
    values = efp.efp_values(z, delta_r, chosen, beta=1.0)[0]
    for k in (1, 2, 3):
        assert values[by_name(chosen, f"efp_n2_d{k}_k0")] == pytest.approx(2 * z1 * z2 * theta**k)
    chain = next(i for i, g in enumerate(chosen) if g.n_vertices == 3 and sorted(g.edges) == [(0, 1), (0, 2)])
    assert values[chain] == pytest.approx(z1 * z2 * theta**2 * (z1 + z2))
    squared = efp.efp_values(z, delta_r, chosen, beta=2.0)[0]
    assert squared[by_name(chosen, "efp_n2_d1_k0")] == pytest.approx(2 * z1 * z2 * theta**2)


def test_a_one_particle_jet_has_no_angular_structure():
    particles = np.array([[[5.0, 0.1, -0.2, 0.0], [0.0, 0.0, 0.0, 0.0]]])
    z, delta_r = efp.fractions_and_angles(particles, np.array([[True, False]]), TOY_FEATURES)
    np.testing.assert_array_equal(z, [[1.0, 0.0]])
    np.testing.assert_array_equal(efp.efp_values(z, delta_r, efp.graphs(4), beta=1.0), 0.0)


def test_batched_contraction_equals_energyflow_jet_by_jet():
    import energyflow

    particles, mask = random_jets(40, 12, seed=3)
    z, delta_r = efp.fractions_and_angles(particles, mask, TOY_FEATURES)
    mine = efp.efp_values(z, delta_r, efp.graphs(5), beta=1.0)
    reference_set = energyflow.EFPSet("d<=5", "p==1", measure="hadr", beta=1, normed=True, coords="ptyphim")
    jets = [particles[i][mask[i]][:, :3] for i in range(len(particles))]
    reference = reference_set.batch_compute(jets, n_jobs=1)[:, 1:]  # without the edgeless graph (Σ z = 1)
    np.testing.assert_allclose(mine, reference, rtol=1e-10, atol=1e-15)


def test_efps_are_invariant_under_rotation_translation_and_particle_order():
    particles, mask = random_jets(20, 10, seed=4)
    chosen = efp.graphs(4)
    base = efp.efp_values(*efp.fractions_and_angles(particles, mask, TOY_FEATURES), chosen, beta=1.0)
    angle = 0.7
    moved = particles.copy()
    x, y = particles[..., 1], particles[..., 2]
    moved[..., 1] = np.cos(angle) * x - np.sin(angle) * y + 0.25
    moved[..., 2] = np.sin(angle) * x + np.cos(angle) * y - 0.1
    order = np.random.default_rng(0).permutation(particles.shape[1])
    moved, moved_mask = moved[:, order], mask[:, order]
    after = efp.efp_values(*efp.fractions_and_angles(moved, moved_mask, TOY_FEATURES), chosen, beta=1.0)
    np.testing.assert_allclose(after, base, rtol=1e-9)


def test_the_jet_layout_reads_log_pt_rel_and_rotated_angles():
    features = ["log_pt", "log_pt_rel", "deta_rot", "dphi_rot"]
    particles = np.array([[[3.0, np.log(0.25), 0.1, 0.0], [3.0, np.log(0.75), -0.1, 0.0]]])
    z, delta_r = efp.fractions_and_angles(particles, np.ones((1, 2), dtype=bool), features)
    np.testing.assert_allclose(z, [[0.25, 0.75]])
    assert delta_r[0, 0, 1] == pytest.approx(0.2)
    with pytest.raises(KeyError, match="no EFP particle layout"):
        efp.layout_of(["log_pt", "charge"])


def test_dataset_efps_do_not_depend_on_the_chunk_size(toy_dataset, tmp_path):
    small = efp.dataset_efps(toy_dataset, tmp_path / "small.h5", max_degree=3, beta=1.0, prime_only=True, chunk=7)
    efp.dataset_efps(toy_dataset, tmp_path / "large.h5", max_degree=3, beta=1.0, prime_only=True, chunk=100_000)
    first, attrs = io.read_h5(tmp_path / "small.h5", ("efp",))
    second, _ = io.read_h5(tmp_path / "large.h5", ("efp",))
    np.testing.assert_array_equal(first["efp"], second["efp"])
    arrays, _ = read_dataset(str(toy_dataset))
    assert first["efp"].shape == (len(arrays["label"]), len(small["names"]))
    assert attrs["names"] == small["names"] and attrs["layout"] == "toy"


def test_pair_ado_is_one_for_any_monotone_transform_and_either_sign():
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1], 50)
    reference = rng.normal(size=100) + labels
    pairs = sampled_pairs(labels, max_pairs=10**6, seed=0)
    assert len(pairs[0]) == 50 * 50  # all pairs when they are few
    candidates = np.column_stack([np.exp(reference), -reference, np.zeros(100)])
    np.testing.assert_allclose(pair_ado(candidates, reference, pairs), [1.0, 1.0, 0.5])
    assert len(sampled_pairs(labels, max_pairs=100, seed=0)[0]) == 100
    assert not disordered(reference, 2 * reference, pairs).any()
    assert disordered(reference, -reference, pairs).all()


def test_the_search_adds_the_efp_that_is_the_black_box(toy_dataset):
    """The black box is a monotone function of one EFP column: on any set of pairs that column orders
    like the black box (ADO 1), so it is the first one added, whatever the expert network learned."""
    arrays, attrs = read_dataset(str(toy_dataset))
    rng = np.random.default_rng(5)
    n = len(arrays["label"])
    efps = np.exp(rng.normal(size=(n, 4)))
    efps[:, 2] = np.exp(arrays["label"] + rng.normal(0, 0.7, n))
    black_box = 3.0 * np.log(efps[:, 2]) + 1.0
    split = {name: black_box[arrays["split"] == i] for i, name in enumerate(("train", "val", "test"))}
    steps = guided_search(
        arrays,
        efps,
        ["e0", "e1", "e2", "e3"],
        ["r1"],
        attrs["xaug_inputs"],
        split,
        seed=1,
        training=SETTINGS,
        search=SearchSettings(max_steps=1, min_gain=0.0, max_pairs=20_000, bootstrap=20),
    )
    assert list(steps["step"]) == [0, 1] and list(steps["added"]) == ["", "e2"]
    assert list(steps["inputs"]) == [1, 2]
    assert steps["next_pair_ado"].iloc[0] == pytest.approx(1.0)
    assert steps[["ado", "auc"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (steps["ado_stat"] > 0).all()


def test_search_table_counts_seeds_and_ends_at_the_last_accepted_step():
    def step(seed: int, number: int, added: str, ado: float, accepted: bool) -> dict:
        return {
            "black_box": "cnn2d", "start": "xaug", "seed": seed, "step": number, "added": added, "ado": ado,
            "ado_stat": 0.01, "auc": 0.8, "auc_stat": 0.01, "accepted": accepted, "stop_reason": "early_stopping",
        }  # fmt: skip

    steps = pd.DataFrame(
        [
            step(1, 0, "", 0.70, True), step(1, 1, "a", 0.80, True), step(1, 2, "b", 0.80, False),
            step(2, 0, "", 0.72, True), step(2, 1, "a", 0.74, False),
        ]
    )  # fmt: skip
    table, final = search_table(steps)
    assert list(table["seeds"]) == [2, 2, 1]
    assert table["added"].iloc[1] == "a (2/2)" and table["accepted"].iloc[1] == "1/2"
    row = final.iloc[0]
    assert row["start_ado"] == pytest.approx(0.71) and row["ado"] == pytest.approx(
        0.76
    )  # seed 1 at step 1, seed 2 at 0
    assert row["efps_added"] == pytest.approx(0.5) and row["final_sets"] == "a; (none)"
    assert row["start_ado_seed"] == pytest.approx(np.std([0.70, 0.72], ddof=1))
