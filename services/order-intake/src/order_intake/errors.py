"""Typed errors of order-intake, each with its status code and stable code."""

from __future__ import annotations

from typing import ClassVar

from dropship_common.errors import AppError, Conflict, NotFound


class ShopNotFound(NotFound):
    code = "shop_not_found"


class ShopExists(Conflict):
    code = "shop_exists"


class OrderNotFound(NotFound):
    code = "order_not_found"


class OrderLineNotFound(NotFound):
    code = "order_line_not_found"


class IllegalOrderState(Conflict):
    code = "illegal_order_state"


class StillOnHold(Conflict):
    code = "still_on_hold"


class IdempotencyKeyReused(AppError):
    status_code: ClassVar[int] = 422
    code = "idempotency_key_reused"


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"


class UnknownTopic(AppError):
    status_code: ClassVar[int] = 400
    code = "unknown_topic"


class InvalidAddress(AppError):
    status_code: ClassVar[int] = 422
    code = "invalid_address"


class FulfilmentNotFound(NotFound):
    code = "fulfilment_not_found"


class IllegalFulfilmentState(Conflict):
    code = "illegal_fulfilment_state"
