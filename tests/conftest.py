"""Shared fixtures: paths and a tiny scenario builder."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
#: the headless-Chromium fixture (tests/browser.py)
pytest_plugins = ("browser",)


@pytest.fixture
def example_path() -> Path:
    """The bundled example scenario."""
    return SCENARIOS / "example.yaml"
