"""The toy two-prong jet sample (docs/physics.md "Toy sample"), fully vectorized.

Coordinates are in units of the image width: the image covers [-0.5, 0.5]², the leading subjet sits at
the origin and the second subjet at (0, -θ).  The expert (XAUG) variables are the generator truth
z, θ, r1, r2; r1 and r2 have the same distribution in both classes, so they carry no information.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .images import parity_flip, pixelize
from .io import JetArrays

PARTICLES_PER_SUBJET = 10
XAUG_NAMES = ["z", "theta", "r1", "r2"]
PARTICLE_FEATURES = ["fraction", "x", "y", "subjet"]
IMAGE_HALF_WIDTH = 0.5


@dataclass(frozen=True)
class ToyShape:
    """Class-conditional distributions of θ and z for one overlap level."""

    sig_theta_sigma: float
    sig_z_sigma: float
    bkg_theta_mean: float
    bkg_z_mean: float


OVERLAP_LEVELS = {
    0: ToyShape(sig_theta_sigma=0.02, sig_z_sigma=0.02, bkg_theta_mean=0.02, bkg_z_mean=0.02),
    1: ToyShape(sig_theta_sigma=0.03, sig_z_sigma=0.09, bkg_theta_mean=0.03, bkg_z_mean=0.1),
    2: ToyShape(sig_theta_sigma=0.05, sig_z_sigma=0.12, bkg_theta_mean=0.05, bkg_z_mean=0.15),
}


def draw_theta_z(rng: np.random.Generator, n: int, signal: bool, overlap: int) -> tuple[np.ndarray, np.ndarray]:
    """Subjet separation θ and momentum share z, folded as in docs/physics.md "Toy sample".

    Values below the folding range (a many-σ tail of the Gaussians) are folded by the same modulus.
    """
    shape = OVERLAP_LEVELS[overlap]
    if signal:
        theta = rng.normal(0.2, shape.sig_theta_sigma, n)
        z = rng.normal(0.5, shape.sig_z_sigma, n)
    else:
        theta = rng.exponential(shape.bkg_theta_mean, n)
        z = rng.exponential(shape.bkg_z_mean, n)
    z = np.mod(z, 1.0)
    z = np.maximum(z, 1.0 - z)
    theta = np.mod(theta, 0.5)
    return theta, z


def generate(n_jets: int, signal: bool, seed: int, grid: int, overlap: int) -> JetArrays:
    """``n_jets`` toy jets of one class, as a :class:`JetArrays` ready for the dataset stage."""
    if overlap not in OVERLAP_LEVELS:
        raise ValueError(f"overlap must be one of {sorted(OVERLAP_LEVELS)}, got {overlap}")
    rng = np.random.default_rng(seed)
    theta, z = draw_theta_z(rng, n_jets, signal, overlap)
    radii = rng.uniform(0.25, 0.5, (n_jets, 2))

    # Momentum fractions: Exp(1) draws per subjet, normalized, sorted descending, times z or 1 - z.
    draws = rng.exponential(1.0, (n_jets, 2, PARTICLES_PER_SUBJET))
    fractions = -np.sort(-draws / draws.sum(axis=2, keepdims=True), axis=2)
    fractions *= np.stack([z, 1.0 - z], axis=1)[:, :, None]

    distance = np.mod(rng.exponential(0.5, (n_jets, 2, PARTICLES_PER_SUBJET)), radii[:, :, None])
    azimuth = rng.uniform(0.0, 2.0 * np.pi, (n_jets, 2, PARTICLES_PER_SUBJET))
    centre_y = np.stack([np.zeros(n_jets), -theta], axis=1)[:, :, None]
    x = distance * np.cos(azimuth)
    y = centre_y + distance * np.sin(azimuth)
    subjet = np.broadcast_to(np.array([0.0, 1.0])[None, :, None], x.shape)

    # Flatten the two subjets into one particle axis, ordered by momentum fraction.
    flat = [a.reshape(n_jets, -1) for a in (fractions, x, y, subjet)]
    order = np.argsort(-flat[0], axis=1, kind="stable")
    fractions, x, y, subjet = (np.take_along_axis(a, order, axis=1) for a in flat)

    images, inside = pixelize(x, y, fractions, grid, IMAGE_HALF_WIDTH)
    images, flipped = parity_flip(images)
    x = np.where(flipped[:, None], -x, x)

    particles = np.stack([fractions, x, y, subjet], axis=-1).astype(np.float32)
    xaug = np.stack([z, theta, radii[:, 0], radii[:, 1]], axis=1).astype(np.float32)
    n_outside = int((~inside).sum())
    return JetArrays(
        image=images,
        particles=particles,
        mask=np.ones(x.shape, dtype=bool),
        xaug=xaug,
        label=np.full(n_jets, int(signal), dtype=np.int8),
        weight=np.ones(n_jets, dtype=np.float32),
        xaug_names=list(XAUG_NAMES),
        particle_features=list(PARTICLE_FEATURES),
        cutflow={"generated": n_jets, "accepted": n_jets, "particles_outside_image": n_outside},
    )
