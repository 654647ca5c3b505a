"""FastJet and fastjet-contrib called directly from a small C++ library, compiled on first use.

Why: through the scikit-hep binding, the FastJet steps of the jet stage cost ~1.1 ms per QCD jet against
~0.6 ms from C++.  Anti-kT costs about the same either way; soft drop, subjets and the WTA-kT axes take
0.55 ms through the binding (its soft drop is superlinear in the number of constituents, and every call
copies the batch into new awkward arrays) against 0.09 ms compiled.  ``jet_kernels.cc``
is compiled once per machine with ``$CXX`` (default ``g++``) against the headers and libraries shipped in
the ``fastjet`` wheel (the same shared libraries the binding loads) into ``$XDG_CACHE_HOME/xaugjets``,
atomically, so concurrent jobs are safe.  Without a compiler the callers in :mod:`xaugjets.jets` use the
binding; both give the same jets (``tests/test_jets.py``).
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
) -> bool:
    """Call ``function(momenta, offsets, n_groups, *parameters, *outputs)``; False without the library.

    ``momenta`` rows are (px, py, pz, E), grouped into events or jets by ``counts``; ``outputs`` are
    zero-filled C-contiguous arrays that the function fills in.
    """
    library = load()
    if library is None:
        return False
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
    return True


def leading_jets(
    momenta: np.ndarray, counts: np.ndarray, radius: float, pt_min: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """Hardest anti-kT jet above ``pt_min`` per event: (has-a-jet flag per event, in-that-jet mask)."""
    has_jet, in_jet = np.zeros(len(counts), dtype=np.uint8), np.zeros(len(momenta), dtype=np.uint8)
    if not _run_batch("xaugjets_leading_jets", momenta, counts, (radius, pt_min), (has_jet, in_jet)):
        return None
    return has_jet.astype(bool), in_jet.astype(bool)


def substructure(
    momenta: np.ndarray, counts: np.ndarray, radius: float, zcut: float, beta: float, tau_betas: tuple[float, ...]
) -> tuple[np.ndarray, ...] | None:
    """Per jet, see ``xaugjets_substructure`` in jet_kernels.cc (three N-subjettiness β).

    Returns m_SD (jets,), the two subjets (jets, 2, 4), τ_N (jets, 2 [ungroomed, groomed], β, N = 1..3),
    the groomed-constituent mask and the subjet label (0, 1, 2) of each constituent.
    """
    if len(tau_betas) != 3:
        raise ValueError(f"the compiled kernel takes exactly three N-subjettiness β, got {tau_betas}")
    n_jets, n_particles = len(counts), len(momenta)
    outputs = (
        np.zeros(n_jets),
        np.zeros((n_jets, 2, 4)),
        np.zeros((n_jets, 2, len(tau_betas), 3)),
        np.zeros(n_particles, dtype=np.uint8),
        np.zeros(n_particles, dtype=np.uint8),
    )
    if not _run_batch("xaugjets_substructure", momenta, counts, (radius, zcut, beta, *tau_betas), outputs):
        return None
    m_sd, subjets, tau, groomed, subjet = outputs
    return m_sd, subjets, tau, groomed.astype(bool), subjet
