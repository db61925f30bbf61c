"""Site studies: expansion and validation, both executors, resume, failures, the report.

The cases run the bundled pilot plant (``example.yaml`` at Lille and
``example-frankfurt.yaml``) over two days at hourly steps, copied with their
data into a temporary folder so a test can change an input file.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import get_args

import pandas as pd
import pytest
import yaml
from browser import browse

from energyopt.engine.forecast import FORECAST_KINDS
from energyopt.engine.rolling import MODES
from energyopt.errors import ScenarioError
from energyopt.outputs.study_plots import cost_breakdown
from energyopt.studies.cases import case_key, case_payload
from energyopt.studies.report import case_table, ranking, write_report
from energyopt.studies.runner import run_study
from energyopt.studies.spec import Forecast, Mode, load_study
from energyopt.studies.store import StudyStore
from tests.conftest import ROOT, SCENARIOS

DATA_FILES = (
    "weather_lille_pvgis-tmy.csv",
    "prices_FR_2023.csv",
    "co2_FR_2023.csv",
    "weather_frankfurt_2023.csv",
    "prices_DE-LU_2023.csv",
    "co2_DE_2023.csv",
)


def study_doc(**extra) -> dict:
    return {
        "name": "pilot-sites",
        "description": "the pilot plant at two sites",
        "sites": {"lille": "example.yaml", "frankfurt": "example-frankfurt.yaml"},
        "variants": {"as-is": {}, "co2-200": {"tariffs": {"co2_price_eur_per_t": 200}}},
        "period": {"start": "2023-06-05", "end": "2023-06-06"},
        "step": "1h",
        "modes": ["rolling", "baseline"],
        **extra,
    }


@pytest.fixture
def folder(tmp_path) -> Path:
    """The two site scenarios and their data in a folder of their own."""
    (tmp_path / "data").mkdir()
    for name in DATA_FILES:
        shutil.copy(SCENARIOS / "data" / name, tmp_path / "data" / name)
    for name in ("example.yaml", "example-frankfurt.yaml"):
        shutil.copy(SCENARIOS / name, tmp_path / name)
    return tmp_path


def write_study(folder: Path, **extra) -> Path:
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(study_doc(**extra), sort_keys=False), encoding="utf-8")
    return path


def kpis_by_case(study, store) -> dict[str, dict]:
    return {c.name: store.kpis(c) for c in study.cases}


# ------------------------------------------------------------------ study files


def test_two_sites_by_two_variants_expand_to_four_validated_cases(folder):
    study = load_study(write_study(folder))
    names = [c.name for c in study.cases]
    assert names == ["lille/as-is", "lille/co2-200", "frankfurt/as-is", "frankfurt/co2-200"]
    co2 = {c.name: c.scenario.tariffs.co2_price_eur_per_t for c in study.cases}
    assert co2["lille/co2-200"] == co2["frankfurt/co2-200"] == 200
    assert co2["lille/as-is"] == 80  # example.yaml's own
    for case in study.cases:
        assert case.scenario.solver.mip_rel_gap == 0.001  # the study's gap
        assert case.scenario.period.days == 2
        assert case.scenario.site.name in ("Lille", "Frankfurt am Main")


def test_study_modes_and_forecasts_are_the_engines():
    assert get_args(Mode) == MODES
    assert set(get_args(Forecast)) == set(FORECAST_KINDS)


def test_explicit_cases_with_their_own_modes(folder):
    cases = [{"site": "lille", "variant": "co2-200", "modes": ["perfect"]}, {"site": "frankfurt"}]
    study = load_study(write_study(folder, cases=cases))
    assert [(c.name, c.modes) for c in study.cases] == [
        ("lille/co2-200", ("perfect",)),
        ("frankfurt/as-is", ("rolling", "baseline")),
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"sties": {}}, "study.yaml: sties: unknown key (valid keys: name, description, sites"),
        (
            {"cases": [{"site": "paris"}]},
            "study.yaml: cases[0]: unknown site 'paris' (frankfurt, lille)",
        ),
        (
            {"variants": {"bad": {"plant": {"assets": [{"name": "bess", "capacity_kwh": -1}]}}}},
            "study.yaml: case lille/bad: plant.assets[2].capacity_kwh (asset 'bess'): "
            "must be > 0 (got -1)",
        ),
        (
            {"variants": {"bad": {"plant": {"assets": [{"name": "nope", "remove": True}]}}}},
            "study.yaml: case lille/bad: plant.assets: cannot remove asset 'nope'",
        ),
        ({"modes": ["fast"]}, "study.yaml: modes[0]: Input should be 'rolling', 'perfect'"),
        ({"period": {"start": "2023-06-05", "end": "2023-06-01"}}, "end 2023-06-01 is before"),
    ],
)
def test_study_errors_name_the_case_and_the_key(folder, extra, message):
    with pytest.raises(ScenarioError) as info:
        load_study(write_study(folder, **extra))
    text = str(info.value)
    assert message in text
    assert text.startswith(str(folder / "study.yaml"))


def test_a_null_override_clears_an_inherited_key(folder):
    variants = {"no-co2-series": {"plant": {"assets": [{"name": "grid", "co2_series": None}]}}}
    study = load_study(write_study(folder, variants=variants))
    grid = next(a for a in study.cases[0].scenario.plant.assets if a.name == "grid")
    assert grid.co2_series is None


def test_validate_command_lists_the_cases(folder):
    done = _energyopt("study", "validate", str(write_study(folder)), cwd=folder)
    assert done.returncode == 0, done.stderr
    for name in ("lille/as-is", "frankfurt/co2-200"):
        assert name in done.stdout


# ------------------------------------------------------------------ running


def test_both_executors_run_the_cases_and_give_identical_kpis(folder, tmp_path):
    study = load_study(write_study(folder))
    local = StudyStore(tmp_path / "local", study.name)
    dask = StudyStore(tmp_path / "dask", study.name)
    seen: list[tuple] = []
    first = run_study(study, local, workers=2, on_case=lambda *a: seen.append(a))
    second = run_study(study, dask, executor="dask", workers=2)
    assert sorted(first.computed) == sorted(second.computed) == sorted(c.name for c in study.cases)
    assert not first.failed
    assert not second.failed
    assert sorted(s[2] for s in seen) == [1, 2, 3, 4]
    assert {s[3] for s in seen} == {4}
    a, b = kpis_by_case(study, local), kpis_by_case(study, dask)
    for name in a:
        for mode in ("rolling", "baseline"):
            for key in ("total_cost_eur", "co2_t", "cost_energy_eur", "electricity_supplied_kwh"):
                assert a[name]["modes"][mode][key] == pytest.approx(b[name]["modes"][mode][key])
    # the CO2 price only adds cost: same site, dearer variant
    for site in ("lille", "frankfurt"):
        cheap, dear = (a[f"{site}/{v}"]["modes"]["rolling"] for v in ("as-is", "co2-200"))
        assert dear["total_cost_eur"] > cheap["total_cost_eur"]


def test_a_resumed_study_reuses_every_finished_case_and_a_changed_file_reruns_its_cases(
    folder, tmp_path
):
    study = load_study(write_study(folder))
    store = StudyStore(tmp_path / "results", study.name)
    assert len(run_study(study, store, workers=1).computed) == 4
    again = run_study(study, store, workers=1)
    assert again.computed == []
    assert sorted(again.reused) == sorted(c.name for c in study.cases)
    # one price in the German file: exactly the two Frankfurt cases run again
    prices = folder / "data" / "prices_DE-LU_2023.csv"
    frame = pd.read_csv(prices)
    frame.loc[3700, "price_eur_per_mwh"] += 1.0
    frame.to_csv(prices, index=False)
    changed = run_study(load_study(folder / "study.yaml"), store, workers=1)
    assert sorted(changed.computed) == ["frankfurt/as-is", "frankfurt/co2-200"]
    assert sorted(changed.reused) == ["lille/as-is", "lille/co2-200"]


def test_a_killed_study_resumes_without_recomputing_its_finished_case(folder, tmp_path):
    path = write_study(folder)
    results = tmp_path / "results"
    command = [*_command(), "study", "run", str(path), "--workers", "1", "--results", str(results)]
    process = subprocess.Popen(
        command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    marker = results / "pilot-sites" / "cases" / "lille" / "as-is" / "case.json"
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert marker.exists(), process.stderr.read().decode()[-2000:] if process.stderr else ""
    study = load_study(path)
    store = StudyStore(results, study.name)
    done_before = [c.name for c in study.cases if (store.record(c) or {}).get("status") == "done"]
    assert "lille/as-is" in done_before
    assert len(done_before) < 4
    resumed = run_study(study, store, workers=1)
    assert "lille/as-is" not in resumed.computed
    assert sorted(resumed.computed + resumed.reused) == sorted(c.name for c in study.cases)
    assert sorted(resumed.reused) == sorted(done_before)


def test_a_failing_case_is_reported_with_its_reason_and_the_others_finish(folder, tmp_path):
    prices = pd.read_csv(folder / "data" / "prices_FR_2023.csv")
    stamps = pd.to_datetime(prices.iloc[:, 0], utc=True)
    gap = (stamps >= "2023-06-05T10:00Z") & (stamps < "2023-06-05T14:00Z")
    prices[~gap].to_csv(folder / "data" / "prices_FR_gap.csv", index=False)
    site = {
        "extends": "example.yaml",
        "site": {"series": {"price_eur_per_mwh": {"file": "data/prices_FR_gap.csv"}}},
    }
    (folder / "lille-gap.yaml").write_text(yaml.safe_dump(site), encoding="utf-8")
    sites = {"lille": "example.yaml", "lille-gap": "lille-gap.yaml"}
    study = load_study(write_study(folder, sites=sites, variants={"as-is": {}}))
    store = StudyStore(tmp_path / "results", study.name)
    outcome = run_study(study, store, workers=2)
    assert list(outcome.failed) == ["lille-gap/as-is"]
    assert "prices_FR_gap.csv" in outcome.failed["lille-gap/as-is"]
    assert "\n" not in outcome.failed["lille-gap/as-is"]
    table = case_table(study, store)
    assert table.loc["lille/as-is", "status"] == "done"
    assert table.loc["lille-gap/as-is", "status"] == "failed"
    # a failed case runs again on resume; the finished one does not
    again = run_study(study, store, workers=1)
    assert again.computed == ["lille-gap/as-is"]
    assert again.reused == ["lille/as-is"]


def test_the_case_key_follows_every_input():
    study = load_study(SCENARIOS / "studies" / "six-sites.yaml")
    payload = case_payload(study.cases[0])
    key = case_key(payload)
    assert case_key(payload) == key
    assert case_key({**payload, "forecast": "persistence"}) != key
    assert case_key({**payload, "end": "2023-06-30"}) != key
    assert case_key({**payload, "name": "another/name"}) == key  # the name is not an input


# ------------------------------------------------------------------ report


def test_report_numbers_equal_the_stored_kpis_and_the_html_draws_every_chart(tmp_path, chromium):
    """The default cell plant at two sites in two variants, one day each."""
    document = {
        **study_doc(period={"start": "2023-06-05", "end": "2023-06-05"}),
        "sites": {
            "salzgitter": str(SCENARIOS / "sites" / "salzgitter-de.yaml"),
            "sines": str(SCENARIOS / "sites" / "sines-pt.yaml"),
        },
    }
    path = tmp_path / "cells.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    study = load_study(path)
    store = StudyStore(tmp_path / "results", study.name)
    assert not run_study(study, store, workers=2).failed
    table = case_table(study, store)
    per_year = 365.0
    for case in study.cases:
        stored = store.kpis(case)
        rolling = stored["modes"]["rolling"]
        row = table.loc[case.name]
        assert row["mode"] == "rolling"
        assert row["total_cost_eur"] == pytest.approx(rolling["total_cost_eur"] * per_year)
        assert row["co2_t"] == pytest.approx(rolling["co2_t"] * per_year)
        assert row["energy_kwh_per_kwh_cell"] == pytest.approx(rolling["energy_kwh_per_kwh_cell"])
        assert row["savings_vs_baseline_pct"] == pytest.approx(stored["savings_vs_baseline_pct"])
        baseline = stored["modes"]["baseline"]["total_cost_eur"]
        saving = (1 - rolling["total_cost_eur"] / baseline) * 100
        assert stored["savings_vs_baseline_pct"] == pytest.approx(saving)
    # the cost bars (revenue below zero) add up to each case's net total
    bars = [t for t in cost_breakdown(table).data if t.type == "bar"]
    for i, name in enumerate(table.index):
        stacked = sum(float(t.y[i]) for t in bars)
        assert stacked == pytest.approx(table.loc[name, "total_cost_eur"], rel=1e-9)
    rank = ranking(table, 0.001)
    costs = rank["total_cost_eur_per_kwh_cell"].to_numpy()
    assert list(rank["rank"]) == [1, 2, 3, 4]
    assert all(costs[:-1] <= costs[1:])
    # two cases 0.05 % apart are not told apart at a 0.1 % gap
    close = table.copy()
    close.loc["sines/co2-200", "total_cost_eur_per_kwh_cell"] = (
        close.loc["sines/as-is", "total_cost_eur_per_kwh_cell"] * 1.0005
    )
    marks = ranking(close, 0.001)["vs_above"]
    assert marks["sines/co2-200"] == "within gap (not significant)"

    path = write_report(study, store)
    html = path.read_text(encoding="utf-8")
    n_charts = 5 + len(study.cases)  # KPI bars, costs, processes, 2 duration curves, Sankeys
    assert html.count("Plotly.newPlot") == n_charts
    assert '<script src="http' not in html  # plotly.js is in the page, not fetched
    dom = browse(chromium, tmp_path / "profile", path.as_uri(), "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('class="main-svg"') >= n_charts  # every chart drew its SVG
    shown = f"{table.loc['sines/as-is', 'total_cost_eur'] / 1e6:,.2f}"
    assert shown in html


def test_report_and_compare_commands(folder, tmp_path):
    path = write_study(folder)
    results = tmp_path / "results"
    run = _energyopt("study", "run", str(path), "--workers", "1", "--results", str(results))
    assert run.returncode == 0, run.stderr
    assert "4 done, 0 failed, 0 reused" in run.stdout
    again = _energyopt("study", "run", str(path), "--results", str(results))
    assert "0 done, 0 failed, 4 reused" in again.stdout
    report = _energyopt("study", "report", str(path), "--results", str(results))
    assert report.returncode == 0, report.stderr
    assert (results / "pilot-sites" / "report.html").exists()
    cases = results / "pilot-sites" / "cases"
    compare = _energyopt(
        "compare", str(cases / "lille" / "as-is"), str(cases / "lille" / "co2-200")
    )
    assert compare.returncode == 0, compare.stderr
    assert "total_cost_eur" in compare.stdout


def _command() -> list[str]:
    return [sys.executable, "-m", "energyopt.cli"]


def _energyopt(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [*_command(), *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stop_request_cancels_the_queued_cases(folder, tmp_path, workers):
    """After the first finished case the study is asked to stop: cases not yet started
    are cancelled and stay pending; the ones that ran are stored."""
    study = load_study(write_study(folder))
    store = StudyStore(tmp_path / "results", study.name)
    finished: list[str] = []
    outcome = run_study(
        study,
        store,
        workers=workers,
        on_case=lambda name, *_: finished.append(name),
        should_stop=lambda: bool(finished),
    )
    assert outcome.cancelled
    assert sorted(outcome.computed + outcome.cancelled) == sorted(c.name for c in study.cases)
    assert len(outcome.computed) < 4
    table = case_table(study, store)
    for name in outcome.cancelled:
        assert table.loc[name, "status"] == "pending"
