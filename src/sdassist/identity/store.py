"""Who may call the MCP server, kept in the draft database: OAuth clients, codes, tokens, sign-in sessions,
and the consents people gave apps (remembered, so an app asking again for no more is not asked about again).

Every secret (access and refresh tokens, personal access tokens, authorization codes, client secrets, browser
sessions) is stored only as its SHA-256 digest: a copy of the database lets nobody sign in. The secrets are
256 random bits, so a plain digest is enough (no salt or slow hash: nothing to guess). Tables live in the same
database as the drafts (`sdassist.db.shared_engine`), so several instances on PostgreSQL share them and a restart
signs nobody out. Single use (codes, refresh tokens) is one compare-and-set `UPDATE`, safe across instances.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    MetaData,
    String,
    Table,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from sdassist.db import release_engine, shared_engine
from sdassist.identity.scopes import SCOPES
from sdassist.secret_shapes import CODE_PREFIX, TOKEN_PREFIXES

__all__ = ["GrantRecord", "IdentityStore", "Person", "TokenRecord", "digest", "new_secret"]

metadata = MetaData()

clients_table = Table(
    "sdassist_oauth_clients",
    metadata,
    Column("client_id", String(600), primary_key=True),
    Column("source", String(10), nullable=False),  # "dcr" (registered here) or "cimd" (a fetched document)
    Column("body", JSON, nullable=False),  # the client's metadata, without any secret
    Column("secret_hash", String(64), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("fresh_until", BigInteger, nullable=True),  # a cached metadata document is fetched again after this
    Column("last_used_at", BigInteger, nullable=True),  # registered clients: last authorize/token/revoke (hourly)
    Column("registered_from", String(64), nullable=True, index=True),  # digest of the registering address
)

registrations_table = Table(
    "sdassist_oauth_registrations",  # dynamic registrations of the last minute, for the per-address limit
    metadata,
    Column("id", String(40), primary_key=True),
    Column("source", String(64), nullable=False, index=True),  # digest of the registering address
    Column("at", BigInteger, nullable=False),
)

codes_table = Table(
    "sdassist_oauth_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("body", JSON, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
)

tokens_table = Table(
    "sdassist_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("id", String(40), nullable=False, unique=True),  # public: names the token in lists and logs
    Column("kind", String(10), nullable=False),  # "access", "refresh" or "pat"
    Column("family", String(40), nullable=False, index=True),  # one sign-in's tokens: revoked together
    Column("client_id", String(600), nullable=False),
    Column("client_name", String(200), nullable=False),
    Column("subject", String(200), nullable=False, index=True),
    Column("person_name", String(200), nullable=True),
    Column("scopes", String(200), nullable=False),
    Column("resource", String(600), nullable=True),
    Column("label", String(200), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),
    Column("used_at", BigInteger, nullable=True),  # a refresh token, once exchanged
    Column("revoked_at", BigInteger, nullable=True),
)

grants_table = Table(
    "sdassist_oauth_grants",
    metadata,
    # digest of (subject, client_id, redirect host): one remembered consent per person, app and destination
    Column("key_hash", String(64), primary_key=True),
    Column("id", String(40), nullable=False, unique=True),  # public: names the grant in lists and `revoke`
    Column("subject", String(200), nullable=False, index=True),
    Column("person_name", String(200), nullable=True),
    Column("client_id", String(600), nullable=False),
    Column("client_name", String(200), nullable=False),
    Column("redirect_host", String(300), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

pending_table = Table(
    "sdassist_auth_pending",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),  # "authorize", "login", "session", "confirm"
    Column("body", JSON, nullable=False),
    Column("expires_at", BigInteger, nullable=False, index=True),
)


FORGET_AFTER = 24 * 3600
"""Seconds after expiry that a token or code row is deleted (a replay of it is refused either way)."""


def digest(secret: str) -> str:
    """The stored form of a secret."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def new_secret(prefix: str) -> str:
    """A fresh 256-bit secret; the prefix says what it is (for people and secret scanners), never who."""
    return prefix + secrets.token_urlsafe(32)


