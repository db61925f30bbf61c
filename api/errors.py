"""Domain errors mapped to HTTP answers, in one place.

=========================================  ======  =================
error                                      status  ``type``
=========================================  ======  =================
ScenarioError, DataError, ModelBuildError  422     scenario_error ...
QueryError (e.g. unknown dispatch column)  422     query_error
NotFoundError                              404     not_found
ConflictError (name in use, run not done)  409     conflict
InfeasibleError                            409     infeasible
SolveError                                 500     solve_error
StoreError, other EnergyOptError           500     store_error ...
=========================================  ======  =================

The body is always ``{"detail": ..., "type": ..., "field": ...}``
(:class:`api.schemas.ErrorOut`); ``field`` is the dotted path of the bad field
when one is known.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from energyopt.errors import (
    DataError,
    EnergyOptError,
    InfeasibleError,
    ModelBuildError,
    ScenarioError,
    SolveError,
)
from energyopt.service.store import ConflictError, NotFoundError, QueryError, StoreError

logger = logging.getLogger(__name__)

#: (error class, HTTP status, type), most specific first
ERROR_MAP: list[tuple[type[Exception], int, str]] = [
    (ScenarioError, 422, "scenario_error"),
    (DataError, 422, "data_error"),
    (ModelBuildError, 422, "model_error"),
    (QueryError, 422, "query_error"),
    (NotFoundError, 404, "not_found"),
    (ConflictError, 409, "conflict"),
    (InfeasibleError, 409, "infeasible"),
    (SolveError, 500, "solve_error"),
    (StoreError, 500, "store_error"),
    (EnergyOptError, 500, "error"),
]


def classify(exc: Exception) -> tuple[int, str]:
    """HTTP status and error type of a domain error."""
    for cls, code, kind in ERROR_MAP:
        if isinstance(exc, cls):
            return code, kind
    return 500, "error"


async def domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Answer a domain error with its mapped status and a one-line message."""
    code, kind = classify(exc)
    if code >= 500:
        logger.error("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    body = {"detail": str(exc), "type": kind, "field": getattr(exc, "field", None)}
    return JSONResponse(status_code=code, content=body)


def install(app: FastAPI) -> None:
    """Register the handler for every energyopt error."""
    app.add_exception_handler(EnergyOptError, domain_error_handler)
