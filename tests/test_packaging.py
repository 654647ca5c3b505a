"""Packaging metadata and the conda environments: one version, the license, the citation, pinned envs.

Why: the pip route (requirements.txt) and the conda route (envs/, `--sdm conda`) must run the same
software, and the metadata files must not drift from the package.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml

import xaugjets

REPO = Path(__file__).resolve().parents[1]
ENVS = sorted((REPO / "envs").glob("*.yaml"))
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][A-Za-z0-9.+!-]*)$")
CONDA_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*) ?={1,2}([0-9][A-Za-z0-9.*_]*)$")


def normalize(name: str) -> str:
    """PEP 503 name, so that PyYAML == pyyaml and scikit_learn == scikit-learn."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    return normalize(re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0])


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def pins() -> dict[str, str]:
    """requirements.txt as {normalized name: version}; every line must be an exact pin."""
    out = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = PIN.match(line)
            assert match, f"requirements.txt: not an exact pin: {line!r}"
            out[normalize(match[1])] = match[2]
    return out


def test_one_version_source(pyproject):
    project = pyproject["project"]
    assert "version" not in project, "the version lives in src/xaugjets/__init__.py only"
    assert "version" in project["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "xaugjets.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", xaugjets.__version__)
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert str(citation["version"]) == xaugjets.__version__, "CITATION.cff version differs from __version__"
    try:
        installed = metadata.version("xaugjets")
    except metadata.PackageNotFoundError:
        return
    assert installed == xaugjets.__version__, "reinstall (pip install -e .): metadata and __version__ differ"


def test_license(pyproject):
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 the xaugjets authors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text
    assert pyproject["project"]["license"] == "MIT"
    assert pyproject["project"]["license-files"] == ["LICENSE"]


def test_citation():
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "version", "license"):
        assert cff.get(key), f"CITATION.cff: {key} missing"
    assert cff["license"] == "MIT"
    (paper,) = [ref for ref in cff["references"] if "2011.13466" in yaml.safe_dump(ref)]
    assert paper["doi"] == "10.1007/JHEP05(2021)208"
    assert paper["authors"][0]["family-names"] == "Agarwal"
    assert paper["journal"] == "Journal of High Energy Physics"
    assert str(paper["start"]) == "208" and paper["year"] == 2021


def test_dependencies(pyproject, pins):
    """Runtime deps are ranges with an exact pin in requirements.txt; test tools only in the test extra."""
    deps = pyproject["project"]["dependencies"]
    names = {requirement_name(d) for d in deps}
    assert {"tabulate", "scipy"} <= names
    for dep in deps:
        name = requirement_name(dep)
        if name == "torch":  # installed first by the Makefile (CPU wheel), not from requirements.txt
            assert re.search(r"torch==[0-9.]+", (REPO / "Makefile").read_text())
            continue
        assert name in pins, f"{dep}: no exact pin in requirements.txt"
    for dep in ("tabulate", "scipy"):
        (spec,) = [d for d in deps if requirement_name(d) == dep]
        assert ">=" in spec and "==" not in spec, f"{spec}: a range, not a pin"
    extras = pyproject["project"]["optional-dependencies"]
    test_names = {requirement_name(d) for d in extras["test"]}
    assert {"pytest", "ruff"} <= test_names
    assert not {"pytest", "ruff"} & names
    assert "dev" not in extras


def test_workflow_catalog_file():
    usage = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())["usage"]
    assert usage["software-stack-deployment"]["conda"] is True
    assert usage["report"] is True
    assert usage["mandatory-flags"]["desc"] and "flags" in usage["mandatory-flags"]


def test_package_docstring_names_real_modules():
    """The module map in xaugjets/__init__.py names every module, and only modules that exist."""
    named = set(re.findall(r"``([a-z_]+)``", xaugjets.__doc__ or ""))
    modules = {p.stem for p in (REPO / "src" / "xaugjets").glob("*.py") if not p.stem.startswith("__")}
    assert named - modules == set(), f"named but missing: {sorted(named - modules)}"
    assert modules - named == set(), f"not named in the docstring: {sorted(modules - named)}"


