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
fractions and kg/h), below what plant controllers resolve. Each asset kind
declares its own rules (``setpoints`` on the asset class, built with the
helpers of :mod:`energyopt.assets.declarations`); this table describes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from energyopt.assets import ASSET_TYPES
from energyopt.assets.declarations import Column

CONVENTION = (
    "site setpoints per interval [valid_from, valid_to) in UTC; powers in kW (interval "
    "means): storage power_kw positive = discharge, negative = charge; soc_target_frac at "
    "the interval end; converters output_kw delivered heat/cooling; pv power_limit_kw null = "
    "no curtailment; grid exchange_kw positive = import (monitoring only)"
)


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
        name: (ASSET_TYPES[kind].setpoints, asset_columns(columns, name))
        for name, kind in payload["assets"].items()
        if kind in ASSET_TYPES and ASSET_TYPES[kind].setpoints
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
