"""Block Kit rendering: the approval card, the modals, and tool results as Slack text.

Pure functions of their inputs (a draft and its decisions, a tool's output model), so every instance of
the app renders the same card for the same draft, and tests can read the blocks without Slack.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from sdassist.publishing.drafts import Decision, Draft, DraftState
from sdassist.publishing.platforms import megabytes, platform_name
from sdassist.tools.errors import ToolError
from sdassist.tools.views import preview, requester_label, target_settings, time_view

APPROVE, EDIT, REJECT = "sd_approve", "sd_edit", "sd_reject"
COMPOSER_VIEW, EDIT_VIEW, REJECT_VIEW = "sd_composer", "sd_edit_view", "sd_reject_view"
MAX_TEXT = 2900  # a section's text holds 3,000 characters
S = DraftState
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")  # a person id from Sign in with Slack is their Slack id

def escape(text: str) -> str:
    """Slack's three control characters, so user text never becomes a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text)}}


def context(*texts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(t, 1900)} for t in texts[:10]]}


def button_value(draft_id: str, version: int) -> str:
    """Ids, never content: the click names the exact version the approver saw."""
    return f"{draft_id}:{version}"


def parse_button_value(value: str) -> tuple[str, int]:
    draft_id, _, version = (value or "").partition(":")
    if not draft_id.startswith("drf_") or not (version.isascii() and version.isdigit()):
        raise ToolError("this button does not name a draft sdassist made",
                        hint="Use the buttons on a current approval card; /socialdock drafts lists the drafts.")
    return draft_id, int(version)


# --- times and people --------------------------------------------------------------------------------

def when_text(draft: Draft) -> str:
    if draft.publish_now or draft.scheduled_at is None:
        return "as soon as it is approved"
    return time_view(draft.scheduled_at, draft.timezone).echo


