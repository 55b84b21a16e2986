"""Drafts: exactly what will be sent to SocialDock, and the states a draft may move through.

A draft is the unit a human approves. It holds the request as it will go out, not an intention,
so the approver sees what will be posted. Its `version` changes on every edit: an approval names a
version, and an approval of version N can never publish version N+1.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sdassist.client.models import PostCreate, PostUpdate, Target

__all__ = [
    "COUNTED_STATES",
    "SYSTEM",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "AttemptMayLand",
    "Decision",
    "Draft",
    "DraftBrief",
    "DraftError",
    "DraftExpired",
    "DraftNotFound",
    "DraftState",
    "InvalidTransition",
    "OpenAttempt",
    "Principal",
    "Slot",
    "StaleApproval",
    "StaleVersion",
    "new_draft",
    "new_draft_id",
    "schedule_and_expiry",
    "utcnow",
]


def utcnow() -> datetime:
    """The current time, UTC aware: the only kind of datetime the publishing core handles."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Normalise to UTC aware. Naive values are taken as UTC (SQLite drops the zone on the way back)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --- states ---------------------------------------------------------------------------------------

POST_UPDATE_FIELDS: tuple[str, ...] = ("text", "title", "scheduled_at", "media_urls", "tags")
"""What `PUT /posts/{id}` can change."""


class DraftState(StrEnum):
    PENDING = "pending"          # waiting for a human decision
    PUBLISHING = "publishing"    # approved; the request to SocialDock is in flight
    SCHEDULED = "scheduled"      # SocialDock holds it for later
    PUBLISHED = "published"      # SocialDock published it
    FAILED = "failed"            # SocialDock refused it, or it never got there: edit or approve again
    UNKNOWN = "unknown"          # the request may have reached SocialDock: reconcile, never resend
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


S = DraftState
TRANSITIONS: dict[DraftState, frozenset[DraftState]] = {
    # pending/failed → scheduled/published: only when an earlier request, first not found, landed late
    S.PENDING: frozenset({S.PENDING, S.PUBLISHING, S.REJECTED, S.EXPIRED, S.CANCELLED, S.SCHEDULED, S.PUBLISHED}),
    S.PUBLISHING: frozenset({S.SCHEDULED, S.PUBLISHED, S.FAILED, S.UNKNOWN}),
    S.UNKNOWN: frozenset({S.SCHEDULED, S.PUBLISHED, S.FAILED}),
    S.FAILED: frozenset({S.PENDING, S.CANCELLED, S.SCHEDULED, S.PUBLISHED}),
    S.SCHEDULED: frozenset({S.PUBLISHED, S.FAILED, S.CANCELLED}),
    S.PUBLISHED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
}
TERMINAL_STATES: frozenset[DraftState] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)

_WHAT_NEXT: dict[DraftState, str] = {
    S.PENDING: "it is waiting for approval: approve, reject, edit or cancel it",
    S.PUBLISHING: "it is being sent to SocialDock right now: wait for the outcome",
    S.UNKNOWN: "its outcome is being checked against SocialDock: wait, or run reconcile",
    S.FAILED: "edit it and submit it again, approve it again, or cancel it",
    S.SCHEDULED: "it is scheduled on SocialDock: cancel it to delete the scheduled post, "
                 "or create an update draft to change it",
    S.PUBLISHED: "it is already published: create a new draft to post again",
    S.REJECTED: "it was rejected: create a new draft",
    S.EXPIRED: "it expired before approval: create a new draft with a future time",
    S.CANCELLED: "it was cancelled: create a new draft",
}


def what_next(state: DraftState) -> str:
    """A sentence telling the user what they can still do with a draft in `state`."""
    return _WHAT_NEXT[DraftState(state)]


# --- errors ---------------------------------------------------------------------------------------

class DraftError(Exception):
    """Base of every draft error; the message says what happened and what to do next."""


