"""What a sizing plan chose and what it costs a year, from its tables.

Works on a :class:`~energyopt.model.Reading` of a sizing build
(``reading.capacities``, ``reading.operating_weight``; see
``energyopt/assets/sizing.py`` and ``energyopt/model/plant.py``). Every amount
is per year [EUR/a, t/a]: the annualised capex and fixed O&M of the chosen
capacities, and the modelled period's operating cost and CO2 times the
operating weight (8760 h / modelled hours). Their sum,
``total_cost_eur_per_a``, is the solver's objective.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from energyopt.units import KG_PER_T

if TYPE_CHECKING:
    from energyopt.model.read import Reading

#: the order of the annual KPIs, as printed
ANNUAL_KPIS = (
    "cost_capex_eur_per_a",
    "cost_fixed_om_eur_per_a",
    "cost_operating_eur_per_a",
    "total_cost_eur_per_a",
    "co2_t_per_a",
)


def sizing_kpis(reading: Reading) -> dict[str, float]:
    """Annual cost split, CO2 per year, the operating weight, and ``capacity.<asset>.<key>``
    for every chosen capacity [its unit]."""
    weight = reading.operating_weight
    capex = sum(c.capex_eur_per_a for c in reading.capacities)
    fixed_om = sum(c.fixed_om_eur_per_a for c in reading.capacities)
    operating = weight * reading.total_cost_eur
    kpis = {
        "cost_capex_eur_per_a": capex,
        "cost_fixed_om_eur_per_a": fixed_om,
        "cost_operating_eur_per_a": operating,
        "total_cost_eur_per_a": capex + fixed_om + operating,
        "co2_t_per_a": weight * reading.co2_kg / KG_PER_T,
        "operating_weight": weight,
    }
    kpis.update({f"capacity.{c.name}": c.value for c in reading.capacities})
    return kpis


def capacity_table(reading: Reading) -> pd.DataFrame:
    """One row per chosen capacity: its value and bounds [unit] and cost figures."""
    rows = [
        {
            "asset": c.asset,
            "capacity": c.key,
            "unit": c.unit,
            "value": c.value,
            "min": c.option.min,
            "max": c.option.max,
            "module_size": c.option.module_size,
            "capex_eur_per_unit": c.cost.capex_eur_per_unit,
            "lifetime_a": c.cost.lifetime_a,
            "wacc_frac": c.cost.wacc_frac,
            "crf_per_a": c.cost.crf,
            "fixed_om_eur_per_unit_a": c.cost.fixed_om_eur_per_unit_a,
            "capex_eur_per_a": c.capex_eur_per_a,
            "fixed_om_eur_per_a": c.fixed_om_eur_per_a,
        }
        for c in reading.capacities
    ]
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else ["asset", "capacity", "value"])
