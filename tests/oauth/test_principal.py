"""A person behind every draft: "Alice via Claude" drafts as Alice, so approval treats it as Alice's own."""

from __future__ import annotations

import pytest

from sdassist.identity import Person, assistant_for
from sdassist.publishing.drafts import Principal
from sdassist.publishing.policy import ApprovalPolicy, PolicyError
from sdassist.slack.blocks import card, requester_text
from sdassist.tools.approval import HOST_USER, host_user
from tests.publishing.conftest import make_draft

ALICE_IN_SLACK = Principal(id="U0ALICE", kind="human", face="slack", name="alice")
BOB_IN_SLACK = Principal(id="U0BOB", kind="human", face="slack", name="bob")
ALICES_CLAUDE = assistant_for(Person("U0ALICE", "Alice"), "Claude")
BOBS_CURSOR = assistant_for(Person("U0BOB", "Bob"), "Cursor")
ANONYMOUS = Principal(id="mcp-assistant", kind="assistant", face="mcp", name="an assistant")

SLACK_MODE = ApprovalPolicy()
CONFIRM_MODE = ApprovalPolicy(confirm_mode=True)


def test_the_principal_names_the_person_and_the_app() -> None:
    assert Principal(id="U0ALICE", kind="assistant", face="mcp", name="Alice via Claude",
                                      via="Claude") == ALICES_CLAUDE
    draft = make_draft(requester=ALICES_CLAUDE)
    assert (draft.requester_id, draft.requester_via, draft.requester) == ("U0ALICE", "Claude", ALICES_CLAUDE)


def test_alice_cannot_approve_in_slack_what_her_assistant_drafted() -> None:
    draft = make_draft(requester=ALICES_CLAUDE)
    with pytest.raises(PolicyError, match="someone else has to approve"):
        SLACK_MODE.check_can_approve(ALICE_IN_SLACK, draft)
    SLACK_MODE.check_can_approve(BOB_IN_SLACK, draft)
    with pytest.raises(PolicyError, match="never approve"):
        SLACK_MODE.check_can_approve(ALICES_CLAUDE, draft)
    # Exactly as if she had typed it herself.
    with pytest.raises(PolicyError, match="someone else has to approve"):
        SLACK_MODE.check_can_approve(ALICE_IN_SLACK, make_draft(requester=ALICE_IN_SLACK))


def test_in_confirm_mode_alice_confirms_her_own_assistants_draft_and_nobody_elses() -> None:
    draft = make_draft(requester=ALICES_CLAUDE)
    alice_at_claude = host_user(ALICES_CLAUDE)
    assert (alice_at_claude.id, alice_at_claude.kind, alice_at_claude.name) == ("U0ALICE", "human", "Alice at Claude")
    CONFIRM_MODE.check_can_approve(alice_at_claude, draft)
    # Not in slack mode: there the team approves.
    with pytest.raises(PolicyError, match="someone else"):
        SLACK_MODE.check_can_approve(alice_at_claude, draft)
    # Bob at his host cannot confirm Alice's draft as if it were his own assistant's.
    bob_at_cursor = host_user(BOBS_CURSOR)
    CONFIRM_MODE.check_can_approve(bob_at_cursor, make_draft(requester=BOBS_CURSOR))
    with pytest.raises(PolicyError):
        ApprovalPolicy(approvers=frozenset({"U0CAROL"}), confirm_mode=True).check_can_approve(bob_at_cursor, draft)
    # Anonymous assistants keep the anonymous person at the host.
    assert host_user(ANONYMOUS) is HOST_USER


def test_an_assistant_withdraws_only_its_persons_drafts() -> None:
    alices = make_draft(requester=ALICES_CLAUDE)
    SLACK_MODE.check_can_cancel(ALICES_CLAUDE, alices)
    SLACK_MODE.check_can_edit(ALICES_CLAUDE, alices)
    for other in (BOBS_CURSOR, ANONYMOUS):
        with pytest.raises(PolicyError, match="never cancel"):
            SLACK_MODE.check_can_cancel(other, alices)
    anonymous = make_draft(requester=ANONYMOUS)
    SLACK_MODE.check_can_cancel(ANONYMOUS, anonymous)
    with pytest.raises(PolicyError):
        SLACK_MODE.check_can_cancel(ALICES_CLAUDE, anonymous)


def test_the_slack_card_says_who_asked_through_what() -> None:
    draft = make_draft(requester=ALICES_CLAUDE)
    assert requester_text(draft) == "<@U0ALICE> via Claude"
    text = str(card(draft))
    assert "Requested by <@U0ALICE> via Claude" in text
    # A person id that is not a Slack id (another OpenID Connect provider) is shown by name, escaped.
    other = make_draft(requester=assistant_for(Person("oidc-sub-17", "Ann <b>"), "ChatGPT"))
    assert requester_text(other) == "Ann &lt;b&gt; via ChatGPT"
    assert requester_text(make_draft(requester=ANONYMOUS)).startswith(":robot_face: an assistant")


def test_only_slack_names_a_slack_user() -> None:
    """The Slack user id claim counts only in Slack's ID tokens: another provider's token carrying it (a claim its
    users or admins could set) is the person its `sub` names, not that Slack user."""
    from sdassist.identity.oidc import SLACK_USER_CLAIM, person_from_claims

    claims = {"sub": "auth0|mallory", "name": "Mallory", SLACK_USER_CLAIM: "U0ALICE"}
    assert person_from_claims(claims, "https://login.example.com").id == "auth0|mallory"
    slack = {"sub": "U0ALICE", "name": "Alice", SLACK_USER_CLAIM: "U0ALICE"}
    assert person_from_claims(slack, "https://slack.com").id == "U0ALICE"
    assert person_from_claims({**slack, "sub": "other"}, "https://slack.com/").id == "U0ALICE"
