"""Store side of runs shared by instances: claims, attempts, takeovers, planning claims.

Every test runs on SQLite and on the test PostgreSQL server.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from store_backends import BACKENDS, backend_store

from energyopt.service.instances import InstanceRefused, ServiceInstance
from energyopt.service.settings import Settings
from energyopt.service.store import Store
from energyopt.service.store import instances as instance_store
from energyopt.service.store import plants as plant_store
from energyopt.service.store import runs as run_store
from energyopt.service.store import scenarios as scenario_store
from energyopt.service.store.db import alembic_config, head_revision
from energyopt.service.store.tables import InstanceRow

DOC = {"name": "tiny", "plant": {"assets": []}}
MODES = ("perfect",)


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    with backend_store(request.param, tmp_path) as opened:
        yield opened


def _as(store: Store, instance_id: str | None) -> Store:
    """The same database, acting for ``instance_id``."""
    return dataclasses.replace(store.config(), instance_id=instance_id).open()


def _run(store: Store, mode: str = "perfect") -> str:
    return run_store.create_run(
        store,
        document=DOC,
        scenario_name="tiny",
        mode=mode,
        period_start=dt.date(2023, 6, 5),
        days=1,
        step="1h",
    ).id


def _dispatch() -> pd.DataFrame:
    index = pd.date_range("2023-06-05", periods=4, freq="1h", tz="UTC")
    return pd.DataFrame({"grid.import_kw": [1.0, 2.0, 3.0, 4.0]}, index=index)


def _age(store: Store, instance_id: str, seconds: float) -> None:
    """Make the instance's heartbeat ``seconds`` old."""
    at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
    with store.transaction() as session:
        session.execute(
            sa.update(InstanceRow).where(InstanceRow.id == instance_id).values(heartbeat_at=at)
        )


def test_concurrent_claims_give_the_run_to_exactly_one_instance(store):
    run_id = _run(store)
    stores = [_as(store, f"i{k}") for k in range(6)]
    results: dict[str, int | None] = {}
    start = threading.Barrier(len(stores))

    def claim(claimer: Store) -> None:
        start.wait()
        results[claimer.instance_id or ""] = run_store.claim_run(claimer, run_id=run_id)

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for opened in stores:
        opened.close()
    winners = [name for name, attempt in results.items() if attempt is not None]
    assert len(winners) == 1
    assert results[winners[0]] == 1
    run = run_store.get_run(store, run_id=run_id)
    assert (run.status, run.attempts, run.instance_id) == ("running", 1, winners[0])


def test_a_run_is_retried_once_then_failed_and_only_by_its_own_instance(store):
    mine, other = _as(store, "mine"), _as(store, "other")
    try:
        run_id = _run(store)
        assert run_store.claim_run(mine, run_id=run_id) == 1
        assert run_store.retry_or_fail(other, run_id=run_id, error="x", retry_modes=MODES) is None
        assert run_store.retry_or_fail(mine, run_id=run_id, error="x", retry_modes=MODES) == (
            "queued"
        )
        assert run_store.claim_run(mine, run_id=run_id) == 2
        error = "internal error: worker process died twice"
        assert run_store.retry_or_fail(mine, run_id=run_id, error=error, retry_modes=MODES) == (
            "failed"
        )
        run = run_store.get_run(store, run_id=run_id)
        assert (run.status, run.attempts, run.error) == ("failed", 2, error)
    finally:
        mine.close()
        other.close()


def test_an_old_attempt_can_neither_report_nor_finish(store):
    run_id = _run(store)
    assert run_store.claim_run(store, run_id=run_id) == 1
    run_store.retry_or_fail(store, run_id=run_id, error="x", retry_modes=MODES)
    assert run_store.claim_run(store, run_id=run_id) == 2
    assert not run_store.set_progress(store, run_id=run_id, windows_done=1, attempt=1)
    with pytest.raises(run_store.ConflictError, match="attempt 2, not 1"):
        run_store.finish_run(
            store, run_id=run_id, dispatch=_dispatch(), kpis={}, solver_report={}, attempt=1
        )
    run_store.fail_run(store, run_id=run_id, error="late", attempt=1)
    assert run_store.get_run(store, run_id=run_id).status == "running"
    assert run_store.set_progress(store, run_id=run_id, windows_done=1, attempt=2)
    run_store.finish_run(
        store, run_id=run_id, dispatch=_dispatch(), kpis={}, solver_report={}, attempt=2
    )
    assert run_store.get_run(store, run_id=run_id).status == "done"


