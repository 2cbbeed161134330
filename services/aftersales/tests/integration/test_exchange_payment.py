"""An exchange for a dearer variant (real PostgreSQL + RabbitMQ): the buyer is asked to
pay the difference first (``aftersales.payment_requested``); the replacement is asked of
the supplier only once it is paid (and, when the policy wants the goods back, once they
are back); an unpaid link sends the case back to an agent with nothing shipped."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from aftersales.main import SPEC
from dropship_common.contracts.order_intake import (
    OrderConfirmed,
    OrderPaymentFailed,
    OrderPaymentLinkSent,
    OrderPaymentReceived,
)
from dropship_common.contracts.supplier_gateway import SupplierReshipPlaced

from .test_cases import NOW, _case, _get, _policy, order, processed, publish

pytestmark = pytest.mark.integration


async def _dearer_exchange(svc: Any, o: OrderConfirmed) -> dict[str, Any]:
    """A wrong-size case proposed as an exchange for MUG-XL, 4.00 dearer, approved."""
    line = str(o.lines[0].line_id)
    size = await _case(svc, o, "wrong_size", buyer_words="too small")
    r = await svc.client.post(
        f"/v1/cases/{size['id']}/propose", headers=svc.admin_headers,
        json={"resolution": "exchange", "exchange_skus": {line: "MUG-XL"}, "reason": "size",
              "price_difference": "4.00"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    r = await svc.client.post(f"/v1/cases/{size['id']}/approve", headers=svc.admin_headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _paid(o: OrderConfirmed, case_id: str) -> OrderPaymentReceived:
    return OrderPaymentReceived(
        order_id=o.order_id, shop_id=o.shop_id, case_id=uuid.UUID(case_id),
        storefront_ref="gid://shopify/DraftOrder/7", amount=Decimal("4.00"), currency="EUR",
        paid_at=NOW,
    )  # fmt: skip


async def test_the_difference_is_paid_before_the_replacement_is_asked_for(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    tap = await tap_factory(svc.settings, ["aftersales.#"])
    o = order()
    await processed(svc, await publish(svc, o))
    case = await _dearer_exchange(svc, o)
    assert case["status"] == "resolving"
    [asked] = await tap.wait_for("aftersales.payment_requested", case_id=case["id"])
    assert (Decimal(asked.payload["amount"]), asked.payload["currency"]) == (
        Decimal("4.00"), "EUR"
    )  # fmt: skip
    assert asked.payload["valid_days"] == 14  # the default policy's payment_wait_days
    [approved] = await tap.wait_for("aftersales.buyer_notice", kind="approved")
    assert approved.payload["details"]["amount_due"] == "4.00"
    info = (await _get(svc, case["id"]))["payment_info"]
    assert (info["amount_due"], info["paid_at"]) == ("4.00", None)

    sent = OrderPaymentLinkSent(
        order_id=o.order_id, shop_id=o.shop_id, case_id=uuid.UUID(case["id"]),
        storefront_ref="gid://shopify/DraftOrder/7", amount=Decimal("4.00"), currency="EUR",
        expires_at=NOW,
    )  # fmt: skip
    await processed(svc, await publish(svc, sent))
    seen = await _get(svc, case["id"])
    assert seen["payment_info"]["storefront_ref"] == "gid://shopify/DraftOrder/7"
    assert "payment_link_sent" in [e["kind"] for e in seen["timeline"]]
    assert tap.of_type("aftersales.reship_requested") == []  # not before it is paid

    await processed(svc, await publish(svc, _paid(o, case["id"])))
    await processed(svc, await publish(svc, _paid(o, case["id"])))  # reported twice
    [reship] = await tap.wait_for("aftersales.reship_requested", case_id=case["id"])
    assert reship.payload["lines"][0]["sku"] == "MUG-XL"
    placed = SupplierReshipPlaced(
        order_id=o.order_id, shop_id=o.shop_id, case_id=uuid.UUID(case["id"]),
        supplier_order_id=uuid.uuid4(), original_supplier_order_id=None,
        supplier_id=uuid.uuid4(), placed_at=NOW,
    )  # fmt: skip
    await processed(svc, await publish(svc, placed))
    done = await _get(svc, case["id"])
    assert done["status"] == "resolved"
    assert done["payment_info"]["paid_at"] is not None
    ledger = {(e["kind"], e["state"]): e for e in done["ledger"]}
    assert Decimal(ledger[("payment", "done")]["amount"]) == Decimal("4.00")
    assert ledger[("payment", "done")]["reference"] == "storefront:gid://shopify/DraftOrder/7"
    assert len(tap.of_type("aftersales.reship_requested")) == 1


async def test_with_a_return_the_replacement_waits_for_the_payment_and_the_goods(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    tap = await tap_factory(svc.settings, ["aftersales.#"])
    o = order()
    await _policy(svc, o, exchange_needs_return=True, return_address="Returns, Hamburg")
    await processed(svc, await publish(svc, o))
    case = await _dearer_exchange(svc, o)
    await tap.wait_for("aftersales.payment_requested", case_id=case["id"])
    await processed(svc, await publish(svc, _paid(o, case["id"])))
    assert tap.of_type("aftersales.reship_requested") == []  # paid, the goods not back
    r = await svc.client.post(f"/v1/cases/{case['id']}/return-received",
                              headers=svc.admin_headers)  # fmt: skip
    assert r.status_code == 200
    [reship] = await tap.wait_for("aftersales.reship_requested", case_id=case["id"])
    assert reship.payload["lines"][0]["sku"] == "MUG-XL"


async def test_the_goods_back_but_unpaid_still_wait_and_an_unpaid_link_goes_to_an_agent(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    tap = await tap_factory(svc.settings, ["aftersales.#"])
    o = order()
    await _policy(svc, o, exchange_needs_return=True, return_address="Returns, Hamburg")
    await processed(svc, await publish(svc, o))
    case = await _dearer_exchange(svc, o)
    r = await svc.client.post(f"/v1/cases/{case['id']}/return-received",
                              headers=svc.admin_headers)  # fmt: skip
    assert r.status_code == 200
    assert (await _get(svc, case["id"]))["status"] == "resolving"  # the payment is awaited
    failed = OrderPaymentFailed(
        order_id=o.order_id, shop_id=o.shop_id, case_id=uuid.UUID(case["id"]),
        code="not_paid", message="not paid by 2026-12-15", failed_at=NOW,
    )  # fmt: skip
    await processed(svc, await publish(svc, failed))
    back = await _get(svc, case["id"])
    assert back["status"] == "proposed" and back["payment_info"] is None
    assert "payment failed: not_paid" in back["timeline"][-1]["reason"]
    states = {(e["kind"], e["state"]) for e in back["ledger"]}
    assert ("payment", "released") in states and ("reship", "released") in states
    # a payment reported after the agent took the case back changes nothing
    await processed(svc, await publish(svc, _paid(o, case["id"])))
    assert tap.of_type("aftersales.reship_requested") == []
