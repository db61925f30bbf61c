"""API keys: create, list, revoke (admin only).

The token of a new key is in the answer to its creation and nowhere else:
only its SHA-256 hash is stored.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from api.deps import StoreDep, require_role
from api.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, ErrorOut, IdPath
from energyopt.service.store import keys as key_store

router = APIRouter(prefix="/keys", tags=["keys"], dependencies=[Depends(require_role("admin"))])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_key(body: ApiKeyCreate, store: StoreDep, response: Response) -> ApiKeyCreated:
    """Create a key; keep the token from this answer, it cannot be shown again."""
    record, token = key_store.create_key(store, name=body.name, role=body.role)
    response.headers["Location"] = f"/api/v1/keys/{record.id}"
    return ApiKeyCreated(
        **ApiKeyOut.model_validate(record, from_attributes=True).model_dump(), token=token
    )


@router.get("")
def list_keys(store: StoreDep) -> list[ApiKeyOut]:
    """Every key (revoked ones too), without tokens."""
    return [ApiKeyOut.model_validate(k, from_attributes=True) for k in key_store.list_keys(store)]


@router.delete("/{key_id}", responses={404: {"model": ErrorOut}})
def revoke_key(key_id: IdPath, store: StoreDep) -> ApiKeyOut:
    """Revoke a key: requests with it get 401 from now on."""
    return ApiKeyOut.model_validate(
        key_store.revoke_key(store, key_id=key_id), from_attributes=True
    )