def stamp(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def who(actor_id: str, face: str, name: str | None = None) -> str:
    if face == "slack" and actor_id.startswith(("U", "W")):
        return f"<@{actor_id}>"
    return escape(name or actor_id)


def requester_text(draft: Draft) -> str:
    if draft.requester_kind == "assistant" and draft.requester_via:  # a signed-in person's assistant
        person = (draft.requester_name or draft.requester_id).removesuffix(f" via {draft.requester_via}")
        mention = who(draft.requester_id, "slack", person) if SLACK_USER_ID.fullmatch(draft.requester_id) \
            else escape(person)
        return f"{mention} via {escape(draft.requester_via)}"
    if draft.requester_kind == "assistant":
        return ":robot_face: an assistant (from an assistant, via MCP)"
    if draft.requester_face == "slack":
        return who(draft.requester_id, "slack")
    return escape(requester_label(draft)) + f" (via {draft.requester_face})"


def deciding(decisions: Sequence[Decision]) -> Decision | None:
    """The decision that ended the pending state most recently (approve, reject, cancel, expire)."""
    for decision in reversed(decisions):
        if decision.from_state == S.PENDING and decision.to_state != S.PENDING:
            return decision
    return None


# --- the card ----------------------------------------------------------------------------------------

def _target_blocks(draft: Draft, handles: Mapping[str, str]) -> list[dict[str, Any]]:
    blocks = []
    for target in draft.targets[:8]:
        handle = handles.get(target.account_id)
        label = f"*{platform_name(target.platform)}*" + (f" {escape(handle)}" if handle else "") + \
            f" · `{target.account_id}`"
        meta = " · ".join(f"{k}: {escape(v)}" for k, v in (target_settings(target.metadata) or {}).items())
        title = f"\n*{escape(draft.title)}*" if draft.title else ""
        body = "\n".join("> " + escape(line) for line in preview(draft.text, 700).splitlines() or [""])
        blocks.append(section(label + (f" ({meta})" if meta else "") + title + "\n" + body))
    return blocks


def status_line(draft: Draft) -> str:
    parts = [f"Status: *{draft.state}*", f"version {draft.version}", f"`{draft.id}`"]
    if draft.post_id:
        parts.append(f"post `{draft.post_id}`")
    results = [
        f"{platform_name(r.get('platform'))}: {r.get('status')}" + (f" ({escape(str(r['error']))})"
                                                                      if r.get("error") else "")
        for r in draft.target_results if r.get("status")
    ]
    if results:
        parts.append("; ".join(results))
    return " · ".join(parts)


def outcome_text(draft: Draft) -> str:
    """What happened after the decision, in one line (also the thread message)."""
    state = draft.state
    if state == S.SCHEDULED:
        return f":calendar: Scheduled for {when_text(draft)} as `{draft.post_id}`."
    if state == S.PUBLISHED:
        return f":white_check_mark: Published as `{draft.post_id}`."
    if state == S.PUBLISHING:
        return ":hourglass_flowing_sand: Sending to SocialDock…"
    if state == S.FAILED and draft.open_attempt is not None:  # sent, not seen yet: not a failure to retry at once
        return f":grey_question: {escape(draft.error or 'not found on SocialDock yet')}."
    if state == S.FAILED:
        again = "edit it" if live_targets(draft)[0] else "edit it or approve again"
        return f":warning: Failed: {escape(draft.error or 'SocialDock refused it')}. The draft is kept: {again}."
    if state == S.UNKNOWN:
        return f":grey_question: {escape(draft.error or 'outcome unknown')}"
    if state == S.EXPIRED:
        return f":hourglass: Expired: {escape(draft.error or 'nobody approved it in time')}."
    return f"The draft is {state}."


def _decision_block(draft: Draft, decision: Decision | None) -> dict[str, Any]:
    by = who(decision.actor_id, decision.face, decision.actor_name) if decision else "someone"
    at = stamp(decision.at) if decision else ""
    if draft.state == S.REJECTED:
        reason = (decision.note or "") if decision else ""
        _, _, why = reason.partition(": ")
        return section(f":x: Rejected by {by} at {at}" + (f": {escape(why)}" if why else "."))
    if draft.state == S.CANCELLED:
        return section(f":no_entry_sign: Cancelled by {by} at {at}.")
    if draft.state == S.EXPIRED:
        return section(outcome_text(draft))
    return section(f":white_check_mark: Approved by {by} at {at}. {outcome_text(draft)}")


def live_targets(draft: Draft) -> tuple[list[str], list[str]]:
    """(platforms where a failed create already went out, account ids still to send to), by the draft's targets."""
    if draft.kind != "create" or draft.state != S.FAILED:
        return [], []
    live = draft.live_accounts()
    done = [t for t in draft.targets if t.account_id in live or t.platform in live]
    return ([platform_name(t.platform) for t in done],
            [t.account_id for t in draft.targets if t not in done])


def live_note(draft: Draft) -> str | None:
    """Why a failed draft cannot simply be approved again: it is already live on some of its targets."""
    done, rest = live_targets(draft)
    if not done:
        return None
    keep = (f" `/socialdock edit_draft draft_id={draft.id} version={draft.version} targets={','.join(rest)}`"
            if rest else "")
    return (f":white_check_mark: Already live on {', '.join(done)}: approving it again would post there twice. "
            + (f"Keep only the targets that failed, e.g.{keep}, then approve that version." if rest
               else "Nothing is left to send."))


def _buttons(draft: Draft, *, again: bool = False, can_approve: bool = True) -> dict[str, Any]:
    value = button_value(draft.id, draft.version)
    approve: dict[str, Any] = {
        "type": "button", "action_id": APPROVE, "style": "primary", "value": value,
        "text": {"type": "plain_text", "text": "Approve again" if again else "Approve"},
        "confirm": {
            "title": {"type": "plain_text", "text": "Publish this post?"},
            "text": {"type": "mrkdwn", "text": f"Version {draft.version} goes to "
                     f"{', '.join(platform_name(p) for p in draft.platforms)}, {when_text(draft)}."},
            "confirm": {"type": "plain_text", "text": "Approve"},
            "deny": {"type": "plain_text", "text": "Not yet"},
        },
    }
    edit = {"type": "button", "action_id": EDIT, "value": value, "text": {"type": "plain_text", "text": "Edit"}}
    elements = [approve, edit] if can_approve else [edit]
    if not again:
        elements.append({"type": "button", "action_id": REJECT, "style": "danger", "value": value,
                         "text": {"type": "plain_text", "text": "Reject"}})
    return {"type": "actions", "block_id": f"decide:{draft.id}:{draft.version}", "elements": elements}


def source_text(draft: Draft) -> str | None:
    """Where the post came from, when it came from a Slack message (the card links to it)."""
    refs = draft.face_refs
    link, channel = refs.get("source_permalink"), refs.get("source_channel")
    if not link and not channel:
        return None
    where = f" in <#{channel}>" if channel and channel.startswith(("C", "G")) else ""
    return f":speech_balloon: From <{link}|a message>{where}" if link else f":speech_balloon: From a message{where}"


def _media_blocks(draft: Draft, media: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What goes out, seen: an image block per image (Slack fetches it from its signed URL), a line per video."""
    blocks: list[dict[str, Any]] = []
    shown = {m["url"] for m in media}
    for item in media[:MAX_FILES]:
        if item.get("image_url"):
            blocks.append({"type": "image", "image_url": item["image_url"], "alt_text": item["name"][:2000],
                           "title": _plain(f"{item['name']} · {item['size_text']}")})
    videos = [f":film_frames: {escape(m['name'])} ({m['size_text']})" for m in media if not m.get("image_url")]
    others = [f"<{u}|{escape(u.rsplit('/', 1)[-1] or u)}>" for u in draft.media_urls[:10] if u not in shown]
    if videos or others:
        blocks.append(section("*Media:* " + " ".join([*videos, *others])))
    return blocks


_FALLBACK_STATES = {S.PUBLISHING: "approved, sending to SocialDock",
                    S.PUBLISHED: "published", S.FAILED: "failed", S.REJECTED: "rejected", S.EXPIRED: "expired",
                    S.CANCELLED: "cancelled", S.UNKNOWN: "approved, outcome not known yet"}


def fallback_text(draft: Draft, kind: str, platforms: str) -> str:
    """The card's plain `text` (notifications, screen readers): what the card says now, not what it said first."""
    who = requester_label(draft)
    if draft.state == S.PENDING:
        return f"Approval needed: {kind.lower()} to {platforms} requested by {who}"
    if draft.state == S.SCHEDULED:
        return f"{kind} to {platforms} requested by {who}: scheduled for {when_text(draft)}"
    return f"{kind} to {platforms} requested by {who}: {_FALLBACK_STATES.get(draft.state, str(draft.state))}"


def card(draft: Draft, decisions: Sequence[Decision] = (), *, handles: Mapping[str, str] | None = None,
         media: Sequence[Mapping[str, Any]] = ()) -> tuple[str, list[dict[str, Any]]]:
    """The approval card: (fallback text, blocks). Buttons only while a decision is possible. `media`
    describes the draft's files sdassist stored (url, name, size_text, and image_url for images)."""
    platforms = ", ".join(platform_name(p) for p in draft.platforms)
    kind = "Change to a scheduled post" if draft.kind == "update" else "Post"
    fallback = fallback_text(draft, kind, platforms)
    blocks: list[dict[str, Any]] = [
        section(f":incoming_envelope: *Approval needed* · {kind} to {platforms}"),
        context(f"Requested by {requester_text(draft)} · {stamp(draft.created_at)}"),
        *_target_blocks(draft, handles or {}),
        section(f"*When:* {when_text(draft)}"),
    ]
    blocks += _media_blocks(draft, media) if draft.media_urls else []
    if (source := source_text(draft)) is not None:
        blocks.append(context(source))
    if draft.tags:
        blocks.append(section("*Tags:* " + " ".join("#" + escape(t) for t in draft.tags)))
    if draft.warnings:
        blocks.append(context(*(f":warning: {escape(w)}" for w in draft.warnings)))
    if draft.late_note:
        blocks.append(context(f":turtle: {escape(draft.late_note)}"))
    blocks.append(context(status_line(draft)))
    if draft.state == S.PENDING:
        blocks.append(_buttons(draft))
    elif draft.state == S.FAILED:
        blocks.append(section(outcome_text(draft)))
        live = live_note(draft)
        if live:
            blocks.append(section(live))
        blocks.append(_buttons(draft, again=True, can_approve=not live))
    else:
        blocks.append(_decision_block(draft, deciding(decisions)))
    return fallback, blocks


# --- modals -----------------------------------------------------------------------------------------

def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text[:150]}


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
           hint: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "input", "block_id": block_id, "label": _plain(label),
                             "element": {**element, "action_id": "value"}, "optional": optional}
    if hint:
        block["hint"] = _plain(hint)
    return block


