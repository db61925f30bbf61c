"""The bundled example solves and its balances close."""

from energyopt import load_scenario, run_scenario
from energyopt.results import balance_residuals


def test_example_solves_one_day_with_closed_balances(example_path):
    result = run_scenario(load_scenario(example_path), days=1)
    assert result.report.status == "optimal"
    assert balance_residuals(result.dispatch).abs().to_numpy().max() < 1e-6
