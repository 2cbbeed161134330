"""Parcels of an order: how far it is shipped, and the buyer's tracking link. Pure.

A supplier reports the lines a parcel covers (``shipment.tracking_assigned``); an order is
``shipped`` once every line that needs shipping is covered by some parcel, and
``partially_shipped`` before that (DOMAIN step 6)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from order_intake.domain.lifecycle import OrderStatus, can_transition

__all__ = ["ShippingProgress", "progress", "shipping_target", "tracking_url"]

_S = OrderStatus

# The carrier's own tracking page where it has a stable one; ``{n}`` is the number.
_CARRIER_PAGES: Mapping[str, str] = {
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={n}",
    "ups": "https://www.ups.com/track?tracknum={n}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={n}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={n}",
    "sfexpress": "https://www.sf-express.com/we/ow/chn/en/waybill/waybill-detail/{n}",
    "chinapost": "https://track.chinapost.com.cn/#/result?mailNo={n}",
    "ems": "https://www.ems.com.cn/qps/yjcx?mailNum={n}",
    "yunexpress": "https://www.yuntrack.com/parcelTracking?id={n}",
    "4px": "https://track.4px.com/#/result/0/{n}",
    "cainiao": "https://global.cainiao.com/newDetail.htm?mailNoList={n}",
}
_ALIASES: Mapping[str, str] = {
    "sf": "sfexpress",
    "顺丰": "sfexpress",
    "顺丰速运": "sfexpress",
    "中国邮政": "chinapost",
    "chinapostairmail": "chinapost",
    "chinapostregisteredairmail": "chinapost",
    "chinaems": "ems",
    "dhlexpress": "dhl",
    "yun": "yunexpress",
    "云途": "yunexpress",
    "菜鸟": "cainiao",
}
# Everything else: 17TRACK, which detects the carrier from the number (most merchants'
# aggregator, DOMAIN "People and systems").
_FALLBACK = "https://t.17track.net/en#nums={n}"


def _carrier_key(carrier: str) -> str:
    key = re.sub(r"[\s\-_.]+", "", carrier.strip().lower())
    return _ALIASES.get(key, key)


def tracking_url(carrier: str, number: str) -> str:
    """The page where the buyer follows this parcel."""
    page = _CARRIER_PAGES.get(_carrier_key(carrier), _FALLBACK)
    return page.format(n=quote(number, safe=""))


@dataclass(frozen=True)
class ShippingProgress:
    covered: frozenset[uuid.UUID]
    missing: frozenset[uuid.UUID]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def status(self) -> OrderStatus:
        return _S.SHIPPED if self.complete else _S.PARTIALLY_SHIPPED


def progress(
    lines_to_ship: Iterable[uuid.UUID], parcels: Iterable[Iterable[uuid.UUID]]
) -> ShippingProgress:
    """``lines_to_ship``: the order's lines that need shipping; ``parcels``: the lines each
    parcel covers. A line id not of this order is ignored."""
    wanted = frozenset(lines_to_ship)
    covered = frozenset(i for parcel in parcels for i in parcel) & wanted
    return ShippingProgress(covered=covered, missing=wanted - covered)


def shipping_target(current: OrderStatus, shipped: ShippingProgress) -> OrderStatus | None:
    """The status the order moves to now, or None when it stays (already there, or a
    state it cannot leave this way: on hold, cancelled, delivered)."""
    target = shipped.status
    if target == current or not can_transition(current, target):
        return None
    return target
