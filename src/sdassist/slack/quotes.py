"""Quoted words in a `/socialdock` command, as people type them in Slack, not as a shell reads them.

Slack's clients turn `"` into “…” (and `'` into ’) on some platforms and not on others, so one command may
hold several kinds of quotes, apostrophes (it's, don’t) and quotes that belong to the post itself
(“He said "hi" to me”). A shell-style split (shlex) knows only `"` and `'` and drops the inner quotes, or
refuses an apostrophe as an unclosed quote. The rules here:

- A quoted part ends at a closing quote of its own kind; straight quotes inside typographic ones (and the
  other way round) are text. The same kind nests when it opens a word inside the text
  (`"He said "hi" to me"`), and so do typographic quotes of any kind (“He said „hallo“”).
- A straight or single quote (`"`, `'`, ‘, ’) opens only at the start of a word and closes only at the end
  of one, so the apostrophe in `it's` or `don’t` is text. A single quote that is never closed is text too
  (`'90s`); a double quote that is never closed is refused by name (`UnclosedQuote`).
- Inside `"…"`, a backslash escapes `"` and itself, so `quote()` can write any text back.
"""

from __future__ import annotations

from dataclasses import dataclass

# Each opening quote → the quotes that close it. „…“ and ‚…‘ (German) close with the English openers.
PAIRS: dict[str, str] = {
    '"': '"', "“": "”", "„": "“”", "‟": "”", "”": "”", "«": "»", "»": "«", "″": "″",
    "'": "'", "‘": "’", "‚": "‘’", "‛": "’", "′": "′", "‹": "›",
}
DOUBLE = frozenset('"“„‟”«»″')
# Quotes that are also apostrophes, inch marks or closing quotes: they open only at a word's start…
OPEN_AT_EDGE = frozenset("\"'‘’′″”»")
# …and these close only at a word's end (’ is also the apostrophe in don’t).
CLOSE_AT_EDGE = frozenset("\"'‘’′″")
QUOTE_CHARS = frozenset(PAIRS) | frozenset("".join(PAIRS.values()))
_AFTER_CLOSE = frozenset(",.;:!?)]}…") | QUOTE_CHARS
_BEFORE_OPEN = frozenset("=([{") | QUOTE_CHARS
_MAX_PASSES = 8


class UnclosedQuote(ValueError):
    """A double quote that nothing closes: which one, and the words it starts."""

    def __init__(self, opener: str, closer: str, start: str) -> None:
        super().__init__(f"the {opener} before '{start}' is never closed: end the text with {closer}")
        self.opener, self.closer, self.start = opener, closer, start


@dataclass
class _Open:
    at: int  # index of the opening quote
    kind: str  # the opening quote character


def _opens(text: str, i: int, nested: bool) -> bool:
    """Whether the quote at `i` can open a quoted part: at a word's start; inside a part of the same kind,
    also with a word right after it (so the `"` of `"a " b"` is not read as opening another part)."""
    if text[i] not in OPEN_AT_EDGE:
        return True
    before = text[i - 1] if i else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return (before.isspace() or before in _BEFORE_OPEN) and not (nested and after.isspace())


def _closes(text: str, i: int, opened_at: int) -> bool:
    """Whether the quote at `i` can close the part opened at `opened_at`: at a word's end."""
    if text[i] not in CLOSE_AT_EDGE or i == opened_at + 1:
        return True
    after = text[i + 1] if i + 1 < len(text) else " "
    return after.isspace() or after in _AFTER_CLOSE


def _nests(char: str, top: _Open | None) -> bool:
    """Whether an opening quote starts a part here: anywhere outside one; inside one, when it is the same
    kind, or both are typographic (“He said „hallo“ and «salut»”). Straight quotes in “…” are text."""
    return top is None or char == top.kind or (char not in OPEN_AT_EDGE and top.kind not in OPEN_AT_EDGE)


def _scan(text: str, literal: set[int]) -> tuple[list[str], list[_Open]]:
    """One pass: the words, and the quotes still open at the end (empty when every quote closed)."""
    words: list[str] = []
    word: list[str] = []
    in_word = False
    stack: list[_Open] = []
    i = 0
    while i < len(text):
        char = text[i]
        top = stack[-1] if stack else None
        if top is None and char.isspace():
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            i += 1
            continue
        in_word = True
        if top is not None and top.kind == '"' and char == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            word.append(text[i + 1])
            i += 2
            continue
        if i not in literal and char in QUOTE_CHARS:
            if top is not None and char in PAIRS[top.kind] and _closes(text, i, top.at):
                stack.pop()
                if stack:
                    word.append(char)
                i += 1
                continue
            if char in PAIRS and _nests(char, top) and _opens(text, i, nested=top is not None):
                if stack:
                    word.append(char)
                stack.append(_Open(i, char))
                i += 1
                continue
        word.append(char)
        i += 1
    if in_word:
        words.append("".join(word))
    return words, stack


def split(text: str) -> list[str]:
    """The words of `text`, each quoted part one word (or part of one: `title="A title"`), quotes removed.

    Raises UnclosedQuote for a double quote that nothing closes."""
    literal: set[int] = set()
    for _ in range(_MAX_PASSES):
        words, still_open = _scan(text, literal)
        if not still_open:
            return words
        doubles = [q for q in still_open if q.kind in DOUBLE]
        if doubles:
            first = doubles[0]
            start = " ".join(text[first.at + 1:].split()[:4])[:40]
            raise UnclosedQuote(first.kind, PAIRS[first.kind][-1], start)
        literal.update(q.at for q in still_open)  # single quotes never closed were apostrophes
    literal.update(i for i, char in enumerate(text) if char in QUOTE_CHARS and char not in DOUBLE)
    words, still_open = _scan(text, literal)
    if still_open:  # pragma: no cover - only double quotes remain, and those were refused above
        raise UnclosedQuote(still_open[0].kind, PAIRS[still_open[0].kind][-1], "")
    return words


def opens_text(text: str) -> bool:
    """Whether `text` starts with a quote that opens a quoted part."""
    return bool(text) and text[0] in PAIRS


def quote(text: str) -> str:
    """`text` quoted so that `split` reads it back as one word: in “…” when it holds straight double quotes
    (as a person would write it), else in "…" with any `"` or backslash escaped."""
    if '"' in text and not set(text) & set("“”„‟«»"):
        return f"“{text}”"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
