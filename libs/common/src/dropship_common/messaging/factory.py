"""Pick the bus adapter from ``settings.bus_url``."""

from __future__ import annotations

from dropship_common.messaging.bus import Bus
from dropship_common.settings import Settings


def make_bus(settings: Settings) -> Bus:
    """``embedded://[path]`` -> the shared :class:`EmbeddedBus` for that file;
    ``amqp://`` / ``amqps://`` -> a :class:`RabbitMQBus` (not yet connected)."""
    url = settings.bus_url
    if url.startswith("embedded://"):
        from dropship_common.messaging.embedded import get_embedded_bus

        return get_embedded_bus(
            settings.embedded_bus_path,
            retry_delays_ms=settings.retry_delays_ms,
            delivery_limit=settings.delivery_limit,
            poll_interval=min(settings.outbox_poll_seconds, 0.5),
        )
    if url.startswith(("amqp://", "amqps://")):
        from dropship_common.messaging.rabbitmq import RabbitMQBus

        return RabbitMQBus(
            url,
            settings.exchange,
            retry_delays_ms=settings.retry_delays_ms,
            delivery_limit=settings.delivery_limit,
            prefetch=settings.prefetch,
            queue_prefix=settings.queue_prefix,
        )
    raise ValueError(f"unsupported bus URL scheme: {url.split('://', 1)[0]!r}")