class InvalidTransition(DraftError):
    def __init__(self, from_state: DraftState, to_state: DraftState, draft_id: str | None = None) -> None:
        self.from_state = DraftState(from_state)
        self.to_state = DraftState(to_state)
        self.draft_id = draft_id
        subject = f"draft {draft_id}" if draft_id else "a draft"
        if self.from_state == self.to_state:  # cancel twice: say it is done, not "from cancelled to cancelled"
            super().__init__(f"{subject} is already {self.from_state}: {what_next(self.from_state)}")
            return
        super().__init__(
            f"cannot move {subject} from {self.from_state} to {self.to_state}: {what_next(self.from_state)}"
        )


class DraftNotFound(DraftError, LookupError):
    def __init__(self, draft_id: str) -> None:
        self.draft_id = draft_id
        super().__init__(f"no draft with id {draft_id}; list_drafts shows yours")


class StaleVersion(DraftError):
    """An edit named a version that is no longer current."""

    def __init__(self, draft_id: str, expected: int, current: int) -> None:
        self.draft_id, self.expected, self.current = draft_id, expected, current
        super().__init__(
            f"draft {draft_id} changed since you saw it (you edited version {expected}, it is now "
            f"version {current}); look at the current version and edit that"
        )


class StaleApproval(DraftError):
    """An approval or rejection lost: someone decided first, or the draft was edited."""

    def __init__(self, draft_id: str, expected_version: int | None, state: DraftState, version: int) -> None:
        self.draft_id, self.state, self.version = draft_id, DraftState(state), version
        seen = f"version {expected_version}" if expected_version is not None else "it"
        super().__init__(
            f"draft {draft_id} was already approved, rejected or edited since you saw {seen} — "
            f"current state {self.state} version {version}; {what_next(self.state)}"
        )


class AlreadyLive(DraftError):
    """Some targets of a failed draft did publish: sending it again would post there twice."""

    def __init__(self, draft_id: str, live: list[str], failed: list[str]) -> None:
        self.draft_id, self.live, self.failed = draft_id, live, failed
        retry = f" (edit_draft targets={','.join(failed)})" if failed else ""
        super().__init__(
            f"draft {draft_id} is already live on {', '.join(live)}: approving it again with those targets "
            f"would post there twice; keep only the targets that failed{retry} and submit that"
        )


class AttemptMayLand(DraftError):
    """Approving again now could post twice: an earlier request that was sent may still land."""

    def __init__(self, draft_id: str, sent_at: datetime, possible_at: datetime) -> None:
        self.draft_id, self.sent_at, self.possible_at = draft_id, sent_at, possible_at
        super().__init__(
            f"draft {draft_id} cannot be approved again yet: the request sent at {sent_at:%Y-%m-%d %H:%M:%S} UTC "
            f"is not found on SocialDock yet but may still land until {possible_at:%H:%M:%S} UTC; approve again "
            f"after {possible_at:%Y-%m-%d %H:%M} UTC (SocialDock is checked once more first), or cancel it"
        )


class DraftExpired(DraftError):
    def __init__(self, draft_id: str, reason: str) -> None:
        self.draft_id, self.reason = draft_id, reason
        super().__init__(
            f"draft {draft_id} can no longer be approved: {reason}; create a new draft "
            f"(or edit this one) with a time in the future"
        )


# --- who acts -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Principal:
    """Who asked or decided, and through which face.

    `assistant` is an MCP caller (an AI); `operator` is the person at the local terminal, who holds the
    installation's API key; `human` is a person reached through Slack, or confirming in a browser or at their
    MCP host. An assistant signed in for a person carries that person's `id` and the client's name in `via`
    ("Alice via Claude"): its drafts are hers, so she cannot approve them as someone else.
    """

    id: str
    kind: Literal["human", "assistant", "operator"]
    face: Literal["slack", "mcp", "cli", "system", "web"]
    name: str | None = None
    via: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.id


SYSTEM = Principal(id="sdassist", kind="operator", face="system", name="sdassist")
"""sdassist itself: expiry, reconciliation and webhook outcomes. Policy never lets it approve."""


@dataclass(frozen=True)
class Decision:
    """One line of a draft's history: who moved it, when, through which face, from what to what."""

    at: datetime
    actor_id: str
    actor_kind: str
    face: str
    from_state: DraftState | None
    to_state: DraftState
    version: int
    note: str | None = None
    actor_name: str | None = None


# --- the draft ------------------------------------------------------------------------------------

