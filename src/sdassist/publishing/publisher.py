"""Publishing an approved draft exactly once.

SocialDock has no idempotency key, so "exactly once" is built here from two rules:
1. Only the caller whose compare-and-set moves the draft from `pending` to `publishing` sends anything.
   Fifty concurrent clicks on Approve produce one request.
2. `POST /posts` is never sent twice for one approval. When its outcome is ambiguous (a 5xx, or the
   connection dropped after the request went out) the draft becomes `unknown` and is reconciled
   against SocialDock's post list: found → its real state.
3. A request that was sent can still land long after the client gave up (a slow network, a proxy holding
   it). Not found after the grace period, the draft is `failed` with an open attempt ("not found on
   SocialDock yet"), never "nothing was posted": the attempt is looked for again (`watch_late_posts`,
   webhooks, and at once when a person looks at the draft: `look_now`) for `late_post_watch`; a look only
   reads, one caller at a time (`DraftStore.claim_look`), and a late post flips the draft to its real state
   with a note by compare-and-set, so it never races a new approval into a second `POST`. Approving
   again is refused until `attempt_may_land` after the request was sent, and even then SocialDock is
   checked once more for the earlier attempt's post right before the new `POST`.

SocialDock documents no idempotency key (api-notes.md). The client sends one anyway (client-notes.md),
but nothing here relies on SocialDock honouring it, for any length of time.

Target outcomes only move forward (`_merge_results`): an event older than the one recorded for a target,
or a `failed` after `published`, is logged and not applied, whichever path (webhook, a read of the post)
brings it.

Re-approving a failed draft is allowed: it first goes back to pending with version + 1 (logged as a
resubmission) and is then approved at that new version, so the same race protection applies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sdassist.client.errors import (
    APIStatusError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SocialDockError,
    TransportError,
)
from sdassist.client.models import Post, PostUpdate, Target, WebhookEvent
from sdassist.publishing.caps import CapReached, account_handles, check_caps
from sdassist.publishing.drafts import (
    POST_UPDATE_FIELDS,
    SYSTEM,
    TRANSITIONS,
    AttemptMayLand,
    Draft,
    DraftExpired,
    DraftState,
    InvalidTransition,
    OpenAttempt,
    Principal,
    StaleApproval,
    StaleVersion,
    as_utc,
    utcnow,
)
from sdassist.publishing.policy import ApprovalPolicy
from sdassist.publishing.store import DraftStore, expiry_reason

if TYPE_CHECKING:
    from sdassist.client import SocialDock

__all__ = ["Publisher"]

log = logging.getLogger("sdassist.publishing")

S = DraftState
IN_FLIGHT = (S.PUBLISHING, S.UNKNOWN)
NOT_SENT = "SocialDock could not be reached; nothing was sent; approve again"
NOT_FOUND_YET = "not found on SocialDock yet"
ATTEMPT_MAY_LAND = timedelta(minutes=15)
"""How long a sent `POST /posts` may still land: well past the client's deadline (60 s by default)."""
LATE_POST_WATCH = timedelta(hours=24)
"""How long a sent request not found on SocialDock is still looked for."""
ASKED_LOOK_EVERY = timedelta(seconds=10)
"""A person looking at a draft not found yet (`get_draft`) makes a look at once, at most this often."""
_LOOK_HOLD = timedelta(seconds=30)
"""While a look runs, others wait this long: the next look if the looker dies before it sets one."""
_RANK = {"scheduled": 1, "failed": 2, "published": 3}


def not_found_yet(attempt: OpenAttempt) -> str:
    """What is known about a sent request SocialDock does not show (yet), and what the person can do."""
    return (f"{NOT_FOUND_YET}: the request sent at {attempt.sent_at:%Y-%m-%d %H:%M:%S} UTC may still land; "
            f"sdassist looks for it until {attempt.watch_until:%Y-%m-%d %H:%M} UTC and updates this draft if it "
            f"does. Approve again from {attempt.may_land_until:%H:%M} UTC (SocialDock is checked once more "
            "first), or cancel")


def _content(draft: Draft) -> dict[str, Any]:
    """The fields a create sends, as `OpenAttempt.content` holds them."""
    return {"text": draft.text, "title": draft.title, "targets": list(draft.targets),
            "media_urls": list(draft.media_urls), "tags": list(draft.tags)}


def _results(post: Post) -> list[dict[str, Any]]:
    return [
        {
            "platform": t.platform,
            "account_id": t.account_id,
            "status": t.status,
            "platform_post_id": t.platform_post_id,
            "error": t.error,
        }
        for t in post.targets
    ]


