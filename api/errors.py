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
no or an unknown API key                   401     unauthorized
a key with too low a role                  403     forbidden
=========================================  ======  =================

The body is always ``{"detail": ..., "type": ..., "field": ...}``
(:class:`api.schemas.ErrorOut`); ``field`` is the dotted path of the bad field
when one is known. A request that does not match the schema or the limits
answers 422 with FastAPI's ``detail`` list instead of one line
(:class:`api.schemas.ValidationErrorOut`).
"""

from __future__ import annotations

import http
import logging
import math
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from energyopt.errors import (
    DataError,
    EnergyOptError,
    InfeasibleError,
    ModelBuildError,
    ScenarioError,
    SolveError,
)
from energyopt.inputs.config import format_location
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


#: ``type`` of the answers FastAPI's HTTPException gives, where the status phrase is not it
HTTP_TYPES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}


def error_body(detail: str, kind: str, field: str | None = None) -> dict[str, Any]:
    """The body of an error answer (:class:`api.schemas.ErrorOut`)."""
    return {"detail": detail, "type": kind, "field": field}


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
    body = error_body(str(exc), kind, getattr(exc, "field", None))
    return JSONResponse(status_code=code, content=body)


def http_type(status: int) -> str:
    """``type`` of an HTTP error: ``unauthorized``, ``forbidden``, ``method_not_allowed`` ..."""
    if status in HTTP_TYPES:
        return HTTP_TYPES[status]
    try:
        return http.HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """An HTTPException (401, 403, unknown path, wrong method) in the shape of every error."""
    assert isinstance(exc, StarletteHTTPException)
    body = error_body(str(exc.detail), http_type(exc.status_code))
    return JSONResponse(status_code=exc.status_code, content=body, headers=exc.headers)


def _finite(value: Any) -> Any:
    """``value`` with non-finite floats as text, so that the answer encodes as JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def validation_body(detail: list[dict[str, Any]]) -> dict[str, Any]:
    """FastAPI's 422 body (``detail[].loc``) plus ``type`` and the first error's ``field``."""
    loc = detail[0].get("loc", ()) if detail else ()
    field = format_location(tuple(loc[1:])) if len(loc) > 1 else None
    return {"detail": detail, "type": "validation_error", "field": field}


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 answer, encodable whatever the rejected input held."""
    assert isinstance(exc, RequestValidationError)
    detail = _finite(jsonable_encoder(exc.errors()))
    return JSONResponse(status_code=422, content=validation_body(detail))


async def out_of_range_handler(request: Request, exc: Exception) -> JSONResponse:
    """A value the database or the calendar cannot hold: 422, nothing stored."""
    logger.warning("%s %s: out of range: %s", request.method, request.url.path, exc)
    body = error_body("a value is out of the supported range", "out_of_range")
    return JSONResponse(status_code=422, content=body)


def install(app: FastAPI) -> None:
    """Register the handlers for energyopt errors and for rejected requests."""
    app.add_exception_handler(EnergyOptError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    # safety nets: fields are bounded where they are declared; these keep a bound
    # missed somewhere from answering 500 (transactions roll back)
    app.add_exception_handler(OverflowError, out_of_range_handler)
    app.add_exception_handler(sqlalchemy.exc.DataError, out_of_range_handler)
