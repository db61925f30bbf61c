"""Run life cycle: cancel a queued or running run, delete a finished one, the audit log.

On SQLite and on the test PostgreSQL server (the ``api`` and ``pg_api`` fixtures).
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa
from service_helpers import tiny_document

from energyopt.service.store import runs as run_store
from energyopt.service.store.tables import RunDispatchRow

AUDIT = "/api/v1/audit"
#: a rolling run of this many days at 15 min takes about 15 s on the test machine [d]
LONG_ROLLING_DAYS = 90


@pytest.fixture(params=["api", "pg_api"])
def client(request):
    """The service on SQLite, then on PostgreSQL."""
    return request.getfixturevalue(request.param)


def _submit(api, **body) -> str:
    answer = api.post("/api/v1/runs", json=body)
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def _wait_for(api, run_id: str, condition, timeout_s: float = 60) -> dict:
    """Poll the run until ``condition(run)`` holds; returns the run."""
    deadline = time.monotonic() + timeout_s
    while True:
        run = api.get(f"/api/v1/runs/{run_id}").json()
        if condition(run):
            return run
        assert time.monotonic() < deadline, f"run {run_id} never got there: {run}"
        time.sleep(0.02)


def _finished(run: dict) -> bool:
    return run["status"] in ("done", "failed", "cancelled")


def _long_rolling_run(api) -> str:
    created = api.post("/api/v1/scenarios", json={"path": "example.yaml"}).json()
    return _submit(
        api, scenario_id=created["id"], mode="rolling", days=LONG_ROLLING_DAYS, step="15min"
    )


def test_a_running_run_is_cancelled_and_its_worker_moves_on(client):
    long_id = _long_rolling_run(client)
    behind = _submit(client, scenario=tiny_document())  # waits for the one worker
    _wait_for(client, long_id, lambda r: r["progress"]["windows_done"] >= 2)
    answer = client.post(f"/api/v1/runs/{long_id}/cancel")
    assert answer.status_code == 200, answer.text
    cancelled_at = time.monotonic()
    assert answer.json()["status"] == "cancelled"
    assert answer.json()["error"] == "cancelled by test planner"
    done = client.wait(behind)
    waited_s = time.monotonic() - cancelled_at
    assert done["status"] == "done", done["error"]
    # the worker left the cancelled run at its next window instead of finishing it
    assert waited_s < 6.0
    run = client.get(f"/api/v1/runs/{long_id}").json()
    assert run["status"] == "cancelled"
    assert run["progress"]["windows_done"] < run["progress"]["windows_total"]
    assert client.get(f"/api/v1/runs/{long_id}/kpis").status_code == 409


def test_a_queued_run_is_cancelled_and_never_starts(client):
    long_id = _long_rolling_run(client)
    queued = _submit(client, scenario=tiny_document())
    _wait_for(client, long_id, lambda r: r["status"] == "running")
    assert client.post(f"/api/v1/runs/{queued}/cancel").json()["status"] == "cancelled"
    client.post(f"/api/v1/runs/{long_id}/cancel")
    after = _submit(client, scenario=tiny_document())
    assert client.wait(after)["status"] == "done"  # the pool went past the cancelled one
    run = client.get(f"/api/v1/runs/{queued}").json()
    assert (run["status"], run["attempts"], run["started_at"]) == ("cancelled", 0, None)


def test_cancel_and_delete_refuse_wrong_states_and_unknown_runs(client):
    run_id = _submit(client, scenario=tiny_document())
    assert client.wait(run_id)["status"] == "done"
    again = client.post(f"/api/v1/runs/{run_id}/cancel")
    assert again.status_code == 409
    assert again.json()["type"] == "conflict"
    assert "done" in again.json()["detail"]
    unknown = "0" * 32
    assert client.post(f"/api/v1/runs/{unknown}/cancel").status_code == 404
    assert client.delete(f"/api/v1/runs/{unknown}", role="admin").status_code == 404
    queued = run_store.create_run(
        client.store,
        document=tiny_document(),
        scenario_name="tiny",
        mode="perfect",
        period_start=dt.date(2023, 6, 5),
        days=1,
        step="1h",
    ).id
    refused = client.delete(f"/api/v1/runs/{queued}", role="admin")
    assert refused.status_code == 409
    assert "cancel it" in refused.json()["detail"]
    assert client.get(f"/api/v1/runs/{queued}").json()["status"] == "queued"


def test_roles_of_cancel_delete_and_audit(client):
    run_id = _submit(client, scenario=tiny_document())
    client.wait(run_id)
    assert client.post(f"/api/v1/runs/{run_id}/cancel", role="viewer").status_code == 403
    assert client.delete(f"/api/v1/runs/{run_id}", role="planner").status_code == 403
    assert client.get(AUDIT, role="planner").status_code == 403
    assert client.get(f"/api/v1/runs/{run_id}").json()["status"] == "done"


def test_delete_removes_the_results_and_both_actions_are_audited(client):
    done_id = _submit(client, scenario=tiny_document())
    assert client.wait(done_id)["status"] == "done"
    cancelled_id = _long_rolling_run(client)
    _wait_for(client, cancelled_id, lambda r: r["status"] == "running")
    assert client.post(f"/api/v1/runs/{cancelled_id}/cancel").status_code == 200

    def dispatch_rows(run_id: str) -> int:
        with client.store.reading() as session:
            query = sa.select(sa.func.count()).where(RunDispatchRow.run_id == run_id)
            return session.scalar(query)

    assert dispatch_rows(done_id) > 0
    for run_id in (done_id, cancelled_id):
        answer = client.delete(f"/api/v1/runs/{run_id}", role="admin")
        assert answer.status_code == 204, answer.text
        assert client.get(f"/api/v1/runs/{run_id}").status_code == 404
    assert dispatch_rows(done_id) == 0
    assert client.get(f"/api/v1/runs/{done_id}/dispatch").status_code == 404
    lines = client.get(AUDIT, role="admin").json()
    assert [(line["action"], line["object"]) for line in lines] == [
        ("delete_run", f"run {cancelled_id}"),
        ("delete_run", f"run {done_id}"),
        ("cancel_run", f"run {cancelled_id}"),
    ]
    assert [line["actor"] for line in lines] == ["test admin", "test admin", "test planner"]
    assert lines[2]["actor_prefix"] == client.tokens["planner"][:10]
    assert lines[1]["detail"].startswith("done perfect run of 'tiny'")
    assert all(line["at"].endswith("Z") or "+00:00" in line["at"] for line in lines)
    assert len(client.get(AUDIT, role="admin", params={"limit": 1}).json()) == 1
