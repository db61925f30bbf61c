"""Case results on disk, so a study resumes where it stopped.

Layout under the results root (default ``out/studies``)::

    <study>/cases/<site>/<variant>/case.json    status, key, reason, timings
                                   kpis.json    KPIs per mode and the comparison
                                   flows.json   Sankey links per mode [kWh]
                                   series.csv   hourly price and net grid import per mode

``case.json`` is written last and atomically (temporary file, then rename): a
case directory without it, or with a key that no longer matches the case's
input, is not done and runs again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from energyopt.studies.spec import Case


class CaseResults(Protocol):
    """Where a study's case results live: files (:class:`StudyStore`) or the service's
    database (``energyopt.service.store.studies.StoredCaseResults``).

    A result handed to :meth:`save` is what :func:`energyopt.studies.cases.run_case`
    returns; ``record`` gives back its summary (``status``, ``key``, ``reason``,
    ``elapsed_s``, ``n_solves``, ``finished_at``).
    """

    def record(self, case: Case) -> dict[str, Any] | None:
        """The stored summary of ``case``, or None."""
        ...

    def is_done(self, case: Case, key: str) -> bool:
        """True if ``case`` has a finished result for input ``key``."""
        ...

    def save(self, case: Case, key: str, result: dict[str, Any]) -> None:
        """Store a worker's result for ``case`` (done or failed)."""
        ...

    def kpis(self, case: Case) -> dict[str, Any]:
        """KPIs of a done case: ``modes`` (per mode) and the comparison keys."""
        ...

    def flows(self, case: Case) -> dict[str, list]:
        """Sankey links ``[source, target, kWh]`` per mode of a done case."""
        ...

    def series(self, case: Case) -> pd.DataFrame:
        """Hourly price [EUR/MWh] and net grid import per mode [kW] of a done case."""
        ...


def case_summary(case: Case, key: str, result: dict[str, Any]) -> dict[str, Any]:
    """What ``record`` returns for a result stored now."""
    return {
        "site": case.site,
        "variant": case.variant,
        "modes": list(case.modes),
        "forecast": case.forecast,
        "key": key,
        "status": result["status"],
        "reason": result.get("reason"),
        "elapsed_s": result.get("elapsed_s"),
        "n_solves": result.get("n_solves"),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def series_frame(series: dict[str, list]) -> pd.DataFrame:
    """A result's ``series`` as a table on its UTC time stamps (column ``timestamp_utc``)."""
    frame = pd.DataFrame(series).set_index("time")
    frame.index.name = "timestamp_utc"
    return frame


class StudyStore:
    """Results of one study's cases under ``root/<study name>`` (a :class:`CaseResults`)."""

    def __init__(self, root: str | Path, study_name: str) -> None:
        self.dir = Path(root) / study_name

    def case_dir(self, case: Case) -> Path:
        return self.dir / "cases" / case.site / case.variant

    def record(self, case: Case) -> dict[str, Any] | None:
        """The stored ``case.json`` of ``case``, or None."""
        path = self.case_dir(case) / "case.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def is_done(self, case: Case, key: str) -> bool:
        """True if ``case`` has a finished result for input ``key``."""
        record = self.record(case)
        return record is not None and record.get("key") == key and record["status"] == "done"

    def save(self, case: Case, key: str, result: dict[str, Any]) -> None:
        """Store a worker's result for ``case`` (done or failed)."""
        folder = self.case_dir(case)
        folder.mkdir(parents=True, exist_ok=True)
        if result["status"] == "done":
            _write_json(folder / "kpis.json", {"modes": result["kpis"], **result["comparison"]})
            _write_json(folder / "flows.json", result["flows"])
            tmp = folder / "series.csv.tmp"
            series_frame(result["series"]).to_csv(tmp)
            os.replace(tmp, folder / "series.csv")
        _write_json(folder / "case.json", case_summary(case, key, result))

    def kpis(self, case: Case) -> dict[str, Any]:
        """Stored KPIs of a done case (``modes``: per mode; comparison keys at the top)."""
        return json.loads((self.case_dir(case) / "kpis.json").read_text(encoding="utf-8"))

    def flows(self, case: Case) -> dict[str, list]:
        return json.loads((self.case_dir(case) / "flows.json").read_text(encoding="utf-8"))

    def series(self, case: Case) -> pd.DataFrame:
        return pd.read_csv(self.case_dir(case) / "series.csv", index_col=0)


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(value, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