def test_runs_of_a_silent_instance_are_taken_over_and_a_live_one_s_are_kept(store):
    live, silent = _as(store, "live"), _as(store, "silent")
    try:
        for name in ("live", "silent"):
            instance_store.register_instance(store, instance_id=name)
        _age(store, "silent", 10.0)
        kept, retried, plan = _run(store), _run(store), _run(store, mode="daily_plan")
        run_store.claim_run(live, run_id=kept)
        run_store.claim_run(silent, run_id=retried)
        run_store.claim_run(silent, run_id=plan)
        assert run_store.fail_interrupted_runs(store, reason="interrupted") == []  # 60 s default
        taken = run_store.take_over_runs(
            store, error="interrupted", retry_modes=MODES, stale_after_s=5.0
        )
        assert taken == {retried: "queued", plan: "failed"}  # a plan is not a run to retry
        assert run_store.get_run(store, run_id=kept).status == "running"
        assert run_store.get_run(store, run_id=plan).error == "interrupted"
        assert run_store.queued_run_ids(store) == [retried]
    finally:
        live.close()
        silent.close()


def test_planning_claims_one_live_instance_per_instant(store):
    scenario = scenario_store.create_scenario(store, name="s", document=DOC)
    plant_id = plant_store.create_plant(
        store,
        name="p",
        scenario_id=scenario.id,
        planning_time=dt.time(11, 0),
        timezone="Europe/Berlin",
    ).id
    instant = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
    for name in ("a", "b"):
        instance_store.register_instance(store, instance_id=name)

    def claim(name: str, at: dt.datetime = instant) -> bool:
        return instance_store.claim_planning(
            store, plant_id=plant_id, issued_at=at, instance_id=name, stale_after_s=5.0
        )

    assert claim("a")
    assert not claim("b")
    assert claim("a")  # its own claim: a second fire finds the published version
    assert claim("b", instant + dt.timedelta(days=1))  # another instant is free
    _age(store, "a", 10.0)
    assert claim("b")  # a silent instance's claim passes on
    assert instance_store.planning_claims(store, plant_id=plant_id)[0] == (instant, "b")


def test_heartbeat_of_a_removed_instance_says_so(store):
    instance_store.register_instance(store, instance_id="x")
    assert instance_store.heartbeat(store, instance_id="x")
    instance_store.remove_instance(store, instance_id="x")
    assert not instance_store.heartbeat(store, instance_id="x")


def test_cancelled_is_a_status_and_the_migration_goes_down_and_up(store):
    run_id = _run(store)
    with store.transaction() as session:
        session.execute(
            sa.text("UPDATE runs SET status = 'cancelled' WHERE id = :id"), {"id": run_id}
        )
    config = alembic_config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    assert store.revision() == "0002"
    with store.engine.connect() as conn:
        status = conn.execute(sa.text("SELECT status FROM runs")).scalar_one()
    assert status == "failed"
    assert store.migrate() == head_revision()
    assert run_store.get_run(store, run_id=run_id).attempts == 0


def test_a_second_instance_on_one_sqlite_file_is_refused_and_a_stop_requeues(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", scenarios_dir=tmp_path)
    first = ServiceInstance(settings)
    first.start()
    try:
        other = ServiceInstance(settings.model_copy(update={"instance_id": "other"}))
        with pytest.raises(InstanceRefused, match="SQLite allows one instance"):
            other.start()
        assert first.store is not None
        run_id = _run(first.store)
        assert run_store.claim_run(first.store, run_id=run_id) == 1
    finally:
        first.stop()
    again = ServiceInstance(settings.model_copy(update={"instance_id": "again"}))
    again.start()
    try:
        assert again.store is not None
        run = run_store.get_run(again.store, run_id=run_id)
        assert (run.status, run.attempts) == ("queued", 1)  # queued again by the stop
        assert [i.id for i in instance_store.list_instances(again.store)] == ["again"]
    finally:
        again.stop()


def test_heartbeat_must_be_shorter_than_the_timeout(tmp_path):
    with pytest.raises(ValueError, match="must be shorter than instance_timeout_s"):
        Settings(data_dir=tmp_path, instance_heartbeat_s=5, instance_timeout_s=5)
