"""The package's layers are checked, not hoped for: import contracts and a light import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pyomo", "highspy", "pvlib", "scipy", "sqlalchemy", "fastapi", "uvicorn")


def test_the_import_contracts_hold():
    """``lint-imports`` with the contracts of pyproject.toml (also run by ``make lint``)."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stdout)
    return [m for m in HEAVY if m in modules]


def test_importing_the_package_and_its_errors_loads_no_model_stack():
    assert _loaded_after("import energyopt, energyopt.errors") == []
    assert _loaded_after("import energyopt.cli") == []


def test_the_model_stack_loads_on_first_use():
    assert "pyomo" in _loaded_after("import energyopt; energyopt.load_scenario")


def test_service_commands_name_the_missing_extra(monkeypatch):
    import importlib.util

    from typer.testing import CliRunner

    from energyopt.cli import app

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a)
    )
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: the service needs uvicorn: pip install 'energyopt[service]'"
    )
