"""``energyopt data fetch``: each source, replayed from a recorded answer, writes files the
scenario loader reads. No test touches the network: the library call (entsoe-py) or the
HTTP request (PVGIS through pvlib, Open-Meteo) is replaced by the recorded payload."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd
import pytest
import requests
import yaml
from typer.testing import CliRunner

from energyopt.cli import app
from energyopt.data_cli import data_app, zone_label
from energyopt.engine.pipeline import load_inputs, period_index
from energyopt.errors import DataError
from energyopt.inputs import fetch
from energyopt.inputs.config import load_scenario
from energyopt.inputs.timeseries import read_series_file

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "scenarios" / "data"
RECORDED = Path(__file__).resolve().parent / "data" / "recorded"
EXAMPLE = ROOT / "scenarios" / "example.yaml"

if not any(group.name == "data" for group in app.registered_groups):
    app.add_typer(data_app, name="data")
runner = CliRunner()


def _invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def _recorded(name: str):
    with gzip.open(RECORDED / name, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def _site_from_snippet(tmp_path: Path, snippet: Path, start: str = "2023-06-05") -> Path:
    """A scenario: the example plant at the snippet's site (its files, its coordinates)."""
    site = yaml.safe_load(snippet.read_text(encoding="utf-8"))["site"]
    document = {
        "extends": str(EXAMPLE),
        "name": "fetched",
        "site": site,
        "period": {"start": start, "days": 2, "step": "1h"},
    }
    path = snippet.parent / "fetched.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


class _Response:
    """What ``requests.get`` returns, for pvlib's PVGIS reader."""

    ok = True

    def __init__(self, payload):
        self._payload = payload

    def json(self):
        return self._payload


# ------------------------------------------------------------------------------ PVGIS


@pytest.fixture
def pvgis_replay(monkeypatch):
    """pvlib's request to PVGIS answered with the recorded TMY (50.811 N 3.310 E)."""
    calls = []

    def get(url, params=None, timeout=None):
        calls.append((url, params))
        return _Response(_recorded("pvgis_tmy_50.811_3.310.json.gz"))

    monkeypatch.setattr(requests, "get", get)
    return calls


