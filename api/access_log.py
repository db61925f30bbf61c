"""Keep API keys out of the access log.

A browser may open the dashboard once as ``/?key=<token>``; the server's
access log would write that URL in full. The filter here replaces the value
of every ``key`` query parameter in access-log records with ``[redacted]``
(the dashboard answers such a request with a redirect to ``/`` and the key in
an HTTP-only cookie, so the browser's history keeps ``/`` only).
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
_KEY_VALUE = re.compile(r"(?<=[?&])key=[^&\s\"]*")
REDACTED = "key=[redacted]"


def redact(text: str) -> str:
    """``text`` with the value of every ``key=`` query parameter replaced."""
    return _KEY_VALUE.sub(REDACTED, text)


class RedactKeys(logging.Filter):
    """Redact ``key=`` query values in the arguments and message of a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install() -> None:
    """Add the filter to the server's access logger (once)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactKeys) for f in logger.filters):
        logger.addFilter(RedactKeys())
