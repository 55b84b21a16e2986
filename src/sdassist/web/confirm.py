"""The confirmation page: the person behind an assistant sees exactly what will go out and publishes or cancels.

GET shows the draft as it is now (text per platform with its count and limit, title, media, tags, warnings,
the time in the person's zone and in UTC); POST publishes or cancels that version. Both need the signed-in
browser session of the person the link was made for; the link itself grants nothing. The assistant learns
the outcome through `get_draft`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sdassist.identity.confirmations import ConfirmLinks
from sdassist.identity.principal import person_confirming
from sdassist.publishing.drafts import Draft, DraftState
from sdassist.publishing.platforms import platform_name, text_budget
from sdassist.tools.approval import outcome_step
from sdassist.tools.errors import tool_error_from
from sdassist.tools.views import settings_text, target_settings, time_view
from sdassist.web.pages import FORM_PAGE_HEADERS, message_page, page
from sdassist.web.session import Sessions

__all__ = ["confirm_routes", "draft_details"]

log = logging.getLogger("sdassist.web")

NO_STORE = {**FORM_PAGE_HEADERS, "Referrer-Policy": "no-referrer"}  # the link's key is in the path


def when_text(draft: Draft) -> str:
    if draft.scheduled_at is None:
        return "Right away, when you press Publish."
    return time_view(draft.scheduled_at, draft.timezone).echo


def draft_details(draft: Draft, *, sandbox: bool) -> str:
    """Exactly what will go out, as HTML (every value escaped)."""
    parts = []
    if sandbox:
        parts.append('<p class="note"><strong>Sandbox:</strong> nothing is really posted.</p>')
    parts.append(f"<p><strong>When:</strong> {escape(when_text(draft))}</p>")
    has_media = bool(draft.media_urls)
    for target in draft.targets:
        count, limit, unit = text_budget(target.platform, draft.text, has_media=has_media)
        over = limit is not None and count > limit
        budget = f"{count:,} of {limit:,} {unit}" if limit else f"{count:,} {unit}"
        name = platform_name(target.platform)
        parts.append(f'<section aria-label="{escape(name)}"><h2>{escape(name)} '
                     f'<span class="note">({escape(target.account_id)})</span></h2>')
        if settings := settings_text(target_settings(target.metadata)):
            parts.append(f"<p><strong>Settings:</strong> {escape(settings)}</p>")
        if draft.title:
            parts.append(f"<p><strong>Title:</strong> {escape(draft.title)}</p>")
        parts.append(f'<pre class="text">{escape(draft.text)}</pre>')
        parts.append(f'<p class="note{" over" if over else ""}">{escape(budget)}</p></section>')
    if draft.media_urls:
        items = "".join(f"<li>{escape(u)}</li>" for u in draft.media_urls)
        parts.append(f"<p><strong>Media</strong> ({len(draft.media_urls)}):</p><ul>{items}</ul>")
    if draft.tags:
        parts.append(f"<p><strong>Tags:</strong> {escape(', '.join(draft.tags))}</p>")
    parts.extend(f'<p class="note" role="note">Warning: {escape(w)}</p>' for w in draft.warnings)
    return "".join(parts)


EXTRA_STYLE = "<style>pre.text{white-space:pre-wrap;font:inherit;background:#fafafa;border:1px solid #ddd;" \
              "border-radius:8px;padding:.7rem}h2{font-size:1.1rem;margin-bottom:.2rem}.over{color:#b00020}</style>"


def confirm_routes(links: ConfirmLinks, sessions: Sessions, runtime: Callable[[], Awaitable[Any]],
                   answered: Callable[[str, int], Awaitable[None]] | None = None) -> list[BaseRoute]:
    """The page at /confirm/{key}; `answered(draft_id, version)` runs once it published or cancelled (to tell
    the hosts that were sent there)."""

    async def confirm(request: Request) -> Response:
        key = request.path_params["key"]
        pending = await links.lookup(key)
        if pending is None:
            return HTMLResponse(message_page("This link has expired", "Ask your assistant for the draft again."),
                                404, headers=NO_STORE)
        session = await sessions.current(request)
        if session is None:
            if request.method == "POST":
                return HTMLResponse(message_page("Signed out", "Sign in again and reload the page."), 403)
            return RedirectResponse(f"/oauth/login?next=/confirm/{key}", 303, headers=NO_STORE)
        if session.person.id != pending.subject:
            return HTMLResponse(message_page("Not your draft", "This confirmation belongs to someone else: only "
                                             "the person whose assistant drafted it can confirm it."), 403,
                                headers=NO_STORE)
        rt = await runtime()
        draft = await rt.store.get(pending.draft_id)
        stale = draft.state != DraftState.PENDING or draft.version != pending.version
        if request.method == "GET" or stale:
            if stale:
                why = (f"It is {draft.state.value} now." if draft.state != DraftState.PENDING else
                       f"It was changed (now version {draft.version}); your assistant has a new link for it.")
                return HTMLResponse(page("Nothing to confirm", f"<h1>Nothing to confirm</h1><p>{escape(why)}</p>"
                                         + draft_details(draft, sandbox=rt.settings.uses_sandbox) + EXTRA_STYLE),
                                    409 if request.method == "POST" else 200, headers=NO_STORE)
            body = (f"<h1>Publish this post?</h1><p>Drafted for <strong>{escape(session.person.name)}</strong> by "
                    f"{escape(pending.client_name)} · {escape(draft.id)}, version {draft.version}</p>"
                    + draft_details(draft, sandbox=rt.settings.uses_sandbox) +
                    f'<form method="post" action="/confirm/{escape(key)}">'
                    f'<input type="hidden" name="csrf" value="{escape(session.csrf)}">'
                    '<div class="actions"><button class="primary" type="submit" name="decision" value="publish">'
                    'Publish</button><button type="submit" name="decision" value="cancel">Cancel</button></div>'
                    "</form>" + EXTRA_STYLE)
            return HTMLResponse(page("Publish this post?", body), headers=NO_STORE)
        form = await request.form()
        if not session.csrf_ok(form.get("csrf")):
            return HTMLResponse(message_page("Please try again", "The form was stale; reload the page."), 403)
        decision = form.get("decision")
        if decision not in ("publish", "cancel"):  # only the button pressed decides; nothing else cancels
            return HTMLResponse(message_page("Nothing was done", "Press Publish or Cancel on the page."), 400,
                                headers=NO_STORE)
        actor = person_confirming(session.person, "web")
        try:
            if decision == "publish":
                done = await rt.publisher.approve(draft.id, version=pending.version, actor=actor)
                title, text = "Done", outcome_step(done)
            else:
                await rt.publisher.cancel(draft.id, actor=actor)
                title, text = "Cancelled", "Nothing was published. Your assistant sees this with get_draft."
        except Exception as exc:
            known = tool_error_from(exc)
            if known is None:
                log.exception("confirmation of %s failed", draft.id)
                return HTMLResponse(message_page("Something went wrong", "sdassist could not finish this; the "
                                                 "server log has the details. Check the draft before trying again."),
                                    500, headers=NO_STORE)
            return HTMLResponse(message_page("Not done", str(known)), 409, headers=NO_STORE)
        log.info("%s %s draft %s v%d on the confirmation page", actor.id, decision, draft.id,
                 pending.version)
        if answered is not None:
            await answered(draft.id, pending.version)
        return HTMLResponse(message_page(title, text), headers=NO_STORE)

    return [Route("/confirm/{key}", confirm, methods=["GET", "POST"])]
