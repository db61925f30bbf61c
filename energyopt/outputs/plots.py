"""Plotly figures of a plan. No solving, no file I/O beyond ``write_html``."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pandas as pd
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from energyopt.assets.base import flow_unit
from energyopt.inputs.timeseries import index_step
from energyopt.outputs.results import carriers_in, grid_energy_cost_eur, injection_columns
from energyopt.units import KWH_PER_MWH


def dispatch_figure(dispatch: pd.DataFrame, title: str = "", timezone: str = "UTC") -> go.Figure:
    """Stacked dispatch per carrier, storage levels and the import price.

    Supplies stack above zero, draws below zero; times shown in ``timezone``.
    """
    carriers = carriers_in(dispatch)
    levels = [c for c in dispatch.columns if c.endswith(".soc_frac")]
    prices = [c for c in dispatch.columns if c.endswith(".price_import_eur_per_kwh")]
    rows = len(carriers) + bool(levels) + bool(prices)
    titles = [f"{c} [{'kW' if flow_unit(c) == 'kw' else 'kg/h'}]" for c in carriers]
    titles += ["storage level [% of capacity]"] * bool(levels) + ["import price [EUR/MWh]"] * bool(
        prices
    )
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        subplot_titles=titles,
        vertical_spacing=0.04,
    )
    x = cast(pd.DatetimeIndex, dispatch.index).tz_convert(timezone)
    colors = _asset_colors(dispatch)
    for row, carrier in enumerate(carriers, start=1):
        for column in injection_columns(dispatch, carrier):
            _add_flow_traces(fig, x, dispatch[column], carrier, colors, row)
    row = len(carriers)
    if levels:
        row += 1
        for column in levels:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=dispatch[column] * 100,
                    name=column.split(".")[0] + " level",
                    line={"shape": "linear"},
                ),
                row=row,
                col=1,
            )
    if prices:
        row += 1
        fig.add_trace(
            go.Scatter(
                x=x,
                y=dispatch[prices[0]] * KWH_PER_MWH,
                name="import price",
                line={"shape": "hv"},
            ),
            row=row,
            col=1,
        )
    fig.update_layout(
        title=title,
        height=260 * rows + 120,
        hovermode="x unified",
        template="plotly_white",
    )
    return fig


def _asset_colors(dispatch: pd.DataFrame) -> dict[str, str]:
    """One colour per asset, the same in every carrier's panel."""
    palette = plotly.colors.qualitative.Dark24 + plotly.colors.qualitative.Light24
    assets = list(dict.fromkeys(c.split(".", 1)[0] for c in dispatch.columns))
    return {a: palette[i % len(palette)] for i, a in enumerate(assets)}


def _add_flow_traces(
    fig: go.Figure, x, flow: pd.Series, carrier: str, colors: dict[str, str], row: int
) -> None:
    """Supply stacked above zero, draw below; one legend entry per asset and carrier."""
    asset = cast(str, flow.name).split(".", 1)[0]
    shown = False
    for part, group in ((flow.clip(lower=0), "supply"), (flow.clip(upper=0), "draw")):
        if part.abs().max() <= 1e-6:
            continue
        fig.add_trace(
            go.Scatter(
                x=x,
                y=part,
                name=f"{asset} ({carrier})",
                stackgroup=f"{carrier}-{group}",
                line={"shape": "hv", "width": 0.5, "color": colors[asset]},
                legendgroup=f"{carrier}-{asset}",
                showlegend=not shown,
            ),
            row=row,
            col=1,
        )
        shown = True


def write_html(fig: go.Figure, path: str | Path) -> Path:
    """Write an HTML chart that opens offline: the charts of one folder share one
    ``plotly.min.js`` next to them (written with the first, about 4.8 MB) instead of
    each embedding its own copy."""
    path = Path(path)
    fig.write_html(path, include_plotlyjs="directory", full_html=True)
    return path


