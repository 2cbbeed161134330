"""What we do with each of CJ's webhook message types, and the metric that counts them.

Documented types (https://developers.cjdropshipping.com/en/api/start/webhook.html):
``LOGISTIC`` (tracking; ``LOGISTICS`` is the spelling of the settings key, accepted
too), ``ORDER`` (status, CJ's order id), ``PRODUCT``, ``VARIANT``, ``STOCK``,
``SOURCINGCREATE`` (catalogue and sourcing: not about orders, ``ignored``),
``ORDERSPLIT`` (an order split at CJ: about our orders, but nothing here knows what to do
with it yet, so ``unhandled`` like any type we do not know)."""

from __future__ import annotations

from prometheus_client import Counter

APPLIED = frozenset({"LOGISTIC", "LOGISTICS", "ORDER"})
NOT_ABOUT_ORDERS = frozenset({"PRODUCT", "VARIANT", "STOCK", "SOURCINGCREATE"})
_LABELLED = APPLIED | NOT_ABOUT_ORDERS | {"ORDERSPLIT"}

PENDING, PROCESSED, IGNORED, UNHANDLED, PARKED = (
    "pending",
    "processed",
    "ignored",
    "unhandled",
    "parked",
)
STATUSES = (PENDING, PROCESSED, IGNORED, UNHANDLED, PARKED)

CJ_MESSAGES = Counter(
    "cj_messages",
    "CJ webhook messages by type and what became of them (received, duplicate, "
    "processed, ignored, unhandled, parked)",
    ["type", "outcome"],
)
CJ_WEBHOOK_REFUSED = Counter(
    "cj_webhook_refused",
    "CJ webhook requests refused (bad_sign: wrong openId or not CJ; malformed envelope)",
    ["reason"],
)


def status_on_arrival(message_type: str) -> str:
    if message_type in APPLIED:
        return PENDING
    if message_type in NOT_ABOUT_ORDERS:
        return IGNORED
    return UNHANDLED


def type_label(message_type: str) -> str:
    """The metric's label: a documented type, or "other" (a label per unknown name
    would let any sender grow the metric without bound)."""
    return message_type if message_type in _LABELLED else "other"


def count(message_type: str, outcome: str) -> None:
    CJ_MESSAGES.labels(type_label(message_type), outcome).inc()
