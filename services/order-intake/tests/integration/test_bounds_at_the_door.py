"""Bounds at the door, equal to the database's (issue 11, §5), on real PostgreSQL: a
value the columns cannot hold is a 4xx with nothing stored; CR/LF cannot break the
buyer's mail; paging and shop settings are bounded; an unknown shop cannot be told from
a bad signature."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from dropship_testkit.storefront import (
    shopify_headers,
    shopify_order_body,
    woo_headers,
    woo_order_body,
)
from dropship_testkit.tap import eventually
from order_intake.models import BuyerMessage
from order_intake.webhooks import endpoints

from .conftest import DOMAIN, SECRET, Intake

pytestmark = pytest.mark.integration


def _shopify(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = json.loads(shopify_order_body())
    order.update(changes)
    return order


def _line(**changes: Any) -> bytes:
    order = _shopify()
    order["line_items"][0].update(changes)
    return json.dumps(order).encode()


async def post(intake: Intake, body: bytes) -> tuple[int, dict[str, Any]]:
    headers = shopify_headers(body, SECRET, domain=DOMAIN)
    r = await intake.client.post("/webhooks/shopify", content=body, headers=headers)
    return r.status_code, r.json()


@pytest.mark.parametrize(
    "body",
    [
        _line(quantity="Q").replace(b'"Q"', b"1e30"),
        json.dumps(_shopify(id=2**70)).encode(),
        json.dumps(_shopify(total_price="T")).encode().replace(b'"T"', b"1e400"),
        _line(quantity=2**62),
        _line(title="n" * 500_000),
        json.dumps(_shopify(name="#" * 300)).encode(),
    ],
    ids=["quantity-1e30", "id-2**70", "total-1e400", "quantity-2**62", "title-500000", "number"],
)
async def test_a_value_its_column_cannot_hold_is_4xx_and_nothing_is_stored(
    intake: Intake, body: bytes
) -> None:
    status, answer = await post(intake, body)
    assert status in (400, 422), answer
    assert answer["error"]["code"] in ("invalid_json", "validation_error")
    assert answer["error"]["details"] is None or answer["error"]["details"]
    assert await intake.deliveries() == []
    assert await intake.orders() == []


async def test_woocommerce_quantity_and_name_out_of_bounds_are_422(intake: Intake) -> None:
    shop_id = await _woo_shop(intake)
    for edit in ({"quantity": 2**62}, {"name": "n" * 500_000}):
        order = json.loads(woo_order_body())
        order["line_items"][0].update(edit)
        body = json.dumps(order).encode()
        r = await intake.client.post(
            f"/webhooks/woocommerce/{shop_id}",
            content=body,
            headers=woo_headers(body, "woo-s3cret"),
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert await intake.deliveries() == []


async def _woo_shop(intake: Intake) -> str:
    r = await intake.client.post(
        "/v1/shops",
        headers=intake.h,
        json={"platform": "woocommerce", "domain": "example.com", "webhook_secret": "woo-s3cret"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_crlf_in_names_and_email_cannot_break_the_buyers_mail(intake: Intake) -> None:
    injected = "bob@example.com\r\nBcc: everyone@example.net"
    order = _shopify(name="#10\r\n01", email=injected, contact_email=injected)
    order["customer"].update(first_name="Bob\r\nBcc: x@example.net", email=injected)
    order["shipping_address"]["name"] = "Bob\r\nNorman"
    status, _ = await post(intake, json.dumps(order).encode())
    assert status == 200
    stored = await intake.wait_order(str(order["id"]), "confirmed")
    assert stored["number"] == "#10 01"
    assert stored["buyer"]["email"] is None  # dropped: not one address
    assert "\n" not in stored["buyer"]["name"]

    # the mail worker deals with the buyer's message: not stuck failing on a header
    async def settled() -> list[BuyerMessage] | None:
        async with intake.svc.runtime.db.sessions() as s:
            rows = list(
                await s.scalars(
                    sa.select(BuyerMessage).where(BuyerMessage.order_id == stored["id"])
                )
            )
        return rows if rows and all(r.status in ("sent", "no_address") for r in rows) else None

    rows = await eventually(settled)
    assert all("\n" not in r.subject and r.to_address is None for r in rows)


async def test_crlf_in_the_name_of_a_buyer_with_an_address_is_mailed(intake: Intake) -> None:
    order = _shopify(name="#20\r\n02")
    order["customer"]["first_name"] = "Ann\r\nBcc: x@example.net"
    status, _ = await post(intake, json.dumps(order).encode())
    assert status == 200
    stored = await intake.wait_order(str(order["id"]), "confirmed")

    async def sent() -> list[BuyerMessage] | None:
        async with intake.svc.runtime.db.sessions() as s:
            rows = list(
                await s.scalars(
                    sa.select(BuyerMessage).where(BuyerMessage.order_id == stored["id"])
                )
            )
        return rows if rows and all(r.status == "sent" for r in rows) else None

    rows = await eventually(sent)
    assert all(r.to_address and "\n" not in r.subject for r in rows)


# ------------------------------------------------------------------------ enumeration


async def test_an_unknown_shop_gets_the_answer_a_bad_signature_gets(
    intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[tuple[str, ...]] = []
    real = endpoints.verify_hmac_base64

    def spy(body: bytes, signature: str | None, secrets: tuple[str, ...]) -> bool:
        checked.append(tuple(secrets))
        return real(body, signature, secrets)

    monkeypatch.setattr(endpoints, "verify_hmac_base64", spy)
    body = shopify_order_body()

    async def answer(domain: str, secret: str) -> tuple[int, Any]:
        r = await intake.client.post(
            "/webhooks/shopify", content=body, headers=shopify_headers(body, secret, domain=domain)
        )
        return r.status_code, r.json()

    bad_signature = await answer(DOMAIN, "not-the-secret")
    unknown = await answer("nobody-here.myshopify.com", SECRET)
    assert bad_signature == unknown
    assert unknown[0] == 401 and unknown[1]["error"]["code"] == "invalid_signature"
    # the same work: an HMAC was computed for the unknown shop too, against a secret
    # nobody knows
    assert len(checked) == 2 and checked[1] and SECRET not in checked[1]

    r = await intake.client.patch(
        f"/v1/shops/{intake.shop_id}", headers=intake.h, json={"active": False}
    )
    assert r.status_code == 200, r.text
    intake.svc.runtime.state["shop_cache"].clear()
    assert await answer(DOMAIN, SECRET) == unknown  # an inactive shop: the same
    assert await intake.deliveries() == []


# ------------------------------------------------------------------------------ paging


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/products", {"offset": str(2**63)}),
        ("/v1/products", {"offset": "-1"}),
        ("/v1/products", {"limit": str(2**63)}),
        ("/v1/orders", {"cursor": "c" * 10_000}),
        ("/v1/orders", {"limit": str(2**63)}),
        ("/v1/webhook-deliveries", {"limit": str(2**63)}),
    ],
)
async def test_paging_past_its_bounds_is_422(
    intake: Intake, path: str, params: dict[str, str]
) -> None:
    r = await intake.client.get(
        path, headers=intake.h, params={"shop_id": intake.shop_id, **params}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


async def test_products_at_the_largest_offset_is_an_empty_page(intake: Intake) -> None:
    from dropship_common.paging import MAX_OFFSET

    r = await intake.client.get(
        "/v1/products", headers=intake.h, params={"shop_id": intake.shop_id, "offset": MAX_OFFSET}
    )
    assert r.status_code == 200 and r.json() == []


# ------------------------------------------------------------------------ shop settings


@pytest.mark.parametrize(
    "settings",
    [
        {"payment_reminder_days": [3, 20]},  # on the window's last day: too late
        {"payment_reminder_days": [10**12]},
        {"payment_reminder_days": [0]},
        {"payment_reminder_days": list(range(1, 13))},
        {"payment_window_days": 10, "payment_reminder_days": [3, 10]},
        {"name": "n" * 256},
    ],
)
async def test_shop_settings_out_of_bounds_are_422(
    intake: Intake, settings: dict[str, Any]
) -> None:
    r = await intake.client.post(
        "/v1/shops",
        headers=intake.h,
        json={"platform": "shopify", "domain": "other.myshopify.com", "webhook_secret": "s" * 12}
        | settings,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", r.text
    r = await intake.client.patch(f"/v1/shops/{intake.shop_id}", headers=intake.h, json=settings)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", r.text


async def test_a_shorter_window_must_still_hold_the_stored_reminders(intake: Intake) -> None:
    # the default reminders are on days 3, 10 and 17
    r = await intake.client.patch(
        f"/v1/shops/{intake.shop_id}", headers=intake.h, json={"payment_window_days": 15}
    )
    assert r.status_code == 422
    r = await intake.client.patch(
        f"/v1/shops/{intake.shop_id}",
        headers=intake.h,
        json={"payment_window_days": 15, "payment_reminder_days": [3, 10]},
    )
    assert r.status_code == 200 and r.json()["payment_reminder_days"] == [3, 10]
    # no reminders at all, with a window shorter than the stored reminders allow
    r = await intake.client.patch(
        f"/v1/shops/{intake.shop_id}",
        headers=intake.h,
        json={"payment_window_days": 2, "payment_reminder_days": []},
    )
    assert r.status_code == 200 and r.json()["payment_reminder_days"] == []


async def test_a_shop_name_is_one_line(intake: Intake) -> None:
    r = await intake.client.patch(
        f"/v1/shops/{intake.shop_id}", headers=intake.h, json={"name": "Mugs\r\nBcc: x"}
    )
    assert r.status_code == 200 and r.json()["name"] == "Mugs Bcc: x"


# ------------------------------------------------------------------------ invalid_json


@pytest.mark.parametrize(
    "body", [b'{"external_id": "\xff"}', b"[" * 5_000 + b"]" * 5_000], ids=["not-utf8", "nested"]
)
async def test_an_undecodable_body_is_invalid_json_at_the_api_and_the_webhook(
    intake: Intake, body: bytes
) -> None:
    r = await intake.client.post(
        "/v1/orders", content=body, headers={**intake.h, "content-type": "application/json"}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_json")
    status, answer = await post(intake, body)
    assert (status, answer["error"]["code"]) == (400, "invalid_json")
    assert await intake.deliveries() == []
