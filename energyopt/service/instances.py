"""This process as one instance of the service on its database.

Several instances may share one PostgreSQL database; SQLite allows one.

* Each instance has an id (``ENERGYOPT_INSTANCE_ID``, default: host, pid and a
  random suffix) and a row in ``instances`` whose heartbeat a thread renews
  every ``instance_heartbeat_s``. Runs its workers claim record the id.
* The same thread takes over the runs of instances whose heartbeat is older
  than ``instance_timeout_s``: each is queued again once, or failed if it was
  retried already (:func:`energyopt.service.store.runs.take_over_runs`), and
  hands queued runs to free slots of this instance's pool every
  ``run_poll_s`` (:meth:`energyopt.service.jobs.RunExecutor.poll`), so a run
  queued through one instance, or taken over, runs wherever a worker is free.
* At start-up an instance takes over only runs of silent instances, never
  those of a live one. On SQLite it first takes an exclusive lock on a file
  next to the database (``<database>.instance.lock``): a second instance is
  refused (:class:`InstanceRefused`), and the lock proves that every other
  instance row is a dead one's, so their runs are taken over at once.
* A stopping instance queues its interrupted runs again (once) and deletes
  its row.
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import threading
import time
from pathlib import Path
from typing import IO

import sqlalchemy as sa

from energyopt.errors import ConflictError
from energyopt.service.jobs import MODES, JobContext, RunExecutor, interrupted_reason
from energyopt.service.settings import Settings
from energyopt.service.store import Store
from energyopt.service.store import instances as instance_store
from energyopt.service.store import runs as run_store

logger = logging.getLogger(__name__)

#: suffix of the lock file next to a SQLite database
LOCK_SUFFIX = ".instance.lock"


class InstanceRefused(ConflictError):
    """Another service instance holds the SQLite database."""


def sqlite_lock_path(store: Store) -> Path | None:
    """The lock file of a SQLite file database; None for PostgreSQL or in-memory ones."""
    database = sa.engine.make_url(store.url).database or ""
    if store.dialect != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        return None
    path = Path(database).expanduser().resolve()
    return path.with_name(path.name + LOCK_SUFFIX)


def lock_sqlite(path: Path) -> IO[str]:
    """Hold an exclusive lock on ``path`` for this process (released when it ends).

    Raises
    ------
    InstanceRefused
        Another process holds it.
    """
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        database = path.with_name(path.name.removesuffix(LOCK_SUFFIX))
        msg = (
            f"another service instance ({holder}) uses the SQLite database {database} "
            f"(it holds {path.name}); SQLite allows one instance (use PostgreSQL for several)"
        )
        raise InstanceRefused(msg) from None
    return handle


def check_sqlite_free(store: Store) -> None:
    """Raise :class:`InstanceRefused` if a service instance holds the store's SQLite file."""
    path = sqlite_lock_path(store)
    if path is not None:
        lock_sqlite(path).close()


@dataclasses.dataclass
class _Loop:
    """The instance's background thread and its stop signal."""

    thread: threading.Thread
    stop: threading.Event


class ServiceInstance:
    """Heartbeat, takeover of silent instances' runs and polling of queued runs.

    Parameters
    ----------
    settings : Settings
        The instance's id, timings and database.
    executor : RunExecutor, optional
        This process's run executor; without one queued runs are not polled.
    """

    def __init__(self, settings: Settings, executor: RunExecutor | None = None) -> None:
        self.settings = settings
        self.id = settings.instance_id
        self.executor = executor
        self.store: Store | None = None
        self._lock_file: IO[str] | None = None
        self._loop: _Loop | None = None

    @property
    def context(self) -> JobContext:
        """What a worker needs to execute a run of this instance."""
        assert self.store is not None, "start the instance first"
        return JobContext(
            store=self.store.config(),
            roots=self.settings.allowed_data_roots,
            base_dir=self.settings.scenarios_dir,
        )

    def start(self) -> None:
        """Lock (SQLite), register, take over silent instances' runs, start the thread.

        Raises
        ------
        InstanceRefused
            SQLite: another instance uses the database.
        """
        store = self.settings.open_store()
        store.migrate()
        lock_path = sqlite_lock_path(store)
        try:
            if lock_path is not None:
                self._lock_file = lock_sqlite(lock_path)
                self._lock_file.truncate(0)
                self._lock_file.write(f"{self.id}\n")
                self._lock_file.flush()
            instance_store.register_instance(store, instance_id=self.id)
        except BaseException:
            store.close()
            self._unlock()
            raise
        self.store = store
        if lock_path is not None:
            instance_store.remove_other_instances(store, instance_id=self.id)
        self._take_over(unowned=lock_path is not None)
        stop = threading.Event()
        thread = threading.Thread(target=self._run, args=(stop,), name="instance", daemon=True)
        self._loop = _Loop(thread, stop)
        thread.start()
        logger.info("service instance %s started", self.id)

    def _take_over(self, *, instance_ids: list[str] | None = None, unowned: bool = False) -> None:
        assert self.store is not None
        released = run_store.take_over_runs(
            self.store,
            error=interrupted_reason(),
            retry_modes=tuple(MODES),
            stale_after_s=self.settings.instance_timeout_s,
            instance_ids=instance_ids,
            unowned=unowned,
        )
        for run_id, status in released.items():
            logger.warning("instance %s: took over run %s: %s", self.id, run_id, status)

    def _run(self, stop: threading.Event) -> None:
        """Heartbeat every ``instance_heartbeat_s``, takeover and polling every ``run_poll_s``."""
        next_beat = 0.0
        while not stop.wait(0 if next_beat == 0.0 else self.settings.run_poll_s):
            try:
                if time.monotonic() >= next_beat:
                    self._beat()
                    next_beat = time.monotonic() + self.settings.instance_heartbeat_s
                self._take_over()
                if self.executor is not None:
                    self.executor.poll(self.context)
            except Exception:  # a database hiccup must not end the heartbeat
                logger.exception("instance %s: heartbeat failed", self.id)

    def _beat(self) -> None:
        assert self.store is not None
        if not instance_store.heartbeat(self.store, instance_id=self.id):
            logger.warning("instance %s: its row was gone (taken for dead); renewed", self.id)
            instance_store.register_instance(self.store, instance_id=self.id)

    def stop(self) -> None:
        """Stop the thread, queue this instance's interrupted runs again, delete its row."""
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.stop.set()
            loop.thread.join(timeout=30)
        if self.store is not None:
            self._take_over(instance_ids=[self.id])
            instance_store.remove_instance(self.store, instance_id=self.id)
            self.store.close()
            self.store = None
        self._unlock()
        logger.info("service instance %s stopped", self.id)

    def _unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing the descriptor releases the lock
            self._lock_file = None
