"""The store on SQLite and on a real PostgreSQL server: schema, records, transactions."""

from __future__ import annotations

import datetime as dt
import threading
import zlib

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError
from store_backends import BACKENDS, backend_store

from energyopt.service.store import ConflictError, NotFoundError, QueryError, Store, StoreError
from energyopt.service.store import keys as key_store
from energyopt.service.store import measurements as measurement_store
from energyopt.service.store import plants as plant_store
from energyopt.service.store import runs as run_store
from energyopt.service.store import scenarios as scenario_store
from energyopt.service.store import schedules as schedule_store
from energyopt.service.store.db import head_revision
from energyopt.service.store.documents import (
    DocumentError,
    document_from_file,
    to_document,
    validate_document,
)
from energyopt.service.store.tables import Base, RunDispatchRow, ScheduleRow

UTC = dt.UTC
DOC = {"name": "tiny", "plant": {"assets": []}}


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    with backend_store(request.param, tmp_path) as opened:
        yield opened


def _plant(store: Store, name: str = "p1") -> int:
    scenario = scenario_store.create_scenario(store, name="s", document=DOC)
    return plant_store.create_plant(
        store,
        name=name,
        scenario_id=scenario.id,
        planning_time=dt.time(11, 0),
        timezone="Europe/Berlin",
    ).id


def _run(store: Store) -> str:
    return run_store.create_run(
        store,
        document=DOC,
        scenario_name="tiny",
        mode="perfect",
        period_start=dt.date(2023, 6, 5),
        days=1,
        step="1h",
    ).id


def _dispatch(days: int = 3, step: str = "15min") -> pd.DataFrame:
    index = pd.date_range("2023-06-04T22:00Z", periods=days * 24 * 4, freq=step, name="time")
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "grid.import_kw": rng.uniform(0, 5000, len(index)),
            "bess.level_kwh": rng.uniform(0, 2000, len(index)),
            "bess.net_electricity_kw": np.where(rng.random(len(index)) < 0.1, np.nan, 1 / 3),
        },
        index=index,
    )


# ----------------------------------------------------------------- schema


def test_migrations_create_exactly_the_model_schema(store):
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert store.revision() == head_revision()


def test_migrate_twice_is_a_no_op(store):
    scenario_store.create_scenario(store, name="kept", document=DOC)
    assert store.migrate() == head_revision()
    assert [s.name for s in scenario_store.list_scenarios(store)] == ["kept"]


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db' / 'x.sqlite3'}", busy_timeout_s=7)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 7000
    store.close()


def test_schema_name_is_checked():
    with pytest.raises(StoreError, match="schema name"):
        Store("postgresql+psycopg://u@localhost/db", schema="x; drop table runs")
    with pytest.raises(StoreError, match="only be given for PostgreSQL"):
        Store("sqlite://", schema="s")


# ----------------------------------------------------------------- time stamps


