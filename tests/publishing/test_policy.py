"""Who may approve, reject and cancel."""

from __future__ import annotations

import pytest

from sdassist.config import Settings
from sdassist.publishing.drafts import SYSTEM, Principal
from sdassist.publishing.policy import ApprovalPolicy, PolicyError
from tests.publishing.conftest import ALICE, ASSISTANT, BOB, CAROL, OPERATOR, make_draft

OPEN = ApprovalPolicy()
LISTED = ApprovalPolicy(approvers=frozenset({BOB.id}))
SELF_OK = ApprovalPolicy(allow_self_approval=True)


@pytest.mark.parametrize("policy", [OPEN, LISTED, SELF_OK, ApprovalPolicy(frozenset({"claude"}), True)])
def test_an_assistant_never_approves(policy: ApprovalPolicy) -> None:
    draft = make_draft(requester=ALICE)
    with pytest.raises(PolicyError, match="AI assistant can never approve"):
        policy.check_can_approve(ASSISTANT, draft)
    # A human id reaching us through MCP is still the assistant talking.
    with pytest.raises(PolicyError, match="never approve"):
        policy.check_can_approve(Principal(id=BOB.id, kind="human", face="mcp"), draft)
    with pytest.raises(PolicyError, match="never reject"):
        policy.check_can_reject(ASSISTANT, make_draft(requester=ASSISTANT))


def test_sdassist_itself_never_approves() -> None:
    with pytest.raises(PolicyError, match="a person has to"):
        OPEN.check_can_approve(SYSTEM, make_draft())


def test_open_policy_any_human_but_not_self() -> None:
    draft = make_draft(requester=ALICE)
    OPEN.check_can_approve(BOB, draft)
    with pytest.raises(PolicyError, match="someone else has to approve") as info:
        OPEN.check_can_approve(ALICE, draft)
    assert "SDASSIST_ALLOW_SELF_APPROVAL" in str(info.value)
    SELF_OK.check_can_approve(ALICE, draft)


def test_approver_list_binds() -> None:
    draft = make_draft(requester=ALICE)
    LISTED.check_can_approve(BOB, draft)
    with pytest.raises(PolicyError, match="not an approver; only U_BOB may approve"):
        LISTED.check_can_approve(CAROL, draft)
    # A listed approver's own draft still needs someone else unless self-approval is on.
    own = make_draft(requester=BOB)
    with pytest.raises(PolicyError, match="someone else"):
        LISTED.check_can_approve(BOB, own)
    ApprovalPolicy(frozenset({BOB.id}), allow_self_approval=True).check_can_approve(BOB, own)


def test_operator_is_trusted_with_own_drafts_but_not_above_the_list() -> None:
    own = make_draft(requester=OPERATOR)
    OPEN.check_can_approve(OPERATOR, own)
    OPEN.check_can_approve(OPERATOR, make_draft(requester=ASSISTANT))
    with pytest.raises(PolicyError, match="not an approver"):
        LISTED.check_can_approve(OPERATOR, own)
    ApprovalPolicy(frozenset({BOB.id, "operator"})).check_can_approve(OPERATOR, own)


def test_reject_and_cancel_by_approvers_or_requester() -> None:
    draft = make_draft(requester=ALICE)
    LISTED.check_can_reject(ALICE, draft)   # the requester withdraws
    LISTED.check_can_reject(BOB, draft)     # an approver says no
    with pytest.raises(PolicyError, match="only the requester"):
        LISTED.check_can_reject(CAROL, draft)
    OPEN.check_can_reject(CAROL, draft)


def test_from_settings() -> None:
    settings = Settings(SDASSIST_APPROVERS="U1, U2,", SDASSIST_ALLOW_SELF_APPROVAL=True)
    policy = ApprovalPolicy.from_settings(settings)
    assert policy == ApprovalPolicy(frozenset({"U1", "U2"}), True, confirm_mode=True)
    assert ApprovalPolicy.from_settings(Settings()) == ApprovalPolicy(confirm_mode=True)
    assert ApprovalPolicy.from_settings(Settings(SDASSIST_APPROVAL="slack")) == ApprovalPolicy()
