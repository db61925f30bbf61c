"""What a study user reads: the case table, the ranking and one HTML report.

The table has one row per case, read from the stored KPIs of the case's plan
mode (``rolling`` if the case ran it, else ``perfect``, else ``baseline``).
Amounts (costs [EUR], CO2 [t], energies [kWh]) are per year: totals over the
study period times 365 / days (the period itself when it is a year).
Per-kWh-cell figures, shares, peaks [kW] and solver figures are as stored.

Ranking is by total cost per kWh of cells. Each case's plans are solved to
the study's MIP gap, so two costs closer than that gap (relative) cannot be
told apart: such a case is marked ``within gap`` of the case ranked above it.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from energyopt.outputs.plots import sankey_figure
from energyopt.outputs.study_plots import (
    cost_breakdown,
    duration_curves,
    kpi_bars,
    process_bars,
)
from energyopt.studies.spec import Case, Study
from energyopt.studies.store import CaseResults, StudyStore

#: the mode whose KPIs represent a case, in order of preference
PLAN_MODES = ("rolling", "perfect", "baseline")
#: the ranking's cost
RANK_BY = "total_cost_eur_per_kwh_cell"
#: units of the KPIs that are amounts over the period, scaled to a year
AMOUNT_UNITS = ("_eur", "_t", "_kwh")
#: KPIs in those units that are not amounts of the plant's operation
NOT_AMOUNTS = ("objective_eur",)


def is_amount(key: str) -> bool:
    """True for a KPI summed over the period (a cost, CO2 or an energy), not a rate."""
    return key.endswith(AMOUNT_UNITS) and "_per_" not in key and key not in NOT_AMOUNTS


#: the columns of the printed table: column -> (heading, format)
COLUMNS = {
    "total_cost_eur": ("cost [MEUR/a]", lambda v: f"{v / 1e6:,.2f}"),
    "co2_t": ("CO2 [kt/a]", lambda v: f"{v / 1e3:,.1f}"),
    "energy_kwh_per_kwh_cell": ("kWh/kWh cell", lambda v: f"{v:.1f}"),
    "co2_kg_per_kwh_cell": ("kg CO2/kWh cell", lambda v: f"{v:.2f}"),
    "energy_cost_eur_per_kwh_cell": ("EUR energy/kWh cell", lambda v: f"{v:.2f}"),
    "savings_vs_baseline_pct": ("saving vs baseline [%]", lambda v: f"{v:.1f}"),
    "pv_self_consumption_frac": ("PV self-use [%]", lambda v: f"{100 * v:.0f}"),
    "wind_self_consumption_frac": ("wind self-use [%]", lambda v: f"{100 * v:.0f}"),
}


def plan_mode(modes: dict) -> str:
    """The mode whose KPIs stand for a case."""
    return next(m for m in PLAN_MODES if m in modes)


def case_table(study: Study, store: CaseResults) -> pd.DataFrame:
    """One row per case (index ``site/variant``): status, reason, the plan mode's KPIs
    (absolute ones per year), final energy by process and the savings vs baseline."""
    scale = 365.0 / ((study.spec.period.end - study.spec.period.start).days + 1)
    rows = {}
    for case in study.cases:
        rows[case.name] = _row(case, store, scale)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "case"
    return table


def _row(case: Case, store: CaseResults, scale: float) -> dict:
    record = store.record(case) or {}
    row: dict = {"site": case.site, "variant": case.variant}
    status = record.get("status", "pending")
    row.update(status=status, reason=record.get("reason"), elapsed_s=record.get("elapsed_s"))
    if status != "done":
        return row
    stored = store.kpis(case)
    mode = plan_mode(stored["modes"])
    kpis = stored["modes"][mode]
    row["mode"] = mode
    for key, value in kpis.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and "." not in key:
            row[key] = value * scale if is_amount(key) else value
    row["savings_vs_baseline_pct"] = stored.get("savings_vs_baseline_pct")
    return row


def ranking(table: pd.DataFrame, gap: float) -> pd.DataFrame:
    """Done cases by total cost per kWh of cells (per year for a plant without cell
    production), each marked ``within gap`` when its cost is closer than ``gap``
    (relative) to the case ranked above it."""
    done = table[table["status"] == "done"]
    column = RANK_BY if RANK_BY in done and done[RANK_BY].notna().all() else "total_cost_eur"
    done = done.sort_values(column) if column in done else done
    cost: list[float] = done[column].tolist() if column in done else []
    marks = ["" if i == 0 else _significance(cost[i - 1], cost[i], gap) for i in range(len(cost))]
    frame = {"rank": range(1, len(done) + 1), column: cost, "vs_above": marks}
    return pd.DataFrame(frame, index=done.index)


def _significance(above: float, this: float, gap: float) -> str:
    difference = abs(this - above) / max(abs(this), abs(above), 1e-12)
    return "within gap (not significant)" if difference < gap else f"+{difference * 100:.2f} %"


def printable(table: pd.DataFrame) -> pd.DataFrame:
    """The table's main columns as formatted text (missing values as '-')."""
    out = table[["status"]].copy()
    for column, (heading, fmt) in COLUMNS.items():
        values = table[column] if column in table else pd.Series(None, index=table.index)
        out[heading] = [fmt(v) if pd.notna(v) else "-" for v in values]
    return out


