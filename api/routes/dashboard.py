"""The dashboard page: each plant's latest schedule, KPIs against the baseline, recent
runs, and the latest studies with their ranking.

``GET /`` needs a viewer key like the API. A browser gives it once, as
``/?key=<token>`` or through the form the page shows without one; the
service then keeps it in an HTTP-only cookie (``energyopt_key``) and
redirects to ``/``, so the token does not stay in the address bar. API
clients may send the ``X-API-Key`` header instead.

The page works offline: plotly.js is served from the installed plotly
package at ``/static/plotly.min.js`` (no CDN). Charts are the dispatch
figure of :func:`energyopt.outputs.plots.dispatch_figure` (supply and draw per
carrier, storage levels, import price) for the delivery day, and plan versus
actual of the plant's latest past delivery day
(:func:`energyopt.outputs.plots.attribution_figure`: planned, forecast,
execution and model error, realised, for cost and CO2; computed once per
versions and readings, :mod:`energyopt.service.attribution`), or the reason
there is none (the day lacks meter readings, ...).
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import plotly
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.deps import ROLE_RANK
from api.routes.plants import get_scheduler
from api.routes.studies import study_out
from energyopt.errors import EnergyOptError
from energyopt.outputs.plots import attribution_figure, dispatch_figure
from energyopt.service import schedule
from energyopt.service.attribution import DayAttribution, day_attribution
from energyopt.service.planning import DataPaths
from energyopt.service.store import ApiKeyRecord, PlantRecord, Store
from energyopt.service.store import keys as key_store
from energyopt.service.store import plants as plant_store
from energyopt.service.store import runs as run_store
from energyopt.service.store import schedules as schedule_store
from energyopt.service.store import studies as study_store
from energyopt.service.store.records import StudyRecord
from energyopt.service.studies import stored_study

router = APIRouter(include_in_schema=False)
COOKIE = "energyopt_key"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
PLOTLY_URL = "/static/plotly.min.js"
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parents[1] / "templates"),
    autoescape=select_autoescape(["html"]),
)
#: KPIs of the plan-vs-baseline table: (key, label)
COMPARED = (
    ("total_cost_eur", "total cost [EUR]"),
    ("cost_energy_eur", "grid energy [EUR]"),
    ("cost_demand_charge_eur", "demand charge [EUR]"),
    ("cost_fuel_eur", "fuel [EUR]"),
    ("co2_t", "CO2 [t]"),
    ("grid_import_kwh", "grid import [kWh]"),
    ("peak_import_kw", "peak import [kW]"),
)
LOGIN_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>energyopt</title></head>
<body style="font-family: system-ui, sans-serif; margin: 2rem">
<h1>energyopt</h1><p>{message}</p>
<form method="post" action="/login"><label>API key (viewer or higher):
<input name="key" type="password" size="50" autofocus></label> <button>Open</button></form>
</body></html>"""


def _key(request: Request, store: Store) -> ApiKeyRecord | None:
    header = request.headers.get("x-api-key")
    auth = request.headers.get("authorization", "")
    bearer = auth[7:] if auth.lower().startswith("bearer ") else None
    token = header or bearer or request.cookies.get(COOKIE)
    return key_store.authenticate(store, token=token) if token else None


def _login(message: str, status_code: int = 401) -> HTMLResponse:
    return HTMLResponse(LOGIN_PAGE.format(message=message), status_code=status_code)


