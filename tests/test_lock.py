"""Reproducible installs: requirements.lock pins every Python package with its hashes, agrees
with pyproject.toml, and is what this environment was installed from; every package the code
imports is declared. When pyproject.toml changes, `bash scripts/lock.sh` refreshes the lock."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
RELOCK = "refresh it with `bash scripts/lock.sh` and commit requirements.lock"
PINNED = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")
FROM_PYPROJECT = ("idi-riskmap (pyproject.toml)", "-r pyproject.toml build-system")


@dataclass
class Pin:
    name: str
    version: str
    marker: Marker | None
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)

    def applies(self) -> bool:
        return self.marker is None or self.marker.evaluate()


def read_lock() -> list[Pin]:
    pins: list[Pin] = []
    in_via = False
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        text = line.strip()
        found = PINNED.match(line)
        if found:
            name, pinned, marker = found.groups()
            pins.append(Pin(canonicalize_name(name), pinned, Marker(marker) if marker else None))
            in_via = False
        elif text.startswith("--hash=sha256:"):
            pins[-1].hashes.append(text.split(":", 1)[1].rstrip(" \\"))
        elif text.startswith("# via"):
            rest = text.removeprefix("# via").strip()
            pins[-1].via += [rest] if rest else []
            in_via = not rest
        elif in_via and text.startswith("#   "):
            pins[-1].via.append(text.removeprefix("#").strip())
    return pins


def declared() -> dict[str, list[Requirement]]:
    """pyproject's requirements: the service's, the tests' and the build backend's."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {"service": [Requirement(r) for r in project["project"]["dependencies"]],
            "test": [Requirement(r) for r in project["project"]["optional-dependencies"]["test"]],
            "build": [Requirement(r) for r in project["build-system"]["requires"]]}


@pytest.fixture(scope="module")
def lock() -> list[Pin]:
    return read_lock()


def test_every_requirement_of_pyproject_is_locked_at_a_version_it_allows(lock):
    by_name: dict[str, list[Pin]] = {}
    for pin in lock:
        by_name.setdefault(pin.name, []).append(pin)
    for requirement in [r for group in declared().values() for r in group]:
        pins = by_name.get(canonicalize_name(requirement.name))
        assert pins, f"{requirement} is not in requirements.lock: {RELOCK}"
        for pin in pins:
            assert requirement.specifier.contains(pin.version, prereleases=True), (
                f"requirements.lock has {pin.name}=={pin.version}, pyproject.toml asks "
                f"{requirement}: {RELOCK}")
        if requirement.marker is None or requirement.marker.evaluate():
            assert any(pin.applies() for pin in pins), f"no pin of {requirement} here"


def test_the_lock_holds_no_direct_dependency_that_pyproject_dropped(lock):
    wanted = {canonicalize_name(r.name) for group in declared().values() for r in group}
    direct = {pin.name for pin in lock if any(v in FROM_PYPROJECT for v in pin.via)}
    assert direct == wanted, f"lock and pyproject.toml disagree on {direct ^ wanted}: {RELOCK}"


def test_every_locked_package_has_hashes(lock):
    assert len(lock) > 80
    for pin in lock:
        assert pin.hashes and all(len(h) == 64 for h in pin.hashes), pin.name


def test_this_environment_was_installed_from_the_lock(lock):
    """Both README commands install through scripts/bootstrap.sh, from the lock alone."""
    for pin in lock:
        if pin.applies():
            try:
                installed = version(pin.name)
            except PackageNotFoundError:
                pytest.fail(f"{pin.name}=={pin.version} is locked but not installed")
            assert installed == pin.version, f"{pin.name}: installed {installed}, locked " \
                                             f"{pin.version}; rerun scripts/bootstrap.sh"
    script = (ROOT / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")
    assert "--require-hashes" in script and "-r requirements.lock" in script
    assert "pip install -q --no-deps --no-build-isolation -e ." in script


def _third_party_imports(folder: Path) -> dict[str, str]:
    """Top-level modules imported by the .py files under ``folder`` that are neither the
    standard library nor the project's own, with a file that imports each."""
    # the tests' and benchmarks' helper modules are the project's own too
    own = {p.stem for top in (folder, ROOT / "tests", ROOT / "bench") for p in top.rglob("*.py")}
    own |= {"geo", "loaders", "layers", "webmap", "conftest"}
    found: dict[str, str] = {}
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in own:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("folders, groups", [
    (("geo", "loaders", "layers", "webmap"), ("service",)),
    (("tests", "bench"), ("service", "test")),
], ids=["service", "tests"])
def test_every_imported_package_is_declared(folders, groups):
    names = {canonicalize_name(r.name) for g in groups for r in declared()[g]}
    distributions = packages_distributions()
    for folder in folders:
        for module, where in _third_party_imports(ROOT / folder).items():
            # a module not installed here (tomli before Python 3.11) goes by its own name
            owners = {canonicalize_name(d) for d in distributions.get(module, [module])}
            assert owners & names, f"{where} imports {module} ({', '.join(owners) or '?'}), " \
                                   f"which pyproject.toml does not declare"
