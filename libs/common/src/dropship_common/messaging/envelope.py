"""The envelope every integration message travels in (DESIGN.md, Messaging)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_jsonable_python


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Envelope(BaseModel):
    """``id`` is the dedupe key; ``type`` is also the routing key (``order.confirmed``)."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        description="The message's id: consumers skip one they applied before (inbox).",
    )
    type: str = Field(description="The event type, also the routing key (`order.confirmed`).")
    version: int = Field(
        default=1,
        description="The event's major version: a consumer reads only the majors it knows.",
    )
    occurred_at: dt.datetime = Field(
        default_factory=_now, description="When the event was written (UTC)."
    )
    correlation_id: str | None = Field(
        default=None, description="Ties the messages of one order together (its id)."
    )
    causation_id: str | None = Field(
        default=None, description="What caused the event (`message:<id>`, an actor)."
    )
    payload: dict[str, Any] = Field(description="The event itself, as its contract describes.")

    def to_dict(self) -> dict[str, Any]:
        """The envelope as JSON-ready values. The payload is taken as it is (events put
        theirs in JSON form already): pydantic walking a ``dict[str, Any]`` to dump it
        costs more than all the rest of publishing an order.confirmed."""
        return {
            "id": str(self.id),
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "payload": self.payload,
        }

    def to_json(self) -> bytes:
        # the fallback serialises what a hand-made payload may hold (Decimal, UUID, …)
        return orjson.dumps(
            self.to_dict(), default=to_jsonable_python, option=orjson.OPT_NON_STR_KEYS
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        return cls.model_validate_json(raw)
