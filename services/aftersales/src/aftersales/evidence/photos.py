"""A buyer's photo, checked by its content (never its name or declared type) and
re-encoded without metadata.

Accepted: JPEG, PNG, WebP and HEIC (through pillow-heif), told apart by their magic
bytes and then opened by Pillow restricted to that one format. Refused, with a reason a
buyer and a client can act on: more bytes than the limit; anything else (a script named
``.jpg``); more pixels than the limit (a decompression bomb: checked from the header,
before any pixel is decoded); an image Pillow cannot verify and decode in full (a
truncated one); data after the image's end or markup inside it (a polyglot). What is
kept is a new image made from the decoded pixels alone (orientation applied), so EXIF
(GPS), XMP, ICC and comments are gone: JPEG, PNG and WebP keep their format, HEIC
becomes JPEG (browsers do not show HEIC)."""

from __future__ import annotations

import enum
import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps
from pillow_heif import register_heif_opener

register_heif_opener()

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
# markup no photo contains: a file that is both an image and a page or a script
# (long enough that compressed pixel data matches none by chance)
_ACTIVE = re.compile(rb"<(script|html|iframe|!doctype)|<\?php", re.IGNORECASE)


class Refusal(enum.StrEnum):
    TOO_LARGE = "too_large"
    NOT_AN_IMAGE = "not_an_image"
    TOO_MANY_PIXELS = "too_many_pixels"
    DAMAGED = "damaged"
    POLYGLOT = "polyglot"


MESSAGES = {
    Refusal.TOO_LARGE: "larger than {limit} MB",
    Refusal.NOT_AN_IMAGE: "not a JPEG, PNG, WebP or HEIC photo",
    Refusal.TOO_MANY_PIXELS: "more than {pixels} megapixels",
    Refusal.DAMAGED: "damaged or incomplete: it cannot be read in full",
    Refusal.POLYGLOT: "contains something other than the image",
}


class PhotoRefused(Exception):
    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    content_type: str
    width: int
    height: int


def _refuse(reason: Refusal, limits: Limits) -> PhotoRefused:
    message = MESSAGES[reason].format(
        limit=round(limits.max_bytes / 1024 / 1024, 1), pixels=limits.max_pixels // 1_000_000
    )
    return PhotoRefused(reason, message)


def sniff(data: bytes) -> str | None:
    """The format the magic bytes say (Pillow's name), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def _png_end(data: bytes) -> int | None:
    """Where the PNG's IEND chunk ends."""
    at = 8
    while at + 8 <= len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        kind = data[at + 4 : at + 8]
        at += 12 + length
        if kind == b"IEND":
            return at
    return None


def _bmff_end(data: bytes) -> int | None:
    """Where the last top-level ISO BMFF box (HEIF) ends."""
    at = 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        if size == 1 and at + 16 <= len(data):
            size = int.from_bytes(data[at + 8 : at + 16], "big")
        elif size == 0:
            return len(data)
        if size < 8:
            return None
        at += size
    return at if at == len(data) else None


def _declared_end(kind: str, data: bytes) -> int | None:
    if kind == "PNG":
        return _png_end(data)
    if kind == "WEBP":
        return 8 + int.from_bytes(data[4:8], "little")
    if kind == "HEIF":
        return _bmff_end(data)
    end = data.rfind(b"\xff\xd9")  # JPEG: its last End Of Image marker
    return end + 2 if end >= 0 else None


def _framing(kind: str, data: bytes) -> Refusal | None:
    """The file ends before the image does (damaged), or goes on after it, other than
    a little zero padding (a polyglot)."""
    end = _declared_end(kind, data)
    if end is None or end > len(data):
        return Refusal.DAMAGED
    return Refusal.POLYGLOT if data[end:].strip(b"\x00") else None


def check_photo(data: bytes, limits: Limits) -> CleanPhoto:
    """The photo cleaned, or :class:`PhotoRefused`."""
    if len(data) > limits.max_bytes:
        raise _refuse(Refusal.TOO_LARGE, limits)
    kind = sniff(data)
    if kind is None:
        raise _refuse(Refusal.NOT_AN_IMAGE, limits)
    framing = _framing(kind, data)
    if framing is not None:
        raise _refuse(framing, limits)
    if _ACTIVE.search(data):
        raise _refuse(Refusal.POLYGLOT, limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as probe:
                if probe.width * probe.height > limits.max_pixels:
                    raise _refuse(Refusal.TOO_MANY_PIXELS, limits)
                probe.verify()
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
    except PhotoRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _refuse(Refusal.TOO_MANY_PIXELS, limits) from exc
    except Exception as exc:  # Pillow's errors for a bad file are of many kinds
        raise _refuse(Refusal.DAMAGED, limits) from exc
    return _reencode(upright, kind)


def _reencode(image: Image.Image, kind: str) -> CleanPhoto:
    out_format = "JPEG" if kind in ("JPEG", "HEIF") else kind
    mode = image.mode
    if out_format == "JPEG" and mode not in ("RGB", "L"):
        mode = "RGB"
    elif out_format != "JPEG" and mode not in ("RGB", "RGBA", "L", "LA"):
        mode = "RGBA" if "A" in mode or "transparency" in image.info else "RGB"
    converted = image.convert(mode) if image.mode != mode else image
    # a new image from the pixels alone: nothing of the file's metadata comes along
    clean = Image.frombytes(converted.mode, converted.size, converted.tobytes())
    buffer = io.BytesIO()
    options: dict[str, object] = {"quality": 90} if out_format in ("JPEG", "WEBP") else {}
    clean.save(buffer, format=out_format, **options)
    content_type = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}[out_format]
    return CleanPhoto(buffer.getvalue(), content_type, clean.width, clean.height)
