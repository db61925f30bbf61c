"""Write a run's outputs: dispatch.csv, kpis.json and the HTML charts."""

from __future__ import annotations

import json
import math
from pathlib import Path

from energyopt.pipeline import RunResult
from energyopt.plots import dispatch_figure, write_html


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_outputs(result: RunResult, out_dir: str | Path) -> list[Path]:
    """Write ``dispatch.csv``, ``kpis.json`` and ``dispatch.html`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "dispatch.csv"
    result.dispatch.to_csv(csv_path, index_label="timestamp_utc", date_format="%Y-%m-%dT%H:%M:%SZ")
    kpi_path = out / "kpis.json"
    kpi_path.write_text(
        json.dumps({k: _jsonable(v) for k, v in result.kpis.items()}, indent=2) + "\n",
        encoding="utf-8",
    )
    figure = dispatch_figure(
        result.dispatch,
        title=f"{result.scenario.name}",
        timezone=result.scenario.site.timezone,
    )
    html_path = write_html(figure, out / "dispatch.html")
    return [csv_path, kpi_path, html_path]
