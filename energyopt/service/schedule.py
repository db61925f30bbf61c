"""The schedule document ``energyopt.schedule/1``: its one home.

A published schedule version is a JSON document. The planner
(:mod:`energyopt.service.planning`) writes it; the API, the control documents
(CSV, differences, setpoints) and the schedule cache read it through the
functions here. Its dispatch part:

* ``step_s`` -- the time step [s];
* ``time`` -- UTC interval starts, ``YYYY-MM-DDTHH:MM:SSZ``;
* ``columns`` -- one list per dispatch quantity (``<asset>.<quantity>_<unit>``),
  rounded to :data:`PAYLOAD_DECIMALS` decimals.

Besides: ``format``, ``plant``, ``delivery_date``, ``issued_at``, ``planned_at``,
``is_complete_day``, ``assets`` (name -> kind), ``solve``, ``kpis``, ``state`` and
``inputs`` (see :func:`energyopt.service.planning.run.schedule_payload`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from energyopt.inputs.timeseries import index_step
from energyopt.outputs.results import grid_co2_kg, grid_energy_cost_eur

FORMAT = "energyopt.schedule/1"
#: how interval starts are written
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: decimals kept in published schedules (kW, kWh, EUR/kWh: far below metering accuracy)
PAYLOAD_DECIMALS = 4


def dispatch_fields(dispatch: pd.DataFrame, step: pd.Timedelta) -> dict[str, Any]:
    """``step_s``, ``time`` and ``columns`` of a document holding ``dispatch``."""
    values = np.round(dispatch.to_numpy(dtype=float), PAYLOAD_DECIMALS)
    return {
        "step_s": int(step.total_seconds()),
        "time": [t.strftime(TIME_FORMAT) for t in dispatch.index],
        "columns": {c: values[:, i].tolist() for i, c in enumerate(dispatch.columns)},
    }


def interval_starts(payload: Mapping[str, Any]) -> pd.DatetimeIndex:
    """The document's interval starts (UTC, freq set when it has any)."""
    index = pd.DatetimeIndex(pd.to_datetime(payload["time"], utc=True), name="time")
    if len(index):
        # pandas-stubs type ``freq`` read-only (an offset); pandas sets it, validated
        index.freq = pd.Timedelta(seconds=payload["step_s"])  # type: ignore[misc,assignment]
    return index


def to_frame(payload: Mapping[str, Any]) -> pd.DataFrame:
    """Dispatch part of a schedule document on its UTC index (freq set)."""
    columns = {name: np.asarray(values, dtype=float) for name, values in payload["columns"].items()}
    return pd.DataFrame(columns, index=interval_starts(payload))


def day_kpis(dispatch: pd.DataFrame) -> dict[str, float]:
    """Grid figures of the delivery day from its dispatch columns [kWh, kW, EUR, kg]."""
    dt_h = index_step(dispatch.index) / pd.Timedelta("1h")
    out: dict[str, float] = {}
    for column in dispatch.columns:
        asset, _, quantity = column.partition(".")
        if quantity == "import_kw":
            imports = dispatch[column]
            exports = dispatch.get(f"{asset}.export_kw", imports * 0.0)
            out[f"{asset}.import_kwh"] = float(imports.sum() * dt_h)
            out[f"{asset}.export_kwh"] = float(exports.sum() * dt_h)
            out[f"{asset}.peak_import_kw"] = float(imports.max()) if len(imports) else 0.0
            cost = grid_energy_cost_eur(dispatch, asset, dt_h)
            if cost is not None:
                out[f"{asset}.energy_cost_eur"] = float(cost.sum())
            co2 = grid_co2_kg(dispatch, asset, dt_h)
            if co2 is not None:
                out[f"{asset}.co2_kg"] = float(co2.sum())
    return out
