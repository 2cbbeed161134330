"""order-intake: storefront webhooks in, confirmed orders out (``order.confirmed``)."""

from __future__ import annotations

from fastapi import FastAPI

from dropship_common.messaging.bus import Bus
from dropship_common.messaging.parked_replay import replay_parked
from dropship_common.runtime import ServiceRuntime, ServiceSpec, create_service_app
from dropship_common.settings import Settings
from dropship_common.workers import CommitSignal
from order_intake import consumers
from order_intake.config import OrderIntakeSettings
from order_intake.credits.worker import credit_worker
from order_intake.fulfilment.endpoints import router as fulfilments_router
from order_intake.fulfilment.worker import fulfilment_worker
from order_intake.messages.mailer import mail_worker
from order_intake.models import common, parked_events
from order_intake.orders.endpoints import router as orders_router
from order_intake.parcel_tracking.milestones import milestone_worker
from order_intake.payments import payment_worker
from order_intake.products.endpoints import router as products_router
from order_intake.shops.endpoints import router as shops_router
from order_intake.storefront_sync.job import storefront_sync_worker
from order_intake.webhooks.admin import router as webhooks_admin_router
from order_intake.webhooks.confirmation import confirm_worker
from order_intake.webhooks.endpoints import router as webhooks_router
from order_intake.webhooks.endpoints import shopify_webhook
from order_intake.webhooks.intake import DeliveryWriter, ShopCache
from order_intake.webhooks.processor import purge_worker, webhook_worker
from order_intake.webhooks.repository import WEBHOOK_FLAG


async def _wire(runtime: ServiceRuntime) -> None:
    """The request path's helpers, the signal that wakes the webhook processor, and the
    events parked by an earlier release replayed."""
    signal = CommitSignal(runtime.db, WEBHOOK_FLAG)
    runtime.state["webhook_signal"] = signal
    runtime.state["shop_cache"] = ShopCache(runtime.db)
    runtime.state["delivery_writer"] = DeliveryWriter(runtime.db, signal.set)
    # aftersales' requests parked before order-intake carried them out: processed now
    await replay_parked(runtime, parked_events)


SPEC = ServiceSpec(
    name="order-intake",
    title="Order intake",
    description=(
        "Receives storefront orders (Shopify, WooCommerce, custom), confirms them, "
        "publishes `order.confirmed`, and writes the suppliers' tracking back to the "
        "storefront and the buyer."
    ),
    tables=common,
    routers=(
        webhooks_router,
        orders_router,
        shops_router,
        products_router,
        webhooks_admin_router,
        fulfilments_router,
    ),
    handlers=consumers.registry,
    workers=(
        webhook_worker,
        confirm_worker,
        mail_worker,
        payment_worker,
        purge_worker,
        fulfilment_worker,
        milestone_worker,
        credit_worker,
        storefront_sync_worker,
    ),
    on_start=_wire,
    # a Shopify storm (a flash sale) is the load order-intake must carry
    hot_routes={"/webhooks/shopify": shopify_webhook},
    settings_class=OrderIntakeSettings,
)


def create_app(settings: Settings | None = None, *, bus: Bus | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or Settings(service=SPEC.name), bus=bus)
