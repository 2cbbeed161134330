"""Destructive storefront webhooks (a deletion, a cancellation, a refund) that were not
applied: counted and logged here, wherever they were refused (at the door for a body
that is not its topic's shape, in the processor for such a body stored before the door
checked it, in the confirmer for one the storefront's API contradicts). An older
version than the one held is not counted here: the intake records it on the order's
timeline (``stale_version_ignored``) whatever its topic."""

from __future__ import annotations

from typing import Literal

import structlog
from prometheus_client import Counter

log = structlog.get_logger(__name__)

RefusalReason = Literal["shape", "not_confirmed"]

DESTRUCTIVE_REFUSED = Counter(
    "webhook_destructive_refused",
    "Destructive storefront webhooks not applied: 'shape' (the body is not what its "
    "topic sends), 'not_confirmed' (the storefront's API says the order is not "
    "cancelled or deleted)",
    ["platform", "reason"],
)
DESTRUCTIVE_CONFIRMED = Counter(
    "webhook_destructive_confirmed",
    "Destructive storefront webhooks confirmed with the storefront's API and applied",
    ["platform"],
)


def refused(platform: str, topic: str, reason: RefusalReason, why: str, **fields: str) -> None:
    DESTRUCTIVE_REFUSED.labels(platform, reason).inc()
    log.warning(
        "destructive_webhook_refused",
        platform=platform,
        topic=topic,
        reason=reason,
        why=why,
        **fields,
    )
