"""Figures of a site study: cases side by side (tables in, Plotly figures out).

Every chart carries its units on the axes and writes the values people compare
on the marks: totals on bars, targets as lines (the Sankey is
:func:`energyopt.outputs.plots.sankey_figure`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from energyopt.outputs.plant_kpis import PROCESSES
from energyopt.outputs.plots import total_labels
from energyopt.outputs.results import COST_KPIS

#: the KPI bars: table column, axis title, target (None: no target line)
KPI_BARS = (
    ("energy_cost_eur_per_kwh_cell", "energy cost [EUR/kWh cell]", None),
    ("energy_kwh_per_kwh_cell", "energy [kWh/kWh cell]", 25.0),
    ("co2_kg_per_kwh_cell", "CO2 [kg/kWh cell]", 10.0),
)


def kpi_bars(table: pd.DataFrame) -> go.Figure:
    """Per-kWh-cell KPIs per case, values on the bars, Batteries Europe 2030 targets as
    dashed lines (25 kWh/kWh, 10 kg CO2/kWh)."""
    fig = make_subplots(
        rows=1, cols=len(KPI_BARS), subplot_titles=[title for _, title, _ in KPI_BARS]
    )
    for col, (column, title, target) in enumerate(KPI_BARS, start=1):
        values = table[column]
        fig.add_trace(
            go.Bar(
                x=table.index,
                y=values,
                text=[f"{v:,.3g}" for v in values],
                textposition="outside",
                marker_color="#4c78a8",
                showlegend=False,
                name=title,
            ),
            row=1,
            col=col,
        )
        fig.update_yaxes(title_text=title, row=1, col=col)
        if target is not None:
            fig.add_hline(
                y=target,
                line_dash="dash",
                line_color="#e45756",
                annotation_text=f"2030 target {target:g}",
                row=1,
                col=col,
            )
    fig.update_layout(height=460, template="plotly_white", title="Per kWh of cells")
    return fig


def stacked_bars(
    table: pd.DataFrame,
    parts: Mapping[str, str],
    total: str,
    fmt: Callable[[float], str],
    *,
    title: str,
    axis: str,
    legend: str,
) -> go.Figure:
    """Columns ``parts`` (column -> legend label) stacked per case, negative parts below
    zero, the case's ``total`` column written above each bar with ``fmt``."""
    fig = go.Figure()
    present = [c for c in parts if c in table]
    for column in present:
        if table[column].abs().sum() > 0:
            fig.add_trace(go.Bar(x=table.index, y=table[column], name=parts[column]))
    tops = table[present].clip(lower=0).sum(axis=1)
    fig.add_trace(total_labels(table.index, tops, [fmt(v) for v in table[total]]))
    fig.update_layout(
        barmode="relative",
        height=470,
        template="plotly_white",
        title=title,
        yaxis_title=axis,
        legend_title_text=legend,
    )
    return fig


def cost_breakdown(table: pd.DataFrame) -> go.Figure:
    """Cost categories per case [EUR per year], revenue (NMP and heat sales, exports)
    below zero, the net total above each bar [MEUR]: the bars add up to it."""
    parts = {k: k.removeprefix("cost_").removesuffix("_eur") for k in COST_KPIS}
    signed = table.assign(revenue_eur=-table["revenue_eur"]) if "revenue_eur" in table else table
    return stacked_bars(
        signed,
        parts,
        "total_cost_eur",
        lambda v: f"net {v / 1e6:,.2f} M",
        title="Cost by category (revenue below zero)",
        axis="EUR per year",
        legend="category",
    )


def process_bars(table: pd.DataFrame) -> go.Figure:
    """Final energy per kWh of cells by process [kWh/kWh], the total above each bar."""
    parts = {f"energy_kwh_per_kwh_cell_{p}": p for p in PROCESSES}
    return stacked_bars(
        table,
        parts,
        "energy_kwh_per_kwh_cell",
        lambda v: f"{v:.1f}",
        title="Final energy by process",
        axis="kWh per kWh of cells",
        legend="process",
    )


def duration_curves(series: Mapping[str, pd.Series], title: str, axis: str) -> go.Figure:
    """Values per case sorted from highest to lowest over the share of hours."""
    fig = go.Figure()
    for name, values in series.items():
        ordered = np.sort(values.dropna().to_numpy())[::-1]
        share = np.arange(1, len(ordered) + 1) / max(len(ordered), 1) * 100.0
        fig.add_trace(go.Scatter(x=share, y=ordered, name=name, mode="lines"))
    fig.update_layout(
        title=title,
        height=420,
        template="plotly_white",
        xaxis_title="share of hours [%]",
        yaxis_title=axis,
        legend_title_text="case",
    )
    return fig
