"""Your own jets (xaugjets.readers, the user-jets stage and user_samples): known answers and the study on them.

Why: a user sample must give the same jets whatever the layout and momentum convention, drop padding
exactly, never invent PDG ids, charges or vertices (what needs them is left out and named), count every
rejected row, and run through the unchanged back end to relevance tables that say what was left out.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pandas as pd
import pytest
import uproot
import yaml
from workflow_helpers import snakemake

from xaugjets import jets, readers
from xaugjets.config import ConfigError, load_schema, validate_config
from xaugjets.io import read_h5, read_jets
from xaugjets.study import samples

SLOTS = 200  # constituents per jet in the top-tagging layout
ALL_FIELDS = {"id": "id", "charge": "charge", "vx": "vx", "vy": "vy", "vz": "vz", "label": "label"}


def options(coordinates: str = "cartesian", **fields: str | None) -> readers.ReaderOptions:
    names = {k: k for k in ("E", "px", "py", "pz", "pt", "eta", "phi")} | ALL_FIELDS | {"weight": None}
    return readers.ReaderOptions("table", None, coordinates, names | fields)


def settings() -> jets.JetSettings:
    return jets.JetSettings.default(require_z_match=False)


# --- writing the layouts (what a user brings) -------------------------------------------------------------


def write_toptagging(path: Path, particles: jets.EventParticles, labels: np.ndarray, form: str = "fixed") -> None:
    """The top-tagging reference layout: a pandas "fixed" frame under key "table" with columns E_i, PX_i,
    PY_i, PZ_i (pT-ordered, zero-padded to 200) and is_signal_new.  With PyTables, pandas writes it; without,
    h5py writes pandas' own fixed-format layout (what pandas.read_hdf reads): the public files' format."""
    ordered = particles.sorted_by_pt()
    names, columns = [], []
    for src, dst in (("E", "E"), ("px", "PX"), ("py", "PY"), ("pz", "PZ")):
        names += [f"{dst}_{i}" for i in range(SLOTS)]
        columns.append(ordered.padded(ordered[src], SLOTS).astype(np.float32))
    values = np.concatenate(columns, axis=1)
    if importlib.util.find_spec("tables") is not None:
        import pandas as pd

        frame = pd.DataFrame(values, columns=names)
        frame["is_signal_new"] = labels.astype(np.int64)
        frame.to_hdf(path, key="table", mode="w", format=form)
        return
    with h5py.File(path, "w") as f:
        group = f.create_group("table")
        group.attrs.update({"pandas_type": b"frame", "pandas_version": b"0.15.2", "ndim": 2, "nblocks": 2})
        group.create_dataset("axis0", data=np.array([*names, "is_signal_new"], dtype="S"))
        group.create_dataset("axis1", data=np.arange(len(labels), dtype=np.int64))
        group.create_dataset("block0_items", data=np.array(names, dtype="S"))
        group.create_dataset("block0_values", data=values).attrs["transposed"] = True
        group.create_dataset("block1_items", data=np.array(["is_signal_new"], dtype="S"))
        block1 = labels.astype(np.int64)[:, None]
        group.create_dataset("block1_values", data=block1).attrs["transposed"] = True


def jagged(particles: jets.EventParticles, values: np.ndarray) -> ak.Array:
    return ak.unflatten(values, particles.counts)


def awkward_jets(
    particles: jets.EventParticles, labels: np.ndarray, coordinates: str = "ptetaphi", optional=("id", "charge")
) -> ak.Array:
    """One record per jet: jagged constituent fields in ``coordinates`` and the ``optional`` columns, a label."""
    if coordinates == "ptetaphi":
        momenta = {
            "pt": particles.pt,
            "eta": np.arcsinh(particles["pz"] / particles.pt),
            "phi": np.arctan2(particles["py"], particles["px"]),
            "E": particles["E"],
        }
    else:
        momenta = {k: particles[k] for k in ("E", "px", "py", "pz")}
    fields = {k: jagged(particles, v) for k, v in momenta.items()}
    fields |= {k: jagged(particles, particles[k]) for k in optional}
    return ak.Array(fields | {"label": labels.astype(np.int64)})


def hand_jet() -> tuple[jets.EventParticles, np.ndarray]:
    """Two two-prong jets of a few particles each (pT ~ 300-500 GeV), with every column, labels 1 and 0."""
    pt = np.array([300.0, 120.0, 5.0, 250.0, 200.0, 30.0, 2.0])
    eta = np.array([0.1, 0.35, 0.2, -0.5, -0.2, -0.4, -0.35])
    phi = np.array([1.0, 1.25, 1.1, -2.0, -2.3, -2.1, -2.15])
    mass = np.array([0.14, 0.14, 0.0, 0.94, 0.14, 0.0, 0.0])
    pz = pt * np.sinh(eta)
    energy = np.sqrt(pt**2 + pz**2 + mass**2)
    columns = {
        "px": pt * np.cos(phi),
        "py": pt * np.sin(phi),
        "pz": pz,
        "E": energy,
        "id": np.array([211.0, -211, 22, 2112, 321, 22, 11]),
        "charge": np.array([1.0, -1, 0, 0, 1, 0, -1]),
        "vx": np.array([0.0, 0.1, 0, 0, 2.0, 0, 0]),
        "vy": np.zeros(7),
        "vz": np.array([0.0, 0.3, 0, 0, 1.0, 0, 0]),
    }
    return jets.EventParticles(columns, np.array([3, 4])), np.array([1, 0])


# --- unit tests with known answers ------------------------------------------------------------------------


def test_schema_layouts_are_the_registry():
    entry = load_schema()["properties"]["user_samples"]["additionalProperties"]["properties"]
    assert entry["layout"]["enum"] == list(readers.LAYOUTS)


def test_missing_columns_bookkeeping():
    """Without PDG id, charge and vertex: exactly the multiplicities, displacements and the particle-list
    type flags, charge and displacements are left out, each with why; with every column, nothing."""
    momentum_only = jets.not_computable(jets.MOMENTUM_FIELDS)
    multiplicities = ["n_charged_hadrons", "n_neutral_hadrons", "n_photons", "n_electrons", "n_muons"]
    assert [k for k in momentum_only if not k.startswith("particles:")] == [*multiplicities, "log_vtx_xy", "log_vtx_z"]
    assert momentum_only["n_charged_hadrons"] == "needs id (PDG id)"
    assert momentum_only["log_vtx_z"] == "needs vx, vy, vz (production vertex)"
    assert momentum_only["particles:charge"] == "needs charge (electric charge)"
    flags = ["is_electron", "is_muon", "is_photon", "is_charged_hadron", "is_neutral_hadron"]
    assert {k for k in momentum_only if k.startswith("particles:")} == {
        f"particles:{n}" for n in ["charge", *flags, "log_dxy", "log_dz"]
    }
    assert jets.not_computable(jets.PARTICLE_FIELDS) == {}
    xaug, features = jets.computable_names(jets.MOMENTUM_FIELDS)
    assert len(xaug) == 36 - 7 and "pull_angle" in xaug and "n_photons" not in xaug
    assert features == ["log_pt", "log_e", "log_pt_rel", "deta_rot", "dphi_rot", "dr_jet", "dr_subjet1", "dr_subjet2"]
    with_id = jets.not_computable((*jets.MOMENTUM_FIELDS, "id", "charge"))
    assert set(with_id) == {"log_vtx_xy", "log_vtx_z", "particles:log_dxy", "particles:log_dz"}


def test_describe_without_optional_columns_matches_the_full_jets():
    """The jet stage on momenta alone gives the full jets' values for everything it computes."""
    particles, _ = hand_jet()
    found = jets.LeadingJets(np.ones(2, dtype=bool), particles)
    full = jets.describe(found, settings())
    bare = jets.LeadingJets(
        found.has_jet, jets.EventParticles({k: particles[k] for k in jets.MOMENTUM_FIELDS}, particles.counts)
    )
    reduced = jets.describe(bare, settings())
    xaug, features = jets.computable_names(jets.MOMENTUM_FIELDS)
    assert reduced.xaug.shape == (2, len(xaug)) and reduced.particles.shape[2] == len(features)
    keep = [jets.XAUG_NAMES.index(n) for n in xaug]
    np.testing.assert_array_equal(reduced.xaug, full.xaug[:, keep])
    keep = [jets.PARTICLE_FEATURES.index(n) for n in features]
    np.testing.assert_array_equal(reduced.particles, full.particles[:, :, keep])
    np.testing.assert_array_equal(reduced.image, full.image)