def test_pvgis_fetch_writes_the_typical_year_the_bundled_file_holds(tmp_path, pvgis_replay):
    result = _invoke(
        "data", "fetch", "pvgis", "--latitude", 50.811, "--longitude", 3.31,
        "--name", "kortrijk", "--out", tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    url, params = pvgis_replay[0]
    assert url.endswith("/tmy")
    assert (params["lat"], params["lon"], params["outputformat"]) == (50.811, 3.31, "json")
    written = read_series_file(tmp_path / "weather_kortrijk_pvgis-tmy.csv")
    bundled = read_series_file(DATA / "weather_lille_pvgis-tmy.csv")
    # the bundled file was made from the same PVGIS answer: source year -> 2023, no shift
    pd.testing.assert_frame_equal(written[bundled.columns], bundled, check_freq=False)
    assert written["tmy_source_year"].loc["2023-01-15T12:00Z"] == 2015
    assert written["tmy_source_year"].loc["2023-07-15T12:00Z"] == 2011


def test_pvgis_snippet_makes_a_site_the_scenario_loader_runs(tmp_path, pvgis_replay):
    _invoke(
        "data", "fetch", "pvgis", "--latitude", 50.811, "--longitude", 3.31,
        "--name", "kortrijk", "--out", tmp_path,
    )  # fmt: skip
    snippet = tmp_path / "site-snippet.yaml"
    assert yaml.safe_load(snippet.read_text(encoding="utf-8"))["site"] == {
        "latitude": 50.811,
        "longitude": 3.31,
        "weather": {"file": "weather_kortrijk_pvgis-tmy.csv"},
    }
    assert "PVGIS" in snippet.read_text(encoding="utf-8").splitlines()[0]
    scenario = load_scenario(_site_from_snippet(tmp_path, snippet))
    inputs = load_inputs(scenario, period_index(scenario))
    assert len(inputs) == 48
    # 2023-06-05 00:00 CEST = 2023-06-04T22:00Z: the bundled file's value there
    lille = read_series_file(DATA / "weather_lille_pvgis-tmy.csv")
    assert inputs["temp_air_degc"].iloc[0] == lille["temp_air_C"].loc["2023-06-04T22:00Z"]


def test_a_fetched_file_is_the_cache_and_is_not_fetched_again(tmp_path, pvgis_replay):
    args = ("data", "fetch", "pvgis", "--latitude", 50.811, "--longitude", 3.31)
    _invoke(*args, "--name", "k", "--out", tmp_path)
    again = _invoke(*args, "--name", "k", "--out", tmp_path)
    assert again.exit_code == 0
    assert "cached" in again.stdout
    assert len(pvgis_replay) == 1
    _invoke(*args, "--name", "k", "--out", tmp_path, "--force")
    assert len(pvgis_replay) == 2


def test_pvgis_refuses_a_leap_year_as_the_nominal_year():
    with pytest.raises(DataError, match="2024 is a leap year"):
        fetch.pvgis_tmy(50.0, 3.0, year=2024)


def test_a_pvgis_error_answer_is_one_line_naming_the_request(tmp_path, monkeypatch):
    def refuse(url, params=None, timeout=None):
        raise requests.ConnectionError("no route to host")

    monkeypatch.setattr(requests, "get", refuse)
    result = _invoke(
        "data", "fetch", "pvgis", "--latitude", 50.0, "--longitude", 3.0,
        "--name", "x", "--out", tmp_path,
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: PVGIS typical year at 50.0, 3.0: ConnectionError: no route to host"
    ]
    assert not list(tmp_path.glob("*.csv"))


# ---------------------------------------------------------------------------- ENTSO-E


@pytest.fixture
def entsoe_replay(monkeypatch):
    """entsoe-py's day-ahead query answered with the 2023 FR prices as the library returns
    them: a float Series on the zone's local time, the end stamp included."""
    from entsoe import EntsoePandasClient

    recorded = read_series_file(DATA / "prices_FR_2023.csv")["price_eur_per_mwh"]
    calls = []

    def query(self, country_code, start, end, resolution=None):
        calls.append((self.api_key, country_code, start, end))
        local = recorded.tz_convert("Europe/Paris")
        return local[(local.index >= start) & (local.index <= end)]

    monkeypatch.setattr(EntsoePandasClient, "query_day_ahead_prices", query)
    monkeypatch.setenv(fetch.ENTSOE_TOKEN_VARIABLE, "token-123")
    return calls


def test_entsoe_fetch_writes_the_year_of_prices_in_utc(tmp_path, entsoe_replay):
    result = _invoke("data", "fetch", "entsoe", "--zone", "FR", "--year", 2023, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    token, zone, start, end = entsoe_replay[0]
    assert (token, zone) == ("token-123", "FR")
    assert (start, end) == (pd.Timestamp("2023-01-01T00:00Z"), pd.Timestamp("2024-01-01T00:00Z"))
    written = read_series_file(tmp_path / "prices_FR_2023.csv")
    bundled = read_series_file(DATA / "prices_FR_2023.csv")
    pd.testing.assert_frame_equal(written, bundled, check_freq=False)


def test_entsoe_snippet_names_the_price_series_and_the_site_loads(tmp_path, entsoe_replay):
    _invoke("data", "fetch", "entsoe", "--zone", "FR", "--out", tmp_path)
    snippet = tmp_path / "site-snippet.yaml"
    site = yaml.safe_load(snippet.read_text(encoding="utf-8"))["site"]
    assert site == {
        "series": {
            "price_eur_per_mwh": {"file": "prices_FR_2023.csv", "column": "price_eur_per_mwh"}
        }
    }
    scenario = load_scenario(_site_from_snippet(tmp_path, snippet))
    inputs = load_inputs(scenario, period_index(scenario))
    bundled = read_series_file(DATA / "prices_FR_2023.csv")["price_eur_per_mwh"]
    assert inputs["price_eur_per_mwh"].iloc[0] == bundled.loc["2023-06-04T22:00Z"]


def test_entsoe_needs_the_token_and_says_where(tmp_path, entsoe_replay, monkeypatch):
    monkeypatch.delenv(fetch.ENTSOE_TOKEN_VARIABLE)
    result = _invoke("data", "fetch", "entsoe", "--zone", "FR", "--out", tmp_path)
    assert result.exit_code == 2
    assert "ENTSOE_API_TOKEN" in result.stderr
    assert entsoe_replay == []


def test_quarter_hour_prices_become_hourly_means_and_hourly_ones_quarter_hours():
    """The day-ahead market trades 15-minute products since 1 October 2025."""
    stamps = pd.date_range("2025-09-30T22:00Z", periods=6, freq="15min")
    quarter = pd.Series([10.0, 20.0, 30.0, 40.0, 50.0, 70.0], index=stamps)
    grid = pd.date_range("2025-09-30T22:00Z", periods=1, freq="1h")
    assert fetch.regular_prices(quarter, grid, "x").tolist() == [25.0]
    hourly = pd.Series([80.0, 90.0], index=pd.date_range("2025-09-30T20:00Z", periods=2, freq="h"))
    fine = pd.date_range("2025-09-30T20:00Z", periods=8, freq="15min")
    assert fetch.regular_prices(hourly, fine, "x").tolist() == [80.0] * 4 + [90.0] * 4


def test_a_missing_price_hour_is_named_not_filled():
    stamps = pd.DatetimeIndex(["2023-01-01T00:00Z", "2023-01-01T01:00Z", "2023-01-01T03:00Z"])
    prices = pd.Series([1.0, 2.0, 3.0], index=stamps)
    grid = pd.date_range("2023-01-01T00:00Z", periods=4, freq="h")
    with pytest.raises(DataError, match=r"no price after 2023-01-01T01:00Z for more than an hour"):
        fetch.regular_prices(prices, grid, "ENTSO-E FR")


@pytest.mark.parametrize(("zone", "label"), [("SE_1", "SE1"), ("DE_LU", "DE-LU"), ("FR", "FR")])
def test_zone_codes_become_the_bundled_file_labels(zone, label):
    assert zone_label(zone) == label


# ------------------------------------------------------------------------- Open-Meteo


@pytest.fixture
def open_meteo_replay(monkeypatch):
    """The archive API answered with the recorded Frankfurt 2023 payload."""
    calls = []

    def urlopen(url, timeout=None):
        calls.append(url)
        body = json.dumps(_recorded("open-meteo_archive_frankfurt_2023.json.gz"))
        return io.BytesIO(body.encode("utf-8"))

    monkeypatch.setattr(fetch.urllib.request, "urlopen", urlopen)
    return calls


def test_open_meteo_fetch_writes_the_year_in_utc(tmp_path, open_meteo_replay):
    result = _invoke(
        "data", "fetch", "open-meteo", "--latitude", 50.09, "--longitude", 8.65,
        "--name", "frankfurt", "--year", 2023, "--out", tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    query = parse_qs(urlparse(open_meteo_replay[0]).query)
    assert query["timezone"] == ["GMT"]
    assert query["wind_speed_unit"] == ["ms"]
    assert (query["start_date"], query["end_date"]) == (["2023-01-01"], ["2024-01-01"])
    written = read_series_file(tmp_path / "weather_frankfurt_open-meteo-2023.csv")
    bundled = read_series_file(DATA / "weather_frankfurt_2023.csv")  # Open-Meteo, same point
    pd.testing.assert_frame_equal(written[bundled.columns], bundled, check_freq=False)


def test_open_meteo_snippet_makes_a_site_the_scenario_loader_runs(tmp_path, open_meteo_replay):
    _invoke(
        "data", "fetch", "open-meteo", "--latitude", 50.09, "--longitude", 8.65,
        "--name", "frankfurt", "--out", tmp_path,
    )  # fmt: skip
    scenario = load_scenario(_site_from_snippet(tmp_path, tmp_path / "site-snippet.yaml"))
    inputs = load_inputs(scenario, period_index(scenario))
    assert inputs["ghi_w_per_m2"].max() > 0  # irradiance derived from cloud cover
    assert inputs["temp_air_degc"].notna().all()


def test_open_meteo_radiation_moves_to_the_hour_it_is_the_mean_of():
    """Open-Meteo's radiation at HH:00 is the mean of the hour before."""
    answer = {
        "utc_offset_seconds": 0,
        "hourly": {
            "time": ["2023-06-05T10:00", "2023-06-05T11:00", "2023-06-05T12:00"],
            "temperature_2m": [20.0, 21.0, 22.0],
            "shortwave_radiation": [500.0, 600.0, 700.0],
            "surface_pressure": [1000.0, 1001.0, 1002.0],
        },
    }
    frame = fetch.open_meteo_frame(answer)
    assert frame["temp_air_C"].tolist() == [20.0, 21.0, 22.0]
    assert frame["ghi_W_m2"].tolist()[:2] == [600.0, 700.0]
    assert np.isnan(frame["ghi_W_m2"].iloc[2])
    assert frame["pressure_Pa"].tolist() == [100_000.0, 100_100.0, 100_200.0]
    assert frame.index[0] == pd.Timestamp("2023-06-05T10:00Z")


def test_open_meteo_answer_in_local_time_is_refused():
    with pytest.raises(DataError, match="not in GMT"):
        fetch.open_meteo_frame({"utc_offset_seconds": 3600, "hourly": {"time": []}})


def test_snippets_of_several_sources_add_up(tmp_path, open_meteo_replay, entsoe_replay):
    _invoke(
        "data", "fetch", "open-meteo", "--latitude", 50.09, "--longitude", 8.65,
        "--name", "frankfurt", "--out", tmp_path,
    )  # fmt: skip
    _invoke("data", "fetch", "entsoe", "--zone", "FR", "--out", tmp_path)
    text = (tmp_path / "site-snippet.yaml").read_text(encoding="utf-8")
    site = yaml.safe_load(text)["site"]
    assert site["weather"] == {"file": "weather_frankfurt_open-meteo-2023.csv"}
    assert site["series"]["price_eur_per_mwh"]["file"] == "prices_FR_2023.csv"
    assert [line[:12] for line in text.splitlines()[:2]] == ["# weather: O", "# prices: EN"]


def test_a_file_the_loader_refuses_is_not_written(tmp_path):
    frame = pd.DataFrame(
        {"temp_air_C": [10.0, 99.0]},
        index=pd.date_range("2023-01-01", periods=2, freq="h", tz="UTC"),
    )
    with pytest.raises(
        DataError, match=r"w\.csv: column temp_air_C: value 99 at 2023-01-01T01:00Z"
    ):
        fetch.write_series_csv(frame, tmp_path / "w.csv")
    assert list(tmp_path.iterdir()) == []
