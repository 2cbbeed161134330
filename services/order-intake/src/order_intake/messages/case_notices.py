"""Aftersales' messages to the buyer (``aftersales.buyer_notice``): order-intake holds
the buyer's address and language, so it writes them, once per case and kind (the case
id is the message's dedupe key), in the buyer's language."""

from __future__ import annotations

from string import Template

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.contracts.aftersales import AftersalesBuyerNotice
from dropship_common.tracking_links import parcel_token
from order_intake.config import OrderIntakeSettings
from order_intake.messages.links import case_page, case_text
from order_intake.messages.service import queue_buyer_message
from order_intake.messages.templates import AMOUNT_DUE, NEXT_STEPS, language_of
from order_intake.models import Order
from order_intake.orders.repository import OrderRepository
from order_intake.parcel_tracking.repository import ParcelStatusRepository
from order_intake.shops.repository import ShopRepository

log = structlog.get_logger(__name__)

# what each kind's template reads from the notice's details (empty when absent)
DETAILS = ("next_step", "return_address", "rma", "amount", "currency", "code", "reason")


def next_step(language: str, details: dict[str, str]) -> str:
    """The approval's "what happens next", in the buyer's words, from the resolution."""
    lang = language_of(language, NEXT_STEPS)
    values = {k: details.get(k, "") for k in ("amount", "currency", "amount_due")}
    text = NEXT_STEPS[lang].get(details.get("next_step", ""), NEXT_STEPS[lang]["explain"])
    if details.get("amount_due"):
        text += AMOUNT_DUE[lang]
    return Template(text).safe_substitute(values)


async def _tracking_url(
    session: AsyncSession, order: Order, number: str, settings: OrderIntakeSettings | None
) -> str:
    """The replacement's tracking page: logistics' page for the parcel when we hold it
    (``shipment.tracking_assigned`` came first) and logistics' address is configured,
    else the carrier's page we hold, else nothing."""
    parcels = await ParcelStatusRepository(session).of_order(order.id)
    parcel = next((p for p in parcels if p.tracking_number == number), None)
    if parcel is None:
        return ""
    base = settings.tracking_page_base_url if settings else None
    if base:
        return f"{base.rstrip('/')}/track/{parcel_token(parcel.supplier_order_id, number)}"
    return parcel.tracking_url


async def queue_case_notice(
    session: AsyncSession, notice: AftersalesBuyerNotice, settings: OrderIntakeSettings | None
) -> bool:
    """Queues the notice's e-mail; False when it was queued before or the order is not
    ours (logged)."""
    order = await OrderRepository(session).get(notice.order_id, for_update=True)
    if order is None:
        log.warning("buyer_notice_for_unknown_order", order=str(notice.order_id))
        return False
    shop = await ShopRepository(session).get(order.shop_id)
    assert shop is not None
    language = str(order.buyer.get("language") or shop.buyer_language)
    base = settings.aftersales_base_url if settings else None
    context: dict[str, str] = {key: notice.details.get(key, "") for key in DETAILS}
    context["case_type"] = notice.case_type
    context["case_link"] = case_text(language, case_page(base, notice.case_page))
    if notice.kind == "approved":
        context["next_step"] = next_step(language, notice.details)
    if notice.kind == "replacement_shipped":
        number = notice.details.get("tracking_number", "")
        context["tracking_number"] = number
        context["tracking_url"] = notice.details.get("tracking_url") or (
            await _tracking_url(session, order, number, settings) if number else ""
        )
    return await queue_buyer_message(
        session, order, shop, f"case_{notice.kind}", context, dedupe_key=str(notice.case_id)
    )