def write_report(study: Study, store: StudyStore, path: str | Path | None = None) -> Path:
    """Write :func:`report_html` to ``path`` (default ``<results>/<study>/report.html``)."""
    path = Path(path) if path is not None else store.dir / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_html(study, store), encoding="utf-8")
    return path


def report_html(study: Study, store: CaseResults) -> str:
    """One self-contained HTML page (plotly.js embedded once) of the stored cases."""
    table = case_table(study, store)
    rank = ranking(table, study.spec.mip_rel_gap)
    parts = [
        _head(study, table),
        _html_table("Ranking", rank),
        _html_table("Cases", printable(table)),
    ]
    done = table[table["status"] == "done"]
    figures: list[go.Figure] = []
    if len(done):
        if "energy_kwh_per_kwh_cell" in done:  # a plant that makes cells
            figures += [kpi_bars(done), process_bars(done)]
        figures.append(cost_breakdown(done))
        figures += _duration_figures(study, store, done)
        figures += [_case_sankey(study, store, name) for name in done.index]
    for i, fig in enumerate(figures):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=i == 0, default_height=None))
    failed = table[table["status"] == "failed"]
    if len(failed):
        items = "".join(
            f"<li><b>{html.escape(str(n))}</b>: {html.escape(str(r))}</li>"
            for n, r in failed["reason"].items()
        )
        parts.append(f"<h2>Failed cases</h2><ul>{items}</ul>")
    body = "\n".join(parts)
    title = html.escape(study.name)
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style></head>"
        f"<body>{body}</body></html>"
    )


def _head(study: Study, table: pd.DataFrame) -> str:
    spec = study.spec
    counts = table["status"].value_counts().to_dict()
    done = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return (
        f"<h1>{html.escape(study.name)}</h1><p>{html.escape(spec.description)}</p>"
        f"<p>{spec.period.start} to {spec.period.end}, {spec.step} steps; cases: {done}. "
        f"Costs, CO2 and energies per year; plans solved to a {spec.mip_rel_gap:.2%} MIP gap, so "
        "cost differences below it are not significant. Targets: Batteries Europe 2030, "
        "&lt; 25 kWh and 10 kg CO2eq per kWh of cells.</p>"
    )


def _html_table(title: str, frame: pd.DataFrame) -> str:
    return f"<h2>{html.escape(title)}</h2>" + frame.to_html(na_rep="-", escape=True)


def _duration_figures(study: Study, store: CaseResults, done: pd.DataFrame) -> list[go.Figure]:
    by_name = {c.name: c for c in study.cases}
    prices: dict[str, pd.Series] = {}
    loads: dict[str, pd.Series] = {}
    for name in done.index:
        series = store.series(by_name[name])
        if "price_eur_per_mwh" in series:
            prices.setdefault(by_name[name].site, series["price_eur_per_mwh"])
        column = f"grid_net_kw:{done.loc[name, 'mode']}"
        if column in series:
            loads[name] = series[column] / 1e3
    return [
        duration_curves(prices, "Grid price duration curve per site", "price [EUR/MWh]"),
        duration_curves(loads, "Net grid import duration curve per case", "net import [MW]"),
    ]


def _case_sankey(study: Study, store: CaseResults, name: str) -> go.Figure:
    case = next(c for c in study.cases if c.name == name)
    flows = store.flows(case)
    mode = plan_mode(flows)
    links = [(a, b, float(v)) for a, b, v in flows[mode]]
    return sankey_figure(links, f"{name} ({mode}): energy flows over the period")
