"""Image checks and normalisation for case photos (pure: bytes in, bytes out).

A photo is accepted by its **content**, never its name: JPEG (``FF D8 FF``), PNG
(``89 PNG``) or WebP (``RIFF....WEBP``). It is decoded by Pillow (pixel limit against
decompression bombs), turned upright from its EXIF orientation, scaled down to
``max_side`` and re-encoded in its own format **without any metadata** (EXIF, GPS, XMP,
PNG text chunks are not copied), plus a JPEG thumbnail.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from gridmap.config import Settings
from gridmap.errors import Problem

MIMES: dict[str, str] = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS: dict[str, str] = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


@dataclass(frozen=True)
class MediaParams:
    """Photo limits (from :class:`gridmap.config.Settings`)."""

    max_bytes: int = 8 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_side: int = 2048
    thumb_side: int = 320
    per_report: int = 6

    @classmethod
    def from_settings(cls, s: Settings) -> MediaParams:
        """The limits of ``s`` (``photo_*`` fields)."""
        return cls(max_bytes=s.photo_max_bytes, max_pixels=s.photo_max_pixels,
                   max_side=s.photo_max_side, thumb_side=s.photo_thumb_side,
                   per_report=s.photos_per_report)


@dataclass(frozen=True)
class Prepared:
    """A checked photo ready to store: the cleaned image and its thumbnail."""

    data: bytes
    thumb: bytes
    mime: str
    width: int
    height: int
    sha256: str


def sniff(data: bytes) -> str | None:
    """The MIME type from the first bytes (JPEG, PNG, WebP), or ``None``."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _decode(data: bytes, params: MediaParams, n: int) -> tuple[Image.Image | None, Problem | None]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > params.max_pixels:
                return None, Problem("media.too_many_pixels", {
                    "n": n, "width": img.width, "height": img.height,
                    "max": params.max_pixels}, row=n, field="photos")
            img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None, Problem("media.unreadable", {"n": n}, row=n, field="photos")
    return img, None


def check(data: bytes, params: MediaParams, n: int = 1) -> Problem | None:
    """The problem with photo number ``n`` (type, size), or ``None`` (not decoded yet)."""
    if not data:
        return Problem("media.empty", {"n": n}, row=n, field="photos")
    if len(data) > params.max_bytes:
        return Problem("media.too_large", {"n": n, "bytes": len(data),
                                           "max": params.max_bytes}, row=n, field="photos")
    if sniff(data) is None:
        return Problem("media.bad_type", {"n": n}, row=n, field="photos")
    return None


def _encode(img: Image.Image, fmt: str) -> bytes:
    img.info = {}  # no EXIF/GPS, XMP, ICC or text chunk is carried over by save()
    out = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    elif fmt == "WEBP":
        img.save(out, "WEBP", quality=85)
    else:
        img.save(out, "PNG", optimize=True)
    return out.getvalue()


def prepare(data: bytes, params: MediaParams, n: int = 1) -> tuple[Prepared | None,
                                                                     Problem | None]:
    """Photo number ``n`` checked and cleaned (``(Prepared, None)``) or its problem."""
    problem = check(data, params, n)
    if problem is not None:
        return None, problem
    mime = sniff(data)
    img, problem = _decode(data, params, n)
    if img is None or MIMES.get(img.format or "") != mime:
        return None, problem or Problem("media.bad_type", {"n": n}, row=n, field="photos")
    fmt = img.format or "JPEG"
    img = ImageOps.exif_transpose(img) or img
    if img.mode not in ("RGB", "RGBA", "L", "LA"):
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    img.thumbnail((params.max_side, params.max_side))
    clean = _encode(img, fmt)
    thumb = img.copy()
    thumb.thumbnail((params.thumb_side, params.thumb_side))
    return Prepared(clean, _encode(thumb, "JPEG"), MIMES[fmt], img.width, img.height,
                    hashlib.sha256(clean).hexdigest()), None
