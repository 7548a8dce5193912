"""What an uploaded file is: decided from its bytes (never its name or declared type),
checked against the allow-list, and a safe file name to offer it under. Pure.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import filetype

RASTER_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")
"""Re-encoded on upload and the only types ever served inline."""

DEFAULT_MEDIA_TYPES = (*RASTER_IMAGES, "application/pdf", "text/plain")

EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "text/plain": "txt",
}
# A site's `attachments_allowed` (site settings): groups and single types, narrowing the
# node's BECKON_MEDIA_TYPES (a site can refuse more than the node, never accept more).
ALLOW_GROUPS = {
    "images": RASTER_IMAGES,
    "pdf": ("application/pdf",),
    "text": ("text/plain",),
}
ALLOW_ANY = "any"
ALLOW_ENTRIES = (ALLOW_ANY, *ALLOW_GROUPS, *DEFAULT_MEDIA_TYPES)
MAX_NAME_CHARS = 120
_SNIFF_BYTES = 1024
# Markup is refused outright, whatever it is called: a browser that ever renders it
# inline (a misconfigured proxy, an old client) would run its script.
_MARKUP = re.compile(rb"^\s*<(?:[!?a-zA-Z])")


class RefusedFile(ValueError):
    """The file may not be kept; `code` is the REST error code, the text says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Kind:
    mime: str
    extension: str

    @property
    def is_image(self) -> bool:
        return self.mime in RASTER_IMAGES


def site_allowed(node_types: tuple[str, ...], entries: list[str] | None) -> tuple[str, ...]:
    """The types a site accepts: the node's `node_types` narrowed by the site's
    `attachments_allowed` entries (None, or one of them "any": all the node's; an empty
    list: none). Entries are checked when the site is saved; an unknown one counts as
    nothing."""
    if entries is None or ALLOW_ANY in entries:
        return node_types
    wanted = {t for entry in entries for t in ALLOW_GROUPS.get(entry, (entry,))}
    return tuple(t for t in node_types if t in wanted)


def sniff(data: bytes, allowed: tuple[str, ...]) -> Kind:
    """The type of `data` from its content; RefusedFile("unsupported_type") when it is
    markup, unknown, or not in `allowed` (empty: the site accepts no files)."""
    if not data:
        raise RefusedFile("empty_file", "the file is empty")
    if not allowed:
        raise RefusedFile("unsupported_type", "this site does not accept files")
    head = data[:_SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf")
    if _MARKUP.match(head):
        raise RefusedFile("unsupported_type", "HTML, SVG and XML files are not accepted")
    mime = _magic(data)
    if mime is None:
        raise RefusedFile("unsupported_type", "the file's type is not recognised")
    if mime not in allowed:
        raise RefusedFile("unsupported_type", f"files of type {mime} are not accepted")
    return Kind(mime, EXTENSIONS[mime])


def _magic(data: bytes) -> str | None:
    guess = filetype.guess_mime(data[:8192]) if data else None
    if guess in EXTENSIONS:
        return guess
    if guess is not None:
        return guess  # known but not one of ours: refused by the allow-list with its name
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return "text/plain" if _is_text(data) else None


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch in "\t\n\r" or unicodedata.category(ch) != "Cc" for ch in text)


def safe_name(declared: str, kind: Kind) -> str:
    """A download name from the client's `declared` one: its last path segment, without
    control, format (bidi) or quote characters, at most MAX_NAME_CHARS, ending in the
    sniffed type's extension (`report.html` that is text becomes `report.html.txt`)."""
    base = re.split(r"[\\/]", declared)[-1]
    cleaned = "".join(
        ch
        for ch in unicodedata.normalize("NFC", base)
        if unicodedata.category(ch)[0] not in "CZ" or ch == " "
    )
    cleaned = cleaned.replace('"', "").strip(" .")
    stem = cleaned or "file"
    if not stem.lower().endswith(f".{kind.extension}") and not (
        kind.extension == "jpg" and stem.lower().endswith(".jpeg")
    ):
        stem = f"{stem}.{kind.extension}"
    if len(stem) > MAX_NAME_CHARS:
        stem = stem[: MAX_NAME_CHARS - len(kind.extension) - 1] + f".{kind.extension}"
    return stem