def _now() -> int:
    return int(time.time())


def _ordered(scopes: set[str]) -> list[str]:
    """Scopes in their canonical order (read, draft, admin), any unknown after them."""
    return [s for s in SCOPES if s in scopes] + sorted(scopes - set(SCOPES))


@dataclass(frozen=True)
class Person:
    """Someone who signed in (or for whom the operator issued a token): a stable id and a display name."""

    id: str
    name: str


@dataclass(frozen=True)
class TokenRecord:
    """What a token stands for. Never holds the token itself."""

    id: str
    kind: str
    family: str
    client_id: str
    client_name: str
    subject: str
    person_name: str | None
    scopes: tuple[str, ...]
    resource: str | None
    label: str | None
    created_at: int
    expires_at: int | None
    used_at: int | None
    revoked_at: int | None

    @property
    def person(self) -> Person:
        return Person(self.subject, self.person_name or self.subject)

    def usable(self, now: int | None = None) -> bool:
        now = _now() if now is None else now
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class GrantRecord:
    """A remembered consent: this person allowed this app these scopes, sending the browser to this host."""

    id: str
    subject: str
    person_name: str | None
    client_id: str
    client_name: str
    redirect_host: str
    scopes: tuple[str, ...]
    created_at: int
    updated_at: int


def _grant(row: Any) -> GrantRecord:
    return GrantRecord(id=row.id, subject=row.subject, person_name=row.person_name, client_id=row.client_id,
                       client_name=row.client_name, redirect_host=row.redirect_host,
                       scopes=tuple(row.scopes.split()), created_at=row.created_at, updated_at=row.updated_at)


def _grant_key(subject: str, client_id: str, redirect_host: str) -> str:
    return digest("grant\0" + subject + "\0" + client_id + "\0" + redirect_host)


def _record(row: Any) -> TokenRecord:
    return TokenRecord(
        id=row.id, kind=row.kind, family=row.family, client_id=row.client_id, client_name=row.client_name,
        subject=row.subject, person_name=row.person_name, scopes=tuple(row.scopes.split()), resource=row.resource,
        label=row.label, created_at=row.created_at, expires_at=row.expires_at, used_at=row.used_at,
        revoked_at=row.revoked_at,
    )


