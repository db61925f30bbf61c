"""Small builders for test plants: contexts, solved models and scenario documents.

Two levels:

* :func:`context` + :func:`solve_assets` build a window directly from asset
  documents (any number of intervals, e.g. 2 x 1 h for hand-computed optima)
  and solve it with a tight MIP gap;
* :func:`write_series` + :func:`scenario_doc` write CSV inputs to a temporary
  directory and return a scenario document for the full YAML -> CLI path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import yaml
from pydantic import TypeAdapter

from energyopt.assets import AssetParamsUnion, BuildContext, create_asset
from energyopt.inputs.config import Scenario, Site, SolverOptions, Tariffs, load_scenario
from energyopt.model import PlantSession, build_model
from energyopt.model.read import dispatch_table
from energyopt.model.solve import SolveReport, solve

#: a site used by tiny cases (Frankfurt-like coordinates, UTC clock)
SITE = Site(name="test", latitude=50.1, longitude=8.7, altitude_m=100.0, timezone="UTC")
#: solver options for cases whose optimum is known: no MIP gap tolerated
EXACT = SolverOptions(time_limit_s=30.0, mip_rel_gap=0.0)

_ADAPTER = TypeAdapter(AssetParamsUnion)


def index(n_steps: int, step: str = "1h", start: str = "2023-06-05T00:00Z") -> pd.DatetimeIndex:
    """A model index of ``n_steps`` intervals (UTC, named ``time``, fixed freq)."""
    idx = pd.date_range(pd.Timestamp(start), periods=n_steps, freq=step, name="time")
    return idx.tz_convert("UTC")


def context(
    idx: pd.DatetimeIndex,
    series: Mapping[str, Sequence[float] | float] | None = None,
    *,
    tariffs: Mapping[str, float] | None = None,
    site: Site = SITE,
    state: Mapping[str, Mapping[str, float]] | None = None,
    month_weight: Mapping[str, float] | None = None,
) -> BuildContext:
    """Build context on ``idx``; scalars in ``series`` become constant columns.

    ``tariffs`` default to zero fees, zero CO2 price and zero demand charge so a
    hand computation only sees what the test sets.
    """
    columns = {
        name: np.broadcast_to(np.asarray(v, float), (len(idx),))
        for name, v in (series or {}).items()
    }
    base = {
        "grid_fee_eur_per_mwh": 0.0,
        "demand_charge_eur_per_kw_month": 0.0,
        "co2_price_eur_per_t": 0.0,
    }
    return BuildContext(
        index=idx,
        series=pd.DataFrame(columns, index=idx),
        site=site,
        tariffs=Tariffs(**{**base, **(tariffs or {})}),
        state=dict(state or {}),
        demand_charge_month_weight=dict(month_weight or {}),
    )


def sunny_day(step: str = "1h") -> tuple[pd.DatetimeIndex, dict]:
    """Clear-sky weather for 2023-06-21 at the test site, 20 degC, 2 m/s."""
    idx = index(int(pd.Timedelta("1D") / pd.Timedelta(step)), step, "2023-06-21T00:00Z")
    location = pvlib.location.Location(SITE.latitude, SITE.longitude, altitude=SITE.altitude_m)
    clear = location.get_clearsky(idx + pd.Timedelta(step) / 2, model="ineichen")
    return idx, {
        "ghi_w_per_m2": clear["ghi"].to_numpy(),
        "dni_w_per_m2": clear["dni"].to_numpy(),
        "dhi_w_per_m2": clear["dhi"].to_numpy(),
        "temp_air_degc": 20.0,
        "wind_speed_m_per_s": 2.0,
    }


def assets_from(docs: Sequence[Mapping]) -> list:
    """Fresh asset instances from asset documents (as in a scenario's plant.assets)."""
    return [create_asset(_ADAPTER.validate_python(dict(d))) for d in docs]


@dataclasses.dataclass
class Solved:
    """A solved tiny plant."""

    plant: PlantSession
    report: SolveReport
    dispatch: pd.DataFrame


def solve_assets(
    docs: Sequence[Mapping], ctx: BuildContext, options: SolverOptions = EXACT
) -> Solved:
    """Build and solve a plant of ``docs`` on ``ctx``; returns plant, report, dispatch."""
    plant = build_model(assets_from(docs), ctx)
    report = solve(plant, options)
    return Solved(plant=plant, report=report, dispatch=dispatch_table(plant))


def grid(import_max_kw: float = 10_000.0, **extra) -> dict:
    """A grid asset document named ``grid``."""
    return {"type": "grid", "name": "grid", "import_max_kw": import_max_kw, **extra}


def load(power_kw: float, carrier: str = "electricity", name: str | None = None) -> dict:
    """A constant fixed load document."""
    return {
        "type": "fixed_load",
        "name": name or f"load_{carrier}",
        "carrier": carrier,
        "power_kw": power_kw,
    }


# ----------------------------------------------------------------------------- files


def write_series(path: Path, idx: pd.DatetimeIndex, **columns: Sequence[float] | float) -> Path:
    """Write a ``timestamp_utc`` CSV with the given value columns."""
    frame = pd.DataFrame(
        {name: np.broadcast_to(np.asarray(v, float), (len(idx),)) for name, v in columns.items()}
    )
    frame.insert(0, "timestamp_utc", idx.strftime("%Y-%m-%dT%H:%M:%SZ"))
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def scenario_doc(
    directory: Path,
    assets: Sequence[Mapping],
    *,
    price_eur_per_mwh: Sequence[float] | float = 100.0,
    start: str = "2023-06-05",
    days: int = 1,
    step: str = "1h",
    tariffs: Mapping[str, float] | None = None,
    weather: bool = False,
    series: Mapping[str, Sequence[float] | float] | None = None,
) -> dict:
    """A scenario document whose price series (hourly, UTC site) lies in ``directory``.

    The price CSV covers ``days`` days from ``start`` (hourly); with
    ``weather=True`` a constant mild weather file (20 degC, 50 % RH, no sun)
    is written too; ``series`` adds hourly site series (one CSV, a column each).
    """
    hourly = index(24 * days, "1h", f"{start}T00:00Z")
    write_series(directory / "prices.csv", hourly, price_eur_per_mwh=price_eur_per_mwh)
    site: dict = {
        "name": "test",
        "latitude": SITE.latitude,
        "longitude": SITE.longitude,
        "timezone": "UTC",
        "series": {"price_eur_per_mwh": {"file": "prices.csv", "column": "price_eur_per_mwh"}},
    }
    if weather:
        write_series(
            directory / "weather.csv",
            hourly,
            temp_air_C=20.0,
            relative_humidity_pct=50.0,
            ghi_W_m2=0.0,
            dni_W_m2=0.0,
            dhi_W_m2=0.0,
        )
        site["weather"] = {"file": "weather.csv"}
    if series:
        write_series(directory / "series.csv", hourly, **series)
        for name in series:
            site["series"][name] = {"file": "series.csv", "column": name}
    base = {
        "grid_fee_eur_per_mwh": 0.0,
        "demand_charge_eur_per_kw_month": 0.0,
        "co2_price_eur_per_t": 0.0,
    }
    return {
        "name": "tiny",
        "site": site,
        "tariffs": {**base, **(tariffs or {})},
        "period": {"start": start, "days": days, "step": step},
        "solver": {"time_limit_s": 30, "mip_rel_gap": 0.0},
        "plant": {"assets": [dict(a) for a in assets]},
    }


def write_scenario(path: Path, document: Mapping) -> Path:
    """Write a scenario document as YAML."""
    path.write_text(yaml.safe_dump(dict(document), sort_keys=False), encoding="utf-8")
    return path


def tiny_scenario(directory: Path, assets: Sequence[Mapping], **options) -> Scenario:
    """Write :func:`scenario_doc` as ``tiny.yaml`` in ``directory`` and load it."""
    document = scenario_doc(directory, assets, **options)
    return load_scenario(write_scenario(directory / "tiny.yaml", document))
