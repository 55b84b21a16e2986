"""The `/socialdock` grammar: command text in, one `Command` out, or a `GrammarError` with a corrected example.

One fixed grammar (never a search for dates in free text): the post text comes first and quoted; the words
after the last `on`/`to` are the platforms; what lies between is the time phrase; options follow. Every tool
of the registry is also reachable as `tool NAME key=value …` or by its own name, and `help` is generated
from the same tables, so a new tool shows up in Slack without touching this module.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from sdassist.client.models import PLATFORMS
from sdassist.netsafety import without_credentials
from sdassist.publishing.drafts import DraftState
from sdassist.slack.quotes import UnclosedQuote, opens_text, quote
from sdassist.slack.quotes import split as split_words
from sdassist.tools.arguments import AssignmentError
from sdassist.tools.arguments import parse_assignments as read_assignments
from sdassist.tools.base import Tool
from sdassist.tools.compose import is_public_url
from sdassist.tools.registry import ALL_TOOLS, TOOLS_BY_NAME
from sdassist.tools.targets import normalise_platform

SLASH = "/socialdock"
OPTION_WORDS = ("title", "media", "tags", "subreddit", "privacy")
PRIVACY = ("public", "unlisted", "private")
HIDDEN_FIELDS = ("confirmation_token",)  # Slack approves with buttons, never with MCP confirmation tokens
PERIODS = ("7d", "30d", "90d")
POST_STATUSES = ("scheduled", "published", "failed")
SCHEDULE_EXAMPLE = f'{SLASH} schedule "Launch day!" tomorrow 9am on instagram, linkedin'
POST_EXAMPLE = f'{SLASH} post "We are live!" now on linkedin'
QUOTES_EXAMPLE = f'{SLASH} schedule “He said "hi" and it’s live” tomorrow 9am on linkedin'
QUOTES_HINT = "; quotes inside the post text are kept when the text is in the other kind of quotes"

# The everyday commands: usage line and what it does. `help` prints these, then the generated tool commands.
GRAMMAR: tuple[tuple[str, str], ...] = (
    ('schedule "text" WHEN on PLATFORMS [title "…"] [media URL …] [tags #a #b] [subreddit r/x] '
     '[privacy public|unlisted|private]', "draft a post for a time; it goes to the approval channel"),
    ('post "text" now on PLATFORMS [options as for schedule]', "draft a post to publish once approved"),
    ("new  (or nothing at all)", "open the composer"),
    ("drafts [mine] [STATE…]", "drafts and their states; mine: only yours"),
    ("posts [scheduled|published|failed]", "posts on SocialDock"),
    ("accounts", "connected accounts"),
    ("connect PLATFORM", "a link to connect an account (shown to you only)"),
    ("cancel DRAFT_ID|POST_ID", "cancel a draft, or withdraw a post that is still scheduled"),
    ("calendar [this week|next week|DATE]", "the week day by day in your zone, with drafts waiting and caps used "
                                             "(shown to you only)"),
    ("analytics [7d|30d|90d]", "workspace overview"),
    ("analytics POST_ID|ACCOUNT_ID", "engagement of one post or account"),
    ("help", "this list"),
)
# Tools the grammar above already covers, so `help` does not list them twice.
COVERED = {"draft_post": "schedule / post / new", "list_drafts": "drafts", "list_posts": "posts",
           "list_accounts": "accounts", "connect_account": "connect", "cancel_draft": "cancel",
           "get_analytics": "analytics"}


class GrammarError(ValueError):
    """What was wrong with a command, and a corrected example to copy."""

    def __init__(self, problem: str, example: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.example = example


Action = Literal["compose", "draft", "help", "tool", "buttons_only", "cancel", "calendar"]
"""What a command does: open the composer, make a draft, show help, run a tool, show the buttons of a list,
cancel a draft or post, show the calendar."""


@dataclass(frozen=True)
class Command:
    """A parsed command: which action, and the tool arguments it carries."""

    action: Action
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    example: str = SCHEDULE_EXAMPLE


def normalise(text: str) -> str:
    """Slack escapes `&`, `<` and `>`; undo that and trim. Quotes stay as typed: `quotes.split` reads every
    kind, so the quotes inside a post's text (“He said "hi"”) are kept."""
    return (text or "").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").strip()


