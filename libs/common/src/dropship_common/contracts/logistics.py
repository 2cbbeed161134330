"""Events published by logistics.

Logistics owns a parcel's life after its tracking is assigned: every ``shipment.*``
event after ``shipment.tracking_assigned`` (in transit, delivered, returned, lost, …)
is defined here, as logistics publishes it. ``shipment.tracking_assigned`` itself stays
in ``dropship_common.contracts.supplier_gateway``, which publishes it. None exists
yet: the catalogue shows this section empty until logistics' features land.
"""

from __future__ import annotations

PUBLISHER = "logistics"
