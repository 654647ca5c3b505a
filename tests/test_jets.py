"""Jet substructure on hand-built events with known answers (real FastJet + fastjet-contrib)."""

from __future__ import annotations

import inspect
import shutil
import warnings

import awkward as ak
import numpy as np
import pytest

from xaugjets import fastjet_binding, jets, native
from xaugjets.particles import PARTICLE_FEATURES

SETTINGS = jets.JetSettings.default(pt_min=100.0)


def particle(pt, eta, phi, pid=211, charge=1.0, vx=0.0, vy=0.0, vz=0.0):
    """A massless particle record."""
    return {
        "px": pt * np.cos(phi),
        "py": pt * np.sin(phi),
        "pz": pt * np.sinh(eta),
        "E": pt * np.cosh(eta),
        "id": pid,
        "charge": charge,
        "vx": vx,
        "vy": vy,
        "vz": vz,
    }


def prong(pt, eta, phi, n=4, **kw):
    """n exactly collinear particles sharing pt: one 'prong' (massless, so its mass is zero)."""
    return [particle(pt / n, eta, phi, **kw) for _ in range(n)]


def events(*lists):
    return ak.Array([list(e) for e in lists])


def xaug(batch, name):
    return batch.xaug[:, jets.XAUG_NAMES.index(name)]


def two_prong_mass(pt1, pt2, dr):
    return np.sqrt(2 * pt1 * pt2 * (1 - np.cos(dr)))  # Δη = 0, Δφ = dr


def test_two_prongs_known_substructure():
    event = prong(300, 0.0, 0.0) + prong(100, 0.0, 0.4)
    batch = jets.process(events(event), SETTINGS)
    assert batch.cutflow["accepted"] == 1
    assert xaug(batch, "m_sd")[0] == pytest.approx(two_prong_mass(300, 100, 0.4), rel=1e-4)
    assert xaug(batch, "mass")[0] == pytest.approx(two_prong_mass(300, 100, 0.4), rel=1e-4)
    # WTA axis on the hard prong: τ1(β) = pT2 ΔR^β / (pT_jet R0^β); τ2 = τ3 = 0 (each prong on an axis).
    for beta in (0.5, 1.0, 2.0):
        expected = 100 * 0.4**beta / (400 * 0.8**beta)
        label = f"{beta:g}"
        assert xaug(batch, f"tau1_b{label}")[0] == pytest.approx(expected, rel=1e-4)
        assert xaug(batch, f"tau2_b{label}")[0] == pytest.approx(0.0, abs=1e-6)
    assert xaug(batch, "tau21")[0] == pytest.approx(0.0, abs=1e-5)
    assert xaug(batch, "dr_subjets")[0] == pytest.approx(0.4, rel=1e-5)
    assert xaug(batch, "z_subjets")[0] == pytest.approx(0.25, rel=1e-5)
    assert xaug(batch, "pt")[0] == pytest.approx(400 * np.cos(0.2) / np.cos(0.2) * 1.0, rel=2e-2)


def test_soft_drop_removes_soft_wide_radiation_and_groomed_tau_uses_groomed_pt():
    event = prong(300, 0.0, 0.0) + prong(100, 0.0, 0.4) + [particle(4.0, 0.0, -0.7)]
    batch = jets.process(events(event), SETTINGS)
    assert xaug(batch, "m_sd")[0] == pytest.approx(two_prong_mass(300, 100, 0.4), rel=1e-4)
    assert xaug(batch, "mass")[0] > xaug(batch, "m_sd")[0] + 1.0
    # Groomed τ1: only the two prongs remain, normalized by their 400 GeV.
    assert xaug(batch, "tau1_b1_sd")[0] == pytest.approx(100 * 0.4 / (400 * 0.8), rel=1e-4)
    assert xaug(batch, "tau1_b1")[0] == pytest.approx((100 * 0.4 + 4 * 0.7) / (404 * 0.8), rel=1e-4)
    assert xaug(batch, "tau2_b1")[0] == pytest.approx(4 * 0.7 / (404 * 0.8), rel=1e-4)  # the soft one


