"""Site studies in the service: checking a submitted study, and running studies.

A study arrives as the path of a study file in the scenarios directory or as
an inline study document (:func:`submitted_study`); site files and every data
file a case names must lie in the service's data directories, as for
scenario documents (:mod:`energyopt.service.store.documents`). The stored
study keeps its site and data paths absolute, so it reloads the same after
a restart.

:class:`StudyRunner` is one thread of the service process that claims queued
studies one at a time and runs their cases with
:func:`energyopt.studies.runner.run_study` on the executor the deployment
names (``ENERGYOPT_STUDY_EXECUTOR``): ``local`` hands cases to the service's
worker pool (so studies, runs and daily plans share its processes, plans
first), ``dask`` to the Dask scheduler at ``ENERGYOPT_DASK_SCHEDULER`` (a
``LocalCluster`` of ``worker_count`` workers when none is set). Case results
go to the store as they arrive; a study cut short by a stop resumes at the
next start with the cases it has not finished.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from energyopt.errors import DocumentError, EnergyOptError
from energyopt.inputs.config import bad_number, read_scenario_document
from energyopt.service.settings import Settings
from energyopt.service.store import Store
from energyopt.service.store import studies as study_store
from energyopt.service.store.documents import resolve_files, validate_document
from energyopt.service.store.records import StudyRecord
from energyopt.service.workers import WorkerPool
from energyopt.studies.runner import pending_cases, run_study
from energyopt.studies.spec import Study, study_from_dict
from energyopt.studies.store import CaseResults

logger = logging.getLogger(__name__)

#: most sites, and most variants, of one submitted study [-]
MAX_SITES = 50
MAX_VARIANTS = 100


# ----------------------------------------------------------------- submission


def submitted_study(
    *, path: str | None, document: Any, settings: Settings
) -> tuple[Study, dict[str, Any]]:
    """The validated study of a request, and its document with absolute paths.

    Raises
    ------
    DocumentError
        Naming the field (``path``, ``study.sites.<site>``, ``study.variants...``)
        or the case (``site/variant``) and key of the first problem.
    """
    roots = settings.allowed_data_roots
    if path is not None:
        file = _allowed_yaml(path, roots=roots, base_dir=settings.scenarios_dir, where="path")
        try:
            raw = read_scenario_document(file, follow_extends=False)
        except EnergyOptError as exc:
            raise DocumentError(f"path: {exc}", field="path") from None
        base_dir, source, field = file.parent, file, "path"
    else:
        raw = dict(_checked_inline(document))
        if "variants" in raw:  # their data files, as in a scenario document
            raw["variants"] = resolve_files(
                raw["variants"], roots=roots, base_dir=settings.scenarios_dir, path="study.variants"
            )
        base_dir, source, field = settings.scenarios_dir, Path("study"), "study"
    resolved = dict(raw)
    sites = raw.get("sites")
    if isinstance(sites, dict):
        resolved["sites"] = {
            site: str(
                _allowed_yaml(file, roots=roots, base_dir=base_dir, where=f"{field}.sites.{site}")
            )
            if isinstance(file, str)
            else file
            for site, file in sites.items()
        }
    try:
        study = study_from_dict(resolved, source)
    except DocumentError:
        raise
    except EnergyOptError as exc:
        raise DocumentError(str(exc), field=field) from None
    _check_cases(study, settings, field)
    return study, resolved


def queue_study(
    store: Store, *, path: str | None, document: Any, settings: Settings
) -> tuple[StudyRecord, Study]:
    """Check a submitted study (:func:`submitted_study`) and queue it on the deployment's
    executor; returns the queued record and the loaded study."""
    study, resolved = submitted_study(path=path, document=document, settings=settings)
    record = study_store.create_study(
        store,
        name=study.name,
        document=resolved,
        source=str(study.source),
        executor=settings.study_executor,
        cases_total=len(study.cases),
    )
    return record, study


def _checked_inline(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise DocumentError("study: a study document must be a mapping", field="study")
    found = bad_number(document)
    if found is not None:
        where, problem = found
        raise DocumentError(f"study.{where}: {problem}", field=f"study.{where}")
    for key, most in (("sites", MAX_SITES), ("variants", MAX_VARIANTS)):
        value = document.get(key)
        if isinstance(value, dict) and len(value) > most:
            msg = f"study.{key}: {len(value)} entries, at most {most} are accepted"
            raise DocumentError(msg, field=f"study.{key}")
    return document


def _allowed_yaml(value: str, *, roots: Sequence[Path], base_dir: Path, where: str) -> Path:
    """A YAML file inside the service's data directories (relative to ``base_dir``)."""
    if "\x00" in value or not value.strip():
        raise DocumentError(f"{where}: not a file name", field=where)
    candidate = Path(value)
    resolved = (candidate if candidate.is_absolute() else base_dir / candidate).resolve()
    inside = any(resolved.is_relative_to(root.resolve()) for root in roots)
    if not inside or resolved.suffix.lower() not in (".yaml", ".yml"):
        msg = f"{where}: {value!r} is not a YAML file in the service's data directories"
        raise DocumentError(msg, field=where)
    if not resolved.is_file():
        raise DocumentError(f"{where}: no such file {value!r}", field=where)
    return resolved


