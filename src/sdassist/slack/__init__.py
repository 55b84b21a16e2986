"""The Slack face: `/socialdock` commands, approval cards, modals, and SocialDock outcomes in the thread."""

from sdassist.slack.app import SlackFace, web_client
from sdassist.slack.cards import CardKeeper
from sdassist.slack.grammar import Command, GrammarError, help_text, parse
from sdassist.slack.webhook import WEBHOOK_PATH

__all__ = ["WEBHOOK_PATH", "CardKeeper", "Command", "GrammarError", "SlackFace", "help_text", "parse", "web_client"]