def _text_input(multiline: bool = False, initial: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "multiline": multiline}
    if initial:
        element["initial_value"] = initial
    return element


def account_option(value: str, label: str) -> dict[str, Any]:
    return {"text": _plain(label), "value": value}


MAX_FILES = 10  # a post carries at most 10 media items (Instagram's carousel); file_input takes 10 too
FILE_TYPES = ["jpg", "jpeg", "png", "gif", "webp", "mp4", "mov", "webm", "m4v"]


def _file_label(name: str, mimetype: str, size: int) -> str:
    kind = "video" if mimetype.startswith("video/") else "image"
    return f"{name} ({kind}, {megabytes(size)})"


def composer_view(options: Sequence[dict[str, Any]], metadata: Mapping[str, Any], *, text: str | None = None,
                  files: Sequence[tuple[str, str, str, int]] = (), left_out: Sequence[str] = (),
                  source: str | None = None) -> dict[str, Any]:
    """The composer (`/socialdock new`, or the message shortcut prefilled with a message's `text` and its
    `files`: (id, name, mimetype, size)). Account option values are `platform|acc_…` (or a platform name);
    more images and videos can be added in the modal (`file_input`)."""
    blocks: list[dict[str, Any]] = []
    if source:
        blocks.append(context(source))
    blocks += [
        _input("text", "Text", _text_input(multiline=True, initial=text)),
        _input("accounts", "Accounts", {"type": "multi_static_select", "placeholder": _plain("Choose"),
                                        "options": list(options)[:100]}),
        _input("when", "When", {"type": "datetimepicker"}, optional=True,
               hint="Leave empty and tick 'Publish once approved' to post right after approval."),
        _input("now", "Publish once approved", {"type": "checkboxes", "options": [
            account_option("now", "Publish as soon as it is approved")]}, optional=True),
    ]
    if files:
        choices = [account_option(f[0], _file_label(f[1], f[2], f[3])) for f in files[:MAX_FILES]]
        blocks.append(_input("files", "Files from the message", {"type": "checkboxes", "options": choices,
                                                                  "initial_options": choices}, optional=True,
                             hint="Untick what should not go out."))
    if left_out:
        blocks.append(context(f"Left out (not an image or a video): {escape(', '.join(left_out))[:1800]}"))
    blocks += [
        _input("upload", "Add images or videos", {"type": "file_input", "filetypes": FILE_TYPES,
                                                  "max_files": MAX_FILES}, optional=True),
        _input("media", "Media URLs", _text_input(multiline=True), optional=True,
               hint="Public http(s) URLs, one per line."),
        _input("title", "Title", _text_input(), optional=True, hint="Needed for YouTube and Reddit."),
    ]
    return {
        "type": "modal", "callback_id": COMPOSER_VIEW, "private_metadata": json.dumps(dict(metadata)),
        "title": _plain("New post"), "submit": _plain("Send for approval"), "close": _plain("Cancel"),
        "blocks": blocks,
    }