def _check_cases(study: Study, settings: Settings, field: str) -> None:
    """At most ``max_study_cases`` cases, each naming only allowed data files."""
    if len(study.cases) > settings.max_study_cases:
        msg = (
            f"{field}: {len(study.cases)} cases, this service runs at most "
            f"{settings.max_study_cases} per study"
        )
        raise DocumentError(msg, field=field)
    for case in study.cases:
        validate_document(
            case.document,
            roots=settings.allowed_data_roots,
            base_dir=settings.scenarios_dir,
            source=f"case {case.name}",
        )


def stored_study(record: StudyRecord) -> Study:
    """The study of a stored record, loaded again from its document.

    Raises
    ------
    EnergyOptError
        A site or data file changed so that the study no longer validates.
    """
    return study_from_dict(record.document, Path(record.source))


# ----------------------------------------------------------------- execution


class _UntilStopped:
    """Case results that take no more saves once the runner stops (a case cut
    short by the service's shutdown is run again at the next start, not failed)."""

    def __init__(self, results: CaseResults, stopping: threading.Event) -> None:
        self._results = results
        self._stopping = stopping

    def __getattr__(self, name: str) -> Any:
        return getattr(self._results, name)

    def save(self, case, key, result) -> None:
        if not self._stopping.is_set():
            self._results.save(case, key, result)


class StudyRunner:
    """The service's study thread: claims queued studies and runs their cases.

    Parameters
    ----------
    store : Store
        The service's store.
    settings : Settings
        Executor (``study_executor``, ``dask_scheduler``, ``worker_count``) and
        how often to look for queued studies (``run_poll_s``) [s].
    pool : WorkerPool
        The service's worker pool (``local`` executor).
    """

    def __init__(self, store: Store, settings: Settings, pool: WorkerPool) -> None:
        self.store = store
        self.settings = settings
        self.pool = pool
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        #: id of the study being run, if any
        self.current: str | None = None

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="studies", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Look for queued studies now (a study was submitted)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                record = study_store.claim_next_study(self.store)
                if record is not None:
                    self.execute(record)
                    continue
            except Exception:  # a database hiccup must not end the thread
                logger.exception("studies: looking for queued studies failed")
            self._wake.wait(self.settings.run_poll_s)
            self._wake.clear()

    def execute(self, record: StudyRecord) -> None:
        """Run the cases of a claimed study; its status ends done, failed or cancelled
        (or stays running for the next start when the service stops)."""
        self.current = record.id
        try:
            self._execute(record)
        except Exception as exc:
            logger.exception("study %s: internal error", record.id)
            study_store.fail_study(
                self.store, study_id=record.id, error=f"internal error: {type(exc).__name__}: {exc}"
            )
        finally:
            self.current = None

    def _execute(self, record: StudyRecord) -> None:
        try:
            study = stored_study(record)
        except EnergyOptError as exc:
            study_store.fail_study(self.store, study_id=record.id, error=" ".join(str(exc).split()))
            return
        results = study_store.StoredCaseResults(self.store, record.id)
        todo, reused = pending_cases(study, results)
        counts = {"done": len(reused), "failed": 0, "reused": len(reused)}
        study_store.set_counts(self.store, study_id=record.id, **counts)
        logger.info("study %s: %d cases to run, %d current", record.id, len(todo), len(reused))

        def on_case(name: str, status: str, _finished: int, _total: int) -> None:
            counts["done" if status == "done" else "failed"] += 1
            study_store.set_counts(self.store, study_id=record.id, **counts)

        def should_stop() -> bool:
            if self._stopping.is_set():
                return True
            return study_store.get_study(self.store, study_id=record.id).status != "running"

        executor = self.settings.study_executor
        run_study(
            study,
            _UntilStopped(results, self._stopping),
            executor=executor,
            workers=self.settings.worker_count,
            scheduler=self.settings.dask_scheduler,
            pool=self.pool if executor == "local" else None,
            on_case=on_case,
            should_stop=should_stop,
        )
        if not self._stopping.is_set() and study_store.finish_study(self.store, study_id=record.id):
            logger.info("study %s: done (%d failed)", record.id, counts["failed"])

    def stop(self) -> None:
        """Stop claiming studies and submitting cases (call before the pool shuts
        down: its cancelled cases are then not stored as failed)."""
        self._stopping.set()
        self._wake.set()

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Stop and wait for the thread; a study being run is left ``running`` for
        :func:`~energyopt.service.store.studies.requeue_interrupted_studies`."""
        self.stop()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=timeout_s)
