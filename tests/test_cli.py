"""The ``energyopt`` command: outputs of a run, one-line reasons for bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import grid, load, scenario_doc, write_scenario
from typer.testing import CliRunner

from energyopt.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "example.yaml"
KPI_KEYS = {
    "total_cost_eur",
    "objective_eur",
    "co2_t",
    "grid_import_kwh",
    "peak_import_kw",
    "solve_status",
    "build_s",
    "solve_s",
}

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def _one_line_error(result) -> str:
    """The reason printed for bad input: exit code 2, a single stderr line, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return lines[0].removeprefix("error: ")


# --------------------------------------------------------------------------- success


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("example")
    result = _invoke("run", EXAMPLE, "--out", out)
    return result, out


def test_run_on_the_example_exits_0_and_writes_the_outputs(example_run):
    result, out = example_run
    assert result.exit_code == 0, result.output
    for name in ("dispatch.csv", "kpis.json", "dispatch.html"):
        assert (out / name).is_file(), name
        assert f"wrote{out / name}" in "".join(result.stdout.split())  # wrapped console


def test_kpis_json_has_the_promised_keys_and_consistent_costs(example_run):
    _, out = example_run
    kpis = json.loads((out / "kpis.json").read_text(encoding="utf-8"))
    assert set(kpis) >= KPI_KEYS
    assert kpis["solve_status"] == "optimal"
    assert kpis["total_cost_eur"] == pytest.approx(kpis["objective_eur"], rel=1e-9)
    assert kpis["build_s"] > 0
    assert kpis["solve_s"] > 0


def test_dispatch_csv_is_the_utc_table_of_the_week(example_run):
    _, out = example_run
    table = pd.read_csv(out / "dispatch.csv")
    assert len(table) == 7 * 96
    assert table["timestamp_utc"].iloc[0] == "2023-06-04T22:00:00Z"  # 00:00 in Paris
    assert {"grid.import_kw", "bess.level_kwh", "hthp.heat_kw"} <= set(table.columns)
    kpis = json.loads((out / "kpis.json").read_text(encoding="utf-8"))
    assert table["grid.import_kw"].sum() * 0.25 == pytest.approx(kpis["grid_import_kwh"])


def test_dispatch_html_is_a_plotly_page(example_run):
    """Both charts load the one plotly.js bundle written next to them (offline)."""
    _, out = example_run
    for name in ("dispatch.html", "sankey.html"):
        text = (out / name).read_text(encoding="utf-8")
        assert "<html" in text.lower()
        assert 'src="plotly.min.js"' in text
        assert len(text) < 2_000_000  # the 4.8 MB bundle is not embedded
    bundle = (out / "plotly.min.js").read_text(encoding="utf-8")
    assert "plotly.js" in bundle[:2000].lower()


def test_run_overrides_days_and_step(tmp_path):
    result = _invoke("run", EXAMPLE, "--days", "1", "--step", "1h", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "dispatch.csv")) == 24
    assert json.loads((tmp_path / "kpis.json").read_text())["step"] == "1h"


def test_validate_reports_the_grid():
    result = _invoke("validate", EXAMPLE)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # the console wraps at its width
    assert "12 assets, 672 steps of 15min from 2023-06-04 22:00Z" in text


# ------------------------------------------------------------------------- bad input


@pytest.fixture
def bad_key_file(tmp_path) -> Path:
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["plant"]["assets"][2]["capacity_kwhh"] = 5
    # keep the data files reachable from the copy
    shutil.copytree(EXAMPLE.parent / "data", tmp_path / "data")
    return write_scenario(tmp_path / "bad.yaml", document)


def test_run_with_an_unknown_key_exits_2_with_one_line(bad_key_file, tmp_path):
    result = _invoke("run", bad_key_file, "--out", tmp_path / "out")
    assert _one_line_error(result) == (
        f"{bad_key_file}: plant.assets[2].capacity_kwhh (asset 'bess'): unknown key"
    )
    assert not (tmp_path / "out").exists()


