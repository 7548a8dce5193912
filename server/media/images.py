"""Image re-encoding: what is stored is what Pillow wrote, never what was uploaded.

Re-encoding drops metadata (EXIF with GPS, comments, colour-profile payloads), any
bytes appended to or hidden in the file (polyglots), and caps the dimensions. Pillow
is CPU work: callers run `reencode` in a thread (`asyncio.to_thread`), never on the
event loop.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from server.media.kinds import RefusedFile

THUMB_SIZE = 320
THUMB_MIME = "image/jpeg"
_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "PNG", "image/webp": "WEBP"}
_STORED_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


@dataclass(frozen=True, slots=True)
class Reencoded:
    data: bytes
    mime: str
    width: int
    height: int
    thumb: bytes  # always THUMB_MIME


def reencode(data: bytes, mime: str, max_pixels: int, max_dimension: int) -> Reencoded:
    """The image in `data` re-encoded without metadata, at most `max_dimension` wide and
    high, with a thumbnail. A GIF keeps its first frame (as PNG).

    Raises RefusedFile("invalid_image") when it cannot be decoded, and
    RefusedFile("image_too_large") when its header claims more than `max_pixels` —
    checked before any pixel is decoded, so a decompression bomb costs nothing.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as source:
                if source.width * source.height > max_pixels:
                    raise RefusedFile(
                        "image_too_large",
                        f"the image has more than {max_pixels} pixels",
                    )
                source.seek(0)
                image = ImageOps.exif_transpose(source)
                image.load()
    except RefusedFile:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise RefusedFile(
            "image_too_large", f"the image has more than {max_pixels} pixels"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise RefusedFile("invalid_image", "the image cannot be decoded") from None
    image = _normalise_mode(image)
    image.thumbnail((max_dimension, max_dimension))
    fmt = _FORMATS[mime]
    if fmt == "JPEG" and image.mode != "RGB":
        fmt = "PNG"
    full = _encode(image, fmt)
    return Reencoded(
        data=full,
        mime=_STORED_MIME[fmt],
        width=image.width,
        height=image.height,
        thumb=_encode(_thumbnail(image), "JPEG"),
    )


def _thumbnail(image: Image.Image) -> Image.Image:
    """Always a JPEG-ready RGB image: transparency is flattened onto white."""
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIZE, THUMB_SIZE))
    if thumb.mode in ("RGBA", "LA"):
        background = Image.new("RGB", thumb.size, (255, 255, 255))
        background.paste(thumb, mask=thumb.getchannel("A"))
        return background
    return thumb.convert("RGB")


def _normalise_mode(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "RGBA", "L", "LA"):
        return image
    has_alpha = image.mode in ("PA", "RGBa") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    options = {"quality": 85} if fmt in ("JPEG", "WEBP") else {"optimize": True}
    # No exif=, no icc_profile=, no pnginfo=: nothing of the original's metadata is written.
    image.save(out, fmt, **options)
    return out.getvalue()
