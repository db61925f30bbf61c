"""Run a study's cases on a local process pool or a Dask cluster, resuming.

Cases whose stored result matches their key are reused; the others are
submitted to the executor, and each result is stored as soon as it arrives,
so a study killed half-way keeps every finished case. A failed case is stored
with its reason and runs again next time; it never stops the others.

Executors:

* ``local``: a process pool of ``workers`` processes on this machine (one
  worker runs the cases in this process), or the caller's own ``pool`` (the
  service hands its worker pool: anything with ``submit(fn, *args)``
  returning a ``concurrent.futures.Future``), kept ``workers`` cases busy;
* ``dask``: ``dask.distributed`` on the scheduler at ``scheduler``
  (``tcp://host:8786``, started with ``dask scheduler`` and ``dask worker
  tcp://host:8786`` on each machine), or, without an address, on a
  ``LocalCluster`` of ``workers`` single-threaded worker processes. The
  workers need energyopt installed and the scenario's data files at the same
  paths (a shared file system).
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Literal

from energyopt.errors import ScenarioError
from energyopt.studies.cases import case_key, case_payload, run_case
from energyopt.studies.spec import Case, Study
from energyopt.studies.store import CaseResults

Executor = Literal["local", "dask"]
EXECUTORS = ("local", "dask")

#: progress callback: (case name, status, cases finished, cases to run)
CaseCallback = Callable[[str, str, int, int], None]
#: window progress callback: (case name, windows done, windows in the case)
WindowProgress = Callable[[str, int, int], None]


@dataclasses.dataclass
class StudyRun:
    """What one ``run_study`` call did."""

    computed: list[str] = dataclasses.field(default_factory=list)
    reused: list[str] = dataclasses.field(default_factory=list)
    failed: dict[str, str] = dataclasses.field(default_factory=dict)
    cancelled: list[str] = dataclasses.field(default_factory=list)


def pending_cases(study: Study, store: CaseResults) -> tuple[list[tuple[Case, str]], list[str]]:
    """(cases to run with their keys, names of cases whose stored result is current)."""
    todo, reused = [], []
    for case in study.cases:
        key = case_key(case_payload(case))
        if store.is_done(case, key):
            reused.append(case.name)
        else:
            todo.append((case, key))
    return todo, reused


def run_study(
    study: Study,
    store: CaseResults,
    *,
    executor: Executor = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    pool: Any = None,
    on_case: CaseCallback | None = None,
    on_window: WindowProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> StudyRun:
    """Run the cases of ``study`` that have no current result in ``store``.

    ``should_stop`` is polled as results arrive: once it returns True, queued
    cases are cancelled (running ones finish and are stored). A case whose
    future is cancelled (its pool shut down) counts as cancelled, not failed.
    """
    if executor not in EXECUTORS:
        raise ScenarioError(f"executor {executor!r}: use one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise ScenarioError(f"workers {workers}: at least 1")
    todo, reused = pending_cases(study, store)
    outcome = StudyRun(reused=reused)
    by_name = {case.name: (case, key) for case, key in todo}

    def finish(name: str, result: dict[str, Any]) -> None:
        case, key = by_name[name]
        store.save(case, key, result)
        outcome.computed.append(name)
        if result["status"] == "failed":
            outcome.failed[name] = result["reason"]
        if on_case is not None:
            on_case(name, result["status"], len(outcome.computed), len(todo))

    payloads = [case_payload(case) for case, _ in todo]
    if not payloads:
        return outcome
    if executor == "dask":
        outcome.cancelled = _run_dask(payloads, workers, scheduler, finish, should_stop)
    elif pool is not None:
        outcome.cancelled = _feed_pool(pool, payloads, workers or 1, None, finish, should_stop)
    else:
        outcome.cancelled = _run_local(payloads, workers, finish, on_window, should_stop)
    return outcome


def _run_local(payloads, workers, finish, on_window, should_stop) -> list[str]:
    workers = workers or min(len(payloads), os.cpu_count() or 1)
    if workers == 1:
        for i, payload in enumerate(payloads):
            if should_stop is not None and should_stop():
                return [p["name"] for p in payloads[i:]]
            name = payload["name"]
            windows = None if on_window is None else (lambda d, t, n=name: on_window(n, d, t))
            finish(name, run_case(payload, windows))
        return []
    context = multiprocessing.get_context("spawn")
    with contextlib.ExitStack() as stack:
        queue = None
        if on_window is not None:  # window progress from the workers, through a manager
            queue = stack.enter_context(context.Manager()).Queue()
            relay = _start_relay(queue, on_window)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            cancelled = _feed_pool(pool, payloads, workers, queue, finish, should_stop)
        if queue is not None:
            queue.put(None)
            relay.join()
    return cancelled


def _run_reporting(payload: dict[str, Any], queue) -> dict[str, Any]:
    """``run_case`` in a pool worker, sending window progress to ``queue``."""
    name = payload["name"]
    windows = None if queue is None else (lambda done, total: queue.put((name, done, total)))
    return run_case(payload, windows)


def _start_relay(queue, on_window) -> threading.Thread:
    """A thread handing window progress from the workers to ``on_window``."""

    def relay() -> None:
        while (item := queue.get()) is not None:
            on_window(*item)

    thread = threading.Thread(target=relay, daemon=True)
    thread.start()
    return thread


def _feed_pool(pool, payloads, workers, queue, finish, should_stop) -> list[str]:
    """Keep ``workers`` cases running, the rest queued here (so a stop can cancel them:
    a pool's own queue hands work to its processes ahead of time)."""
    waiting = list(payloads)
    running: dict = {}

    def submit_next() -> None:
        if waiting:
            payload = waiting.pop(0)
            running[pool.submit(_run_reporting, payload, queue)] = payload["name"]

    for _ in range(workers):
        submit_next()
    cancelled: list[str] = []
    while running:
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        pool_stopped = False
        for future in done:
            name = running.pop(future)
            if future.cancelled():  # the pool was shut down: nothing more goes to it
                cancelled.append(name)
                pool_stopped = True
            else:
                finish(name, _result(future))
        if waiting and (pool_stopped or (should_stop is not None and should_stop())):
            cancelled += [p["name"] for p in waiting]
            waiting.clear()
        for _ in done:
            submit_next()
    return cancelled


def _result(future) -> dict[str, Any]:
    """A finished future's case result; a worker that died is a failed case."""
    try:
        return future.result()
    except Exception as exc:  # the worker itself died (killed, out of memory)
        reason = " ".join(f"worker lost: {type(exc).__name__}: {exc}".split())
        return {"status": "failed", "reason": reason}


def _collect(futures: dict, completed: Iterable, finish, should_stop) -> list[str]:
    """Store results as they complete; on ``should_stop`` cancel what has not finished
    (Dask stops running cases too)."""
    cancelled: list[str] = []
    stopped = False
    for future in completed:
        if future.cancelled():
            continue
        finish(futures[future], _result(future))
        if not stopped and should_stop is not None and should_stop():
            stopped = True
            for other, name in futures.items():
                if not other.done() and other.cancel() is not False:
                    cancelled.append(name)
    return cancelled


def _run_dask(payloads, workers, scheduler, finish, should_stop) -> list[str]:
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed
    except ImportError:  # pragma: no cover - the study extra installs it
        raise ScenarioError(
            "executor dask needs dask.distributed: pip install 'energyopt[study]'"
        ) from None
    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=workers or 2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        client = Client(cluster)
    try:
        futures = {
            client.submit(run_case, p, key=f"energyopt-case-{uuid.uuid4().hex}"): p["name"]
            for p in payloads
        }
        return _collect(futures, dask_completed(list(futures)), finish, should_stop)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
