"""Property-based run of every operation of the OpenAPI schema (schemathesis), as admin.

A handful of generated requests per operation, each operation on a fresh
store: none may answer a server error (5xx). Bounded to finish in well under
a minute.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from service_helpers import make_settings  # noqa: E402

from api.main import create_app  # noqa: E402
from energyopt.service.store import keys as key_store  # noqa: E402

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

AUTH_HEADERS = {"authorization", "x-api-key", "cookie"}
#: the app whose schema is fuzzed; each test starts it on its own store
APP = create_app(make_settings(Path(tempfile.gettempdir()) / "energyopt-fuzz-unused"))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture
def admin_headers(tmp_path, executor):
    """Start :data:`APP` on a fresh store with the shared worker pool; an admin key."""
    APP.state.settings = make_settings(tmp_path)
    APP.state.executor, APP.state.own_executor = executor, False
    with TestClient(APP):
        _, token = key_store.create_key(APP.state.store, name="fuzz", role="admin")
        yield {"X-API-Key": token}


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_no_operation_answers_a_server_error(case, admin_headers):
    if case.headers:
        case.headers = {k: v for k, v in case.headers.items() if k.lower() not in AUTH_HEADERS}
    case.cookies = {}
    case.call_and_validate(headers=admin_headers, checks=[not_a_server_error])
