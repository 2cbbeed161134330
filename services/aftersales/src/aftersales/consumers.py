"""Messages aftersales consumes. Bare for now: they are parked (kept whole in
``parked_events``) so that none is lost before its features land."""

from __future__ import annotations

from aftersales.models import parked_events
from dropship_common.contracts.order_intake import (
    OrderAddressChangeRequested,
    OrderCancellationRequested,
)
from dropship_common.messaging.handlers import Handlers

registry = Handlers("aftersales")
registry.parks(parked_events, [OrderCancellationRequested, OrderAddressChangeRequested])
