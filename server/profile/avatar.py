"""An uploaded avatar made safe and small: the type decided from the bytes (raster
images only: SVG and other markup are refused), re-encoded by Pillow without metadata
and scaled to at most `AVATAR_PX` square. CPU work: run `prepare` in a thread."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from server.media.images import reencode
from server.media.kinds import EXTENSIONS, RASTER_IMAGES, sniff

AVATAR_PX = 256


@dataclass(frozen=True, slots=True)
class Avatar:
    data: bytes
    mime: str
    digest: str  # of `data`: changes with the image, so its URL can be cached for good

    @property
    def file_name(self) -> str:
        return f"{self.digest}.{EXTENSIONS[self.mime]}"


def prepare(data: bytes, max_pixels: int) -> Avatar:
    """The avatar to store for `data`. Raises `server.media.kinds.RefusedFile` (with
    its REST code) for an empty file, a type that is not a raster image, an image that
    does not decode, or one with more than `max_pixels` pixels."""
    kind = sniff(data, RASTER_IMAGES)
    image = reencode(data, kind.mime, max_pixels, AVATAR_PX)
    return Avatar(image.data, image.mime, hashlib.sha256(image.data).hexdigest()[:32])
