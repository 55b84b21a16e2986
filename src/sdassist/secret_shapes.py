"""The prefixes of the secrets sdassist itself mints, in one place: the store mints with them, the redactors mask them.

A leaf module (no imports) so the client's log filter and the tools' error texts can use it without
pulling in the identity store.
"""

from __future__ import annotations

#: What the OAuth store puts in front of each secret it issues, by kind (see identity/store.py `issue`).
TOKEN_PREFIXES: dict[str, str] = {"access": "sda_at_", "refresh": "sda_rt_", "pat": "sda_pat_"}
#: An authorization code's prefix.
CODE_PREFIX = "sda_code_"
#: Every prefix above: a string starting with one of these, then url-safe characters, is a secret.
PREFIXES: tuple[str, ...] = (*TOKEN_PREFIXES.values(), CODE_PREFIX)
#: A regular expression for one such secret (token_urlsafe's alphabet: letters, digits, '-' and '_');
#: group 1 is the prefix, which is not secret and says what was masked.
PATTERN = "(" + "|".join(PREFIXES) + r")[A-Za-z0-9_\-]+"