def test_layouts_and_conventions_read_identically(tmp_path):
    """A hand-built jet written as (pt, eta, phi, E) and as (E, px, py, pz), in the top-tagging and the
    awkward layout, gives the same momenta; zero-energy padding is removed; optional columns are kept."""
    particles, labels = hand_jet()
    top = tmp_path / "top.h5"
    write_toptagging(top, particles, labels)
    cartesian, ptetaphi = tmp_path / "cartesian.h5", tmp_path / "ptetaphi.h5"
    readers.write_awkward_h5(
        cartesian, awkward_jets(particles, labels, "cartesian", ("id", "charge", "vx", "vy", "vz"))
    )
    readers.write_awkward_h5(ptetaphi, awkward_jets(particles, labels, "ptetaphi"), chunk_size=1)

    source = readers.LAYOUTS["toptagging"](top, options())
    assert source.rows == 2 and source.columns == ()
    chunk = source.read(0, 2)
    np.testing.assert_array_equal(chunk.particles.counts, [3, 4])  # 197 and 196 padding slots removed
    np.testing.assert_array_equal(chunk.label, labels)
    ordered = particles.sorted_by_pt()
    for k in jets.MOMENTUM_FIELDS:  # float32 on file
        np.testing.assert_allclose(chunk.particles[k], ordered[k].astype(np.float32), rtol=0, atol=0)
    a = readers.LAYOUTS["awkward"](cartesian, options("cartesian")).read(0, 2)
    b_source = readers.LAYOUTS["awkward"](ptetaphi, options("ptetaphi"))
    assert b_source.rows == 2 and b_source.columns == ("id", "charge")  # no vertex in that file
    b = b_source.read(0, 2)  # spans both one-row chunks of the file
    np.testing.assert_array_equal(a.particles.counts, [3, 4])
    for k in jets.MOMENTUM_FIELDS:
        np.testing.assert_array_equal(a.particles[k], particles[k])
        np.testing.assert_allclose(b.particles[k], particles[k], rtol=1e-12, atol=1e-9)
    for k in ("id", "charge", "vx", "vy", "vz"):
        np.testing.assert_array_equal(a.particles[k], particles[k])
    assert set(b.particles.columns) == {"px", "py", "pz", "E", "id", "charge"}
    assert readers.LAYOUTS["awkward"](ptetaphi, options("ptetaphi")).read(1, 2).particles.counts.tolist() == [4]


