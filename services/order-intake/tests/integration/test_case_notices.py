"""Aftersales' messages to the buyer (``aftersales.buyer_notice``) on real PostgreSQL +
RabbitMQ, in the mail folder: one e-mail per case and kind whatever arrives twice; the
shipped and delivered e-mails link to the order's help page on aftersales."""

from __future__ import annotations

import re
import uuid
from typing import Any, get_args

import pytest
import sqlalchemy as sa

from dropship_common.contracts.aftersales import AftersalesBuyerNotice, BuyerNoticeKind
from dropship_common.contracts.logistics import ShipmentStatusChanged
from dropship_common.tracking_links import id_of, parcel_token
from order_intake.models import BuyerMessage

from .test_fulfilment import NUMBER, World, shopify_order, tracking
from .test_fulfilment import w as w  # the fixture
from .test_parcel_updates import changed

pytestmark = pytest.mark.integration

HELP = "https://help.example.com"
TRACK = "https://track.example.com"
DETAILS: dict[str, dict[str, str]] = {
    "approved": {"next_step": "reship"},
    "return_instructions": {"return_address": "Return Dept, Beijing", "rma": "RMA-4711"},
    "refund_sent": {"amount": "12.50", "currency": "USD"},
    "replacement_shipped": {"tracking_number": NUMBER},
    "discount_code": {"code": "SORRY-7Q2X", "amount": "5.00", "currency": "USD"},
    "rejected": {"reason": "the photos show the item was used"},
}


def configure(w: World) -> None:
    w.svc.runtime.settings.__dict__["aftersales_base_url"] = HELP
    w.svc.runtime.settings.__dict__["tracking_page_base_url"] = TRACK


def notice(order: dict[str, Any], case: uuid.UUID, kind: str) -> AftersalesBuyerNotice:
    return AftersalesBuyerNotice(
        case_id=case,
        order_id=uuid.UUID(order["id"]),
        shop_id=None,
        kind=kind,  # type: ignore[arg-type]
        case_type="damaged",
        case_page=f"/cases/{case}",
        details=DETAILS.get(kind, {}),
    )


async def messages(w: World, order_id: str) -> list[BuyerMessage]:
    async with w.svc.runtime.db.sessions() as s:
        return list(
            await s.scalars(sa.select(BuyerMessage).where(BuyerMessage.order_id == order_id))
        )


async def test_each_notice_kind_is_one_e_mail_whatever_arrives_twice(w: World) -> None:
    configure(w)
    order = await shopify_order(w)
    so = tracking(order)
    await w.processed(await w.publish(so))  # the replacement's parcel is known
    case = uuid.uuid4()
    kinds: tuple[str, ...] = get_args(BuyerNoticeKind)
    for kind in kinds:
        event = notice(order, case, kind)
        first = await w.publish(event)
        await w.tap.bus.publish([first])  # the same message redelivered
        await w.processed(first)
        await w.processed(await w.publish(event))  # the same notice, a new message

    rows = [m for m in await messages(w, order["id"]) if m.kind.startswith("case_")]
    assert sorted(m.kind for m in rows) == sorted(f"case_{k}" for k in kinds)
    assert {m.dedupe_key for m in rows} == {str(case)}
    assert {m.language for m in rows} == {"en"}
    page = f"{HELP}/cases/{case}"
    assert all(page in m.body for m in rows)
    by_kind = {m.kind: m.body for m in rows}
    assert "we send the items to you again" in by_kind["case_approved"]
    assert "RMA-4711" in by_kind["case_return_instructions"]
    assert "12.50 USD" in by_kind["case_refund_sent"]
    assert "SORRY-7Q2X" in by_kind["case_discount_code"]
    assert "the photos show the item was used" in by_kind["case_rejected"]
    # the replacement's tracking page on logistics, signed for its parcel
    link = f"{TRACK}/track/{parcel_token(so.supplier_order_id, NUMBER)}"
    assert (
        NUMBER in by_kind["case_replacement_shipped"]
        and link in by_kind["case_replacement_shipped"]
    )
    [mail] = await w.wait_mails("was approved")
    assert mail["To"] == "bob.norman@hostmail.com"
    # a second case is its own message
    await w.processed(await w.publish(notice(order, uuid.uuid4(), "case_received")))
    received = [m for m in await messages(w, order["id"]) if m.kind == "case_case_received"]
    assert len(received) == 2


async def test_a_chinese_buyer_gets_the_notice_in_chinese(w: World) -> None:
    configure(w)
    order = await shopify_order(w)
    r = await w.svc.client.patch(
        f"/v1/shops/{order['shop_id']}", headers=w.h, json={"buyer_language": "zh"}
    )
    assert r.status_code == 200, r.text
    case = uuid.uuid4()
    await w.processed(await w.publish(notice(order, case, "refund_sent")))
    [mail] = await w.wait_mails("退款已发出")
    text = mail.get_content()
    assert "12.50 USD" in text and f"{HELP}/cases/{case}" in text
    assert mail["Content-Language"] == "zh"


async def test_shipped_and_delivered_e_mails_link_to_the_orders_help_page(w: World) -> None:
    configure(w)
    order = await shopify_order(w)
    event = tracking(order)
    await w.processed(await w.publish(event))
    [shipped] = await w.wait_mails("has shipped")
    found = re.search(rf"{HELP}/help/(\S+)", shipped.get_content())
    assert found is not None, shipped.get_content()
    assert id_of("order", found.group(1)) == uuid.UUID(order["id"])

    delivered: ShipmentStatusChanged = changed(
        order, event.supplier_order_id, "out_for_delivery", "delivered", 160, "delivered"
    )
    await w.processed(await w.publish(delivered))
    [mail] = await w.wait_mails("was delivered")
    assert f"{HELP}/help/{found.group(1)}" in mail.get_content()
