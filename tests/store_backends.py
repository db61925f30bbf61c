"""Stores for tests: a SQLite file, or a fresh schema on a real PostgreSQL server.

The PostgreSQL server comes from ``ENERGYOPT_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); every store gets its
own schema, dropped afterwards, so repeated runs start clean. When the server
does not answer, PostgreSQL tests are skipped with the reason.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from energyopt.service.store import Store

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")


def postgres_url() -> str:
    """URL of the test PostgreSQL server."""
    return os.environ.get("ENERGYOPT_TEST_POSTGRES_URL", DEFAULT_PG_URL)


@functools.lru_cache(maxsize=1)
def postgres_unavailable() -> str | None:
    """Why the test server cannot be used, or None when it answers."""
    engine = sa.create_engine(postgres_url(), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any driver or network error: skip with it as reason
        return f"PostgreSQL at {postgres_url()} not reachable: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()
    return None


def new_schema() -> str:
    """A unique schema name for one test store."""
    return f"eo_test_{uuid.uuid4().hex[:16]}"


@contextmanager
def backend_store(backend: str, tmp_path: Path) -> Iterator[Store]:
    """A migrated store on ``backend``; PostgreSQL schemas are dropped afterwards."""
    if backend == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
        store.migrate()
        try:
            yield store
        finally:
            store.close()
        return
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    store = Store(postgres_url(), schema=new_schema())
    store.migrate()
    try:
        yield store
    finally:
        store.drop_schema()
        store.close()
