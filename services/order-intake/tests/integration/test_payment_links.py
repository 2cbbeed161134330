"""Payment links aftersales asks for (a dearer exchange's difference), made at the fake
storefronts (real PostgreSQL + RabbitMQ; the storefronts reached through FakeNetwork):
one link per case whatever the deliveries, a reply lost after the storefront made it
found rather than made again, the buyer e-mailed the link once, the payment seen and
published, the order it turns into never taken for one to fulfil, an unpaid link given
up when it expires."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dropship_common.contracts.aftersales import AftersalesPaymentRequested
from dropship_testkit.fakes import FakeNetwork, FakeShopifyAdmin
from dropship_testkit.storefront import (
    create_shop,
    shopify_headers,
    shopify_order,
    woo_headers,
    woo_order_body,
)
from dropship_testkit.tap import eventually
from order_intake.fulfilment.worker import TRANSPORT_KEY
from order_intake.main import SPEC
from order_intake.models import BuyerMessage, Order, StorefrontCredit, WebhookDelivery

from .test_credits import (
    SHOPIFY_DOMAIN,
    SHOPIFY_SECRET,
    TOKEN,
    WOO_SECRET,
    World,
    woo_order,
)
from .test_credits import (
    shopify_order as shopify_confirmed,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def w(start_service, tap_factory, tmp_path: Path) -> World:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC, data_dir=tmp_path, payment_check_seconds=0.2)
    shopify = FakeShopifyAdmin(TOKEN)
    net = FakeNetwork({SHOPIFY_DOMAIN: shopify})
    svc.runtime.state[TRANSPORT_KEY] = net
    tap = await tap_factory(svc.settings, ["order.#"])
    await create_shop(svc.client, svc.admin_headers, domain=SHOPIFY_DOMAIN,
                      secret=SHOPIFY_SECRET, admin_credentials={"access_token": TOKEN})  # fmt: skip
    return World(svc=svc, tap=tap, shopify=shopify, net=net)


def payment(order: dict[str, Any], amount: str = "7.50") -> AftersalesPaymentRequested:
    case = uuid.uuid4()
    return AftersalesPaymentRequested(
        case_id=case, order_id=uuid.UUID(order["id"]), shop_id=uuid.UUID(order["shop_id"]),
        amount=Decimal(amount), currency="USD",
        reason=f"exchange price difference (case {case})",
    )  # fmt: skip


async def mails(w: World, order_id: str) -> list[BuyerMessage]:
    async with w.svc.runtime.db.sessions() as s:
        rows = await s.scalars(
            sa.select(BuyerMessage).where(
                BuyerMessage.order_id == uuid.UUID(order_id),
                BuyerMessage.kind == "case_payment_link",
            )
        )
        return list(rows)


async def processed_webhook(w: World, delivery: str) -> None:
    """The delivery applied by the webhook worker (whatever it did with it)."""

    async def probe() -> bool:
        async with w.svc.runtime.db.sessions() as s:
            status = await s.scalar(
                sa.select(WebhookDelivery.status).where(WebhookDelivery.delivery_id == delivery)
            )
        return status == "processed"

    await eventually(probe)


async def order_count(w: World) -> int:
    async with w.svc.runtime.db.sessions() as s:
        return int(await s.scalar(sa.select(sa.func.count()).select_from(Order)) or 0)


async def test_a_shopify_payment_link_is_made_once_mailed_and_seen_paid(w: World) -> None:
    order = await shopify_confirmed(w)
    asked = payment(order)
    w.shopify.fail_next("mutation", "drop_response")  # the draft order is made, reply lost
    await w.processed(await w.publish(asked))
    await w.processed(await w.publish(asked))  # delivered twice
    [sent] = await w.tap.wait_for("order.payment_link_sent", case_id=str(asked.case_id))
    [draft] = w.shopify.draft_orders.values()  # one draft order, found again by its tag
    assert sent.payload["storefront_ref"] == draft["id"]
    assert draft["tags"] == [f"dropship-case-{asked.case_id}"]
    assert draft["customAttributes"] == [
        {"key": "dropship_payment_for_case", "value": str(asked.case_id)}
    ]
    assert (draft["totalPrice"], draft["currencyCode"]) == ("7.50", "USD")
    assert draft["email"] == "bob.norman@hostmail.com"
    [mail] = await mails(w, order["id"])
    assert draft["invoiceUrl"] in mail.body and "7.50 USD" in mail.body
    # the draft order, once paid, is an order at Shopify whose webhook comes to us: it is
    # the buyer's payment, not an order to send
    orders_before = await order_count(w)
    body = shopify_order(
        id=5_550_001, name="#D1001", note_attributes=[
            {"name": "dropship_payment_for_case", "value": str(asked.case_id)}
        ],
    )  # fmt: skip
    headers = shopify_headers(body, SHOPIFY_SECRET, webhook_id="wh-payment-order")
    r = await w.svc.client.post("/webhooks/shopify", content=body, headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    await processed_webhook(w, "wh-payment-order")
    assert await order_count(w) == orders_before
    w.shopify.pay_draft_order(draft["id"])
    [paid] = await w.tap.wait_for("order.payment_received", case_id=str(asked.case_id))
    assert (Decimal(paid.payload["amount"]), paid.payload["storefront_ref"]) == (
        Decimal("7.50"), draft["id"]
    )  # fmt: skip
    assert await order_count(w) == orders_before
    assert len(w.shopify.operations("draftOrderCreate")) == 1
    [row] = await w.credits(asked.case_id)
    assert (row.status, row.payment_url) == ("done", draft["invoiceUrl"])


async def test_a_draft_completed_with_the_payment_pending_is_not_paid(w: World) -> None:
    order = await shopify_confirmed(w)
    asked = payment(order)
    await w.processed(await w.publish(asked))
    [sent] = await w.tap.wait_for("order.payment_link_sent", case_id=str(asked.case_id))
    looks_before = len(w.shopify.operations("draftOrder"))
    w.shopify.pay_draft_order(sent.payload["storefront_ref"], pending=True)

    async def looked_after_it_was_completed() -> bool:
        # two more looks: a look under way when it was completed may have read it before
        return len(w.shopify.operations("draftOrder")) >= looks_before + 2

    await eventually(looked_after_it_was_completed)

    async def between_looks() -> StorefrontCredit | None:  # "sending" while a look is under way
        [row] = await w.credits(asked.case_id)
        return row if row.status != "sending" else None

    row = await eventually(between_looks)
    assert row.status == "open"
    assert w.tap.of_type("order.payment_received") == []


async def test_a_woocommerce_payment_link_lost_after_commit_is_found_and_paid(w: World) -> None:
    order, woo = await woo_order(w)
    asked = payment(order, "4.65")
    woo.fail_next("order_create", "drop_response")
    await w.processed(await w.publish(asked))
    [sent] = await w.tap.wait_for("order.payment_link_sent", case_id=str(asked.case_id))
    [made] = woo.created  # found again by searching for the case, not made twice
    resource = woo.orders[made]["resource"]
    assert sent.payload["storefront_ref"] == str(made)
    assert resource["status"] == "pending" and resource["total"] == "4.65"
    assert {"key": "dropship_payment_for_case", "value": str(asked.case_id)} in [
        {k: m[k] for k in ("key", "value")} for m in resource["meta_data"]
    ]
    assert resource["fee_lines"][0]["tax_status"] == "none"
    [mail] = await mails(w, order["id"])
    assert resource["payment_url"] in mail.body
    # its webhook (order.created), as WooCommerce sends it: the buyer's payment, not an
    # order to send
    orders_before = await order_count(w)
    wooed = json.loads(woo_order_body())
    wooed.update(id=made, number=str(made), status="pending",
                 meta_data=[{"id": 9, "key": "dropship_payment_for_case",
                             "value": str(asked.case_id)}])  # fmt: skip
    body = json.dumps(wooed).encode()
    headers = woo_headers(body, WOO_SECRET, delivery_id="wc-payment-order")
    r = await w.svc.client.post(
        f"/webhooks/woocommerce/{order['shop_id']}", content=body, headers=headers
    )
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    await processed_webhook(w, "wc-payment-order")
    assert await order_count(w) == orders_before
    woo.pay_order(made)
    [paid] = await w.tap.wait_for("order.payment_received", case_id=str(asked.case_id))
    assert paid.payload["storefront_ref"] == str(made)


async def test_an_unpaid_link_is_given_up_when_it_expires(w: World) -> None:
    order = await shopify_confirmed(w)
    asked = payment(order)
    await w.processed(await w.publish(asked))
    await w.tap.wait_for("order.payment_link_sent", case_id=str(asked.case_id))
    async with w.svc.runtime.db.transaction() as s:
        await s.execute(
            sa.update(StorefrontCredit)
            .where(StorefrontCredit.case_id == asked.case_id)
            .values(ends_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        )
    [failed] = await w.tap.wait_for("order.payment_failed", case_id=str(asked.case_id))
    assert failed.payload["code"] == "not_paid"
    [row] = await w.credits(asked.case_id)
    assert row.status == "failed"


async def test_a_payment_in_another_currency_is_refused_at_once(w: World) -> None:
    order = await shopify_confirmed(w)
    asked = payment(order).model_copy(update={"currency": "EUR"})
    await w.processed(await w.publish(asked))
    [failed] = await w.tap.wait_for("order.payment_failed", case_id=str(asked.case_id))
    assert failed.payload["code"] == "storefront_error" and "USD" in failed.payload["message"]
    assert await w.credits(asked.case_id) == []
    assert w.shopify.draft_orders == {}
