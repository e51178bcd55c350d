"""Small generated JPEGs for the image URLs the pages reference (covers, avatars).

Each image is a pure function of its id (colour bands from a hash), rendered once with Pillow
and cached, so crawls that download pictures get real, distinct JPEG bytes.
"""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache

from PIL import Image, ImageDraw

COVER = (112, 160)
COVER_LARGE = (225, 318)
AVATAR = (76, 76)
# 1x1 transparent GIF, the spacer MAL's lazy-loading images start with
SPACER_GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


@lru_cache(maxsize=4096)
def jpeg(kind: str, key: int, large: bool = False) -> bytes:
    digest = hashlib.blake2b(f"{kind}:{key}".encode(), digest_size=12).digest()
    size = AVATAR if kind == "user" else (COVER_LARGE if large else COVER)
    image = Image.new("RGB", size, (digest[0], digest[1], digest[2]))
    draw = ImageDraw.Draw(image)
    width, height = size
    for band in range(3):
        top = height * (band + 1) // 5
        colour = (digest[3 + 3 * band], digest[4 + 3 * band], digest[5 + 3 * band])
        draw.rectangle([0, top, width, top + height // 10], fill=colour)
    draw.text((6, height - 16), f"#{key}", fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=70)
    return buffer.getvalue()
