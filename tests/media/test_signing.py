"""Signed URLs: a grant out, the same grant back; anything altered is refused."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from server.media.signing import BadSignature, Expired, Grant, signed_path, verify

SECRET = "s" * 48
GRANT = Grant("att_1", "original", "v:visitor_a", 1_000)


def _query(path: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(path).query))


def test_round_trip() -> None:
    path = signed_path(SECRET, GRANT)
    assert path.startswith("/media/att_1/original?p=v%3Avisitor_a&e=1000&s=")
    assert verify(SECRET, "att_1", "original", _query(path), now_s=999) == GRANT


def test_expired_is_told_apart_from_forged() -> None:
    with pytest.raises(Expired):
        verify(SECRET, "att_1", "original", _query(signed_path(SECRET, GRANT)), now_s=1_000)


@pytest.mark.parametrize(
    ("attachment", "variant", "change"),
    [
        ("att_2", "original", {}),  # another attachment
        ("att_1", "thumb", {}),  # another variant
        ("att_1", "original", {"p": "v:visitor_b"}),  # another visitor
        ("att_1", "original", {"p": "s:site_2"}),  # another site's agents
        ("att_1", "original", {"e": "99999"}),  # a later expiry
        ("att_1", "original", {"s": "0" * 40}),
        ("att_1", "original", {"e": "-1"}),
        ("att_1", "other", {}),
    ],
)
def test_anything_altered_is_a_bad_signature(attachment, variant, change) -> None:  # type: ignore[no-untyped-def]
    query = {**_query(signed_path(SECRET, GRANT)), **change}
    with pytest.raises(BadSignature):
        verify(SECRET, attachment, variant, query, now_s=0)


def test_another_secret_is_a_bad_signature() -> None:
    with pytest.raises(BadSignature):
        verify("t" * 48, "att_1", "original", _query(signed_path(SECRET, GRANT)), now_s=0)
