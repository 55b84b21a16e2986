"""The draft store: drafts, their decision log and seen webhook events, in one SQL database.

Every change is a compare-and-set: one `UPDATE … WHERE id = ? AND state IN (…) AND version = ?`
that either changes exactly one row (this caller won) or none (someone else decided first). That holds
across tasks, processes and replicas, which an in-memory check never does. The decision row is written
in the same transaction as the change.

SQLite (one file, the default) and PostgreSQL are supported with portable types only. SQLite keeps
no time zone, so every datetime is written as UTC and read back as UTC aware. PostgreSQL enforces
column lengths and refuses NUL characters in text, so free-form values going into their own columns
(actor names, notes, webhook event keys) are cleaned first; the draft itself lives in the JSON body.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import AsyncIterator, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sdassist.db import release_engine, shared_engine
from sdassist.publishing.drafts import (
    POST_UPDATE_FIELDS,
    SYSTEM,
    TRANSITIONS,
    Decision,
    Draft,
    DraftBrief,
    DraftNotFound,
    DraftState,
    InvalidTransition,
    Principal,
    Slot,
    StaleVersion,
    as_utc,
    schedule_and_expiry,
    utcnow,
)

__all__ = ["EDITABLE_FIELDS", "ChangeCursor", "DraftStore"]

metadata = MetaData()

drafts_table = Table(
    "sdassist_drafts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("state", String(20), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("requester_id", String(200), nullable=False, index=True),
    Column("post_id", String(80), nullable=True, index=True),
    Column("publish_now", Integer, nullable=False),
    Column("scheduled_at", DateTime(timezone=True), nullable=True, index=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, index=True),
    Column("body", JSON, nullable=False),
    # Where this row's last write stands in the order of writes (see `DraftStore.changed_since`), which pages by
    # (changed_seq, id): one transaction's rows share a changed_seq on PostgreSQL.
    Column("changed_seq", BigInteger, nullable=True),
    Index("ix_sdassist_drafts_changed", "changed_seq", "id"),
    # Newest first within a state, and per person: `list` reads a page of an index, not every row.
    Index("ix_sdassist_drafts_state_created", "state", "created_at", "id"),
    Index("ix_sdassist_drafts_requester_created", "requester_id", "created_at", "id"),
    # A person's drafts in one state: without it, a rare state of a busy person walks all their drafts.
    Index("ix_sdassist_drafts_requester_state_created", "requester_id", "state", "created_at", "id"),
    # Pending drafts by deadline and by slot: `expire_due` (every list and poll) reads only what is due.
    Index("ix_sdassist_drafts_state_expires", "state", "expires_at"),
    Index("ix_sdassist_drafts_state_scheduled", "state", "scheduled_at"),
)

decisions_table = Table(
    "sdassist_draft_decisions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("draft_id", String(40), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("actor_kind", String(20), nullable=False),
    Column("actor_name", String(200), nullable=True),
    Column("face", String(20), nullable=False),
    Column("from_state", String(20), nullable=True),
    Column("to_state", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("note", Text, nullable=True),
)

seen_events_table = Table(
    "sdassist_seen_events",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("seen_at", DateTime(timezone=True), nullable=False),
)

late_watch_table = Table(
    "sdassist_late_watch",
    metadata,
    Column("draft_id", String(40), primary_key=True),
    Column("watch_until", DateTime(timezone=True), nullable=False),
    Column("next_check_at", DateTime(timezone=True), nullable=False, index=True),
    Column("looked_at", DateTime(timezone=True), nullable=True),
)
"""Drafts whose sent request was not found on SocialDock: looked for again until `watch_until`. Written in
the same transaction as the draft's `open_attempt` (a table of its own, so older databases gain it).
`looked_at`: when the last look began (`claim_look`)."""

EDITABLE_FIELDS = frozenset({
    "text", "title", "targets", "media_urls", "tags", "publish_now", "scheduled_at", "timezone",
    "time_phrase", "warnings", "expires_at",
})
"""What an edit may change. Everything else is set by the publisher or the store."""

_FIXED_FIELDS = frozenset({"id", "state", "version", "revision", "created_at", "kind"})
_CAS_RETRIES = 20

_SEEN_KEY_MAX = 300

_REPLACED_INDEXES = ("ix_sdassist_drafts_changed_seq",)
"""Made by earlier versions, replaced since (by (changed_seq, id)): dropped when a store opens, as every write
would keep them up to date for nothing."""


def _clean(value: str | None, limit: int | None = None) -> str | None:
    """A value PostgreSQL accepts in a text column: no NUL characters, at most `limit` characters."""
    if value is None:
        return None
    value = value.replace("\x00", "")
    return value[:limit] if limit is not None else value


def _seen_key(key: str) -> str:
    """The stored form of a webhook event key: itself, or a digest when too long or not storable."""
    if len(key) <= _SEEN_KEY_MAX and "\x00" not in key:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _row_values(draft: Draft) -> dict[str, Any]:
    return {
        "state": draft.state.value,
        "version": draft.version,
        "revision": draft.revision,
        "requester_id": draft.requester_id,
        "post_id": draft.post_id,
        "publish_now": int(draft.publish_now),
        "scheduled_at": as_utc(draft.scheduled_at),
        "expires_at": as_utc(draft.expires_at),
        "created_at": as_utc(draft.created_at),
        "updated_at": as_utc(draft.updated_at),
        "body": draft.model_dump(mode="json"),
    }


def _draft_from_row(row: Any) -> Draft:
    body = dict(row.body)
    body.update(state=row.state, version=row.version, revision=row.revision)
    return Draft.model_validate(body)


def _decision_from_row(r: Any) -> Decision:
    return Decision(
        at=as_utc(r.at),  # type: ignore[arg-type]
        actor_id=r.actor_id,
        actor_kind=r.actor_kind,
        actor_name=r.actor_name,
        face=r.face,
        from_state=DraftState(r.from_state) if r.from_state else None,
        to_state=DraftState(r.to_state),
        version=r.version,
        note=r.note,
    )


@dataclass(frozen=True)
class ChangeCursor:
    """Where a reader of `DraftStore.changed_since` stands in the order of writes: by `changed_seq`, then id.

    Every write ordered up to (`after`, `after_id`) has been returned, except those of the transactions in
    `waiting` (PostgreSQL): still running when read, they may commit later with a smaller number than writes
    already returned, so their rows are looked up by number, after the id given ("" for all of them), until
    they have been. Held by the caller as it is; positions in the database, so valid in any process."""

    after: int
    after_id: str = ""
    waiting: tuple[tuple[int, str], ...] = ()

    def moved_to(self, last: tuple[int, str], running: frozenset[int]) -> ChangeCursor:
        """This cursor once every write up to `last` has been returned, seen from a snapshot in which the
        transactions `running` were still running."""
        position = max((self.after, self.after_id), last)
        waiting: dict[int, str] = {x: "" for x in running if x < position[0]}
        for x, after_id in self.waiting:
            if x in running or x < last[0]:
                continue  # running: waits from the start; below `last`: all of its rows returned
            waiting[x] = max(after_id, last[1]) if x == last[0] else after_id
        return ChangeCursor(position[0], position[1], tuple(sorted(waiting.items())))


_NEWEST_COLUMNS: dict[str, tuple[Any, ...]] = {
    "drafts": (drafts_table,),
    "briefs": (drafts_table.c.id, drafts_table.c.state, drafts_table.c.version, drafts_table.c.post_id,
               drafts_table.c.scheduled_at, cast(drafts_table.c.body, Text).label("body")),
}
"""What `DraftStore.list` reads of each draft (all of it), and what `DraftStore.briefs` reads."""


@functools.lru_cache(maxsize=256)
def _newest_query(read: str, states: tuple[str, ...] | None, mine: bool) -> Any:
    """The statement of `DraftStore._newest` for one shape of list, built once: building a statement and its cache
    key cost more CPU than running it (~1 ms for several states). Binds `limit` and, when `mine`, `requester_id`.

    Several states: the newest `limit` of each state, each read from the (state, created_at, id) index back from
    the newest (or the person's (requester_id, state, created_at, id)), merged, and only the `limit` kept are
    read whole. With one `state IN (…)` query the planner may walk every draft by age looking for rare states
    (drafts in flight), which at 100,000 drafts costs hundreds of milliseconds."""
    c = drafts_table.c
    limit = bindparam("limit", type_=Integer)
    mine_only = [c.requester_id == bindparam("requester_id", type_=String)] if mine else []

    def newest(query: Any) -> Any:
        return query.order_by(c.created_at.desc(), c.id.desc()).limit(limit)

    if states is None or len(states) == 1:
        return newest(select(*_NEWEST_COLUMNS[read]).where(*mine_only, *(c.state == state for state in states or ())))
    each = union_all(*(select(newest(select(c.id, c.created_at).where(*mine_only, c.state == state)).subquery())
                       for state in states)).subquery()
    kept = select(each.c.id).order_by(each.c.created_at.desc(), each.c.id.desc()).limit(limit).subquery()
    return select(*_NEWEST_COLUMNS[read]).join_from(drafts_table, kept, kept.c.id == c.id).order_by(
        c.created_at.desc(), c.id.desc())


_PENDING = select(drafts_table.c.id, drafts_table.c.version).where(drafts_table.c.state == DraftState.PENDING.value)
# What `DraftStore.expire_due` reads before every list and poll: two index ranges, each only what is due at
# `now` (an OR reads every pending draft; one UNION ALL of both was planned in parallel on PostgreSQL, ~15 ms to
# start its workers), built once.
_DUE_BY_DEADLINE = _PENDING.where(drafts_table.c.expires_at <= bindparam("now"))
_DUE_BY_SLOT = _PENDING.where(drafts_table.c.scheduled_at <= bindparam("now"), drafts_table.c.publish_now == 0)


class DraftStore:
    """Drafts in SQL. Create with `await DraftStore.open(url)`; close with `await store.close()`."""

    def __init__(self, engine: AsyncEngine, *, draft_ttl: timedelta = timedelta(hours=72)) -> None:
        self._engine = engine
        self.draft_ttl = draft_ttl
        self._shared: ContextVar[AsyncConnection | None] = ContextVar(f"sdassist-reads-{id(self)}", default=None)
        self._postgres = engine.dialect.name == "postgresql"

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[None]:
        """Several reads on one connection: one wait for the pool (one connection on SQLite, shared with every
        task) instead of one per query. Reads only; inside it, reads see one consistent state."""
        if self._shared.get() is not None:
            yield
            return
        async with self._engine.connect() as conn:
            token = self._shared.set(conn)
            try:
                yield
            finally:
                self._shared.reset(token)

    @contextlib.asynccontextmanager
    async def _reader(self) -> AsyncIterator[AsyncConnection]:
        shared = self._shared.get()
        if shared is not None:
            yield shared
            return
        async with self._engine.connect() as conn:
            yield conn

    def _next_seq(self) -> Any:
        """The `changed_seq` of a row being written, as SQL evaluated inside the writing transaction.

        PostgreSQL: the writing transaction's id (`xid8`: 64 bits, never wraps, unlike `xid`), the same for every
        row one transaction writes. SQLite: the largest sequence so far plus one; writers hold the database's one
        write lock (`BEGIN IMMEDIATE`), so sequences are handed out, and committed, in order. Drafts are never
        deleted (they end in a state): deleting the newest row would hand its number out again, below a cursor."""
        if self._postgres:
            return literal_column("pg_current_xact_id()::text::bigint")
        source = drafts_table.alias("seq_source")  # not correlated with the row being updated
        return select(func.coalesce(func.max(source.c.changed_seq), 0) + 1).scalar_subquery()

    async def change_cursor(self) -> ChangeCursor:
        """Now, in the order of writes: `changed_since` from here returns every write not yet committed."""
        async with self._reader() as conn:
            after, running = await self._snapshot(conn)
        return ChangeCursor(after, "", tuple((x, "") for x in sorted(running)))

    async def _snapshot(self, conn: Any) -> tuple[int, frozenset[int]]:
        """What the reading transaction sees: every write sequenced below the first number is visible to it but
        those of the transactions in the set (still running); none at or above it is.

        PostgreSQL: its snapshot's xmax and running transactions (`pg_current_snapshot`). SQLite: one past the
        largest sequence, and no write running (the reader and the writers share one lock)."""
        if self._postgres:
            text_form = (await conn.execute(select(literal_column("pg_current_snapshot()::text")))).scalar_one()
            _, xmax, running = text_form.split(":")
            return int(xmax), frozenset(int(x) for x in running.split(",") if x)
        query = select(func.coalesce(func.max(drafts_table.c.changed_seq), 0) + 1)
        return int((await conn.execute(query)).scalar_one()), frozenset()

    @contextlib.asynccontextmanager
    async def _one_snapshot(self) -> AsyncIterator[AsyncConnection]:
        """A connection whose reads all see one state. PostgreSQL: a REPEATABLE READ transaction of its own
        (READ COMMITTED takes a new snapshot per statement). SQLite: any reading transaction already does."""
        if not self._postgres:
            async with self._reader() as conn:
                yield conn
            return
        async with self._engine.connect() as conn:
            yield await conn.execution_options(isolation_level="REPEATABLE READ")

    async def changed_since(self, cursor: ChangeCursor, *, limit: int = 500) -> tuple[list[Draft], ChangeCursor]:
        """The drafts written since `cursor` (from `change_cursor` or an earlier call), at most `limit`, in the
        order of writes, and the cursor to pass next time. Costs what changed, not the size of the store.

        No committed write is missed and none comes twice: a draft comes back once per read that finds it written
        since it last came back, in its state as read. A write still running when read (PostgreSQL) comes once
        it commits, without holding back the writes committed after it; one transaction's many rows come page
        by page, in (changed_seq, id) order."""
        c = drafts_table.c
        ordered = (c.changed_seq, c.id)
        later = (select(drafts_table).where(tuple_(*ordered) > tuple_(cursor.after, cursor.after_id))
                 .order_by(*ordered).limit(limit + 1))
        async with self._one_snapshot() as conn:
            horizon, running = await self._snapshot(conn)
            rows = list((await conn.execute(later)).all())
            waiting = [(x, after) for x, after in cursor.waiting if x not in running]  # committed since, or undone
            if waiting:
                rows += (await conn.execute(self._rows_of(waiting, limit + 1))).all()
        rows.sort(key=lambda r: (r.changed_seq, r.id))
        if len(rows) > limit:
            rows, last = rows[:limit], (rows[limit - 1].changed_seq, rows[limit - 1].id)
        else:  # everything this snapshot sees is read: continue from its horizon
            last = (horizon, "")
        return [_draft_from_row(r) for r in rows], cursor.moved_to(last, running)

    @staticmethod
    def _rows_of(waiting: list[tuple[int, str]], limit: int) -> Any:
        """The first `limit` rows, in order, of these transactions after the id given for each: one index range
        each (a LATERAL join over the list), so a transaction with many rows costs a page, not all of them."""
        c = drafts_table.c
        pending = func.unnest(
            literal([x for x, _ in waiting], ARRAY(BigInteger)), literal([a for _, a in waiting], ARRAY(Text)),
        ).table_valued("seq", "after_id").render_derived(name="waiting")
        page = (select(drafts_table).where(c.changed_seq == pending.c.seq, c.id > pending.c.after_id)
                .order_by(c.id).limit(limit).lateral("page"))
        return (select(page).select_from(pending.join(page, true()))
                .order_by(page.c.changed_seq, page.c.id).limit(limit))

    @classmethod
    async def open(cls, url: str, *, draft_ttl: timedelta = timedelta(hours=72)) -> DraftStore:
        """Connect and create the tables on first use (and the SQLite file's directory). The engine is the
        process's one for `url` (`db.shared_engine`), shared with the media and sign-in stores."""
        engine = await shared_engine(url, metadata)
        try:
            async with engine.begin() as conn:
                for name in _REPLACED_INDEXES:
                    await conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        except BaseException:
            await release_engine(engine)
            raise
        return cls(engine, draft_ttl=draft_ttl)

    async def close(self) -> None:
        await release_engine(self._engine)

    async def __aenter__(self) -> DraftStore:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # --- reads -----------------------------------------------------------------------------------

    async def _get_or_none(self, draft_id: str) -> Draft | None:
        async with self._reader() as conn:
            row = (await conn.execute(select(drafts_table).where(drafts_table.c.id == draft_id))).first()
        return _draft_from_row(row) if row else None

    async def get(self, draft_id: str) -> Draft:
        draft = await self._get_or_none(draft_id)
        if draft is None:
            raise DraftNotFound(draft_id)
        return draft

    async def list(
        self,
        *,
        states: Iterable[DraftState] | None = None,
        requester_id: str | None = None,
        limit: int = 50,
    ) -> list[Draft]:
        """Newest first."""
        rows = await self._newest("drafts", states=states, requester_id=requester_id, limit=limit)
        return [_draft_from_row(r) for r in rows]

    async def briefs(
        self,
        *,
        states: Iterable[DraftState] | None = None,
        requester_id: str | None = None,
        limit: int = 50,
    ) -> list[DraftBrief]:
        """The drafts `list` finds, as a list shows them. No draft is validated whole (a full page of 100 drafts cost
        ~6 ms of CPU that way, most of it building dicts of bodies and validating them only to show a line of each):
        each body comes as the text stored and `DraftBrief.from_stored` takes the three fields it shows. (Taking them
        out in SQL cost PostgreSQL ~1.3 ms per 100 drafts: its `json` type is parsed again for every field.)"""
        rows = await self._newest("briefs", states=states, requester_id=requester_id, limit=limit)
        return [DraftBrief.from_stored(r.id, r.state, r.version, r.body, r.scheduled_at, r.post_id) for r in rows]

    async def _newest(self, read: str, *, states: Iterable[DraftState] | None, requester_id: str | None,
                      limit: int) -> list[Any]:
        """Up to `limit` rows of `_NEWEST_COLUMNS[read]`, newest first, in one statement (`_newest_query`)."""
        wanted = None if states is None else tuple(sorted({DraftState(s).value for s in states}))
        if wanted == ():
            return []
        if wanted is not None and len(wanted) == len(DraftState):
            wanted = None  # every state: no filter at all
        values: dict[str, Any] = {"limit": limit}
        if requester_id is not None:
            values["requester_id"] = requester_id
        async with self._reader() as conn:
            return list((await conn.execute(_newest_query(read, wanted, requester_id is not None), values)).all())

    @staticmethod
    def _going_out_query(columns: Any, start: datetime, end: datetime,
                         states: Iterable[DraftState] | None) -> Any:
        """Two indexed ranges, as two selects (an OR of them would make the planner scan by state): scheduled
        drafts by (`state`, `scheduled_at`), and drafts published at once by `updated_at` (which never precedes
        their publication; their states are left to the caller, or the planner would scan by state). The caller
        keeps those really in the window, in `states`."""
        c = drafts_table.c
        scheduled = select(*columns).where(c.publish_now == 0, c.scheduled_at >= start, c.scheduled_at < end)
        if states is not None:
            scheduled = scheduled.where(c.state.in_([DraftState(s).value for s in states]))
        return union_all(scheduled, select(*columns).where(c.publish_now == 1, c.updated_at >= start))

    async def slots(self, start: datetime, end: datetime, *, states: Iterable[DraftState] | None = None,
                    limit: int = 50_000) -> list[Slot]:
        """Drafts that go out (or went out) in [start, end), by `Draft.goes_out_at`, earliest first, as slots
        (what the calendar and the posting caps count): the few fields they need are read out of each draft's
        JSON by the database, and no draft is read or validated whole (a busy fortnight holds thousands)."""
        start, end = as_utc(start), as_utc(end)
        chosen = None if states is None else {DraftState(s).value for s in states}
        c, body = drafts_table.c, drafts_table.c.body
        columns = [c.id, c.state, c.version, c.publish_now, c.scheduled_at, c.requester_id,
                   body["kind"].as_string().label("kind"), body["targets"].label("targets"),
                   body["target_results"].label("results"), body["text"].as_string().label("text"),
                   body["publish_started_at"].as_string().label("started")]
        query = self._going_out_query(columns, start, end, states)
        async with self._reader() as conn:
            rows = (await conn.execute(query.limit(limit))).all()
        found = []
        for r in rows:
            if chosen is not None and r.state not in chosen:
                continue
            at = (datetime.fromisoformat(r.started) if r.started else None) if r.publish_now else r.scheduled_at
            at = as_utc(at)
            if at is not None and start <= at < end:
                found.append(Slot.from_parts(r.id, r.state, r.version, r.kind, at, r.targets or [], r.results,
                                             r.text, r.requester_id))
        return sorted(found, key=lambda s: (s.goes_out_at, s.id))

    async def count(self, *, states: Iterable[DraftState] | None = None, requester_id: str | None = None) -> int:
        """How many drafts `list` would find without a limit."""
        query = select(func.count()).select_from(drafts_table)
        if states is not None:
            query = query.where(drafts_table.c.state.in_([DraftState(s).value for s in states]))
        if requester_id is not None:
            query = query.where(drafts_table.c.requester_id == requester_id)
        async with self._reader() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def approvals(self, draft_ids: Iterable[str]) -> dict[str, Decision]:
        """The latest approval (pending → publishing) of each of these drafts, in one query."""
        ids = list(dict.fromkeys(draft_ids))
        if not ids:
            return {}
        d = decisions_table.c
        query = (select(decisions_table)
                 .where(d.draft_id.in_(ids), d.from_state == DraftState.PENDING.value,
                        d.to_state == DraftState.PUBLISHING.value)
                 .order_by(d.seq))
        async with self._reader() as conn:
            rows = (await conn.execute(query)).all()
        return {r.draft_id: _decision_from_row(r) for r in rows}

    async def find_by_post_id(self, post_id: str) -> Draft | None:
        """The draft that created SocialDock post `post_id` (else the newest update draft for it)."""
        query = (
            select(drafts_table)
            .where(drafts_table.c.post_id == post_id)
            .order_by(drafts_table.c.created_at.desc(), drafts_table.c.id.desc())
        )
        async with self._reader() as conn:
            rows = (await conn.execute(query)).all()
        drafts = [_draft_from_row(r) for r in rows]
        creators = [d for d in drafts if d.kind == "create"]
        return (creators or drafts or [None])[0]

    async def decisions(self, draft_id: str) -> list[Decision]:
        query = select(decisions_table).where(decisions_table.c.draft_id == draft_id)
        async with self._reader() as conn:
            rows = (await conn.execute(query.order_by(decisions_table.c.seq))).all()
        return [_decision_from_row(r) for r in rows]

    # --- writes ----------------------------------------------------------------------------------

    @staticmethod
    def _decision_values(
        draft: Draft, actor: Principal, from_state: DraftState | None, note: str | None
    ) -> dict[str, Any]:
        return {
            "draft_id": draft.id,
            "at": draft.updated_at,
            "actor_id": _clean(actor.id, 200),
            "actor_kind": actor.kind,
            "actor_name": _clean(actor.name, 200),
            "face": actor.face,
            "from_state": from_state.value if from_state else None,
            "to_state": draft.state.value,
            "version": draft.version,
            "note": _clean(note),
        }

    async def add(self, draft: Draft, actor: Principal, *, note: str | None = None) -> Draft:
        """Store a new draft and log its creation."""
        if draft.state != DraftState.PENDING:
            raise InvalidTransition(draft.state, DraftState.PENDING, draft.id)
        async with self._engine.begin() as conn:
            await conn.execute(insert(drafts_table).values(id=draft.id, **_row_values(draft),
                                                           changed_seq=self._next_seq()))
            await conn.execute(
                insert(decisions_table).values(**self._decision_values(draft, actor, None, note or "created"))
            )
        return draft

    @staticmethod
    def _apply(draft: Draft, changes: Mapping[str, Any] | None, **fixed: Any) -> Draft:
        """A copy of `draft` with `changes` applied and validated (so dicts become Targets, etc.)."""
        changes = dict(changes or {})
        unknown = set(changes) - set(Draft.model_fields)
        if unknown:
            raise ValueError(f"drafts have no field(s) {', '.join(sorted(unknown))}")
        fixed_touched = set(changes) & _FIXED_FIELDS
        if fixed_touched:
            raise ValueError(f"{', '.join(sorted(fixed_touched))} cannot be changed this way")
        data = draft.model_dump()
        data.update(changes)
        data.update(fixed)
        return Draft.model_validate(data)

    async def _cas_write(
        self,
        current: Draft,
        new: Draft,
        *,
        actor: Principal | None,
        note: str | None,
        expected_version: int | None,
        log: bool = True,
    ) -> bool:
        """One UPDATE guarded by the row's state, revision (and version). True when this caller won."""
        where = [
            drafts_table.c.id == current.id,
            drafts_table.c.state == current.state.value,
            drafts_table.c.revision == current.revision,
        ]
        if expected_version is not None:
            where.append(drafts_table.c.version == expected_version)
        async with self._engine.begin() as conn:
            result = await conn.execute(update(drafts_table).where(*where).values(
                **_row_values(new), changed_seq=self._next_seq()))
            if result.rowcount != 1:
                return False
            if new.open_attempt != current.open_attempt:
                await self._sync_watch(conn, new)
            if log:
                await conn.execute(
                    insert(decisions_table).values(
                        **self._decision_values(new, actor or SYSTEM, current.state, note)
                    )
                )
        return True

    @staticmethod
    async def _sync_watch(conn: Any, draft: Draft) -> None:
        """The late-post watch row follows the draft's open attempt: one while it is watched, else none."""
        await conn.execute(delete(late_watch_table).where(late_watch_table.c.draft_id == draft.id))
        attempt = draft.open_attempt
        if attempt is not None and attempt.watch_until > utcnow():
            await conn.execute(insert(late_watch_table).values(
                draft_id=draft.id, watch_until=attempt.watch_until, next_check_at=utcnow()))

    async def watched(self, *, due_by: datetime | None = None, limit: int = 1000) -> list[Draft]:
        """Drafts with a watched open attempt; with `due_by`, those whose next look is due by then."""
        query = (select(drafts_table)
                 .join(late_watch_table, late_watch_table.c.draft_id == drafts_table.c.id)
                 .order_by(late_watch_table.c.next_check_at).limit(limit))
        if due_by is not None:
            query = query.where(late_watch_table.c.next_check_at <= as_utc(due_by))
        async with self._reader() as conn:
            rows = (await conn.execute(query)).all()
        return [_draft_from_row(r) for r in rows]

    async def claim_look(self, draft_id: str, *, now: datetime, hold_until: datetime,
                         asked_after: datetime | None = None) -> bool:
        """Take the next look for a watched draft's late post: True for one caller, in any process, when the
        look is due, or (`asked_after`) when the last look began no later than that. The next look moves to
        `hold_until` meanwhile, so no other caller looks at the same time; the looker sets the real one
        (`watch_next`). False when the draft is not watched (any more), or another caller looked."""
        c = late_watch_table.c
        ready = [c.next_check_at <= as_utc(now)]
        if asked_after is not None:
            ready += [c.looked_at.is_(None), c.looked_at <= as_utc(asked_after)]
        async with self._engine.begin() as conn:
            result = await conn.execute(update(late_watch_table).where(c.draft_id == draft_id, or_(*ready))
                                        .values(next_check_at=as_utc(hold_until), looked_at=as_utc(now)))
        return result.rowcount == 1

    async def watch_next(self, draft_id: str, at: datetime | None) -> None:
        """When to look for the draft's late post again; None ends the watch."""
        async with self._engine.begin() as conn:
            where = late_watch_table.c.draft_id == draft_id
            if at is None:
                await conn.execute(delete(late_watch_table).where(where))
            else:
                await conn.execute(update(late_watch_table).where(where).values(next_check_at=as_utc(at)))

    async def transition(
        self,
        draft_id: str,
        *,
        to: DraftState,
        actor: Principal,
        expected_state: DraftState | Iterable[DraftState],
        expected_version: int | None = None,
        expected_revision: int | None = None,
        changes: Mapping[str, Any] | None = None,
        note: str | None = None,
    ) -> Draft | None:
        """Move a draft to `to` if it is still in `expected_state` (and at `expected_version`).

        Returns the new draft when this caller won, None when the draft had moved on (a lost race or a
        stale version). Raises InvalidTransition when `to` is not reachable from an expected state.
        """
        to = DraftState(to)
        expected = (
            {DraftState(expected_state)}
            if isinstance(expected_state, str)
            else {DraftState(s) for s in expected_state}
        )
        for source in sorted(expected):
            if to not in TRANSITIONS[source]:
                raise InvalidTransition(source, to, draft_id)
        for _ in range(_CAS_RETRIES):
            current = await self.get(draft_id)
            if current.state not in expected:
                return None
            if expected_version is not None and current.version != expected_version:
                return None
            if expected_revision is not None and current.revision != expected_revision:
                return None
            fixed: dict[str, Any] = {"state": to, "revision": current.revision + 1, "updated_at": utcnow()}
            if to == DraftState.PENDING and current.state == DraftState.PENDING:
                fixed["version"] = current.version + 1
            new = self._apply(current, changes, **fixed)
            if await self._cas_write(current, new, actor=actor, note=note, expected_version=expected_version):
                return new
            # The row changed under us: re-read, and give up only if it no longer matches.
        return None

    async def annotate(
        self,
        draft_id: str,
        *,
        expected_state: DraftState | Iterable[DraftState],
        changes: Mapping[str, Any],
        expected_revision: int | None = None,
        actor: Principal | None = None,
        note: str | None = None,
    ) -> Draft | None:
        """Record facts without a state change (webhook results, an error while reconciling).

        CAS on state and revision; logged only when `note` is given. None when the draft moved on."""
        expected = (
            {DraftState(expected_state)}
            if isinstance(expected_state, str)
            else {DraftState(s) for s in expected_state}
        )
        for _ in range(_CAS_RETRIES):
            current = await self.get(draft_id)
            if current.state not in expected:
                return None
            if expected_revision is not None and current.revision != expected_revision:
                return None
            new = self._apply(current, changes, revision=current.revision + 1, updated_at=utcnow())
            if await self._cas_write(
                current, new, actor=actor, note=note, expected_version=None, log=note is not None
            ):
                return new
        return None

    async def edit(
        self,
        draft_id: str,
        *,
        expected_version: int,
        changes: Mapping[str, Any],
        actor: Principal,
        note: str | None = None,
    ) -> Draft:
        """Change a pending or failed draft: version + 1, back to pending, error cleared, a fresh TTL.

        Any approval given to the old version is now void. Raises StaleVersion when someone edited
        first, InvalidTransition when the draft is past editing."""
        not_editable = set(changes) - EDITABLE_FIELDS
        if not_editable:
            raise ValueError(
                f"{', '.join(sorted(not_editable))} cannot be edited; editable: {', '.join(sorted(EDITABLE_FIELDS))}"
            )
        for _ in range(_CAS_RETRIES):
            current = await self.get(draft_id)
            if current.state not in (DraftState.PENDING, DraftState.FAILED):
                raise InvalidTransition(current.state, DraftState.PENDING, draft_id)
            if current.version != expected_version:
                raise StaleVersion(draft_id, expected_version, current.version)
            now = utcnow()
            merged = dict(changes)
            merged.setdefault("error", None)
            if current.state == DraftState.FAILED and current.kind == "create":
                current.check_no_repost(self._apply(current, merged).targets)
                # A resubmitted create is a new post; the failed attempt's ids no longer describe it.
                merged.update(post_id=None, post_status=None, target_results=[], publish_started_at=None)
            if actor.id != current.requester_id:
                merged["last_editor_id"] = actor.id
            if current.kind == "update" and current.update_fields:
                # An edit of an update draft changes what it sends; the fields it touches join the update.
                touched = {f for f in POST_UPDATE_FIELDS if f in changes} | set(current.update_fields)
                merged["update_fields"] = [f for f in POST_UPDATE_FIELDS if f in touched]
            new = self._apply(
                current, merged,
                state=DraftState.PENDING, version=current.version + 1, revision=current.revision + 1,
                updated_at=now,
            )
            scheduled_at, deadline = schedule_and_expiry(
                publish_now=new.publish_now, scheduled_at=new.scheduled_at, now=now, ttl=self.draft_ttl)
            timing: dict[str, Any] = {"scheduled_at": scheduled_at}
            if "expires_at" not in changes:
                timing["expires_at"] = deadline
            new = new.model_copy(update=timing)
            if await self._cas_write(
                current, new, actor=actor, note=note or "edited", expected_version=expected_version
            ):
                return new
        raise StaleVersion(draft_id, expected_version, (await self.get(draft_id)).version)

    async def set_face_refs(self, draft_id: str, **refs: str) -> None:
        """Merge face references (Slack channel and ts, …) in; no version bump, no decision."""
        for _ in range(_CAS_RETRIES):
            current = await self.get(draft_id)
            new = self._apply(
                current, {"face_refs": {**current.face_refs, **refs}},
                revision=current.revision + 1, updated_at=utcnow(),
            )
            if await self._cas_write(current, new, actor=None, note=None, expected_version=None, log=False):
                return
        raise RuntimeError(f"could not record face refs on draft {draft_id}: it kept changing")

    async def mark_event_seen(self, key: str) -> bool:
        """True the first time `key` is seen, in any process sharing this database."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(seen_events_table).values(key=_seen_key(key), seen_at=utcnow()))
        except IntegrityError:
            return False
        return True

    async def forget_event(self, key: str) -> None:
        """Release a claim taken with `mark_event_seen` whose work failed, so that it can be tried again."""
        async with self._engine.begin() as conn:
            await conn.execute(delete(seen_events_table).where(seen_events_table.c.key == _seen_key(key)))

    async def expire_due(self, now: datetime | None = None) -> list[Draft]:
        """Expire pending drafts whose slot has passed or whose approval window closed."""
        now = as_utc(now) or utcnow()
        async with self._reader() as conn:
            due = dict((await conn.execute(_DUE_BY_DEADLINE, {"now": now})).all())
            due.update((await conn.execute(_DUE_BY_SLOT, {"now": now})).all())
        expired: list[Draft] = []
        for draft_id, version in due.items():
            current = await self.get(draft_id)
            reason = expiry_reason(current, now)
            if reason is None:
                continue
            won = await self.transition(
                draft_id, to=DraftState.EXPIRED, actor=SYSTEM, expected_state=DraftState.PENDING,
                expected_version=version, changes={"error": reason}, note=reason,
            )
            if won is not None:
                expired.append(won)
        return expired


def expiry_reason(draft: Draft, now: datetime) -> str | None:
    """Why `draft` can no longer be approved at `now`, or None if it still can."""
    if not draft.publish_now and draft.scheduled_at is not None and draft.scheduled_at <= now:
        return f"its scheduled time {draft.scheduled_at:%Y-%m-%d %H:%M} UTC passed before it was approved"
    if draft.expires_at is not None and draft.expires_at <= now:
        return f"nobody approved it before {draft.expires_at:%Y-%m-%d %H:%M} UTC"
    return None