def _split(text: str, example: str, hint: str = "") -> list[str]:
    """The words of a command (a quoted part is one word); an unclosed double quote is refused by name."""
    try:
        return split_words(text)
    except UnclosedQuote as exc:
        raise GrammarError(f"{exc}{hint}", example) from None


def _slack_url(word: str) -> str:
    """Slack wraps links as <https://…|label> or <https://…>."""
    if word.startswith("<") and word.endswith(">"):
        return word[1:-1].split("|", 1)[0]
    return word


def _is_target_word(word: str) -> bool:
    return word.startswith(("@", "acc_")) or normalise_platform(word) is not None


def _platform_hint(word: str) -> str:
    guess = difflib.get_close_matches(word.lower(), PLATFORMS, n=1)
    return f"did you mean {guess[0]}? " if guess else ""


def _targets(words: list[str], verb: str, text: str, when: str) -> list[str]:
    """`instagram, linkedin and @brand` → ['instagram', 'linkedin', '@brand']; unknown words are refused."""
    found: list[str] = []
    for chunk in words:
        for word in re.split(r"[,&]", chunk):
            word = word.strip()
            if not word or word.lower() == "and":
                continue
            if not _is_target_word(word):
                fixed = difflib.get_close_matches(word.lower(), PLATFORMS, n=1)
                example = f'{SLASH} {verb} {text} {when} on {fixed[0] if fixed else "instagram"}'
                raise GrammarError(f"'{word}' is not a platform, handle (@name) or account id: {_platform_hint(word)}"
                                   f"platforms are {', '.join(PLATFORMS)}", example)
            found.append(word)
    return found


def _options(words: list[str], example: str) -> dict[str, Any]:
    """`title "…" media URL URL tags #a #b subreddit r/x privacy public` → tool arguments."""
    out: dict[str, Any] = {}
    current: str | None = None
    values: dict[str, list[str]] = {}
    for word in words:
        if word.lower() in OPTION_WORDS:
            current = word.lower()
            if current in values:
                raise GrammarError(f"'{current}' is given twice", example)
            values[current] = []
            continue
        if current is None:
            raise GrammarError(f"unexpected '{word}' after the platforms; options are {', '.join(OPTION_WORDS)}",
                               example)
        values[current].append(word)
    for name, got in values.items():
        if not got:
            raise GrammarError(f"'{name}' needs a value", example)
        if name == "title":
            out["title"] = " ".join(got)
        elif name == "media":
            urls = [_slack_url(u.strip(",")) for u in got]
            bad = [u for u in urls if not is_public_url(u)]
            if bad:
                raise GrammarError(f"media needs public http(s) URLs without a password, not "
                                   f"{without_credentials(bad[0])!r}", example)
            out["media_urls"] = urls
        elif name == "tags":
            out["tags"] = [t.lstrip("#") for chunk in got for t in chunk.split(",") if t.strip().lstrip("#")]
        elif name == "subreddit":
            if len(got) != 1:
                raise GrammarError("subreddit takes one name, like r/programming", example)
            out["subreddit"] = got[0]
        elif name == "privacy":
            if len(got) != 1 or got[0].lower() not in PRIVACY:
                raise GrammarError(f"privacy is one of {', '.join(PRIVACY)}", example)
            out["privacy"] = got[0].lower()
    return out


THIS = re.compile(r"this\b", re.IGNORECASE)


