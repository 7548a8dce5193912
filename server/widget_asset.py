"""The visitor widget as browsers get it: `widget/*.js` joined in a fixed order into
one script, comments and indentation stripped, hashed, and compressed once per build.

Two scripts: the core (`MODULES`, `/widget.js`) paints the bubble and connects, and is held to
a size budget; the rest (`MORE_MODULES`, `widget/more/`, `/widget-more.<hash>.js`) is fetched
by the core once it has started (`B.more()` in `core.js`) and shares its namespace `B`, so a
feature a visitor may never use costs the first paint nothing.

No bundler: each module is wrapped in its own block (so its `const`s stay private) inside
one function that hands every module `B`, the widget's namespace. English strings are
built in; the other languages are served one file each at `/widget/i18n/<code>.json`.

HTTP side: strong ETags per encoding with 304 on `If-None-Match`, brotli (preferred when
the browser accepts it) or gzip, `/widget.js` cached briefly and
`/widget.<hash>.js` cached for a year as immutable.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import brotli
from starlette.requests import Request
from starlette.responses import Response

MODULES = (
    "core.js",
    "i18n.js",
    "linkify.js",
    "outbox.js",
    "connection.js",
    "tracking.js",
    "ui/style.js",
    "ui/messages.js",
    "ui/forms.js",
    "ui/window.js",
    "ui/invitation.js",
    "ui/panels.js",
    "chat.js",
    "api.js",
    "loader.js",
)
MORE_MODULES = (
    "more/signals.js",
    "more/emoji.js",
    "more/files.js",
    "more/mailer.js",
    "more/faces.js",
)
SHORT_CACHE = "public, max-age=300"
LONG_CACHE = "public, max-age=31536000, immutable"
LANG_CACHE = "public, max-age=86400"
_IDENT = re.compile(r"[A-Za-z0-9_$]")
_REGEX_AFTER_WORDS = frozenset(
    {"return", "typeof", "case", "in", "of", "void", "delete", "throw", "new"}
)


@dataclass(frozen=True)
class Encoded:
    """One file in every encoding we serve, with its content hash."""

    body: bytes
    digest: str  # 16 hex chars of SHA-256 over `body`
    gzip: bytes
    brotli: bytes

    @classmethod
    def of(cls, body: bytes) -> Encoded:
        return cls(
            body=body,
            digest=hashlib.sha256(body).hexdigest()[:16],
            gzip=gzip.compress(body, 9, mtime=0),
            brotli=brotli.compress(body, quality=11),
        )


@dataclass(frozen=True)
class Build:
    script: Encoded
    more: Encoded
    langs: dict[str, Encoded] = field(default_factory=dict)

    @property
    def more_path(self) -> str:
        """Where the core fetches the second script from (immutable: named by its hash)."""
        return f"/widget-more.{self.more.digest}.js"


def build(widget_dir: Path) -> Build:
    """Join, minify and compress the widget. Raises FileNotFoundError for a missing module."""
    i18n = widget_dir / "i18n"
    english = json.loads((i18n / "en.json").read_text("utf-8"))
    langs = {
        path.stem: Encoded.of(
            json.dumps(
                json.loads(path.read_text("utf-8")), ensure_ascii=False, separators=(",", ":")
            ).encode()
        )
        for path in sorted(i18n.glob("*.json"))
        if path.stem != "en"
    }
    # The second script hands its modules to the core's `B` through a one-shot global the
    # core sets just before fetching it (and removes once called).
    more = Encoded.of(
        (
            "window.__beckonMore&&window.__beckonMore(B=>{'use strict';\n"
            + "\n".join(_module(widget_dir, name, {}) for name in MORE_MODULES)
            + "\n});\n"
        ).encode()
    )
    more_path = f"/widget-more.{more.digest}.js"
    fills = {
        "/*EN*/ {}": json.dumps(english, ensure_ascii=False, separators=(",", ":")),
        "/*LANGS*/ []": json.dumps(sorted(langs)),
        "/*MORE*/ ''": json.dumps(more_path),
    }
    parts = [_module(widget_dir, name, fills) for name in MODULES]
    script = "(()=>{'use strict';const B={};\n" + "\n".join(parts) + "\n})();\n"
    return Build(Encoded.of(script.encode()), more, langs)


def _module(widget_dir: Path, name: str, fills: dict[str, str]) -> str:
    """One module, placeholders filled and minified, in its own block."""
    source = (widget_dir / name).read_text("utf-8").replace("'use strict';\n", "", 1)
    for placeholder, value in fills.items():
        source = source.replace(placeholder, value)
    return "{\n" + minify(source) + "\n}"


def minify(source: str) -> str:
    """Drop comments and needless whitespace from our own JavaScript; strings, template
    literals (without nested templates) and regex literals are copied untouched.
    Newlines are kept (collapsed) so automatic semicolon insertion cannot change meaning."""
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if char in "'\"`":
            end = _string_end(source, i)
            out.append(source[i:end])
            i = end
        elif source.startswith("//", i):
            i = source.find("\n", i) if "\n" in source[i:] else n
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        elif char == "/" and _regex_allowed("".join(out[-8:])):
            end = _regex_end(source, i)
            out.append(source[i:end])
            i = end
        elif char.isspace():
            end = i
            while end < n and source[end].isspace():
                end += 1
            out.append("\n" if "\n" in source[i:end] else " ")
            i = end
        else:
            out.append(char)
            i += 1
    return _squeeze("".join(out))


def _string_end(source: str, start: int) -> int:
    quote, i = source[start], start + 1
    while i < len(source):
        if source[i] == "\\":
            i += 2
            continue
        if source[i] == quote:
            return i + 1
        if source[i] == "\n" and quote != "`":
            raise ValueError(f"unterminated string at {start}")
        i += 1
    raise ValueError(f"unterminated string at {start}")


def _regex_allowed(before: str) -> bool:
    text = before.rstrip()
    if not text:
        return True
    if text[-1] in "(,=:[!&|?{};+-*%<>~^\n":
        return True
    word = re.search(r"[A-Za-z_$]+$", text)
    return bool(word and word.group() in _REGEX_AFTER_WORDS)


def _regex_end(source: str, start: int) -> int:
    i, in_class = start + 1, False
    while i < len(source):
        char = source[i]
        if char == "\\":
            i += 2
            continue
        if char == "\n":
            raise ValueError(f"unterminated regex at {start}")
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "/" and not in_class:
            i += 1
            while i < len(source) and _IDENT.match(source[i]):
                i += 1  # flags
            return i
        i += 1
    raise ValueError(f"unterminated regex at {start}")


def _squeeze(code: str) -> str:
    """Drop spaces that separate nothing (between punctuation), and blank lines. Runs on
    minify's output, where every string and regex is one token, by skipping over them."""
    out: list[str] = []
    i, n = 0, len(code)
    while i < n:
        char = code[i]
        if char in "'\"`":
            end = _string_end(code, i)
            out.append(code[i:end])
            i = end
            continue
        if char == "/" and _regex_allowed("".join(out[-8:])) and not code.startswith("//", i):
            end = _regex_end(code, i)
            out.append(code[i:end])
            i = end
            continue
        if char in " \n":
            end = i
            while end < n and code[end] in " \n":
                end += 1
            prev = out[-1][-1] if out else "\n"
            nxt = code[end] if end < n else "\n"
            if "\n" in code[i:end]:
                if prev in "{;,([" or nxt in "}),]":
                    pass  # no statement can end here, so the line break means nothing
                elif prev != "\n":
                    out.append("\n")  # kept: automatic semicolon insertion may need it
            elif (_IDENT.match(prev) and _IDENT.match(nxt)) or (prev == nxt and prev in "+-"):
                out.append(" ")
            i = end
            continue
        out.append(char)
        i += 1
    return "".join(out).strip()


