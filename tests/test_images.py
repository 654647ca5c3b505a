"""Image pre-processing: known pixels, invariance under rotations and translations, parity flip."""

from __future__ import annotations

import numpy as np

from xaugjets.images import align_to_subjets, parity_flip, pixelize


def test_pixelize_known_pixels():
    x = np.array([[0.01, -1.9, 5.0]])
    y = np.array([[0.01, -1.9, 0.0]])
    w = np.array([[0.5, 0.25, 0.25]])
    img, inside = pixelize(x, y, w, grid=4, half_width=2.0)
    assert img[0, 2, 2] == 0.5  # just above the origin: pixel [1, 2) in both axes
    assert img[0, 0, 0] == 0.25
    assert inside.tolist() == [[True, True, False]]
    assert img.sum() == 0.75


def two_prong_jet(rng, n=30):
    """Particles around two subjets at arbitrary position and orientation."""
    s1 = rng.uniform(-1, 1, 2)
    angle = rng.uniform(0, 2 * np.pi)
    s2 = s1 + 0.3 * np.array([np.cos(angle), np.sin(angle)])
    centres = np.where(rng.random(n)[:, None] < 0.6, s1, s2)
    pts = centres + rng.normal(0, 0.05, (n, 2))
    return pts, s1, s2, rng.exponential(1, n)


def test_alignment_puts_second_subjet_below():
    rng = np.random.default_rng(0)
    _, s1, s2, _ = two_prong_jet(rng)
    both = np.stack([s1, s2])
    x, y, r0 = align_to_subjets(both[None, :, 0], both[None, :, 1], s1[None], s2[None])
    np.testing.assert_allclose(x[0], [0, 0], atol=1e-12)
    np.testing.assert_allclose(y[0], [0, -1], atol=1e-12)
    assert r0[0] == np.hypot(*(s2 - s1))


def test_image_invariant_under_rotation_and_translation():
    rng = np.random.default_rng(1)
    pts, s1, s2, w = two_prong_jet(rng)
    phi = 1.234
    rot = np.array([[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]])
    shift = np.array([0.7, -0.4])
    moved = pts @ rot.T + shift
    m1, m2 = s1 @ rot.T + shift, s2 @ rot.T + shift
    images = []
    for p, a, b in ((pts, s1, s2), (moved, m1, m2)):
        x, y, _ = align_to_subjets(p[None, :, 0], p[None, :, 1], a[None], b[None])
        img, _ = pixelize(x, y, w[None] / w.sum(), 16, 2.0)
        images.append(parity_flip(img)[0])
    np.testing.assert_allclose(images[0], images[1], atol=1e-6)
    assert images[0].sum() > 0.5


def test_parity_flip_mirrors_only_when_left_is_brighter():
    img = np.zeros((2, 4, 4), dtype=np.float32)
    img[0, 1, 0] = 1.0  # left: gets mirrored
    img[1, 1, 3] = 1.0  # right: stays
    out, flipped = parity_flip(img)
    assert flipped.tolist() == [True, False]
    assert out[0, 1, 3] == 1.0 and out[1, 1, 3] == 1.0
