"""Forecast providers: what the planner knows about an input series at issue time.

Every provider answers one call::

    provider.get(quantity, index, issued_at) -> Series on exactly ``index``

``quantity`` is a column of the model's input series (weather columns such as
``temp_air_degc`` or ``ghi_w_per_m2``, and the site's named series such as
``price_eur_per_mwh``). PV is not forecast as a power: the weather columns are,
and the PV asset turns them into available power through the same pvlib chain
as the actuals.

What is known at ``issued_at`` comes from the :class:`ActualSource`:

* measured quantities (weather, loads, grid CO2): the value of interval ``t``
  is known once the interval has ended, ``t + step <= issued_at``;
* day-ahead prices (:class:`DayAheadRule`): all prices of delivery day ``D``
  are published at the auction on day ``D-1`` (default 12:00 Europe/Brussels,
  the SDAC gate closure), so a plan made at 11:00 still forecasts tomorrow.

Providers return known values as they are and forecast the rest:

``perfect``
    the actual values everywhere (benchmarks only: it looks ahead);
``persistence``
    the value one ``lag`` earlier (default one day; ``7D`` for last week),
    going back further lags until a known value is found;
``noisy``
    the actual values plus seeded, time-correlated errors whose spread grows
    linearly with lead time (:class:`NoiseSpec`, per quantity);
``file``
    issued forecasts from a CSV file with ``issued_at_utc``, ``timestamp_utc``
    and value columns; for each time stamp the latest issue at or before
    ``issued_at`` wins.

No provider except ``perfect`` reads an actual value that is not known at
``issued_at`` -- ``noisy`` is the one exception by construction: it perturbs the
actuals and never hands one out unchanged.
"""

from energyopt.engine.forecast.files import FileForecast
from energyopt.engine.forecast.options import (
    FORECAST_KINDS,
    ForecastOptions,
    ForecastSet,
    build_forecasts,
    make_provider,
)
from energyopt.engine.forecast.providers import (
    DEFAULT_NOISE,
    NoiseSpec,
    NoisyForecast,
    PerfectForecast,
    PersistenceForecast,
    ar1_normal,
    noise_spec_for,
)
from energyopt.engine.forecast.sources import (
    ActualSource,
    DayAheadRule,
    ForecastProvider,
    check_request,
    time_of_day,
)

__all__ = [
    "ActualSource",
    "DEFAULT_NOISE",
    "DayAheadRule",
    "FORECAST_KINDS",
    "FileForecast",
    "ForecastOptions",
    "ForecastProvider",
    "ForecastSet",
    "NoiseSpec",
    "NoisyForecast",
    "PerfectForecast",
    "PersistenceForecast",
    "ar1_normal",
    "build_forecasts",
    "check_request",
    "make_provider",
    "noise_spec_for",
    "time_of_day",
]
