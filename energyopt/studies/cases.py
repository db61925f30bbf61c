"""Running one study case, and the key its result is stored under.

:func:`run_case` takes a plain payload (a resolved scenario document and the
run options) and returns a plain result, so it runs the same in this process,
in a local process pool or on a Dask worker on another machine. It never
raises: a case that fails returns its one-line reason.

:func:`case_key` digests everything the result depends on: the resolved
scenario document with each ``file`` replaced by the digest of its content,
the run options and the code (the package version and its source files).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

import energyopt
from energyopt.errors import EnergyOptError
from energyopt.inputs.timeseries import index_step
from energyopt.outputs.plant_kpis import energy_flows, sankey_links
from energyopt.studies.spec import Case

#: characters of a case key (hex)
KEY_CHARS = 24


def case_payload(case: Case) -> dict[str, Any]:
    """What a worker needs to run ``case`` (plain data, picklable)."""
    return {
        "name": case.name,
        "document": case.document,
        "modes": list(case.modes),
        "forecast": case.forecast,
        "start": case.start.isoformat(),
        "end": case.end.isoformat(),
        "step": case.step,
    }


def case_key(payload: dict[str, Any]) -> str:
    """Digest of a case's full resolved input and the code that runs it."""
    inputs = {k: v for k, v in payload.items() if k != "name"}
    inputs["document"] = _with_file_digests(payload["document"])
    inputs["code"] = code_version()
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_CHARS]


def _with_file_digests(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: file_digest(v) if k == "file" and isinstance(v, str) else _with_file_digests(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_with_file_digests(v) for v in node]
    return node


def file_digest(path: str) -> str:
    """SHA-256 of a file's content (``missing:<path>`` if it cannot be read)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return f"missing:{path}"


@functools.cache
def code_version() -> str:
    """The package version and a digest of its Python sources."""
    root = Path(energyopt.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return f"{energyopt.__version__}+{digest.hexdigest()[:12]}"


def run_case(
    payload: dict[str, Any], on_window: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Simulate one case; ``on_window(done, total)`` after each rolling window.

    Returns ``{"status": "done", "kpis", "flows", "series", "n_solves",
    "elapsed_s"}`` or ``{"status": "failed", "reason", "elapsed_s"}``.
    """
    started = time.perf_counter()
    try:
        result = _simulate(payload, on_window)
    except EnergyOptError as exc:
        result = {"status": "failed", "reason": _one_line(str(exc))}
    except Exception as exc:  # a worker must report, not die: the study goes on
        result = {"status": "failed", "reason": _one_line(f"{type(exc).__name__}: {exc}")}
    result["elapsed_s"] = time.perf_counter() - started
    return result


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _simulate(payload: dict[str, Any], on_window) -> dict[str, Any]:
    from energyopt.engine.forecast import ForecastOptions
    from energyopt.engine.rolling import simulate
    from energyopt.inputs.config import scenario_from_dict

    scenario = scenario_from_dict(payload["document"], f"case {payload['name']}")
    callback = None if on_window is None else (lambda r, total: on_window(r.number, total))
    sim = simulate(
        scenario,
        dt.date.fromisoformat(payload["start"]),
        dt.date.fromisoformat(payload["end"]),
        modes=tuple(payload["modes"]),
        step=payload["step"],
        forecast=ForecastOptions(kind=payload["forecast"]),
        on_window=callback,
    )
    n_windows = len(sim.rolling.windows) if sim.rolling is not None else 0
    return {
        "status": "done",
        "kpis": {mode: plain(run.kpis) for mode, run in sim.runs.items()},
        "comparison": plain(sim.comparison),
        "flows": {mode: _flows(run) for mode, run in sim.runs.items()},
        "series": _series(sim.runs),
        "n_solves": n_windows + sum(m != "rolling" for m in sim.runs),
    }


def plain(values: dict[str, Any]) -> dict[str, Any]:
    """KPIs as JSON values: non-finite numbers become None."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, bool | str) or value is None:
            out[key] = value
        elif isinstance(value, int | float):
            out[key] = float(value) if math.isfinite(value) else None
    return out


def _flows(run) -> list[list[Any]]:
    """Sankey links (source, target, kWh) of a run."""
    assets = run.plant.assets if run.plant is not None else {}
    dt_h = index_step(run.dispatch.index) / pd.Timedelta("1h")
    return [
        [a, b, float(kwh)]
        for a, b, kwh in sankey_links(energy_flows(run.dispatch, assets, dt_h), assets)
    ]


def _series(runs: dict) -> dict[str, list]:
    """Hourly grid price [EUR/MWh] and net grid import per mode [kW] for duration curves."""
    first = next(iter(runs.values()))
    assets = first.plant.assets if first.plant is not None else {}
    grids = [(n, a) for n, a in assets.items() if a.import_column is not None]
    out: dict[str, list] = {"time": [t.isoformat() for t in first.dispatch.index]}
    if not grids:
        return out
    price = first.dispatch.get(f"{grids[0][0]}.price_import_eur_per_kwh")
    if price is not None:
        out["price_eur_per_mwh"] = (price * 1000.0).round(4).tolist()
    for mode, run in runs.items():
        net = sum(
            run.dispatch[f"{n}.{a.import_column}"]
            - (run.dispatch[f"{n}.{a.export_column}"] if a.export_column else 0.0)
            for n, a in grids
        )
        out[f"grid_net_kw:{mode}"] = pd.Series(net).round(3).tolist()
    return out
