"""A person's signed-in browser session: a random cookie, its digest and the person in the database.

The cookie is HttpOnly, SameSite=Lax, and Secure (with the `__Host-` prefix) whenever sdassist is served over
https. Each session has its own CSRF token, which every form posts back. A sign-in in progress is bound to the
browser that started it (a second cookie whose digest the pending sign-in keeps), so a callback URL someone
else's sign-in produced cannot sign this browser in as them (login CSRF, RFC 6749 §10.12).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from sdassist.identity.store import IdentityStore, Person, digest

__all__ = ["SESSION_TTL", "BrowserSession", "Sessions"]

SESSION_TTL = 12 * 3600


@dataclass(frozen=True)
class BrowserSession:
    person: Person
    csrf: str

    def csrf_ok(self, given: object) -> bool:
        return isinstance(given, str) and hmac.compare_digest(given.encode(), self.csrf.encode())


class Sessions:
    def __init__(self, store: IdentityStore, *, secure: bool) -> None:
        self.store = store
        self.secure = secure
        self.cookie = "__Host-sdassist_session" if secure else "sdassist_session"
        self.login_cookie = "__Host-sdassist_login" if secure else "sdassist_login"

    def bind_login(self, request: Request, response: Response, ttl: int) -> str:
        """Mark this browser as the one signing in; the digest to keep with the pending sign-in. A browser
        keeps its mark across sign-ins in several tabs."""
        mark = request.cookies.get(self.login_cookie) or secrets.token_urlsafe(24)
        response.set_cookie(self.login_cookie, mark, max_age=ttl, path="/", secure=self.secure, httponly=True,
                            samesite="lax")
        return digest(mark)

    def login_bound(self, request: Request, kept: object) -> bool:
        """Whether this browser is the one that started the sign-in whose digest is `kept`."""
        mark = request.cookies.get(self.login_cookie)
        return bool(mark) and isinstance(kept, str) and hmac.compare_digest(digest(mark or ""), kept)

    async def current(self, request: Request) -> BrowserSession | None:
        key = request.cookies.get(self.cookie)
        if not key:
            return None
        body = await self.store.get_pending("session", key)
        if body is None:
            return None
        return BrowserSession(Person(body["subject"], body["name"]), body["csrf"])

    async def start(self, response: Response, person: Person) -> None:
        body = {"subject": person.id, "name": person.name, "csrf": secrets.token_urlsafe(24)}
        key = await self.store.put_pending("session", body, SESSION_TTL)
        response.set_cookie(self.cookie, key, max_age=SESSION_TTL, path="/", secure=self.secure, httponly=True,
                            samesite="lax")

    async def end(self, request: Request, response: Response) -> None:
        key = request.cookies.get(self.cookie)
        if key:
            await self.store.drop_pending("session", key)
        response.delete_cookie(self.cookie, path="/", secure=self.secure, httponly=True, samesite="lax")