class IdentityStore:
    """Clients, codes, tokens and short-lived pending state. Open with `await IdentityStore.open(url)`."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._opened: AsyncEngine | None = None
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, url: str) -> IdentityStore:
        store = cls(url)
        await store._engine_()
        return store

    async def _engine_(self) -> AsyncEngine:
        """The engine, its tables created on first use (the HTTP app is built before its event loop runs): the
        process's one for the database (`db.shared_engine`), whose pool the drafts use too."""
        if self._opened is None:
            async with self._lock:
                if self._opened is None:
                    self._opened = await shared_engine(self._url, metadata)
        return self._opened

    async def close(self) -> None:
        if self._opened is not None:
            await release_engine(self._opened)
            self._opened = None

    # --- tokens ----------------------------------------------------------------------------------

    async def issue(
        self, kind: str, *, person: Person, client_id: str, client_name: str, scopes: tuple[str, ...] | list[str],
        resource: str | None, ttl: int | None, family: str | None = None, label: str | None = None,
    ) -> tuple[str, TokenRecord]:
        """A new token of `kind`; returns the secret (shown once) and its record."""
        secret = new_secret(TOKEN_PREFIXES[kind])
        now = _now()
        values = {
            "token_hash": digest(secret), "id": kind[:3] + "_" + secrets.token_hex(8), "kind": kind,
            "family": family or "fam_" + secrets.token_hex(8), "client_id": client_id, "client_name": client_name,
            "subject": person.id, "person_name": person.name, "scopes": " ".join(scopes), "resource": resource,
            "label": label, "created_at": now, "expires_at": now + ttl if ttl else None, "used_at": None,
            "revoked_at": None,
        }
        async with (await self._engine_()).begin() as conn:
            await conn.execute(delete(tokens_table).where(tokens_table.c.expires_at < now - FORGET_AFTER))
            await conn.execute(insert(tokens_table).values(**values))
        return secret, _record(SimpleNamespace(**values))

    async def find(self, secret: str) -> TokenRecord | None:
        """The record of a token as presented (usable or not), or None if this server never issued it."""
        async with (await self._engine_()).connect() as conn:
            row = (await conn.execute(select(tokens_table).where(tokens_table.c.token_hash == digest(secret)))).first()
        return _record(row) if row else None

    async def use_refresh(self, secret: str) -> bool:
        """Mark a refresh token exchanged; False if it was already (a replay: the caller revokes its family)."""
        query = (update(tokens_table)
                 .where(tokens_table.c.token_hash == digest(secret), tokens_table.c.kind == "refresh",
                        tokens_table.c.used_at.is_(None), tokens_table.c.revoked_at.is_(None))
                 .values(used_at=_now()))
        async with (await self._engine_()).begin() as conn:
            return (await conn.execute(query)).rowcount == 1

    async def revoke_family(self, family: str) -> int:
        """Revoke every token of one sign-in (access and refresh alike)."""
        query = (update(tokens_table).where(tokens_table.c.family == family, tokens_table.c.revoked_at.is_(None))
                 .values(revoked_at=_now()))
        async with (await self._engine_()).begin() as conn:
            return (await conn.execute(query)).rowcount

    async def revoke_id(self, token_id: str, *, kind: str | None = None) -> TokenRecord | None:
        """Revoke a token by its public id (with its family); the record, or None if there is no such token."""
        query = select(tokens_table).where(tokens_table.c.id == token_id)
        if kind is not None:
            query = query.where(tokens_table.c.kind == kind)
        async with (await self._engine_()).connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        await self.revoke_family(row.family)
        return await self._by_id(token_id)

    async def _by_id(self, token_id: str) -> TokenRecord | None:
        async with (await self._engine_()).connect() as conn:
            row = (await conn.execute(select(tokens_table).where(tokens_table.c.id == token_id))).first()
        return _record(row) if row else None

    async def list_tokens(self, *, kind: str, subject: str | None = None) -> list[TokenRecord]:
        query = select(tokens_table).where(tokens_table.c.kind == kind)
        if subject is not None:
            query = query.where(tokens_table.c.subject == subject)
        async with (await self._engine_()).connect() as conn:
            rows = (await conn.execute(query.order_by(tokens_table.c.created_at, tokens_table.c.id))).all()
        return [_record(r) for r in rows]

    # --- authorization codes ---------------------------------------------------------------------

    async def save_code(self, body: dict[str, Any], ttl: int) -> str:
        code = new_secret(CODE_PREFIX)
        async with (await self._engine_()).begin() as conn:
            await conn.execute(delete(codes_table).where(codes_table.c.expires_at < _now() - FORGET_AFTER))
            await conn.execute(insert(codes_table).values(
                code_hash=digest(code), body=body, expires_at=_now() + ttl, used_at=None))
        return code

    async def find_code(self, code: str) -> tuple[dict[str, Any], int, int | None] | None:
        """(body, expires_at, used_at) of a code, or None."""
        async with (await self._engine_()).connect() as conn:
            row = (await conn.execute(select(codes_table).where(codes_table.c.code_hash == digest(code)))).first()
        return (dict(row.body), row.expires_at, row.used_at) if row else None

    async def use_code(self, code: str) -> bool:
        """Spend a code: True for the one caller that did, False for a replay."""
        query = (update(codes_table).where(codes_table.c.code_hash == digest(code), codes_table.c.used_at.is_(None))
                 .values(used_at=_now()))
        async with (await self._engine_()).begin() as conn:
            return (await conn.execute(query)).rowcount == 1

    # --- clients ---------------------------------------------------------------------------------

    async def save_client(self, client_id: str, body: dict[str, Any], *, source: str, secret: str | None = None,
                          fresh_until: int | None = None) -> None:
        values = {"source": source, "body": body, "secret_hash": digest(secret) if secret else None,
                  "fresh_until": fresh_until}
        async with (await self._engine_()).begin() as conn:
            done = await conn.execute(update(clients_table).where(clients_table.c.client_id == client_id)
                                      .values(**values))
            if done.rowcount == 0:
                await conn.execute(insert(clients_table).values(client_id=client_id, created_at=_now(), **values))

    async def take_registration_slot(self, source: str, *, limit: int, window: int) -> tuple[str | None, int]:
        """One of the `limit` registrations an address may make in `window` seconds: (slot id, 0), or (None,
        seconds until one frees). Counting and taking are one transaction that others from the address wait
        for (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock on the address), so registrations arriving
        at once, at any instance, never pass the limit."""
        key, now, at = digest("source:" + source), _now(), registrations_table.c.at
        async with (await self._engine_()).begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(select(func.pg_advisory_xact_lock(int(key[:15], 16))))
            await conn.execute(delete(registrations_table).where(at < now - window))
            times = list((await conn.execute(select(at).where(registrations_table.c.source == key)
                                             .order_by(at))).scalars())
            if len(times) >= limit:
                return None, max(1, times[len(times) - limit] + window - now)
            slot = "reg_" + secrets.token_hex(8)
            await conn.execute(insert(registrations_table).values(id=slot, source=key, at=now))
        return slot, 0

    async def release_registration_slot(self, slot: str) -> None:
        """A registration that was refused does not count."""
        async with (await self._engine_()).begin() as conn:
            await conn.execute(delete(registrations_table).where(registrations_table.c.id == slot))

    async def note_registration(self, client_id: str, source: str) -> None:
        """Record which address registered a client (as a digest), and start its idle clock."""
        async with (await self._engine_()).begin() as conn:
            await conn.execute(update(clients_table).where(clients_table.c.client_id == client_id)
                               .values(registered_from=digest("source:" + source), last_used_at=_now()))

    async def client_used(self, client_id: str, *, every: int = 3600) -> int:
        """Note that a registered client was used (at most one write per `every` seconds); returns when it was
        last used before this, or when it was registered if never."""
        now = _now()
        used = func.coalesce(clients_table.c.last_used_at, clients_table.c.created_at)
        async with (await self._engine_()).begin() as conn:
            before = (await conn.execute(select(used).where(clients_table.c.client_id == client_id))).scalar()
            if before is not None and before < now - every:
                await conn.execute(update(clients_table).where(clients_table.c.client_id == client_id)
                                   .values(last_used_at=now))
        return int(before or 0)

    async def forget_idle_clients(self, unused_since: int) -> int:
        """Delete registered clients unused since then, and cached metadata documents stale since then."""
        used = func.coalesce(clients_table.c.last_used_at, clients_table.c.created_at)
        idle = or_(and_(clients_table.c.source == "dcr", used < unused_since),
                   and_(clients_table.c.source == "cimd", clients_table.c.fresh_until < unused_since))
        async with (await self._engine_()).begin() as conn:
            return (await conn.execute(delete(clients_table).where(idle))).rowcount

    async def forget_client(self, client_id: str) -> None:
        async with (await self._engine_()).begin() as conn:
            await conn.execute(delete(clients_table).where(clients_table.c.client_id == client_id))

    async def get_client(self, client_id: str) -> tuple[dict[str, Any], str, str | None, int | None] | None:
        """(body, source, secret_hash, fresh_until) or None."""
        async with (await self._engine_()).connect() as conn:
            row = (await conn.execute(select(clients_table).where(clients_table.c.client_id == client_id))).first()
        return (dict(row.body), row.source, row.secret_hash, row.fresh_until) if row else None

    # --- remembered consent ----------------------------------------------------------------------

    async def granted_scopes(self, subject: str, client_id: str, redirect_host: str) -> tuple[str, ...]:
        """The scopes this person already allowed this app (sending the browser to this host); () if none."""
        query = select(grants_table.c.scopes).where(
            grants_table.c.key_hash == _grant_key(subject, client_id, redirect_host))
        async with (await self._engine_()).connect() as conn:
            scopes = (await conn.execute(query)).scalar()
        return tuple(scopes.split()) if scopes else ()

    async def remember_grant(self, person: Person, *, client_id: str, client_name: str, redirect_host: str,
                             scopes: tuple[str, ...] | list[str]) -> GrantRecord:
        """Remember that the person allowed these scopes, added to what they allowed the app before (in the
        canonical order). Two instances remembering at once: the insert that loses retries as an update."""
        key = _grant_key(person.id, client_id, redirect_host)
        for attempt in range(2):
            now = _now()
            try:
                async with (await self._engine_()).begin() as conn:
                    row = (await conn.execute(select(grants_table).where(grants_table.c.key_hash == key))).first()
                    had = set(row.scopes.split()) if row else set()
                    union = " ".join(_ordered(had | set(scopes)))
                    values = {"person_name": person.name, "client_name": client_name, "scopes": union,
                              "updated_at": now}
                    if row is None:
                        values.update(key_hash=key, id="grt_" + secrets.token_hex(8), subject=person.id,
                                      client_id=client_id, redirect_host=redirect_host, created_at=now)
                        await conn.execute(insert(grants_table).values(**values))
                    else:
                        await conn.execute(update(grants_table).where(grants_table.c.key_hash == key)
                                           .values(**values))
                break
            except IntegrityError:
                if attempt:
                    raise
        async with (await self._engine_()).connect() as conn:
            return _grant((await conn.execute(select(grants_table).where(grants_table.c.key_hash == key))).one())

    async def list_grants(self, *, subject: str | None = None) -> list[GrantRecord]:
        query = select(grants_table)
        if subject is not None:
            query = query.where(grants_table.c.subject == subject)
        async with (await self._engine_()).connect() as conn:
            rows = (await conn.execute(query.order_by(grants_table.c.created_at, grants_table.c.id))).all()
        return [_grant(r) for r in rows]

    async def forget_grant(self, grant_id: str) -> GrantRecord | None:
        """Forget a remembered consent and end the sign-ins it led to (every token of that person and app):
        the app must ask again. The record, or None if there is no such grant."""
        async with (await self._engine_()).begin() as conn:
            row = (await conn.execute(select(grants_table).where(grants_table.c.id == grant_id))).first()
            if row is None:
                return None
            await conn.execute(delete(grants_table).where(grants_table.c.id == grant_id))
            await conn.execute(update(tokens_table).where(
                tokens_table.c.subject == row.subject, tokens_table.c.client_id == row.client_id,
                tokens_table.c.kind.in_(("access", "refresh")), tokens_table.c.revoked_at.is_(None))
                .values(revoked_at=_now()))
        return _grant(row)

    # --- pending state (authorization requests, upstream logins, browser sessions) ----------------

    async def put_pending(self, kind: str, body: dict[str, Any], ttl: int, *, key: str | None = None) -> str:
        key = key or new_secret("")
        async with (await self._engine_()).begin() as conn:
            await conn.execute(delete(pending_table).where(pending_table.c.expires_at < _now()))
            await conn.execute(insert(pending_table).values(
                key_hash=digest(kind + ":" + key), kind=kind, body=body, expires_at=_now() + ttl))
        return key

    async def get_pending(self, kind: str, key: str) -> dict[str, Any] | None:
        query = select(pending_table).where(pending_table.c.key_hash == digest(kind + ":" + key),
                                            pending_table.c.expires_at >= _now())
        async with (await self._engine_()).connect() as conn:
            row = (await conn.execute(query)).first()
        return dict(row.body) if row else None

    async def take_pending(self, kind: str, key: str) -> dict[str, Any] | None:
        """Read and delete in one go: the one caller that gets it back owns it."""
        body = await self.get_pending(kind, key)
        if body is None:
            return None
        async with (await self._engine_()).begin() as conn:
            gone = await conn.execute(delete(pending_table).where(
                pending_table.c.key_hash == digest(kind + ":" + key)))
        return body if gone.rowcount == 1 else None

    async def drop_pending(self, kind: str, key: str) -> None:
        async with (await self._engine_()).begin() as conn:
            await conn.execute(delete(pending_table).where(pending_table.c.key_hash == digest(kind + ":" + key)))

