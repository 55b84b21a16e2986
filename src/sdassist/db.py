"""One way to open the SQL database every part of sdassist shares (drafts, media, sign-ins, the rate budget).

One engine, so one pool, per process for the drafts, the media files and the sign-in store
(`shared_engine`; per event loop, since a connection belongs to the loop that opened it): a process holds
at most one pool's connections, whatever it runs. The rate budget opens its own (`open_engine`), and says why.

SQLite (the embedded default): the file's directory is created, one pooled connection per process (tasks
queue in the pool rather than contend for SQLite's single write lock; other processes wait on the busy
timeout), WAL, and `BEGIN IMMEDIATE` so a transaction takes the write lock up front. PostgreSQL: a pooled
connection that sat idle is checked before use, and table creation is serialised between instances starting
at once by an advisory lock.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sdassist import sqlite_connection

log = logging.getLogger("sdassist.db")

__all__ = ["create_tables", "open_engine", "release_engine", "shared_engine"]

#: The shared engine's pool on a server database: up to 15 connections per process (docs/operations.md).
SHARED_POOL: dict[str, Any] = {"pool_size": 5, "max_overflow": 10}
#: Any fixed number: serialises table creation between instances starting at once on PostgreSQL.
PG_SCHEMA_LOCK = 0x5DA5_5157
#: Seconds a pooled server connection may sit idle and still be used without a check first.
PING_AFTER_IDLE = 5.0


def _use_wal(cursor: Any) -> None:
    """Put the database file in WAL mode, once: the mode is kept in the file, so a connection finding it set does
    nothing. Changing it needs the file to itself, and SQLite answers "database is locked" at once, without the
    busy timeout, when another process holds it (two instances starting on a new file). That other process is
    usually the one setting WAL, and the store works in either mode (BEGIN IMMEDIATE and the busy timeout
    serialise writers), so the refusal is let go: a later connection, here or elsewhere, sets it."""
    cursor.execute("PRAGMA journal_mode")
    row = cursor.fetchone()
    if row is not None and str(row[0]).lower() == "wal":
        return
    try:
        cursor.execute("PRAGMA journal_mode = WAL")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        log.debug("SQLite journal mode left to the process holding the file: %s", exc)


def _prepare_sqlite(engine: AsyncEngine) -> None:
    """Make SQLite safe for several writers: WAL, a busy timeout, and `BEGIN IMMEDIATE`."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 15000")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Check a pooled server connection before use only when it has sat idle for PING_AFTER_IDLE: a restart of the
    database or an idle timeout closes connections that wait, not ones in steady use. SQLAlchemy's pre-ping
    checks at every checkout (asyncpg: BEGIN, an empty query, ROLLBACK): three round trips before each
    transaction, as many as an approval's own statements. A connection found closed is replaced, and the
    caller never sees it."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("a pooled connection was closed while it sat idle") from exc


def _add_missing_columns(conn: Any, metadata: MetaData) -> None:
    """`create_all` leaves an existing table as it is: add the nullable columns added to it since (empty in
    the rows already there), so a database made by an earlier version keeps working."""
    inspector = inspect(conn)
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable:
                raise RuntimeError(f"table {table.name} lacks column {column.name}, which cannot be added to "
                                   "existing rows: migrate this database by hand")
            preparer = conn.dialect.identifier_preparer
            conn.exec_driver_sql(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN "
                                 f"{preparer.format_column(column)} {column.type.compile(dialect=conn.dialect)}")


def _create_missing_indexes(conn: Any, metadata: MetaData) -> None:
    """`create_all` skips a table that exists, and with it the indexes added to it since: a database made by an
    earlier version would stay without them (slow, not wrong). Create those one by one."""
    for table in metadata.sorted_tables:
        for index in table.indexes:
            index.create(conn, checkfirst=True)


async def open_engine(url: str, metadata: MetaData, **pool: Any) -> AsyncEngine:
    """An engine on `url` with `metadata`'s tables created. `pool` (pool_size, max_overflow) applies to
    server databases only. The engine is disposed again if the tables cannot be created."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        if database and database != ":memory:":
            kwargs.update(pool_size=1, max_overflow=0)
        connect_args: dict[str, Any] = {}
        kwargs["async_creator"] = lambda: sqlite_connection.connect(*connect_args["args"], **connect_args["kwargs"])
    else:
        kwargs.update(pool)
    try:
        engine = create_async_engine(url, **kwargs)
        if backend == "sqlite":  # the file name and options SQLAlchemy would pass aiosqlite, read from the URL
            args, options = engine.sync_engine.dialect.create_connect_args(engine.sync_engine.url)
            connect_args.update(args=args, kwargs=options)
    except ModuleNotFoundError as exc:  # a lean install has no PostgreSQL driver: say which extra brings it
        from sdassist.config import SettingsError

        extra = "pip install 'sdassist[postgres]'" if exc.name == "asyncpg" else f"install {exc.name}"
        raise SettingsError(f"SDASSIST_DATABASE_URL uses the {parsed.drivername} driver, which is not installed: "
                            f"{extra}") from None
    try:
        if backend == "sqlite":
            _prepare_sqlite(engine)
        else:
            _ping_when_idle(engine)
        await create_tables(engine, metadata)
    except BaseException:
        await engine.dispose()
        raise
    return engine


async def create_tables(engine: AsyncEngine, metadata: MetaData) -> None:
    """`metadata`'s tables, and the columns and indexes added to them since, created where missing."""
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text(f"SELECT pg_advisory_xact_lock({PG_SCHEMA_LOCK})"))
        await conn.run_sync(metadata.create_all)
        await conn.run_sync(_add_missing_columns, metadata)
        await conn.run_sync(_create_missing_indexes, metadata)


@dataclass
class _Shared:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    engine: AsyncEngine | None = None
    users: int = 0
    tables: set[int] = field(default_factory=set)  # id() of each MetaData whose tables were created


_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Shared]] = weakref.WeakKeyDictionary()


async def shared_engine(url: str, metadata: MetaData) -> AsyncEngine:
    """This process's engine for `url`, with `metadata`'s tables created: the stores that call this share one
    pool. Give each call back with `release_engine`; the last one disposes the engine."""
    engines = _SHARED.setdefault(asyncio.get_running_loop(), {})
    shared = engines.setdefault(url, _Shared())
    async with shared.lock:
        try:
            if shared.engine is None:
                shared.engine = await open_engine(url, metadata, **SHARED_POOL)
            elif id(metadata) not in shared.tables:
                await create_tables(shared.engine, metadata)
        except BaseException:
            if shared.users == 0 and shared.engine is None:
                engines.pop(url, None)
            raise
        shared.tables.add(id(metadata))
        shared.users += 1
        return shared.engine


async def release_engine(engine: AsyncEngine) -> None:
    """Give back an engine from `shared_engine` (disposed with its last user); any other engine is disposed."""
    for engines in list(_SHARED.values()):
        for url, shared in list(engines.items()):
            if shared.engine is engine:
                shared.users -= 1
                if shared.users > 0:
                    return
                del engines[url]
                break
    await engine.dispose()
