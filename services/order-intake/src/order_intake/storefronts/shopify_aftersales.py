"""Shopify's aftersales webhooks: ``returns/request`` and ``refunds/create``.

``returns/request`` (a buyer asked for a return in the customer accounts; the return's
status is ``REQUESTED``, https://shopify.dev/docs/api/webhooks?reference=toml#list-returns/request)
carries the return: ``id``, ``admin_graphql_api_id`` (``gid://shopify/Return/<id>``),
``order.id``, ``return_line_items[]`` with ``quantity``, ``return_reason`` (the
``ReturnReason`` enum in lower case: ``size_too_small``, ``unwanted``, …),
``return_reason_note``, ``customer_note`` (at most 300 characters), and
``fulfillment_line_item.line_item.id``: the order's line item.

``refunds/create`` carries the REST refund resource (``id``, ``order_id``,
``created_at``, ``note``, ``refund_line_items[]``, ``transactions[]`` with ``kind``,
``status`` and ``amount`` as a decimal string in ``currency``,
https://shopify.dev/docs/api/admin-rest/latest/resources/refund).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from order_intake.storefronts.bounds import (
    MAX_LINES,
    NOTE_MAX,
    TEXT_MAX,
    BoundedMoney,
    Quantity,
    StoreId,
)

_PERMISSIVE = ConfigDict(extra="allow", str_max_length=TEXT_MAX)
Note = Annotated[str, Field(max_length=NOTE_MAX)]


class _Ref(BaseModel):
    model_config = _PERMISSIVE

    id: StoreId
    admin_graphql_api_id: str | None = None


class ShopifyFulfillmentLineItem(_Ref):
    line_item: _Ref | None = None


class ShopifyReturnLineItem(_Ref):
    fulfillment_line_item: ShopifyFulfillmentLineItem | None = None
    quantity: Quantity
    return_reason: str | None = None
    return_reason_note: Note | None = None
    customer_note: Note | None = None


class ShopifyReturn(_Ref):
    """The ``returns/request`` body."""

    status: str | None = None
    name: str | None = None
    order: _Ref
    return_line_items: list[ShopifyReturnLineItem] = Field(max_length=MAX_LINES)


class ShopifyTransaction(BaseModel):
    model_config = _PERMISSIVE

    id: StoreId | None = None
    kind: str | None = None
    status: str | None = None
    amount: BoundedMoney | None = None
    currency: str | None = None


class ShopifyRefundLineItem(BaseModel):
    model_config = _PERMISSIVE

    line_item_id: StoreId | None = None
    quantity: Quantity | None = None


class ShopifyRefund(BaseModel):
    """The ``refunds/create`` body."""

    model_config = _PERMISSIVE

    id: StoreId
    order_id: StoreId
    created_at: dt.datetime | None = None
    note: Note | None = None
    refund_line_items: list[ShopifyRefundLineItem] = Field(
        default_factory=list, max_length=MAX_LINES
    )
    transactions: list[ShopifyTransaction] = Field(default_factory=list, max_length=MAX_LINES)
