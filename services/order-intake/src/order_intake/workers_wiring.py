"""How order-intake's request path wakes its background workers, in this process
(a signal) and in a worker process (PostgreSQL NOTIFY on this channel)."""

from __future__ import annotations

WEBHOOK_CHANNEL = "dropship_order_intake_webhooks"
