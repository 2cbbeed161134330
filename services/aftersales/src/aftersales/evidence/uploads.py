"""The photos of one form: every one checked (:mod:`.photos`) before any is stored, then
stored under random keys; if anything after fails, what was stored is deleted again."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import UploadFile

from aftersales.evidence.photos import CleanPhoto, Limits, PhotoRefused, Refusal, check_photo
from aftersales.evidence.storage import EvidenceStorage, new_key

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Refused:
    index: int  # 1-based, as the buyer counts
    name: str
    reason: Refusal
    message: str


def uploaded(values: list[Any]) -> list[UploadFile]:
    """The files of a multipart field; an empty file input sends a part without a
    name and without bytes: not a photo."""
    return [v for v in values if isinstance(v, UploadFile) and (v.filename or v.size)]


async def _read(upload: UploadFile, limit: int) -> bytes | None:
    """The file's bytes, or None past ``limit`` (read in chunks: never more than the
    limit and one chunk in memory; the parser spooled the rest to disk)."""
    if upload.size is not None and upload.size > limit:
        return None
    parts: list[bytes] = []
    total = 0
    while chunk := await upload.read(CHUNK):
        total += len(chunk)
        if total > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


async def check_uploads(
    uploads: list[UploadFile], limits: Limits
) -> tuple[list[CleanPhoto], list[Refused]]:
    photos: list[CleanPhoto] = []
    refused: list[Refused] = []
    for index, upload in enumerate(uploads, start=1):
        name = (upload.filename or "")[-80:]
        data = await _read(upload, limits.max_bytes)
        try:
            if data is None:
                raise PhotoRefused(Refusal.TOO_LARGE, "too large")
            photos.append(await asyncio.to_thread(check_photo, data, limits))
        except PhotoRefused as exc:
            refused.append(Refused(index, name, exc.reason, exc.message))
    return photos, refused


def new_keys(photos: list[CleanPhoto]) -> list[str]:
    return [new_key() for _ in photos]


async def store(
    storage: EvidenceStorage, photos: list[CleanPhoto], now: dt.datetime, keys: list[str]
) -> list[dict[str, Any]]:
    """Each photo under its key (:func:`new_keys`, recorded first); the case's evidence
    items. On a failure, the photos stored so far are deleted and the error raised."""
    items: list[dict[str, Any]] = []
    try:
        for photo, key in zip(photos, keys, strict=True):
            await storage.put(key, photo.data, photo.content_type)
            items.append(
                {
                    "kind": "photo",
                    "key": key,
                    "content_type": photo.content_type,
                    "size": len(photo.data),
                    "width": photo.width,
                    "height": photo.height,
                    "added_at": now.isoformat(),
                }
            )
    except BaseException:
        await discard(storage, items)
        raise
    return items


async def discard(storage: EvidenceStorage, items: list[dict[str, Any]]) -> None:
    """Delete stored photos no case refers to (best effort: a failure is logged by the
    caller's error handling, the photo is never shown to anyone)."""
    for item in items:
        try:
            await storage.delete(str(item["key"]))
        except Exception:  # noqa: S112 - the next one may still go
            continue