def test_time_stamps_come_back_tz_aware_utc(store):
    run_id = _run(store)
    created = run_store.get_run(store, run_id=run_id).created_at
    assert created.tzinfo is not None
    assert created.utcoffset() == dt.timedelta(0)
    plant_id = _plant(store)
    berlin = dt.datetime(2023, 6, 5, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    item = measurement_store.Measurement("bess", "soc_frac", 0.5, berlin)
    stored = measurement_store.add_measurements(store, plant_id=plant_id, items=[item])
    again = measurement_store.latest_measurements(store, plant_id=plant_id)
    assert again[0].measured_at == dt.datetime(2023, 6, 5, 10, 0, tzinfo=UTC)
    assert again[0].measured_at.tzinfo == UTC
    assert stored[0].id == again[0].id


def test_naive_time_is_refused_and_nothing_of_the_batch_is_stored(store):
    plant_id = _plant(store)
    good = measurement_store.Measurement(
        "bess", "soc_frac", 0.5, dt.datetime(2023, 6, 5, tzinfo=UTC)
    )
    naive = measurement_store.Measurement("bess", "soc_frac", 0.6, dt.datetime(2023, 6, 5, 1))
    with pytest.raises(StoreError, match="no time zone"):
        measurement_store.add_measurements(store, plant_id=plant_id, items=[good, naive])
    assert measurement_store.latest_measurements(store, plant_id=plant_id) == []


def test_latest_measurements_picks_newest_per_quantity(store):
    plant_id = _plant(store)
    t0 = dt.datetime(2023, 6, 5, tzinfo=UTC)
    items = [
        measurement_store.Measurement("bess", "soc_frac", 0.2, t0),
        measurement_store.Measurement("bess", "soc_frac", 0.7, t0 + dt.timedelta(minutes=15)),
        measurement_store.Measurement("dry", "dew_point_degc", -40.0, t0),
    ]
    measurement_store.add_measurements(store, plant_id=plant_id, items=items)
    latest = measurement_store.latest_measurements(store, plant_id=plant_id)
    assert {(m.asset, m.quantity): m.value for m in latest} == {
        ("bess", "soc_frac"): 0.7,
        ("dry", "dew_point_degc"): -40.0,
    }
    earlier = measurement_store.latest_measurements(store, plant_id=plant_id, at=t0)
    assert {(m.asset, m.quantity): m.value for m in earlier}[("bess", "soc_frac")] == 0.2


# ----------------------------------------------------------------- scenarios and plants


def test_scenario_replace_and_delete_rules(store):
    scenario = scenario_store.create_scenario(store, name="a", document=DOC)
    replaced = scenario_store.replace_scenario(
        store, scenario_id=scenario.id, name="b", document={**DOC, "name": "b"}
    )
    assert replaced.document["name"] == "b"
    assert replaced.created_at == scenario.created_at
    plant_store.create_plant(
        store, name="p", scenario_id=scenario.id, planning_time=dt.time(11), timezone="UTC"
    )
    with pytest.raises(ConflictError, match="used by plant"):
        scenario_store.delete_scenario(store, scenario_id=scenario.id)
    with pytest.raises(NotFoundError):
        scenario_store.get_scenario(store, scenario_id=scenario.id + 100)


def test_plant_names_are_unique_and_scenario_must_exist(store):
    _plant(store, "same")
    with pytest.raises(ConflictError, match="same"):
        _plant(store, "same")
    with pytest.raises(NotFoundError, match="scenario 999"):
        plant_store.create_plant(
            store, name="x", scenario_id=999, planning_time=dt.time(11), timezone="UTC"
        )
    assert plant_store.find_plant(store, name="same").timezone == "Europe/Berlin"


# ----------------------------------------------------------------- runs


def test_run_lifecycle_claims_once_and_records_progress(store):
    run_id = _run(store)
    assert run_store.claim_run(store, run_id=run_id)
    assert not run_store.claim_run(store, run_id=run_id)  # a second worker gets nothing
    run_store.set_progress(store, run_id=run_id, windows_done=3, windows_total=10)
    run = run_store.get_run(store, run_id=run_id)
    assert (run.status, run.windows_done, run.windows_total) == ("running", 3, 10)
    assert run.started_at is not None
    assert run.duration_s >= 0


def test_finished_run_returns_the_exact_dispatch(store):
    run_id = _run(store)
    run_store.claim_run(store, run_id=run_id, windows_total=1)
    dispatch = _dispatch()
    kpis = {"total_cost_eur": 12.5, "mip_gap": float("nan"), "solve_status": "optimal"}
    done = run_store.finish_run(
        store, run_id=run_id, dispatch=dispatch, kpis=kpis, solver_report={"status": "optimal"}
    )
    assert done.status == "done"
    assert done.windows_done == 1
    assert done.kpis == {"total_cost_eur": 12.5, "mip_gap": None, "solve_status": "optimal"}
    back = run_store.read_dispatch(store, run_id=run_id)
    pd.testing.assert_frame_equal(back, dispatch, check_freq=True)
    with store.reading() as session:
        chunks = session.scalars(sa.select(RunDispatchRow).where(RunDispatchRow.run_id == run_id))
        starts = [c.chunk_start for c in chunks]
    # 3 local days from 22:00 UTC: 4 UTC days, cut at UTC midnight
    assert [s.isoformat() for s in starts] == [
        "2023-06-04T22:00:00+00:00",
        "2023-06-05T00:00:00+00:00",
        "2023-06-06T00:00:00+00:00",
        "2023-06-07T00:00:00+00:00",
    ]


def test_dispatch_time_range_and_columns(store):
    run_id = _run(store)
    run_store.claim_run(store, run_id=run_id)
    dispatch = _dispatch()
    run_store.finish_run(store, run_id=run_id, dispatch=dispatch, kpis={}, solver_report={})
    start = dt.datetime(2023, 6, 5, 23, 30, tzinfo=UTC)
    end = dt.datetime(2023, 6, 6, 0, 30, tzinfo=UTC)  # spans a chunk boundary
    part = run_store.read_dispatch(
        store, run_id=run_id, start=start, end=end, columns=["bess.level_kwh"]
    )
    expected = dispatch.loc[(dispatch.index >= start) & (dispatch.index < end), ["bess.level_kwh"]]
    assert len(part) == 4
    pd.testing.assert_frame_equal(part, expected, check_freq=False)
    with pytest.raises(QueryError, match="unknown dispatch column.*nope"):
        run_store.read_dispatch(store, run_id=run_id, columns=["nope"])
    empty = run_store.read_dispatch(store, run_id=run_id, start=dt.datetime(2030, 1, 1, tzinfo=UTC))
    assert empty.empty
    assert list(empty.columns) == list(dispatch.columns)


def test_dispatch_is_stored_compressed(store):
    run_id = _run(store)
    run_store.claim_run(store, run_id=run_id)
    dispatch = pd.DataFrame(
        {"a_kw": np.zeros(96), "b_kw": np.full(96, 2.5)},
        index=pd.date_range("2023-06-05T00:00Z", periods=96, freq="15min", name="time"),
    )
    run_store.finish_run(store, run_id=run_id, dispatch=dispatch, kpis={}, solver_report={})
    with store.reading() as session:
        blob = session.scalar(sa.select(RunDispatchRow.values))
    assert len(blob) < 96 * 2 * 8 / 10
    assert np.frombuffer(zlib.decompress(blob), "<f8").reshape(96, 2)[5, 1] == 2.5


def test_results_of_a_run_that_is_not_done_are_refused(store):
    run_id = _run(store)
    with pytest.raises(ConflictError, match="queued"):
        run_store.read_dispatch(store, run_id=run_id)
    with pytest.raises(ConflictError, match="not running"):
        run_store.finish_run(store, run_id=run_id, dispatch=_dispatch(1), kpis={}, solver_report={})
    with pytest.raises(NotFoundError):
        run_store.get_run(store, run_id="0" * 32)


def test_failed_run_keeps_one_line_reason(store):
    run_id = _run(store)
    run_store.claim_run(store, run_id=run_id)
    run_store.fail_run(store, run_id=run_id, error="DataError: prices.csv:\n  gap after 2023")
    run = run_store.get_run(store, run_id=run_id)
    assert run.status == "failed"
    assert run.error == "DataError: prices.csv: gap after 2023"
    assert run.finished_at is not None
    run_store.fail_run(store, run_id=run_id, error="later")  # a finished run stays as it is
    assert run_store.get_run(store, run_id=run_id).error == "DataError: prices.csv: gap after 2023"


def test_interrupted_runs_are_failed_and_queued_ones_kept(store):
    running, queued = _run(store), _run(store)
    run_store.claim_run(store, run_id=running)
    assert run_store.fail_interrupted_runs(store, reason="interrupted") == [running]
    assert run_store.get_run(store, run_id=running).status == "failed"
    assert run_store.get_run(store, run_id=queued).status == "queued"
    assert run_store.queued_run_ids(store) == [queued]


def test_run_status_is_constrained_by_the_database(store):
    run_id = _run(store)
    with pytest.raises(IntegrityError), store.transaction() as session:
        session.execute(sa.text("UPDATE runs SET status = 'lost' WHERE id = :id"), {"id": run_id})


# ----------------------------------------------------------------- schedules


def _publish(store, plant_id, **kw):
    return schedule_store.publish_schedule(
        store,
        plant_id=plant_id,
        delivery_date=dt.date(2023, 6, 6),
        payload={"grid.import_kw": [1.0, 2.0]},
        solve_status="optimal",
        **kw,
    )


def test_schedule_versions_are_monotonic_and_old_ones_stay(store):
    plant_id = _plant(store)
    first = _publish(store, plant_id)
    second = _publish(store, plant_id, is_incumbent=True, mip_gap=0.02)
    assert (first.version, second.version) == (1, 2)
    assert (
        schedule_store.get_schedule(
            store, plant_id=plant_id, delivery_date=dt.date(2023, 6, 6)
        ).version
        == 2
    )
    old = schedule_store.get_schedule(
        store, plant_id=plant_id, delivery_date=dt.date(2023, 6, 6), version=1
    )
    assert old.payload_data() == {"grid.import_kw": [1.0, 2.0]}
    assert not old.is_incumbent
    assert schedule_store.latest_schedule(store, plant_id=plant_id).mip_gap == 0.02


def test_same_version_twice_is_refused_by_the_database(store):
    plant_id = _plant(store)
    _publish(store, plant_id)
    row = {
        "plant_id": plant_id,
        "delivery_date": dt.date(2023, 6, 6),
        "version": 1,
        "created_at": dt.datetime.now(UTC),
        "solve_status": "optimal",
        "is_incumbent": False,
        "is_fallback": False,
        "payload": "{}",
    }
    with pytest.raises(IntegrityError), store.transaction() as session:
        session.add(ScheduleRow(**row))


def test_publishing_the_same_planning_instant_twice_returns_the_first(store):
    plant_id = _plant(store)
    issued = dt.datetime(2023, 6, 5, 9, 0, tzinfo=UTC)
    first = _publish(store, plant_id, issued_at=issued)
    again = _publish(store, plant_id, issued_at=issued)
    assert again.id == first.id
    assert again.version == 1
    assert (
        len(
            schedule_store.list_versions(
                store, plant_id=plant_id, delivery_date=dt.date(2023, 6, 6)
            )
        )
        == 1
    )


def test_concurrent_publishers_get_distinct_consecutive_versions(store):
    plant_id = _plant(store)
    results, errors = [], []
    barrier = threading.Barrier(6)

    def publish() -> None:
        barrier.wait()
        try:
            results.append(_publish(store, plant_id).version)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=publish) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [1, 2, 3, 4, 5, 6]


