"""FastJet and fastjet-contrib called directly from a small C++ library, compiled on first use.

Why: through the scikit-hep binding, the FastJet steps of the jet stage cost ~1.1 ms per QCD jet against
~0.6 ms from C++.  Anti-kT costs about the same either way; soft drop, subjets and the WTA-kT axes take
0.55 ms through the binding (its soft drop is superlinear in the number of constituents, and every call
copies the batch into new awkward arrays) against 0.09 ms compiled.  ``jet_kernels.cc``
is compiled once per machine with ``$CXX`` (default ``g++``) against the headers and libraries shipped in
the ``fastjet`` wheel (the same shared libraries the binding loads) into ``$XDG_CACHE_HOME/xaugjets``,
atomically, so concurrent jobs are safe.

This is the compiled FastJet backend: :func:`leading_jets` and :func:`substructure` have the signatures of
:mod:`xaugjets.fastjet_binding`, the backend :func:`xaugjets.jets.fastjet_backend` uses where the library
cannot be built (no C++ compiler); both give the same jets (``tests/test_jets.py``).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

import fastjet
import numpy as np

from .jets import NSUB_BETAS, EventParticles, JetSettings, LeadingJets, Substructure

SOURCE = Path(__file__).with_name("jet_kernels.cc")
LIBRARIES = ("fastjetcontribfragile", "fastjettools", "fastjet")


def fastjet_prefix() -> tuple[Path, Path]:
    """Include and library directories of the installed fastjet package."""
    root = Path(fastjet.__file__).parent
    for include, lib in ((root / "include", root / "lib64"), (root / "include", root / "lib")):
        if (include / "fastjet" / "contrib" / "SoftDrop.hh").is_file() and (lib / "libfastjet.so").exists():
            return include, lib
    raise FileNotFoundError(f"no fastjet-contrib headers and libraries under {root}")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "xaugjets"


@cache
def load() -> ctypes.CDLL | None:
    """The compiled library (building it if needed), or None where it cannot be built here."""
    compiler = shutil.which(os.environ.get("CXX", "g++"))
    if compiler is None:
        return None
    try:
        include, lib = fastjet_prefix()
    except FileNotFoundError:
        return None
    key = hashlib.sha256(SOURCE.read_bytes() + str(lib).encode() + fastjet.__version__.encode()).hexdigest()[:16]
    target = cache_dir() / f"jet_kernels-{key}.so"
    try:
        if not target.exists():
            _build(compiler, include, lib, target)
        library = ctypes.CDLL(str(target))
    except (OSError, subprocess.CalledProcessError) as err:
        print(f"xaugjets: no compiled FastJet library ({err}); using the fastjet binding", file=sys.stderr)
        return None
    library.xaugjets_leading_jets.restype = ctypes.c_int
    library.xaugjets_substructure.restype = ctypes.c_int
    return library


def compile_command(compiler: str, source: Path, output: Path, include: Path, lib: Path, shared: bool) -> list[str]:
    """The compiler call that builds ``source`` against the fastjet wheel (library or executable)."""
    kind = ["-shared", "-fPIC"] if shared else []
    command = [compiler, "-O2", *kind, "-o", str(output), str(source), f"-I{include}", f"-L{lib}"]
    return command + [f"-l{name}" for name in LIBRARIES] + [f"-Wl,-rpath,{lib}"]


def _build(compiler: str, include: Path, lib: Path, target: Path) -> None:
    """Compile SOURCE into ``target``, atomically: a concurrent job never sees a half-written library."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        built = Path(scratch) / target.name
        command = compile_command(compiler, SOURCE, built, include, lib, shared=True)
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            print(result.stderr[-2000:], file=sys.stderr)
            raise subprocess.CalledProcessError(result.returncode, command[0])
        os.replace(built, target)


def _run_batch(
    function: str,
    momenta: np.ndarray,
    counts: np.ndarray,
    parameters: tuple[float, ...],
    outputs: tuple[np.ndarray, ...],
) -> None:
    """Call ``function(momenta, offsets, n_groups, *parameters, *outputs)`` of the compiled library.

    ``momenta`` rows are (px, py, pz, E), grouped into events or jets by ``counts``; ``outputs`` are
    zero-filled C-contiguous arrays that the function fills in.
    """
    library = load()
    if library is None:
        raise RuntimeError("no compiled FastJet library here (no C++ compiler?); use the binding backend")
    momenta = np.ascontiguousarray(momenta, dtype=np.float64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    status = getattr(library, function)(
        momenta.ctypes.data_as(ctypes.c_void_p),
        offsets.ctypes.data_as(ctypes.c_void_p),
        ctypes.c_int64(len(counts)),
        *(ctypes.c_double(value) for value in parameters),
        *(array.ctypes.data_as(ctypes.c_void_p) for array in outputs),
    )
    if status != 0:
        raise RuntimeError(f"FastJet failed in {function} of the compiled jet library")


def available() -> bool:
    """Whether the compiled library builds and loads here."""
    return load() is not None


def leading_jets(particles: EventParticles, settings: JetSettings) -> LeadingJets:
    """Cluster anti-kT jets per event and keep the constituents of the hardest jet above pt_min."""
    counts = particles.counts
    has_jet, in_jet = np.zeros(len(counts), dtype=np.uint8), np.zeros(int(counts.sum()), dtype=np.uint8)
    parameters = (settings.radius, settings.pt_min)
    _run_batch("xaugjets_leading_jets", particles.four_vectors(), counts, parameters, (has_jet, in_jet))
    has_jet = has_jet.astype(bool)
    # Events without a jet have no particle in_jet: one gather, regrouped into the events with a jet.
    index = np.flatnonzero(in_jet.astype(bool))
    jet_counts = np.bincount(particles.event_index[index], minlength=len(particles))[has_jet]
    return LeadingJets(has_jet, particles.take(index, jet_counts.astype(np.int64)))


def substructure(constituents: EventParticles, settings: JetSettings) -> Substructure:
    """mMDT / soft drop, the two subjets and N-subjettiness: ``xaugjets_substructure`` in jet_kernels.cc.

    The kernel takes exactly three N-subjettiness β (NSUB_BETAS).
    """
    if len(NSUB_BETAS) != 3:
        raise ValueError(f"the compiled kernel takes exactly three N-subjettiness β, got {NSUB_BETAS}")
    n_jets, n_particles = len(constituents), int(constituents.counts.sum())
    outputs = (
        np.zeros(n_jets),
        np.zeros((n_jets, 2, 4)),
        np.zeros((n_jets, 2, len(NSUB_BETAS), 3)),
        np.zeros(n_particles, dtype=np.uint8),
        np.zeros(n_particles, dtype=np.uint8),
    )
    parameters = (settings.radius, settings.zcut, settings.sd_beta, *NSUB_BETAS)
    _run_batch("xaugjets_substructure", constituents.four_vectors(), constituents.counts, parameters, outputs)
    m_sd, subjets, tau, groomed, subjet = outputs
    return Substructure(m_sd, subjets, tau, groomed.astype(bool), subjet)