class WidgetAsset:
    """The current build of `widget_dir`, rebuilt when a source file changes (so editing
    the widget during development needs no restart)."""

    def __init__(self, widget_dir: Path) -> None:
        self.widget_dir = widget_dir
        self._stamp: tuple[float, ...] | None = None
        self._build: Build | None = None

    def current(self) -> Build:
        paths = [self.widget_dir / name for name in MODULES + MORE_MODULES]
        paths += sorted((self.widget_dir / "i18n").glob("*.json"))
        stamp = tuple(path.stat().st_mtime_ns for path in paths)
        if self._build is None or stamp != self._stamp:
            self._build, self._stamp = build(self.widget_dir), stamp
        return self._build

    def versioned_path(self) -> str:
        """The immutable URL path of the current script, e.g. `/widget.3f2a…c1.js`."""
        return f"/widget.{self.current().script.digest}.js"


def respond(request: Request, asset: Encoded, media_type: str, cache: str) -> Response:
    """`asset` with ETag/304, content negotiation by Accept-Encoding, and `cache`."""
    accepted = _accepted_encodings(request.headers.get("accept-encoding", ""))
    if "br" in accepted:
        body, encoding = asset.brotli, "br"
    elif "gzip" in accepted:
        body, encoding = asset.gzip, "gzip"
    else:
        body, encoding = asset.body, None
    etag = f'"{asset.digest}{"-" + encoding if encoding else ""}"'
    headers = {"ETag": etag, "Cache-Control": cache, "Vary": "Accept-Encoding"}
    if "/i18n/" in request.url.path:
        headers["Access-Control-Allow-Origin"] = "*"  # fetched by pages on any site
    if _etag_matches(request.headers.get("if-none-match", ""), asset.digest):
        return Response(status_code=304, headers=headers)
    if encoding:
        headers["Content-Encoding"] = encoding
    return Response(body, media_type=media_type, headers=headers)


def _accepted_encodings(header: str) -> set[str]:
    accepted = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        quality = params.strip().removeprefix("q=")
        try:
            if params and float(quality) <= 0:
                continue
        except ValueError:
            continue
        if name:
            accepted.add(name.strip().lower())
    return accepted


def _etag_matches(header: str, digest: str) -> bool:
    """Any representation of this content matches (weak comparison, RFC 9110 13.1.2)."""
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        if tag == "*" or tag.split("-")[0] == digest:
            return True
    return False