def test_three_prongs_tau3_vanishes_tau2_does_not():
    event = prong(300, 0.0, 0.0) + prong(150, 0.3, 0.2) + prong(150, -0.3, 0.2)
    batch = jets.process(events(event), SETTINGS)
    assert xaug(batch, "tau3_b1")[0] == pytest.approx(0.0, abs=1e-6)
    assert xaug(batch, "tau2_b1")[0] > 0.05


def test_rejections_are_counted():
    soft = prong(50, 0.0, 0.0) + prong(30, 0.0, 0.3)  # no jet above 100 GeV
    single = prong(300, 0.0, 0.0)  # one prong: soft drop keeps it, C/A needs two
    good = prong(300, 0.0, 0.0) + prong(100, 0.0, 0.4)
    batch = jets.process(events(soft, single, good), SETTINGS)
    assert batch.cutflow["rejected_no_jet_above_pt_min"] == 1
    assert batch.cutflow["events"] == 3
    assert batch.cutflow["accepted"] + batch.cutflow["rejected_fewer_than_two_groomed_constituents"] == 2
    assert batch.passed[2] and not batch.passed[0]


def test_vertex_displacement_uses_x_and_y():
    event = prong(300, 0.0, 0.0) + prong(100, 0.0, 0.4)
    event[0] = particle(75, 0.0, 0.0, vx=0.0, vy=7.0, vz=-2.0)  # displaced in y only
    event[1] = particle(75, 0.0, 0.0, vx=3.0, vy=4.0, vz=1.0)  # |(x, y)| = 5 < 7
    batch = jets.process(events(event), SETTINGS)
    assert xaug(batch, "log_vtx_xy")[0] == pytest.approx(np.log(7.0 + jets.VERTEX_FLOOR_MM), rel=1e-6)
    assert xaug(batch, "log_vtx_z")[0] == pytest.approx(np.log(2.0 + jets.VERTEX_FLOOR_MM), rel=1e-6)


def test_vertex_cap_clips_distances_in_xaug_and_particle_list():
    event = prong(300, 0.0, 0.0) + prong(100, 0.0, 0.4)
    event[0] = particle(75, 0.0, 0.0, vx=0.0, vy=7.0, vz=-2.0)
    event[1] = particle(75, 0.0, 0.0, vx=3.0, vy=4.0, vz=1.0)
    capped = jets.process(events(event), jets.JetSettings.default(pt_min=100.0, vertex_cap_mm=1.5))
    floor = jets.VERTEX_FLOOR_MM
    assert xaug(capped, "log_vtx_xy")[0] == pytest.approx(np.log(1.5 + floor), rel=1e-6)
    assert xaug(capped, "log_vtx_z")[0] == pytest.approx(np.log(1.5 + floor), rel=1e-6)
    for name, expected in (("log_dxy", [1.5, 1.5]), ("log_dz", [1.5, 1.0])):  # |z| = 1 stays below the cap
        column = capped.particles[0, : capped.mask[0].sum(), PARTICLE_FEATURES.index(name)]
        displaced = np.sort(np.exp(column) - floor)[::-1][:3]
        np.testing.assert_allclose(displaced, [*expected, 0.0], atol=1e-6)
    # Only the displacement variables change.
    free = jets.process(events(event), SETTINGS)
    others = [i for i, n in enumerate(jets.XAUG_NAMES) if n not in ("log_vtx_xy", "log_vtx_z")]
    np.testing.assert_array_equal(capped.xaug[:, others], free.xaug[:, others])
    assert xaug(free, "log_vtx_xy")[0] == pytest.approx(np.log(7.0 + floor), rel=1e-6)


