"""FTS5's word matching in Python, for the messages SQLite's full-text index has not
reached yet (`server/store/search_index.py`): registered on every SQLite connection as
`beckon_matches(text, query)`, so search finds them by the same rule as indexed ones.

The rule is FTS5's with the default `unicode61` tokenizer, as `matching_conversations`
asks it: every whitespace-separated word of the query is a phrase (its tokens next to
each other, in order) and every phrase must occur. Tokens are runs of letters and
digits, case-folded, diacritics removed.
"""

from __future__ import annotations

import re
import unicodedata

SQLITE_FUNCTION = "beckon_matches"
_TOKEN = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """The words of `text` as FTS5's unicode61 tokenizer folds them."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _TOKEN.findall(plain)


def matches(text: str | None, query: str | None) -> bool:
    """Whether every word of `query` occurs in `text` as FTS5 would find it. A query
    without any token finds nothing, as FTS5's empty phrases do."""
    if not text or not query:
        return False
    words = tokens(text)
    phrases = [tokens(word) for word in query.split()]
    phrases = [phrase for phrase in phrases if phrase]
    if not phrases:
        return False
    return all(_contains(words, phrase) for phrase in phrases)


def _contains(words: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def sqlite_matches(text: str | None, query: str | None) -> int:
    """`matches` as SQLite calls it (an integer truth value)."""
    return 1 if matches(text, query) else 0