def _failures(results: list[dict[str, Any]]) -> str | None:
    failed = [r for r in results if r.get("status") == "failed"]
    if not failed:
        return None
    return "; ".join(f"{r['platform']} failed: {r.get('error') or 'no reason given'}" for r in failed)


def _same_text(a: str | None, b: str | None) -> bool:
    """Equal up to whitespace (SocialDock may trim or rewrap what it stores)."""
    return " ".join((a or "").split()) == " ".join((b or "").split())


def _shows_update(post: Post, draft: Draft) -> bool:
    """Whether SocialDock's post already carries every field the update draft changes."""
    want = draft.update_values()
    have = {
        "text": post.text, "title": post.title, "scheduled_at": post.scheduled_at,
        "media_urls": list(post.media_urls) or [m.url for m in post.media], "tags": list(post.tags),
    }
    for name in draft.update_fields or POST_UPDATE_FIELDS:
        if name == "text":
            if not _same_text(have["text"], want["text"]):
                return False
        elif have[name] != want[name] and (have[name] or None) != (want[name] or None):
            return False
    return True


def _same_targets(post: Post, targets: list[Target]) -> bool:
    """The post went to these targets' platforms, and to their accounts wherever SocialDock names them."""
    if sorted(t.platform for t in post.targets) != sorted(t.platform for t in targets):
        return False
    named = {(t.platform, t.account_id) for t in post.targets if t.account_id}
    return named <= {(t.platform, t.account_id) for t in targets}


def _recorded_at(entry: dict[str, Any]) -> datetime | None:
    try:
        return as_utc(datetime.fromisoformat(entry["at"])) if entry.get("at") else None
    except (TypeError, ValueError):
        return None


def _moves_forward(old: dict[str, Any], status: str | None, at: datetime | None) -> bool:
    """Whether evidence of `status` (from an event made at `at`, or a read of the post when None) may
    replace a target's recorded outcome: never over `published`, never older than what is recorded, and
    a read never ranks below an outcome already recorded (it lags behind the events). A publication
    always counts, however late it is delivered: a live post is final, so the outcome does not depend on
    the order events arrive in (published then failed is published, whichever comes first)."""
    before = old.get("status")
    if before == "published" and status != "published":
        return False
    if status == "published" and before != "published":
        return True
    old_at = _recorded_at(old)
    if at is not None and old_at is not None and at < old_at:
        return False
    return at is not None or _RANK.get(status or "", 0) >= _RANK.get(before or "", 0)


def _result_for(results: list[dict[str, Any]], platform: str | None, account_id: str | None) -> dict[str, Any] | None:
    """The recorded outcome of the target an outcome names (by platform, and account when it says)."""
    return next((r for r in results if r.get("platform") == platform and (
        account_id is None or r.get("account_id") in (None, account_id))), None)


def webhook_outcome_recorded(draft: Draft, event: WebhookEvent) -> bool:
    """Whether `draft` now records what `event` says for its target. Not when the event was left out (older
    than the recorded outcome, or a failure after the target went live): then it is only a note on the draft,
    and a face must not announce it as the outcome."""
    data = event.data
    status = data.status or ("published" if event.event == "post_published" else "failed")
    recorded = _result_for(draft.target_results, data.platform, data.account_id)
    return recorded is not None and recorded.get("status") == status and \
        (recorded.get("error") or None) == (data.error or None)


