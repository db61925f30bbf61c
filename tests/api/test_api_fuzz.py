"""Property-based run of every operation of the OpenAPI schema (schemathesis).

Every operation is called with a handful of generated requests as admin, as
viewer and without a key, on SQLite and on PostgreSQL (skipped with the
reason when the test server does not answer). Each answer must be no server
error and must match the published schema: a documented status, its content
type, its headers and its body. The app of a backend runs for the whole
module on one fresh store; every test gets new keys. Bounded to finish in
about a minute on two cores.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from service_helpers import make_settings  # noqa: E402
from store_backends import BACKENDS, new_schema, postgres_unavailable, postgres_url  # noqa: E402

from api.main import create_app  # noqa: E402
from energyopt.service.store import keys as key_store  # noqa: E402

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

AUTH_HEADERS = {"authorization", "x-api-key", "cookie"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
    unsupported_method,
]
#: who calls: a role, or None for no key
CALLERS = ("admin", "viewer", None)
#: the app whose schema is fuzzed; each backend starts it on its own store
APP = create_app(make_settings(Path(tempfile.gettempdir()) / "energyopt-fuzz-unused"))


async def requests_only(scope, receive, send) -> None:
    """:data:`APP` for schemathesis: the fixture, not schemathesis, starts and stops it."""
    if scope["type"] != "lifespan":
        await APP(scope, receive, send)
        return
    while (await receive())["type"] != "lifespan.shutdown":
        await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


schema = schemathesis.openapi.from_asgi("/openapi.json", requests_only)


@pytest.fixture(scope="module", params=BACKENDS)
def live_app(request, tmp_path_factory, executor) -> Iterator[None]:
    """:data:`APP` started on a fresh store of the backend, with the shared worker pool."""
    data = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "sqlite":
        APP.state.settings = make_settings(data)
    else:
        reason = postgres_unavailable()
        if reason:
            print(f"skipping PostgreSQL: {reason}")
            pytest.skip(reason)
        APP.state.settings = make_settings(
            data, database_url=postgres_url(), database_schema=new_schema()
        )
    APP.state.executor, APP.state.own_executor = executor, False
    with TestClient(APP):
        yield
    if request.param != "sqlite":
        store = APP.state.settings.open_store()
        store.drop_schema()
        store.close()


@pytest.fixture(params=CALLERS, ids=lambda role: role or "no-key")
def caller_headers(request, live_app) -> dict[str, str]:
    """Headers of the caller: a new key of its role, or none."""
    if request.param is None:
        return {}
    _, token = key_store.create_key(APP.state.store, name="fuzz", role=request.param)
    return {"X-API-Key": token}


@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_every_answer_matches_the_schema(case, caller_headers):
    if case.headers:
        case.headers = {k: v for k, v in case.headers.items() if k.lower() not in AUTH_HEADERS}
    case.cookies = {}
    case.call_and_validate(headers=caller_headers, checks=CHECKS)
