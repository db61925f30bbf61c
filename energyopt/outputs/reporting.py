"""Write a run's outputs: dispatch.csv, kpis.json and the HTML charts."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from energyopt.inputs.timeseries import index_step
from energyopt.outputs.plant_kpis import energy_flows, sankey_links
from energyopt.outputs.plots import dispatch_figure, sankey_figure, write_html

if TYPE_CHECKING:
    from energyopt.engine.pipeline import RunResult


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_outputs(result: RunResult, out_dir: str | Path) -> list[Path]:
    """Write ``dispatch.csv``, ``kpis.json``, ``violations.json`` (what a soft plan
    misses and the pre-checks; empty lists for a plan that meets every requirement),
    ``dispatch.html`` and ``sankey.html``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "dispatch.csv"
    result.dispatch.to_csv(csv_path, index_label="timestamp_utc", date_format="%Y-%m-%dT%H:%M:%SZ")
    kpi_path = out / "kpis.json"
    kpi_path.write_text(
        json.dumps({k: _jsonable(v) for k, v in result.kpis.items()}, indent=2) + "\n",
        encoding="utf-8",
    )
    violation_path = out / "violations.json"
    missed = {
        "violations": [v.as_dict() for v in result.violations],
        "prechecks": list(result.prechecks),
    }
    violation_path.write_text(json.dumps(missed, indent=2) + "\n", encoding="utf-8")
    figure = dispatch_figure(
        result.dispatch,
        title=f"{result.scenario.name}",
        timezone=result.scenario.site.timezone,
        kinds=result.scenario.plant.kinds(),
    )
    html_path = write_html(figure, out / "dispatch.html")
    return [csv_path, kpi_path, violation_path, html_path, write_sankey(result, out)]


def write_sankey(result: RunResult, out: Path) -> Path:
    """Energy flows from sources via conversion to processes, as ``sankey.html``."""
    assets = result.plant.assets if result.plant else {}
    dt_h = index_step(result.dispatch.index) / pd.Timedelta("1h")
    flows = energy_flows(result.dispatch, assets, dt_h)
    figure = sankey_figure(
        sankey_links(flows, assets), title=f"{result.scenario.name}: energy flows"
    )
    return write_html(figure, out / "sankey.html")
