"""Request limits checked before any route runs (pure ASGI middleware).

* a body longer than ``max_body_bytes`` answers 413 (from ``Content-Length``
  or while it is read); headers longer than :data:`MAX_HEADER_BYTES` 431
  (both :func:`api.errors.error_body`, ``type`` ``body_too_large`` and
  ``headers_too_large``);
* a NUL character in the path or the query answers 422 (``loc`` ``["path"]``
  or ``["query", name]``): PostgreSQL cannot store it;
* a JSON body is parsed once here: invalid JSON is left to FastAPI, but
  bytes that are no UTF-8 text,
  ``NaN``/``Infinity``/numbers beyond the float range (``1e309``), nesting
  deeper than ``max_json_depth`` and NUL characters in strings or keys answer
  422 naming the field (``loc`` ``["body", "document", "plant", ...]``).

Error bodies have FastAPI's shape, ``{"detail": [{"loc", "msg", "type"}]}``, plus
``type`` and ``field`` (:func:`api.errors.validation_body`).
"""

from __future__ import annotations

import json
import math
import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from api.errors import error_body, validation_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: longest accepted request head (all header names and values) [bytes]
MAX_HEADER_BYTES = 16 * 1024


class _Refused(Exception):
    def __init__(self, loc: list[str | int], msg: str, kind: str) -> None:
        super().__init__(msg)
        self.loc, self.msg, self.kind = loc, msg, kind


def check_json(value: Any, *, max_depth: int) -> None:
    """Raise :class:`_Refused` for a non-finite number, a NUL or nesting deeper than allowed."""
    stack: list[tuple[Any, list[str | int]]] = [(value, ["body"])]
    while stack:
        node, loc = stack.pop()
        if isinstance(node, dict):
            if len(loc) > max_depth:
                raise _Refused(loc, f"nested deeper than {max_depth} levels", "too_deep")
            for key, item in node.items():
                if "\x00" in key:
                    raise _Refused(loc, "key contains a NUL character", "nul_character")
                stack.append((item, [*loc, key]))
        elif isinstance(node, list):
            if len(loc) > max_depth:
                raise _Refused(loc, f"nested deeper than {max_depth} levels", "too_deep")
            stack.extend((item, [*loc, i]) for i, item in enumerate(node))
        elif isinstance(node, float) and not math.isfinite(node):
            raise _Refused(loc, "number out of range; send a finite number", "finite_number")
        elif isinstance(node, str) and "\x00" in node:
            raise _Refused(loc, "string contains a NUL character", "nul_character")


def _is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether FastAPI would read this body as JSON (no content type, or a JSON one)."""
    for name, value in headers:
        if name.lower() == b"content-type":
            kind = value.split(b";")[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json")
    return True


class RequestLimits:
    """ASGI middleware enforcing the limits of the module docstring."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_json_depth: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
        if sum(len(n) + len(v) for n, v in headers) > MAX_HEADER_BYTES:
            detail = f"headers exceed {MAX_HEADER_BYTES} bytes"
            await _answer(send, 431, error_body(detail, "headers_too_large"))
            return
        try:
            _check_target(scope)
        except _Refused as exc:
            await _refuse(send, exc)
            return
        length = next((v for n, v in headers if n.lower() == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await _too_large(send, self.max_body_bytes)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") and length is None:
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # client gone
                await self.app(scope, _replay([message]), send)
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body_bytes:
                await _too_large(send, self.max_body_bytes)
                return
        if body and _is_json(headers):
            try:
                check_json(self._parse(body), max_depth=self.max_json_depth)
            except _Refused as exc:
                await _refuse(send, exc)
                return
            except UnicodeDecodeError:  # FastAPI would answer 400 without naming it
                await _refuse(send, _Refused(["body"], "body is not UTF-8 text", "json_invalid"))
                return
            except ValueError:  # invalid JSON: FastAPI answers it
                pass
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)

    def _parse(self, body: bytes) -> Any:
        try:
            return json.loads(body)  # NaN and Infinity parse, check_json refuses them
        except RecursionError:
            raise _Refused(
                ["body"], f"nested deeper than {self.max_json_depth} levels", "too_deep"
            ) from None


def _check_target(scope: Scope) -> None:
    if "\x00" in scope.get("path", ""):
        raise _Refused(["path"], "path contains a NUL character", "nul_character")
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            raise _Refused(["query", name], "contains a NUL character", "nul_character")


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


async def _refuse(send: Send, exc: _Refused) -> None:
    detail = [{"loc": exc.loc, "msg": exc.msg, "type": exc.kind}]
    await _answer(send, 422, validation_body(detail))


async def _too_large(send: Send, limit: int) -> None:
    await _answer(send, 413, error_body(f"request body exceeds {limit} bytes", "body_too_large"))


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