def test_reference_beta3_formulas_with_hand_chosen_tau():
    # beta3 = ln(τ1(0.5)² √τ2(1) / τ2(2)); beta3_sd = ln(τ2(2) / τ1(0.5) / τ2(1)).
    tau1_b05, tau2_b1, tau2_b2 = np.array([0.5, 0.2]), np.array([0.04, 0.09]), np.array([0.01, 0.003])
    np.testing.assert_allclose(
        jets.beta3(tau1_b05, tau2_b1, tau2_b2), [np.log(0.25 * 0.2 / 0.01), np.log(0.04 * 0.3 / 0.003)], rtol=1e-12
    )
    np.testing.assert_allclose(
        jets.beta3_sd(tau1_b05, tau2_b1, tau2_b2), [np.log(0.01 / 0.5 / 0.04), np.log(0.003 / 0.2 / 0.09)], rtol=1e-12
    )
    assert jets.beta3(np.array([0.5]), np.array([0.04]), np.array([0.01]))[0] == pytest.approx(np.log(5.0))
    assert jets.beta3_sd(np.array([0.5]), np.array([0.04]), np.array([0.01]))[0] == pytest.approx(np.log(0.5))
    # A vanishing τ (jets with <= N constituents) is floored at TAU_FLOOR: finite, documented values.
    zero = np.zeros(1)
    floor = jets.TAU_FLOOR
    assert jets.beta3(np.array([0.5]), zero, zero)[0] == pytest.approx(np.log(0.25 * np.sqrt(floor) / floor))
    assert jets.beta3_sd(np.array([0.5]), zero, zero)[0] == pytest.approx(np.log(1 / 0.5))
    assert np.isfinite(jets.beta3(zero, zero, zero)).all() and np.isfinite(jets.beta3_sd(zero, zero, zero)).all()


def test_beta3_in_the_jet_stage_uses_the_reference_formulas():
    rng = np.random.default_rng(8)
    event = prong(300, 0.0, 0.0, n=1) + prong(150, 0.3, 0.2, n=1) + prong(100, -0.3, 0.2, n=1)
    event += [
        particle(pt, eta, phi)
        for pt, eta, phi in zip(*rng.normal([[8], [0], [0]], [[2], [0.2], [0.2]], (3, 30)), strict=True)
    ]
    batch = jets.process(events(event), SETTINGS)
    tau = {name: xaug(batch, name).astype(np.float64) for name in jets.XAUG_NAMES if name.startswith("tau")}
    assert min(tau["tau2_b2"][0], tau["tau2_b2_sd"][0]) > 1e-4  # no floor involved
    expected = np.log(tau["tau1_b0.5"] ** 2 * np.sqrt(tau["tau2_b1"]) / tau["tau2_b2"])
    expected_sd = np.log(tau["tau2_b2_sd"] / tau["tau1_b0.5_sd"] / tau["tau2_b1_sd"])
    np.testing.assert_allclose(xaug(batch, "beta3"), expected, rtol=1e-5)
    np.testing.assert_allclose(xaug(batch, "beta3_sd"), expected_sd, rtol=1e-5)


def test_jet_stage_outputs_equal_on_compiled_and_binding_routes():
    """Everything describe() derives (beta3, capped displacement, particle list) is the same on both routes."""
    particles = random_jets(40, seed=3)
    rng = np.random.default_rng(3)
    n = len(particles["px"])
    vertices = {name: rng.choice([0.0, 1.0], n) * rng.normal(0, 400.0, n) for name in ("vx", "vy", "vz")}
    particles = jets.EventParticles(particles.columns | vertices, particles.counts)
    settings = jets.JetSettings.default(pt_min=40.0, vertex_cap_mm=300.0)
    compiled = jets.process(particles, settings)  # the default backend: compiled where it builds
    binding = jets.process(particles, settings, backend="binding")
    assert compiled.cutflow == binding.cutflow and compiled.cutflow["accepted"] > 20
    np.testing.assert_allclose(compiled.xaug, binding.xaug, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(compiled.momentum, binding.momentum, rtol=1e-12)
    in_order = [np.sort(b.particles[b.mask][:, -2:], axis=0) for b in (compiled, binding)]  # log_dxy, log_dz
    np.testing.assert_allclose(*in_order, rtol=1e-6)
    assert xaug(compiled, "log_vtx_xy").max() == pytest.approx(np.log(300.0 + jets.VERTEX_FLOOR_MM), rel=1e-6)


def test_reject_counts_every_removed_jet():
    good = prong(300, 0.0, 0.0) + prong(100, 0.0, 0.4)
    soft = prong(50, 0.0, 0.0) + prong(30, 0.0, 0.3)
    batch = jets.process(events(good, soft, good, good), SETTINGS)
    assert batch.cutflow["accepted"] == 3 and batch.momentum.shape == (3, 4)
    np.testing.assert_allclose(batch.momentum[:, 0].sum() / 3, 300 + 100 * np.cos(0.4), rtol=1e-9)
    kept = batch.reject(np.array([True, False, True]), "rejected_test")
    assert list(kept.cutflow) == [*list(batch.cutflow)[:-1], "rejected_test", "accepted"]
    assert kept.cutflow["rejected_test"] == 1 and kept.cutflow["accepted"] == 2
    np.testing.assert_array_equal(kept.passed, [True, False, False, True])
    assert len(kept.xaug) == len(kept.image) == len(kept.particles) == len(kept.mask) == len(kept.momentum) == 2
    rejected = sum(v for k, v in kept.cutflow.items() if k.startswith("rejected"))
    assert kept.cutflow["events"] == rejected + kept.cutflow["accepted"]


def test_multiplicities():
    event = (
        prong(200, 0.0, 0.0, pid=211)
        + prong(100, 0.0, 0.4, pid=22, charge=0.0)
        + [particle(20, 0.1, 0.1, pid=11, charge=-1.0), particle(20, 0.1, 0.2, pid=2112, charge=0.0)]
    )
    batch = jets.process(events(event), SETTINGS)
    assert xaug(batch, "n_charged_hadrons")[0] == 4
    assert xaug(batch, "n_photons")[0] == 4
    assert xaug(batch, "n_electrons")[0] == 1
    assert xaug(batch, "n_neutral_hadrons")[0] == 1


def rotated(event, angle):
    """The event rotated by ``angle`` in the (η, φ) plane about (0, 0); pT unchanged."""
    out = []
    for p in event:
        pt = np.hypot(p["px"], p["py"])
        eta, phi = np.arcsinh(p["pz"] / pt), np.arctan2(p["py"], p["px"])
        c, s = np.cos(angle), np.sin(angle)
        out.append(particle(pt, c * eta - s * phi, s * eta + c * phi))
    return out


def test_image_invariant_under_eta_phi_rotation_and_keeps_pt_fraction():
    rng = np.random.default_rng(4)
    base = prong(250, 0.0, 0.0, n=1) + prong(120, 0.15, -0.25, n=1)
    base += [
        particle(pt, eta, phi)
        for pt, eta, phi in zip(rng.exponential(5, 40), rng.normal(0, 0.15, 40), rng.normal(0, 0.15, 40), strict=True)
    ]
    first = jets.process(events(base), SETTINGS)
    second = jets.process(events(rotated(base, 0.9)), SETTINGS)
    # Same pixels up to the tiny change of the jet's 4-vector sum under an (η, φ) rotation.
    np.testing.assert_allclose(first.image / first.image.sum(), second.image / second.image.sum(), atol=1e-3)
    assert np.array_equal(first.image > 0, second.image > 0)
    # Pixel sum = Σ pT_i / pT_jet over constituents inside the [-2, 2]² window (here all of them).
    total_pt = sum(np.hypot(p["px"], p["py"]) for p in base)
    assert first.image.sum() == pytest.approx(total_pt / xaug(first, "pt")[0], rel=1e-5)
    half = first.image.shape[-1] // 2
    assert first.image[0, :, half:].sum() >= first.image[0, :, :half].sum()


def test_particle_list_padding_and_mask():
    event = prong(300, 0.0, 0.0, n=2) + prong(100, 0.0, 0.4, n=2)
    batch = jets.process(events(event), SETTINGS)
    assert batch.mask[0].sum() == 4
    assert np.all(batch.particles[0, 4:] == 0)
    log_pt = batch.particles[0, :4, PARTICLE_FEATURES.index("log_pt")]
    np.testing.assert_allclose(np.sort(np.exp(log_pt))[::-1], [150, 150, 50, 50], rtol=1e-5)


def random_jets(n_jets: int, seed: int) -> jets.EventParticles:
    """Clouds of massive particles around random axes: generic input for cross-checks."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(2, 60, n_jets)
    event = np.repeat(np.arange(n_jets), counts)
    pt = rng.exponential(10.0, counts.sum()) + 0.1
    eta = rng.normal(0, 1.5, n_jets)[event] + rng.normal(0, 0.25, counts.sum())
    phi = rng.uniform(-np.pi, np.pi, n_jets)[event] + rng.normal(0, 0.25, counts.sum())
    mass = rng.choice([0.0, 0.13957, 0.49368], counts.sum())
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    energy = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    zeros = np.zeros_like(pt)
    columns = {"px": px, "py": py, "pz": pz, "E": energy, "id": zeros + 211, "charge": zeros + 1}
    return jets.EventParticles(columns | {"vx": zeros, "vy": zeros, "vz": zeros}, counts)


def test_nsubjettiness_equals_fastjet_contrib():
    """τ_N(β) with the WTA-kT axes found once per N equals fastjet-contrib's Nsubjettiness (WTA-kT axes,
    normalized measure), ungroomed and groomed; known limits hold."""
    import fastjet

    particles = random_jets(80, seed=11)
    sub = jets.substructure(particles, jets.JetSettings.default())
    two_prongs = np.bincount(particles.event_index[sub.groomed], minlength=len(particles)) >= 2
    assert two_prongs.sum() > 60
    tagged = jets.EventParticles(particles.columns | {"groomed": sub.groomed}, particles.counts)
    ungroomed = tagged.select_events(two_prongs)
    groomed = ungroomed.select_particles(ungroomed["groomed"])
    for variant, jet in enumerate((ungroomed, groomed)):
        ours = sub.tau[two_prongs, variant]  # (jets, β, N)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sequence = fastjet.ClusterSequence(jet.momenta(), fastjet.JetDefinition(fastjet.cambridge_algorithm, 0.8))
            for b, beta in enumerate(jets.NSUB_BETAS):
                contrib = sequence.njettiness(
                    measure_definition="NormalizedMeasure", axes_definition="WTA_KT_Axes", njets=[1, 2, 3], beta=beta
                )
                np.testing.assert_allclose(ours[:, b], ak.to_numpy(contrib), rtol=1e-12, atol=1e-15)
        assert np.all(ours[jet.counts <= 3, :, 2] == 0)  # N >= number of particles: every one is an axis
        assert np.all(np.diff(ours, axis=2) <= 1e-12)  # more axes never increase τ
        assert np.all((ours > 0)[jet.counts > 3])
    assert np.any(groomed.counts <= 3)  # the τ_N = 0 branch is exercised


def test_event_particles_sorting_and_padding():
    columns = {name: np.zeros(5) for name in jets.PARTICLE_FIELDS}
    columns["px"] = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    particles = jets.EventParticles(columns, np.array([3, 0, 2]))
    ordered = particles.sorted_by_pt()
    np.testing.assert_array_equal(ordered["px"], [3.0, 2.0, 1.0, 5.0, 4.0])
    np.testing.assert_array_equal(ordered.padded(ordered["px"], 2, fill=-1), [[3, 2], [-1, -1], [5, 4]])
    assert len(particles.select_events(np.array([False, True, True]))["px"]) == 2


def test_batch_without_any_jet_gives_empty_arrays():
    soft = prong(50, 0.0, 0.0) + prong(30, 0.0, 0.3)
    batch = jets.process(events(soft, soft), SETTINGS)
    assert batch.cutflow == {
        "events": 2,
        "rejected_no_jet_above_pt_min": 2,
        "rejected_fewer_than_two_groomed_constituents": 0,
        "accepted": 0,
    }
    assert batch.xaug.shape == (0, len(jets.XAUG_NAMES))
    assert batch.image.shape == (0, SETTINGS.grid, SETTINGS.grid)
    assert batch.particles.shape == (0, SETTINGS.n_particles, len(PARTICLE_FEATURES))


def same_particles(first: jets.EventParticles, second: jets.EventParticles) -> None:
    """Same events with the same particles, in any order within an event."""
    np.testing.assert_array_equal(first.counts, second.counts)
    for name in jets.MOMENTUM_FIELDS:
        in_order = [p[name][np.lexsort((p[name], p.event_index))] for p in (first, second)]
        np.testing.assert_allclose(*in_order, rtol=1e-12)


def test_fastjet_backends_share_one_interface():
    """Both backends expose the same functions with the same signatures; fastjet_backend finds each by name."""
    assert jets.fastjet_backend("compiled") is native and jets.fastjet_backend("binding") is fastjet_binding
    assert jets.fastjet_backend() in (native, fastjet_binding)
    for name in ("leading_jets", "substructure"):
        assert inspect.signature(getattr(native, name)) == inspect.signature(getattr(fastjet_binding, name))
    with pytest.raises(ValueError, match="unknown FastJet backend"):
        jets.fastjet_backend("swig")


@pytest.mark.skipif(shutil.which("g++") is None, reason="no C++ compiler: the binding path is used")
def test_compiled_fastjet_equals_binding(tmp_path, monkeypatch):
    """Anti-kT and contrib SoftDrop from the compiled library and through the scikit-hep binding: same jets."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    native.load.cache_clear()
    try:
        assert native.load() is not None
        assert len(list((tmp_path / "xaugjets").glob("jet_kernels-*.so"))) == 1  # built from scratch here
        settings = jets.JetSettings.default(pt_min=40.0)
        events = random_jets(120, seed=5)  # one particle cloud per event; some stay below pt_min
        compiled = jets.leading_jets(events, settings, backend="compiled")
        binding = jets.leading_jets(events, settings, backend="binding")
        np.testing.assert_array_equal(compiled.has_jet, binding.has_jet)
        assert 0 < compiled.has_jet.sum() < len(events)
        same_particles(compiled.constituents, binding.constituents)

        first = jets.substructure(compiled.constituents, settings, backend="compiled")
        second = jets.substructure(compiled.constituents, settings, backend="binding")
        np.testing.assert_allclose(first.m_sd, second.m_sd, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(first.groomed, second.groomed)
        assert 0 < first.groomed.sum() < len(first.groomed)  # grooming removed something, not everything
        # FastJet lists the two subjets in clustering order, which depends on the input order: compare by pT.
        for sub in (first, second):
            swap = np.hypot(*sub.subjets[:, 1, :2].T) > np.hypot(*sub.subjets[:, 0, :2].T)
            sub.subjets[swap] = sub.subjets[swap][:, ::-1]
            relabel = swap[compiled.constituents.event_index] & (sub.subjet > 0)
            sub.subjet[relabel] = 3 - sub.subjet[relabel]
        np.testing.assert_allclose(first.subjets, second.subjets, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(first.subjet, second.subjet)
        assert set(np.unique(first.subjet)) == {0, 1, 2}
        np.testing.assert_allclose(first.tau, second.tau, rtol=1e-12, atol=1e-15)
    finally:
        native.load.cache_clear()