def test_unknown_plant_cannot_publish(store):
    with pytest.raises(NotFoundError, match="plant 42"):
        _publish(store, 42)


# ----------------------------------------------------------------- API keys


def test_keys_store_only_the_hash_and_revocation_is_immediate(store):
    record, token = key_store.create_key(store, name="scada", role="viewer")
    assert token.startswith("eo_")
    assert len(token) > 40
    with store.reading() as session:
        stored = session.execute(sa.text("SELECT key_hash, prefix FROM api_keys")).one()
    assert stored.key_hash == key_store.hash_token(token)
    assert token not in stored.key_hash
    assert stored.prefix == token[:10]
    assert key_store.authenticate(store, token=token).role == "viewer"
    assert key_store.authenticate(store, token=token + "x") is None
    key_store.revoke_key(store, key_id=record.id)
    assert key_store.authenticate(store, token=token) is None


def test_unknown_role_is_refused(store):
    with pytest.raises(StoreError, match="role 'root'"):
        key_store.create_key(store, name="x", role="root")


def test_ensure_key_is_idempotent(store):
    token = "t" * 40
    first = key_store.ensure_key(store, name="boot", role="admin", token=token)
    second = key_store.ensure_key(store, name="boot", role="admin", token=token)
    assert first.id == second.id
    assert len(key_store.list_keys(store)) == 1


