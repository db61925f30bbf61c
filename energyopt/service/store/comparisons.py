"""Stored comparisons: a named set of runs compared by KPIs."""

from __future__ import annotations

import uuid

from energyopt.service.store.db import NotFoundError, Store, utc_now
from energyopt.service.store.records import ComparisonRecord, to_record
from energyopt.service.store.tables import ComparisonRow


def create_comparison(
    store: Store, *, name: str, run_ids: list[str], kpi_names: list[str] | None = None
) -> ComparisonRecord:
    """Store a comparison of ``run_ids`` (the first run is the reference)."""
    row = ComparisonRow(
        id=uuid.uuid4().hex,
        name=name,
        run_ids=list(run_ids),
        kpi_names=list(kpi_names) if kpi_names else None,
        created_at=utc_now(),
    )
    with store.transaction() as session:
        session.add(row)
        session.flush()
        return to_record(ComparisonRecord, row)


def get_comparison(store: Store, *, comparison_id: str) -> ComparisonRecord:
    """The comparison ``comparison_id``; raises :class:`NotFoundError`."""
    with store.reading() as session:
        row = session.get(ComparisonRow, comparison_id)
        if row is None:
            raise NotFoundError(f"comparison {comparison_id} does not exist")
        return to_record(ComparisonRecord, row)
