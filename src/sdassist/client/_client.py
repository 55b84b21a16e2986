"""`SocialDock`: the async client, holding the HTTP connection pool, the limiter and the resources."""

from __future__ import annotations

from functools import cached_property
from types import TracebackType

import httpx
from pydantic import SecretStr

from sdassist.netsafety import check_secret_transport, is_loopback_host

from . import logs
from ._constants import (
    DEFAULT_BASE_URL,
    KEEPALIVE_EXPIRY,
    LIVE_KEY_PREFIX,
    PUBLIC_SANDBOX_KEY,
    TEST_KEY_PREFIX,
)
from ._transport import RequestLoop
from .ratelimit import RateLimiter
from .resources import Accounts, Analytics, MediaResource, Posts, Webhooks


def _key_prefix(key: str) -> str:
    """As much of the key as may be shown: its mode prefix, never a character of the secret."""
    for prefix in (TEST_KEY_PREFIX, LIVE_KEY_PREFIX):
        if key.startswith(prefix):
            return prefix
    return ""


def _host(url: str) -> str:
    try:
        return (httpx.URL(url.strip()).host or "").lower().rstrip(".")
    except (httpx.InvalidURL, TypeError):
        return ""


def is_production_url(url: str) -> bool:
    """Whether `url` reaches SocialDock's production host, however it is written (scheme, case, slash, path)."""
    return _host(url) == _host(DEFAULT_BASE_URL)


def normalise_key(api_key: str | SecretStr) -> SecretStr:
    """The key as sent: surrounding whitespace (a pasted newline, a leading space) removed, once, here."""
    raw = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
    key = raw.strip()
    if not key:
        raise ValueError("an API key is required")
    return SecretStr(key)


class _BearerAuth(httpx.Auth):
    """Adds the key at send time, so it lives in one place and never in the client's default headers."""

    def __init__(self, key: SecretStr) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        request.headers["Authorization"] = f"Bearer {self._key.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return "_BearerAuth(****)"


class SocialDock:
    """Async client for the SocialDock REST API.

    `timeout` bounds each network operation (httpx); `deadline` (default four times `timeout`) bounds a
    whole call including its retries. Share one `RateLimiter` between clients of the same workspace.
    """

    def __init__(
        self,
        api_key: str | SecretStr,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
        max_retries: int = 3,
        rate_limiter: RateLimiter | None = None,
        deadline: float | None = None,
    ) -> None:
        key = normalise_key(api_key)
        in_process = isinstance(transport, (httpx.ASGITransport, httpx.MockTransport))
        if not in_process and key.get_secret_value() != PUBLIC_SANDBOX_KEY:
            check_secret_transport(base_url, what="SocialDock API key", setting="SOCIALDOCK_BASE_URL")
        self._key = key
        self.base_url = base_url.strip().rstrip("/")
        #: SocialDock is this machine (an in-process app or a loopback address): it may fetch loopback URLs.
        self.is_local = in_process or is_loopback_host(httpx.URL(self.base_url).host)
        self.rate_limiter = rate_limiter if rate_limiter is not None else RateLimiter()
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            auth=_BearerAuth(key),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY),
            headers={"Accept": "application/json", "User-Agent": "sdassist-client/0.1"},
            follow_redirects=False,
        )
        self._loop = RequestLoop(
            self._http,
            self.rate_limiter,
            max_retries=max_retries,
            deadline=deadline if deadline is not None else 4 * timeout,
        )
        logs.debug("client for %s (key %s****)", self.base_url, _key_prefix(key.get_secret_value()))

    @property
    def is_test_key(self) -> bool:
        """True for a sandbox key (`sd_test_…`)."""
        return self._key.get_secret_value().startswith(TEST_KEY_PREFIX)

    def __repr__(self) -> str:
        prefix = _key_prefix(self._key.get_secret_value())
        return f"SocialDock(base_url={self.base_url!r}, key={prefix}…****)"

    __str__ = __repr__

    @cached_property
    def accounts(self) -> Accounts:
        return Accounts(self._loop)

    @cached_property
    def posts(self) -> Posts:
        return Posts(self._loop)

    @cached_property
    def analytics(self) -> Analytics:
        return Analytics(self._loop)

    @cached_property
    def media(self) -> MediaResource:
        return MediaResource(self._loop)

    @cached_property
    def webhooks(self) -> Webhooks:
        return Webhooks(self._loop)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> SocialDock:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
