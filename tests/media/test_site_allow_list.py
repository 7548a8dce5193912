"""A site's allow-list of attachment types (`settings.attachments_allowed`): groups and
single types narrow the node's BECKON_MEDIA_TYPES, enforced on the sniffed type."""

from __future__ import annotations

import pytest

from server.media.kinds import DEFAULT_MEDIA_TYPES, RefusedFile, site_allowed, sniff
from tests.media import samples

NODE = DEFAULT_MEDIA_TYPES


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (None, NODE),
        (["any"], NODE),
        (["images", "any"], NODE),
        (["images"], ("image/png", "image/jpeg", "image/gif", "image/webp")),
        (["pdf", "text"], ("application/pdf", "text/plain")),
        (["image/png", "pdf"], ("image/png", "application/pdf")),
        ([], ()),
    ],
)
def test_entries_expand_within_the_node_types(entries, expected) -> None:  # type: ignore[no-untyped-def]
    assert site_allowed(NODE, entries) == expected


def test_a_site_cannot_accept_more_than_the_node() -> None:
    assert site_allowed(("text/plain",), ["images", "pdf", "text"]) == ("text/plain",)
    assert site_allowed(("text/plain",), ["any"]) == ("text/plain",)


def test_sniffed_type_is_checked_against_the_site_list() -> None:
    images = site_allowed(NODE, ["images"])
    assert sniff(samples.png(), images).mime == "image/png"
    with pytest.raises(RefusedFile) as refused:
        sniff(samples.PDF, images)
    assert (refused.value.code, str(refused.value)) == (
        "unsupported_type",
        "files of type application/pdf are not accepted",
    )
    # The name does not matter: a PDF called .png is still a PDF.
    with pytest.raises(RefusedFile):
        sniff(samples.PDF, site_allowed(NODE, ["image/png"]))


def test_no_files_at_all() -> None:
    with pytest.raises(RefusedFile) as refused:
        sniff(samples.png(), site_allowed(NODE, []))
    assert (refused.value.code, str(refused.value)) == (
        "unsupported_type",
        "this site does not accept files",
    )
    with pytest.raises(RefusedFile) as empty:
        sniff(b"", ())
    assert empty.value.code == "empty_file"
