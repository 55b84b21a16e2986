"""Account tools: what is connected, connecting more, and disconnecting."""

from __future__ import annotations

import asyncio
from datetime import datetime

from pydantic import Field

from sdassist.client.models import Platform
from sdassist.tools.base import Tool, ToolContext, ToolInput, ToolKind, ToolOutput, Toolset
from sdassist.tools.fields import AccountId

DEFAULT_REDIRECT = "https://app.socialdock.com/"
CONNECTED_PATH = "/socialdock/connected"
"""Where the browser comes back to after connecting, when sdassist has a public URL (the Slack app serves it)."""


class ListAccountsInput(ToolInput):
    platform: Platform | None = Field(default=None, description="Only accounts on this platform.")


class AccountView(ToolOutput):
    id: str
    platform: str
    handle: str | None = None
    name: str | None = None
    status: str | None = Field(default=None, description="active, or why the connection is broken.")
    connected_at: datetime | None = None


class AccountList(ToolOutput):
    accounts: list[AccountView]
    connected_platforms: list[str]
    next_step: str | None = None


async def list_accounts(ctx: ToolContext, inp: ListAccountsInput) -> AccountList:
    """GET /accounts names the accounts and when they were connected; GET /accounts/status says whether each
    connection still works. Both are asked at once."""
    listed, states = await asyncio.gather(ctx.client.accounts.list(), ctx.client.accounts.status())
    status_of = {s.id: s.status for s in states.accounts}
    accounts = [a for a in listed if inp.platform in (None, a.platform)]
    views = [AccountView(id=a.id, platform=a.platform, handle=a.username, name=a.display_name,
                         status=status_of.get(a.id), connected_at=a.connected_at) for a in accounts]
    broken = [v for v in views if v.status not in (None, "active")]
    step = None
    if broken:
        names = ", ".join(f"{v.platform} @{(v.handle or v.id).lstrip('@')} ({v.status})" for v in broken)
        step = (f"Not usable until reconnected: {names}. Reconnect with connect_account platform=…; posts to "
                "these accounts would fail.")
    return AccountList(accounts=views, connected_platforms=sorted({a.platform for a in accounts}), next_step=step)


class ConnectInput(ToolInput):
    platform: Platform = Field(description="The platform to connect.")
    redirect_url: str | None = Field(default=None, description="Where the browser lands afterwards.")


class ConnectView(ToolOutput):
    platform: str
    connect_url: str
    expires_at: datetime
    next_step: str


async def connect_account(ctx: ToolContext, inp: ConnectInput) -> ConnectView:
    redirect = inp.redirect_url or (
        ctx.settings.public_url.rstrip("/") + CONNECTED_PATH if ctx.settings.public_url else DEFAULT_REDIRECT
    )
    link = await ctx.client.accounts.connect(platform=inp.platform, redirect_url=redirect)
    return ConnectView(
        platform=link.platform, connect_url=link.connect_url, expires_at=link.expires_at,
        next_step="Open connect_url in a browser and authorise; the account then appears in list_accounts. "
                  "The link is short-lived.",
    )


class AccountRef(ToolInput):
    account_id: AccountId = Field(description="acc_…")


class Disconnected(ToolOutput):
    account_id: str
    disconnected: bool


async def disconnect_account(ctx: ToolContext, inp: AccountRef) -> Disconnected:
    ctx.policy.check_can_administer(ctx.principal, f"disconnect account {inp.account_id}")
    await ctx.client.accounts.disconnect(inp.account_id)
    return Disconnected(account_id=inp.account_id, disconnected=True)


TOOLS = [
    Tool(
        name="list_accounts", title="List connected accounts",
        description="Social accounts connected to SocialDock: id, platform, handle, status, connected_at. "
                    "Call this first: posts go to these accounts.",
        input_model=ListAccountsInput, output_model=AccountList, kind=ToolKind.READ, toolset=Toolset.ACCOUNTS,
        handler=list_accounts,
    ),
    Tool(
        name="connect_account", title="Connect an account",
        description="A short-lived link the user opens to connect a social account to SocialDock.",
        input_model=ConnectInput, output_model=ConnectView, kind=ToolKind.WRITE, toolset=Toolset.ACCOUNTS,
        handler=connect_account, admin=True,
    ),
    Tool(
        name="disconnect_account", title="Disconnect an account",
        description="Disconnect an account; its scheduled posts can no longer be published.",
        input_model=AccountRef, output_model=Disconnected, kind=ToolKind.DESTRUCTIVE, toolset=Toolset.ACCOUNTS,
        handler=disconnect_account, admin=True,
    ),
]
