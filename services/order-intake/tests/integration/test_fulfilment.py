"""Tracking back to the storefront and the buyer: ``shipment.tracking_assigned`` on real
PostgreSQL + RabbitMQ, the fulfilment at a fake Shopify / WooCommerce (in-process, behind
FakeNetwork), the buyer's message in the mail folder."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn

from dropship_common.contracts.supplier_gateway import ShipmentTrackingAssigned
from dropship_common.mail import MailFolderSender, MailSender
from dropship_common.messaging.envelope import Envelope
from dropship_testkit.fakes import FakeNetwork, FakeShopifyAdmin, FakeWooCommerce
from dropship_testkit.pytest_plugin import RunningService, free_port
from dropship_testkit.storefront import (
    create_shop,
    shopify_headers,
    shopify_order_body,
    woo_headers,
    woo_order_body,
)
from dropship_testkit.tap import EventTap, eventually
from order_intake.config import SHOPIFY_API_VERSION
from order_intake.fulfilment.repository import FulfilmentRepository
from order_intake.fulfilment.routes import ROUTES_ENV
from order_intake.fulfilment.worker import (
    TRANSPORT_KEY,
    FulfilmentWorker,
    Job,
    Result,
    request_for,
    shop_access,
)
from order_intake.main import SPEC
from order_intake.messages.mailer import Mailer
from order_intake.models import BuyerMessage, Fulfilment, common

pytestmark = pytest.mark.integration

SHOPIFY_DOMAIN = "test-shop.myshopify.com"
SHOPIFY_SECRET = "shpss_test_secret_1"
TOKEN = "shpat_0123456789abcdef"
WOO_DOMAIN = "woo.example.com"
WOO_SECRET = "woo-secret-123"
CK, CS = "ck_0123456789", "cs_abcdef0123"
SHOPIFY_LINES = {466157049: 1, 518995019: 1, 703073504: 1}
NUMBER = "RR123456785CN"
NUMBER_2 = "LX123456785CN"


@dataclass
class World:
    svc: RunningService
    tap: EventTap
    shopify: FakeShopifyAdmin
    net: FakeNetwork
    mail: Path

    @property
    def h(self) -> dict[str, str]:
        return self.svc.admin_headers

    async def get(self, path: str) -> Any:
        r = await self.svc.client.get(path, headers=self.h)
        assert r.status_code == 200, r.text
        return r.json()

    async def publish(self, event: ShipmentTrackingAssigned | Any) -> Envelope:
        envelope: Envelope = event.envelope(correlation_id=str(event.order_id))
        await self.tap.bus.publish([envelope])
        return envelope

    async def processed(self, envelope: Envelope) -> None:
        """The consumer has committed this message (its inbox row)."""
        inbox = common.inbox

        async def probe() -> bool:
            async with self.svc.runtime.db.sessions() as s:
                found = await s.scalar(
                    sa.select(sa.func.count())
                    .select_from(inbox)
                    .where(inbox.c.message_id == uuid.UUID(str(envelope.id)))
                )
            return bool(found)

        await eventually(probe)

    async def fulfilments(self, order_id: str, status: str, count: int = 1) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            body: dict[str, Any] = await self.get(f"/v1/orders/{order_id}/fulfilments")
            done = [f for f in body["fulfilments"] if f["status"] == status]
            return body if len(done) >= count else None

        return await eventually(probe)

    def mails(self, subject_part: str) -> list[email.message.EmailMessage]:
        found = []
        for path in sorted(self.mail.glob("*.eml")):
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if subject_part in str(msg["Subject"]):
                found.append(msg)
        return found  # type: ignore[return-value]

    async def wait_mails(self, subject_part: str, count: int = 1) -> list[Any]:
        async def probe() -> list[Any] | None:
            found = self.mails(subject_part)
            return found if len(found) >= count else None

        return await eventually(probe)


@pytest.fixture
async def w(start_service, tap_factory, tmp_path: Path) -> World:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC, data_dir=tmp_path)
    shopify = FakeShopifyAdmin(TOKEN)
    net = FakeNetwork({SHOPIFY_DOMAIN: shopify})
    svc.runtime.state[TRANSPORT_KEY] = net
    tap = await tap_factory(svc.settings, ["order.#"])
    await create_shop(
        svc.client,
        svc.admin_headers,
        domain=SHOPIFY_DOMAIN,
        secret=SHOPIFY_SECRET,
        admin_credentials={"access_token": TOKEN},
    )
    return World(svc=svc, tap=tap, shopify=shopify, net=net, mail=tmp_path / "mail")


async def shopify_order(w: World) -> dict[str, Any]:
    body = shopify_order_body()
    r = await w.svc.client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, SHOPIFY_SECRET)
    )
    assert r.status_code == 200, r.text
    w.shopify.add_order(450789469, SHOPIFY_LINES)

    async def confirmed() -> dict[str, Any] | None:
        items = (await w.get("/v1/orders?limit=10"))["items"]
        found = [o for o in items if o["external_id"] == "450789469" and o["status"] == "confirmed"]
        return found[0] if found else None

    return await eventually(confirmed)


def tracking(
    order: dict[str, Any],
    lines: list[int] | None = None,
    numbers: list[str] | None = None,
    carrier: str = "China Post",
) -> ShipmentTrackingAssigned:
    chosen = [
        order["lines"][i] for i in (lines if lines is not None else range(len(order["lines"])))
    ]
    return ShipmentTrackingAssigned(
        order_id=uuid.UUID(order["id"]),
        supplier_order_id=uuid.uuid4(),
        supplier_id=uuid.uuid4(),
        line_ids=[uuid.UUID(line["id"]) for line in chosen],
        carrier=carrier,
        tracking_numbers=numbers or [NUMBER],
        shipped_at=dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC),
    )


async def order_of(w: World, order_id: str) -> dict[str, Any]:
    result: dict[str, Any] = await w.get(f"/v1/orders/{order_id}")
    return result


# --- Shopify ---------------------------------------------------------------------------


async def test_tracking_becomes_one_shopify_fulfilment_and_the_buyer_is_told(w: World) -> None:
    order = await shopify_order(w)
    event = tracking(order)
    first = await w.publish(event)
    await w.fulfilments(order["id"], "sent")
    # the same message again, and the same report as a new message: nothing new
    await w.tap.bus.publish([first])
    again = await w.publish(event)
    await w.processed(again)

    [fulfilment] = w.shopify.fulfillments(450789469)
    url = "https://track.chinapost.com.cn/#/result?mailNo=RR123456785CN"
    assert fulfilment["trackingInfo"] == [{"company": "China Post", "number": NUMBER, "url": url}]
    assert fulfilment["notifyCustomer"] is False
    assert sorted(i["lineItemId"] for i in fulfilment["lineItems"]) == [
        f"gid://shopify/LineItem/{i}" for i in sorted(SHOPIFY_LINES)
    ]
    assert len(w.shopify.operations("fulfillmentCreate")) == 1
    # a supported version by default (DROPSHIP_SHOPIFY_API_VERSION), served as asked
    assert {(c["version"], c["served"]) for c in w.shopify.calls} == {
        (SHOPIFY_API_VERSION, SHOPIFY_API_VERSION)
    }

    body = await w.get(f"/v1/orders/{order['id']}/fulfilments")
    [parcel] = body["parcels"]
    assert (parcel["tracking_number"], parcel["tracking_url"]) == (NUMBER, url)
    [row] = body["fulfilments"]
    assert row["attempts"] == 1 and row["external_ref"] == fulfilment["id"]

    shipped = await order_of(w, order["id"])
    assert shipped["status"] == "shipped"
    moves = [
        (e["from_status"], e["to_status"], e["reason"], e["actor"])
        for e in shipped["timeline"]
        if e["kind"] == "status_changed"
    ]
    assert moves[-1] == ("confirmed", "shipped", "every line shipped", "service:supplier-gateway")
    kinds = [e["kind"] for e in shipped["timeline"]]
    assert kinds.count("parcel_shipped") == 1 and kinds.count("fulfilment_written_back") == 1

    [mail] = await w.wait_mails("has shipped")
    text = mail.get_content()
    assert mail["To"] == "bob.norman@hostmail.com"
    assert "Carrier: China Post" in text and f"Tracking number: {NUMBER}" in text
    assert url in text and "rest of your order" not in text


async def test_a_reships_tracking_is_recorded_without_a_second_fulfilment(w: World) -> None:
    """A reship's parcel (``case_id`` set) after the order shipped and was written back:
    the parcel is recorded for the case, the storefront is not asked to fulfil the lines
    again, the status stays, and no second "has shipped" e-mail goes out (aftersales
    tells the buyer of the replacement)."""
    order = await shopify_order(w)
    await w.publish(tracking(order))
    await w.fulfilments(order["id"], "sent")
    await w.wait_mails("has shipped")
    case_id = uuid.uuid4()
    reship = tracking(order, lines=[0], numbers=[NUMBER_2]).model_copy(update={"case_id": case_id})
    await w.processed(await w.publish(reship))

    body = await w.get(f"/v1/orders/{order['id']}/fulfilments")
    assert sorted(p["tracking_number"] for p in body["parcels"]) == sorted([NUMBER, NUMBER_2])
    assert len(body["fulfilments"]) == 1
    assert len(w.shopify.operations("fulfillmentCreate")) == 1
    after = await order_of(w, order["id"])
    assert after["status"] == "shipped"
    [replaced] = [e for e in after["timeline"] if e["kind"] == "replacement_shipped"]
    assert replaced["details"]["case_id"] == str(case_id)
    assert replaced["details"]["tracking_numbers"] == [NUMBER_2]
    assert len(w.mails("has shipped")) == 1
    async with w.svc.runtime.db.sessions() as s:
        messages = await s.scalar(
            sa.select(sa.func.count())
            .select_from(BuyerMessage)
            .where(BuyerMessage.order_id == uuid.UUID(order["id"]))
            .where(BuyerMessage.kind == "order_shipped")
        )
    assert messages == 1


async def test_the_suppliers_tracking_page_is_used_when_it_is_a_valid_https_url(
    w: World,
) -> None:
    """CJ's trackingUrl reaches the parcel, Shopify's fulfilment and the buyer; one that
    is not https is not sent to anyone (our own page instead)."""
    order = await shopify_order(w)
    given = "https://cjpacket.com/track?n=RR123456785CN"
    event = tracking(order, numbers=[NUMBER, NUMBER_2]).model_copy(
        update={
            "tracking_urls": {
                NUMBER.lower(): given,
                NUMBER_2: "http://insecure.example/LX123456785CN",
            }
        }
    )
    await w.publish(event)
    body = await w.fulfilments(order["id"], "sent")
    urls = {p["tracking_number"]: p["tracking_url"] for p in body["parcels"]}
    ours = "https://track.chinapost.com.cn/#/result?mailNo=LX123456785CN"
    assert urls == {NUMBER: given, NUMBER_2: ours}
    [fulfilment] = w.shopify.fulfillments(450789469)
    assert {i["number"]: i["url"] for i in fulfilment["trackingInfo"]} == urls
    [mail] = await w.wait_mails("has shipped")
    text = mail.get_content()
    assert given in text and ours in text and "insecure" not in text


async def test_shopify_500_first_is_retried_to_one_fulfilment(w: World) -> None:
    order = await shopify_order(w)
    w.shopify.fail_next("mutation", "http_500")
    await w.publish(tracking(order))
    body = await w.fulfilments(order["id"], "sent")
    assert len(w.shopify.fulfillments(450789469)) == 1
    assert len(w.shopify.operations("fulfillmentCreate")) == 2
    assert body["fulfilments"][0]["attempts"] == 2


async def test_throttled_queries_wait_for_the_restore_rate(w: World) -> None:
    order = await shopify_order(w)
    w.shopify.fail_next("query", "throttled")
    w.shopify.fail_next("mutation", "throttled")
    await w.publish(tracking(order))
    body = await w.fulfilments(order["id"], "sent")
    assert w.shopify.throttled == 2
    assert len(w.shopify.fulfillments(450789469)) == 1
    assert body["fulfilments"][0]["attempts"] == 1  # waited in place, not rescheduled


async def test_timeout_after_shopify_committed_is_not_sent_twice(w: World) -> None:
    order = await shopify_order(w)
    w.shopify.fail_next("mutation", "drop_response")
    await w.publish(tracking(order))
    body = await w.fulfilments(order["id"], "sent")
    [fulfilment] = w.shopify.fulfillments(450789469)
    assert len(w.shopify.operations("fulfillmentCreate")) == 1
    row = body["fulfilments"][0]
    assert row["attempts"] == 2 and row["external_ref"] == fulfilment["id"]
    timeline = (await order_of(w, order["id"]))["timeline"]
    [done] = [e for e in timeline if e["kind"] == "fulfilment_written_back"]
    assert done["details"]["result"] == "existing"


async def test_partial_then_full_shipment(w: World) -> None:
    order = await shopify_order(w)
    await w.publish(tracking(order, lines=[0, 1], numbers=[NUMBER]))
    await w.fulfilments(order["id"], "sent")
    assert (await order_of(w, order["id"]))["status"] == "partially_shipped"
    [partial] = await w.wait_mails("has shipped")
    assert "rest of your order follows" in partial.get_content()

    await w.publish(tracking(order, lines=[2], numbers=[NUMBER_2], carrier="YunExpress"))
    await w.fulfilments(order["id"], "sent", count=2)
    final = await order_of(w, order["id"])
    assert final["status"] == "shipped"
    moves = [
        (e["from_status"], e["to_status"], e["reason"])
        for e in final["timeline"]
        if e["kind"] == "status_changed"
    ]
    assert moves[-2:] == [
        ("confirmed", "partially_shipped", "2 of 3 lines shipped"),
        ("partially_shipped", "shipped", "every line shipped"),
    ]
    first, second = w.shopify.fulfillments(450789469)
    assert len(first["lineItems"]) == 2 and len(second["lineItems"]) == 1
    assert second["trackingInfo"][0]["number"] == NUMBER_2
    assert (
        second["trackingInfo"][0]["url"]
        == "https://www.yuntrack.com/parcelTracking?id=LX123456785CN"
    )
    mails = await w.wait_mails("has shipped", count=2)
    assert any(
        NUMBER_2 in m.get_content() and "rest of your order" not in m.get_content() for m in mails
    )


async def test_refused_access_token_fails_until_an_operator_retries(w: World) -> None:
    order = await shopify_order(w)
    w.shopify.access_token = "shpat_rotated"
    await w.publish(tracking(order))
    body = await w.fulfilments(order["id"], "failed")
    row = body["fulfilments"][0]
    assert "credentials were refused" in row["last_error"]
    assert w.shopify.fulfillments(450789469) == []

    w.shopify.access_token = TOKEN  # the merchant fixed the app's token
    r = await w.svc.client.post(f"/v1/fulfilments/{row['id']}/retry", headers=w.h)
    assert r.status_code == 200 and r.json()["status"] == "pending"
    await w.fulfilments(order["id"], "sent")
    assert len(w.shopify.fulfillments(450789469)) == 1
    r = await w.svc.client.post(f"/v1/fulfilments/{row['id']}/retry", headers=w.h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_fulfilment_state"


async def _stop_worker(w: World, name: str) -> None:
    [task] = [t for t in w.svc.runtime._tasks if t.get_name().endswith(name)]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _stop_fulfilment_worker(w: World) -> None:
    await _stop_worker(w, "fulfilment_worker")


async def test_a_worker_past_its_lease_gives_unsent_rows_back(w: World) -> None:
    """Sent one after another, a batch can outlive its lease; what it has not started by
    half the lease goes back unsent instead of being sent while another replica, having
    claimed it again, sends it too."""
    await _stop_fulfilment_worker(w)
    order = await shopify_order(w)
    envelope = await w.publish(tracking(order))
    await w.processed(envelope)
    assert await FulfilmentWorker(w.svc.runtime, lease=dt.timedelta(0)).send_due() == 1
    [row] = (await w.get(f"/v1/orders/{order['id']}/fulfilments"))["fulfilments"]
    assert (row["status"], row["attempts"]) == ("pending", 0)
    assert w.shopify.operations("fulfillmentCreate") == []
    assert await FulfilmentWorker(w.svc.runtime).send_due() == 1
    [row] = (await w.get(f"/v1/orders/{order['id']}/fulfilments"))["fulfilments"]
    assert (row["status"], row["attempts"]) == ("sent", 1)
    assert len(w.shopify.fulfillments(450789469)) == 1


async def test_an_outcome_after_the_claim_was_lost_does_not_overwrite(w: World) -> None:
    """A worker whose lease ran out records nothing over the claim that followed it."""
    order = await shopify_order(w)
    await w.publish(tracking(order))
    [row] = (await w.fulfilments(order["id"], "sent"))["fulfilments"]
    fulfilment_id = uuid.UUID(row["id"])

    class Late(FulfilmentWorker):
        async def claim(self) -> list[Job]:
            async with self.runtime.db.sessions() as s:
                f = await s.get(Fulfilment, fulfilment_id)
                o = await FulfilmentRepository(s).orders([uuid.UUID(order["id"])])
                shops = await FulfilmentRepository(s).shops([f.shop_id] if f else [])
                assert f is not None
                request = request_for(f, o[f.order_id])
                return [Job(f.id, shop_access(shops[f.shop_id]), request, f.attempts - 1)]

        async def send(self, job: Job) -> Result:
            return Result(error="fulfillmentCreate: userErrors", permanent=True)

    assert await Late(w.svc.runtime).send_due() == 1
    [after] = (await w.get(f"/v1/orders/{order['id']}/fulfilments"))["fulfilments"]
    assert (after["status"], after["attempts"], after["last_error"]) == (
        "sent",
        row["attempts"],
        row["last_error"],
    )
    timeline = (await order_of(w, order["id"]))["timeline"]
    assert [e for e in timeline if e["kind"] == "fulfilment_failed"] == []


async def _buyer_messages(w: World, order_id: str) -> list[BuyerMessage]:
    async with w.svc.runtime.db.sessions() as s:
        return list(
            await s.scalars(sa.select(BuyerMessage).where(BuyerMessage.order_id == order_id))
        )


async def test_a_mailer_past_its_lease_gives_unsent_messages_back(w: World) -> None:
    """The buyer mailer, like the fulfilment worker, sends nothing it has not started
    within half its lease (another replica may claim it again meanwhile)."""
    await _stop_worker(w, "mail_worker")
    order = await shopify_order(w)
    sender = MailFolderSender(w.mail)
    assert await Mailer(w.svc.runtime, sender, lease=dt.timedelta(0)).send_due() == 1
    [row] = await _buyer_messages(w, order["id"])
    assert (row.status, row.attempts, row.sent_at) == ("pending", 0, None)
    assert w.mails("") == []
    assert await Mailer(w.svc.runtime, sender).send_due() == 1
    [row] = await _buyer_messages(w, order["id"])
    assert row.status == "sent"
    assert len(w.mails("")) == 1


async def test_a_mailer_that_lost_its_claim_records_nothing_over_the_next(w: World) -> None:
    """A send that outlives the lease: another worker claims the message again and
    sends it; the first one's late failure must not put it back in the queue (it would
    go out a third time) nor count against it."""
    await _stop_worker(w, "mail_worker")
    order = await shopify_order(w)
    folder = MailFolderSender(w.mail)
    rt = w.svc.runtime

    class Stalled(MailSender):
        async def send(self, message: email.message.Message) -> None:
            async with rt.db.transaction() as s:  # the lease runs out meanwhile
                await s.execute(
                    sa.update(BuyerMessage)
                    .where(BuyerMessage.order_id == order["id"])
                    .values(next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
                )
            assert await Mailer(rt, folder).send_due() == 1  # another worker sends it
            raise TimeoutError("SMTP server did not answer")

    assert await Mailer(rt, Stalled()).send_due() == 1
    [row] = await _buyer_messages(w, order["id"])
    assert (row.status, row.attempts, row.last_error) == ("sent", 0, None)
    assert len(w.mails("")) == 1


# --- WooCommerce -------------------------------------------------------------------------


async def woo_order(w: World, *, shipment_tracking: bool) -> tuple[dict[str, Any], FakeWooCommerce]:
    woo = FakeWooCommerce(CK, CS, shipment_tracking=shipment_tracking)
    woo.add_order(727)
    w.net.add(WOO_DOMAIN, woo)
    shop_id = await create_shop(
        w.svc.client,
        w.h,
        platform="woocommerce",
        domain=WOO_DOMAIN,
        secret=WOO_SECRET,
        skus=("Foo1", "Bar3"),
        # without the flag the extension is found (or not) by its providers route
        admin_credentials={"consumer_key": CK, "consumer_secret": CS},
    )
    payload = json.loads(woo_order_body())
    payload["line_items"][0]["sku"] = "Foo1"
    body = json.dumps(payload).encode()
    r = await w.svc.client.post(
        f"/webhooks/woocommerce/{shop_id}", content=body, headers=woo_headers(body, WOO_SECRET)
    )
    assert r.status_code == 200, r.text

    async def confirmed() -> dict[str, Any] | None:
        items = (await w.get(f"/v1/orders?shop_id={shop_id}"))["items"]
        return items[0] if items and items[0]["status"] == "confirmed" else None

    return await eventually(confirmed), woo


async def test_woocommerce_with_shipment_tracking(w: World) -> None:
    order, woo = await woo_order(w, shipment_tracking=True)
    woo.fail_next("notes", "drop_response")  # the note is added, the answer lost
    await w.publish(tracking(order, carrier="YunExpress"))
    body = await w.fulfilments(order["id"], "sent")
    store = woo.orders[727]
    [item] = store["trackings"]
    link = f"https://www.yuntrack.com/parcelTracking?id={NUMBER}"
    assert item["tracking_number"] == NUMBER
    assert (item["custom_tracking_provider"], item["custom_tracking_link"]) == ("YunExpress", link)
    assert item["date_shipped"] == "2026-12-01"
    [note] = store["notes"]  # not added a second time after the lost answer
    assert note["customer_note"] is False  # Woo would e-mail the buyer a second time
    assert f"YunExpress: {NUMBER} ({link})" in note["note"]
    assert store["status"] == "completed"
    assert body["fulfilments"][0]["attempts"] == 2
    assert ("POST", "/wp-json/wc/v3/orders/727/notes") in woo.calls
    assert (
        woo.calls.count(("POST", "/wp-json/wc-shipment-tracking/v3/orders/727/shipment-trackings"))
        == 1
    )


async def test_woocommerce_known_provider_and_partial_keeps_processing(w: World) -> None:
    order, woo = await woo_order(w, shipment_tracking=True)
    await w.publish(tracking(order, lines=[0], carrier="DHL", numbers=["JD014600003828374523"]))
    await w.fulfilments(order["id"], "sent")
    store = woo.orders[727]
    assert store["trackings"][0]["tracking_provider"] == "DHL"
    assert store["trackings"][0]["custom_tracking_link"] == ""
    assert store["status"] == "processing"
    assert (await order_of(w, order["id"]))["status"] == "partially_shipped"


async def test_woocommerce_without_shipment_tracking(w: World) -> None:
    order, woo = await woo_order(w, shipment_tracking=False)
    await w.publish(tracking(order))
    await w.fulfilments(order["id"], "sent")
    store = woo.orders[727]
    assert store["trackings"] == []
    # the extension was looked for once (its route is WordPress's 404), nothing posted to it
    tracking_calls = [(r.method, r.url.path) for r in w.net.requests if "tracking" in r.url.path]
    assert tracking_calls == [
        ("GET", "/wp-json/wc-shipment-tracking/v3/shipment-trackings/providers")
    ]
    [note] = store["notes"]
    assert NUMBER in note["note"] and note["customer_note"] is False
    assert store["status"] == "completed"
    [mail] = await w.wait_mails("has shipped")
    assert mail["To"] == "john.doe@example.com"


# --- custom storefronts, and a fake on a real port ------------------------------------------


async def test_custom_storefront_ships_and_tells_the_buyer_with_nothing_to_write_back(
    w: World,
) -> None:
    before = len(w.net.requests)  # the Shopify shop's webhook check when it was added
    shop_id = await create_shop(
        w.svc.client,
        w.h,
        platform="custom",
        domain="shop.example.de",
        secret="custom-secret-1",
        skus=("MUG-1",),
    )
    body = {
        "shop_id": shop_id,
        "external_id": "A-1",
        "number": "A-1",
        "currency": "EUR",
        "lines": [{"sku": "MUG-1", "title": "Mug", "quantity": 1, "unit_price": "9.50"}],
        "shipping_address": {
            "name": "Lena Müller",
            "line1": "Unter den Linden 5",
            "city": "Berlin",
            "postal_code": "10117",
            "country_code": "DE",
            "phone": "030 1234567",
        },
        "buyer": {"email": "lena@example.de", "name": "Lena Müller", "language": "zh"},
    }
    r = await w.svc.client.post("/v1/orders", headers=w.h, json=body)
    assert r.status_code == 201, r.text
    order = r.json()
    await w.publish(tracking(order, carrier="SF Express", numbers=["SF1234567890123"]))
    [mail] = await w.wait_mails("已发货")
    assert "物流单号：SF1234567890123" in mail.get_content()  # noqa: RUF001
    assert (await order_of(w, order["id"]))["status"] == "shipped"
    found = await w.get(f"/v1/orders/{order['id']}/fulfilments")
    assert [p["tracking_number"] for p in found["parcels"]] == ["SF1234567890123"]
    assert found["fulfilments"] == []
    assert w.net.requests[before:] == []


async def test_a_shop_routed_to_a_fake_on_a_local_port(
    start_service, tap_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    fake = FakeShopifyAdmin(TOKEN)
    port = free_port()
    server = uvicorn.Server(
        # log_config=None: uvicorn's own logging config would take over the process's
        # loggers for every later test
        uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_config=None, log_level=None)
    )
    serving = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: _true(server.started))
        monkeypatch.setenv(ROUTES_ENV, f"{SHOPIFY_DOMAIN}=http://127.0.0.1:{port}")
        # the fake is on a local port: the outbound rules allow it explicitly
        svc = await start_service(SPEC, data_dir=tmp_path, outbound_allow="127.0.0.1")
        tap = await tap_factory(svc.settings, ["order.#"])
        await create_shop(
            svc.client,
            svc.admin_headers,
            domain=SHOPIFY_DOMAIN,
            secret=SHOPIFY_SECRET,
            admin_credentials={"access_token": TOKEN},
        )
        w = World(svc=svc, tap=tap, shopify=fake, net=FakeNetwork(), mail=tmp_path / "mail")
        order = await shopify_order(w)
        await w.publish(tracking(order))
        await w.fulfilments(order["id"], "sent")
        [fulfilment] = fake.fulfillments(450789469)
        assert fulfilment["trackingInfo"][0]["number"] == NUMBER
    finally:
        server.should_exit = True
        await serving


async def _true(value: bool) -> bool:
    return value


async def test_a_chinese_shop_thanks_its_buyers_in_chinese(w: World) -> None:
    shop_id = await create_shop(
        w.svc.client,
        w.h,
        platform="custom",
        domain="shop.example.cn",
        secret="custom-secret-2",
        skus=("MUG-1",),
        buyer_language="zh",
    )
    body = {
        "shop_id": shop_id,
        "external_id": "Z-1",
        "number": "Z-1",
        "currency": "CNY",
        "lines": [{"sku": "MUG-1", "title": "Mug", "quantity": 1, "unit_price": "68.00"}],
        "shipping_address": {
            "name": "王芳",
            "line1": "建国路 88 号",
            "city": "北京",
            "postal_code": "100022",
            "country_code": "CN",
            "phone": "138 0013 8000",
        },
        "buyer": {"email": "wang@example.cn", "name": "王芳"},  # no language: the shop's
    }
    r = await w.svc.client.post("/v1/orders", headers=w.h, json=body)
    assert r.status_code == 201 and r.json()["status"] == "confirmed", r.text
    [mail] = await w.wait_mails("感谢您的订单")
    assert "王芳 您好" in mail.get_content() and "预计将于" in mail.get_content()
    assert mail["Content-Language"] == "zh"
