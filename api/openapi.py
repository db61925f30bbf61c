"""The published OpenAPI schema: every status an operation answers, with its real body.

FastAPI documents what a route declares. :func:`install` completes the schema
it generates, per operation and derived from the route itself, so that routes
added later are covered without a list here:

* 401 where the route depends on an API key (:func:`api.deps.current_key`),
  403 where the lowest role it accepts (:class:`api.deps.RoleCheck`) is above
  the lowest role there is, 404 where it depends on a look-up of a stored
  record named in the path (a dependency named ``*_or_404``, e.g.
  :func:`api.deps.get_run_or_404`);
* 413, 431 and 422 on every operation: :class:`api.limits.RequestLimits`
  checks every request (body and header length, NUL characters in the path
  or the query, the JSON body);
* a 422 is either a rejected request (:class:`api.schemas.ValidationErrorOut`,
  FastAPI's ``detail`` list) or a domain error such as a ``scenario_error``
  (:class:`api.schemas.ErrorOut`);
* every error answer is JSON, also on routes whose success is HTML or CSV.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel

from api.deps import ROLE_RANK, RoleCheck, current_key
from api.limits import MAX_HEADER_BYTES
from api.schemas import ErrorOut, ValidationErrorOut

JSON = "application/json"
REF = "#/components/schemas/{model}"
#: FastAPI's own 422 models, replaced by :class:`api.schemas.ValidationErrorOut`
FASTAPI_ERROR_MODELS = ("HTTPValidationError", "ValidationError")
LOWEST_ROLE = min(ROLE_RANK, key=ROLE_RANK.__getitem__)


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and ``/openapi.json``) return the completed schema."""
    generate = app.openapi
    completed: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = generate()  # cached by FastAPI until the routes change
        if not completed or completed[0] is not schema:
            completed[:] = [complete(schema, app.routes)]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def api_routes(routes: list[Any]) -> Iterator[routing.RouteContext]:
    """The schema's routes, also those of included routers (with their dependencies)."""
    for context in routing.iter_route_contexts(routes):
        if isinstance(context.original_route, routing.APIRoute) and context.include_in_schema:
            yield context


def complete(schema: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    """``schema`` with the statuses and error bodies of the module docstring, in place."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorOut, ValidationErrorOut):
        _add_model(components, model)
    for route in api_routes(routes):
        operations = schema.get("paths", {}).get(route.path_format, {})
        for method in route.methods or ():
            if method.lower() in operations:
                _complete_operation(operations[method.lower()], route)
    _drop_unused(schema, FASTAPI_ERROR_MODELS)
    return schema


def _add_model(components: dict[str, Any], model: type[BaseModel]) -> None:
    """``model`` and the models it uses as components."""
    definition = model.model_json_schema(ref_template=REF, mode="serialization")
    components.update(definition.pop("$defs", {}))
    components[model.__name__] = definition


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every dependency of ``dependant``, depth first."""
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def required_role(route: routing.RouteContext) -> str | None:
    """The lowest role the route accepts, or None when it needs no key."""
    calls = list(_calls(route.dependant))
    roles = [call.role for call in calls if isinstance(call, RoleCheck)]
    if roles:
        return max(roles, key=ROLE_RANK.__getitem__)
    return LOWEST_ROLE if current_key in calls else None


def looks_up_path_record(route: routing.RouteContext) -> bool:
    """Whether the route depends on a ``*_or_404`` look-up of a stored record."""
    return any(
        getattr(call, "__name__", "").endswith("_or_404") for call in _calls(route.dependant)
    )


def _errors_of(route: routing.RouteContext) -> dict[str, str]:
    """Statuses the route answers outside its own declarations, with their descriptions."""
    errors = {
        "413": "request body too long",
        "422": "rejected request (detail lists why) or invalid input (field names it)",
        "431": f"request headers longer than {MAX_HEADER_BYTES} bytes",
    }
    role = required_role(route)
    if role is not None:
        errors["401"] = "no API key, or an unknown or revoked one"
    if role is not None and role != LOWEST_ROLE:
        errors["403"] = f"the key's role is below {role}"
    if looks_up_path_record(route):
        errors["404"] = "nothing stored with the id of the path"
    return errors


def _complete_operation(operation: dict[str, Any], route: routing.RouteContext) -> None:
    responses = operation.setdefault("responses", {})
    for status, description in _errors_of(route).items():
        responses.setdefault(status, {"description": description})
    for status, response in responses.items():
        if status[0] in "45":
            _json_error(status, response)
    if "401" in responses:
        responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    operation["responses"] = dict(sorted(responses.items()))


def _json_error(status: str, response: dict[str, Any]) -> None:
    """An error response as the JSON the app answers it with."""
    content = response.get("content") or {}
    if status == "422":
        schema: dict[str, Any] = {"anyOf": [_ref(ValidationErrorOut), _ref(ErrorOut)]}
    else:
        declared = [entry.get("schema") for entry in content.values() if entry.get("schema")]
        schema = declared[0] if declared else _ref(ErrorOut)
    response["content"] = {JSON: {"schema": schema}}


def _drop_unused(schema: dict[str, Any], names: tuple[str, ...]) -> None:
    """Remove the component models ``names`` where nothing refers to them any more."""
    components = schema["components"]["schemas"]
    for name in names:
        ref = REF.format(model=name)
        rest = {k: v for k, v in components.items() if k != name}
        if not _mentions({**schema, "components": {"schemas": rest}}, ref):
            components.pop(name, None)


def _mentions(node: Any, ref: str) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == ref or any(_mentions(v, ref) for v in node.values())
    if isinstance(node, list):
        return any(_mentions(v, ref) for v in node)
    return False
