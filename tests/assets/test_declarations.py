"""Asset kinds declare what the product knows about them; no table elsewhere names them."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from energyopt.assets import ASSET_TYPES
from energyopt.assets.declarations import (
    column_setpoint,
    curtailment_limit_setpoint,
    difference_setpoint,
)
from energyopt.engine.pipeline import run_scenario
from energyopt.inputs.config import load_scenario
from tests.conftest import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
#: module-level names whose strings are process groups or cost categories, not kinds
NOT_KIND_NAMES = {"PROCESSES", "ENERGY_COST_PARTS", "COST_CATEGORIES"}


def _kind_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id in NOT_KIND_NAMES for t in node.targets
        ):
            skipped.update(id(n) for n in ast.walk(node.value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in ASSET_TYPES and id(node) not in skipped
    ]


def test_no_module_outside_the_assets_names_an_asset_kind():
    found = []
    for folder in ("energyopt", "api"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "assets" in path.relative_to(ROOT).parts:
                continue
            found += [
                f"{path.relative_to(ROOT)}:{line} {kind!r}" for line, kind in _kind_literals(path)
            ]
    assert found == []


def test_the_scan_finds_a_kind_table(tmp_path):
    """The guard above can fail: a module with a kind table is reported."""
    sample = tmp_path / "kind_table.py"
    sample.write_text('RULES = {"battery": 1}\nPROCESSES = ("dry_room",)\n', encoding="utf-8")
    assert _kind_literals(sample) == [(1, "battery")]


def test_setpoint_helpers_round_and_follow_the_control_convention():
    cols = {"charge_kw": [10.04, 0.0], "discharge_kw": [0.0, 5.26], "soc_frac": [0.12345, None]}
    power = difference_setpoint("discharge_kw", "charge_kw")
    assert [power(cols, i) for i in range(2)] == [-10.0, 5.3]
    soc = column_setpoint("soc_frac", 3)
    assert [soc(cols, i) for i in range(2)] == [0.123, None]
    limit = curtailment_limit_setpoint()
    pv = {"power_kw": [80.0, 100.0], "curtailed_kw": [20.0, 0.0]}
    assert [limit(pv, i) for i in range(2)] == [80.0, None]


@pytest.fixture(scope="module")
def gigafactory_day():
    scenario = load_scenario(SCENARIOS / "gigafactory.yaml")
    return run_scenario(scenario, start=dt.date(2023, 3, 6), days=1, step="1h")


def test_every_declared_setpoint_reads_columns_its_asset_writes(gigafactory_day):
    """A rule on a column the asset does not write would give no setpoint at all."""
    dispatch, plant = gigafactory_day.dispatch, gigafactory_day.plant
    checked = 0
    for name, asset in plant.assets.items():
        prefix = f"{name}."
        cols = {
            c.removeprefix(prefix): dispatch[c].tolist()
            for c in dispatch.columns
            if c.startswith(prefix)
        }
        for setpoint, rule in asset.setpoints.items():
            values = [rule(cols, i) for i in range(len(dispatch))]
            if setpoint != "power_limit_kw":  # a limit only where the plan curtails
                assert all(v is not None for v in values), (name, setpoint)
            checked += 1
    assert checked >= 15


def test_kinds_that_carry_state_hand_some_over(gigafactory_day):
    plant = gigafactory_day.plant
    for name, asset in plant.assets.items():
        if asset.carries_state:
            state = asset.final_state(plant.block(name), plant.ctx, 12)
            assert state, name


def test_baseline_ranks_order_the_converters():
    ranks = {kind: cls.baseline_rank for kind, cls in ASSET_TYPES.items()}
    assert ranks["heat_pump"] < ranks["gas_boiler"] < ranks["electric_boiler"]
    assert ranks["chiller"] == 0
