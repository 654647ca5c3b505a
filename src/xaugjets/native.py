"""FastJet and fastjet-contrib called directly from a small C++ library, compiled on first use.

Why: through the scikit-hep binding, anti-kT + mMDT cost ~1.3 ms per jet against ~0.5 ms from C++
(``benchmarks/fastjet_floor.py``): its soft drop alone is ten times contrib's own cost.  ``jet_kernels.cc``
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


def _fastjet_prefix() -> tuple[Path, Path]:
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
        include, lib = _fastjet_prefix()
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
    library.xaugjets_mmdt.restype = ctypes.c_int
    library.xaugjets_leading_jets.restype = ctypes.c_int
    return library


def _build(compiler: str, include: Path, lib: Path, target: Path) -> None:
    """Compile SOURCE into ``target``, atomically: a concurrent job never sees a half-written library."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        built = Path(scratch) / target.name
        command = [compiler, "-O2", "-shared", "-fPIC", "-o", str(built), str(SOURCE), f"-I{include}", f"-L{lib}"]
        command += [f"-l{name}" for name in LIBRARIES] + [f"-Wl,-rpath,{lib}"]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            print(result.stderr[-2000:], file=sys.stderr)
            raise subprocess.CalledProcessError(result.returncode, command[0])
        os.replace(built, target)


def _pointer(array: np.ndarray, ctype: type) -> ctypes._Pointer:
    return array.ctypes.data_as(ctypes.POINTER(ctype))


def _offsets(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def leading_jets(
    momenta: np.ndarray, counts: np.ndarray, radius: float, pt_min: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """Hardest anti-kT jet above ``pt_min`` per event (rows of ``momenta`` = px, py, pz, E).

    Returns (per-event has-a-jet flag, per-particle in-that-jet mask), or None without the library.
    """
    library = load()
    if library is None:
        return None
    momenta = np.ascontiguousarray(momenta, dtype=np.float64)
    has_jet = np.zeros(len(counts), dtype=np.uint8)
    in_jet = np.zeros(len(momenta), dtype=np.uint8)
    status = library.xaugjets_leading_jets(
        _pointer(momenta, ctypes.c_double),
        _pointer(_offsets(counts), ctypes.c_int64),
        ctypes.c_int64(len(counts)),
        ctypes.c_double(radius),
        ctypes.c_double(pt_min),
        _pointer(has_jet, ctypes.c_uint8),
        _pointer(in_jet, ctypes.c_uint8),
    )
    if status != 0:
        raise RuntimeError("FastJet anti-kT clustering failed in the compiled jet library")
    return has_jet.astype(bool), in_jet.astype(bool)


def mmdt(
    momenta: np.ndarray, counts: np.ndarray, radius: float, zcut: float, beta: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """Soft drop on each jet (rows of ``momenta`` = px, py, pz, E, grouped by ``counts``).

    Returns (m_SD per jet, per-particle mask of the groomed constituents), or None without the library.
    """
    library = load()
    if library is None:
        return None
    momenta = np.ascontiguousarray(momenta, dtype=np.float64)
    m_sd = np.zeros(len(counts), dtype=np.float64)
    groomed = np.zeros(len(momenta), dtype=np.uint8)
    status = library.xaugjets_mmdt(
        _pointer(momenta, ctypes.c_double),
        _pointer(_offsets(counts), ctypes.c_int64),
        ctypes.c_int64(len(counts)),
        ctypes.c_double(radius),
        ctypes.c_double(zcut),
        ctypes.c_double(beta),
        _pointer(m_sd, ctypes.c_double),
        _pointer(groomed, ctypes.c_uint8),
    )
    if status != 0:
        raise RuntimeError("fastjet-contrib SoftDrop failed in the compiled jet library")
    return m_sd, groomed.astype(bool)
