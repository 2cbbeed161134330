"""The body of ``POST /v1/orders``: a custom storefront's order plus its ``shop_id``."""

from __future__ import annotations

import uuid

from order_intake.storefronts.custom import CustomOrderIn


class CustomOrderRequest(CustomOrderIn):
    shop_id: uuid.UUID
