"""The shared worker pool: urgent tasks (daily plans) never wait behind runs."""

from __future__ import annotations

import concurrent.futures as cf
import os
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from energyopt.service.workers import WorkerPool


def _sleep_then(seconds: float, label: str) -> tuple[str, float, int]:
    """Sleep in the worker; the label, when it finished (monotonic clock) and the pid."""
    time.sleep(seconds)
    return label, time.monotonic(), os.getpid()


def _die() -> None:
    os._exit(3)


@pytest.fixture(scope="module")
def pool():
    shared = WorkerPool(workers=1, reserved=1)
    shared.start()
    # both processes up before timing anything (they are spawned on demand)
    pids: set[int] = set()
    deadline = time.monotonic() + 120
    while len(pids) < 2 and time.monotonic() < deadline:
        pair = [shared.submit(_sleep_then, 0.5, "warm", urgent=True) for _ in range(2)]
        pids |= {future.result(timeout=120)[2] for future in pair}
    assert len(pids) == 2
    yield shared
    shared.shutdown()


def test_a_plan_uses_the_reserved_worker_while_runs_queue(pool):
    runs = [pool.submit(_sleep_then, 3.0, f"run{i}") for i in range(3)]
    time.sleep(0.3)  # run0 executes; run1 and run2 wait for the one run slot
    plan = pool.submit(_sleep_then, 0.1, "plan", urgent=True)
    label, plan_done, _ = plan.result(timeout=60)
    first_run_done = runs[0].result(timeout=60)[1]
    assert label == "plan"
    assert plan_done < first_run_done  # it did not wait for run0 to end
    finished = [f.result(timeout=60)[1] for f in runs]
    assert finished == sorted(finished)  # runs keep their order
    # two runs never executed side by side: each ended >= 3 s after the one before
    assert all(b - a >= 2.9 for a, b in zip(finished, finished[1:], strict=False))


def test_a_waiting_plan_goes_before_waiting_runs():
    single = WorkerPool(workers=1, reserved=0)
    try:
        busy = single.submit(_sleep_then, 1.0, "busy")
        waiting_run = single.submit(_sleep_then, 0.1, "run")
        plan = single.submit(_sleep_then, 0.1, "plan", urgent=True)
        busy.result(timeout=120)
        assert plan.result(timeout=60)[1] < waiting_run.result(timeout=60)[1]
    finally:
        single.shutdown()


def test_a_dead_worker_fails_its_task_only_and_the_pool_recovers(pool):
    dead = pool.submit(_die)
    with pytest.raises(BrokenProcessPool):
        dead.result(timeout=60)
    label, _, pid = pool.submit(_sleep_then, 0.0, "after").result(timeout=120)
    assert label == "after"
    assert pid in {p.pid for p in pool.processes()}


def test_shutdown_cancels_waiting_tasks():
    single = WorkerPool(workers=1, reserved=0)
    running = single.submit(_sleep_then, 0.5, "running")
    waiting = single.submit(_sleep_then, 0.1, "waiting")
    time.sleep(0.1)
    single.shutdown()
    assert waiting.cancelled()
    done, _ = cf.wait([running], timeout=30)  # ended one way or the other, never left hanging
    assert running in done


def test_sizes_are_checked():
    with pytest.raises(ValueError, match="workers must be >= 1"):
        WorkerPool(workers=0)