def edit_view(draft: Draft, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Edit text, title, time and media of a pending draft; saving makes a new version."""
    when: dict[str, Any] = {"type": "datetimepicker"}
    if draft.scheduled_at is not None and not draft.publish_now:
        when["initial_date_time"] = int(draft.scheduled_at.timestamp())
    return {
        "type": "modal", "callback_id": EDIT_VIEW, "private_metadata": json.dumps(dict(metadata)),
        "title": _plain(f"Edit draft (v{draft.version})"), "submit": _plain("Save as new version"),
        "close": _plain("Cancel"),
        "blocks": [
            *([section(note)] if (note := live_note(draft)) else []),
            _input("text", "Text", _text_input(multiline=True, initial=draft.text)),
            _input("when", "When", when, optional=True,
                   hint="Empty: keep the time it has (publish once approved if it has none)."),
            _input("media", "Media URLs", _text_input(multiline=True, initial="\n".join(draft.media_urls)),
                   optional=True),
            _input("title", "Title", _text_input(initial=draft.title), optional=True),
        ],
    }


def reject_view(draft: Draft, metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "modal", "callback_id": REJECT_VIEW, "private_metadata": json.dumps(dict(metadata)),
        "title": _plain("Reject draft"), "submit": _plain("Reject"), "close": _plain("Cancel"),
        "blocks": [
            section(f"Reject version {draft.version} of `{draft.id}`: {escape(preview(draft.text, 200))}"),
            _input("reason", "Reason (optional)", _text_input(multiline=True), optional=True),
        ],
    }


def view_values(view: Mapping[str, Any]) -> dict[str, Any]:
    """A submitted modal's values by block id: text, selected option values, a unix time, or Slack files."""
    out: dict[str, Any] = {}
    for block_id, actions in (view.get("state", {}).get("values", {}) or {}).items():
        element = actions.get("value", {})
        kind = element.get("type")
        if kind in ("multi_static_select", "checkboxes"):
            out[block_id] = [o["value"] for o in element.get("selected_options") or []]
        elif kind == "datetimepicker":
            out[block_id] = element.get("selected_date_time")
        elif kind == "file_input":
            out[block_id] = list(element.get("files") or [])
        else:
            out[block_id] = element.get("value")
    return out


# --- answers to the user -------------------------------------------------------------------------------

def problem_text(problem: str, *, hint: str | None = None, example: str | None = None) -> str:
    lines = [f":warning: {escape(problem)}"]
    if hint:
        lines.append(escape(hint))
    if example:
        lines.append(f"Try: `{example}`")
    return "\n".join(lines)


def queued_text(ahead: int) -> str:
    """The ack of a command that waits in line behind others (SocialDock is slow or busy)."""
    noun = "request" if ahead == 1 else "requests"
    return (f":hourglass_flowing_sand: Queued behind {ahead:,} {noun}: SocialDock is slow right now. "
            "The answer comes here when it is done.")


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(_value_text(v) for v in value) or "-"
    if isinstance(value, dict):
        return "; ".join(f"{k}={_value_text(v)}" for k, v in value.items() if v not in (None, [], {}))
    return escape(str(value))


def _lines(data: Any, indent: str = "") -> list[str]:
    lines: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if value in (None, [], {}):
                continue
            if isinstance(value, list) and value and isinstance(value[0], dict):
                lines.append(f"{indent}*{key}*:")
                for item in value:
                    lines.append(f"{indent}• " + _value_text(item))
            else:
                lines.append(f"{indent}*{key}*: {_value_text(value)}")
    else:
        lines.append(_value_text(data))
    return lines


def result_text(tool: str, output: BaseModel) -> str:
    """A tool's output as Slack text: dedicated layouts for the everyday commands, generic for the rest."""
    data = output.model_dump(mode="json", exclude_none=True)
    if tool == "list_drafts":
        rows = [f"• `{d['draft_id']}` v{d['version']} *{d['state']}* · "
                f"{', '.join(platform_name(p) for p in d['platforms'])} · {d.get('scheduled_for') or 'now'}"
                f"\n    {escape(d['preview'])}" for d in data["drafts"]]
        return "*Drafts*\n" + ("\n".join(rows) if rows else "No drafts yet.")
    if tool == "list_posts":
        rows = [f"• `{p['post_id']}` *{p['status']}* · "
                f"{', '.join(platform_name(t['platform']) for t in p.get('targets', []))} · "
                f"{(p.get('scheduled_for') or {}).get('echo', '')}\n    {escape(p['text'])}" for p in data["posts"]]
        more = f"\n…and {data['total'] - len(rows)} more" if data["total"] > len(rows) else ""
        return "*Posts*\n" + ("\n".join(rows) if rows else "No posts.") + more
    if tool == "list_accounts":
        rows = [f"• {platform_name(a['platform'])} {escape(a.get('handle') or '')} · `{a['id']}`"
                for a in data["accounts"]]
        return "*Connected accounts*\n" + ("\n".join(rows) if rows else "None yet: `/socialdock connect instagram`.")
    if tool == "connect_account":
        return (f"Connect {platform_name(data['platform'])}: <{data['connect_url']}|open this link> "
                f"(valid until {data['expires_at']}, for you only).")
    title = tool.replace("_", " ").capitalize()
    return f"*{title}*\n" + "\n".join(_lines(data))
