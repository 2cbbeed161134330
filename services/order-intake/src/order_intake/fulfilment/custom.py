"""Custom storefronts (orders sent to our API): nothing to write back; the buyer still
gets our "shipped" message, and the parcels are in ``GET /v1/orders/{id}/fulfilments``."""

from __future__ import annotations

from typing import ClassVar

from order_intake.fulfilment.base import FulfilmentPlugin, FulfilmentRequest, Outcome


class NoWriteBack(FulfilmentPlugin):
    platform: ClassVar[str] = "custom"
    writes_back: ClassVar[bool] = False

    async def fulfil(self, request: FulfilmentRequest) -> Outcome:
        return Outcome("nothing_to_do", detail="custom storefront: nothing to write back")
