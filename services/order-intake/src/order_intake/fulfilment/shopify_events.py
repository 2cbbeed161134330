"""A parcel's milestones on its Shopify fulfilment: ``fulfillmentEventCreate``
(https://shopify.dev/docs/api/admin-graphql/latest/mutations/fulfillmentEventCreate),
``FulfillmentEventInput`` with ``fulfillmentId``, ``status``, ``happenedAt``,
``message`` and ``estimatedDeliveryAt``
(https://shopify.dev/docs/api/admin-graphql/latest/input-objects/FulfillmentEventInput).

Statuses (``FulfillmentEventStatus``,
https://shopify.dev/docs/api/admin-graphql/latest/enums/FulfillmentEventStatus): ours map
to IN_TRANSIT, OUT_FOR_DELIVERY, ATTEMPTED_DELIVERY, READY_FOR_PICKUP, DELIVERED, FAILURE,
and DELAYED, which the enum has from API version 2025-07 on (2024-04's list lacks it,
https://shopify.dev/docs/api/admin-graphql/2024-04/enums/FulfillmentEventStatus): with
an older version a delay is not written. The mutation has no idempotency key: an attempt
that may follow an unknown outcome reads the fulfilment's events first and sends nothing
when one with the same status and time is there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from order_intake.fulfilment.base import MilestoneRequest, Outcome, StorefrontRejected
from order_intake.storefronts.shopify_admin import AdminClient

STATUSES: dict[str, str] = {
    "in_transit": "IN_TRANSIT",
    "in_customs": "IN_TRANSIT",
    "out_for_delivery": "OUT_FOR_DELIVERY",
    "delivery_failed": "ATTEMPTED_DELIVERY",
    "available_for_pickup": "READY_FOR_PICKUP",
    "delivered": "DELIVERED",
    "exception": "FAILURE",
    "returning": "FAILURE",
    "returned_to_sender": "FAILURE",
    "lost": "FAILURE",
    "delayed": "DELAYED",
}
DELAYED_SINCE = "2025-07"

EVENT_CREATE = """
mutation MilestoneCreate($fulfillmentEvent: FulfillmentEventInput!) {
  fulfillmentEventCreate(fulfillmentEvent: $fulfillmentEvent) {
    fulfillmentEvent { id status happenedAt }
    userErrors { field message }
  }
}
"""

EVENTS_READ = """
query MilestonesOf($id: ID!) {
  fulfillment(id: $id) {
    id
    events(first: 100) { nodes { id status happenedAt } }
  }
}
"""


def shopify_status(milestone: str, api_version: str) -> str | None:
    status = STATUSES.get(milestone)
    if status == "DELAYED" and api_version < DELAYED_SINCE:
        return None
    return status


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_input(fulfillment_id: str, status: str, request: MilestoneRequest) -> dict[str, Any]:
    data: dict[str, Any] = {
        "fulfillmentId": fulfillment_id,
        "status": status,
        "happenedAt": _iso(request.happened_at),
    }
    if request.message:
        data["message"] = request.message[:255]
    if request.estimated_delivery is not None:
        data["estimatedDeliveryAt"] = _iso(
            dt.datetime.combine(request.estimated_delivery, dt.time(), tzinfo=dt.UTC)
        )
    return data


async def _already(admin: AdminClient, fulfillment_id: str, status: str, at: str) -> str | None:
    data = await admin.execute(
        EVENTS_READ, {"id": fulfillment_id}, what="fulfillment events", read_only=True
    )
    found = data.get("fulfillment") or {}
    for node in (found.get("events") or {}).get("nodes") or []:
        happened = str(node.get("happenedAt") or "")
        if node.get("status") == status and happened[:19] == at[:19]:
            return str(node.get("id"))
    return None


async def send_milestone(
    admin: AdminClient, request: MilestoneRequest, api_version: str
) -> Outcome:
    status = shopify_status(request.milestone, api_version)
    if status is None:
        return Outcome("nothing_to_do", detail=f"no Shopify status for {request.milestone}")
    if not request.fulfilment_ref:
        raise StorefrontRejected("the parcel's fulfilment is not at Shopify")
    created: list[str] = []
    for fulfillment_id in request.fulfilment_ref.split(","):
        wanted = event_input(fulfillment_id, status, request)
        if request.may_exist:
            found = await _already(admin, fulfillment_id, status, wanted["happenedAt"])
            if found is not None:
                created.append(found)
                continue
        data = await admin.execute(
            EVENT_CREATE,
            {"fulfillmentEvent": wanted},
            what="fulfillmentEventCreate",
            read_only=False,
        )
        result = data.get("fulfillmentEventCreate") or {}
        errors = result.get("userErrors") or []
        if errors:
            raise StorefrontRejected(
                "fulfillmentEventCreate: "
                + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors)
            )
        created.append(str((result.get("fulfillmentEvent") or {}).get("id")))
    return Outcome("created", ",".join(created))
