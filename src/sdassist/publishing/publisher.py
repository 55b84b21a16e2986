"""Publishing an approved draft exactly once.

SocialDock has no idempotency key, so "exactly once" is built here from two rules:
1. Only the caller whose compare-and-set moves the draft from `pending` to `publishing` sends anything.
   Fifty concurrent clicks on Approve produce one request.
2. `POST /posts` is never sent twice for one approval. When its outcome is ambiguous (a 5xx, or the
   connection dropped after the request went out) the draft becomes `unknown` and is reconciled
   against SocialDock's post list: found → its real state; provably absent → failed, and a person
   approves again.

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
from sdassist.client.models import Post, PostUpdate, WebhookEvent
from sdassist.publishing.caps import CapReached, account_handles, check_caps
from sdassist.publishing.drafts import (
    POST_UPDATE_FIELDS,
    SYSTEM,
    Draft,
    DraftExpired,
    DraftState,
    InvalidTransition,
    Principal,
    StaleApproval,
    StaleVersion,
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
NO_RECORD = "SocialDock has no record of it: nothing was posted; approve again to retry"


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


def _same_targets(post: Post, draft: Draft) -> bool:
    """The post went to the draft's platforms, and to its accounts wherever SocialDock names them."""
    if sorted(t.platform for t in post.targets) != sorted(draft.platforms):
        return False
    named = {(t.platform, t.account_id) for t in post.targets if t.account_id}
    return named <= {(t.platform, t.account_id) for t in draft.targets}


def _outcome(post: Post) -> tuple[DraftState, dict[str, Any]]:
    """The draft state and fields that SocialDock's answer implies."""
    results = _results(post)
    changes: dict[str, Any] = {
        "post_id": post.id, "post_status": post.status, "target_results": results, "error": None,
    }
    failure = _failures(results)
    if post.status == "failed" or (failure and post.status != "scheduled"):
        changes["error"] = failure or "SocialDock reports the post as failed"
        return S.FAILED, changes
    if post.status == "published":
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
    ) -> None:
        self.client = client
        self.store = store
        self.policy = policy
        self.clock = clock
        self.reconcile_grace = reconcile_grace
        self.clock_skew = clock_skew
        self.max_scan = max_scan

    # --- decisions -------------------------------------------------------------------------------

    async def approve(self, draft_id: str, *, version: int, actor: Principal) -> Draft:
        """Approve version `version` and publish it; returns the draft in its new state.

        Raises PolicyError, DraftExpired, StaleApproval (someone decided first, or it was edited).
        If the task is cancelled while the request is in flight the draft stays `publishing`;
        `reconcile_all()` at the next start settles it."""
        draft = await self.store.get(draft_id)
        self.policy.check_can_approve(actor, draft)
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
        state, changes = _outcome(post)
        return await self._finish(draft, state, changes, note=f"SocialDock post {post.id} is {post.status}")

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
                state, changes = _outcome(post)
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

        Found → its real state. Absent → failed, but only after a complete scan that can be trusted
        (every page back to before the attempt in a verified order, or the whole list). Anything less
        (the scan bound reached, an inconsistent order, SocialDock unreachable) leaves it `unknown`."""
        draft = await self.store.get(draft_id)
        if draft.state not in IN_FLIGHT:
            return draft
        try:
            post, doubt = await self._find_post(draft)
        except SocialDockError as exc:
            return await self._still_unknown(
                draft, f"could not check SocialDock ({exc}); still unknown, nothing will be resent")
        if post is not None:
            state, changes = _outcome(post)
            if draft.kind == "update":
                state, changes = S.SCHEDULED, {**changes, "post_id": draft.post_id}
            return await self._finish(draft, state, changes, note=f"reconciled: found SocialDock post {post.id}")
        if doubt is not None:
            return await self._still_unknown(
                draft, f"{doubt}; still unknown, nothing will be resent: check list_posts and cancel the "
                       "draft, or approve a copy, only once you are sure it was not posted")
        started = draft.publish_started_at or draft.updated_at
        if self.clock() - started < self.reconcile_grace:
            return draft  # too early to call it lost: the request may still be on its way
        reason = NO_RECORD if draft.kind == "create" else (
            f"SocialDock post {draft.post_id} does not show the change: nothing was changed; approve again"
        )
        return await self._finish(draft, S.FAILED, {"error": reason}, note=f"reconciled: {reason}")

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
            if not _same_text(post.text, draft.text):
                continue
            if not post.targets:  # list items carry no targets as documented: read the post itself
                post = await self.client.posts.get(post.id)
            if not _same_targets(post, draft):
                continue
            owner = await self.store.find_by_post_id(post.id)
            if owner is not None and owner.id != draft.id:
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
        if not candidates:
            return None
        try:
            post = await self.client.posts.get(post_id)
        except NotFoundError:
            return None
        for candidate in candidates:
            started = candidate.publish_started_at or candidate.updated_at
            if post.created_at is not None and post.created_at < started - self.clock_skew:
                continue  # made before this draft was sent: not its post
            if not (_same_text(post.text, candidate.text) and _same_targets(post, candidate)):
                continue
            state, changes = _outcome(post)
            note = f"settled by SocialDock's webhook about post {post.id}"
            won = await self.store.transition(
                candidate.id, to=state, actor=SYSTEM, expected_state=IN_FLIGHT, changes=changes, note=note,
            )
            if won is not None:
                return won
            current = await self.store.get(candidate.id)
            if current.post_id == post.id:
                return current
        return None

    async def _record_webhook(self, event: WebhookEvent, draft: Draft) -> Draft:
        data = event.data
        status = data.status or ("published" if event.event == "post_published" else "failed")
        for _ in range(20):
            draft = await self.store.get(draft.id)
            results = [dict(r) for r in draft.target_results]
            matches = [
                r for r in results
                if r.get("platform") == data.platform
                and (data.account_id is None or r.get("account_id") in (None, data.account_id))
            ]
            entry = {
                "platform": data.platform, "account_id": data.account_id, "status": status,
                "platform_post_id": data.platform_post_id, "error": data.error,
            }
            if matches:
                matches[0].update({k: v for k, v in entry.items() if v is not None or k == "error"})
            else:
                results.append(entry)
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
            elif draft.state == S.SCHEDULED and all_published:
                to = S.PUBLISHED
                changes.update(post_status="published")
            elif failure and draft.state != S.FAILED:
                changes["warnings"] = [*draft.warnings, failure] if failure not in draft.warnings \
                    else draft.warnings
            note = f"SocialDock: {data.platform} {status}" + (f" ({data.error})" if data.error else "")
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
