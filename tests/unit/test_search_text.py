"""server/store/search_text.py finds what SQLite's FTS5 index finds, word for word, for
the messages search reads before they are indexed."""

from __future__ import annotations

import sqlite3

import pytest

from server.store.search_text import matches, tokens

TEXTS = [
    "My parcel tracking 77X",
    "Café au lait, s'il vous plaît",
    "don't panic",
    "refund please",
    "Straße ÉCOLE",
    "order_id=A-17 (urgent!)",
    "",
]
QUERIES = [
    "PARCEL",
    '" OR * NEAR(',
    "cafe",
    "PLAIT lait",
    "don't",
    "don",
    "t",
    "strasse",
    "straße",
    "ecole",
    "77x tracking",
    "parcel 77",
    "order_id",
    "a-17",
    "urgent!",
    "***",
]


@pytest.mark.parametrize("query", QUERIES)
def test_the_same_messages_as_fts5(query: str) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(text)")
    for i, text in enumerate(TEXTS):
        db.execute("INSERT INTO f(rowid, text) VALUES (?, ?)", (i, text))
    # As server/store/conversations.py asks FTS5: every word a quoted phrase.
    words = " ".join('"' + w.replace('"', '""') + '"' for w in query.split())
    by_fts5 = {r[0] for r in db.execute("SELECT rowid FROM f WHERE f MATCH ?", (words,))}
    assert {i for i, text in enumerate(TEXTS) if matches(text, query)} == by_fts5


def test_tokens_fold_case_and_diacritics() -> None:
    assert tokens("Ünïcode, CAFÉ-au_lait") == ["unicode", "cafe", "au", "lait"]
    assert not matches(None, "x") and not matches("x", "") and not matches("x", "  ")
