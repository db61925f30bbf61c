"""Plotly figures of a plan. No solving, no file I/O beyond ``write_html``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pandas as pd
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from energyopt.assets.base import ASSET_TYPES, flow_unit
from energyopt.inputs.timeseries import index_step
from energyopt.outputs.results import carriers_in, grid_energy_cost_eur, injection_columns
from energyopt.units import KWH_PER_MWH

if TYPE_CHECKING:
    from energyopt.outputs.attribution import Split

#: order of the legend sections
SECTIONS = ("supply", "neighbours", "conversion", "storage", "process", "load")


def legend_groups(kinds: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Asset name -> (legend section, group) from asset name -> kind.

    Assets of one kind share a group (six dry rooms are one stacked area per
    carrier); the section is the kind's ``legend_section``. Unknown kinds
    keep their own name in a section ``other``.
    """
    groups = {}
    for name, kind in kinds.items():
        cls = ASSET_TYPES.get(kind)
        groups[name] = (cls.legend_section, kind) if cls else ("other", name)
    return groups


def dispatch_figure(
    dispatch: pd.DataFrame,
    title: str = "",
    timezone: str = "UTC",
    kinds: Mapping[str, str] | None = None,
) -> go.Figure:
    """Stacked dispatch per carrier, storage levels and the import price.

    Supplies stack above zero, draws below zero; times shown in ``timezone``.
    With ``kinds`` (asset name -> kind) the assets of one kind are summed into
    one area per carrier and the legend is sectioned (supply, conversion,
    storage, process, ...), one entry per kind with its asset count; without
    it, one entry per asset. Storage levels use a fixed 0-100 % axis.
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
    assets = list(dict.fromkeys(c.split(".", 1)[0] for c in dispatch.columns))
    groups = legend_groups(kinds) if kinds else {}
    groups = {a: groups.get(a, ("assets", a)) for a in assets}
    legend = _Legend(groups)
    for row, carrier in enumerate(carriers, start=1):
        for group, flow in _grouped_flows(dispatch, carrier, groups).items():
            _add_flow_traces(fig, x, flow, carrier, legend, group, row)
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
                    legendgroup="levels",
                    legendgrouptitle_text="storage levels",
                ),
                row=row,
                col=1,
            )
        fig.update_yaxes(range=[0, 100], title_text="%", row=row, col=1)
    if prices:
        row += 1
        fig.add_trace(
            go.Scatter(
                x=x,
                y=dispatch[prices[0]] * KWH_PER_MWH,
                name="import price",
                line={"shape": "hv"},
                legendgroup="price",
                legendgrouptitle_text="price",
            ),
            row=row,
            col=1,
        )
    fig.update_layout(
        title=title,
        height=260 * rows + 120,
        hovermode="x unified",
        template="plotly_white",
        legend={"groupclick": "toggleitem", "tracegroupgap": 12},
    )
    return fig


class _Legend:
    """Colours and legend entries of the groups: one colour and one entry per group."""

    def __init__(self, groups: Mapping[str, tuple[str, str]]) -> None:
        palette = plotly.colors.qualitative.Dark24 + plotly.colors.qualitative.Light24
        order = sorted(
            dict.fromkeys(groups.values()),
            key=lambda g: (SECTIONS.index(g[0]) if g[0] in SECTIONS else len(SECTIONS), g[1]),
        )
        self.order = order
        self.colors = {g: palette[i % len(palette)] for i, g in enumerate(order)}
        self.members = {g: sum(1 for v in groups.values() if v == g) for g in order}
        self.shown: set[tuple[str, str]] = set()

    def name(self, group: tuple[str, str]) -> str:
        count = self.members[group]
        return group[1] if count == 1 else f"{group[1]} ({count})"


def _grouped_flows(
    dispatch: pd.DataFrame, carrier: str, groups: Mapping[str, tuple[str, str]]
) -> dict[tuple[str, str], pd.Series]:
    """Net injections into ``carrier`` summed per group [kW]."""
    out: dict[tuple[str, str], pd.Series] = {}
    for column in injection_columns(dispatch, carrier):
        group = groups[column.split(".", 1)[0]]
        out[group] = out[group] + dispatch[column] if group in out else dispatch[column]
    return out


def _add_flow_traces(
    fig: go.Figure,
    x,
    flow: pd.Series,
    carrier: str,
    legend: _Legend,
    group: tuple[str, str],
    row: int,
) -> None:
    """Supply stacked above zero, draw below; one legend entry per group."""
    section = group[0]
    for part, side in ((flow.clip(lower=0), "supply"), (flow.clip(upper=0), "draw")):
        if part.abs().max() <= 1e-6:
            continue
        fig.add_trace(
            go.Scatter(
                x=x,
                y=part,
                name=legend.name(group),
                stackgroup=f"{carrier}-{side}",
                line={"shape": "hv", "width": 0.5, "color": legend.colors[group]},
                legendgroup=section,
                legendgrouptitle_text=section,
                legendrank=legend.order.index(group),
                showlegend=group not in legend.shown,
                hovertemplate=f"{legend.name(group)} ({carrier}): %{{y:,.0f}}<extra></extra>",
            ),
            row=row,
            col=1,
        )
        legend.shown.add(group)


def write_html(fig: go.Figure, path: str | Path) -> Path:
    """Write an HTML chart that opens offline: the charts of one folder share one
    ``plotly.min.js`` next to them (written with the first, about 4.8 MB) instead of
    each embedding its own copy."""
    path = Path(path)
    fig.write_html(path, include_plotlyjs="directory", full_html=True)
    return path


def sankey_figure(links: list[tuple[str, str, float]], title: str = "") -> go.Figure:
    """Energy-flow Sankey from ``(source, target, kWh)`` links (values in MWh).

    Every node's label carries its throughput (the larger of what enters and
    what leaves it, so a store shows what it took in) and every link its value
    on hover: Plotly draws no text on the links themselves.
    """
    nodes = sorted({n for s, t, _ in links for n in (s, t)})
    inflow = dict.fromkeys(nodes, 0.0)
    outflow = dict.fromkeys(nodes, 0.0)
    for source, target, value in links:
        outflow[source] += value
        inflow[target] += value
    labels = [f"{n}: {max(inflow[n], outflow[n]) / KWH_PER_MWH:,.1f} MWh" for n in nodes]
    position = {n: i for i, n in enumerate(nodes)}
    fig = go.Figure(
        go.Sankey(
            node={"label": labels, "pad": 18, "thickness": 16},
            link={
                "source": [position[s] for s, _, _ in links],
                "target": [position[t] for _, t, _ in links],
                "value": [v / KWH_PER_MWH for _, _, v in links],
                "label": [f"{s} → {t}: {v / KWH_PER_MWH:,.1f} MWh" for s, t, v in links],
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
    tops = [0.0] * len(modes)
    for key in (*_COST_KPIS, "revenue_eur"):
        sign = -1.0 if key == "revenue_eur" else 1.0
        values = [sign * float(kpis[m].get(key, 0.0)) for m in modes]
        if any(abs(v) > 1e-9 for v in values):
            label = key.removeprefix("cost_").removesuffix("_eur")
            fig.add_trace(go.Bar(x=modes, y=values, name=label), row=4, col=1)
            tops = [t + max(v, 0.0) for t, v in zip(tops, values, strict=True)]
    totals = [float(kpis[m].get("total_cost_eur", 0.0)) for m in modes]
    fig.add_trace(total_labels(modes, tops, [f"net {v:,.0f} EUR" for v in totals]), row=4, col=1)
    fig.update_yaxes(range=[0, 100], row=2, col=1)
    fig.update_layout(
        title=title, barmode="relative", height=1200, hovermode="x", template="plotly_white"
    )
    fig.update_xaxes(matches="x", row=2, col=1)
    fig.update_xaxes(matches="x", row=3, col=1)
    return fig


def total_labels(x, tops, texts) -> go.Scatter:
    """Text marks writing ``texts`` above stacked bars (at ``tops``, the height of each
    bar's positive stack), e.g. the net total of costs and revenues."""
    return go.Scatter(
        x=x,
        y=tops,
        mode="text",
        text=list(texts),
        textposition="top center",
        showlegend=False,
        hoverinfo="skip",
    )


def _grid_energy_cost_eur(dispatch: pd.DataFrame, dt_h: float) -> pd.Series:
    """Grid energy cost per interval over every grid connection [EUR]."""
    total = pd.Series(0.0, index=dispatch.index)
    for column in dispatch.filter(regex=r"\.import_kw$").columns:
        cost = grid_energy_cost_eur(dispatch, column.removesuffix(".import_kw"), dt_h)
        if cost is not None:
            total += cost
    return total


#: the steps of a plan-versus-actual waterfall
ATTRIBUTION_STEPS = ("planned", "forecast error", "execution error", "model error", "realised")


def attribution_figure(cost_eur: Split, co2_kg: Split, title: str = "") -> go.Figure:
    """Plan versus actual as two waterfalls, planned -> forecast, execution and model
    error -> realised: cost [EUR] and CO2 [kg], every bar labelled with its value."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("cost [EUR]", "CO2 [kg]"))
    axes = ((cost_eur, "EUR", "EUR"), (co2_kg, "kg", "kg CO2"))
    for col, (split, unit, axis) in enumerate(axes, start=1):
        values = [split.planned, split.forecast, split.execution, split.model, split.realised]
        signs = ["", "+", "+", "+", ""]
        fig.add_trace(
            go.Waterfall(
                x=list(ATTRIBUTION_STEPS),
                y=values,
                measure=["absolute", "relative", "relative", "relative", "total"],
                text=[
                    f"{sign if v >= 0 else ''}{v:,.1f} {unit}"
                    for sign, v in zip(signs, values, strict=True)
                ],
                textposition="outside",
                name=unit,
                showlegend=False,
                connector={"line": {"width": 1, "dash": "dot"}},
                # more cost or CO2 red, less green
                increasing={"marker": {"color": "#c0392b"}},
                decreasing={"marker": {"color": "#27855a"}},
                totals={"marker": {"color": "#4a6fa5"}},
            ),
            row=1,
            col=col,
        )
        fig.update_yaxes(title_text=axis, row=1, col=col)
    fig.update_layout(title=title, height=420, template="plotly_white", margin={"t": 80})
    return fig