def test_pandas_table_format_reads_like_the_fixed_format(tmp_path):
    """Top-tagging files written by pandas in either HDF5 format (PyTables) give the same jets."""
    pytest.importorskip("tables")
    particles, labels = hand_jet()
    found = []
    for form in ("fixed", "table"):
        write_toptagging(tmp_path / f"{form}.h5", particles, labels, form)
        source = readers.LAYOUTS["toptagging"](tmp_path / f"{form}.h5", options())
        assert source.rows == 2 and source.info["format"] == f"pandas {form}"
        found.append(source.read(0, 2))
    np.testing.assert_array_equal(found[0].particles.counts, [3, 4])
    np.testing.assert_array_equal(found[1].particles.counts, [3, 4])
    for k in jets.MOMENTUM_FIELDS:
        np.testing.assert_array_equal(found[0].particles[k], found[1].particles[k])
    np.testing.assert_array_equal(found[0].label, found[1].label)


def test_root_tree_reads_like_the_awkward_buffers(tmp_path):
    """The same jagged jets in a ROOT TTree, in a ROOT RNTuple (both written by uproot) and in an HDF5 of
    awkward buffers read alike."""
    particles, labels = hand_jet()
    array = awkward_jets(particles, labels, "cartesian", ("id", "charge", "vx", "vy", "vz"))
    columns = {name: array[name] for name in array.fields}
    ttree, rntuple, buffers = tmp_path / "ttree.root", tmp_path / "rntuple.root", tmp_path / "jets.h5"
    with uproot.recreate(ttree) as file:
        file.mktree("jets", {name: ak.type(values).content for name, values in columns.items()})
        file["jets"].extend(columns)
    with uproot.recreate(rntuple) as file:
        file["jets"] = columns  # uproot >= 5.7 writes an RNTuple
    readers.write_awkward_h5(buffers, array)
    expected = readers.LAYOUTS["awkward"](buffers, options("cartesian")).read(0, 2)
    for path in (ttree, rntuple):
        source = readers.LAYOUTS["awkward"](path, options("cartesian"))
        assert source.rows == 2 and source.columns == ("id", "charge", "vx", "vy", "vz")
        found = source.read(0, 2)
        np.testing.assert_array_equal(found.particles.counts, expected.particles.counts)
        for k in expected.particles.columns:
            np.testing.assert_array_equal(found.particles[k], expected.particles[k])
        np.testing.assert_array_equal(found.label, expected.label)


