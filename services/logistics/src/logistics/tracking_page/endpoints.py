"""``GET /track/{token}``: where the parcel is, for the buyer, in the shop's language
(en, zh; ``?lang=`` overrides). The token is unguessable (32 random bytes), sent in
the "shipped" e-mail. The page shows the carrier, the number, the milestones and the
expected window: no name, no address (logistics holds none). Server-rendered,
readable on a phone, no script."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from dropship_common.carriers import tracking_url
from dropship_common.deps import Runtime
from dropship_common.errors import PATH_ERRORS, NotFound, error_responses
from logistics.domain.carriers import carrier_name
from logistics.models import Destination
from logistics.parcels.repository import ParcelRepository, TimelineRepository

router = APIRouter(tags=["buyer tracking page"])

TEMPLATES = Environment(
    loader=PackageLoader("logistics.tracking_page", "templates"),
    autoescape=select_autoescape(["html"], default=True),
    undefined=StrictUndefined,
)

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your parcel",
        "carrier": "Carrier",
        "number": "Tracking number",
        "expected": "Expected delivery",
        "delivered_on": "Delivered on",
        "no_scans": "The carrier has not scanned the parcel yet.",
        "carrier_page": "Follow it on the carrier's site",
        "pending": "Waiting for the carrier's first scan",
        "info_received": "Label created, waiting for the carrier",
        "in_transit": "On its way",
        "in_customs": "At customs in the destination country",
        "out_for_delivery": "Out for delivery",
        "available_for_pickup": "Ready for pickup",
        "delivery_failed": "Delivery attempted",
        "delivered": "Delivered",
        "exception": "Delayed: the carrier reported a problem",
        "returning": "On its way back to the sender",
        "returned_to_sender": "Returned to the sender",
        "expired": "No recent news from the carrier",
        "lost": "Reported lost: we will contact you",
        "customs_notice": "Customs may ask you for information or duties to release it.",
        "silent_notice": "Tracking on this route stops after the parcel leaves China. "
        "If it has not arrived by the end of the window, please ask your local post office.",
        "pickup_notice": "Collect it with the tracking number at the carrier's point.",
    },
    "zh": {
        "title": "您的包裹",
        "carrier": "承运商",
        "number": "运单号",
        "expected": "预计送达",
        "delivered_on": "送达日期",
        "no_scans": "承运商尚未扫描该包裹。",
        "carrier_page": "在承运商网站查询",
        "pending": "等待承运商首次扫描",
        "info_received": "已生成面单，等待承运商揽收",
        "in_transit": "运输途中",
        "in_customs": "目的国海关处理中",
        "out_for_delivery": "派送中",
        "available_for_pickup": "可以取件",
        "delivery_failed": "派送未成功",
        "delivered": "已签收",
        "exception": "延误：承运商报告了问题",
        "returning": "正在退回寄件人",
        "returned_to_sender": "已退回寄件人",
        "expired": "承运商近期无更新",
        "lost": "已报告丢失：我们会与您联系",
        "customs_notice": "海关可能需要您提供信息或缴纳税费以便放行。",
        "silent_notice": "此线路的包裹离开中国后不再更新物流信息。如在预计时间后仍未收到，请联系当地邮局。",
        "pickup_notice": "请凭运单号到承运商网点取件。",
    },
}


def _language(requested: str | None, destination: Destination | None) -> str:
    for lang in (requested, destination.language if destination else None):
        if lang and lang.split("-")[0].lower() in TEXTS:
            return lang.split("-")[0].lower()
    return "en"


def _day(value: dt.date, lang: str) -> str:
    return (
        f"{value.year}年{value.month}月{value.day}日"
        if lang == "zh"
        else value.strftime("%d %b %Y")
    )


@router.get(
    "/track/{token}",
    response_class=HTMLResponse,
    responses=error_responses(PATH_ERRORS),
)
async def tracking_page(
    token: str,
    rt: Runtime,
    lang: str | None = Query(default=None, max_length=10),
) -> HTMLResponse:
    if len(token) > 64:
        raise NotFound("no such parcel")
    async with rt.db.sessions() as session:
        parcel = await ParcelRepository(session).by_token(token)
        if parcel is None:
            raise NotFound("no such parcel")
        events = await TimelineRepository(session).of_parcel(parcel.id)
        destination = await session.get(Destination, parcel.order_id)
    language = _language(lang, destination)
    t = TEXTS[language]
    milestones: list[dict[str, Any]] = [
        {
            "at": f"{_day(e.occurred_at.date(), language)} {e.occurred_at:%H:%M}",
            "at_iso": e.occurred_at.isoformat(),
            "text": e.description or t.get(e.status or "", e.status or ""),
            "location": e.location,
        }
        for e in reversed(events)
        if e.kind == "scan"
    ]
    notice = None
    if parcel.status == "in_customs":
        notice = t["customs_notice"]
    elif parcel.status == "available_for_pickup":
        notice = t["pickup_notice"]
    elif parcel.silent_route and parcel.status not in ("delivered", "returned_to_sender"):
        notice = t["silent_notice"]
    carrier = carrier_name(parcel.carrier) or parcel.carrier_given or "—"
    page = parcel.supplier_tracking_url or tracking_url(
        parcel.carrier or parcel.carrier_given or "", parcel.tracking_number
    )
    html = TEMPLATES.get_template("track.html").render(
        lang=language,
        t=t,
        number=parcel.tracking_number,
        carrier=carrier,
        status_text=t.get(parcel.status, parcel.status),
        delivered_on=_day(parcel.delivered_at.date(), language) if parcel.delivered_at else None,
        window_from=_day(parcel.window_from, language),
        window_to=_day(parcel.window_to, language),
        notice=notice,
        milestones=milestones,
        carrier_page=page,
    )
    return HTMLResponse(
        html,
        headers={
            "Cache-Control": "private, max-age=60",
            "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )
