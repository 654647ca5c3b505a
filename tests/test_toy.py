"""The toy sample follows docs/physics.md "Toy sample": distributions, folding, conservation of momentum fractions."""

from __future__ import annotations

import numpy as np
import pytest

from xaugjets import toy


@pytest.fixture(scope="module")
def signal() -> toy.JetArrays:
    return toy.generate(4000, True, seed=3, grid=16, overlap=0)


@pytest.fixture(scope="module")
def background() -> toy.JetArrays:
    return toy.generate(4000, False, seed=4, grid=16, overlap=0)


def col(jets, name: str) -> np.ndarray:
    return jets.xaug[:, jets.xaug_names.index(name)]


def test_class_distributions(signal, background):
    assert col(signal, "theta").mean() == pytest.approx(0.2, abs=0.002)
    assert col(signal, "theta").std() == pytest.approx(0.02, abs=0.002)
    assert col(signal, "z").mean() == pytest.approx(0.5 + 0.02 * np.sqrt(2 / np.pi), abs=0.003)  # folded
    assert col(background, "theta").mean() == pytest.approx(0.02, abs=0.002)
    assert col(background, "z").mean() == pytest.approx(0.98, abs=0.002)  # max(z, 1 - z) of Exp(0.02)
    for jets in (signal, background):
        assert np.all((col(jets, "z") >= 0.5) & (col(jets, "z") <= 1.0))
        assert np.all((col(jets, "theta") >= 0) & (col(jets, "theta") < 0.5))
        assert np.all((col(jets, "r1") >= 0.25) & (col(jets, "r1") <= 0.5))


def test_overlap_widens_signal():
    narrow = col(toy.generate(3000, True, 9, grid=16, overlap=0), "z").std()
    wide = col(toy.generate(3000, True, 9, grid=16, overlap=2), "z").std()
    assert wide > 3 * narrow


def test_fractions_sum_to_one_and_image_keeps_inside_fraction(signal):
    fractions = signal.particles[..., signal.particle_features.index("fraction")]
    np.testing.assert_allclose(fractions.sum(axis=1), 1.0, rtol=1e-5)
    x = signal.particles[..., 1]
    y = signal.particles[..., 2]
    inside = (np.abs(x) < 0.5) & (np.abs(y) < 0.5)
    np.testing.assert_allclose(signal.image.sum(axis=(1, 2)), (fractions * inside).sum(axis=1), atol=1e-5)


def test_leading_subjet_fraction_is_z(signal):
    fractions = signal.particles[..., 0]
    lead = signal.particles[..., 3] == 0
    np.testing.assert_allclose((fractions * lead).sum(axis=1), col(signal, "z"), rtol=1e-5)


def test_parity_right_half_brighter(background):
    half = background.image.shape[-1] // 2
    assert np.all(background.image[..., half:].sum(axis=(1, 2)) >= background.image[..., :half].sum(axis=(1, 2)))


def test_same_seed_same_jets():
    a, b = toy.generate(50, True, 11, grid=16, overlap=0), toy.generate(50, True, 11, grid=16, overlap=0)
    np.testing.assert_array_equal(a.image, b.image)
    assert not np.array_equal(a.image, toy.generate(50, True, 12, grid=16, overlap=0).image)


def test_bad_overlap():
    with pytest.raises(ValueError, match="overlap"):
        toy.generate(10, True, 1, grid=16, overlap=5)
