"""Database engine, sessions, column types and migrations of the store.

SQLite (the default: one file in the data directory) is opened in WAL mode
with a busy timeout and foreign keys enforced; any SQLAlchemy URL that points
to PostgreSQL (``postgresql+psycopg://...``) works too. The schema is created
and upgraded by the Alembic migrations in ``energyopt/service/migrations`` when the
service starts (:meth:`Store.migrate`); nothing calls ``create_all``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from energyopt.errors import (  # noqa: F401  (the store's errors, importable from here)
    ConflictError,
    NotFoundError,
    QueryError,
    StoreError,
)

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class UTCDateTime(sa.types.TypeDecorator):
    """Time stamp stored as UTC; always returned tz-aware in UTC.

    Naive values are refused (a naive time is ambiguous); SQLite, which has
    no time zones, stores the UTC wall time.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            msg = f"time stamp {value.isoformat()} has no time zone; the store keeps UTC"
            raise StoreError(msg)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


#: JSON column: JSONB on PostgreSQL, JSON text elsewhere
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def utc_now() -> dt.datetime:
    """The current time, tz-aware UTC."""
    return dt.datetime.now(dt.UTC)


def jsonable(value: Any) -> Any:
    """``value`` with non-finite floats as None and numpy scalars as Python numbers.

    JSON has no NaN/Infinity and PostgreSQL refuses them in JSON columns.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def dumps(value: Any) -> str:
    """Compact JSON text of ``value`` (non-finite floats as null)."""
    return json.dumps(jsonable(value), separators=(",", ":"), allow_nan=False)


class Store:
    """A database connection pool and the session factory on it.

    Parameters
    ----------
    url : str
        SQLAlchemy URL (``sqlite:///path/file.sqlite3`` or
        ``postgresql+psycopg://user@host:5432/db``).
    schema : str, optional
        PostgreSQL only: keep every table in this schema (created by
        :meth:`migrate`); used to give each test run its own tables.
    busy_timeout_s : float
        SQLite only: how long a writer waits for the lock [s].
    instance_id : str, optional
        The service instance this store acts for: runs claimed through it
        record it (see :mod:`energyopt.service.instances`).
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        busy_timeout_s: float = 30.0,
        instance_id: str | None = None,
    ):
        self.url = url
        self.schema = schema
        self.busy_timeout_s = busy_timeout_s
        self.instance_id = instance_id
        self.engine = _make_engine(url, schema=schema, busy_timeout_s=busy_timeout_s)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def config(self) -> StoreConfig:
        """What another process needs to open the same store."""
        return StoreConfig(
            url=self.url,
            schema=self.schema,
            busy_timeout_s=self.busy_timeout_s,
            instance_id=self.instance_id,
        )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with _unwrapped(), self._sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only (nothing is committed)."""
        with _unwrapped(), self._sessions() as session:
            yield session

    def migrate(self) -> str:
        """Create or upgrade the schema to the newest migration; returns its revision."""
        from alembic import command

        if self.schema:
            with self.engine.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
        config = alembic_config()
        with self.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return self.revision() or ""

    def revision(self) -> str | None:
        """Alembic revision of the database (None before the first migration)."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def ping(self) -> float:
        """Round trip of a trivial query [s]; raises if the database does not answer."""
        started = dt.datetime.now(dt.UTC)
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return (dt.datetime.now(dt.UTC) - started).total_seconds()

    def drop_schema(self) -> None:
        """PostgreSQL: drop this store's schema and everything in it (tests)."""
        if not self.schema:
            msg = "drop_schema needs a store opened with a schema"
            raise StoreError(msg)
        with self.engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


@contextlib.contextmanager
def _unwrapped() -> Iterator[None]:
    """Re-raise a StoreError that SQLAlchemy wrapped while binding a value."""
    try:
        yield
    except sa.exc.StatementError as exc:
        if isinstance(exc.orig, StoreError):
            raise exc.orig from None
        raise


@dataclasses.dataclass(frozen=True)
class StoreConfig:
    """Picklable description of a store, to open it again in a worker process."""

    url: str
    schema: str | None = None
    busy_timeout_s: float = 30.0
    instance_id: str | None = None

    def open(self) -> Store:
        """A new :class:`Store` on the same database, for the same instance."""
        return Store(
            self.url,
            schema=self.schema,
            busy_timeout_s=self.busy_timeout_s,
            instance_id=self.instance_id,
        )


def alembic_config() -> Any:
    """Alembic configuration pointing at the packaged migrations (no ini file)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """Newest revision of the packaged migrations."""
    from alembic.script import ScriptDirectory

    # None only for a migrations directory without revisions (the packaged one has them)
    return cast(str, ScriptDirectory.from_config(alembic_config()).get_current_head())


def _make_engine(url: str, *, schema: str | None, busy_timeout_s: float) -> Engine:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if schema:
            msg = "a schema can only be given for PostgreSQL"
            raise StoreError(msg)
        return _sqlite_engine(parsed, busy_timeout_s)
    connect_args: dict[str, Any] = {}
    if schema:
        if not _SCHEMA_NAME.match(schema):
            msg = f"schema name {schema!r} must be lower-case letters, digits and '_'"
            raise StoreError(msg)
        connect_args["options"] = f"-c search_path={schema}"
    return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_engine(url: sa.engine.URL, busy_timeout_s: float) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": busy_timeout_s}
    )
    timeout_ms = int(busy_timeout_s * 1000)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine
