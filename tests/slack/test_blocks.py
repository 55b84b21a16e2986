"""The card and the modals as pure renderings of a draft: what a person may do is what the buttons offer."""

from __future__ import annotations

from sdassist.client.models import Target
from sdassist.publishing.drafts import Draft, DraftState, Principal, new_draft
from sdassist.slack import blocks as ui

ASKER = Principal(id="U0ASKER", kind="human", face="slack", name="asker")


def failed_draft(live: bool) -> Draft:
    draft = new_draft(text="Launch day!", publish_now=True, requester=ASKER, targets=[
        Target(platform="instagram", account_id="acc_ig"), Target(platform="linkedin", account_id="acc_li")])
    results = [{"platform": "instagram", "account_id": "acc_ig", "status": "published" if live else "failed"},
               {"platform": "linkedin", "account_id": "acc_li", "status": "failed", "error": "token expired"}]
    return draft.model_copy(update={"state": DraftState.FAILED, "target_results": results, "error": "LinkedIn"})


def _action_ids(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_a_failed_draft_live_nowhere_offers_approve_again() -> None:
    _, blocks = ui.card(failed_draft(live=False))
    assert _action_ids(blocks) == [ui.APPROVE, ui.EDIT]
    assert "Already live" not in str(blocks)


def test_a_failed_draft_already_live_somewhere_hides_approve_and_says_where() -> None:
    draft = failed_draft(live=True)
    _, blocks = ui.card(draft)
    assert _action_ids(blocks) == [ui.EDIT]
    text = str(blocks)
    assert "Already live on Instagram" in text and "targets=acc_li" in text
    modal = ui.edit_view(draft, {"draft_id": draft.id, "version": draft.version})
    assert "Already live on Instagram" in str(modal["blocks"][0])
