"""Queue a buyer message in the current transaction; the mailer sends it after commit."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import utcnow
from order_intake.messages.repository import BuyerMessageRepository
from order_intake.messages.templates import render
from order_intake.models import BuyerMessage, Order, Shop

MAIL_FLAG = "mail_dirty"  # set on a session that queued a buyer message


async def queue_buyer_message(
    session: AsyncSession,
    order: Order,
    shop: Shop,
    kind: str,
    context: dict[str, Any],
    *,
    dedupe_key: str = "",
    new_order: bool = False,
) -> bool:
    """Returns False when the same message was already queued (never sent twice).
    ``new_order``: created in this transaction, so nothing can be queued yet."""
    if not new_order and await BuyerMessageRepository(session).queued(order.id, kind, dedupe_key):
        return False
    session.add(BuyerMessage(**buyer_message_row(order, shop, kind, context, dedupe_key)))
    session.info[MAIL_FLAG] = True
    return True


def buyer_message_row(
    order: Order, shop: Shop, kind: str, context: dict[str, Any], dedupe_key: str = ""
) -> dict[str, Any]:
    """The message rendered in the buyer's language, as the row's values."""
    language = order.buyer.get("language") or shop.buyer_language
    ctx = {
        "name": order.buyer.get("name") or "customer",
        "number": order.number or order.external_id,
        "shop": shop.name or shop.domain,
        **context,
    }
    subject, body, lang = render(kind, language, ctx)
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "order_id": order.id,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "language": lang,
        "to_address": order.buyer.get("email"),
        "subject": subject,
        "body": body,
        "status": "pending" if order.buyer.get("email") else "no_address",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