def _merge_results(
    old: list[dict[str, Any]], new: list[dict[str, Any]], *, at: datetime | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """`old` per-target outcomes with `new` applied where they move a target forward; and what was not."""
    merged = [dict(r) for r in old]
    ignored = []
    for entry in new:
        match = _result_for(merged, entry.get("platform"), entry.get("account_id"))
        stamp = {"at": at.isoformat()} if at is not None else {}
        if match is None:
            merged.append({**entry, **stamp})
        elif _moves_forward(match, entry.get("status"), at):
            match.update({k: v for k, v in entry.items() if v is not None or k == "error"}, **stamp)
        else:
            ignored.append(f"{entry.get('platform')} {entry.get('status')}")
    return merged, ignored


def _outcome(post: Post, recorded: list[dict[str, Any]] | None = None) -> tuple[DraftState, dict[str, Any]]:
    """The draft state and fields that SocialDock's answer implies, over the outcomes already `recorded`."""
    results, _ = _merge_results(recorded or [], _results(post))
    status = post.status
    if results and all(r.get("status") == "published" for r in results):
        status = "published"  # events already recorded are newer than a lagging read
    changes: dict[str, Any] = {
        "post_id": post.id, "post_status": status, "target_results": results, "error": None,
    }
    failure = _failures(results)
    if status == "failed" or (failure and status != "scheduled"):
        changes["error"] = failure or "SocialDock reports the post as failed"
        return S.FAILED, changes
    if status == "published":
        return S.PUBLISHED, changes
    return S.SCHEDULED, changes


class Publisher:
    """Approves, rejects, cancels and publishes drafts; reconciles ambiguous outcomes."""

    def __init__(
        self,
        client: SocialDock,
        store: DraftStore,
        policy: ApprovalPolicy,
        *,
        clock: Callable[[], datetime] = utcnow,
        reconcile_grace: timedelta = timedelta(minutes=2),
        clock_skew: timedelta = timedelta(minutes=2),
        max_scan: int = 2000,
        attempt_may_land: timedelta = ATTEMPT_MAY_LAND,
        late_post_watch: timedelta = LATE_POST_WATCH,
    ) -> None:
        self.client = client
        self.store = store
        self.policy = policy
        self.clock = clock
        self.reconcile_grace = reconcile_grace
        self.clock_skew = clock_skew
        self.max_scan = max_scan
        self.attempt_may_land = max(attempt_may_land, reconcile_grace)
        self.late_post_watch = max(late_post_watch, self.attempt_may_land)

    # --- decisions -------------------------------------------------------------------------------

    async def approve(self, draft_id: str, *, version: int, actor: Principal) -> Draft:
        """Approve version `version` and publish it; returns the draft in its new state.

        Raises PolicyError, DraftExpired, StaleApproval (someone decided first, or it was edited),
        AttemptMayLand (an earlier request of this draft may still land).
        If the task is cancelled while the request is in flight the draft stays `publishing`;
        `reconcile_all()` at the next start settles it."""
        draft = await self.store.get(draft_id)
        self.policy.check_can_approve(actor, draft)
        attempt = draft.open_attempt
        if attempt is not None and draft.state in (S.FAILED, S.PENDING) and self.clock() < attempt.may_land_until:
            raise AttemptMayLand(draft_id, attempt.sent_at, attempt.may_land_until)
        if draft.state == S.FAILED:
            draft = await self._resubmit(draft, version=version, actor=actor)
            version = draft.version
        if draft.state != S.PENDING or draft.version != version:
            raise StaleApproval(draft_id, version, draft.state, draft.version)
        now = self.clock()
        reason = expiry_reason(draft, now)
        if reason is not None:
            await self.store.transition(
                draft_id, to=S.EXPIRED, actor=SYSTEM, expected_state=S.PENDING, expected_version=version,
                changes={"error": reason}, note=reason,
            )
            raise DraftExpired(draft_id, reason)
        await self._check_caps(draft, now)
        won = await self.store.transition(
            draft_id, to=S.PUBLISHING, actor=actor, expected_state=S.PENDING, expected_version=version,
            changes={"publish_started_at": now, "error": None}, note=f"approved by {actor.label}",
        )
        if won is None:
            current = await self.store.get(draft_id)
            raise StaleApproval(draft_id, version, current.state, current.version)
        return await self._send(won)

    async def _check_caps(self, draft: Draft, now: datetime) -> None:
        """Refuse, before anything is sent, a post that would break a platform's posting cap (CapReached)."""
        if draft.kind != "create":
            return  # an update moves a post that is already counted
        at = now if draft.publish_now else draft.scheduled_at
        assert at is not None
        errors, _ = await check_caps(self.store, draft.targets, at, exclude=draft.id, zone=draft.timezone,
                                     handles=lambda: account_handles(self.client))
        if errors:
            raise CapReached(errors, draft.id)

    async def _resubmit(self, draft: Draft, *, version: int, actor: Principal) -> Draft:
        draft.check_no_repost(draft.targets)
        try:
            return await self.store.edit(
                draft.id, expected_version=version, changes={}, actor=actor,
                note=f"resubmitted by {actor.label} after: {draft.error or 'failure'}",
            )
        except StaleVersion as exc:
            current = await self.store.get(draft.id)
            raise StaleApproval(draft.id, version, current.state, current.version) from exc

    async def _send(self, draft: Draft) -> Draft:
        """The one request for this approval. Only the CAS winner gets here."""
        if draft.open_attempt is not None and draft.kind == "create":
            checked = await self._check_earlier_attempt(draft)
            if checked.state != S.PUBLISHING or checked.open_attempt is not None:
                return checked  # it landed after all, or it cannot be ruled out: nothing new is sent
            draft = checked
        try:
            body = draft.to_post_update() if draft.kind == "update" else draft.to_post_create()
        except ValueError as exc:  # nothing was sent: the draft itself cannot be expressed as a request
            return await self._finish(draft, S.FAILED, {"error": f"the draft cannot be sent: {exc}; edit it"})
        try:
            if isinstance(body, PostUpdate):
                assert draft.post_id is not None
                post = await self.client.posts.update(draft.post_id, body)
            else:
                post = await self.client.posts.create(body)
        except TransportError as exc:
            if not exc.request_sent:
                return await self._finish(draft, S.FAILED, {"error": f"{NOT_SENT} ({exc.message})"})
            return await self._ambiguous(draft, f"the connection broke after sending: {exc.message}")
        except RateLimitError as exc:
            when = f" after {exc.retry_after:%H:%M:%S} UTC" if exc.retry_after else " in a minute"
            return await self._finish(
                draft, S.FAILED,
                {"error": f"SocialDock's rate limit is reached; nothing was posted; approve again{when}"},
            )
        except ServerError as exc:
            return await self._ambiguous(draft, f"SocialDock answered {exc.status_code}: {exc.message}")
        except APIStatusError as exc:
            return await self._finish(
                draft, S.FAILED, {"error": f"SocialDock refused it: {exc}; edit the draft and submit again"}
            )
        except Exception as exc:  # an unreadable answer: the request may well have been processed
            log.exception("unexpected error publishing draft %s", draft.id)
            return await self._ambiguous(draft, f"unexpected error after sending: {exc!r}")
        return await self._take_post(draft, post, note=f"SocialDock post {post.id} is {post.status}")

    async def _take_post(self, draft: Draft, post: Post, *, note: str, as_update: bool = False) -> Draft:
        """Settle an in-flight draft from SocialDock's record of its post, over the outcomes recorded meanwhile
        (a webhook may come first): one compare-and-set on the revision the merge was made from."""
        for _ in range(20):
            state, changes = _outcome(post, draft.target_results)
            if as_update:  # a change to a scheduled post: it stays the post it was, scheduled
                state, changes = S.SCHEDULED, {**changes, "post_id": draft.post_id}
            won = await self.store.transition(
                draft.id, to=state, actor=SYSTEM, expected_state=draft.state, expected_revision=draft.revision,
                changes=changes, note=note)
            if won is not None:
                return won
            draft = await self.store.get(draft.id)
            if draft.state not in IN_FLIGHT:
                return draft  # settled by someone else (a webhook, another instance)
        return draft

    async def _check_earlier_attempt(self, draft: Draft) -> Draft:
        """Right before a new `POST`: did the earlier request land after all? Found → the draft takes that
        post; cannot tell → failed again, nothing sent; absent → the attempt is closed and the caller sends."""
        attempt = draft.open_attempt
        assert attempt is not None
        try:
            post, doubt = await self._scan_for(attempt.text, attempt.targets, attempt.sent_at, draft.id)
        except SocialDockError as exc:
            post, doubt = None, f"SocialDock could not be checked ({exc})"
        if post is not None:
            return await self._land_late(draft, post, "found right before approving again; nothing new was sent")
        sent = f"{attempt.sent_at:%Y-%m-%d %H:%M:%S} UTC"
        if doubt is not None:
            reason = (f"nothing was sent: whether the request sent at {sent} landed could not be ruled out "
                      f"({doubt}); approve again in a few minutes")
            return await self._finish(draft, S.FAILED, {"error": reason})
        won = await self.store.annotate(
            draft.id, expected_state=S.PUBLISHING, changes={"open_attempt": None}, actor=SYSTEM,
            note=f"checked SocialDock: the request sent at {sent} did not land; sending this approval")
        return won or await self.store.get(draft.id)

    async def _land_late(self, draft: Draft, post: Post, how: str) -> Draft:
        """A post of the draft's open attempt exists after all: the draft takes its real state, showing what
        that attempt sent, with a note saying so (a draft that ended meanwhile only records it)."""
        attempt = draft.open_attempt
        assert attempt is not None
        state, changes = _outcome(post, draft.target_results if draft.post_id == post.id else [])
        note = (f"the request sent at {attempt.sent_at:%Y-%m-%d %H:%M:%S} UTC landed late: SocialDock post "
                f"{post.id} is {changes['post_status']} ({how})")
        if _content(draft) != attempt.content():  # a re-approval bumps the version too: only an edit is news
            note += f"; version {draft.version}, edited since, was not sent: create a new draft to post it"
        if draft.state in (S.PUBLISHING, S.UNKNOWN, S.PENDING, S.FAILED) and state in TRANSITIONS[draft.state]:
            changes.update(attempt.content(), open_attempt=None, late_note=note)
            won = await self.store.transition(
                draft.id, to=state, actor=SYSTEM, expected_state=draft.state, changes=changes, note=note)
        else:  # the late post failed there, or the draft ended meanwhile (cancelled, expired): record what is true
            post_fields = {k: changes[k] for k in ("post_id", "post_status", "target_results")}
            record: dict[str, Any] = {"open_attempt": None, "late_note": note}
            if state == S.SCHEDULED and draft.state in (S.CANCELLED, S.REJECTED):
                record.update(post_fields, late_note=await self._withdraw_late(post, note, draft.state))
            elif state != S.FAILED:
                record.update(post_fields, late_note=f"{note}: it is live although this draft ended; delete it "
                                                     "on SocialDock if it should not be")
            elif draft.state == S.FAILED:
                record.update(post_fields,
                              error=f"{note}, and failed there: {changes['error']}; approve again to retry")
            won = await self.store.annotate(
                draft.id, expected_state=draft.state, changes=record, actor=SYSTEM, note=record["late_note"])
        return won or await self.store.get(draft.id)

    async def _withdraw_late(self, post: Post, note: str, decision: DraftState) -> str:
        """A person said no (cancelled, rejected) before the late post appeared, scheduled: honour it, as
        cancelling a scheduled draft does, by deleting the post before it goes out."""
        try:
            await self.client.posts.delete(post.id)
        except NotFoundError:
            pass
        except SocialDockError as exc:
            return (f"{note}: it is scheduled although this draft was {decision}, and deleting it failed ({exc}); "
                    "delete it on SocialDock")
        return f"{note}: it was scheduled there and has been deleted, since this draft was {decision}"

    async def _finish(
        self, draft: Draft, to: DraftState, changes: dict[str, Any], *, note: str | None = None
    ) -> Draft:
        won = await self.store.transition(
            draft.id, to=to, actor=SYSTEM, expected_state=IN_FLIGHT, changes=changes,
            note=note or changes.get("error"),
        )
        return won if won is not None else await self.store.get(draft.id)

    async def _ambiguous(self, draft: Draft, why: str) -> Draft:
        await self.store.transition(
            draft.id, to=S.UNKNOWN, actor=SYSTEM, expected_state=S.PUBLISHING,
            changes={"error": f"outcome unknown ({why}); checking SocialDock before anything is resent"},
            note=why,
        )
        return await self.reconcile(draft.id)

    async def reject(
        self, draft_id: str, *, version: int | None, actor: Principal, reason: str | None = None
    ) -> Draft:
        draft = await self.store.get(draft_id)
        self.policy.check_can_reject(actor, draft)
        if draft.state != S.PENDING:
            raise StaleApproval(draft_id, version, draft.state, draft.version)
        note = f"rejected by {actor.label}" + (f": {reason}" if reason else "")
        won = await self.store.transition(
            draft_id, to=S.REJECTED, actor=actor, expected_state=S.PENDING, expected_version=version,
            changes={"error": note}, note=note,
        )
        if won is None:
            current = await self.store.get(draft_id)
            raise StaleApproval(draft_id, version, current.state, current.version)
        return won

    async def cancel(self, draft_id: str, *, actor: Principal) -> Draft:
        """Pending or failed → cancelled; scheduled → the SocialDock post is deleted, then cancelled."""
        draft = await self.store.get(draft_id)
        self.policy.check_can_cancel(actor, draft)
        note = f"cancelled by {actor.label}"
        if draft.state in (S.PENDING, S.FAILED):
            won = await self.store.transition(
                draft_id, to=S.CANCELLED, actor=actor, expected_state=draft.state,
                expected_version=draft.version, note=note,
            )
            if won is None:
                current = await self.store.get(draft_id)
                raise StaleApproval(draft_id, draft.version, current.state, current.version)
            return won
        if draft.state != S.SCHEDULED:
            raise InvalidTransition(draft.state, S.CANCELLED, draft_id)
        assert draft.post_id is not None
        try:
            post = await self.client.posts.get(draft.post_id)
            if post.status != "scheduled":
                state, changes = _outcome(post, draft.target_results)
                await self._finish_from(draft, state, changes)
                raise InvalidTransition(state, S.CANCELLED, draft_id)
            await self.client.posts.delete(draft.post_id)
        except NotFoundError:
            note += f" (SocialDock post {draft.post_id} was already gone)"
        won = await self.store.transition(
            draft_id, to=S.CANCELLED, actor=actor, expected_state=S.SCHEDULED,
            changes={"post_status": "deleted"}, note=note,
        )
        return won if won is not None else await self.store.get(draft_id)

    async def _finish_from(self, draft: Draft, to: DraftState, changes: dict[str, Any]) -> None:
        if to != draft.state:
            await self.store.transition(
                draft.id, to=to, actor=SYSTEM, expected_state=draft.state, changes=changes,
                note=f"SocialDock reports post {draft.post_id} as {changes.get('post_status')}",
            )

    # --- reconciliation --------------------------------------------------------------------------

    async def reconcile(self, draft_id: str) -> Draft:
        """Find out what happened to a draft in `publishing` or `unknown`. Never sends it again.

        Found → its real state. Absent after the grace period, by a complete scan that can be trusted
        (every page back to before the attempt in a verified order, or the whole list) → failed with an open
        attempt: "not found on SocialDock yet", watched for a late post. Anything less (the scan bound
        reached, an inconsistent order, SocialDock unreachable) leaves it `unknown`."""
        draft = await self.store.get(draft_id)
        if draft.state not in IN_FLIGHT:
            return draft
        try:
            post, doubt = await self._find_post(draft)
        except SocialDockError as exc:
            return await self._still_unknown(
                draft, f"could not check SocialDock ({exc}); still unknown, nothing will be resent")
        if post is not None:
            return await self._take_post(draft, post, note=f"reconciled: found SocialDock post {post.id}",
                                         as_update=draft.kind == "update")
        if doubt is not None:
            return await self._still_unknown(
                draft, f"{doubt}; still unknown, nothing will be resent: check list_posts and cancel the "
                       "draft, or approve a copy, only once you are sure it was not posted")
        started = draft.publish_started_at or draft.updated_at
        if self.clock() - started < self.reconcile_grace:
            return draft  # too early to call it lost: the request may still be on its way
        if draft.kind == "update":  # sending the same change again is harmless: no attempt to watch
            reason = (f"SocialDock post {draft.post_id} does not show the change yet: the request may still "
                      "land; approving again sends the same change, which does no harm")
            return await self._finish(draft, S.FAILED, {"error": reason}, note=f"reconciled: {reason}")
        attempt = OpenAttempt(
            sent_at=started, may_land_until=started + self.attempt_may_land,
            watch_until=started + self.late_post_watch, version=draft.version, text=draft.text,
            title=draft.title, targets=draft.targets, media_urls=draft.media_urls, tags=draft.tags)
        reason = not_found_yet(attempt)
        return await self._finish(draft, S.FAILED, {"error": reason, "open_attempt": attempt.model_dump()},
                                  note=f"reconciled: {reason}")

    async def _still_unknown(self, draft: Draft, why: str) -> Draft:
        if draft.state == S.PUBLISHING:
            won = await self.store.transition(
                draft.id, to=S.UNKNOWN, actor=SYSTEM, expected_state=S.PUBLISHING,
                changes={"error": why}, note=why,
            )
        else:
            won = await self.store.annotate(draft.id, expected_state=S.UNKNOWN, changes={"error": why})
        return won or await self.store.get(draft.id)

    async def _find_post(self, draft: Draft) -> tuple[Post | None, str | None]:
        """(the post this draft made, None) when found; (None, None) when provably absent; (None, why)
        when the scan cannot prove absence."""
        if draft.kind == "update":
            assert draft.post_id is not None
            try:
                post = await self.client.posts.get(draft.post_id)
            except NotFoundError:
                return None, None
            return (post if _shows_update(post, draft) else None), None
        started = draft.publish_started_at or draft.updated_at
        return await self._scan_for(draft.text, draft.targets, started, draft.id)

    async def _scan_for(
        self, text: str, targets: list[Target], started: datetime, draft_id: str
    ) -> tuple[Post | None, str | None]:
        """The post a create sent at `started` with `text` and `targets` made, as `_find_post` answers."""
        since = started - self.clock_skew
        previous: datetime | None = None
        descending = ascending = False  # what the created_at sequence has shown so far
        undated = False
        scanned = 0
        async for post in self.client.posts.iter_all():
            scanned += 1
            if scanned > self.max_scan:
                return None, f"SocialDock lists more than {self.max_scan} posts and none checked so far is it"
            created = post.created_at
            if created is None:
                undated = True
            elif previous is not None:
                descending = descending or created < previous
                ascending = ascending or created > previous
            previous = created or previous
            if ascending and descending:
                return None, "SocialDock's post list is not in a consistent order, so a missing post proves nothing"
            if created is not None and created < since:
                if descending and not ascending and not undated:
                    return None, None  # verified newest first: everything further is older still
                continue
            if not _same_text(post.text, text):
                continue
            if not post.targets:  # list items carry no targets as documented: read the post itself
                post = await self.client.posts.get(post.id)
            if not _same_targets(post, targets):
                continue
            owner = await self.store.find_by_post_id(post.id)
            if owner is not None and owner.id != draft_id:
                continue  # the same text approved twice: that post belongs to the other draft
            return post, None
        if ascending and descending:
            return None, "SocialDock's post list is not in a consistent order, so a missing post proves nothing"
        return None, None  # the whole list, read to its end

    async def reconcile_all(self) -> list[Draft]:
        """On start: settle drafts a crash or a broken connection left in publishing or unknown."""
        settled = []
        for draft in await self.store.list(states=IN_FLIGHT, limit=1000):
            try:
                settled.append(await self.reconcile(draft.id))
            except Exception:  # one bad draft must not keep the others unsettled
                log.exception("could not reconcile draft %s; the others go on", draft.id)
        return settled

    async def watch_late_posts(self) -> list[Draft]:
        """One round of the late-post watch: every draft with an open attempt whose next look is due is
        looked for once. Found → its real state; the watch over and still absent → said so; else the next
        look is scheduled, further apart as the attempt ages (a few dozen looks in 24 hours)."""
        now = self.clock()
        changed = []
        for draft in await self.store.watched(due_by=now):
            if not await self.store.claim_look(draft.id, now=now, hold_until=now + _LOOK_HOLD):
                continue  # another instance, or a person's get_draft, is looking right now
            result = await self._look(draft, now, "found by the late-post watch")
            if result is not None:
                changed.append(result)
        return changed

    async def look_now(self, draft: Draft) -> tuple[Draft, bool]:
        """A person looks at a draft "not found on SocialDock yet" (`get_draft`): look for its late post at
        once, rather than at the next look of the watch, when the look is due or the last one began
        ASKED_LOOK_EVERY ago. Returns the draft as it stands, and whether this call looked.

        Only a failed draft is looked at here (a cancelled or rejected one's late post may have to be deleted:
        that stays with the watch). A look reads SocialDock's post list through the client's rate limiter like
        every request, one caller at a time (`claim_look`), and sends nothing."""
        if draft.state != S.FAILED or draft.open_attempt is None:
            return draft, False
        now = self.clock()
        if not await self.store.claim_look(draft.id, now=now, hold_until=now + _LOOK_HOLD,
                                           asked_after=now - ASKED_LOOK_EVERY):
            return draft, False
        current = await self.store.get(draft.id)  # as it stands now that this caller holds the look
        if current.state != S.FAILED:  # decided meanwhile: the watch looks at it, at its next round
            await self.store.watch_next(draft.id, now)
            return current, False
        result = await self._look(current, now, "found when it was looked at")
        return result or await self.store.get(draft.id), True

    async def _look(self, draft: Draft, now: datetime, how: str) -> Draft | None:
        """One look for the late post of a draft whose look this caller claimed. Found → its real state;
        the watch over and still absent → said so; else the next look is scheduled, further apart as the
        attempt ages. The draft when it changed, else None."""
        attempt = draft.open_attempt
        if attempt is None or draft.state in IN_FLIGHT:
            await self.store.watch_next(draft.id, None if attempt is None else now + self.reconcile_grace)
            return None
        try:
            post, doubt = await self._scan_for(attempt.text, attempt.targets, attempt.sent_at, draft.id)
        except SocialDockError as exc:
            log.warning("could not look for the late post of draft %s: %s", draft.id, type(exc).__name__)
            post, doubt = None, "unreachable"
        if post is not None:
            return await self._land_late(draft, post, how)
        if doubt is None and now >= attempt.watch_until:
            await self._end_watch(draft, attempt)
            return await self.store.get(draft.id)
        age = now - attempt.sent_at
        wait = min(max(age / 2, timedelta(seconds=30)), timedelta(hours=1))
        await self.store.watch_next(draft.id, min(now + wait, max(attempt.watch_until, now)))
        return None

    async def _end_watch(self, draft: Draft, attempt: OpenAttempt) -> None:
        """The watch is over and SocialDock still shows no post of the attempt: say so, stop looking."""
        if draft.state == S.FAILED and (draft.error or "").startswith(NOT_FOUND_YET):
            reason = (f"SocialDock still shows no post from the request sent at {attempt.sent_at:%Y-%m-%d %H:%M} "
                      f"UTC after watching until {attempt.watch_until:%Y-%m-%d %H:%M} UTC: it did not land; "
                      "approve again to send it")
            await self.store.annotate(draft.id, expected_state=S.FAILED, expected_revision=draft.revision,
                                      changes={"error": reason}, actor=SYSTEM, note=reason)
        await self.store.watch_next(draft.id, None)

    # --- webhooks --------------------------------------------------------------------------------

    async def apply_webhook(self, event: WebhookEvent) -> Draft | None:
        """Record a per-platform outcome. None for a duplicate event or a post sdassist did not make.

        The event is claimed (de-duplicated) before the work; if the work fails the claim is released and
        the error raised, so SocialDock's retry of the delivery is applied rather than dropped. An event
        about a draft still `publishing`/`unknown` is evidence: it names the post, which settles the draft."""
        draft = await self.store.find_by_post_id(event.data.post_id)
        if draft is None or draft.state in IN_FLIGHT:
            draft = await self._settle_by_webhook(event.data.post_id, draft)
        if draft is None:
            return None
        key = event.dedup_key
        if not await self.store.mark_event_seen(key):
            return None
        try:
            return await self._record_webhook(event, draft)
        except BaseException:
            try:
                await self.store.forget_event(key)
            except Exception:
                log.exception("could not release webhook %s after its processing failed", key)
            raise

    async def _settle_by_webhook(self, post_id: str, draft: Draft | None) -> Draft | None:
        """The in-flight draft that made post `post_id`, settled from SocialDock's record of that post."""
        if draft is not None:  # an update draft in flight for this post: read the post, as reconcile does
            return await self.reconcile(draft.id)  # settled or not, the event is recorded on it
        candidates = [d for d in await self.store.list(states=IN_FLIGHT, limit=1000)
                      if d.kind == "create" and d.post_id is None]
        watched = [d for d in await self.store.watched() if d.open_attempt is not None]
        if not candidates and not watched:
            return None
        try:
            post = await self.client.posts.get(post_id)
        except NotFoundError:
            return None
        for candidate in candidates:
            started = candidate.publish_started_at or candidate.updated_at
            if post.created_at is not None and post.created_at < started - self.clock_skew:
                continue  # made before this draft was sent: not its post
            if not (_same_text(post.text, candidate.text) and _same_targets(post, candidate.targets)):
                continue
            current = await self._take_post(
                candidate, post, note=f"settled by SocialDock's webhook about post {post.id}")
            if current.post_id == post.id:
                return current
        for draft in watched:  # a request first not found: this event may be about its late post
            attempt = draft.open_attempt
            assert attempt is not None
            if post.created_at is not None and post.created_at < attempt.sent_at - self.clock_skew:
                continue
            if not (_same_text(post.text, attempt.text) and _same_targets(post, attempt.targets)):
                continue
            owner = await self.store.find_by_post_id(post.id)
            if owner is not None and owner.id != draft.id:
                continue
            return await self._land_late(draft, post, f"SocialDock's webhook about post {post.id}")
        return None

    async def _record_webhook(self, event: WebhookEvent, draft: Draft) -> Draft:
        data = event.data
        status = data.status or ("published" if event.event == "post_published" else "failed")
        at = as_utc(event.created_at)
        note = f"SocialDock: {data.platform} {status}" + (f" ({data.error})" if data.error else "")
        entry = {
            "platform": data.platform, "account_id": data.account_id, "status": status,
            "platform_post_id": data.platform_post_id, "error": data.error,
        }
        for _ in range(20):
            draft = await self.store.get(draft.id)
            results, ignored = _merge_results(draft.target_results, [entry], at=at)
            if ignored:  # older than the outcome recorded for that target, or a failure after it published
                won = await self.store.annotate(
                    draft.id, expected_state=draft.state, expected_revision=draft.revision, changes={},
                    actor=SYSTEM, note=f"{note}: not applied, the outcome recorded for it is later or final")
                if won is not None:
                    return won
                continue
            changes: dict[str, Any] = {"target_results": results}
            failure = _failures(results)
            by_platform = {r.get("platform"): r.get("status") for r in results}
            all_published = bool(draft.targets) and all(
                by_platform.get(t.platform) == "published" for t in draft.targets
            )
            to = draft.state
            if draft.state == S.SCHEDULED and failure:
                to = S.FAILED
                changes.update(error=failure, post_status="failed")
            elif draft.state in (S.SCHEDULED, S.FAILED) and all_published and draft.post_id == data.post_id:
                to = S.PUBLISHED  # a failed draft too: a newer event says every target is live after all
                changes.update(post_status="published", error=None)
            elif failure and draft.state != S.FAILED:
                changes["warnings"] = [*draft.warnings, failure] if failure not in draft.warnings \
                    else draft.warnings
            if to != draft.state:
                won = await self.store.transition(
                    draft.id, to=to, actor=SYSTEM, expected_state=draft.state,
                    expected_revision=draft.revision, changes=changes, note=note,
                )
            else:
                won = await self.store.annotate(
                    draft.id, expected_state=draft.state, expected_revision=draft.revision,
                    changes=changes, actor=SYSTEM, note=note,
                )
            if won is not None:
                return won
        raise RuntimeError(f"could not record webhook {event.dedup_key} on draft {draft.id}: it kept changing; "
                           "SocialDock's retry will try again")
