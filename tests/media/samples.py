"""Files the media tests upload: real images made with Pillow, and hostile ones."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_TAG = 0x8825


def png(width: int = 40, height: int = 30, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps(width: int = 64, height: int = 48) -> bytes:
    image = Image.new("RGB", (width, height), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif.get_ifd(GPS_TAG).update({1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_bomb(side: int = 30_000) -> bytes:
    """A tiny PNG whose header claims side×side pixels (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    rows = zlib.compress(b"\x00" * (side + 1) * 64, 9)  # a few rows; the header is the bomb
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">'
    b"<script>alert(document.domain)</script></svg>"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# A GIF that is also JavaScript (GIFAR-style): valid image header, script after it.
POLYGLOT_PAYLOAD = b"<script>alert('polyglot')</script>"


def polyglot_png() -> bytes:
    return png() + POLYGLOT_PAYLOAD
