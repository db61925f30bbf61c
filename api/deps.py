"""Typed dependencies of the API: settings, store, executor, API-key roles, records.

Use the ``Annotated`` aliases in route signatures::

    @router.get("/{run_id}")
    def get_run(run: RunDep, key: ViewerKey) -> schemas.RunOut: ...

Roles are ordered ``viewer`` < ``planner`` < ``admin``; a route declares the
lowest role it accepts with :func:`require_role` (or the ``ViewerKey`` /
``PlannerKey`` / ``AdminKey`` aliases). A request without a valid key gets 401,
a key with too low a role 403. The key goes in the ``X-API-Key`` header or
as ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from energyopt.service.jobs import JobContext, RunExecutor
from energyopt.service.settings import Settings
from energyopt.service.store import ApiKeyRecord, RunRecord, Store
from energyopt.service.store import keys as key_store
from energyopt.service.store import runs as run_store

ROLE_RANK = {"viewer": 1, "planner": 2, "admin": 3}

_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="API key (token from `energyopt keys create`)"
)
_bearer = HTTPBearer(auto_error=False, description="the same API key as a bearer token")


def get_settings(request: Request) -> Settings:
    """Settings the app was created with."""
    return request.app.state.settings


def get_store(request: Request) -> Store:
    """The app's store."""
    return request.app.state.store


def get_executor(request: Request) -> RunExecutor:
    """The app's run executor (worker process pool)."""
    return request.app.state.executor


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
ExecutorDep = Annotated[RunExecutor, Depends(get_executor)]


def get_job_context(store: StoreDep, settings: SettingsDep) -> JobContext:
    """What a worker needs to execute a run of this app."""
    return JobContext(
        store=store.config(),
        roots=settings.allowed_data_roots,
        base_dir=settings.scenarios_dir,
    )


JobContextDep = Annotated[JobContext, Depends(get_job_context)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


def current_key(
    store: StoreDep,
    api_key: Annotated[str | None, Depends(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKeyRecord:
    """The API key of the request; 401 when missing, unknown or revoked."""
    token = api_key or (bearer.credentials if bearer else None)
    if not token:
        raise _unauthorized("an API key is required (X-API-Key header or Authorization: Bearer)")
    key = key_store.authenticate(store, token=token)
    if key is None:
        raise _unauthorized("unknown or revoked API key")
    return key


class RoleCheck:
    """Dependency: the request's key if its role is at least ``role`` (else 403)."""

    def __init__(self, role: str) -> None:
        if role not in ROLE_RANK:
            raise ValueError(f"unknown role {role!r}")
        self.role = role

    def __call__(self, key: Annotated[ApiKeyRecord, Depends(current_key)]) -> ApiKeyRecord:
        if ROLE_RANK[key.role] < ROLE_RANK[self.role]:
            raise HTTPException(
                status_code=status.HTTP_403_FORBIDDEN,
                detail=f"this needs the {self.role} role; key {key.name!r} is {key.role}",
            )
        return key

    def __repr__(self) -> str:
        return f"RoleCheck({self.role!r})"


_CHECKS = {role: RoleCheck(role) for role in ROLE_RANK}


def require_role(role: str) -> RoleCheck:
    """The dependency that admits keys of ``role`` or higher."""
    return _CHECKS[role]


ViewerKey = Annotated[ApiKeyRecord, Depends(require_role("viewer"))]
PlannerKey = Annotated[ApiKeyRecord, Depends(require_role("planner"))]
AdminKey = Annotated[ApiKeyRecord, Depends(require_role("admin"))]


def get_run_or_404(run_id: str, store: StoreDep) -> RunRecord:
    """The run named in the path (404 via the store's NotFoundError)."""
    return run_store.get_run(store, run_id=run_id)


RunDep = Annotated[RunRecord, Depends(get_run_or_404)]


#: the ``format`` query parameter of routes that answer JSON or CSV
FormatParam = Annotated[
    Literal["json", "csv"] | None,
    Query(alias="format", description="json or csv; default: from the Accept header, else json"),
]


def wants_csv(request: Request, fmt: str | None) -> bool:
    """True if the request asks for CSV: ``format=csv``, or an Accept header for
    ``text/csv`` without JSON when no format is given."""
    if fmt is not None:
        return fmt == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept
