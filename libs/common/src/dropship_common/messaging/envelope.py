"""The envelope every integration message travels in (DESIGN.md, Messaging)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Envelope(BaseModel):
    """``id`` is the dedupe key; ``type`` is also the routing key (``order.confirmed``)."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = 1
    occurred_at: dt.datetime = Field(default_factory=_now)
    correlation_id: str | None = None
    causation_id: str | None = None
    payload: dict[str, Any]

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        return cls.model_validate_json(raw)
