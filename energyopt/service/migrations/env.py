"""Alembic environment of the energyopt store.

Run from code (:meth:`energyopt.service.store.Store.migrate`), which hands over an
open connection in ``config.attributes["connection"]``. Without one, the
database URL comes from the service settings (``ENERGYOPT_DATABASE_URL`` or the
SQLite file in ``ENERGYOPT_DATA_DIR``).
"""

from __future__ import annotations

from alembic import context

from energyopt.service.store.tables import Base


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through the connection given by the caller, or the settings' database."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from energyopt.service.settings import get_settings

    store = get_settings().open_store()
    try:
        with store.engine.begin() as conn:
            _run(conn)
    finally:
        store.close()


if context.is_offline_mode():
    msg = "offline (SQL script) migrations are not supported; run them against a database"
    raise SystemExit(msg)
run_migrations_online()
