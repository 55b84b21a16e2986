"""The sign-in provider rotates its signing keys: sdassist, holding the old key set, fetches the new one when an
ID token names a key it does not have, instead of refusing every sign-in until its cache runs out (an hour)."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from sdassist.sandbox.server import free_loopback_port as free_port
from tests.conftest import TEST_DATABASE_URL
from tests.oauth.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    OIDC_DIR,
    Browser,
    Cluster,
    Oidc,
    _node_modules,
    code_from,
    stop,
    wait_http,
)

REDIRECT_URI = "http://127.0.0.1:1/callback"


@pytest.fixture
def rotating(tmp_path: Path) -> Iterator[tuple[Oidc, Callable[[], None]]]:
    """A provider signing with a key made at its start, and a way to restart it (same address, a new key)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the OpenID Connect provider for these tests (oidc-provider) needs it")
    _node_modules()
    oidc = Oidc(f"http://127.0.0.1:{free_port()}", [free_port()])
    log = tmp_path / "provider.log"
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        if procs:
            stop(procs[-1])
        with log.open("ab") as out:
            procs.append(subprocess.Popen(
                [node, "provider.mjs", oidc.issuer.rsplit(":", 1)[1], CLIENT_ID, CLIENT_SECRET,
                 f"http://127.0.0.1:{oidc.ports[0]}/oauth/callback"], cwd=OIDC_DIR, stdout=out,
                stderr=subprocess.STDOUT, env={**os.environ, "OIDC_FRESH_KEY": "1"}))
        wait_http(f"{oidc.issuer}/.well-known/openid-configuration", procs[-1], log)

    start()
    try:
        yield oidc, start
    finally:
        stop(procs[-1])


def signs_in(origin: str) -> dict[str, str]:
    """A new browser signs Alice in for a freshly registered app; the authorization response."""
    client = httpx.post(f"{origin}/register", json={"client_name": "Probe", "redirect_uris": [REDIRECT_URI],
                                                    "token_endpoint_auth_method": "none"}).json()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 43).digest()).decode().rstrip("=")
    url = f"{origin}/authorize?" + urlencode({
        "client_id": client["client_id"], "redirect_uri": REDIRECT_URI, "response_type": "code", "scope": "read",
        "code_challenge": challenge, "code_challenge_method": "S256", "state": "s"})
    person = Browser()
    try:
        return code_from(person.authorize(url, REDIRECT_URI))
    finally:
        person.close()


def test_a_sign_in_after_the_provider_rotated_its_key(rotating: tuple[Oidc, Callable[[], None]],
                                                        tmp_path: Path) -> None:
    oidc, restart = rotating
    cluster = Cluster(oidc, tmp_path, TEST_DATABASE_URL or f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}")
    try:
        a = cluster.start()
        assert "code" in signs_in(a.origin)  # the first key set is fetched and kept
        restart()  # a new key; sdassist still holds the old set
        assert "code" in signs_in(a.origin)
    finally:
        for instance in cluster.running:
            stop(instance.proc)
