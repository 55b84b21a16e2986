"""Every token and code sdassist's authorization server mints is masked in log lines and error texts."""

from __future__ import annotations

import logging
from pathlib import Path

from sdassist.client.logs import REDACTED
from sdassist.identity import IdentityStore, Person
from sdassist.secret_shapes import TOKEN_PREFIXES
from sdassist.tools.errors import ToolError


async def _minted(tmp_path: Path) -> list[str]:
    """One real secret of every kind the store issues, minted the way the server mints them."""
    store = await IdentityStore.open(f"sqlite+aiosqlite:///{tmp_path / 'id.db'}")
    try:
        person = Person("alice", "Alice")
        secrets = [(await store.issue(kind, person=person, client_id="c", client_name="C", scopes=["read"],
                                      resource=None, ttl=60))[0] for kind in TOKEN_PREFIXES]
        secrets.append(await store.save_code({"client_id": "c"}, 60))
    finally:
        await store.close()
    return secrets


async def test_minted_secrets_are_masked_by_the_log_filter(tmp_path: Path) -> None:
    secrets = await _minted(tmp_path)
    assert {s[:s.index("_", 4) + 1] for s in secrets} == {"sda_at_", "sda_rt_", "sda_pat_", "sda_code_"}
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(self.format(record))

    logger = logging.getLogger("sdassist.client")
    handler, level = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        for secret in secrets:  # in the message itself, and as a %-argument
            logger.debug("token endpoint answered with %s", secret)
            logger.debug(f"refresh failed for {secret}: revoked")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert len(seen) == 2 * len(secrets)
    for line in seen:
        assert REDACTED in line
    for secret in secrets:
        assert secret[-20:] not in "\n".join(seen)


async def test_minted_secrets_are_masked_in_error_texts(tmp_path: Path) -> None:
    for secret in await _minted(tmp_path):
        error = ToolError(f"token {secret} was refused", hint=f"sign in again ({secret})")
        prefix = secret[:secret.index("_", 4) + 1]
        assert secret[len(prefix):] not in str(error)
        assert f"token {prefix}… was refused" in str(error)
