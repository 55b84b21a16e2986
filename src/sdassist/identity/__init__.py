"""People and how they are known: OAuth clients, grants and tokens for the MCP HTTP server (stored hashed in
the draft database), personal access tokens, upstream OpenID Connect sign-in, and the mapping to a `Principal`.
`publishing/` sees only the principal, never a token.

Names load on first use: the CLI's parser reads `identity.scopes` on every start (`sdassist mcp` included),
and must not pay for the store and the OAuth provider there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdassist.lazy import lazy_exports

if TYPE_CHECKING:
    from sdassist.identity.principal import assistant_for, person_confirming
    from sdassist.identity.provider import AuthServerConfig, IssuedAccessToken, SdassistAuthProvider, same_resource
    from sdassist.identity.scopes import ADMIN, DEFAULT_SCOPES, DRAFT, READ, SCOPES, scope_for, scopes_needed
    from sdassist.identity.store import GrantRecord, IdentityStore, Person, TokenRecord

__all__ = [
    "ADMIN", "DEFAULT_SCOPES", "DRAFT", "READ", "SCOPES", "AuthServerConfig", "GrantRecord", "IdentityStore",
    "IssuedAccessToken", "Person", "SdassistAuthProvider", "TokenRecord", "assistant_for", "person_confirming",
    "same_resource", "scope_for", "scopes_needed",
]

__getattr__ = lazy_exports(__name__, {
    "assistant_for": ".principal", "person_confirming": ".principal",
    "AuthServerConfig": ".provider", "IssuedAccessToken": ".provider", "SdassistAuthProvider": ".provider",
    "same_resource": ".provider",
    "ADMIN": ".scopes", "DEFAULT_SCOPES": ".scopes", "DRAFT": ".scopes", "READ": ".scopes", "SCOPES": ".scopes",
    "scope_for": ".scopes", "scopes_needed": ".scopes",
    "GrantRecord": ".store", "IdentityStore": ".store", "Person": ".store", "TokenRecord": ".store",
}, globals())