def test_read_jets_counts_every_row(tmp_path):
    """Cutflow of a file: rows beyond max_jets, bad labels, empty jets, rejected and accepted add up."""
    particles, labels = hand_jet()
    array = awkward_jets(particles, labels, "cartesian")
    empty = ak.Array({k: [[]] for k in ("E", "px", "py", "pz", "id", "charge")} | {"label": [1]})
    bad = ak.Array({k: [list(array[0][k])] for k in ("E", "px", "py", "pz", "id", "charge")} | {"label": [7]})
    path = tmp_path / "jets.h5"
    readers.write_awkward_h5(path, ak.concatenate([array, empty, bad, array]))
    out = readers.read_jets(path, "awkward", options("cartesian"), settings(), max_jets=5, chunk_size=2)
    flow = out.cutflow
    assert flow["rows_read"] == 5 and flow["not_read_beyond_max_jets"] == 1
    assert flow[readers.REJECTED_LABEL] == 1 and flow["rejected_no_constituents"] == 1
    assert flow["jets"] == 4 and flow["accepted"] == len(out) == 3
    assert flow["jets"] == flow["rejected_no_constituents"] + flow["rejected_fewer_than_two_groomed_constituents"] + 3
    np.testing.assert_array_equal(out.label, [1, 0, 1])
    assert out.xaug_names == jets.computable_names((*jets.MOMENTUM_FIELDS, "id", "charge"))[0]
    assert set(out.provenance["not_computable"]) == {"log_vtx_xy", "log_vtx_z", "particles:log_dxy", "particles:log_dz"}
    shards = [readers.read_jets(path, "awkward", options("cartesian"), settings(), shard=i, shards=2) for i in (0, 1)]
    assert [s.cutflow["rows_read"] for s in shards] == [3, 3]
    np.testing.assert_array_equal(
        np.concatenate([s.xaug for s in shards]),
        readers.read_jets(path, "awkward", options("cartesian"), settings()).xaug,
    )


