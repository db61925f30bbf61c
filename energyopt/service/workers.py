"""The service's one pool of worker processes, shared by runs and daily plans.

Worker processes use the ``spawn`` start method (a clean interpreter: no
inherited locks or database connections) and are replaced after
:data:`TASKS_PER_WORKER` tasks (bounds memory growth). The pool has
``workers`` processes for any task plus ``reserved`` more that only *urgent*
tasks may use: a daily plan is urgent, so it never waits behind a queue of
year-long studies, and it is handed out before any waiting run. Tasks wait
in the service process until a slot is free (urgent first, then in order of
submission), so a broken pool loses only the tasks it was executing.

A worker keeps what it loads between tasks: the solver stack, its store
connections (:func:`worker_store`) and the warm plant sessions of the
planner.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import heapq
import itertools
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from energyopt.service.store.db import Store, StoreConfig

logger = logging.getLogger(__name__)

#: tasks one worker process executes before it is replaced (bounds memory growth)
TASKS_PER_WORKER = 50

#: tasks in a row that lost their worker before the pool reports itself unhealthy
DEATHS_UNHEALTHY = 2

_WORKER_STORES: dict[StoreConfig, Store] = {}


def worker_store(config: StoreConfig) -> Store:
    """This worker process's store for ``config`` (opened once per process)."""
    if config not in _WORKER_STORES:
        _WORKER_STORES[config] = config.open()
    return _WORKER_STORES[config]


def _init_worker(log_level: int) -> None:
    logging.basicConfig(level=log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")


def warm_up() -> int:
    """Import the solver stack in a fresh worker (first tasks start faster)."""
    import energyopt.engine.pipeline  # noqa: F401

    return os.getpid()


class WorkerPool:
    """Worker processes for runs and plans, with slots reserved for urgent tasks.

    Parameters
    ----------
    workers : int
        Processes any task may use [-].
    reserved : int
        Further processes only urgent tasks (daily plans) may use [-].
    log_level : int
        Logging level inside the workers.
    """

    def __init__(self, *, workers: int = 1, reserved: int = 1, log_level: int = logging.INFO):
        if workers < 1 or reserved < 0:
            raise ValueError(f"workers must be >= 1 and reserved >= 0, got {workers}, {reserved}")
        self.workers = workers
        self.reserved = reserved
        self.log_level = log_level
        self._executor: cf.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._waiting: list[tuple[int, int, cf.Future, Callable, tuple]] = []
        self._order = itertools.count()
        self._busy = {True: 0, False: 0}  # executing tasks by urgency
        #: tasks in a row whose worker died (0 after any task that ended normally)
        self.deaths_in_a_row = 0

    @property
    def size(self) -> int:
        """Number of worker processes [-]."""
        return self.workers + self.reserved

    def start(self) -> None:
        """Start the processes' pool and warm one worker up (idempotent)."""
        with self._lock:
            if self._executor is None:
                self._executor = self._new_executor()
                self._executor.submit(warm_up)

    def _new_executor(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=self.size,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.log_level,),
            max_tasks_per_child=TASKS_PER_WORKER,
        )

    def submit(self, fn: Callable[..., Any], *args: Any, urgent: bool = False) -> cf.Future:
        """Run ``fn(*args)`` in a worker (picklable both); a future of its result.

        The future fails with :class:`BrokenProcessPool` if the worker
        executing it dies; the pool is then replaced for the tasks after it.
        """
        self.start()
        outer: cf.Future = cf.Future()
        with self._lock:
            entry = (0 if urgent else 1, next(self._order), outer, fn, args)
            heapq.heappush(self._waiting, entry)
            self._dispatch()
        return outer

    def _may_start(self, urgent: bool) -> bool:
        busy = self._busy[True] + self._busy[False]
        if urgent:
            return busy < self.size
        return busy < self.size and self._busy[False] < self.workers

    def _dispatch(self) -> None:
        """Hand waiting tasks to free slots (called with the lock held)."""
        while self._waiting and self._executor is not None:
            # urgent tasks sort first: when the first waiting task cannot start, none can
            rank, _, outer, fn, args = self._waiting[0]
            urgent = rank == 0
            if not self._may_start(urgent):
                return
            heapq.heappop(self._waiting)
            if not outer.set_running_or_notify_cancel():
                continue
            executor = self._executor
            try:
                inner = executor.submit(fn, *args)
            except BrokenProcessPool:
                logger.warning("worker pool was broken; starting a new one")
                executor = self._executor = self._new_executor()
                inner = executor.submit(fn, *args)
            self._busy[urgent] += 1
            inner.add_done_callback(
                functools.partial(self._finished, outer=outer, urgent=urgent, executor=executor)
            )

    def _finished(
        self, inner: cf.Future, outer: cf.Future, urgent: bool, executor: cf.ProcessPoolExecutor
    ) -> None:
        with self._lock:
            self._busy[urgent] -= 1
            error = None if inner.cancelled() else inner.exception()
            died = isinstance(error, BrokenProcessPool)
            self.deaths_in_a_row = self.deaths_in_a_row + 1 if died else 0
            if died and self._executor is executor:
                logger.warning("a worker process died; starting a new pool")
                self._executor = self._new_executor()
            self._dispatch()
        if inner.cancelled():
            outer.cancel()
        elif error is not None:
            outer.set_exception(error)
        else:
            outer.set_result(inner.result())

    def free_slots(self, urgent: bool = False) -> int:
        """Tasks (urgent or not) that would start now, with none waiting [-]."""
        with self._lock:
            busy = self._busy[True] + self._busy[False]
            free = self.size - busy
            if not urgent:
                free = min(free, self.workers - self._busy[False])
            return max(0, free - len(self._waiting))

    def health(self) -> dict[str, Any]:
        """Pool state for ``/health``; ``ok`` is False once two tasks in a row lost
        their worker (a retried task died again: workers cannot run)."""
        with self._lock:
            busy = self._busy[True] + self._busy[False]
            waiting = len(self._waiting)
        return {
            "ok": self.deaths_in_a_row < DEATHS_UNHEALTHY,
            "processes": self.size,
            "reserved_for_plans": self.reserved,
            "executing": busy,
            "waiting": waiting,
            "worker_deaths_in_a_row": self.deaths_in_a_row,
        }

    def processes(self) -> list[multiprocessing.Process]:
        """The live worker processes (for health reports and tests)."""
        with self._lock:
            executor = self._executor
        return list((getattr(executor, "_processes", None) or {}).values())

    def shutdown(self) -> None:
        """Cancel waiting tasks and terminate the worker processes."""
        with self._lock:
            executor, self._executor = self._executor, None
            waiting, self._waiting = self._waiting, []
        for _, _, outer, _, _ in waiting:
            outer.cancel()
        if executor is None:
            return
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)