def _remember(token: str) -> RedirectResponse:
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
    return response


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    """plotly.js as bundled with the installed plotly package."""
    return FileResponse(
        PLOTLY_JS,
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.post("/login")
async def login(request: Request) -> Response:
    """Keep a valid key in a cookie and open the dashboard."""
    form = urllib.parse.parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("key") or [""])[0].strip()
    if not token or key_store.authenticate(request.app.state.store, token=token) is None:
        return _login("Unknown or revoked key.")
    return _remember(token)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, key: str | None = None) -> Response:
    """The dashboard (viewer key from header, cookie or ``?key=``)."""
    store: Store = request.app.state.store
    if key is not None:
        if key_store.authenticate(store, token=key) is None:
            return _login("Unknown or revoked key.")
        return _remember(key)
    record = _key(request, store)
    if record is None:
        return _login("This page needs an API key.")
    if ROLE_RANK[record.role] < ROLE_RANK["viewer"]:
        raise HTTPException(status_code=403, detail="this needs the viewer role")
    scheduler = get_scheduler(request)
    settings = request.app.state.settings
    paths = DataPaths(settings.allowed_data_roots, settings.scenarios_dir)
    plants = [
        {
            **plant_view(p, request.app.state.schedule_cache, scheduler),
            "attribution": attribution_view(p, store, paths),
        }
        for p in plant_store.list_plants(store, active_only=True)
    ]
    runs = [run_view(r) for r in run_store.list_runs(store, limit=10)]
    studies = [study_view(r, store) for r in study_store.list_studies(store, limit=5)]
    html = TEMPLATES.get_template("dashboard.html").render(
        plotly_url=PLOTLY_URL,
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        plants=plants,
        runs=runs,
        studies=studies,
    )
    return HTMLResponse(html)


def _number(value: Any) -> str:
    if value is None:
        return "-"
    value = float(value)
    return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"


def plant_view(plant: PlantRecord, cache, scheduler) -> dict[str, Any]:
    """What the page shows of one plant."""
    next_run = scheduler.next_run_time(plant.id) if scheduler and scheduler.running else None
    entry = cache.latest(plant.id)
    return {
        "id": plant.id,
        "name": plant.name,
        "timezone": plant.timezone,
        "planning_time": plant.planning_time.strftime("%H:%M"),
        "next_planning_at": None
        if next_run is None
        else f"{next_run.astimezone(dt.UTC):%Y-%m-%d %H:%M}",
        "schedule": None if entry is None else schedule_view(entry),
    }


def schedule_view(entry) -> dict[str, Any]:
    """Figure, flags and KPI tables of a schedule version."""
    record, payload = entry.record, entry.payload
    frame = schedule.to_frame(payload)
    zone = payload["plant"]["timezone"]
    title = f"{payload['plant']['name']}: {record.delivery_date} (version {record.version})"
    figure = dispatch_figure(frame, title=title, timezone=zone, kinds=payload.get("assets"))
    kpis = payload.get("kpis", {})
    state = payload.get("state", {})
    return {
        "delivery_date": record.delivery_date.isoformat(),
        "version": record.version,
        "issued_at": payload.get("issued_at", "")[:16].replace("T", " "),
        "status": record.solve_status,
        "is_fallback": record.is_fallback,
        "is_incumbent": record.is_incumbent,
        "gap": "-" if record.mip_gap is None else f"{record.mip_gap:.2%}",
        "fallback_reason": record.fallback_reason,
        "has_violations": record.has_violations,
        "violations": [_violation_row(v) for v in payload.get("violations", [])],
        "prechecks": payload.get("prechecks", []),
        "is_complete_day": payload.get("is_complete_day", True),
        "measured": ", ".join(sorted({s["asset"] for s in state.get("measured", [])})),
        "configured": ", ".join(state.get("configured_initial", [])),
        "forecast": payload.get("inputs", {}).get("forecast", "-"),
        "figure": figure.to_json().replace("</", "<\\/"),
        "day_kpis": [(k, _number(v)) for k, v in kpis.get("delivery_day", {}).items()],
        "window": _window_text(payload),
        **comparison_view(kpis),
    }


def attribution_view(plant: PlantRecord, store: Store, paths: DataPaths) -> dict[str, Any] | None:
    """Plan versus actual of the plant's latest past delivery day, or why there is none;
    None when no past day has a schedule."""
    today = dt.datetime.now(dt.UTC).astimezone(ZoneInfo(plant.timezone)).date()
    day = schedule_store.latest_day_before(store, plant_id=plant.id, before=today)
    if day is None:
        return None
    try:
        report = day_attribution(store, plant.id, day, paths)
    except EnergyOptError as exc:  # no readings, inputs end early, ...: say so
        return {"day": day.isoformat(), "reason": str(exc)}
    return {"day": day.isoformat(), "reason": None, **_attribution_parts(report)}