class OpenAttempt(BaseModel):
    """A `POST /posts` that was sent and not found on SocialDock: what it carried, so that a late post can
    still be recognised as its own, and until when it may land (no new POST before) and is watched for."""

    model_config = ConfigDict(extra="forbid")

    sent_at: datetime
    may_land_until: datetime
    watch_until: datetime
    version: int
    text: str
    title: str | None = None
    targets: list[Target] = Field(default_factory=list)
    media_urls: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)

    @field_validator("sent_at", "may_land_until", "watch_until")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)  # type: ignore[return-value]

    def content(self) -> dict[str, Any]:
        """The draft fields as this attempt sent them (what a late post of it really shows)."""
        return {"text": self.text, "title": self.title, "targets": [t.model_copy() for t in self.targets],
                "media_urls": list(self.media_urls), "tags": list(self.tags)}


_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def new_draft_id(now: datetime | None = None) -> str:
    """`drf_` + 26 lowercase ULID-like chars: 48 bits of milliseconds, 80 random bits, sortable by time."""
    ms = int((now.timestamp() if now else time.time()) * 1000) & ((1 << 48) - 1)
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "drf_" + "".join(reversed(chars))


class Draft(BaseModel):
    """What will be sent, exactly, plus where it stands. Only the store changes a stored draft."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    id: str = Field(pattern=r"^drf_[0-9a-z]{26}$")
    version: int = Field(default=1, ge=1)
    revision: int = Field(default=0, ge=0)
    """Bumped by every stored change (also webhook results and face refs); the store's CAS token."""
    state: DraftState
    kind: Literal["create", "update"] = "create"

    text: str
    title: str | None = None
    targets: list[Target] = Field(default_factory=list)
    media_urls: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    publish_now: bool
    scheduled_at: datetime | None = None
    timezone: str = "UTC"
    time_phrase: str | None = None

    requester_id: str
    requester_kind: str
    requester_face: str
    requester_name: str | None = None
    requester_via: str | None = None
    """The MCP client a signed-in person's assistant used ("Claude"); None for anonymous assistants."""
    update_fields: list[str] = Field(default_factory=list)
    """For an update draft, the post fields it changes (empty: all of them, as drafts stored before this did)."""
    last_editor_id: str | None = None
    """Who made the current version, when not the requester: their approval would be a self-approval."""

    post_id: str | None = None
    post_status: str | None = None
    target_results: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)
    face_refs: dict[str, str] = Field(default_factory=dict)
    open_attempt: OpenAttempt | None = None
    """A sent `POST /posts` not found on SocialDock (yet): watched for a late post, checked before any new one."""
    late_note: str | None = None
    """Set when a post of an attempt first not found landed late: what happened, for every face to show."""

    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = None
    publish_started_at: datetime | None = None

    @field_validator("scheduled_at", "created_at", "updated_at", "expires_at", "publish_started_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return as_utc(value)

    @property
    def requester(self) -> Principal:
        return Principal(
            id=self.requester_id,
            kind=self.requester_kind,  # type: ignore[arg-type]
            face=self.requester_face,  # type: ignore[arg-type]
            name=self.requester_name,
            via=self.requester_via,
        )

    @property
    def goes_out_at(self) -> datetime | None:
        """When it reaches (or reached) the platforms: its scheduled time, or, published at once, when it was
        sent; None while a publish-now draft waits for approval."""
        return self.publish_started_at if self.publish_now else self.scheduled_at

    @property
    def platforms(self) -> list[str]:
        return [t.platform for t in self.targets]

    def live_accounts(self) -> set[str]:
        """Accounts this draft already reached on SocialDock (published or scheduled there)."""
        return {str(r.get("account_id") or r.get("platform")) for r in self.target_results
                if r.get("status") in ("published", "scheduled")}

    def check_no_repost(self, targets: Iterable[Target]) -> None:
        """Refuse to send a failed create again to an account where it already went out (AlreadyLive)."""
        if self.kind != "create" or self.state != DraftState.FAILED:
            return
        live = self.live_accounts()
        targets = list(targets)
        again = [t for t in targets if t.account_id in live or t.platform in live]
        if again:
            failed = [t.platform for t in targets if t not in again]
            raise AlreadyLive(self.id, [t.platform for t in again], failed)

    def to_post_create(self) -> PostCreate:
        """The `POST /posts` body. `publish_now` is always explicit: SocialDock defaults it to true."""
        if self.kind != "create":
            raise ValueError(f"draft {self.id} changes post {self.post_id}: send it with to_post_update()")
        return PostCreate(
            text=self.text,
            title=self.title,
            targets=[t.model_copy() for t in self.targets],
            media_urls=list(self.media_urls),
            tags=list(self.tags),
            publish_now=self.publish_now,
            scheduled_at=None if self.publish_now else self.scheduled_at,
        )

    def to_post_update(self) -> PostUpdate:
        """The `PUT /posts/{post_id}` body for an update draft: only the fields it changes (targets cannot
        change on SocialDock), so two approved updates of one post never undo each other."""
        return PostUpdate(**{name: self.update_values()[name] for name in self.update_fields or POST_UPDATE_FIELDS})

    def update_values(self) -> dict[str, Any]:
        """What this draft says each updatable field of the post should be."""
        return {
            "text": self.text,
            "title": self.title,
            "scheduled_at": None if self.publish_now else self.scheduled_at,
            "media_urls": list(self.media_urls),
            "tags": list(self.tags),
        }


class _BriefTarget(BaseModel):
    platform: str


class _BriefBody(BaseModel):
    """What a `DraftBrief` takes from a stored draft's JSON body; parsing it skips every other field."""

    text: str = ""
    timezone: str = "UTC"
    targets: list[_BriefTarget] = Field(default_factory=list)


@dataclass(frozen=True)
class DraftBrief:
    """A draft as a list shows it (`DraftStore.briefs` reads these without validating drafts whole): the same names
    as on `Draft`, so what renders a line of a list takes either."""

    id: str
    state: DraftState
    version: int
    text: str
    platforms: list[str]
    scheduled_at: datetime | None
    timezone: str
    post_id: str | None

    @classmethod
    def of(cls, draft: Draft) -> DraftBrief:
        return cls(id=draft.id, state=draft.state, version=draft.version, text=draft.text, platforms=draft.platforms,
                   scheduled_at=draft.scheduled_at, timezone=draft.timezone, post_id=draft.post_id)

    @classmethod
    def from_stored(cls, draft_id: str, state: str, version: int, body: str | bytes, scheduled_at: datetime | None,
                    post_id: str | None) -> DraftBrief:
        """From the store's columns and the draft's JSON body as stored (text, parsed here by pydantic's JSON
        parser, which keeps only what a brief shows)."""
        parsed = _BriefBody.model_validate_json(body)
        return cls(id=draft_id, state=DraftState(state), version=version, text=parsed.text,
                   platforms=[t.platform for t in parsed.targets], scheduled_at=as_utc(scheduled_at),
                   timezone=parsed.timezone, post_id=post_id)


@dataclass(frozen=True)
class Slot:
    """A draft as a calendar places and counts it (`DraftStore.slots` reads these without reading drafts whole)."""

    id: str
    state: DraftState
    version: int
    kind: str
    goes_out_at: datetime | None
    targets: tuple[tuple[str, str], ...]
    """(platform, account id) of each target."""
    text: str
    requester_id: str
    live: frozenset[str] = frozenset()
    """Accounts a failed draft did reach (published or scheduled there)."""
    failed: frozenset[str] = frozenset()
    """Accounts SocialDock reported failed for this draft."""

    @classmethod
    def of(cls, draft: Draft) -> Slot:
        return cls.from_parts(draft.id, draft.state, draft.version, draft.kind, draft.goes_out_at,
                              [t.model_dump() for t in draft.targets], draft.target_results, draft.text,
                              draft.requester_id)

    @classmethod
    def from_parts(cls, draft_id: str, state: str, version: int, kind: str | None, goes_out_at: datetime | None,
                   targets: Iterable[dict[str, Any]], results: Iterable[dict[str, Any]] | None, text: str | None,
                   requester_id: str) -> Slot:
        results = list(results or [])
        return cls(id=draft_id, state=DraftState(state), version=version, kind=kind or "create",
                   goes_out_at=as_utc(goes_out_at),
                   targets=tuple((str(t.get("platform")), str(t.get("account_id"))) for t in targets),
                   text=text or "", requester_id=requester_id,
                   live=frozenset(str(r.get("account_id") or r.get("platform")) for r in results
                                  if r.get("status") in ("published", "scheduled")),
                   failed=frozenset(str(r.get("account_id")) for r in results if r.get("status") == "failed"))

    @property
    def platforms(self) -> list[str]:
        return [platform for platform, _ in self.targets]

    def goes_to(self, platform: str, account_id: str) -> bool:
        return (platform, account_id) in self.targets

    def counts_on(self, platform: str, account_id: str) -> bool:
        """Whether this is a post on that account that the platform counts against its cap: one sdassist
        sent or is sending there (a failed draft only where it did reach)."""
        if self.kind != "create" or self.goes_out_at is None or not self.goes_to(platform, account_id):
            return False
        if self.state == DraftState.FAILED:
            return account_id in self.live
        return self.state in COUNTED_STATES and account_id not in self.failed


COUNTED_STATES = frozenset({DraftState.SCHEDULED, DraftState.PUBLISHED, DraftState.PUBLISHING, DraftState.UNKNOWN,
                            DraftState.FAILED})
"""States in which a draft's post counts against a posting cap (a failed one only where it did go out)."""


def schedule_and_expiry(
    *, publish_now: bool, scheduled_at: datetime | None, now: datetime, ttl: timedelta
) -> tuple[datetime | None, datetime]:
    """The one rule for a draft's timing: its `scheduled_at` (None when it publishes now; required
    otherwise) and its approval deadline, `now + ttl` or the scheduled time if that comes first (an
    approval after the slot has passed must not publish at some other time)."""
    if publish_now:
        return None, now + ttl
    scheduled_at = as_utc(scheduled_at)
    if scheduled_at is None:
        raise ValueError("a scheduled draft needs scheduled_at (or set publish_now)")
    return scheduled_at, min(now + ttl, scheduled_at)


def new_draft(
    *,
    text: str,
    targets: Iterable[Target | dict[str, Any]],
    requester: Principal,
    publish_now: bool,
    scheduled_at: datetime | None = None,
    title: str | None = None,
    media_urls: Iterable[str] = (),
    tags: Iterable[str] = (),
    timezone: str = "UTC",
    time_phrase: str | None = None,
    kind: Literal["create", "update"] = "create",
    post_id: str | None = None,
    update_fields: Iterable[str] = (),
    warnings: Iterable[str] = (),
    face_refs: dict[str, str] | None = None,
    ttl: timedelta = timedelta(hours=72),
    now: datetime | None = None,
) -> Draft:
    """A fresh pending draft. It expires after `ttl`, or at its scheduled time if that comes first:
    an approval after the slot has passed must not publish at some other time."""
    now = as_utc(now) or utcnow()
    scheduled_at, expires_at = schedule_and_expiry(publish_now=publish_now, scheduled_at=scheduled_at, now=now, ttl=ttl)
    if kind == "update" and not post_id:
        raise ValueError("an update draft needs the post_id of the scheduled SocialDock post it changes")
    unknown = set(update_fields) - set(POST_UPDATE_FIELDS)
    if unknown:
        raise ValueError(f"a post update cannot change {', '.join(sorted(unknown))}")
    return Draft(
        id=new_draft_id(now),
        state=DraftState.PENDING,
        kind=kind,
        text=text,
        title=title,
        targets=[t if isinstance(t, Target) else Target.model_validate(t) for t in targets],
        media_urls=list(media_urls),
        tags=list(tags),
        publish_now=publish_now,
        scheduled_at=scheduled_at,
        timezone=timezone,
        time_phrase=time_phrase,
        requester_id=requester.id,
        requester_kind=requester.kind,
        requester_face=requester.face,
        requester_name=requester.name,
        requester_via=requester.via,
        post_id=post_id,
        update_fields=[f for f in POST_UPDATE_FIELDS if f in set(update_fields)],
        warnings=list(warnings),
        face_refs=dict(face_refs or {}),
        created_at=now,
        updated_at=now,
        expires_at=expires_at,
    )
