"""The `/socialdock` grammar over arbitrary text: a Command or a GrammarError with an example, never anything else."""

from __future__ import annotations

from typing import get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from sdassist.client.models import PLATFORMS
from sdassist.slack.grammar import SLASH, Action, Command, GrammarError, normalise, parse, with_when
from sdassist.tools.registry import TOOLS_BY_NAME

VERBS = ["schedule", "post", "new", "help", "drafts", "posts", "accounts", "connect", "cancel", "analytics",
         "tool", *TOOLS_BY_NAME, "shedule", "SCHEDULE"]
QUOTES = ['"', "'", "“", "”", "„", "«", "»", "‘", "’", "″", "`"]
WORDS = ["on", "to", "and", ",", "now", "tomorrow", "9am", "next", "friday", "in", "2", "hours", "title", "media",
         "tags", "#a", "subreddit", "r/x", "privacy", "public", "https://example.com/a.png",
         "<https://example.com/b.png|b>", "@brand", "acc_1", "post_1", "drf_1", "7d", "key=value", "=", "&amp;",
         "Europe/Berlin", "😀", "ß", "\u200b", "\t", "\\", *PLATFORMS, "insta", "X", "twitter"]


def check(text: str) -> None:
    try:
        command = parse(text)
    except GrammarError as err:
        assert err.problem.strip(), text
        assert err.example.startswith(SLASH), (text, err.example)
        return
    assert isinstance(command, Command)
    assert command.action in get_args(Action)
    assert isinstance(command.arguments, dict)
    if command.tool is not None:
        assert command.tool in TOOLS_BY_NAME


@settings(max_examples=400)
@given(st.text(max_size=200))
def test_any_text_is_a_command_or_a_refusal_with_an_example(text: str) -> None:
    check(text)


token = st.one_of(st.sampled_from(WORDS), st.sampled_from(QUOTES), st.text(min_size=1, max_size=12))


@settings(max_examples=600)
@given(st.sampled_from(VERBS), st.lists(token, max_size=14), st.sampled_from([" ", "  ", ", "]))
def test_command_shaped_text_is_a_command_or_a_refusal(verb: str, words: list[str], sep: str) -> None:
    check(f"{verb} {sep.join(words)}")


@settings(max_examples=400)
@given(st.sampled_from(["schedule", "post"]), st.sampled_from(QUOTES), st.text(max_size=40), st.sampled_from(QUOTES),
       st.lists(st.sampled_from(WORDS), max_size=10))
def test_quoted_post_text_with_any_quotes_platforms_and_options(verb: str, open_q: str, body: str, close_q: str,
                                                                 rest: list[str]) -> None:
    check(f"{verb} {open_q}{body}{close_q} {' '.join(rest)}")


@settings(max_examples=200)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30).filter(str.strip),
       st.lists(st.sampled_from(PLATFORMS), min_size=1, max_size=3, unique=True))
def test_a_well_formed_schedule_parses_with_the_text_kept(text: str, platforms: list[str]) -> None:
    quoted = text.replace('"', "").replace("\\", "").strip()
    if not quoted or any(q in quoted for q in QUOTES) or quoted.startswith(("&", "<")) or "&" in quoted:
        return
    command = parse(f'schedule "{quoted}" tomorrow 9am on {", ".join(platforms)}')
    assert command.action == "draft" and command.tool == "draft_post"
    assert command.arguments["text"] == quoted and command.arguments["when"] == "tomorrow 9am"
    assert len(command.arguments["targets"]) == len(platforms)


@settings(max_examples=100)
@given(st.sampled_from(["new", "compose", "help", "?", "NEW"]), st.text(max_size=40).filter(str.strip))
def test_words_after_a_command_that_takes_none_are_refused_never_dropped(verb: str, rest: str) -> None:
    """`/socialdock new Launch day tomorrow` opened an empty composer: the words were silently lost."""
    try:
        parse(f"{verb} {rest}")
    except GrammarError as err:
        assert "nothing after it" in err.problem and err.example.startswith(SLASH)
        return
    assert not normalise(f"{verb} {rest}").partition(" ")[2].strip(), "words after the command were dropped"


PLAIN = st.text(alphabet="ab #,.!?'\"\\\n“”‘’„«»", min_size=1, max_size=30).filter(str.strip)


