"""Refunds and discount codes aftersales asks for, carried out at the fake storefronts
(real PostgreSQL + RabbitMQ; the storefronts reached through FakeNetwork): once per
case whatever the deliveries, a reply lost after the storefront committed not paid
twice, never more than is left to refund, two requests at once included."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dropship_common.contracts.aftersales import (
    AftersalesDiscountRequested,
    AftersalesRefundRequested,
)
from dropship_common.messaging.envelope import Envelope
from dropship_testkit.fakes import FakeNetwork, FakeShopifyAdmin, FakeWooCommerce
from dropship_testkit.pytest_plugin import RunningService
from dropship_testkit.storefront import (
    create_shop,
    shopify_headers,
    shopify_order_body,
    woo_headers,
    woo_order_body,
)
from dropship_testkit.tap import EventTap, eventually
from order_intake.credits.worker import idempotency_key
from order_intake.fulfilment.worker import TRANSPORT_KEY
from order_intake.main import SPEC
from order_intake.models import StorefrontCredit, common

pytestmark = pytest.mark.integration

SHOPIFY_DOMAIN = "test-shop.myshopify.com"
SHOPIFY_SECRET = "shpss_credits_secret"
TOKEN = "shpat_credits_0123456789"
WOO_DOMAIN = "woo.example.com"
WOO_SECRET = "woo-credits-secret"
CK, CS = "ck_credits", "cs_credits"
PAID = Decimal("409.94")  # the Shopify fixture order's total


@dataclass
class World:
    svc: RunningService
    tap: EventTap
    shopify: FakeShopifyAdmin
    net: FakeNetwork

    async def publish(self, event: Any) -> Envelope:
        envelope: Envelope = event.envelope(correlation_id=str(event.order_id))
        await self.tap.bus.publish([envelope])
        return envelope

    async def processed(self, envelope: Envelope) -> None:
        inbox = common.inbox

        async def probe() -> bool:
            async with self.svc.runtime.db.sessions() as s:
                found = await s.scalar(
                    sa.select(sa.func.count()).select_from(inbox)
                    .where(inbox.c.message_id == uuid.UUID(str(envelope.id)))
                )  # fmt: skip
            return bool(found)

        await eventually(probe)

    async def credits(self, case_id: uuid.UUID) -> list[StorefrontCredit]:
        async with self.svc.runtime.db.sessions() as s:
            rows = await s.scalars(
                sa.select(StorefrontCredit).where(StorefrontCredit.case_id == case_id)
            )
            return list(rows)

    async def done(self, case_id: uuid.UUID) -> StorefrontCredit:
        async def probe() -> StorefrontCredit | None:
            rows = [r for r in await self.credits(case_id) if r.status in ("done", "failed")]
            return rows[0] if rows else None

        found: StorefrontCredit = await eventually(probe, timeout=30)
        return found


@pytest.fixture
async def w(start_service, tap_factory, tmp_path: Path) -> World:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC, data_dir=tmp_path)
    shopify = FakeShopifyAdmin(TOKEN)
    net = FakeNetwork({SHOPIFY_DOMAIN: shopify})
    svc.runtime.state[TRANSPORT_KEY] = net
    tap = await tap_factory(svc.settings, ["order.#"])
    await create_shop(svc.client, svc.admin_headers, domain=SHOPIFY_DOMAIN,
                      secret=SHOPIFY_SECRET, admin_credentials={"access_token": TOKEN})  # fmt: skip
    return World(svc=svc, tap=tap, shopify=shopify, net=net)


async def confirmed(w: World, shop_id: str | None = None) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        query = f"/v1/orders?shop_id={shop_id}" if shop_id else "/v1/orders?limit=10"
        items = (await w.svc.client.get(query, headers=w.svc.admin_headers)).json()["items"]
        found = [o for o in items if o["status"] == "confirmed"]
        return found[0] if found else None

    order: dict[str, Any] = await eventually(probe)
    return order


async def shopify_order(w: World) -> dict[str, Any]:
    body = shopify_order_body()
    r = await w.svc.client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, SHOPIFY_SECRET)
    )
    assert r.status_code == 200, r.text
    w.shopify.add_order(450789469, {466157049: 1}, paid=PAID, currency="USD")
    return await confirmed(w)


async def woo_order(
    w: World, *, gateway_refunds: bool = True
) -> tuple[dict[str, Any], FakeWooCommerce]:
    woo = FakeWooCommerce(CK, CS)
    woo.add_order(727)
    woo.set_payment(727, "29.35", "USD", gateway_refunds=gateway_refunds)
    w.net.add(WOO_DOMAIN, woo)
    shop_id = await create_shop(
        w.svc.client, w.svc.admin_headers, platform="woocommerce", domain=WOO_DOMAIN,
        secret=WOO_SECRET, skus=("Foo1", "Bar3"),
        admin_credentials={"consumer_key": CK, "consumer_secret": CS},
    )  # fmt: skip
    payload = json.loads(woo_order_body())
    payload["line_items"][0]["sku"] = "Foo1"
    body = json.dumps(payload).encode()
    r = await w.svc.client.post(
        f"/webhooks/woocommerce/{shop_id}", content=body, headers=woo_headers(body, WOO_SECRET)
    )
    assert r.status_code == 200, r.text
    return await confirmed(w, shop_id), woo


def refund(order: dict[str, Any], amount: str, case: uuid.UUID | None = None) -> Any:
    case = case or uuid.uuid4()
    return AftersalesRefundRequested(
        case_id=case, order_id=uuid.UUID(order["id"]), shop_id=uuid.UUID(order["shop_id"]),
        amount=Decimal(amount), currency="USD", reason=f"damaged (case {case})",
    )  # fmt: skip


async def test_a_shopify_refund_is_made_once_when_its_reply_is_lost(w: World) -> None:
    order = await shopify_order(w)
    asked = refund(order, "40.00")
    w.shopify.fail_next("mutation", "drop_response")  # Shopify refunds, the answer is lost
    await w.processed(await w.publish(asked))
    await w.processed(await w.publish(asked))  # delivered twice
    row = await w.done(asked.case_id)
    assert row.status == "done", row.last_error
    [made] = w.shopify.refunds(450789469)
    assert Decimal(made["amount"]) == Decimal("40.00")
    assert f"case {asked.case_id}" in made["note"]
    [recorded] = await w.tap.wait_for("order.refund_recorded")
    assert recorded.payload["case_id"] == str(asked.case_id)
    assert recorded.payload["storefront_refund_id"] == made["id"]
    assert recorded.payload["source"] == "aftersales"
    # every refundCreate carried the case's idempotency key, the same each time
    keys = {c["variables"]["key"] for c in w.shopify.operations("refundCreate")}
    assert len(keys) == 1


async def test_two_refunds_at_once_never_pay_more_than_the_order(w: World) -> None:
    order = await shopify_order(w)
    first, second = refund(order, "300.00"), refund(order, "300.00")  # 600 of 409.94
    await asyncio.gather(w.publish(first), w.publish(second))
    failed = await w.tap.wait_for("order.refund_failed")
    [made] = await w.tap.wait_for("order.refund_recorded")
    assert failed[0].payload["code"] == "over_refundable"
    assert Decimal(failed[0].payload["refundable"]) == PAID - Decimal("300.00")
    assert {failed[0].payload["case_id"], made.payload["case_id"]} == {
        str(first.case_id), str(second.case_id)
    }  # fmt: skip
    assert len(w.shopify.refunds(450789469)) == 1


async def test_shopify_refusing_more_than_is_refundable_goes_back_to_aftersales(
    w: World,
) -> None:
    order = await shopify_order(w)
    # the merchant refunded most of it in Shopify's admin, which we have not heard of
    w.shopify.orders["gid://shopify/Order/450789469"].refunds.append(
        {"id": "gid://shopify/Refund/1", "note": "by hand", "amount": "400.00"}
    )
    asked = refund(order, "40.00")
    await w.processed(await w.publish(asked))
    row = await w.done(asked.case_id)
    assert row.status == "failed"
    [failed] = await w.tap.wait_for("order.refund_failed")
    assert (failed.payload["code"], Decimal(failed.payload["refundable"])) == (
        "over_refundable", Decimal("9.94")
    )  # fmt: skip
    assert len(w.shopify.refunds(450789469)) == 1  # only the merchant's


async def test_a_woocommerce_refund_lost_after_commit_is_found_not_repeated(w: World) -> None:
    order, woo = await woo_order(w)
    asked = refund(order, "10.00")
    woo.fail_next("refunds", "drop_response")
    await w.processed(await w.publish(asked))
    row = await w.done(asked.case_id)
    assert row.status == "done", row.last_error
    [made] = woo.refunds(727)
    assert made["refunded_payment"] is True and f"case {asked.case_id}" in made["reason"]
    [recorded] = await w.tap.wait_for("order.refund_recorded")
    assert recorded.payload["storefront_refund_id"] == str(made["id"])
    assert recorded.payload["gateway_refunded"] is True


async def test_a_woocommerce_gateway_without_refunds_is_recorded_with_a_note(w: World) -> None:
    order, woo = await woo_order(w, gateway_refunds=False)
    asked = refund(order, "5.00")
    await w.processed(await w.publish(asked))
    row = await w.done(asked.case_id)
    assert row.status == "done" and row.gateway_refunded is False
    [made] = woo.refunds(727)
    assert made["refunded_payment"] is False
    assert any("pay the buyer back by hand" in n["note"] for n in woo.orders[727]["notes"])
    [recorded] = await w.tap.wait_for("order.refund_recorded")
    assert recorded.payload["gateway_refunded"] is False


async def test_a_discount_code_is_created_once_at_shopify_and_woocommerce(w: World) -> None:
    order = await shopify_order(w)
    case = uuid.uuid4()
    asked = AftersalesDiscountRequested(
        case_id=case, order_id=uuid.UUID(order["id"]), shop_id=uuid.UUID(order["shop_id"]),
        amount=Decimal("5.00"), currency="USD", reason=f"delayed (case {case})",
    )  # fmt: skip
    w.shopify.fail_next("mutation", "drop_response")
    await w.processed(await w.publish(asked))
    await w.processed(await w.publish(asked))
    row = await w.done(case)
    assert row.status == "done", row.last_error
    [(code, discount)] = w.shopify.discounts.items()
    assert code == row.code and discount["usageLimit"] == 1
    [customer] = discount["context"]["customers"]["add"]  # only the order's customer
    assert customer.startswith("gid://shopify/Customer/")
    assert discount["customerGets"]["value"]["discountAmount"]["amount"] == "5.00"
    [created] = await w.tap.wait_for("order.discount_created")
    assert created.payload["code"] == code

    woo_view, woo = await woo_order(w)
    case = uuid.uuid4()
    coupon = AftersalesDiscountRequested(
        case_id=case, order_id=uuid.UUID(woo_view["id"]),
        shop_id=uuid.UUID(woo_view["shop_id"]), amount=Decimal("3.00"), currency="USD",
        reason="delayed",
    )  # fmt: skip
    woo.fail_next("coupons", "drop_response")
    await w.processed(await w.publish(coupon))
    row = await w.done(case)
    assert row.status == "done", row.last_error
    [made] = woo.coupons
    assert (made["discount_type"], made["usage_limit"], made["usage_limit_per_user"]) == (
        "fixed_cart", 1, 1
    )  # fmt: skip
    assert made["email_restrictions"] and "@" in made["email_restrictions"][0]


async def test_a_refund_that_failed_is_tried_again_for_the_cases_next_approval_only(
    w: World,
) -> None:
    """Refused (more than Shopify still has refundable), the agent approves a smaller
    amount: attempt 2 is a new try with a key of its own; attempt 1 again changes
    nothing."""
    order = await shopify_order(w)
    w.shopify.orders["gid://shopify/Order/450789469"].refunds.append(
        {"id": "gid://shopify/Refund/1", "note": "by hand", "amount": "400.00"}
    )
    asked = refund(order, "40.00")
    await w.processed(await w.publish(asked))
    assert (await w.done(asked.case_id)).status == "failed"
    await w.processed(await w.publish(asked))  # the first attempt again: a duplicate
    [row] = await w.credits(asked.case_id)
    assert (row.status, row.round) == ("failed", 0)

    second = asked.model_copy(update={"amount": Decimal("9.00"), "attempt": 2})
    await w.processed(await w.publish(second))

    async def refunded() -> StorefrontCredit | None:
        [row] = await w.credits(asked.case_id)
        return row if row.status == "done" else None

    row = await eventually(refunded, timeout=30)
    assert (row.round, row.amount) == (1, Decimal("9.00"))
    made = [r for r in w.shopify.refunds(450789469) if r["id"] != "gid://shopify/Refund/1"]
    assert [Decimal(r["amount"]) for r in made] == [Decimal("9.00")]
    [recorded] = await w.tap.wait_for("order.refund_recorded", case_id=str(asked.case_id))
    assert Decimal(recorded.payload["amount"]) == Decimal("9.00")
    keys = {c["variables"]["key"] for c in w.shopify.operations("refundCreate")}
    assert keys == {idempotency_key(asked.case_id, "refund", 1)}  # the new round's own
    assert idempotency_key(asked.case_id, "refund", 1) != idempotency_key(asked.case_id, "refund")