def test_validate_with_an_unknown_key_exits_2(bad_key_file):
    assert "capacity_kwhh (asset 'bess'): unknown key" in _one_line_error(
        _invoke("validate", bad_key_file)
    )


def test_csv_gap_names_file_and_time_stamp(tmp_path):
    path = write_scenario(tmp_path / "s.yaml", scenario_doc(tmp_path, [grid(), load(10.0)]))
    prices = tmp_path / "prices.csv"
    lines = prices.read_text(encoding="utf-8").splitlines()
    prices.write_text("\n".join(lines[:5] + lines[6:]) + "\n", encoding="utf-8")  # drop 04:00
    assert _one_line_error(_invoke("run", path, "--out", tmp_path / "o")) == (
        f"{prices}: gap after 2023-06-05T03:00Z: next row is 2023-06-05T05:00Z, "
        "expected 2023-06-05T04:00Z"
    )


def test_data_not_covering_the_period_names_both_ranges(tmp_path):
    path = write_scenario(tmp_path / "s.yaml", scenario_doc(tmp_path, [grid(), load(10.0)]))
    message = _one_line_error(_invoke("run", path, "--days", "2", "--out", tmp_path / "o"))
    assert message == (
        f"{tmp_path / 'prices.csv'}: price_eur_per_mwh: data covers 2023-06-05T00:00Z to "
        "2023-06-06T00:00Z but the model needs 2023-06-05T00:00Z to 2023-06-07T00:00Z"
    )


def test_infeasible_plant_exits_2_naming_carrier_and_time(tmp_path):
    docs = [grid(import_max_kw=50.0), load(80.0)]
    path = write_scenario(tmp_path / "s.yaml", scenario_doc(tmp_path, docs))
    assert _one_line_error(_invoke("run", path, "--out", tmp_path / "o")) == (
        "no feasible plan: plant: electricity balance short of supply: 720.0 kWh from "
        "2023-06-05 00:00 to 2023-06-06 00:00 UTC (up to 30.0 kW; penalty 720,000 EUR); "
        "conflicting (HiGHS IIS): plant: balance[electricity] at 2023-06-05 00:00 UTC; "
        "asset 'grid': bound of import_kw at 2023-06-05 00:00 UTC; "
        "asset 'grid': bound of export_kw at 2023-06-05 00:00 UTC"
    )


def test_soft_run_of_an_infeasible_plant_plans_and_lists_the_violation(tmp_path):
    """The same plant with --soft: 30 kW short for 24 h is a plan with one violation."""
    docs = [grid(import_max_kw=50.0), load(80.0)]
    path = write_scenario(tmp_path / "s.yaml", scenario_doc(tmp_path, docs))
    result = _invoke("run", path, "--soft", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    assert "missed: plant: electricity balance short of supply: 720.0 kWh" in result.stdout
    written = json.loads((tmp_path / "o" / "violations.json").read_text())
    (violation,) = written["violations"]
    assert (violation["asset"], violation["amount"], violation["unit"]) == ("plant", 720.0, "kWh")
    assert violation["penalty_eur"] == 720_000.0
    kpis = json.loads((tmp_path / "o" / "kpis.json").read_text())
    assert kpis["n_violations"] == 1
    assert kpis["cost_violation_eur"] == 720_000.0


def test_bad_step_option_exits_2(tmp_path):
    message = _one_line_error(_invoke("run", EXAMPLE, "--step", "7min", "--out", tmp_path))
    assert message == "step '7min' must be positive and divide a day (e.g. 15min or 1h)"


def test_missing_scenario_file(tmp_path):
    message = _one_line_error(_invoke("run", tmp_path / "none.yaml", "--out", tmp_path))
    assert message.startswith(f"{tmp_path / 'none.yaml'}: cannot read file")


def test_installed_command_prints_one_line_without_traceback(bad_key_file, tmp_path):
    """The real console script, as a user runs it."""
    command = Path(sys.executable).with_name("energyopt")
    done = subprocess.run(
        [str(command), "run", str(bad_key_file), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: {bad_key_file}: plant.assets[2].capacity_kwhh (asset 'bess'): unknown key"
    ]
