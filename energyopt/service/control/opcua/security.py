"""Who may do what on the OPC UA server: API keys as passwords, the API's roles.

A client logs in with a user name of its choice (it is logged) and an API
key's token as password (``energyopt keys create --role viewer|planner``);
the session gets the key's role. Unknown or revoked tokens are refused, and so
are anonymous sessions unless ``ENERGYOPT_OPCUA_ALLOW_ANONYMOUS`` is set (they
are viewers then). What a role may do is checked per request:

* viewer: browse, read, subscribe;
* planner and admin: also write measurement variables and call ``RequestReplan``.

Only measurement variables are writable at all (their access level); no role
may change the address space.
"""

# asyncua types its integers as NewTypes (Int32, UInt32)
# mypy: disable-error-code="arg-type"

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from asyncua import ua
from asyncua.crypto.permission_rules import USER_TYPES, PermissionRuleset, User, UserRole
from asyncua.server.user_managers import UserManager

from energyopt.service.store import Store
from energyopt.service.store import keys as key_store

if TYPE_CHECKING:
    from asyncua.server.internal_server import InternalServer

logger = logging.getLogger(__name__)

#: roles that may write measurements and request a re-plan
WRITER_ROLES = frozenset({"planner", "admin"})
_CHANGES = {
    ua.NodeId(ua.ObjectIds.WriteRequest_Encoding_DefaultBinary),
    ua.NodeId(ua.ObjectIds.CallRequest_Encoding_DefaultBinary),
}


@dataclasses.dataclass
class RoleUser(User):
    """A session's user with the API role of its key (``viewer``, ``planner``, ``admin``)."""

    api_role: str = "viewer"


class KeyUserManager(UserManager):
    """Sessions authenticated by API key tokens (the password); see the module docstring."""

    def __init__(self, store: Store, *, allow_anonymous: bool = False) -> None:
        self.store = store
        self.allow_anonymous = allow_anonymous

    def get_user(
        self,
        iserver: InternalServer,
        username: str | None = None,
        password: str | bytes | None = None,
        certificate: Any = None,
    ) -> User | None:
        """The session's user, or None (refused)."""
        if username is None and password is None:
            if self.allow_anonymous:
                return RoleUser(role=UserRole.User, name="anonymous", api_role="viewer")
            logger.warning("OPC UA: anonymous session refused")
            return None
        key = key_store.authenticate(self.store, token=_text(password))
        if key is None:
            logger.warning("OPC UA: user %r refused (unknown or revoked key)", username)
            return None
        # never asyncua's Admin: that role could change the address space
        return RoleUser(role=UserRole.User, name=username or key.name, api_role=key.role)


def _text(password: str | bytes | None) -> str:
    """The password as text (a channel without encryption hands over bytes)."""
    if isinstance(password, bytes):
        return password.decode("utf-8", errors="replace")
    return password or ""


class RoleRuleset(PermissionRuleset):
    """Per-request permissions: viewers read, planners and admins also write and call."""

    def __init__(self) -> None:
        self._allowed = {ua.NodeId(type_id) for type_id in USER_TYPES}

    def check_validity(self, user: Any, action_type_id: ua.NodeId, body: Any) -> bool:
        """True when ``user`` may send a request of ``action_type_id``."""
        if action_type_id not in self._allowed or user is None:
            return False
        if action_type_id in _CHANGES:
            return getattr(user, "api_role", None) in WRITER_ROLES
        return user.role != UserRole.Anonymous or isinstance(user, RoleUser)
