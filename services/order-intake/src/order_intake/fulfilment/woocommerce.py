"""WooCommerce: REST API v3 (``/wp-json/wc/v3``), basic auth with the consumer key and
secret over HTTPS.

Per supplier shipment, in this order (so the "Completed order" e-mail Woo sends carries
the tracking items):

1. with the Shipment Tracking extension (``admin_credentials.shipment_tracking``; when
   not set, found by its providers route answering): one tracking item per parcel
   (``POST /wp-json/wc-shipment-tracking/v3/orders/{id}/shipment-trackings``), the
   store's own provider when the carrier is one of its providers, else a custom
   provider with our tracking link;
2. a private order note with carrier, number(s) and link(s) for the shop's staff
   (``POST /orders/{id}/notes``, ``customer_note: false``: WooCommerce e-mails the
   buyer every customer note, and the buyer gets our own "shipped" message);
3. when every line is shipped, the order's status ``completed``
   (``PUT /orders/{id}``; a partial shipment leaves it ``processing``).

POSTs are not repeated blindly: on an attempt that may follow an unknown outcome the
order's tracking items and notes are read first, and what carries our number is not
sent again. The PUT is idempotent.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from order_intake.credits import woocommerce as credits
from order_intake.credits import woocommerce_payment
from order_intake.fulfilment.base import (
    CreditOutcome,
    CreditRequest,
    FulfilmentPlugin,
    FulfilmentRequest,
    MilestoneRequest,
    Outcome,
    StorefrontRejected,
)
from order_intake.fulfilment.http_errors import calling, check_status

API = "/wp-json/wc/v3"
TRACKING_API = "/wp-json/wc-shipment-tracking/v3"


def delivered_note(number: str, at: dt.datetime) -> str:
    return f"Delivered: {number} on {at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC."


def note_text(carrier: str, numbers: Sequence[str], urls: Sequence[str]) -> str:
    parcels = "\n".join(f"{carrier}: {n} ({u})" for n, u in zip(numbers, urls, strict=True))
    return f"Shipped; the buyer was sent the tracking.\n{parcels}"


def note_payload(carrier: str, numbers: Sequence[str], urls: Sequence[str]) -> dict[str, Any]:
    return {"note": note_text(carrier, numbers, urls), "customer_note": False}


def provider_names(providers: Mapping[str, Any]) -> dict[str, str]:
    """The providers endpoint groups names by region: lower-case name -> name."""
    names: dict[str, str] = {}
    for group in providers.values():
        if isinstance(group, Mapping):
            for name in group:
                names[str(name).strip().lower()] = str(name)
    return names


def tracking_payload(
    carrier: str, number: str, url: str, shipped_on: dt.date, providers: Mapping[str, str]
) -> dict[str, Any]:
    """A predefined provider by its exact name, else a custom provider with our link."""
    body: dict[str, Any] = {"tracking_number": number, "date_shipped": shipped_on.isoformat()}
    known = providers.get(carrier.strip().lower())
    if known is not None:
        body["tracking_provider"] = known
    else:
        body["custom_tracking_provider"] = carrier
        body["custom_tracking_link"] = url
    return body


def status_payload(completes_order: bool) -> dict[str, Any] | None:
    return {"status": "completed"} if completes_order else None


def noted(notes: Iterable[Mapping[str, Any]], numbers: Sequence[str]) -> bool:
    """An existing note names every one of ``numbers``."""
    texts = [str(n.get("note") or "") for n in notes]
    return all(any(number in text for text in texts) for number in numbers)


class WooCommerceFulfilment(FulfilmentPlugin):
    platform: ClassVar[str] = "woocommerce"

    @property
    def auth(self) -> tuple[str, str]:
        return self.credential("consumer_key"), self.credential("consumer_secret")

    async def call(
        self, method: str, path: str, what: str, body: dict[str, Any] | None = None
    ) -> Any:
        async with calling(what):
            response = await self.client.request(method, path, json=body, auth=self.auth)
        check_status(response, what, time.time())
        try:
            return response.json()
        except ValueError:
            return None

    async def credit_call(
        self, method: str, path: str, what: str, body: dict[str, Any] | None = None
    ) -> Any:
        """:meth:`call`, telling a gateway that cannot refund from a failure."""
        async with calling(what):
            response = await self.client.request(method, path, json=body, auth=self.auth)
        if response.status_code >= 400 and (body or {}).get("api_refund"):
            try:
                code = response.json().get("code")
            except (ValueError, AttributeError):
                code = None
            if code == credits.NO_GATEWAY_REFUND:
                raise credits.GatewayCannotRefund(response.text[:300])
        check_status(response, what, time.time())
        try:
            return response.json()
        except ValueError:
            return None

    async def refund(self, request: CreditRequest) -> CreditOutcome:
        return await credits.refund(self.credit_call, request.order_external_id, request)

    async def discount(self, request: CreditRequest) -> CreditOutcome:
        return await credits.coupon(self.credit_call, request)

    async def payment_link(self, request: CreditRequest) -> CreditOutcome:
        return await woocommerce_payment.payment_link(self.credit_call, request)

    async def payment_paid(self, request: CreditRequest) -> CreditOutcome:
        return await woocommerce_payment.payment_paid(self.credit_call, request)

    async def fulfil(self, request: FulfilmentRequest) -> Outcome:
        order_id = request.order_external_id
        numbers, urls = request.tracking_numbers, request.tracking_urls
        refs: list[str] = []
        providers = await self._providers()
        if providers is not None:
            refs += await self._trackings(request, providers)
        notes: list[Mapping[str, Any]] = []
        if request.may_exist:
            found = await self.call("GET", f"{API}/orders/{order_id}/notes", "list notes")
            notes = [n for n in found or [] if isinstance(n, Mapping)]
        if not noted(notes, numbers):
            note = await self.call(
                "POST",
                f"{API}/orders/{order_id}/notes",
                "add note",
                note_payload(request.carrier, numbers, urls),
            )
            if isinstance(note, Mapping) and note.get("id") is not None:
                refs.append(f"note:{note['id']}")
        status = status_payload(request.completes_order)
        if status is not None:
            await self.call("PUT", f"{API}/orders/{order_id}", "complete order", status)
        return Outcome("created" if refs else "existing", ",".join(refs) or None)

    async def milestone(self, request: MilestoneRequest) -> Outcome:
        """Delivery only: a private note for the shop's staff (WooCommerce e-mails the
        buyer every customer note; the buyer gets our own message), and the order
        ``completed`` once every parcel is delivered (idempotent PUT). Other milestones
        stay on our timeline: Woo has no place for them."""
        if request.milestone != "delivered":
            return Outcome("nothing_to_do", detail="WooCommerce hears of deliveries only")
        order_id = request.order_external_id
        text = delivered_note(request.tracking_number, request.happened_at)
        notes: list[Mapping[str, Any]] = []
        if request.may_exist:
            found = await self.call("GET", f"{API}/orders/{order_id}/notes", "list notes")
            notes = [n for n in found or [] if isinstance(n, Mapping)]
        ref = None
        if not any(str(n.get("note") or "") == text for n in notes):
            note = await self.call(
                "POST",
                f"{API}/orders/{order_id}/notes",
                "add note",
                {"note": text, "customer_note": False},
            )
            if isinstance(note, Mapping) and note.get("id") is not None:
                ref = f"note:{note['id']}"
        if request.completes_delivery:
            await self.call(
                "PUT", f"{API}/orders/{order_id}", "complete order", {"status": "completed"}
            )
        return Outcome("created" if ref else "existing", ref)

    async def _providers(self) -> dict[str, str] | None:
        """The store's Shipment Tracking providers; None when it has no such extension
        (``admin_credentials.shipment_tracking`` false, or, when not set, the extension's
        route answers WordPress's 404)."""
        flag = self.shop.credentials.get("shipment_tracking")
        if flag is False:
            return None
        what = "list tracking providers"
        async with calling(what):
            response = await self.client.get(
                f"{TRACKING_API}/shipment-trackings/providers", auth=self.auth
            )
        if response.status_code == 404 and flag is None:
            return None
        check_status(response, what, time.time())
        try:
            body = response.json()
        except ValueError:
            body = None
        return provider_names(body if isinstance(body, Mapping) else {})

    async def _trackings(
        self, request: FulfilmentRequest, providers: Mapping[str, str]
    ) -> list[str]:
        order_id = request.order_external_id
        path = f"{TRACKING_API}/orders/{order_id}/shipment-trackings"
        have: set[str] = set()
        if request.may_exist:
            found = await self.call("GET", path, "list tracking items")
            have = {
                str(t.get("tracking_number") or "").upper()
                for t in found or []
                if isinstance(t, Mapping)
            }
        refs: list[str] = []
        for number, url in zip(request.tracking_numbers, request.tracking_urls, strict=True):
            if number.upper() in have:
                continue
            item = await self.call(
                "POST",
                path,
                "add tracking item",
                tracking_payload(
                    request.carrier, number, url, request.shipped_at.date(), providers
                ),
            )
            if not isinstance(item, Mapping):
                raise StorefrontRejected("add tracking item: unexpected answer")
            refs.append(f"tracking:{item.get('tracking_id')}")
        return refs