def _attribution_parts(report: DayAttribution) -> dict[str, Any]:
    split = report.split
    title = f"{report.plant.name}: plan versus actual, {report.delivery_date}"
    figure = attribution_figure(split.cost_eur, split.co2_kg, title=title)
    rows = [
        {
            "asset": r.asset,
            "carrier": r.carrier,
            "planned": _number(r.planned_kwh),
            "measured": _number(r.measured_kwh),
            "deviation": _number(r.deviation_kwh),
            "cost": _number(r.execution_cost_eur),
            "co2": _number(r.execution_co2_kg),
            "coverage": f"{r.intervals_measured}/{r.intervals_total}",
        }
        for r in split.rows
    ]
    return {
        "figure": figure.to_json().replace("</", "<\\/"),
        "rows": rows,
        "versions": ", ".join(str(v.version) for v in report.versions),
        "unmetered": ", ".join(split.unmetered),
    }


def _violation_row(violation: dict[str, Any]) -> dict[str, str]:
    """A missed requirement as table cells (times in UTC, amounts rounded)."""
    return {
        "asset": violation["asset"],
        "requirement": violation["requirement"],
        "span": f"{violation['start'][:16]} to {violation['end'][:16]}".replace("T", " "),
        "amount": f"{violation['amount']:,.1f} {violation['unit']}",
        "penalty": f"{violation['penalty_eur']:,.0f}",
    }


def _window_text(payload: dict[str, Any]) -> str:
    inputs = payload.get("inputs", {})
    start, end = inputs.get("window_start", ""), inputs.get("window_end", "")
    return f"{start[:16]} to {end[:16]} UTC"


def comparison_view(kpis: dict[str, Any]) -> dict[str, Any]:
    """Rows of the plan-vs-baseline table, or None without a baseline."""
    plan, base = kpis.get("window") or {}, kpis.get("baseline")
    if base is None:
        return {"comparison": None, "saving": None}
    rows = []
    for key, label in COMPARED:
        if key in plan and key in base:
            delta = float(plan[key]) - float(base[key])
            rows.append(
                {
                    "name": label,
                    "plan": _number(plan[key]),
                    "baseline": _number(base[key]),
                    "delta": _number(delta),
                }
            )
    saving = kpis.get("savings_vs_baseline") or {}
    frac = saving.get("total_cost_frac")
    text = "-"
    if saving.get("total_cost_eur") is not None:
        share = f" ({frac:.1%})" if frac is not None else ""
        text = f"{_number(saving['total_cost_eur'])} EUR{share}"
    return {"comparison": rows, "saving": text}


def run_view(run) -> dict[str, Any]:
    """One row of the recent-runs table."""
    duration = run.duration_s
    return {
        "id": run.id,
        "mode": run.mode,
        "scenario_name": run.scenario_name,
        "period_start": run.period_start.isoformat(),
        "status": run.status,
        "created": f"{run.created_at:%Y-%m-%d %H:%M}",
        "duration": "-" if duration is None else f"{duration:.1f}",
        "note": run.error or "",
    }


def study_view(record: StudyRecord, store: Store) -> dict[str, Any]:
    """One study of the page: state, progress and its ranking so far."""
    try:
        out = study_out(record, stored_study(record), store)
    except EnergyOptError as exc:  # a site file went away: state only
        out, note = study_out(record), f"no ranking: {exc}"
    else:
        note = record.error or ""
    unit = "EUR/kWh cell" if out.ranked_by == "total_cost_eur_per_kwh_cell" else "EUR/a"
    return {
        "id": record.id,
        "name": record.name,
        "status": record.status,
        "progress": f"{out.progress.cases_done} done, {out.progress.cases_failed} failed "
        f"of {out.progress.cases_total}",
        "created": f"{record.created_at:%Y-%m-%d %H:%M}",
        "unit": unit,
        "ranking": [
            {"rank": r.rank, "case": r.case, "cost": _number(r.cost), "vs_above": r.vs_above}
            for r in out.ranking or []
        ],
        "note": note,
    }
