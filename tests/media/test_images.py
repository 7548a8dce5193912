"""Re-encoding: metadata gone, dimensions capped, polyglots and bombs defused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from server.media.images import THUMB_SIZE, reencode
from server.media.kinds import RefusedFile
from tests.media import samples

MAX_PIXELS = 40_000_000


def test_jpeg_loses_exif_and_gps() -> None:
    original = samples.jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(samples.GPS_TAG)
    out = reencode(original, "image/jpeg", MAX_PIXELS, 4096)
    stored = Image.open(io.BytesIO(out.data))
    assert out.mime == "image/jpeg"
    assert dict(stored.getexif()) == {}
    assert b"SpyCam" not in out.data and b"Exif" not in out.data
    assert (out.width, out.height) == (64, 48)


def test_dimensions_capped_and_thumbnail_made() -> None:
    out = reencode(samples.png(2000, 1000), "image/png", MAX_PIXELS, 800)
    assert (out.width, out.height) == (800, 400)
    thumb = Image.open(io.BytesIO(out.thumb))
    assert max(thumb.size) == THUMB_SIZE
    assert thumb.format == "JPEG"


def test_polyglot_payload_does_not_survive() -> None:
    out = reencode(samples.polyglot_png(), "image/png", MAX_PIXELS, 4096)
    assert samples.POLYGLOT_PAYLOAD not in out.data
    assert Image.open(io.BytesIO(out.data)).size == (40, 30)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = samples.png_bomb()
    assert len(bomb) < 100_000
    with pytest.raises(RefusedFile, match="the image has more than 40000000 pixels") as err:
        reencode(bomb, "image/png", MAX_PIXELS, 4096)
    assert err.value.code == "image_too_large"


def test_truncated_image_is_invalid() -> None:
    with pytest.raises(RefusedFile, match="the image cannot be decoded") as err:
        reencode(samples.png()[:60], "image/png", MAX_PIXELS, 4096)
    assert err.value.code == "invalid_image"


def test_gif_keeps_first_frame_as_png() -> None:
    buf = io.BytesIO()
    Image.new("P", (10, 10)).save(buf, "GIF")
    out = reencode(buf.getvalue(), "image/gif", MAX_PIXELS, 4096)
    assert out.mime == "image/png"


def test_transparent_image_thumbnail_is_flattened_to_jpeg() -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(buf, "PNG")
    out = reencode(buf.getvalue(), "image/png", MAX_PIXELS, 4096)
    thumb = Image.open(io.BytesIO(out.thumb))
    assert (thumb.format, thumb.getpixel((5, 5))) == ("JPEG", (255, 255, 255))
