"""What a tool is: one operation, described once, run by every face.

A face (MCP, Slack, terminal) never re-describes a tool: it reads the name, description, schemas, kind
and toolset from here and calls `Tool.run`, which validates the input and turns every anticipated
failure into a `ToolError`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from sdassist.identity.scopes import scope_for
from sdassist.tools.confirmation import ConfirmationTokens
from sdassist.tools.errors import ToolError, input_refusal, tool_error_from
from sdassist.tools.fields import control_character

if TYPE_CHECKING:
    from sdassist.client import SocialDock
    from sdassist.config import Settings
    from sdassist.publishing.drafts import Draft, Principal
    from sdassist.publishing.media import MediaStore
    from sdassist.publishing.policy import ApprovalPolicy
    from sdassist.publishing.publisher import Publisher
    from sdassist.publishing.store import DraftStore


log = logging.getLogger("sdassist.tools")


class ToolKind(StrEnum):
    READ = "read"
    WRITE = "write"
    DESTRUCTIVE = "destructive"


class Toolset(StrEnum):
    ACCOUNTS = "accounts"
    POSTS = "posts"
    DRAFTS = "drafts"
    ANALYTICS = "analytics"
    MEDIA = "media"
    WEBHOOKS = "webhooks"


DEFAULT_TOOLSETS: frozenset[Toolset] = frozenset(
    {Toolset.ACCOUNTS, Toolset.POSTS, Toolset.DRAFTS, Toolset.ANALYTICS, Toolset.MEDIA}
)


class ToolInput(BaseModel):
    """Base of every input model: unknown fields are refused, so a typo is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        """No field of any tool takes control characters (NUL cannot even be stored); line breaks are fine."""
        if (bad := control_character(value)) is not None:
            raise ValueError(f"contains the control character {bad}; remove it")
        return value


class ToolOutput(BaseModel):
    """Base of every output model: compact, no raw envelopes."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Attachment:
    """A file that goes with a tool's answer (a chart): MCP sends it as image content, Slack uploads it."""

    data: bytes
    mime_type: str
    filename: str
    title: str


class DraftNotifier(Protocol):
    """A face that shows pending drafts to approvers (the Slack card)."""

    async def draft_pending(self, draft: Draft) -> None: ...


class ConfirmLinker(Protocol):
    """Where the person behind an assistant confirms a draft in their own browser (the MCP face over OAuth)."""

    async def link(self, draft: Draft, principal: Principal) -> str: ...


ProgressFn = Callable[[float, float | None, str | None], Awaitable[None]]


@dataclass
class ToolContext:
    """Everything a handler may use: the services, and who is asking from where."""

    client: SocialDock
    store: DraftStore
    publisher: Publisher
    policy: ApprovalPolicy
    settings: Settings
    principal: Principal
    zone: str
    confirmations: ConfirmationTokens = field(default_factory=lambda: ConfirmationTokens.with_key(None))
    notifier: DraftNotifier | None = None
    zone_source: str = "SDASSIST_TIMEZONE"
    """Where `zone` came from (SDASSIST_TIMEZONE, --zone, the Slack user's zone): what a zone refusal names."""
    progress: ProgressFn | None = None
    media: MediaStore | None = None
    local_files: bool = False  # the caller runs on this machine (MCP over stdio): it may name local paths
    face_refs: dict[str, str] = field(default_factory=dict)  # where a new draft came from (a Slack message)
    confirm_links: ConfirmLinker | None = None

    async def report_progress(self, done: float, total: float | None = None, message: str | None = None) -> None:
        if self.progress is not None:
            await self.progress(done, total, message)


In = TypeVar("In", bound=ToolInput)
Out = TypeVar("Out", bound=ToolOutput)


@dataclass(frozen=True)
class Tool(Generic[In, Out]):
    """One operation. `human_only` tools (approve, reject) are never shown to assistants."""

    name: str
    title: str
    description: str
    input_model: type[In]
    output_model: type[Out]
    kind: ToolKind
    toolset: Toolset
    handler: Callable[[ToolContext, In], Awaitable[Out]] = field(repr=False)
    human_only: bool = False
    attachments: Callable[[Out], Awaitable[list[Attachment]]] | None = field(default=None, repr=False)
    """Files made from an output (a chart), for faces that can show them; none when they cannot be made."""
    admin: bool = False
    """Changes the workspace (accounts, webhooks), deletes what is live, or decides on a draft: over OAuth
    it needs the `admin` scope, which a host gets only by asking again (step-up)."""

    @property
    def scope(self) -> str:
        """The one OAuth scope a call needs, from the tool's own metadata (`identity.scopes.scope_for`)."""
        return scope_for(self.kind.value, admin=self.admin)

    def parse_input(self, arguments: dict[str, Any] | In) -> In:
        if isinstance(arguments, self.input_model):
            return arguments
        try:
            return self.input_model.model_validate(arguments)
        except ValidationError as exc:
            raise input_refusal(self.name, self.input_model.model_fields, exc) from None

    async def run(self, ctx: ToolContext, arguments: dict[str, Any] | In) -> Out:
        """Validate, run, and turn every anticipated failure into a ToolError."""
        parsed = self.parse_input(arguments)
        try:
            return await self.handler(ctx, parsed)
        except ToolError:
            raise
        except Exception as exc:
            mapped = tool_error_from(exc)
            if mapped is None:
                raise
            raise mapped from None


async def attachments_of(tool: Tool[Any, Any], output: BaseModel) -> list[Attachment]:
    """The files a tool makes from its output (a chart); none if making them fails: the answer still goes."""
    if tool.attachments is None:
        return []
    try:
        return await tool.attachments(output)
    except Exception:
        log.warning("could not make the attachments of %s", tool.name, exc_info=True)
        return []
