"""Who may approve, reject or cancel a draft.

The rules, in order:
- An AI assistant never approves, rejects or cancels (kind "assistant", or anyone calling through MCP):
  a human stays in the loop whatever a prompt says.
- sdassist itself (face "system") never approves: it only expires, reconciles and records outcomes.
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

__all__ = ["OPERATOR", "ApprovalPolicy", "PolicyError"]

OPERATOR = "operator"
"""Put this in SDASSIST_APPROVERS to let the local terminal user approve alongside named approvers."""


class PolicyError(PermissionError):
    """The actor may not take this decision; the message says who may and how to get it done."""


@dataclass(frozen=True)
class ApprovalPolicy:
    approvers: frozenset[str] = frozenset()
    allow_self_approval: bool = False

    @classmethod
    def from_settings(cls, settings: Any) -> ApprovalPolicy:
        return cls(
            approvers=frozenset(settings.approver_ids),
            allow_self_approval=bool(settings.allow_self_approval),
        )

    # --- helpers ---------------------------------------------------------------------------------

    def _who_may(self) -> str:
        if not self.approvers:
            return "any team member in Slack or the operator at the terminal"
        return ", ".join(sorted(self.approvers))

    def _refuse_machines(self, actor: Principal, action: str, draft: Draft) -> None:
        if actor.kind == "assistant" or actor.face == "mcp":
            raise PolicyError(
                f"an AI assistant can never {action} a post: draft {draft.id} waits for a person — "
                f"{self._who_may()} — to {action} it in Slack or with `sdassist {action} {draft.id}`"
            )
        if actor.face == "system":
            raise PolicyError(f"sdassist itself cannot {action} draft {draft.id}; a person has to")

    def _is_listed(self, actor: Principal) -> bool:
        if not self.approvers:
            return True
        if actor.id in self.approvers:
            return True
        return actor.kind == "operator" and OPERATOR in self.approvers

    # --- checks ----------------------------------------------------------------------------------

    def check_can_approve(self, actor: Principal, draft: Draft) -> None:
        """Raise PolicyError unless `actor` may approve `draft`."""
        self._refuse_machines(actor, "approve", draft)
        if not self._is_listed(actor):
            raise PolicyError(
                f"{actor.label} is not an approver; only {self._who_may()} may approve draft {draft.id}. "
                f"Ask one of them, or have SDASSIST_APPROVERS changed"
            )
        is_self = actor.id == draft.requester_id
        if is_self and actor.kind != "operator" and not self.allow_self_approval:
            raise PolicyError(
                f"you requested draft {draft.id}, so someone else has to approve it "
                f"({self._who_may()}); self-approval is off (SDASSIST_ALLOW_SELF_APPROVAL)"
            )

    def check_can_reject(self, actor: Principal, draft: Draft) -> None:
        """Raise PolicyError unless `actor` may reject or cancel `draft` (approvers, or the requester)."""
        self._refuse_machines(actor, "reject" if draft.state == "pending" else "cancel", draft)
        if actor.id == draft.requester_id or self._is_listed(actor):
            return
        raise PolicyError(
            f"only the requester ({draft.requester_name or draft.requester_id}) or an approver "
            f"({self._who_may()}) may reject or cancel draft {draft.id}"
        )
