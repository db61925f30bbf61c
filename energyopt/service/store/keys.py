"""API keys: random tokens of which only the SHA-256 hash is stored.

A token looks like ``eo_<43 url-safe characters>`` (256 random bits), so a
plain SHA-256 is enough (no password stretching needed: the token cannot be
guessed from a dictionary). The first characters are kept as ``prefix`` to
recognise a key in listings.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa

from energyopt.service.store.db import NotFoundError, Store, StoreError, utc_now
from energyopt.service.store.records import ApiKeyRecord, to_record
from energyopt.service.store.tables import ROLES, ApiKeyRow

TOKEN_PREFIX = "eo_"
_PREFIX_CHARS = 10


def hash_token(token: str) -> str:
    """SHA-256 of a token, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh high-entropy token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _check_role(role: str) -> None:
    if role not in ROLES:
        msg = f"role {role!r} is not one of {', '.join(ROLES)}"
        raise StoreError(msg)


def create_key(store: Store, *, name: str, role: str) -> tuple[ApiKeyRecord, str]:
    """Create a key; returns the record and the token (shown once, never stored)."""
    token = new_token()
    return add_key(store, name=name, role=role, token=token), token


def add_key(store: Store, *, name: str, role: str, token: str) -> ApiKeyRecord:
    """Store a key for a token chosen by the caller (e.g. a deployment's admin token)."""
    _check_role(role)
    row = ApiKeyRow(
        name=name,
        role=role,
        key_hash=hash_token(token),
        prefix=token[:_PREFIX_CHARS],
        created_at=utc_now(),
    )
    with store.transaction() as session:
        session.add(row)
        session.flush()
        return to_record(ApiKeyRecord, row)


def ensure_key(store: Store, *, name: str, role: str, token: str) -> ApiKeyRecord:
    """The key for ``token``, created if missing (idempotent; a revoked key stays revoked)."""
    with store.reading() as session:
        row = session.scalar(sa.select(ApiKeyRow).where(ApiKeyRow.key_hash == hash_token(token)))
        if row is not None:
            return to_record(ApiKeyRecord, row)
    return add_key(store, name=name, role=role, token=token)


def authenticate(store: Store, *, token: str) -> ApiKeyRecord | None:
    """The active key whose token this is, or None (unknown or revoked)."""
    digest = hash_token(token)
    with store.reading() as session:
        row = session.scalar(sa.select(ApiKeyRow).where(ApiKeyRow.key_hash == digest))
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            return None
        if row.revoked_at is not None:
            return None
        return to_record(ApiKeyRecord, row)


def list_keys(store: Store) -> list[ApiKeyRecord]:
    """All keys, oldest first (revoked ones included)."""
    with store.reading() as session:
        rows = session.scalars(sa.select(ApiKeyRow).order_by(ApiKeyRow.id))
        return [to_record(ApiKeyRecord, row) for row in rows]


def revoke_key(store: Store, *, key_id: int) -> ApiKeyRecord:
    """Revoke a key (kept for the record); revoking twice keeps the first time."""
    with store.transaction() as session:
        row = session.get(ApiKeyRow, key_id)
        if row is None:
            raise NotFoundError(f"API key {key_id} does not exist")
        if row.revoked_at is None:
            row.revoked_at = utc_now()
        session.flush()
        return to_record(ApiKeyRecord, row)
