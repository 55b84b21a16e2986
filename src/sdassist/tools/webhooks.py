"""Webhook tools: where SocialDock reports outcomes. Secrets go in, never come back out."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field

from sdassist.netsafety import UnsafeURL, check_public_url, is_loopback_host, without_credentials
from sdassist.tools.base import Tool, ToolContext, ToolInput, ToolKind, ToolOutput, Toolset
from sdassist.tools.errors import ToolError
from sdassist.tools.fields import WebhookId

EVENTS = ("post_published", "post_failed")



def check_webhook_url(url: str, *, loopback_ok: bool = False) -> str:
    """HTTPS to a public host; plain HTTP only to loopback, and loopback only when SocialDock is on this
    machine too (`loopback_ok`: the sandbox), since SocialDock delivers from wherever it runs."""
    hint = "Use the public https address of your receiver, e.g. https://example.com/socialdock/webhook."
    try:
        checked = check_public_url(url, field="url", loopback_ok=loopback_ok)
    except UnsafeURL as exc:
        raise ToolError(f"webhook {exc}", hint=hint) from None
    if urlsplit(checked).scheme.lower() == "http" and not is_loopback_host(urlsplit(checked).hostname):
        raise ToolError(f"webhook url must be https (http only for loopback addresses), not {checked[:80]!r}",
                        hint=hint)
    return checked


class WebhookView(ToolOutput):
    id: str
    url: str
    events: list[str]
    active: bool
    signed: bool | None = Field(default=None, description="Whether deliveries carry a signature (on create).")


class WebhookList(ToolOutput):
    webhooks: list[WebhookView]


class ListWebhooksInput(ToolInput):
    pass


async def list_webhooks(ctx: ToolContext, inp: ListWebhooksInput) -> WebhookList:
    hooks = await ctx.client.webhooks.list()  # one registered elsewhere may carry a password: never shown
    return WebhookList(webhooks=[WebhookView(id=h.id, url=without_credentials(h.url), events=h.events,
                                             active=h.active) for h in hooks])


class CreateWebhookInput(ToolInput):
    url: str = Field(description="The https endpoint that receives events.")
    events: list[Literal["post_published", "post_failed"]] = Field(
        default_factory=lambda: list(EVENTS), min_length=1, description="Events to receive (default: both).")
    secret: str | None = Field(default=None, description="Signing secret; defaults to SDASSIST_WEBHOOK_SECRET.")


async def create_webhook(ctx: ToolContext, inp: CreateWebhookInput) -> WebhookView:
    ctx.policy.check_can_administer(ctx.principal, "register a webhook")
    url = check_webhook_url(inp.url, loopback_ok=ctx.client.is_local)
    secret = inp.secret or (ctx.settings.webhook_secret.get_secret_value() if ctx.settings.webhook_secret else None)
    hook = await ctx.client.webhooks.create(url=url, events=list(inp.events), secret=secret)
    return WebhookView(id=hook.id, url=hook.url, events=hook.events, active=hook.active, signed=secret is not None)


class WebhookRef(ToolInput):
    webhook_id: WebhookId = Field(description="wh_…")


class WebhookDeleted(ToolOutput):
    webhook_id: str
    deleted: bool


async def delete_webhook(ctx: ToolContext, inp: WebhookRef) -> WebhookDeleted:
    ctx.policy.check_can_administer(ctx.principal, f"delete webhook {inp.webhook_id}")
    await ctx.client.webhooks.delete(inp.webhook_id)
    return WebhookDeleted(webhook_id=inp.webhook_id, deleted=True)


TOOLS = [
    Tool(
        name="list_webhooks", title="List webhooks",
        description="List the endpoints SocialDock sends post_published / post_failed events to.",
        input_model=ListWebhooksInput, output_model=WebhookList, kind=ToolKind.READ, toolset=Toolset.WEBHOOKS,
        handler=list_webhooks,
    ),
    Tool(
        name="create_webhook", title="Register a webhook",
        description="Register an https endpoint for post_published / post_failed events, signed with a secret "
                    "(HMAC-SHA256). The secret is never shown back.",
        input_model=CreateWebhookInput, output_model=WebhookView, kind=ToolKind.WRITE, toolset=Toolset.WEBHOOKS,
        handler=create_webhook, admin=True,
    ),
    Tool(
        name="delete_webhook", title="Delete a webhook",
        description="Stop sending events to a webhook endpoint.",
        input_model=WebhookRef, output_model=WebhookDeleted, kind=ToolKind.DESTRUCTIVE, toolset=Toolset.WEBHOOKS,
        handler=delete_webhook, admin=True,
    ),
]
