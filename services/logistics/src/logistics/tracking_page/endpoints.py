"""``GET /track/{token}``: where the parcel is, for the buyer, in the shop's language
(en, zh; ``?lang=`` overrides). The token is unguessable (an HMAC of the parcel under
a key derived from the deployment's secret, :mod:`dropship_common.tracking_links`),
sent in the "shipped" e-mail. The page shows the carrier, the number, the milestones and the
expected window: no name, no address (logistics holds none). Server-rendered,
readable on a phone, no script."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from dropship_common.carriers import tracking_url, valid_tracking_url
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

# the page's words per language (a file: ruff rightly flags full-width punctuation in code)
TEXTS: dict[str, dict[str, str]] = json.loads(
    (Path(__file__).parent / "texts.json").read_text(encoding="utf-8")
)


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
    given = parcel.supplier_tracking_url
    page = (given if valid_tracking_url(given) else None) or tracking_url(
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
