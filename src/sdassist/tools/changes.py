"""One dry run of a change to a draft: apply it, check every rule, read the time; problems keyed by field.

`edit_draft`, `update_post` and the Slack modals all ask this one function, so a face never re-implements a
rule: it only decides where on its form a field's problem shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sdassist.client.models import Target
from sdassist.publishing.caps import MOVE_HINT
from sdassist.publishing.drafts import AlreadyLive, Draft
from sdassist.publishing.platforms import Problem, check_post
from sdassist.publishing.when import ResolvedTime
from sdassist.tools.base import ToolContext
from sdassist.tools.compose import (
    NOTHING_STORED,
    cap_problems,
    media_url_problem,
    messages,
    read_time,
    stored_media_facts,
)
from sdassist.tools.errors import ToolError
from sdassist.tools.targets import TargetOptions, option_names, resolve_targets, with_options

UPDATE_KEEPS = ("a change to a scheduled post keeps its accounts and its schedule (SocialDock cannot move a post "
                "to other accounts or publish it now)")
_METADATA_FIELDS = {"subreddit": "subreddit", "privacy": "privacy", "privacy_level": "privacy", "chat_id": "chat_id",
                    "location": "location"}


def field_of(problem: Problem) -> str:
    """The tool field a rule problem is about, so a form can show it on that field."""
    rule = problem.rule
    if rule.startswith("title") or (rule == "forbidden_chars" and ": title " in problem.message):
        return "title"
    if rule.startswith(("media", "video", "carousel", "max_media")):
        return "media_urls"
    if rule.startswith("metadata"):
        return _METADATA_FIELDS.get(str(problem.limit), "targets")
    if rule in ("hashtag_limit", "topic_tags"):
        return "tags"
    if rule == "platform":
        return "targets"
    return "text"


@dataclass
class DraftChange:
    """The outcome of a dry run: the store changes, the merged content, warnings, and problems by field."""

    changes: dict[str, Any] = field(default_factory=dict)
    merged: dict[str, Any] = field(default_factory=dict)
    when: ResolvedTime | None = None
    warnings: list[str] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)
    hints: list[str] = field(default_factory=list)

    def refuse(self, name: str, message: str, hint: str | None = None) -> None:
        self.problems.setdefault(name, []).append(message)
        if hint and hint not in self.hints:
            self.hints.append(hint)

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_if_problems(self) -> None:
        """Every problem at once, as one ToolError."""
        if self.problems:
            text = "; ".join(m for ms in self.problems.values() for m in ms)
            raise ToolError(text, hint=" ".join(self.hints) or NOTHING_STORED)


def _refusal(change: DraftChange, name: str, exc: ToolError) -> None:
    change.refuse(name, exc.message, exc.hint)


async def check_draft_change(
    ctx: ToolContext,
    base: Draft | None,
    *,
    text: str | None = None,
    title: str | None = None,
    targets: Sequence[str] | Sequence[Target] | None = None,
    when: str | None = None,
    publish_now: bool | None = None,
    media_urls: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    zone: str | None = None,
    options: TargetOptions | None = None,
    metadata_rules: bool = True,
) -> DraftChange:
    """Apply a change to `base` (None: a new draft) without storing anything, and find every problem.

    `targets` are words to resolve (platforms, handles, account ids; this asks SocialDock) or resolved
    Targets. `metadata_rules=False` skips the rules about per-platform metadata, for changes to a post whose
    metadata SocialDock keeps and sdassist never saw."""
    change = DraftChange()
    if base is not None and base.kind == "update":
        if targets is not None:
            change.refuse("targets", f"targets cannot change: {UPDATE_KEEPS}",
                          "To post elsewhere, cancel_draft this one and draft_post a new post.")
        if publish_now:
            change.refuse("publish_now", f"publish_now cannot be set: {UPDATE_KEEPS}",
                          "Give a new time with when, or delete the post and draft_post a new one.")
    for name, value in (("text", text), ("title", title), ("media_urls", media_urls), ("tags", tags)):
        if value is not None:
            change.changes[name] = list(value) if isinstance(value, (list, tuple)) else value
    if media_urls is not None and (bad := media_url_problem(media_urls, loopback_ok=ctx.client.is_local)):
        change.refuse("media_urls", bad)

    resolved: list[Target] | None = None
    if targets is not None and not (base is not None and base.kind == "update"):
        if all(isinstance(t, Target) for t in targets):
            resolved = list(targets)  # type: ignore[arg-type]
            if not resolved:
                change.refuse("targets", "no accounts chosen", "Choose at least one connected account.")
        else:
            try:
                resolved = await resolve_targets(ctx.client, [str(t) for t in targets], options or TargetOptions())
            except ToolError as exc:
                _refusal(change, "targets", exc)
        if resolved is not None:
            change.changes["targets"] = resolved
    elif options is not None and base is not None and option_names(options):
        if base.kind == "update":
            change.refuse(option_names(options)[0], f"{', '.join(option_names(options))} cannot change: {UPDATE_KEEPS}")
        else:  # a setting changed on its own applies to the draft's current targets
            resolved, unused = with_options(base.targets, options)
            for name, message in unused:
                change.refuse(name, message)
            change.changes["targets"] = resolved

    if publish_now and when:
        change.refuse("when", "both publish_now and when are given",
                      "Publish once approved, or give a time to schedule, not both.")
    elif publish_now and not (base is not None and base.kind == "update"):
        change.changes.update(publish_now=True, scheduled_at=None, time_phrase=None)
    elif when:
        try:
            change.when = read_time(ctx, when, zone or (base.timezone if base else None))
            change.changes.update(publish_now=False, scheduled_at=change.when.utc, timezone=change.when.zone,
                                  time_phrase=when)
        except ToolError as exc:
            _refusal(change, "when", exc)
    elif base is None:
        change.refuse("when", "no time given: choose when, or publish once approved",
                      "Say when, e.g. 'tomorrow 9am', or publish once approved (publish_now=true).")

    current: dict[str, Any] = {"text": "", "title": None, "targets": [], "media_urls": [], "tags": []}
    if base is not None:
        current = {k: getattr(base, k) for k in current}
    change.merged = {**current, **change.changes}
    if base is not None and resolved is not None:
        try:
            base.check_no_repost(resolved)
        except AlreadyLive as exc:
            change.refuse("targets", str(exc))
    elif base is not None and "targets" not in change.problems:
        try:
            base.check_no_repost(base.targets)
        except AlreadyLive as exc:
            change.refuse("targets", str(exc))

    merged = change.merged
    types, sizes = await stored_media_facts(ctx, merged["media_urls"])
    check = check_post(text=merged["text"], title=merged["title"], targets=merged["targets"],
                       media_urls=merged["media_urls"], tags=merged["tags"], media_types=types, media_sizes=sizes)
    keep = [p for p in check.problems if metadata_rules or not p.rule.startswith("metadata")]
    for problem, message in zip([p for p in keep if p.severity == "error"],
                                messages(p for p in keep if p.severity == "error"), strict=True):
        change.refuse(field_of(problem), message)
    change.warnings = messages(p for p in keep if p.severity != "error")
    await _check_caps(ctx, base, change, zone)
    return change


async def _check_caps(ctx: ToolContext, base: Draft | None, change: DraftChange, zone: str | None) -> None:
    """A changed draft must still fit the accounts' posting caps at its (new) time."""
    if (base is not None and base.kind == "update") or {"targets", "when"} & set(change.problems):
        return
    targets = change.merged["targets"]
    when = change.when
    if when is None and not change.changes.get("publish_now") and base is not None and not base.publish_now:
        when = ResolvedTime(utc=base.scheduled_at, local=base.scheduled_at, zone=base.timezone,  # type: ignore[arg-type]
                            phrase=base.time_phrase or "", echo="")
    errors, warnings = await cap_problems(ctx, targets, when, zone=zone, exclude=base.id if base else None)
    for message in errors:
        change.refuse("when", message, MOVE_HINT)
    change.warnings.extend(warnings)
