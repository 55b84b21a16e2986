"""Who may approve, reject or cancel a draft.

The rules, in order:
- An AI assistant (kind "assistant") never approves or rejects: a human stays in the loop whatever a
  prompt says. It may cancel a draft that an assistant requested (withdrawing its own request).
- The person at an MCP host (kind "human", face "mcp") approves only by confirming a preview the host
  showed them (elicitation or a confirmation token), or on the confirmation page (face "web"); with an
  approver list, "mcp-host-user" or their own id must be in it.
- An assistant signed in for a person (`Principal.via`, "Alice via Claude") drafts as that person: in Slack
  Alice cannot approve what her assistant drafted (self-approval), exactly as if she had typed it. Only in
  `confirm` mode does she confirm her own assistant's draft, at her host or on the confirmation page, as
  that person: that confirmation is what the mode is. Her assistant withdraws only her drafts, not others'.
- sdassist itself (face "system") approves only when the operator switched approval off
  (SDASSIST_APPROVAL=none); otherwise it only expires, reconciles and records outcomes.
- With an approver list (SDASSIST_APPROVERS), only those ids approve. Empty list: any human or operator.
- Self-approval (approving a draft you requested) needs SDASSIST_ALLOW_SELF_APPROVAL, except for the
  operator at the local terminal: they hold the installation's API key and could post directly, so
  refusing them would protect nothing. The approver list still binds them: when it is set it must
  contain "operator" or their id.
- Rejecting and cancelling: the approvers (as above, self or not) and the requester themself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sdassist.publishing.drafts import Draft, Principal

__all__ = ["MCP_HOST_USER", "OPERATOR", "ApprovalPolicy", "PolicyError"]

MCP_HOST_USER = "mcp-host-user"
"""The person at an MCP host who confirmed a preview: the only MCP-side principal that may approve."""

OPERATOR = "operator"
"""Put this in SDASSIST_APPROVERS to let the local terminal user approve alongside named approvers."""


class PolicyError(PermissionError):
    """The actor may not take this decision; the message says who may and how to get it done."""


@dataclass(frozen=True)
class ApprovalPolicy:
    approvers: frozenset[str] = frozenset()
    allow_self_approval: bool = False
    approval_required: bool = True
    confirm_mode: bool = False
    """SDASSIST_APPROVAL=confirm: the person behind an assistant confirms its drafts themself."""

    @classmethod
    def from_settings(cls, settings: Any) -> ApprovalPolicy:
        return cls(
            approvers=frozenset(settings.approver_ids),
            allow_self_approval=bool(settings.allow_self_approval),
            approval_required=getattr(settings, "approval", "confirm") != "none",
            confirm_mode=getattr(settings, "approval", "confirm") == "confirm",
        )

    # --- helpers ---------------------------------------------------------------------------------

    def _who_may(self) -> str:
        if not self.approvers:
            return "any team member in Slack or the operator at the terminal"
        return ", ".join(sorted(self.approvers))

    def who_may_approve(self) -> str:
        """Who may approve, in words, for telling a requester whom to ask."""
        return self._who_may()

    def _refuse_machines(self, actor: Principal, action: str, draft: Draft) -> None:
        confirming = actor.id == MCP_HOST_USER or actor.via is not None  # the person at the host, not the model
        speaks_for_assistant = actor.kind == "assistant" or (actor.face == "mcp" and not confirming)
        if speaks_for_assistant:
            if action in ("cancel", "edit") and self._assistant_may_withdraw(actor, draft):
                return
            raise PolicyError(
                f"an AI assistant can never {action} a post: draft {draft.id} waits for a person — "
                f"{self._who_may()} — to {action} it on its Slack card or with "
                f"`sdassist call {action}_draft draft_id={draft.id} …`"
            )
        if actor.face == "system" and (action != "approve" or self.approval_required):
            raise PolicyError(f"sdassist itself cannot {action} draft {draft.id}; a person has to")

    @staticmethod
    def _assistant_may_withdraw(actor: Principal, draft: Draft) -> bool:
        """An assistant withdraws an assistant's draft; one signed in for a person only that person's."""
        if draft.requester_kind != "assistant":
            return False
        return (draft.requester_via is None and actor.via is None) or actor.id == draft.requester_id

    @staticmethod
    def _confirms_at_host(actor: Principal) -> bool:
        """The person at an MCP host or on the confirmation page, confirming a preview they were shown."""
        return actor.kind == "human" and (actor.face == "web" or (actor.face == "mcp" and actor.via is not None)
                                          or actor.id == MCP_HOST_USER)

    def _is_listed(self, actor: Principal) -> bool:
        if not self.approvers:
            return True
        if actor.id in self.approvers:
            return True
        if self._confirms_at_host(actor) and MCP_HOST_USER in self.approvers:
            return True
        return actor.kind == "operator" and OPERATOR in self.approvers

    # --- checks ----------------------------------------------------------------------------------

    def check_can_approve(self, actor: Principal, draft: Draft) -> None:
        """Raise PolicyError unless `actor` may approve `draft`."""
        self._refuse_machines(actor, "approve", draft)
        if actor.face == "system":
            return
        if not self._is_listed(actor):
            raise PolicyError(
                f"{actor.label} is not an approver; only {self._who_may()} may approve draft {draft.id}. "
                f"Ask one of them, or have SDASSIST_APPROVERS changed"
            )
        is_self = actor.id in (draft.requester_id, draft.last_editor_id)
        own_assistant = (self.confirm_mode and self._confirms_at_host(actor) and draft.requester_kind == "assistant"
                         and draft.requester_id == actor.id and draft.last_editor_id in (None, actor.id))
        if is_self and actor.kind != "operator" and not own_assistant and not self.allow_self_approval:
            made = "requested" if actor.id == draft.requester_id else "wrote the current version of"
            raise PolicyError(
                f"you {made} draft {draft.id}, so someone else has to approve it "
                f"({self._who_may()}); self-approval is off (SDASSIST_ALLOW_SELF_APPROVAL)"
            )

    def check_can_reject(self, actor: Principal, draft: Draft) -> None:
        """Raise PolicyError unless `actor` may reject `draft` (approvers, or the requester)."""
        self._check_withdraw(actor, draft, "reject")

    def check_can_edit(self, actor: Principal, draft: Draft) -> None:
        """Raise PolicyError unless `actor` may change `draft`: its requester or an approver; an assistant only
        an assistant's draft (so it can never put its words into a person's request)."""
        self._check_withdraw(actor, draft, "edit")

    def check_can_cancel(self, actor: Principal, draft: Draft) -> None:
        """Raise PolicyError unless `actor` may cancel `draft` (approvers, the requester, or an assistant
        withdrawing an assistant's draft)."""
        self._check_withdraw(actor, draft, "cancel")

    def check_can_administer(self, actor: Principal, action: str = "do this") -> None:
        """Raise PolicyError unless `actor` may take a destructive or workspace-wide step outside any draft
        (delete a post, disconnect an account, add or remove a webhook). People: the approvers (anyone, without
        an approver list); the operator at the terminal and sdassist itself; an assistant, whose MCP host asks
        its user before any destructive tool."""
        if actor.kind == "operator" or actor.kind == "assistant" or actor.face == "mcp":
            return
        if self._is_listed(actor):
            return
        raise PolicyError(f"{actor.label} is not an approver; only {self._who_may()} may {action}. "
                          "Ask one of them, or have SDASSIST_APPROVERS changed")

    def _check_withdraw(self, actor: Principal, draft: Draft, action: str) -> None:
        self._refuse_machines(actor, action, draft)
        if actor.id == draft.requester_id or actor.kind == "assistant" or self._is_listed(actor):
            return
        raise PolicyError(
            f"only the requester ({draft.requester_name or draft.requester_id}) or an approver "
            f"({self._who_may()}) may {action} draft {draft.id}"
        )
