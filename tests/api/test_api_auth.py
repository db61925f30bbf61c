"""Every endpoint's auth rule, table-driven over the app's OpenAPI operations.

Each operation is probed without a key, with an unknown key and with a key
of every role. The lowest admitted role must match EXPECTED where listed;
operations added later are still checked: 401 without a key, a clean
role boundary (403 below it, admitted from it up), and writes need at least
``planner``. Only the operations in PUBLIC may answer without a key.
"""

from __future__ import annotations

import re

import pytest

from api.deps import ROLE_RANK
from api.main import create_app

PUBLIC = {("GET", "/health")}
EXPECTED = {
    ("GET", "/api/v1/scenarios"): "viewer",
    ("POST", "/api/v1/scenarios"): "planner",
    ("GET", "/api/v1/scenarios/{scenario_id}"): "viewer",
    ("PUT", "/api/v1/scenarios/{scenario_id}"): "planner",
    ("DELETE", "/api/v1/scenarios/{scenario_id}"): "planner",
    ("GET", "/api/v1/runs"): "viewer",
    ("POST", "/api/v1/runs"): "planner",
    ("GET", "/api/v1/runs/{run_id}"): "viewer",
    ("GET", "/api/v1/runs/{run_id}/kpis"): "viewer",
    ("GET", "/api/v1/runs/{run_id}/dispatch"): "viewer",
    ("GET", "/api/v1/runs/{run_id}/charts/dispatch"): "viewer",
    ("POST", "/api/v1/comparisons"): "planner",
    ("GET", "/api/v1/comparisons/{comparison_id}"): "viewer",
    ("GET", "/api/v1/comparisons/{comparison_id}/chart"): "viewer",
    ("POST", "/api/v1/keys"): "admin",
    ("GET", "/api/v1/keys"): "admin",
    ("DELETE", "/api/v1/keys/{key_id}"): "admin",
}
#: a value that parses as any path parameter (int or str) and names nothing stored
UNKNOWN_ID = "123456789"
ROLES_LOW_TO_HIGH = sorted(ROLE_RANK, key=ROLE_RANK.get)


def _operations() -> list[tuple[str, str]]:
    paths = create_app().openapi()["paths"]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    )


def _request(api, method: str, path: str, headers: dict[str, str] | None = None):
    url = re.sub(r"\{[^}]+\}", UNKNOWN_ID, path)
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return api.http.request(method, url, headers=headers or {}, **body)


def test_the_expected_operations_exist():
    assert set(EXPECTED) | PUBLIC <= set(OPERATIONS)


OPERATIONS = _operations()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_auth_rule(api, method, path):
    anonymous = _request(api, method, path)
    if (method, path) in PUBLIC:
        assert anonymous.status_code not in (401, 403)
        return
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert _request(api, method, path, {"X-API-Key": "eo_unknown"}).status_code == 401
    admitted = [
        role
        for role in ROLES_LOW_TO_HIGH
        if _request(api, method, path, api.headers(role)).status_code not in (401, 403)
    ]
    assert admitted, f"{method} {path} admits no role"
    lowest = admitted[0]
    assert admitted == ROLES_LOW_TO_HIGH[ROLES_LOW_TO_HIGH.index(lowest) :]
    for role in ROLES_LOW_TO_HIGH[: ROLES_LOW_TO_HIGH.index(lowest)]:
        answer = _request(api, method, path, api.headers(role))
        assert answer.status_code == 403
        assert lowest in answer.json()["detail"]
    if (method, path) in EXPECTED:
        assert lowest == EXPECTED[(method, path)]
    elif method != "GET":
        assert ROLE_RANK[lowest] >= ROLE_RANK["planner"], f"{method} {path} lets viewers write"


def test_bearer_token_works_like_the_header(api):
    token = api.tokens["viewer"]
    answer = api.http.get("/api/v1/runs", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert api.http.get("/api/v1/runs", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_revoked_key_is_refused_at_once(api):
    keys = api.get("/api/v1/keys", role="admin").json()
    viewer_id = next(k["id"] for k in keys if k["role"] == "viewer")
    assert api.get("/api/v1/runs").status_code == 200
    assert api.delete(f"/api/v1/keys/{viewer_id}", role="admin").status_code == 200
    assert api.get("/api/v1/runs").status_code == 401
