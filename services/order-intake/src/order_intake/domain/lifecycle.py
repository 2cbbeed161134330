"""The order's life in order-intake: state machine, confirmation policy, payment window,
ship-by date. Pure: every "now" is passed in.

States: ``awaiting_payment`` -> (``on_hold`` <-> ) ``confirmed`` -> ``handed_off`` ->
``partially_shipped`` / ``shipped`` -> ``delivered``; ``cancelled`` is terminal.
A storefront update never un-confirms an order: once confirmed, only a cancellation at the
source (or a refund / void of the payment) moves it, to ``cancelled``. The later states
belong to the fulfilment flow; :func:`decide` never enters them, it only respects them.

A few moves are allowed only for one cause (:data:`CAUSED_TRANSITIONS`): a confirmed
order goes back ``on_hold`` only when its supplier rejected it and no backup is left.
Such a hold is kept by :func:`decide` until an operator releases it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dropship_common import business_days
from order_intake.domain.order import CanonicalOrder, PaymentStatus
from order_intake.domain.validation import Assessment, Issue

__all__ = [
    "ALLOWED_TRANSITIONS",
    "CANCELLING_PAYMENTS",
    "CAUSED_TRANSITIONS",
    "DEFAULT_PAYMENT_WINDOW_DAYS",
    "OPERATOR_HOLDS",
    "Decision",
    "IllegalTransition",
    "OrderStatus",
    "ReasonCode",
    "can_transition",
    "cancels",
    "decide",
    "due_reminders",
    "is_payment_secured",
    "is_payment_window_over",
    "payment_deadline",
    "ship_by",
    "transition",
]

DEFAULT_PAYMENT_WINDOW_DAYS = 20


class OrderStatus(enum.StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    ON_HOLD = "on_hold"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    # Fulfilment states, entered by later steps (supplier hand-off, tracking).
    HANDED_OFF = "handed_off"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"


_S = OrderStatus
_OPEN = frozenset({_S.AWAITING_PAYMENT, _S.ON_HOLD, _S.CONFIRMED, _S.CANCELLED})

# current -> statuses it may move to (``None``: a new order). Self-moves are not transitions.
ALLOWED_TRANSITIONS: Mapping[OrderStatus | None, frozenset[OrderStatus]] = {
    None: _OPEN,
    _S.AWAITING_PAYMENT: frozenset({_S.ON_HOLD, _S.CONFIRMED, _S.CANCELLED}),
    _S.ON_HOLD: frozenset({_S.AWAITING_PAYMENT, _S.CONFIRMED, _S.CANCELLED}),
    # Shipped while the status is still confirmed: order-intake records the hand-off
    # (``handed_off_at``) without leaving ``confirmed``, so tracking moves on from here.
    _S.CONFIRMED: frozenset({_S.CANCELLED, _S.HANDED_OFF, _S.PARTIALLY_SHIPPED, _S.SHIPPED}),
    # Not shipped yet: the supplier order can still be cancelled.
    _S.HANDED_OFF: frozenset({_S.PARTIALLY_SHIPPED, _S.SHIPPED, _S.CANCELLED}),
    _S.PARTIALLY_SHIPPED: frozenset({_S.SHIPPED}),
    _S.SHIPPED: frozenset({_S.DELIVERED}),
    _S.DELIVERED: frozenset(),
    _S.CANCELLED: frozenset(),
}


SUPPLIER_REJECTED = "supplier_rejected"

# (current, target) -> the only causes (reason codes) for which the move is allowed.
CAUSED_TRANSITIONS: Mapping[tuple[OrderStatus, OrderStatus], frozenset[str]] = {
    # DOMAIN step 5: out of stock and no backup supplier: someone must decide (a longer
    # wait, a substitute, or cancel and refund).
    (_S.CONFIRMED, _S.ON_HOLD): frozenset({SUPPLIER_REJECTED}),
}

# Hold reasons only an operator clears (a storefront update or a re-check keeps them).
OPERATOR_HOLDS = frozenset({SUPPLIER_REJECTED})


class IllegalTransition(ValueError):
    def __init__(self, current: OrderStatus | None, target: OrderStatus) -> None:
        super().__init__(f"illegal order transition {current or 'new'} -> {target}")
        self.current = current
        self.target = target


def can_transition(
    current: OrderStatus | None, target: OrderStatus, *, because: str | None = None
) -> bool:
    """``because``: the reason code of the move, for the moves of :data:`CAUSED_TRANSITIONS`."""
    if target in ALLOWED_TRANSITIONS.get(current, frozenset()):
        return True
    if current is None or because is None:
        return False
    return because in CAUSED_TRANSITIONS.get((current, target), frozenset())


def transition(
    current: OrderStatus | None, target: OrderStatus, *, because: str | None = None
) -> OrderStatus:
    """Return ``target`` if ``current -> target`` is allowed, else raise IllegalTransition."""
    if not can_transition(current, target, because=because):
        raise IllegalTransition(current, target)
    return target


# --- confirmation policy -------------------------------------------------------------------


class ReasonCode:
    """Codes of the reasons :func:`decide` gives (holds keep their own codes)."""

    CANCELLED_AT_SOURCE = "cancelled_at_source"
    PAYMENT_REFUNDED = "payment_refunded"
    PAYMENT_VOIDED = "payment_voided"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_NOT_SECURED = "payment_not_secured"
    # Informational: the storefront says something we deliberately do not act on.
    UPDATE_IGNORED = "update_ignored"
    CANCEL_AFTER_SHIPMENT = "cancel_after_shipment"
    PAYMENT_LOST_AFTER_CONFIRMATION = "payment_lost_after_confirmation"
    SUPPLIER_REJECTED = SUPPLIER_REJECTED


_SECURED = frozenset({PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED})


def is_payment_secured(payment_status: PaymentStatus, accept_authorized: bool = True) -> bool:
    """Paid / partially refunded: yes. Authorized: if the shop accepts it (Shopify manual
    capture: the merchant captures at fulfilment, so waiting for "paid" would deadlock)."""
    if payment_status in _SECURED:
        return True
    return accept_authorized and payment_status is PaymentStatus.AUTHORIZED


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: OrderStatus
    reasons: list[Issue] = Field(default_factory=list)
    transition: bool  # status differs from the current one (always True for a new order)


def _reason(code: str, message: str, **details: Any) -> Issue:
    return Issue(code=code, field=None, message=message, details=details)


CANCELLING_PAYMENTS = frozenset({PaymentStatus.REFUNDED, PaymentStatus.VOIDED})


def cancels(order: CanonicalOrder) -> bool:
    """Whether this version of the order, applied, cancels it (cancelled at the source,
    or its payment refunded or voided): a destructive change."""
    return order.cancelled or order.payment_status in CANCELLING_PAYMENTS


def _wanted(
    order: CanonicalOrder, assessment: Assessment, accept_authorized: bool
) -> tuple[OrderStatus, list[Issue]]:
    """What the order's status should be, from the source's data alone."""
    pay = order.payment_status
    if order.cancelled:
        return _S.CANCELLED, [
            _reason(
                ReasonCode.CANCELLED_AT_SOURCE,
                "the order was cancelled in the storefront",
                cancel_reason=order.cancel_reason,
            )
        ]
    if pay is PaymentStatus.REFUNDED:
        return _S.CANCELLED, [_reason(ReasonCode.PAYMENT_REFUNDED, "the payment was refunded")]
    if pay is PaymentStatus.VOIDED:
        return _S.CANCELLED, [_reason(ReasonCode.PAYMENT_VOIDED, "the payment was voided")]
    if pay is PaymentStatus.FAILED:
        return _S.AWAITING_PAYMENT, [_reason(ReasonCode.PAYMENT_FAILED, "the payment failed")]
    if not is_payment_secured(pay, accept_authorized):
        return _S.AWAITING_PAYMENT, [
            _reason(
                ReasonCode.PAYMENT_NOT_SECURED,
                f"payment is {pay}",
                payment_status=str(pay),
                accept_authorized=accept_authorized,
            )
        ]
    if assessment.holds:
        return _S.ON_HOLD, list(assessment.holds)
    return _S.CONFIRMED, []


def decide(
    current: OrderStatus | None,
    order: CanonicalOrder,
    assessment: Assessment,
    *,
    accept_authorized: bool = True,
    kept_holds: Sequence[Issue] = (),
) -> Decision:
    """The status an order should have after this storefront version, and why.

    - cancelled at source, refunded or voided -> cancelled
    - payment failed or not secured -> awaiting_payment
    - holds -> on_hold (reasons: the holds)
    - else confirmed.
    Guards: cancelled is terminal; from confirmed (and later) only to cancelled, and never
    once shipped (reason ``cancel_after_shipment``: an aftersales case); holds or lost
    payment found after confirmation do not un-confirm (reason for staff to see).
    ``kept_holds``: an on-hold order's holds only an operator clears (:data:`OPERATOR_HOLDS`);
    it stays on hold with them unless it is to be cancelled or wait for payment."""
    wanted, reasons = _wanted(order, assessment, accept_authorized)
    if current is _S.ON_HOLD and kept_holds and wanted in (_S.CONFIRMED, _S.ON_HOLD):
        wanted, reasons = _S.ON_HOLD, [*kept_holds, *reasons]
    if current is None:
        return Decision(status=transition(None, wanted), reasons=reasons, transition=True)
    if wanted == current:
        return Decision(status=current, reasons=reasons, transition=False)
    if can_transition(current, wanted):
        return Decision(status=wanted, reasons=reasons, transition=True)

    # Not allowed: keep the current status, say what was ignored (and why it was wanted).
    ignored = {"wanted": str(wanted), "ignored_reasons": [r.code for r in reasons]}
    if current is _S.CANCELLED:
        note = _reason(
            ReasonCode.UPDATE_IGNORED,
            "the order is cancelled; cancellation is final",
            **ignored,
        )
    elif wanted is _S.CANCELLED:
        note = _reason(
            ReasonCode.CANCEL_AFTER_SHIPMENT,
            "cancelled at the source after shipping: handle as an aftersales case",
            current=str(current),
            **ignored,
        )
    elif wanted is _S.AWAITING_PAYMENT:
        note = _reason(
            ReasonCode.PAYMENT_LOST_AFTER_CONFIRMATION,
            f"payment is {order.payment_status} but the order is already {current}",
            payment_status=str(order.payment_status),
            **ignored,
        )
    else:
        note = _reason(
            ReasonCode.UPDATE_IGNORED,
            f"the order is already {current}; it is not moved back to {wanted}",
            **ignored,
        )
    return Decision(status=current, reasons=[note], transition=False)


# --- payment window (DOMAIN step 1) --------------------------------------------------------


def _aware(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value


def payment_deadline(
    placed_at: dt.datetime, window_days: int = DEFAULT_PAYMENT_WINDOW_DAYS
) -> dt.datetime:
    """When an unpaid order's payment window closes."""
    if window_days < 0:
        raise ValueError("window_days must be >= 0")
    return _aware(placed_at, "placed_at") + dt.timedelta(days=window_days)


def is_payment_window_over(
    placed_at: dt.datetime, now: dt.datetime, window_days: int = DEFAULT_PAYMENT_WINDOW_DAYS
) -> bool:
    """True once ``now`` reaches the deadline (then an unpaid order is cancelled)."""
    return _aware(now, "now") >= payment_deadline(placed_at, window_days)


def due_reminders(
    placed_at: dt.datetime,
    now: dt.datetime,
    reminder_days: Iterable[int],
    already_sent: AbstractSet[int],
) -> list[int]:
    """Reminder days (days after placement) that are due at ``now`` and not sent yet,
    ascending. After downtime several may be due at once: the caller should send one
    message and record all of them as sent."""
    _aware(placed_at, "placed_at")
    _aware(now, "now")
    return [
        day
        for day in sorted(set(reminder_days))
        if day not in already_sent and now >= placed_at + dt.timedelta(days=day)
    ]


# --- ship-by date (DOMAIN step 5) ----------------------------------------------------------


ship_by = business_days.ship_by  # the order's expected ship date
