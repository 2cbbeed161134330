"""Messages logistics consumes. Bare for now: they are parked (kept whole in
``parked_events``) so that none is lost before its features land."""

from __future__ import annotations

from dropship_common.contracts.supplier_gateway import ShipmentTrackingAssigned
from dropship_common.messaging.handlers import Handlers
from logistics.models import parked_events

registry = Handlers("logistics")
registry.parks(parked_events, [ShipmentTrackingAssigned])
