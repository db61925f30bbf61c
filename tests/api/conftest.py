"""Fixtures of the API tests: a shared worker pool, an app per test, keys per role.

Every test gets a fresh store (a SQLite file in its tmp dir; the ``pg_api``
fixture uses a fresh schema on the test PostgreSQL server) and the service
reads scenario data from the repository's ``scenarios`` directory. Helpers
are in ``service_helpers.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from service_helpers import ApiClient, make_settings, open_client
from store_backends import new_schema, postgres_unavailable, postgres_url

from energyopt.service.jobs import RunExecutor


@pytest.fixture(scope="session")
def executor() -> Iterator[RunExecutor]:
    """One worker process for the whole session (spawning one takes seconds)."""
    pool = RunExecutor(workers=1)
    pool.start()
    yield pool
    pool.shutdown()


@pytest.fixture(autouse=True)
def _no_service_environment(monkeypatch) -> None:
    """Tests configure the service explicitly, never from the caller's environment."""
    for name in list(os.environ):
        if name.startswith("ENERGYOPT_") and name != "ENERGYOPT_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)


@pytest.fixture
def api(tmp_path, executor) -> Iterator[ApiClient]:
    """The service on a fresh SQLite store."""
    yield from open_client(make_settings(tmp_path), executor)


@pytest.fixture
def pg_api(tmp_path, executor) -> Iterator[ApiClient]:
    """The service on a fresh schema of the test PostgreSQL server."""
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    settings = make_settings(tmp_path, database_url=postgres_url(), database_schema=new_schema())
    try:
        yield from open_client(settings, executor)
    finally:
        store = settings.open_store()
        store.drop_schema()
        store.close()