def test_events_are_clustered(tmp_path):
    """With events, a row's particles are clustered and the leading jet kept: two far-apart jets per event
    give the harder one; a soft event has no jet above pt_min and is counted."""
    particles, _ = hand_jet()
    both = jets.EventParticles({k: v.copy() for k, v in particles.columns.items()}, np.array([7]))
    soft = jets.EventParticles({k: v / 100 for k, v in particles.columns.items()}, np.array([7]))
    events = ak.concatenate(
        [awkward_jets(both, np.array([1]), "cartesian"), awkward_jets(soft, np.array([0]), "cartesian")]
    )
    path = tmp_path / "events.h5"
    readers.write_awkward_h5(path, events)
    out = readers.read_jets(path, "awkward", options("cartesian"), settings(), events=True)
    assert out.cutflow["events"] == 2 and out.cutflow["rejected_no_jet_above_pt_min"] == 1 and len(out) == 1
    pts = [np.hypot(particles["px"][jet].sum(), particles["py"][jet].sum()) for jet in (slice(0, 3), slice(3, 7))]
    assert out.xaug[0, out.xaug_names.index("pt")] == pytest.approx(max(pts), rel=1e-6)
    as_jet = readers.read_jets(path, "awkward", options("cartesian"), settings(), max_jets=1)  # all 7 as one jet
    mass = out.xaug_names.index("mass")
    assert as_jet.cutflow["jets"] == 1 and as_jet.xaug[0, mass] > 5 * out.xaug[0, mass]  # two jets apart


