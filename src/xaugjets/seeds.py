"""Deterministic seeds derived from names, so every shard and job has its own recorded stream."""

from __future__ import annotations

import hashlib

PYTHIA_MAX_SEED = 900_000_000


def derive_seed(base: int, *labels: object, modulus: int = PYTHIA_MAX_SEED) -> int:
    """A seed in [1, modulus] fixed by ``base`` and ``labels``.

    Hashing (rather than ``base + shard``) keeps streams of different processes and shards unrelated
    and avoids collisions when the base seed changes by small amounts.
    """
    text = ":".join(str(x) for x in (base, *labels)).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little") % modulus + 1
