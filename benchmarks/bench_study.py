"""The six-site base study: local pool against a Dask LocalCluster, resume, worker memory.

``scenarios/studies/six-sites.yaml`` with one variant per site, hourly, rolling
on perfect forecasts only, over 2023 (quick: three days). Targets (issue #16):
the local executor with two workers within 4 minutes, a two-worker Dask
``LocalCluster`` within 15 % of it, a resume with every case done within 5 s,
and one worker's memory within 2 GiB.
"""

from __future__ import annotations

import datetime as dt
import resource
import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, Row, quick

from energyopt.inputs.config import read_scenario_document
from energyopt.studies.runner import run_study
from energyopt.studies.spec import Study, study_from_dict
from energyopt.studies.store import StudyStore

STUDY = ROOT / "scenarios" / "studies" / "six-sites.yaml"
WORKERS = 2
GIB = 1024**3


def study() -> Study:
    """The six-site study, rolling only, at the benchmark's size."""
    document = read_scenario_document(STUDY, follow_extends=False)
    document["modes"] = ["rolling"]
    if quick():
        document["period"] = {"start": dt.date(2023, 3, 6), "end": dt.date(2023, 3, 8)}
    return study_from_dict(document, STUDY)


def run(_path: str | None = None) -> list[Row]:
    """Measured rows (the scenario option does not apply: the study names its sites)."""
    loaded = study()
    root = Path(tempfile.mkdtemp(prefix="energyopt-bench-study-"))
    try:
        local_s, highs_s = _timed(loaded, StudyStore(root / "local", loaded.name), "local")
        rss_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / GIB
        dask_s, _ = _timed(loaded, StudyStore(root / "dask", loaded.name), "dask")
        started = time.perf_counter()
        resumed = run_study(study(), StudyStore(root / "local", loaded.name), workers=WORKERS)
        resume_s = time.perf_counter() - started
        assert not resumed.computed, resumed
    finally:
        shutil.rmtree(root, ignore_errors=True)
    days = (loaded.spec.period.end - loaded.spec.period.start).days + 1
    label = f"{len(loaded.cases)} sites x {days} days"
    return [
        Row(f"six-site study ({label}), local pool of 2", local_s, "s", 240.0),
        Row("  HiGHS's own run time, summed over the cases", highs_s, "s"),
        Row(f"six-site study ({label}), Dask LocalCluster of 2", dask_s, "s"),
        Row("  Dask time / local time", dask_s / local_s, "-", 1.15),
        Row("resumed study, every case done", resume_s, "s", 5.0),
        Row("peak memory of one worker", rss_gib, "GiB", 2.0),
    ]


def _timed(loaded: Study, store: StudyStore, executor: str) -> tuple[float, float]:
    """Wall time of the study [s] and HiGHS's own time over its cases [s]."""
    started = time.perf_counter()
    outcome = run_study(loaded, store, executor=executor, workers=WORKERS)  # type: ignore[arg-type]
    wall = time.perf_counter() - started
    assert not outcome.failed, outcome.failed
    highs = sum(
        store.kpis(case)["modes"]["rolling"].get("highs_s_total") or 0.0 for case in loaded.cases
    )
    return wall, highs