# ----------------------------------------------------------------- scenario documents


def _series_doc(file: str) -> dict:
    return {
        "name": "doc",
        "site": {
            "name": "x",
            "latitude": 50.0,
            "longitude": 3.0,
            "timezone": "Europe/Paris",
            "series": {"price_eur_per_mwh": {"file": file, "column": "price_eur_per_mwh"}},
        },
        "period": {"start": "2023-06-05", "days": 1, "step": "1h"},
        "plant": {
            "assets": [
                {"type": "grid", "name": "grid", "import_max_kw": 100},
                {"type": "fixed_load", "name": "load", "power_kw": 10},
            ]
        },
    }


@pytest.fixture
def data_dirs(tmp_path):
    scenarios, data, outside = tmp_path / "scenarios", tmp_path / "data", tmp_path / "outside"
    for folder in (scenarios / "data", data, outside):
        folder.mkdir(parents=True)
    text = "timestamp_utc,price_eur_per_mwh\n2023-06-04T00:00Z,50\n2023-06-07T00:00Z,50\n"
    for folder in (scenarios / "data", data, outside):
        (folder / "prices.csv").write_text(text)
    return scenarios, data, outside


def _validate(document, scenarios, data):
    return validate_document(document, roots=(scenarios, data), base_dir=scenarios)


