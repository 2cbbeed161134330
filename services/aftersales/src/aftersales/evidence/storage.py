"""Where the buyers' photos are kept: one interface, a directory (embedded mode) or an
S3-compatible object store (distributed mode), chosen by ``DROPSHIP_EVIDENCE_STORE``.

Keys are random (:func:`new_key`), never the buyer's file name; a key that is not of
that shape is refused before any path or request is made of it. The S3 store uses
boto3 (AWS's own SDK, the most used S3 client, speaking to any S3-compatible server)
in a worker thread: a photo is at most a few MB and stored once, so an async client
(aiobotocore pins botocore tightly) buys nothing here."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from aftersales.config import config_of
from dropship_common.runtime import ServiceRuntime

_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_key() -> str:
    """A random key: 32 URL-safe characters (192 bits)."""
    return secrets.token_urlsafe(24)


def _checked(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError("not an evidence key")
    return key


class StorageFailed(Exception):
    """The store could not be reached or refused the call (nothing was kept)."""


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    content_type: str


class EvidenceStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> StoredObject | None: ...

    async def delete(self, key: str) -> None: ...


class DirectoryStorage:
    """``<dir>/<key>`` and its content type in ``<dir>/<key>.type``; each written to a
    temporary file, flushed to disk and renamed into place (never half a photo)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _write(self, path: Path, data: bytes) -> None:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        with open(temporary, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)

    def _put(self, key: str, data: bytes, content_type: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write(self.directory / f"{key}.type", content_type.encode())
        self._write(self.directory / key, data)

    def _get(self, key: str) -> StoredObject | None:
        try:
            data = (self.directory / key).read_bytes()
            content_type = (self.directory / f"{key}.type").read_text()
        except FileNotFoundError:
            return None
        return StoredObject(data, content_type)

    def _delete(self, key: str) -> None:
        for name in (key, f"{key}.type"):
            (self.directory / name).unlink(missing_ok=True)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            await asyncio.to_thread(self._put, _checked(key), data, content_type)
        except OSError as exc:
            raise StorageFailed(str(exc)) from exc

    async def get(self, key: str) -> StoredObject | None:
        try:
            return await asyncio.to_thread(self._get, _checked(key))
        except OSError as exc:
            raise StorageFailed(str(exc)) from exc

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self._delete, _checked(key))
        except OSError as exc:
            raise StorageFailed(str(exc)) from exc

    def keys(self) -> list[str]:
        """Every stored key (tests, housekeeping)."""
        if not self.directory.exists():
            return []
        return sorted(p.name for p in self.directory.iterdir() if _KEY.fullmatch(p.name))


class S3Storage:
    """An S3-compatible bucket: ``PutObject`` / ``GetObject`` / ``DeleteObject``."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "evidence/",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.bucket, self.prefix = bucket, prefix
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": "path"},
            ),
        )

    def _name(self, key: str) -> str:
        return f"{self.prefix}{_checked(key)}"

    def _get(self, key: str) -> StoredObject | None:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self._name(key))
        except self._client.exceptions.NoSuchKey:
            return None
        body = answer["Body"]
        try:
            data = cast(bytes, body.read())
        finally:
            body.close()
        return StoredObject(data, str(answer.get("ContentType") or "application/octet-stream"))

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            await asyncio.to_thread(
                self._client.put_object,
                Bucket=self.bucket,
                Key=self._name(key),
                Body=data,
                ContentType=content_type,
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageFailed(str(exc)) from exc

    async def get(self, key: str) -> StoredObject | None:
        try:
            return await asyncio.to_thread(self._get, key)
        except (BotoCoreError, ClientError) as exc:
            raise StorageFailed(str(exc)) from exc

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(
                self._client.delete_object, Bucket=self.bucket, Key=self._name(key)
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageFailed(str(exc)) from exc


def storage_of(rt: ServiceRuntime) -> EvidenceStorage:
    """The running service's store, made once (on first use) from its settings."""
    found = rt.state.get("evidence_storage")
    if found is None:
        c = config_of(rt)
        if c.evidence_store == "s3":
            found = S3Storage(
                c.evidence_s3_bucket,
                prefix=c.evidence_s3_prefix,
                endpoint_url=c.evidence_s3_endpoint_url,
                region=c.evidence_s3_region,
                access_key_id=c.evidence_s3_access_key_id,
                secret_access_key=c.evidence_s3_secret_access_key,
            )
        else:
            found = DirectoryStorage(c.evidence_dir or c.data_dir / "evidence")
        rt.state["evidence_storage"] = found
    return cast(EvidenceStorage, found)
