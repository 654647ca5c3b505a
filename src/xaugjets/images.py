"""Jet images: alignment to the two-prong axis, pixelization and parity flip, all vectorized.

Convention: ``image[..., iy, ix]`` with iy growing with y (plot with ``origin="lower"``).
"""

from __future__ import annotations

import numpy as np


def pixelize(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, grid: int, half_width: float
) -> tuple[np.ndarray, np.ndarray]:
    """Histogram particles (N, P) into images (N, grid, grid) over [-half_width, half_width]².

    Returns the images and a boolean (N, P) array marking particles that fell inside the window,
    so callers can count what was outside.  Zero-weight entries (padding) add nothing.
    """
    n_jets = x.shape[0]
    scale = grid / (2.0 * half_width)
    ix = np.floor((x + half_width) * scale).astype(np.int64)
    iy = np.floor((y + half_width) * scale).astype(np.int64)
    inside = (ix >= 0) & (ix < grid) & (iy >= 0) & (iy < grid)
    flat = (np.arange(n_jets)[:, None] * grid + iy) * grid + ix
    counts = np.bincount(flat[inside], weights=weight[inside], minlength=n_jets * grid * grid)
    return counts.reshape(n_jets, grid, grid).astype(np.float32), inside


def parity_flip(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror x -> -x where the left half is brighter, so the right half always holds more intensity.

    Returns the flipped images and the per-jet flip flag (to mirror particle coordinates the same way).
    """
    half = images.shape[-1] // 2
    left = images[..., :half].sum(axis=(-2, -1))
    right = images[..., images.shape[-1] - half :].sum(axis=(-2, -1))
    flip = left > right
    out = images.copy()
    out[flip] = out[flip][..., ::-1]
    return out, flip


def align_to_subjets(
    deta: np.ndarray, dphi: np.ndarray, s1: np.ndarray, s2: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre on the leading subjet, rotate the second subjet to straight below, scale by their distance.

    ``deta``, ``dphi``: particle coordinates (N, P) relative to any common origin (e.g. the jet axis).
    ``s1``, ``s2``: subjet coordinates (N, 2) as (η, φ) in the same frame.
    Returns x, y (N, P) in units of the subjet separation r0 (second subjet at (0, -1)) and r0 (N,).
    """
    u = deta - s1[:, :1]
    v = dphi - s1[:, 1:2]
    axis = s2 - s1
    r0 = np.hypot(axis[:, 0], axis[:, 1])
    safe = np.where(r0 > 0, r0, 1.0)
    # Unit vector towards the second subjet; it must map onto (0, -1).
    cos_a, sin_a = axis[:, 0] / safe, axis[:, 1] / safe
    x = (u * (-sin_a[:, None]) + v * cos_a[:, None]) / safe[:, None]
    y = -(u * cos_a[:, None] + v * sin_a[:, None]) / safe[:, None]
    return x, y, r0
