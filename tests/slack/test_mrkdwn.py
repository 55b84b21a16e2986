"""Slack markup as the plain text a post needs: what a reader sees in Slack, no markers or entities."""

from __future__ import annotations

import pytest

from sdassist.slack.mrkdwn import mentioned_users, plain_text


@pytest.mark.parametrize(("mrkdwn", "plain"), [
    ("see <https://ex.com/launch|our page>", "see our page (https://ex.com/launch)"),
    ("<https://ex.com/a.jpg>", "https://ex.com/a.jpg"),
    ("<https://www.ex.com|ex.com>", "https://www.ex.com"),
    ("write <mailto:hi@ex.com|hi@ex.com>", "write hi@ex.com"),
    ("with <@U0ALICE>", "with @Alice"),
    ("with <@U0NOBODY>", "with @U0NOBODY"),
    ("in <#C0123|launch>", "in #launch"),
    ("<!here> and <!subteam^S0TEAM|@social>", "@here and @social"),
    ("on <!date^1764900000^{date}|Dec 5>", "on Dec 5"),
    ("Launch :rocket: :tada: :wave::skin-tone-3:", "Launch 🚀 🎉 👋🏼"),
    (":partyparrot: stays", ":partyparrot: stays"),
    ("*bold* _italic_ ~gone~", "bold italic gone"),
    ("snake_case_name a*b*c https://ex.com/a_b_c", "snake_case_name a*b*c https://ex.com/a_b_c"),
    ("5 &lt; 6 &amp;&amp; 7 &gt; 6", "5 < 6 && 7 > 6"),
])
def test_slack_markup_becomes_plain_text(mrkdwn: str, plain: str) -> None:
    assert plain_text(mrkdwn, {"U0ALICE": "Alice"}) == plain


def test_mentioned_users_in_order_once() -> None:
    assert mentioned_users("<@U0B> and <@W0A|alice> and <@U0B>") == ["U0B", "W0A"]
