"""Integration event contracts, grouped by the service that publishes them (one module
each, with its ``PUBLISHER``).

Each event is a pydantic model with its routing key (``TYPE``) and major ``VERSION``
(the envelope's ``version``); every field has a ``Field(description=...)``.
Compatibility: a change within a major version is additive only (a new optional field;
consumers ignore fields they do not know); a breaking change is a new major version,
a new model published beside the old one until every consumer has moved.
``dropship contracts export`` (``make contracts``) writes their JSON Schemas and the
catalogue (docs/events/README.md) so a reader sees every event in one place.
"""

from __future__ import annotations

import sys
from types import ModuleType
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


def contract_modules() -> list[ModuleType]:
    """The contract module of each publishing service, in catalogue order."""
    from dropship_common.contracts import aftersales, logistics, order_intake, supplier_gateway

    return [order_intake, supplier_gateway, logistics, aftersales]


def events_of(module: ModuleType) -> list[type[Event]]:
    """The events a contract module defines, by type and version."""
    events: list[type[Event]] = []
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, Event)
            and value.__module__ == module.__name__
            and "TYPE" in dir(value)  # not a shared base of the module's events
        ):
            events.append(value)
    return sorted(events, key=lambda e: (e.TYPE, e.VERSION))


def publisher_of(event: type[Event]) -> str:
    return str(sys.modules[event.__module__].PUBLISHER)


def all_events() -> list[type[Event]]:
    events = [event for module in contract_modules() for event in events_of(module)]
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
