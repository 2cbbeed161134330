"""The buyer's e-mail with the payment link aftersales asked for (a dearer exchange's
difference), once per case, in the buyer's language."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from order_intake.fulfilment.base import money_text
from order_intake.messages.service import queue_buyer_message
from order_intake.models import StorefrontCredit
from order_intake.orders.repository import OrderRepository
from order_intake.shops.repository import ShopRepository


async def payment_link_message(session: AsyncSession, credit: StorefrontCredit) -> bool:
    """False when it was queued before (or the order is gone: redacted meanwhile)."""
    order = await OrderRepository(session).get(credit.order_id)
    shop = await ShopRepository(session).get(credit.shop_id)
    if order is None or shop is None or not credit.payment_url:
        return False
    context = {
        "amount": money_text(credit.amount),
        "currency": credit.currency,
        "url": credit.payment_url,
        "expires": credit.ends_at.date().isoformat() if credit.ends_at else "",
        "case_link": "",
    }
    return await queue_buyer_message(
        session, order, shop, "case_payment_link", context, dedupe_key=str(credit.case_id)
    )
