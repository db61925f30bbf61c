"""Comparing runs by their KPIs: a table and a Plotly chart.

The first run is the reference; every other run is also given as its
difference to the reference (absolute, in the KPI's unit, and relative).
Only numeric KPIs are compared (status texts and time stamps are not).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

#: headline KPIs shown first in charts when present
HEADLINE_KPIS = (
    "total_cost_eur",
    "energy_cost_eur_per_kwh_cell",
    "total_cost_eur_per_kwh_cell",
    "co2_t",
    "grid_import_kwh",
    "peak_import_kw",
    "pv_self_consumption_frac",
    "grid_export_kwh",
)
#: most small charts in one comparison figure
MAX_CHARTS = 12


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def numeric_kpis(kpis: Mapping[str, Any]) -> list[str]:
    """Names of the KPIs with a number (or a non-finite float) as value."""
    return [k for k, v in kpis.items() if isinstance(v, int | float) and not isinstance(v, bool)]


def shared_kpis(kpis_by_run: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Numeric KPIs every run has, in the order of the first run."""
    runs = list(kpis_by_run.values())
    names = numeric_kpis(runs[0])
    return [n for n in names if all(n in kpis for kpis in runs[1:])]


def missing_kpis(
    kpis_by_run: Mapping[str, Mapping[str, Any]], names: list[str]
) -> dict[str, list[str]]:
    """KPIs of ``names`` that a run lacks or has no number for, by run id."""
    missing = {}
    for run_id, kpis in kpis_by_run.items():
        lacking = [n for n in names if n not in numeric_kpis(kpis)]
        if lacking:
            missing[run_id] = lacking
    return missing


def kpi_table(
    kpis_by_run: Mapping[str, Mapping[str, Any]], names: list[str] | None = None
) -> pd.DataFrame:
    """KPI values by run: rows are KPI names, columns run ids (the first is the reference).

    Parameters
    ----------
    kpis_by_run : mapping
        KPIs of each run, by run id, in comparison order.
    names : list of str, optional
        KPIs to compare; default :func:`shared_kpis`.
    """
    names = names or shared_kpis(kpis_by_run)
    data = {run_id: [_number(kpis.get(n)) for n in names] for run_id, kpis in kpis_by_run.items()}
    return pd.DataFrame(data, index=pd.Index(names, name="kpi"), dtype=float)


def deltas(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Differences to the reference column: absolute and relative [frac, NaN where ref is 0]."""
    reference = table.iloc[:, 0]
    absolute = table.sub(reference, axis=0)
    scale = reference.abs().where(reference.abs() > 0)
    return absolute, absolute.div(scale, axis=0)


def cost_components(table: pd.DataFrame) -> list[str]:
    """Cost rows that add up to ``total_cost_eur`` (revenue counted negative)."""
    return [k for k in table.index if k.startswith("cost_") and k.endswith("_eur")]


def comparison_figure(
    table: pd.DataFrame, labels: Mapping[str, str] | None = None, title: str = ""
) -> go.Figure:
    """Bar charts of a KPI table: stacked cost breakdown, then one chart per KPI.

    ``labels`` names the runs (default: their ids).
    """
    labels = labels or {}
    x = [labels.get(c, c) for c in table.columns]
    costs = cost_components(table)
    headline = [k for k in HEADLINE_KPIS if k in table.index]
    others = [k for k in table.index if k not in headline and k not in costs]
    charts = (headline + others)[: MAX_CHARTS - bool(costs)]
    titles = (["cost breakdown [EUR]"] if costs else []) + charts
    cols = 2
    rows = max(1, math.ceil(len(titles) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=0.08)
    position = 0
    if costs:
        for name in costs:
            values = table.loc[name].to_numpy()
            if pd.notna(values).any() and abs(pd.Series(values).fillna(0)).max() > 0:
                fig.add_trace(go.Bar(x=x, y=values, name=name, legendgroup="costs"), row=1, col=1)
        if "revenue_eur" in table.index:
            fig.add_trace(
                go.Bar(x=x, y=-table.loc["revenue_eur"].to_numpy(), name="revenue (negative)"),
                row=1,
                col=1,
            )
        position = 1
    for name in charts:
        row, col = divmod(position, cols)
        fig.add_trace(
            go.Bar(x=x, y=table.loc[name].to_numpy(), name=name, showlegend=False),
            row=row + 1,
            col=col + 1,
        )
        position += 1
    fig.update_layout(
        barmode="relative", title=title, height=300 * rows + 120, template="plotly_white"
    )
    return fig
