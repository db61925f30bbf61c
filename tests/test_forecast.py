"""Forecast providers: what is known at issue time, and nothing more."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energyopt.engine.forecast import (
    ActualSource,
    DayAheadRule,
    FileForecast,
    ForecastOptions,
    ForecastSet,
    NoiseSpec,
    NoisyForecast,
    PerfectForecast,
    PersistenceForecast,
    build_forecasts,
    noise_spec_for,
)
from energyopt.errors import ForecastError, ScenarioError

BRUSSELS = "Europe/Brussels"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def local(text: str, tz: str = BRUSSELS) -> pd.Timestamp:
    return pd.Timestamp(text).tz_localize(tz).tz_convert("UTC")


def grid(start: str, periods: int, step: str = "1h") -> pd.DatetimeIndex:
    return pd.date_range(utc(start), periods=periods, freq=step, name="time")


def coded_actuals(start="2023-05-20T00:00", days=30, step="1h") -> ActualSource:
    """Values that say where they come from: day-of-year * 100 + hour (Brussels time)."""
    index = grid(start, days * int(pd.Timedelta("1D") / pd.Timedelta(step)), step)
    when = index.tz_convert(BRUSSELS)
    code = when.day_of_year * 100.0 + when.hour + when.minute / 60
    frame = pd.DataFrame(
        {"price_eur_per_mwh": code, "temp_air_degc": code, "ghi_w_per_m2": code}, index=index
    )
    return ActualSource(frame, {"price_eur_per_mwh": DayAheadRule()})


def code_of(stamps: pd.DatetimeIndex) -> np.ndarray:
    when = stamps.tz_convert(BRUSSELS)
    return np.asarray(when.day_of_year * 100.0 + when.hour + when.minute / 60)


class LookAhead(AssertionError):
    """An actual value was read before it was known."""


class TrapSource(ActualSource):
    """Actuals that raise when a value is read before it is known at ``now``."""

    def __init__(self, source: ActualSource) -> None:
        super().__init__(source.frame, source.day_ahead)
        self.now: pd.Timestamp | None = None
        self.reads = 0

    def read(self, quantity, stamps):
        self.reads += 1
        published = self.available_at(quantity, stamps)
        if (published > self.now).any():
            first = stamps[np.asarray(published > self.now)][0]
            raise LookAhead(f"{quantity} at {first} read at {self.now}")
        return super().read(quantity, stamps)


def day_ahead_window(issued_local: str, days: int = 2):
    """Issue time (Brussels local) and the window of the next ``days`` local days."""
    issued_at = local(issued_local)
    first = (pd.Timestamp(issued_local).normalize() + pd.Timedelta("1D")).tz_localize(BRUSSELS)
    index = pd.date_range(first.tz_convert("UTC"), periods=24 * days, freq="1h", name="time")
    return issued_at, index


# ---------------------------------------------------------------- publication rules


def test_day_ahead_prices_are_published_at_noon_brussels_the_day_before():
    rule = DayAheadRule()
    stamps = pd.DatetimeIndex([local("2023-06-06 00:00"), local("2023-06-06 23:00")])
    assert list(rule.published_at(stamps)) == [local("2023-06-05 12:00")] * 2


def test_day_ahead_publication_follows_local_days_across_dst():
    rule = DayAheadRule()
    # 2023-03-26 has 23 hours in Brussels: 00:00 local is 23:00Z the day before
    stamps = pd.DatetimeIndex(
        [utc("2023-03-25T23:00"), utc("2023-03-26T21:00"), utc("2023-03-26T22:00")]
    )
    published = rule.published_at(stamps)
    assert published[0] == utc("2023-03-25T11:00")  # 12:00 CET
    assert published[1] == utc("2023-03-25T11:00")
    assert published[2] == utc("2023-03-26T10:00")  # next delivery day, 12:00 CEST


def test_day_ahead_rule_rejects_a_bad_auction_time():
    with pytest.raises(ScenarioError, match="auction time"):
        DayAheadRule(auction_time_local="noon")


def test_measured_values_are_known_once_their_interval_ended():
    source = coded_actuals()
    stamps = grid("2023-06-01T09:00", 3)
    known = source.known("temp_air_degc", stamps, utc("2023-06-01T10:00"))
    assert known.tolist() == [True, False, False]


# ---------------------------------------------------------------- trap: no look-ahead


@pytest.mark.parametrize(
    "make",
    [
        lambda s: PersistenceForecast(s, lag="1D"),
        lambda s: PersistenceForecast(s, lag="7D"),
    ],
    ids=["persistence-1D", "persistence-7D"],
)
@pytest.mark.parametrize("issued", ["2023-06-05 11:00", "2023-06-05 12:30", "2023-06-06 00:15"])
def test_providers_never_read_an_actual_before_it_is_known(make, issued):
    trap = TrapSource(coded_actuals())
    provider = make(trap)
    issued_at, index = day_ahead_window(issued)
    trap.now = issued_at
    for quantity in ("temp_air_degc", "ghi_w_per_m2", "price_eur_per_mwh"):
        provider.get(quantity, index, issued_at)
    assert trap.reads > 0


def test_the_trap_catches_a_provider_that_looks_ahead():
    trap = TrapSource(coded_actuals())
    issued_at, index = day_ahead_window("2023-06-05 11:00")
    trap.now = issued_at
    with pytest.raises(LookAhead):
        PerfectForecast(trap).get("temp_air_degc", index, issued_at)


def test_file_forecasts_never_read_an_actual_before_it_is_known():
    trap = TrapSource(coded_actuals())
    issued_at, index = day_ahead_window("2023-06-05 11:00")
    table = pd.DataFrame(
        {
            "issued_at_utc": issued_at - pd.Timedelta("1h"),
            "timestamp_utc": index,
            "temp_air_degc": 15.0,
        }
    )
    trap.now = issued_at
    values = FileForecast(table, trap).get("temp_air_degc", index, issued_at)
    assert (values == 15.0).all()


def test_noisy_forecast_never_hands_out_an_actual_after_issue_time():
    source = coded_actuals()
    issued_at, index = day_ahead_window("2023-06-05 11:00")
    for quantity in ("temp_air_degc", "ghi_w_per_m2", "price_eur_per_mwh"):
        values = NoisyForecast(source, seed=1).get(quantity, index, issued_at).to_numpy()
        unknown = ~source.known(quantity, index, issued_at)
        assert unknown.all()
        assert np.all(values[unknown] != source.read(quantity, index[unknown]))


def test_noisy_forecast_hands_out_published_prices_unchanged():
    source = coded_actuals()
    issued_at, index = day_ahead_window("2023-06-05 12:30")
    values = NoisyForecast(source, seed=1).get("price_eur_per_mwh", index, issued_at)
    tomorrow = index.tz_convert(BRUSSELS).day == 6
    np.testing.assert_allclose(values[tomorrow], code_of(index[tomorrow]))
    assert np.all(values[~tomorrow] != code_of(index[~tomorrow]))


def test_forecast_set_rejects_a_provider_off_the_window_index():
    class Shifted:
        def get(self, quantity, index, issued_at):
            return pd.Series(0.0, index=index + pd.Timedelta("1h"))

    index = grid("2023-06-06T00:00", 24)
    with pytest.raises(ForecastError, match="not on the requested index"):
        ForecastSet(Shifted()).frame(["x_kw"], index, index[0])


# ---------------------------------------------------------------- day-ahead gate


def test_prices_for_tomorrow_are_forecasts_before_the_auction():
    source = coded_actuals()
    issued_at, index = day_ahead_window("2023-06-05 11:00")
    values = PersistenceForecast(source, lag="1D").get("price_eur_per_mwh", index, issued_at)
    # tomorrow and the day after both repeat today's published prices (day 156 = 5 June)
    expected = 156 * 100.0 + index.tz_convert(BRUSSELS).hour
    np.testing.assert_allclose(values.to_numpy(), expected)


def test_prices_for_tomorrow_are_actual_after_the_auction():
    source = coded_actuals()
    issued_at, index = day_ahead_window("2023-06-05 12:30")
    values = PersistenceForecast(source, lag="1D").get("price_eur_per_mwh", index, issued_at)
    tomorrow = index.tz_convert(BRUSSELS).day == 6
    np.testing.assert_allclose(values[tomorrow], code_of(index[tomorrow]))
    # the day after tomorrow is not published yet: it repeats tomorrow's prices
    np.testing.assert_allclose(values[~tomorrow], code_of(index[~tomorrow] - pd.Timedelta("1D")))


def test_a_later_auction_time_keeps_tomorrow_a_forecast_longer():
    frame = coded_actuals().frame
    late = ActualSource(frame, {"price_eur_per_mwh": DayAheadRule(auction_time_local="13:00")})
    issued_at, index = day_ahead_window("2023-06-05 12:30")
    values = PersistenceForecast(late).get("price_eur_per_mwh", index, issued_at)
    assert not np.any(values.to_numpy() == code_of(index))


# ---------------------------------------------------------------- persistence


def test_persistence_uses_the_latest_known_day_for_each_hour():
    source = coded_actuals()
    issued_at, index = day_ahead_window("2023-06-05 11:00", days=1)
    values = PersistenceForecast(source, lag="1D").get("temp_air_degc", index, issued_at)
    hours = index.tz_convert(BRUSSELS).hour
    # same hour on 5 June is known for hours that ended by 11:00, else 4 June
    expected_day = np.where(hours + 1 <= 11, 156, 155)
    np.testing.assert_allclose(values.to_numpy(), expected_day * 100.0 + hours)


def test_persistence_last_week():
    source = coded_actuals()
    issued_at, index = day_ahead_window("2023-06-05 11:00", days=1)
    values = PersistenceForecast(source, lag="7D").get("temp_air_degc", index, issued_at)
    np.testing.assert_allclose(values.to_numpy(), code_of(index - pd.Timedelta("7D")))


def test_persistence_without_history_names_quantity_and_time():
    source = coded_actuals(start="2023-06-05T00:00")
    issued_at, index = day_ahead_window("2023-06-05 11:00")
    with pytest.raises(ForecastError, match=r"persistence .*temp_air_degc.*inputs cover"):
        PersistenceForecast(source, lag="7D").get("temp_air_degc", index, issued_at)


def test_persistence_lag_must_be_a_multiple_of_the_step():
    with pytest.raises(ForecastError, match="lag"):
        PersistenceForecast(coded_actuals(), lag="90min")


# ---------------------------------------------------------------- noisy


def test_noisy_forecast_is_reproducible_per_seed():
    source = coded_actuals()
    issued_at, index = day_ahead_window("2023-06-05 11:00")
    first = NoisyForecast(source, seed=7).get("temp_air_degc", index, issued_at)
    again = NoisyForecast(source, seed=7).get("temp_air_degc", index, issued_at)
    other = NoisyForecast(source, seed=8).get("temp_air_degc", index, issued_at)
    pd.testing.assert_series_equal(first, again)
    assert not np.allclose(first, other)


def test_noisy_errors_grow_with_lead_time_as_specified():
    spec = NoiseSpec("absolute", sigma_24h=2.0, sigma_0=0.5, correlation_h=3.0)
    index = grid("2023-05-20T00:00", 24 * 40)
    source = ActualSource(pd.DataFrame({"x_degc": 10.0}, index=index))
    provider = NoisyForecast(source, seed=0, specs={"x_degc": spec})
    errors = []
    for day in range(1, 35):
        issued_at = index[0] + pd.Timedelta(days=day)
        window = pd.date_range(issued_at, periods=49, freq="1h")
        errors.append(provider.get("x_degc", window, issued_at).to_numpy() - 10.0)
    spread = np.std(np.array(errors), axis=0)
    # lead 0 h: only the interval in progress; lead 12 h and 48 h against sigma(L)
    for lead, expected in ((12, spec.sigma(np.array(12.0))), (48, spec.sigma(np.array(48.0)))):
        assert spread[lead] == pytest.approx(float(expected), rel=0.3)
    assert spread[48] > 2 * spread[12]


def test_noisy_relative_errors_keep_night_irradiance_at_zero():
    index = grid("2023-06-01T00:00", 24 * 4)
    ghi = np.where(index.hour % 24 < 12, 0.0, 500.0)
    source = ActualSource(pd.DataFrame({"ghi_w_per_m2": ghi}, index=index))
    issued_at = index[0]
    values = NoisyForecast(source, seed=2).get("ghi_w_per_m2", index[1:], issued_at).to_numpy()
    assert np.all(values[ghi[1:] == 0] == 0.0)
    assert np.all(values >= 0)


def test_irradiance_components_share_one_error_sequence():
    index = grid("2023-06-01T00:00", 48)
    frame = pd.DataFrame({"ghi_w_per_m2": 400.0, "dni_w_per_m2": 300.0}, index=index)
    provider = NoisyForecast(ActualSource(frame), seed=4)
    issued_at = index[0]
    ghi = provider.get("ghi_w_per_m2", index[1:], issued_at) / 400.0
    dni = provider.get("dni_w_per_m2", index[1:], issued_at) / 300.0
    np.testing.assert_allclose(ghi.to_numpy(), dni.to_numpy())


def test_noisy_unknown_quantity_needs_an_error_model():
    with pytest.raises(ForecastError, match="no error model for 'widgets'"):
        noise_spec_for("widgets")


def test_noise_scale_zero_gives_the_actuals():
    source = coded_actuals()
    issued_at, index = day_ahead_window("2023-06-05 11:00")
    values = NoisyForecast(source, seed=1, scale=0.0).get("temp_air_degc", index, issued_at)
    np.testing.assert_allclose(values.to_numpy(), code_of(index))


# ---------------------------------------------------------------- file


def issued_table(index: pd.DatetimeIndex, issues: dict[str, float]) -> pd.DataFrame:
    return pd.concat(
        pd.DataFrame({"issued_at_utc": utc(at), "timestamp_utc": index, "temp_air_degc": v})
        for at, v in issues.items()
    )


def test_file_forecast_latest_issue_at_or_before_issue_time_wins():
    source = coded_actuals()
    index = grid("2023-06-06T00:00", 24)
    table = issued_table(
        index, {"2023-06-05T06:00": 1.0, "2023-06-05T09:00": 2.0, "2023-06-05T10:00": 3.0}
    )
    provider = FileForecast(table, source)
    assert (provider.get("temp_air_degc", index, utc("2023-06-05T09:00")) == 2.0).all()
    assert (provider.get("temp_air_degc", index, utc("2023-06-05T09:59")) == 2.0).all()
    assert (provider.get("temp_air_degc", index, utc("2023-06-05T11:00")) == 3.0).all()


def test_file_forecast_holds_hourly_values_on_a_15_minute_grid():
    source = coded_actuals(step="15min")
    hourly = grid("2023-06-06T00:00", 24)
    values = np.arange(24.0)
    table = pd.DataFrame(
        {"issued_at_utc": utc("2023-06-05T09:00"), "timestamp_utc": hourly, "temp_air_degc": values}
    )
    quarter = grid("2023-06-06T00:00", 96, "15min")
    got = FileForecast(table, source).get("temp_air_degc", quarter, utc("2023-06-05T10:00"))
    np.testing.assert_allclose(got.to_numpy(), np.repeat(values, 4))


def test_file_forecast_gap_names_quantity_and_time():
    source = coded_actuals()
    index = grid("2023-06-06T00:00", 24)
    table = issued_table(index[:12], {"2023-06-05T06:00": 1.0})
    with pytest.raises(ForecastError, match=r"temp_air_degc for 2023-06-06T12:00Z"):
        FileForecast(table, source).get("temp_air_degc", index, utc("2023-06-05T09:00"))


def test_file_forecast_reads_csv_with_a_value_column(tmp_path):
    index = grid("2023-06-06T00:00", 24)
    path = tmp_path / "price.csv"
    pd.DataFrame(
        {
            "issued_at_utc": "2023-06-05T09:00:00Z",
            "timestamp_utc": index.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "value": 42.0,
        }
    ).to_csv(path, index=False)
    source = coded_actuals()
    provider = FileForecast.from_csv(path, source, quantity="price_eur_per_mwh")
    values = provider.get("price_eur_per_mwh", index, utc("2023-06-05T09:30"))
    assert (values == 42.0).all()


def test_file_forecast_rejects_local_time_stamps(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("issued_at_utc,timestamp_utc,value\n2023-06-05T09:00,2023-06-06T00:00Z,1\n")
    with pytest.raises(ForecastError, match=r"issued_at_utc row 2 .* is not UTC"):
        FileForecast.from_csv(path, coded_actuals(), quantity="temp_air_degc")


# ---------------------------------------------------------------- the set


def test_forecast_set_returns_exactly_the_window_index_with_overrides():
    source = coded_actuals()
    issued_at, index = day_ahead_window("2023-06-05 11:00")
    table = issued_table(index, {"2023-06-05T06:00": 5.0})
    forecasts = ForecastSet(PerfectForecast(source), {"temp_air_degc": FileForecast(table, source)})
    frame = forecasts.frame(["temp_air_degc", "ghi_w_per_m2"], index, issued_at)
    assert frame.index.equals(index)
    assert frame.index.freq == index.freq
    assert (frame["temp_air_degc"] == 5.0).all()
    np.testing.assert_allclose(frame["ghi_w_per_m2"], code_of(index))


def test_requests_need_utc_index_with_step_and_aware_issue_time():
    source = coded_actuals()
    index = grid("2023-06-06T00:00", 24)
    with pytest.raises(ForecastError, match="no time zone"):
        PerfectForecast(source).get("temp_air_degc", index, pd.Timestamp("2023-06-05 09:00"))
    with pytest.raises(ForecastError, match="fixed step"):
        PerfectForecast(source).get("temp_air_degc", pd.DatetimeIndex(list(index)), index[0])


def test_options_build_file_overrides_and_describe(tmp_path):
    index = grid("2023-06-06T00:00", 24)
    path = tmp_path / "t.csv"
    pd.DataFrame(
        {
            "issued_at_utc": "2023-06-05T09:00:00Z",
            "timestamp_utc": index.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "value": 1.0,
        }
    ).to_csv(path, index=False)
    options = ForecastOptions(kind="noisy", seed=2, files={"temp_air_degc": str(path)})
    forecasts = build_forecasts(options, coded_actuals())
    assert isinstance(forecasts.provider("temp_air_degc"), FileForecast)
    assert isinstance(forecasts.provider("ghi_w_per_m2"), NoisyForecast)
    assert options.describe() == "noisy(seed=2, scale=1) + files for temp_air_degc"
    assert options.day_ahead_rules(["price_eur_per_mwh", "temp_air_degc"]) == {
        "price_eur_per_mwh": DayAheadRule()
    }
    # persistence one day back must reach past a 48 h window issued 13 h ahead
    assert ForecastOptions(lag="1D").history(pd.Timedelta("48h")) >= pd.Timedelta("3D")
