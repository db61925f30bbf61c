"""Files of a simulation.

``dispatch.csv``
    The operation of the main run: the rolling run as replayed on actual
    inputs if it ran, else perfect foresight, else the baseline. With more than
    one mode, the others follow as ``dispatch_<mode>.csv``.
``plan.csv``, ``windows.csv``, ``state.json``
    Rolling runs: the committed plan as planned (forecast inputs), one row per
    window (issue time, build/update and solve seconds, status, fallback), and
    the state handed on after the last window.
``kpis.json``
    One mode: its KPIs. Several: ``savings_vs_baseline_pct``,
    ``rolling_regret_pct`` and the other comparison figures, then one object
    of KPIs per mode.
``comparison.html`` / ``dispatch.html``
    The modes side by side, or the single run's dispatch chart.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from energyopt.engine.rolling.simulate import MODES, Simulation
from energyopt.outputs.plots import comparison_figure, dispatch_figure, write_html

DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _plain(value):
    """JSON-able: NaN and infinities become null, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index_label="timestamp_utc", date_format=DATE_FORMAT)
    return path


def write_simulation(sim: Simulation, out_dir: str | Path) -> list[Path]:
    """Write the files of ``sim`` to ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    modes = [m for m in MODES if m in sim.runs]
    main = modes[0]
    paths = [_write_csv(sim.runs[main].dispatch, out / "dispatch.csv")]
    paths += [_write_csv(sim.runs[m].dispatch, out / f"dispatch_{m}.csv") for m in modes[1:]]
    if sim.rolling is not None:
        paths.append(_write_csv(sim.rolling.plan, out / "plan.csv"))
        windows = pd.DataFrame([w.as_dict() for w in sim.rolling.windows])
        windows.to_csv(out / "windows.csv", index=False)
        (out / "state.json").write_text(sim.rolling.states[-1].to_json() + "\n", encoding="utf-8")
        paths += [out / "windows.csv", out / "state.json"]
    kpi_path = out / "kpis.json"
    kpi_path.write_text(json.dumps(_plain(sim.kpis()), indent=2) + "\n", encoding="utf-8")
    paths.append(kpi_path)
    timezone = sim.scenario.site.timezone
    if len(modes) > 1:
        figure = comparison_figure(
            {m: sim.runs[m].dispatch for m in modes},
            {m: sim.runs[m].kpis for m in modes},
            title=f"{sim.scenario.name}: {', '.join(modes)}",
            timezone=timezone,
        )
        paths.append(write_html(figure, out / "comparison.html"))
    else:
        figure = dispatch_figure(
            sim.runs[main].dispatch,
            title=f"{sim.scenario.name}: {main}",
            timezone=timezone,
            kinds=sim.scenario.plant.kinds(),
        )
        paths.append(write_html(figure, out / "dispatch.html"))
    return paths
