"""Setpoints in the control system's convention.

The plan's dispatch table uses the site-bus convention (positive = supplies
the plant). A control system wants one command per asset and interval, in its
own terms. This module is the one place where that translation happens.

Convention (every interval ``[valid_from, valid_to)``, UTC; powers are
interval means in kW, levels end-of-interval targets):

=================================  ==========================  =====================================
asset kind                         setpoint                    meaning
=================================  ==========================  =====================================
battery, thermal_storage           ``power_kw``                positive = discharge (energy out of
                                                               the store), negative = charge
                                   ``soc_target_frac``         state of charge at the interval end
heat_pump, electric_boiler,        ``output_kw``               heat (cooling for the chiller)
gas_boiler, chiller                                            delivered
pv                                 ``power_limit_kw``          output cap when the plan curtails,
                                                               null = no limit
grid                               ``exchange_kw``             planned exchange, positive = import
                                                               (for monitoring, not a command)
dry_room                           ``removal_kg_per_h``        water the desiccant wheel removes
                                   ``dew_point_target_degc``   room dew point at the interval end
drying_oven                        ``is_on`` (0/1),            line running and its speed
                                   ``area_m2_per_h``
formation                          ``batches_to_start``        batches to put on racks
=================================  ==========================  =====================================

Fixed loads have no setpoint. Values are rounded to 0.1 kW (0.001 for
fractions and kg/h), below what plant controllers resolve.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Column = Sequence[float | None]
Rule = Callable[[Mapping[str, Column], int], float | None]

CONVENTION = (
    "site setpoints per interval [valid_from, valid_to) in UTC; powers in kW (interval "
    "means): storage power_kw positive = discharge, negative = charge; soc_target_frac at "
    "the interval end; converters output_kw delivered heat/cooling; pv power_limit_kw null = "
    "no curtailment; grid exchange_kw positive = import (monitoring only)"
)
#: decimals of powers [kW] and of fractions, kg/h and degC
KW_DECIMALS = 1
FINE_DECIMALS = 3


def _value(columns: Mapping[str, Column], name: str, i: int) -> float | None:
    column = columns.get(name)
    return None if column is None else column[i]


def _round(value: float | None, decimals: int) -> float | None:
    return None if value is None else round(float(value), decimals) + 0.0


def _column(name: str, decimals: int = KW_DECIMALS) -> Rule:
    return lambda cols, i: _round(_value(cols, name, i), decimals)


def _difference(plus: str, minus: str) -> Rule:
    def rule(cols: Mapping[str, Column], i: int) -> float | None:
        a, b = _value(cols, plus, i), _value(cols, minus, i)
        return None if a is None or b is None else _round(a - b, KW_DECIMALS)

    return rule


def _pv_limit(cols: Mapping[str, Column], i: int) -> float | None:
    curtailed = _value(cols, "curtailed_kw", i)
    if curtailed is None or curtailed <= 10 ** (-KW_DECIMALS):
        return None
    return _round(_value(cols, "power_kw", i), KW_DECIMALS)


_STORAGE: dict[str, Rule] = {
    "power_kw": _difference("discharge_kw", "charge_kw"),
    "soc_target_frac": _column("soc_frac", FINE_DECIMALS),
}
#: setpoint rules by asset kind: setpoint name -> rule on the asset's columns
RULES: dict[str, dict[str, Rule]] = {
    "battery": _STORAGE,
    "thermal_storage": _STORAGE,
    "heat_pump": {"output_kw": _column("heat_kw")},
    "electric_boiler": {"output_kw": _column("heat_kw")},
    "gas_boiler": {"output_kw": _column("heat_kw")},
    "chiller": {"output_kw": _column("cooling_kw")},
    "pv": {"power_limit_kw": _pv_limit},
    "grid": {"exchange_kw": _difference("import_kw", "export_kw")},
    "dry_room": {
        "removal_kg_per_h": _column("removal_kg_per_h", FINE_DECIMALS),
        "dew_point_target_degc": _column("dew_point_degc", FINE_DECIMALS),
    },
    "drying_oven": {"is_on": _column("is_on", 0), "area_m2_per_h": _column("area_m2_per_h")},
    "formation": {"batches_to_start": _column("batches_started", 0)},
}


def asset_columns(columns: Mapping[str, Column], asset: str) -> dict[str, Column]:
    """The columns of one asset without its ``<asset>.`` prefix."""
    prefix = f"{asset}."
    return {
        name[len(prefix) :]: values for name, values in columns.items() if name.startswith(prefix)
    }


def setpoint_rows(payload: Mapping[str, Any]) -> list[dict[str, dict[str, float | None]]]:
    """Setpoints of every interval of a schedule document, per asset (control convention)."""
    columns = payload["columns"]
    per_asset = {
        name: (RULES[kind], asset_columns(columns, name))
        for name, kind in payload["assets"].items()
        if kind in RULES
    }
    rows = []
    for i in range(len(payload["time"])):
        rows.append(
            {
                name: {setpoint: rule(cols, i) for setpoint, rule in rules.items()}
                for name, (rules, cols) in per_asset.items()
            }
        )
    return rows