def sankey_figure(links: list[tuple[str, str, float]], title: str = "") -> go.Figure:
    """Energy-flow Sankey from ``(source, target, kWh)`` links (values in MWh)."""
    nodes = sorted({n for s, t, _ in links for n in (s, t)})
    position = {n: i for i, n in enumerate(nodes)}
    fig = go.Figure(
        go.Sankey(
            node={"label": nodes, "pad": 18, "thickness": 16},
            link={
                "source": [position[s] for s, _, _ in links],
                "target": [position[t] for _, t, _ in links],
                "value": [v / KWH_PER_MWH for _, _, v in links],
            },
            valueformat=",.1f",
            valuesuffix=" MWh",
        )
    )
    fig.update_layout(title=title, height=600, template="plotly_white")
    return fig


#: cost categories shown in the comparison bars (KPI names)
_COST_KPIS = (
    "cost_energy_eur",
    "cost_demand_charge_eur",
    "cost_fuel_eur",
    "cost_degradation_eur",
    "cost_exchange_eur",
    "cost_co2_eur",
)


def comparison_figure(
    dispatches: dict[str, pd.DataFrame],
    kpis: dict[str, dict],
    title: str = "",
    timezone: str = "UTC",
) -> go.Figure:
    """Runs of the same period side by side (e.g. rolling, perfect, baseline).

    Rows: net grid import [kW], storage levels [% of capacity], cumulative
    grid energy cost [EUR], and total cost by category per run [EUR]
    (revenue shown negative).
    """
    fig = make_subplots(
        rows=4,
        cols=1,
        subplot_titles=[
            "net grid import [kW]",
            "storage level [% of capacity]",
            "cumulative grid energy cost [EUR]",
            "total cost by category [EUR]",
        ],
        vertical_spacing=0.07,
    )
    dashes = ("solid", "dash", "dot", "dashdot")
    for number, (mode, dispatch) in enumerate(dispatches.items()):
        x = cast(pd.DatetimeIndex, dispatch.index).tz_convert(timezone)
        dash = dashes[number % len(dashes)]
        dt_h = index_step(dispatch.index) / pd.Timedelta("1h")
        imports = dispatch.filter(regex=r"\.import_kw$").sum(axis=1)
        exports = dispatch.filter(regex=r"\.export_kw$").sum(axis=1)
        line = {"shape": "hv", "dash": dash, "width": 1}
        fig.add_trace(go.Scatter(x=x, y=imports - exports, name=mode, line=line), row=1, col=1)
        for column in dispatch.filter(regex=r"\.soc_frac$").columns:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=dispatch[column] * 100,
                    name=f"{mode}: {column.split('.')[0]}",
                    line={"dash": dash, "width": 1},
                ),
                row=2,
                col=1,
            )
        cost = _grid_energy_cost_eur(dispatch, dt_h)
        fig.add_trace(
            go.Scatter(x=x, y=cost.cumsum(), name=f"{mode}: grid energy", line=line),
            row=3,
            col=1,
        )
    modes = list(kpis)
    for key in (*_COST_KPIS, "revenue_eur"):
        sign = -1.0 if key == "revenue_eur" else 1.0
        values = [sign * float(kpis[m].get(key, 0.0)) for m in modes]
        if any(abs(v) > 1e-9 for v in values):
            label = key.removeprefix("cost_").removesuffix("_eur")
            fig.add_trace(go.Bar(x=modes, y=values, name=label), row=4, col=1)
    fig.update_layout(
        title=title, barmode="relative", height=1200, hovermode="x", template="plotly_white"
    )
    fig.update_xaxes(matches="x", row=2, col=1)
    fig.update_xaxes(matches="x", row=3, col=1)
    return fig


def _grid_energy_cost_eur(dispatch: pd.DataFrame, dt_h: float) -> pd.Series:
    """Grid energy cost per interval over every grid connection [EUR]."""
    total = pd.Series(0.0, index=dispatch.index)
    for column in dispatch.filter(regex=r"\.import_kw$").columns:
        cost = grid_energy_cost_eur(dispatch, column.removesuffix(".import_kw"), dt_h)
        if cost is not None:
            total += cost
    return total
