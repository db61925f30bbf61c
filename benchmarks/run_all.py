"""Run every benchmark and print measured figures against their targets.

Usage: ``python benchmarks/run_all.py [--quick] [--scenario FILE] [--only NAME]``
(``make bench``). Each benchmark's rows go to ``benchmarks/results.json`` with the
plant, the machine and the time they were measured; a run replaces only the
benchmarks it ran.
Targets: a year of daily rolling windows (48 h, 1 h) within 60 s on a 2-core
machine; one daily window at 15 min built and solved within 1 s (median);
rolling regret with perfect forecasts within 1 % over a year (measured on the
example plant, whose year has a one-solve optimum; the plant under test over
a month); the six-site study within 4 minutes on two local workers, Dask within 15 %
of that, a resumed study within 5 s. Figures are timings of this machine; other work
on it slows them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_month  # noqa: E402
import bench_months  # noqa: E402
import bench_rolling_year  # noqa: E402
import bench_study  # noqa: E402
import bench_window  # noqa: E402
from common import DEFAULT_PLANT, machine, plant_path, print_table  # noqa: E402

BENCHMARKS = {
    "window": bench_window,
    "year": bench_rolling_year,
    "month": bench_month,
    "months": bench_months,
    "study": bench_study,
}
#: every run's rows, by benchmark, with the machine they were measured on
RESULTS = Path(__file__).resolve().parent / "results.json"


def main(argv: list[str] | None = None) -> int:
    """Entry point; prints the tables and which targets were missed (exit code 0)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (checks, not speed)")
    parser.add_argument("--scenario", help="scenario YAML (default: the default plant)")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append")
    args = parser.parse_args(argv)
    if args.quick:
        os.environ["ENERGYOPT_BENCH_QUICK"] = "1"
    logging.basicConfig(level=logging.WARNING)
    path = plant_path(args.scenario)
    note = "" if args.scenario or path == DEFAULT_PLANT else " (default plant not found: example)"
    where = machine()
    print(f"plant: {path.name}{note}; machine: {where}")
    missed = []
    results = _previous_results()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for name in args.only or list(BENCHMARKS):
        started = time.perf_counter()
        rows = BENCHMARKS[name].run(args.scenario)
        title = f"{name}: {path.stem}{' (quick)' if args.quick else ''}"
        print_table(rows, f"{title}, {time.perf_counter() - started:.0f} s")
        missed += [f"{name}: {row.name.strip()}" for row in rows if row.verdict == "MISSED"]
        results[name] = {
            "plant": path.name,
            "machine": where,
            "quick": args.quick,
            "measured_at": stamp,
            "rows": [row.as_dict() for row in rows],
        }
    print("targets missed: " + ("; ".join(missed) if missed else "none"))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0


def _previous_results() -> dict:
    """The results file as it is: a run replaces only the benchmarks it ran."""
    try:
        previous = json.loads(RESULTS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return previous if isinstance(previous, dict) and "benchmarks" not in previous else {}


if __name__ == "__main__":
    sys.exit(main())
