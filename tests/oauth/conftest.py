"""A real OpenID Connect provider (oidc-provider from npm) and real `sdassist mcp --http` processes on loopback.

The provider runs as a node process started here (its packages installed from tests/oidc/package-lock.json
when missing); its development sign-in form accepts any login, and "alice" is Alice. sdassist instances are
OS processes, configured to sign people in there. `Browser` is a person with a cookie jar who follows
redirects and fills the forms (the provider's, then sdassist's consent); the browser tests drive Chromium.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
import uvicorn

from sdassist.sandbox.server import free_loopback_port as free_port
from tests.conftest import TEST_DATABASE_URL

OIDC_DIR = Path(__file__).resolve().parents[1] / "oidc"
CLIENT_ID, CLIENT_SECRET = "sdassist-tests", "oidc-client-secret-for-tests-only"
SDASSIST_PORTS = 3  # instances a test may run at once; the provider knows their callback URLs


@dataclass
class Oidc:
    issuer: str
    ports: list[int]


def _node_modules() -> None:
    if (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the OpenID Connect provider for these tests comes from npm")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=OIDC_DIR, check=True,
                   timeout=600)


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout}s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def oidc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Oidc]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the OpenID Connect provider for these tests (oidc-provider) needs it")
    _node_modules()
    port = free_port()
    ports = [free_port() for _ in range(SDASSIST_PORTS)]
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([node, "provider.mjs", str(port), CLIENT_ID, CLIENT_SECRET,
                                 *(f"http://127.0.0.1:{p}/oauth/callback" for p in ports)],
                                cwd=OIDC_DIR, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/.well-known/openid-configuration", proc, log)
        yield Oidc(f"http://127.0.0.1:{port}", ports)
    finally:
        stop(proc)


@dataclass
class Instance:
    """One `sdassist mcp --http` process."""

    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.origin}/mcp"


@dataclass
class Cluster:
    oidc: Oidc
    tmp: Path
    database_url: str
    running: list[Instance] = field(default_factory=list)

    def env(self, port: int, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SDASSIST_", "SOCIALDOCK_", "SLACK_"))}
        env.update({
            "SDASSIST_DATA_DIR": str(self.tmp), "SDASSIST_DATABASE_URL": self.database_url,
            "SDASSIST_MCP_AUTH": "oauth", "SDASSIST_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "SDASSIST_OIDC_ISSUER": self.oidc.issuer, "SDASSIST_OIDC_CLIENT_ID": CLIENT_ID,
            "SDASSIST_OIDC_CLIENT_SECRET": CLIENT_SECRET, "SDASSIST_TIMEZONE": "Europe/Berlin",
        })
        env.update(extra)
        return env

    def start(self, index: int = 0, **extra: str) -> Instance:
        port = self.oidc.ports[index]
        log = self.tmp / f"sdassist-{port}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "sdassist", "mcp", "--http", "--port", str(port)],
                                    env=self.env(port, **extra), stdout=out, stderr=subprocess.STDOUT)
        instance = Instance(port, proc, log)
        self.running.append(instance)
        wait_http(f"{instance.origin}/.well-known/oauth-authorization-server", proc, log)
        return instance


@pytest.fixture
def cluster(oidc: Oidc, tmp_path: Path) -> Iterator[Cluster]:
    url = TEST_DATABASE_URL or f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    made = Cluster(oidc, tmp_path, url)
    try:
        yield made
    finally:
        for instance in made.running:
            stop(instance.proc)


FORM = re.compile(r"<form[^>]*action=\"([^\"]+)\"[^>]*>(.*?)</form>", re.S)
HIDDEN = re.compile(r"<input[^>]*type=\"hidden\"[^>]*name=\"([^\"]+)\"[^>]*value=\"([^\"]*)\"")


class Browser:
    """A person at a browser: cookies, redirects followed by hand, forms filled like a person would."""

    def __init__(self, login: str = "alice") -> None:
        self.login = login
        self.http = httpx.Client(timeout=20)
        self.pages: list[str] = []

    def close(self) -> None:
        self.http.close()

    def _follow(self, response: httpx.Response, stop_at: str) -> httpx.Response | str:
        """Follow redirects; the final URL as text once it reaches `stop_at` (the app's redirect URI)."""
        for _ in range(20):
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            target = urljoin(str(response.url), response.headers["location"])
            if target.startswith(stop_at):
                return target
            response = self.http.get(target)
        raise AssertionError("too many redirects")

    def authorize(self, url: str, redirect_uri: str, *, decision: str = "allow") -> str:
        """Open the authorization URL, sign in at the provider if asked, answer the consent page; the URL the
        browser is finally sent to (the app's redirect URI with code or error)."""
        result = self._follow(self.http.get(url), redirect_uri)
        for _ in range(6):
            if isinstance(result, str):
                return result
            html = result.text
            self.pages.append(html)
            match = FORM.search(html)
            assert match, f"no form on {result.url}: {html[:500]}"
            action = urljoin(str(result.url), match.group(1))
            fields = dict(HIDDEN.findall(match.group(2)))
            if fields.get("prompt") == "login":
                fields.update(login=self.login, password="any")
            elif "csrf" in fields:
                fields["decision"] = decision
            result = self._follow(self.http.post(action, data=fields), redirect_uri)
        raise AssertionError("the sign-in did not finish")


    def sign_in_through(self, response: httpx.Response) -> httpx.Response:
        """Follow redirects, signing in at the provider when it asks; the first page that is not a sign-in."""
        for _ in range(6):
            result = self._follow(response, "\0")
            assert not isinstance(result, str)
            match = FORM.search(result.text)
            fields = dict(HIDDEN.findall(match.group(2))) if match else {}
            if fields.get("prompt") not in ("login", "consent"):
                return result
            if fields["prompt"] == "login":
                fields.update(login=self.login, password="any")
            response = self.http.post(urljoin(str(result.url), match.group(1)), data=fields)  # type: ignore[union-attr]
        raise AssertionError("the sign-in did not finish")

    def confirm(self, url: str, decision: str | None) -> tuple[httpx.Response, httpx.Response | None]:
        """Open a confirmation link (signing in if asked) and press `decision` (publish/cancel) if given:
        (the page shown, the page after pressing)."""
        shown = self.sign_in_through(self.http.get(url))
        self.pages.append(shown.text)
        if decision is None:
            return shown, None
        match = FORM.search(shown.text)
        assert match, shown.text[:500]
        fields = {**dict(HIDDEN.findall(match.group(2))), "decision": decision}
        return shown, self.http.post(urljoin(str(shown.url), match.group(1)), data=fields)


@contextlib.contextmanager
def served(app: Any, port: int, **config: Any) -> Iterator[None]:
    """An ASGI app served by uvicorn on 127.0.0.1:`port` in a thread of this process, for the with-block."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"nothing started on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def code_from(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def browser() -> Iterator[Browser]:
    person = Browser()
    yield person
    person.close()

