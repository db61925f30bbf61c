"""Plotly figures of a plan. No solving, no file I/O beyond ``write_html``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from energyopt.model import flow_unit
from energyopt.results import carriers_in, injection_columns
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
    x = dispatch.index.tz_convert(timezone)
    for row, carrier in enumerate(carriers, start=1):
        for column in injection_columns(dispatch, carrier):
            series = dispatch[column]
            asset = column.split(".", 1)[0]
            for part, group in (
                (series.clip(lower=0), "supply"),
                (series.clip(upper=0), "draw"),
            ):
                if part.abs().max() > 1e-6:
                    fig.add_trace(
                        go.Scatter(
                            x=x,
                            y=part,
                            name=f"{asset} ({carrier})",
                            stackgroup=f"{carrier}-{group}",
                            line={"shape": "hv", "width": 0.5},
                            legendgroup=carrier,
                        ),
                        row=row,
                        col=1,
                    )
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


def write_html(fig: go.Figure, path: str | Path) -> Path:
    """Write a self-contained HTML file (plotly.js embedded: works offline)."""
    path = Path(path)
    fig.write_html(path, include_plotlyjs=True, full_html=True)
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
