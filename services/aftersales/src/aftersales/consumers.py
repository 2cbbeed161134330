"""Messages aftersales consumes. Bare for now: they are parked (kept whole in
``parked_events``) so that none is lost before its features land."""

from __future__ import annotations

from aftersales.models import parked_events
from dropship_common.contracts.logistics import ShipmentPresumedLost, ShipmentStatusChanged
from dropship_common.contracts.order_intake import (
    OrderAddressChangeRequested,
    OrderCancellationRequested,
)
from dropship_common.messaging.handlers import Handlers

registry = Handlers("aftersales")
# logistics publishes these now: a lost parcel and a return to sender open cases
registry.parks(
    parked_events,
    [
        OrderCancellationRequested,
        OrderAddressChangeRequested,
        ShipmentPresumedLost,
        ShipmentStatusChanged,
    ],
)