def parse_post(verb: str, rest: str, subject: str | None = None) -> Command:
    """`schedule "text" WHEN on PLATFORMS [options]` and `post "text" now on PLATFORMS [options]`; where a
    message is at hand (a thread's first message, for a mention in the thread), `this` stands for its text."""
    example = SCHEDULE_EXAMPLE if verb == "schedule" else POST_EXAMPLE
    rest = rest.strip()
    if THIS.match(rest):
        if subject is None:
            raise GrammarError("'this' is the message a thread starts with: mention me in a reply in that thread, "
                               "or put the post text in double quotes", example)
        text, after = subject, _split(rest[4:], example)
        if not text.strip():
            raise GrammarError("the message has no text to post: put the post text in double quotes",
                               f'@SocialDock {verb} "…" {"tomorrow 9am" if verb == "schedule" else "now"} on linkedin')
    elif not opens_text(rest):
        raise GrammarError("the post text comes first, in double quotes" + (" (or 'this' in a thread)"
                                                                            if subject is not None else ""), example)
    else:
        words = _split(rest, QUOTES_EXAMPLE if verb == "schedule" else QUOTES_EXAMPLE.replace(
            " schedule ", " post ").replace("tomorrow 9am", "now"), QUOTES_HINT)
        text, after = words[0], words[1:]
    if not text.strip():
        raise GrammarError("the post text is empty", example)
    quoted = "this" if subject is not None and THIS.match(rest) else quote(text)
    lowered = [w.lower() for w in after]
    option_at = next((i for i, w in enumerate(lowered) if w in OPTION_WORDS), len(after))
    main, options = after[:option_at], after[option_at:]
    on_at = max((i for i, w in enumerate(main[:option_at]) if w.lower() in ("on", "to")), default=None)
    when_words = main[:on_at] if on_at is not None else main
    when = " ".join(when_words)
    if on_at is None or on_at == len(main) - 1:
        raise GrammarError("say where, after 'on': platform names or account handles",
                           f'{SLASH} {verb} {quoted} {when or ("now" if verb == "post" else "tomorrow 9am")} '
                           f"on instagram, linkedin")
    targets = _targets(main[on_at + 1:], verb, quoted, when or "tomorrow 9am")
    arguments: dict[str, Any] = {"text": text, "targets": targets}
    if verb == "post":
        if when.lower() not in ("now", ""):
            raise GrammarError(f"'post' publishes once approved, so the time is 'now', not '{when}'; "
                               f"to choose a time use schedule",
                               f'{SLASH} schedule {quoted} {when} on {", ".join(targets)}')
        arguments["publish_now"] = True
    else:
        if not when:
            raise GrammarError("say when, between the text and 'on'",
                               f'{SLASH} schedule {quoted} tomorrow 9am on {", ".join(targets)}')
        if when.lower() == "now":
            arguments["publish_now"] = True
        else:
            arguments["when"] = when
    fixed_example = f'{SLASH} {verb} {quoted} {when or "now"} on {", ".join(targets)}'
    arguments.update(_options(options, fixed_example + ' title "A title"'))
    return Command("draft", "draft_post", arguments, example=fixed_example)


def with_when(command: Command, when: str) -> str:
    """The same draft command with another time: what to try after a refused time, so the suggestion is a
    phrase that works (never the failing command again), and the text, accounts and options are kept."""
    args = command.arguments
    verb = "post" if when.lower() == "now" else "schedule"
    parts = [f'{SLASH} {verb} {quote(args["text"])} {when} on {", ".join(args["targets"])}']
    if args.get("title"):
        parts.append(f'title {quote(args["title"])}')
    if args.get("media_urls"):
        parts.append("media " + " ".join(args["media_urls"]))
    if args.get("tags"):
        parts.append("tags " + " ".join(f"#{t}" for t in args["tags"]))
    parts += [f"{name} {args[name]}" for name in ("subreddit", "privacy") if args.get(name)]
    return " ".join(parts)


