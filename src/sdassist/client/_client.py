"""`SocialDock`: the async client, holding the HTTP connection pool, the limiter and the resources."""

from __future__ import annotations

import ipaddress
from functools import cached_property
from types import TracebackType

import httpx
from pydantic import SecretStr

from . import logs
from ._transport import RequestLoop
from .ratelimit import RateLimiter
from .resources import Accounts, Analytics, MediaResource, Posts, Webhooks

#: SocialDock's production API: the one place its address is written.
DEFAULT_BASE_URL = "https://api.socialdock.com"
TEST_KEY_PREFIX = "sd_test_"
LIVE_KEY_PREFIX = "sd_live_"


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


def is_loopback_host(host: str | None) -> bool:
    """localhost, *.localhost, 127.0.0.0/8 or ::1: a host that never leaves this machine."""
    host = (host or "").strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_scheme(base_url: str, key: str, transport: httpx.AsyncBaseTransport | None) -> None:
    """A live key goes only over TLS, unless to this machine (or to an in-process app)."""
    if not key.startswith(LIVE_KEY_PREFIX) or isinstance(transport, (httpx.ASGITransport, httpx.MockTransport)):
        return
    url = httpx.URL(base_url)
    if url.scheme == "http" and not is_loopback_host(url.host):
        raise ValueError(
            f"refusing to send a live SocialDock key over plain http to {url.host}: the key would travel "
            f"unencrypted. Use https:// in SOCIALDOCK_BASE_URL (plain http is allowed only to localhost)."
        )


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
        key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        if not key.get_secret_value().strip():
            raise ValueError("an API key is required")
        _check_scheme(base_url, key.get_secret_value(), transport)
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.rate_limiter = rate_limiter if rate_limiter is not None else RateLimiter()
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            auth=_BearerAuth(key),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
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
