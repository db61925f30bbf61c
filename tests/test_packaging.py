"""Packaging: every import is declared, extras split, the Docker pins match pyproject."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
#: import name -> distribution name, where they differ
DISTRIBUTIONS = {
    "yaml": "pyyaml",
    "pydantic_settings": "pydantic-settings",
    "pydantic_core": "pydantic-core",
    "entsoe": "entsoe-py",
    "jinja2": "jinja2",
    "paho": "paho-mqtt",
}


def _declared(*extras: str) -> dict[str, Requirement]:
    requirements = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in extras:
        requirements += [Requirement(r) for r in PROJECT["optional-dependencies"][extra]]
    return {r.name.lower(): r for r in requirements if r.name != "energyopt"}


def _imported(folder: str) -> set[str]:
    names = set()
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("energyopt", "api")}


def test_every_third_party_import_is_declared():
    declared = _declared("service", "data", "study")
    for name in sorted(_imported("energyopt") | _imported("api")):
        assert DISTRIBUTIONS.get(name, name).lower() in declared, name


def test_test_only_packages_stay_in_the_test_extra():
    assert "httpx" not in _declared("service")
    assert "httpx" in _declared("test")


def test_the_docker_constraints_pin_every_dependency_within_its_range():
    text = (ROOT / "docker" / "constraints.txt").read_text(encoding="utf-8")
    assert "file:" not in text  # no machine-specific index in the lock
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", text, flags=re.M))
    pins = {name.lower(): version for name, version in pins.items()}
    for name, requirement in _declared("service").items():
        assert name in pins, name
        assert requirement.specifier.contains(pins[name]), (name, pins[name])


def test_mypy_checks_the_library_and_the_service_and_the_package_ships_its_types():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mypy = pyproject["tool"]["mypy"]
    checked = set(mypy.get("packages", [])) | set(mypy.get("files", []))
    assert {"energyopt", "api"} <= checked
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["energyopt"]
    assert (ROOT / "energyopt" / "py.typed").is_file()


def test_the_lowest_tested_pyomo_is_the_lower_bound_of_the_pyomo_range():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    found = re.findall(r"^PYOMO_MIN\s*:=\s*(\S+)\s*$", makefile, flags=re.M)
    assert len(found) == 1, found
    specifiers = list(_declared()["pyomo"].specifier)
    lower = [s.version for s in specifiers if s.operator == ">="]
    upper = [s.version for s in specifiers if s.operator in ("<", "<=")]
    assert lower == [found[0]], (lower, found[0])
    assert len(upper) == 1, specifiers