# --- generated tool commands -------------------------------------------------------------------------

def parse_assignments(tool: Tool, words: list[str]) -> dict[str, Any]:
    """`key=value` words → arguments, read as every face reads them; URLs lose Slack's `<…>` wrapping."""
    try:
        return read_assignments(tool.input_model, words, hidden=HIDDEN_FIELDS, clean=_slack_url)
    except AssignmentError as exc:
        raise GrammarError(f"{tool.name}: {exc}", f"{SLASH} {tool_usage(tool)}") from None


def tool_usage(tool: Tool) -> str:
    """`upload_media url=… [file_name=…]`, from the tool's input model."""
    fields = [(n, i) for n, i in tool.input_model.model_fields.items() if n not in HIDDEN_FIELDS]
    required = [f"{n}=…" for n, i in fields if i.is_required()]
    optional = [f"[{n}=…]" for n, i in fields if not i.is_required()]
    return " ".join([tool.name, *required, *optional])


def _command_name(word: str) -> str:
    return word.lower().replace("-", "_")


def parse_tool(name: str, words: list[str]) -> Command:
    tool = TOOLS_BY_NAME.get(_command_name(name))
    if tool is None:
        guess = difflib.get_close_matches(_command_name(name), list(TOOLS_BY_NAME), n=1)
        raise GrammarError(f"there is no tool '{name}'" + (f"; did you mean {guess[0]}?" if guess else ""),
                           f"{SLASH} help")
    if tool.human_only:
        return Command("buttons_only", tool.name, example=f"{SLASH} drafts")
    return Command("tool", tool.name, parse_assignments(tool, words), example=f"{SLASH} {tool_usage(tool)}")


DRAFT_STATES = tuple(state.value for state in DraftState)


def parse_drafts(words: list[str]) -> Command:
    """`drafts`, `drafts mine`, `drafts pending`, `drafts mine failed`: every other word is refused by name."""
    example = f"{SLASH} drafts mine pending"
    arguments: dict[str, Any] = {}
    states: list[str] = []
    for word in (w.lower() for w in words):
        if word in ("mine", "my"):
            arguments["mine_only"] = True
        elif word in DRAFT_STATES:
            states.append(word)
        else:
            raise GrammarError(f"drafts takes 'mine' and states ({', '.join(DRAFT_STATES)}), not '{word[:30]}'",
                               example)
    if states:
        arguments["states"] = states
    return Command("tool", "list_drafts", arguments, example=f"{SLASH} drafts")


# --- the entry point ---------------------------------------------------------------------------------