def test_document_paths_resolve_inside_the_allowed_directories(data_dirs):
    scenarios, data, _ = data_dirs
    scenario = _validate(_series_doc("data/prices.csv"), scenarios, data)
    assert scenario.site.series["price_eur_per_mwh"].file == scenarios / "data" / "prices.csv"
    assert _validate(_series_doc(str(data / "prices.csv")), scenarios, data)
    stored = to_document(scenario, scenarios_dir=scenarios)
    assert stored["site"]["series"]["price_eur_per_mwh"]["file"] == "data/prices.csv"
    assert _validate(stored, scenarios, data) == scenario  # the stored form validates again


@pytest.mark.parametrize(
    "file",
    ["../outside/prices.csv", "data/../../outside/prices.csv", "/etc/passwd", "{outside}"],
)
def test_document_paths_outside_the_data_directories_are_refused(data_dirs, file):
    scenarios, data, outside = data_dirs
    file = file.format(outside=outside / "prices.csv")
    with pytest.raises(DocumentError, match="outside the service's data directories") as info:
        _validate(_series_doc(file), scenarios, data)
    assert info.value.field == "document.site.series.price_eur_per_mwh.file"


def test_symbolic_link_out_of_the_data_directories_is_refused(data_dirs):
    scenarios, data, outside = data_dirs
    (scenarios / "data" / "link.csv").symlink_to(outside / "prices.csv")
    with pytest.raises(DocumentError, match="outside"):
        _validate(_series_doc("data/link.csv"), scenarios, data)


def test_document_errors_name_the_field(data_dirs):
    scenarios, data, _ = data_dirs
    with pytest.raises(DocumentError, match="no such file") as info:
        _validate(_series_doc("data/missing.csv"), scenarios, data)
    assert info.value.field == "document.site.series.price_eur_per_mwh.file"
    bad = _series_doc("data/prices.csv")
    bad["plant"]["assets"][1]["power_kw"] = -5
    with pytest.raises(DocumentError, match=r"plant.assets\[1\].power_kw.*must be >= 0") as info:
        _validate(bad, scenarios, data)
    assert info.value.field == "document.plant.assets[1].power_kw"
    with pytest.raises(DocumentError, match="extends") as info:
        _validate({**_series_doc("data/prices.csv"), "extends": "base.yaml"}, scenarios, data)
    assert info.value.field == "document.extends"


def test_document_from_file_stays_in_the_scenarios_directory(data_dirs, tmp_path):
    scenarios, _, _ = data_dirs
    (scenarios / "s.yaml").write_text(yaml.safe_dump(_series_doc("data/prices.csv")))
    document = document_from_file("s.yaml", scenarios_dir=scenarios)
    assert document["site"]["series"]["price_eur_per_mwh"]["file"] == "data/prices.csv"
    (tmp_path / "evil.yaml").write_text(yaml.safe_dump(_series_doc("data/prices.csv")))
    for name in ("../evil.yaml", "data/prices.csv", "nope.yaml"):
        with pytest.raises(DocumentError) as info:
            document_from_file(name, scenarios_dir=scenarios)
        assert info.value.field == "path"