def test_bad_files_give_one_line_errors(tmp_path):
    broken = tmp_path / "broken.h5"
    broken.write_bytes(b"not hdf5 at all")
    for layout, path in (("toptagging", broken), ("awkward", broken), ("toptagging", tmp_path / "absent.h5")):
        with pytest.raises(readers.ReadError, match=str(path)):
            readers.read_jets(path, layout, options(), settings())
    out = tmp_path / "jets.h5"
    cmd = [sys.executable, "-m", "xaugjets", "user-jets", str(broken), "--layout", "toptagging", "--output", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 1 and not out.exists()
    assert proc.stderr.strip().count("\n") == 0 and str(broken) in proc.stderr, proc.stderr


def test_config_user_samples():
    base = {"models": ["xaug_dnn"], "user_samples": {"top": {"layout": "toptagging", "files": ["a.h5"]}}}
    config = validate_config({"samples": ["top", "toy"], **base})
    assert config["user_samples"]["top"]["key"] == "table" and config["user_samples"]["top"]["fields"]["E"] == "E"
    sample = samples(config)["top"]
    assert sample.kind == "user" and sample.windows == {}
    with pytest.raises(
        ConfigError, match=r"samples.1: 'tpo' is neither one of \['toy', 'pythia'\] nor in user_samples"
    ):
        validate_config({"samples": ["top", "tpo"], **base})
    with pytest.raises(ConfigError, match=r"user_samples\.top\.layout"):
        validate_config(
            {"samples": ["top"], "models": ["xaug_dnn"], "user_samples": {"top": {"layout": "csv", "files": ["a"]}}}
        )
    with pytest.raises(ConfigError, match=r"user_samples\.summary: the study already uses"):
        validate_config(
            {"samples": ["toy"], "models": ["xaug_dnn"], "user_samples": {"summary": base["user_samples"]["top"]}}
        )


# --- the study on your own jets ---------------------------------------------------------------------------


def pythia_jets(n_events: int) -> tuple[jets.EventParticles, np.ndarray]:
    """Constituents of the leading anti-kT jets of ``n_events`` Z→qq̄ (label 1) and QCD (label 0) events."""
    from xaugjets import generation

    parts, labels = [], []
    for process, label in (("zz", 1), ("qcd", 0)):
        pythia = generation.make_pythia(generation.GeneratorSettings.default(process=process, seed=3 + label))
        events, _ = generation.next_batch(pythia, n_events)
        found = jets.leading_jets(generation.visible_particles(pythia, events), settings())
        parts.append(found.constituents)
        labels.append(np.full(len(found.constituents), label))
    columns = {k: np.concatenate([p[k] for p in parts]) for k in jets.PARTICLE_FIELDS}
    return jets.EventParticles(columns, np.concatenate([p.counts for p in parts])), np.concatenate(labels)


@pytest.mark.slow
def test_study_on_user_jets(tmp_path):
    """Pythia jets written as a top-tagging HDF5 file and as awkward files (HDF5, parquet, ROOT) run through
    Snakemake to relevance tables naming what was left out, and to reduced sets."""
    particles, labels = pythia_jets(250)
    write_toptagging(tmp_path / "top.h5", particles, labels)
    signal, background = (particles.select_events(labels == c) for c in (1, 0))
    for name, part, c in (("signal", signal, 1), ("background", background, 0)):
        readers.write_awkward_h5(tmp_path / f"{name}.h5", awkward_jets(part, np.full(len(part), c)), chunk_size=100)
    user = {
        "mytop": {"layout": "toptagging", "files": ["top.h5"], "chunk_size": 150, "shards_per_file": 2},
        "myak": {
            "layout": "awkward",
            "files": {"signal": ["signal.h5"], "background": ["background.h5"]},
            "coordinates": "ptetaphi",
            "windows": {"m_sd": [10, 400]},
        },
    }
    ak.to_parquet(
        awkward_jets(particles, labels, "cartesian", ("id", "charge", "vx", "vy", "vz")), tmp_path / "all.parquet"
    )
    user["myparquet"] = {"layout": "awkward", "files": ["all.parquet"]}
    array = awkward_jets(particles, labels)
    with uproot.recreate(tmp_path / "jets.root") as f:
        f["jets"] = {k: array[k] for k in ak.fields(array)}
    user["myroot"] = {"layout": "awkward", "files": ["jets.root"], "coordinates": "ptetaphi", "tree": "jets"}
    config = {
        "samples": list(user),
        "user_samples": user,
        "models": ["xaug_dnn"],
        "training": {"seeds": [1], "max_epochs": 2, "patience": 1, "batch_size": 64, "threads": 1},
        "relevance": {"rules": ["epsilon"], "methods": ["gradient_x_input"], "max_events": 100, "bootstrap": 20,
                      "sanity_jets": 0},
        "reduced": {"ks": [1], "methods": ["epsilon"]},  # sample-agnostic: the top-1 networks on your jets too
    }  # fmt: skip
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake("--cores", "2", "--configfile", str(tmp_path / "config.yaml"), workdir=tmp_path)

    expected = {
        "mytop": jets.not_computable(jets.MOMENTUM_FIELDS),
        "myak": jets.not_computable((*jets.MOMENTUM_FIELDS, "id", "charge")),
        "myparquet": {},
        "myroot": jets.not_computable((*jets.MOMENTUM_FIELDS, "id", "charge")),
    }
    for name in user:
        results = tmp_path / "results" / name
        shards = sorted((results / "jets").glob("*.h5"))
        assert len(shards) == (2 if name == "mytop" else 1 + (name == "myak")), shards
        jet_files = [read_jets(p) for p in shards]
        flows = [j.cutflow for j in jet_files]
        assert sum(f["rows_read"] for f in flows) == len(labels)
        assert all(f["jets"] == f["accepted"] + f["rejected_no_constituents"]
                   + f["rejected_fewer_than_two_groomed_constituents"] for f in flows)  # fmt: skip
        _, attrs = read_h5(results / "dataset.h5", ())
        assert attrs.get("not_computable", {}) == expected[name]
        assert not set(expected[name]) & set(attrs["xaug_inputs"])
        for method in ("epsilon", "gradient_x_input"):
            table = results / "tables" / f"relevance_xaug_dnn_{method}.md"
            assert (results / "tables" / f"relevance_xaug_dnn_{method}.csv").exists()
            text = table.read_text()
            if expected[name]:
                assert "**not_computable**: " in text
                for variable, why in expected[name].items():
                    assert f"{variable}: {why}" in text
            else:
                assert "not_computable" not in text
        reduced = pd.read_csv(results / "tables" / "reduced.csv")  # ranked among what the sample has
        assert set(reduced["ranking"]) == {"all", "epsilon", "occlusion", "single_auc", "random"}
        assert set(reduced.loc[reduced["k"] == 1, "features"]) <= set(attrs["xaug_inputs"])
        assert "## Reduced expert sets" in (results / "answer.md").read_text()
    provenance = json.loads((tmp_path / "results" / "mytop" / "provenance.json").read_text())
    assert provenance["config"]["user_samples"]["mytop"]["layout"] == "toptagging"