def parse(text: str, *, subject: str | None = None) -> Command:
    """Parse the text after `/socialdock` (or after @SocialDock). Raises GrammarError with what was wrong and
    an example. `subject` is the text `this` stands for (a thread's first message), when there is one."""
    text = normalise(text)
    if not text:
        return Command("compose")
    head, _, rest = text.partition(" ")
    verb = head.lower()
    if verb in ("new", "compose", "help", "?") and rest.strip():  # never drop what the person wrote
        raise GrammarError(f"{verb} takes nothing after it, not '{rest.strip()[:40]}'",
                           SCHEDULE_EXAMPLE if verb in ("new", "compose") else f"{SLASH} help")
    if verb in ("new", "compose"):
        return Command("compose")
    if verb in ("help", "?"):
        return Command("help")
    if verb in ("schedule", "post"):
        return parse_post(verb, rest, subject)
    words = _split(rest, f"{SLASH} help")
    if verb == "drafts":
        return parse_drafts(words)
    if verb == "posts":
        if len(words) > 1 or (words and words[0].lower() not in POST_STATUSES):
            raise GrammarError(f"posts takes one of {', '.join(POST_STATUSES)} or nothing",
                               f"{SLASH} posts scheduled")
        return Command("tool", "list_posts", {"status": words[0].lower()} if words else {},
                       example=f"{SLASH} posts scheduled")
    if verb == "accounts":
        if words:
            raise GrammarError(f"accounts takes nothing after it, not '{' '.join(words)[:40]}'", f"{SLASH} accounts")
        return Command("tool", "list_accounts", {}, example=f"{SLASH} accounts")
    if verb == "connect":
        platform = normalise_platform(words[0]) if len(words) == 1 else None
        if platform is None:
            word = words[0] if words else ""
            fixed = difflib.get_close_matches(word.lower(), PLATFORMS, n=1)
            raise GrammarError("connect takes one platform: " + ", ".join(PLATFORMS),
                               f"{SLASH} connect {fixed[0] if fixed else 'instagram'}")
        return Command("tool", "connect_account", {"platform": platform}, example=f"{SLASH} connect {platform}")
    if verb == "cancel":
        if len(words) != 1 or not words[0].startswith(("post_", "drf_")):
            raise GrammarError("cancel takes one post id (post_…) or draft id (drf_…)",
                               f"{SLASH} cancel post_01hz…")
        # When a cancel fails (no such id, already decided, not yours), the same command again cannot help:
        # the example is where the ids and their states are.
        listing = f"{SLASH} posts scheduled" if words[0].startswith("post_") else f"{SLASH} drafts mine"
        return Command("cancel", None, {"id": words[0]}, example=listing)
    if verb == "calendar":
        return Command("calendar", None, {"week": " ".join(words)}, example=f"{SLASH} calendar next week")
    if verb == "analytics":
        if not words:
            return Command("tool", "get_analytics", {}, example=f"{SLASH} analytics 30d")
        if len(words) == 1 and words[0].lower() in PERIODS:
            return Command("tool", "get_analytics", {"period": words[0].lower()}, example=f"{SLASH} analytics 7d")
        if len(words) == 1 and words[0].startswith("post_"):
            return Command("tool", "get_analytics", {"post_id": words[0]}, example=f"{SLASH} analytics {words[0]}")
        if len(words) == 1 and words[0].startswith("acc_"):
            return Command("tool", "get_analytics", {"account_id": words[0]},
                           example=f"{SLASH} analytics {words[0]}")
        raise GrammarError("analytics takes 7d, 30d, 90d, a post id (post_…) or an account id (acc_…)",
                           f"{SLASH} analytics 30d")
    if verb == "tool":
        if not words:
            raise GrammarError("tool needs a tool name", f"{SLASH} tool list_webhooks")
        return parse_tool(words[0], words[1:])
    if _command_name(verb) in TOOLS_BY_NAME:
        return parse_tool(verb, words)
    guess = difflib.get_close_matches(verb, [*(u.split()[0] for u, _ in GRAMMAR), *TOOLS_BY_NAME], n=1)
    raise GrammarError(f"'{head}' is not a command" + (f"; did you mean {guess[0]}?" if guess else ""),
                       SCHEDULE_EXAMPLE)


def help_text() -> str:
    """Every command, the grammar first, then one line per tool generated from the registry."""
    lines = ["*`/socialdock` commands*"]
    lines += [f"• `{SLASH} {usage}`: {what}" for usage, what in GRAMMAR]
    lines.append(f"Example: `{SCHEDULE_EXAMPLE}`")
    lines.append("Times are read in your Slack time zone. Platforms by name, or by account handle (@name) "
                 "where several accounts share a platform.")
    lines.append("*Every tool* (also as `/socialdock tool NAME key=value …`; lists take `a,b`)")
    for tool in ALL_TOOLS:
        if tool.human_only:
            lines.append(f"• {tool.name}: {tool.title}, with the buttons on the approval card")
        elif tool.name in COVERED:
            lines.append(f"• {tool.name}: {tool.title}, see `{COVERED[tool.name]}` above")
        else:
            lines.append(f"• `{SLASH} {tool_usage(tool)}`: {tool.title}")
    return "\n".join(lines)
