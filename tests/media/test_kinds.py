"""Content sniffing, the allow-list and download names: bytes in, exact verdict out."""

from __future__ import annotations

import pytest

from server.media.kinds import DEFAULT_MEDIA_TYPES, Kind, RefusedFile, safe_name, sniff
from tests.media import samples


def test_png_is_sniffed_from_its_bytes() -> None:
    assert sniff(samples.png(), DEFAULT_MEDIA_TYPES) == Kind("image/png", "png")


def test_pdf_and_text() -> None:
    assert sniff(samples.PDF, DEFAULT_MEDIA_TYPES).mime == "application/pdf"
    assert sniff("order #12 – broken\r\n".encode(), DEFAULT_MEDIA_TYPES).mime == "text/plain"


@pytest.mark.parametrize(
    "data",
    [samples.HTML, samples.SVG_WITH_SCRIPT, b"\xef\xbb\xbf  <html>", b"\n<svg/onload=alert(1)>"],
    ids=["html", "svg-script", "bom-html", "svg-short"],
)
def test_markup_is_refused_whatever_it_is_called(data: bytes) -> None:
    with pytest.raises(RefusedFile, match="HTML, SVG and XML files are not accepted") as err:
        sniff(data, DEFAULT_MEDIA_TYPES)
    assert err.value.code == "unsupported_type"


def test_binary_of_no_known_type_is_refused() -> None:
    with pytest.raises(RefusedFile, match="the file's type is not recognised"):
        sniff(b"\x00\x01\x02garbage\xff", DEFAULT_MEDIA_TYPES)


def test_known_type_outside_the_allow_list_is_refused_by_name() -> None:
    with pytest.raises(RefusedFile, match="files of type application/zip are not accepted"):
        sniff(b"PK\x03\x04" + b"\x00" * 40, DEFAULT_MEDIA_TYPES)
    with pytest.raises(RefusedFile, match="files of type application/pdf are not accepted"):
        sniff(samples.PDF, ("image/png",))


@pytest.mark.parametrize(
    ("declared", "mime", "expected"),
    [
        ("screenshot.png", "image/png", "screenshot.png"),
        ("../../etc/passwd", "text/plain", "passwd.txt"),
        ("C:\\Users\\me\\bill.pdf", "application/pdf", "bill.pdf"),
        ("a\x00b\x1b[31mc\r\n.pdf", "application/pdf", "ab[31mc.pdf"),
        ("invoice\u202egnp.exe", "image/png", "invoicegnp.exe.png"),
        ('x"; filename="evil.html', "text/plain", "x; filename=evil.html.txt"),
        ("page.html", "text/plain", "page.html.txt"),
        ("photo.JPEG", "image/jpeg", "photo.JPEG"),
        ("", "image/png", "file.png"),
        ("...", "image/png", "file.png"),
        ("a" * 500 + ".pdf", "application/pdf", "a" * 116 + ".pdf"),
    ],
)
def test_safe_name(declared: str, mime: str, expected: str) -> None:
    ext = {"image/png": "png", "text/plain": "txt", "application/pdf": "pdf", "image/jpeg": "jpg"}
    assert safe_name(declared, Kind(mime, ext[mime])) == expected


def test_empty_file_is_refused() -> None:
    with pytest.raises(RefusedFile, match="the file is empty") as err:
        sniff(b"", DEFAULT_MEDIA_TYPES)
    assert err.value.code == "empty_file"
