"""An example of a network brought from outside the study: a particle-flow (deep-sets) tagger.

The default config trains it through ``user_models`` by its import path, ``xaugjets.examples:deep_sets``,
exactly as a user's own tagger would be (see the README, "Your own tagger").  It sees the particle list
only, treats the particles as a set (the same small network on each particle, then a sum), and so is
blind to the particle order that the 1D CNN relies on.

LRP applies to it without new rules: the per-particle network is 1×1 convolutions without bias, so a padded
slot (all features exactly 0) stays 0 and contributes nothing; the sum over particles is an average pool
(sum / slots; the constant goes into the next weights), which relevance passes through in proportion.
"""

from __future__ import annotations

import torch
from torch import nn


class DeepSets(nn.Module):
    """f(jet) = ρ(Σ_particles φ(particle)), with φ and ρ small ReLU networks."""

    def __init__(self, n_features: int, n_particles: int, width: int = 64) -> None:
        super().__init__()
        self.phi = nn.Sequential(
            nn.Conv1d(n_features, width, 1, bias=False),
            nn.ReLU(),
            nn.Conv1d(width, width, 1, bias=False),
            nn.ReLU(),
            nn.Conv1d(width, width, 1, bias=False),
            nn.ReLU(),
        )
        self.pool = nn.AvgPool1d(n_particles)  # the sum over particle slots, divided by their number
        self.rho = nn.Sequential(
            nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1)
        )

    def forward(self, particles: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(self.phi(particles))  # (jets, width, 1)
        return self.rho(pooled.reshape(len(pooled), -1))


def deep_sets(grid: int, n_particles: int, n_particle_features: int, n_xaug: int) -> nn.Module:
    """The factory the config names: input shapes in, an untrained network out (inputs: particles)."""
    return DeepSets(n_particle_features, n_particles)
