"""The storefront plugins, by platform."""

from __future__ import annotations

from collections.abc import Mapping

from order_intake.fulfilment.base import FulfilmentPlugin
from order_intake.fulfilment.custom import NoWriteBack
from order_intake.fulfilment.shopify import ShopifyFulfilment
from order_intake.fulfilment.woocommerce import WooCommerceFulfilment

PLUGINS: Mapping[str, type[FulfilmentPlugin]] = {
    p.platform: p for p in (ShopifyFulfilment, WooCommerceFulfilment, NoWriteBack)
}


def plugin_for(platform: str) -> type[FulfilmentPlugin]:
    return PLUGINS.get(platform, NoWriteBack)


def writes_back(platform: str) -> bool:
    return plugin_for(platform).writes_back
