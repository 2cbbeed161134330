"""Integration event contracts, grouped by the service that publishes them.

Each event is a pydantic model with its routing key (``TYPE``) and ``VERSION``; a
breaking change is a new version. ``dropship contracts export`` writes their JSON
Schemas to docs/events/ so a reader sees every event in one place.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from dropship_common.messaging.envelope import Envelope


class Event(BaseModel):
    """Base of every integration event payload."""

    model_config = ConfigDict(frozen=True)

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1

    def envelope(
        self, *, correlation_id: str | None = None, causation_id: str | None = None
    ) -> Envelope:
        return Envelope(
            type=self.TYPE,
            version=self.VERSION,
            correlation_id=correlation_id,
            causation_id=causation_id,
            payload=self.model_dump(mode="json"),
        )

    @classmethod
    def from_envelope(cls, envelope: Envelope) -> Any:
        return cls.model_validate(envelope.payload)


def all_events() -> list[type[Event]]:
    from dropship_common.contracts import order_intake, supplier_gateway

    events: list[type[Event]] = []
    for module in (order_intake, supplier_gateway):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Event)
                and value.__module__ == module.__name__
            ):
                events.append(value)
    return sorted(events, key=lambda e: (e.TYPE, e.VERSION))


def export_schemas() -> dict[str, dict[str, Any]]:
    """``{"order.confirmed.v1": <JSON Schema>, ...}``"""
    out: dict[str, dict[str, Any]] = {}
    for ev in all_events():
        schema = ev.model_json_schema()
        schema["x-routing-key"] = ev.TYPE
        schema["x-version"] = ev.VERSION
        out[f"{ev.TYPE}.v{ev.VERSION}"] = schema
    return out