@settings(max_examples=200)
@given(PLAIN, st.one_of(st.none(), PLAIN))
def test_the_suggestion_after_a_refused_time_keeps_the_text_whatever_it_holds(text: str, title: str | None) -> None:
    """The suggested command is read back with the person's own text and title: a quote or a backslash in
    them made it a command that fails ("a quote is not closed") or reads other words."""
    command = Command("draft", None, {"text": text, "targets": ["linkedin"], "title": title})
    again = parse(with_when(command, "tomorrow 9am").removeprefix(f"{SLASH} "))
    assert again.arguments["text"] == text and again.arguments.get("title") == title
    assert again.arguments["when"] == "tomorrow 9am" and again.arguments["targets"] == ["linkedin"]


def test_straight_quotes_inside_typographic_ones_are_kept() -> None:
    """Slack's clients send “…” for the outer quotes; a shell-style split dropped the inner straight ones and
    posted `He said hi to me`."""
    command = parse('schedule “He said "hi" to me” tomorrow 9am on linkedin')
    assert command.arguments["text"] == 'He said "hi" to me'
    assert command.arguments["when"] == "tomorrow 9am" and command.arguments["targets"] == ["linkedin"]


def test_apostrophes_are_text_inside_and_outside_the_quotes() -> None:
    command = parse("schedule “it's here, don’t wait” tomorrow 9am on linkedin title Ann's ’90s tags #don’t")
    assert command.arguments["text"] == "it's here, don’t wait"
    assert command.arguments["title"] == "Ann's ’90s" and command.arguments["tags"] == ["don’t"]


INNER = st.text(alphabet="ab .,!?#\\\"'’‘`″′\n", min_size=1, max_size=40).filter(str.strip)
TYPOGRAPHIC = st.sampled_from([("“", "”"), ("„", "“"), ("«", "»")])


@settings(max_examples=300)
@given(TYPOGRAPHIC, INNER, st.sampled_from(["schedule", "post"]))
def test_any_straight_quotes_and_apostrophes_inside_typographic_quotes_are_kept(
        pair: tuple[str, str], inner: str, verb: str) -> None:
    when = "tomorrow 9am" if verb == "schedule" else "now"
    command = parse(f"{verb} {pair[0]}{inner}{pair[1]} {when} on linkedin")
    assert command.arguments["text"] == inner and command.arguments["targets"] == ["linkedin"]


@settings(max_examples=200)
@given(st.text(alphabet="ab .,!?#'’‘“”„«»\n", min_size=1, max_size=40).filter(str.strip)
       .filter(lambda t: sum(t.count(q) for q in "“„«") == sum(t.count(q) for q in "”»")
               and not set(t) & set("“„«”»")))
def test_typographic_quotes_and_apostrophes_inside_straight_quotes_are_kept(inner: str) -> None:
    command = parse(f'schedule "{inner}" tomorrow 9am on linkedin')
    assert command.arguments["text"] == inner


WORD = st.from_regex(r"[a-z]{1,5}(['’][a-z]{1,3})?", fullmatch=True)


@settings(max_examples=200)
@given(st.lists(WORD, min_size=1, max_size=5))
def test_an_apostrophe_in_a_word_after_the_text_is_never_read_as_a_quote(words: list[str]) -> None:
    command = parse(f'schedule "x" tomorrow 9am on linkedin title {" ".join(words)}')
    assert command.arguments["title"] == " ".join(words)


@settings(max_examples=200)
@given(st.sampled_from(['"', "“", "„", "«"]), st.text(alphabet="ab .,!'’", max_size=30),
       st.sampled_from(["schedule", "post"]))
def test_an_unclosed_quote_is_refused_by_name_with_an_example_that_works(opener: str, body: str, verb: str) -> None:
    try:
        parse(f"{verb} {opener}{body} tomorrow 9am on linkedin")
    except GrammarError as err:
        assert "never closed" in err.problem and opener in err.problem
        example = parse(err.example.removeprefix(f"{SLASH} "))
        assert example.action == "draft" and '"' in example.arguments["text"]
        return
    raise AssertionError("an unclosed quote was accepted")


def test_a_media_url_with_a_password_is_refused_without_repeating_the_password() -> None:
    try:
        parse('schedule "Hi" tomorrow 9am on linkedin media https://u:hunter2@cdn.example.com/a.jpg')
    except GrammarError as err:
        assert "hunter2" not in str(err) and "***@cdn.example.com" in str(err)
    else:
        raise AssertionError("a media URL with a password was accepted")
