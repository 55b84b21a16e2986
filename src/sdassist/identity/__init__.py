"""People and how they are known: OAuth clients, grants and tokens for the MCP HTTP server (stored hashed in
the draft database), personal access tokens, upstream OpenID Connect sign-in, and the mapping to a `Principal`.
`publishing/` sees only the principal, never a token."""

from sdassist.identity.principal import assistant_for, person_confirming
from sdassist.identity.provider import AuthServerConfig, IssuedAccessToken, SdassistAuthProvider, same_resource
from sdassist.identity.scopes import ADMIN, DEFAULT_SCOPES, DRAFT, READ, SCOPES, scope_for_tool, scopes_needed
from sdassist.identity.store import IdentityStore, Person, TokenRecord

__all__ = [
    "ADMIN", "DEFAULT_SCOPES", "DRAFT", "READ", "SCOPES", "AuthServerConfig", "IdentityStore", "IssuedAccessToken",
    "Person", "SdassistAuthProvider", "TokenRecord", "assistant_for", "person_confirming", "same_resource",
    "scope_for_tool", "scopes_needed",
]