def load_env(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """An env file as ({conda name: version spec}, {pip name: version}), asserting the lint rules."""
    env = yaml.safe_load(path.read_text())
    assert isinstance(env, dict), f"{path.name}: not a YAML mapping"
    assert env["channels"][0] == "conda-forge", f"{path.name}: conda-forge must come first"
    assert set(env["channels"]) <= {"conda-forge", "nodefaults"}, f"{path.name}: channels {env['channels']}"
    conda, pip = {}, {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            assert list(dep) == ["pip"], f"{path.name}: unexpected entry {dep}"
            for spec in dep["pip"]:
                match = PIN.match(spec)
                assert match, f"{path.name}: pip package not pinned with ==: {spec!r}"
                pip[normalize(match[1])] = match[2]
        else:
            match = CONDA_PIN.match(str(dep))
            assert match, f"{path.name}: conda package not pinned: {dep!r}"
            conda[normalize(match[1])] = match[2]
    return conda, pip


@pytest.mark.parametrize("path", ENVS, ids=[p.name for p in ENVS])
def test_conda_env_is_pinned_and_matches_requirements(path, pins):
    conda, pip = load_env(path)
    assert "python" in conda
    if pip:
        assert "pip" in conda, f"{path.name}: pip packages need conda's pip"
    assert not set(conda) & set(pip), f"{path.name}: from both conda and pip: {set(conda) & set(pip)}"
    for name, version in pip.items():
        if name in pins:
            assert version == pins[name], f"{path.name}: {name}=={version}, requirements.txt has {pins[name]}"


def test_conda_envs_are_found():
    assert {p.name for p in ENVS} >= {"pythia.yaml", "xaugjets.yaml"}


def test_pythia_env_runs_the_pip_routes_pythia(pins):
    """Both routes generate with the same Pythia build: pythia8mc from PyPI, the version of requirements.txt."""
    conda, pip = load_env(REPO / "envs" / "pythia.yaml")
    assert "pythia8" not in conda, "conda-forge's pythia8 is a different build from the pip route's pythia8mc"
    assert pip.get("pythia8mc") == pins["pythia8mc"]
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert f"pythia8mc=={pins['pythia8mc']}" in pyproject["project"]["optional-dependencies"]["pythia"]


def test_rule_env_has_every_runtime_dependency(pyproject):
    _, pip = load_env(REPO / "envs" / "xaugjets.yaml")
    missing = {requirement_name(d) for d in pyproject["project"]["dependencies"]} - set(pip)
    assert not missing, f"envs/xaugjets.yaml lacks runtime dependencies: {sorted(missing)}"


@pytest.mark.slow
def test_installed_package_runs_a_workflow_copy_from_another_directory(tmp_path):
    """`pip install .` then `snakemake -n` elsewhere: the workflow (without src/) uses the installed package,
    whose wheel carries the config schema itself."""
    import shutil
    import subprocess
    import sys

    source, site = tmp_path / "source", tmp_path / "site"  # built from a copy: pip builds in the tree
    shutil.copytree(REPO / "src", source / "src")  # follows the schema link: the copy holds the file
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", site, source],
        check=True,
    )
    assert not (site / "xaugjets" / "config.schema.yaml").is_symlink()
    deployed = tmp_path / "deployed"
    deployed.mkdir()
    for part in ("Snakefile", "workflow", "config", "envs", "profiles"):
        copy = shutil.copytree if (REPO / part).is_dir() else shutil.copy
        copy(REPO / part, deployed / part)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "PYTHONPATH": str(site), "HOME": str(tmp_path)}
    args = ["-m", "snakemake", "-n", "--cores", "1", "--snakefile", deployed / "Snakefile"]
    proc = subprocess.run(
        [sys.executable, *args, "--configfile", deployed / "config" / "test.yaml", "--directory", elsewhere],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Job stats" in proc.stdout + proc.stderr
    imported = subprocess.run(
        [sys.executable, "-c", "import xaugjets; print(xaugjets.__file__)"], env=env, capture_output=True, text=True
    )
    assert imported.stdout.startswith(str(site)), imported.stdout
    # As `snakedeploy deploy-workflow` sets it up: a study folder whose Snakefile uses the workflow as a module
    # (there from github(...), here from the copy's path) with the study's own config.
    study = tmp_path / "study"
    (study / "config").mkdir(parents=True)
    (study / "workflow").mkdir()
    shutil.copy(REPO / "config" / "test.yaml", study / "config" / "config.yaml")
    (study / "workflow" / "Snakefile").write_text(
        'configfile: "config/config.yaml"\n\n\n'
        f'module xaugjets:\n    snakefile:\n        "{deployed / "Snakefile"}"\n    config:\n        config\n\n\n'
        "use rule * from xaugjets\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1"], cwd=study, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Job stats" in proc.stdout + proc.stderr


def test_no_deps_pins_are_installed_the_same_way_by_both_routes():
    """energyflow & co. (requirements-nodeps.txt) go in without dependencies in the Makefile and in the
    conda env's post-deploy script, at the same versions, and never through requirements.txt."""
    lines = (REPO / "requirements-nodeps.txt").read_text().splitlines()
    nodeps = {normalize(m[1]): m[2] for m in map(PIN.match, lines) if m}
    assert "energyflow" in nodeps
    script = (REPO / "envs" / "xaugjets.post-deploy.sh").read_text()
    installed = dict(re.findall(r"([A-Za-z0-9_.-]+)==([^\s]+)", script))
    assert "--no-deps" in script and {normalize(k): v for k, v in installed.items()} == nodeps
    assert "--no-deps -r requirements-nodeps.txt" in (REPO / "Makefile").read_text()
    pins = (REPO / "requirements.txt").read_text()
    assert not any(re.search(rf"^{name}==", pins, re.M | re.I) for name in nodeps)
