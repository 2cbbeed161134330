"""Aftersales' reships become new supplier orders linked to the original and the case,
placed through the same machinery (the fake http supplier on a real port, the portal),
once per case whatever the deliveries; their tracking goes out with the case id."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dropship_common.contracts.aftersales import AftersalesReshipRequested, CaseLineV1
from dropship_common.contracts.order_intake import OrderConfirmed
from dropship_common.db import utcnow
from dropship_common.observability import MESSAGES_CONSUMED
from dropship_testkit.tap import eventually
from supplier_gateway.main import SPEC
from supplier_gateway.models import Reship, SupplierOrder, parked_events
from supplier_gateway.reships.service import request_reship
from supplier_gateway.supplier_orders.deadlines import check_deadlines

from ..unit.test_notice_and_customs import _order
from .cj_helpers import FAST, cj_supplier, detail, fake_cj, map_sku
from .test_http_supplier import fake_supplier, http_supplier
from .test_portal import _portal_supplier

pytestmark = pytest.mark.integration


def _handled(kind: str) -> float:
    return sum(
        MESSAGES_CONSUMED.labels("supplier-gateway", kind, o)._value.get()
        for o in ("ok", "duplicate")
    )


async def _true(value: bool) -> bool:
    return value


def reship_of(
    order: OrderConfirmed,
    *,
    sku: str | None = None,
    quantity: int = 1,
    case_id: uuid.UUID | None = None,
    original: str | None = None,
) -> AftersalesReshipRequested:
    """A reship of the order's first line (MUG-1), as aftersales asks for it."""
    return AftersalesReshipRequested(
        case_id=case_id or uuid.uuid4(),
        order_id=order.order_id,
        shop_id=order.shop_id,
        lines=[CaseLineV1(line_id=order.lines[0].line_id, quantity=quantity, sku=sku)],
        original_supplier_order_id=uuid.UUID(original) if original else None,
        reason="lost in transit",
    )


async def _confirmed(gw: Any, tap: Any, order: OrderConfirmed) -> str:
    """Publish the order; the supplier order that was placed."""
    await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
    [placed] = await tap.wait_for("supplier.order_placed", order_id=str(order.order_id))
    so: str = placed.payload["supplier_order_id"]
    return so


async def _publish_twice(gw: Any, event: AftersalesReshipRequested) -> None:
    """Two deliveries of the case's request (two messages: the inbox does not dedupe
    them), waited for until both were handled."""
    before = _handled(event.TYPE)
    corr = str(event.order_id)
    await gw.runtime.bus.publish([event.envelope(correlation_id=corr)])
    await gw.runtime.bus.publish([event.envelope(correlation_id=corr)])
    await eventually(lambda: _true(_handled(event.TYPE) >= before + 2))


async def _of_case(gw: Any, case_id: uuid.UUID) -> list[SupplierOrder]:
    async with gw.runtime.db.sessions() as session:
        return list(
            await session.scalars(sa.select(SupplierOrder).where(SupplierOrder.case_id == case_id))
        )


async def test_reship_placed_once_at_the_http_supplier_and_its_tracking_names_the_case(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    async with fake_supplier() as (fake, url):
        gw = await start_service(SPEC, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#", "shipment.#"])
        order = _order("DE")
        sid, key = await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        original = await _confirmed(gw, tap, order)

        event = reship_of(order, quantity=2)
        await _publish_twice(gw, event)
        [placed] = await tap.wait_for("supplier.reship_placed", case_id=str(event.case_id))
        reship = placed.payload["supplier_order_id"]
        assert placed.payload["original_supplier_order_id"] == original
        assert placed.payload["supplier_id"] == sid
        # the mapping's cost: 2 units at 2 USD
        assert Decimal(placed.payload["goods_cost"]) == Decimal("4")
        assert placed.payload["currency"] == "USD"

        # one new supplier order, at the supplier once, saying what it replaces
        [row] = await _of_case(gw, event.case_id)
        assert row.id == uuid.UUID(reship)
        # its own ship-by date, watched by the deadline worker like any supplier order
        assert row.ship_by is not None and row.deadline == "on_time"
        assert sorted(fake.orders) == sorted([original, reship])
        sent = fake.orders[reship]["notice"]
        assert sent["replacement"] == {
            "case_id": str(event.case_id),
            "replaces_supplier_order_id": original,
            "reason": "lost in transit",
        }
        assert [(i["sku"], i["quantity"]) for i in sent["items"]] == [("MUG-1", 2)]
        assert sent["recipient"]["city"] == "Berlin"  # the address order.confirmed gave
        d = await detail(gw, reship)
        assert d["case_id"] == str(event.case_id) and d["replaces_id"] == original
        assert d["status"] == "placed" and d["notice"]["ship_by"]

        # the supplier ships it: tracking_assigned carries the case
        auth = {"authorization": f"Bearer {key}"}
        r = await gw.client.post(
            f"/v1/supplier/orders/{reship}/ship",
            headers=auth,
            json={"carrier": "China Post", "tracking_numbers": ["RR123456785CN"]},
        )
        assert r.status_code == 200, r.text
        [tracking] = await tap.wait_for("shipment.tracking_assigned", supplier_order_id=reship)
        assert tracking.payload["case_id"] == str(event.case_id)
        assert tracking.payload["line_ids"] == [str(order.lines[0].line_id)]
        # the original's placement was the only supplier.order_placed (a reship does not
        # move the order at order-intake)
        assert len(tap.of_type("supplier.order_placed")) == 1
        assert len(tap.of_type("supplier.reship_placed")) == 1


async def test_two_deliveries_racing_place_one_reship(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    async with fake_supplier() as (fake, url):
        # the first process only places what its own commits signal (its poll is long),
        # so the reship is placed by the process that replays it: the one started below
        gw = await start_service(SPEC, **{**FAST, "placement_poll_seconds": 120})
        tap = await tap_factory(gw.settings, ["supplier.#"])
        order = _order("DE")
        await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        original = await _confirmed(gw, tap, order)
        event = reship_of(order)
        rt = gw.runtime

        async def deliver() -> uuid.UUID | None:
            async with rt.db.transaction() as session:
                return await request_reship(session, rt.outbox, event, str(uuid.uuid4()))

        results = await asyncio.gather(deliver(), deliver(), deliver())
        made = [r for r in results if r is not None]
        assert len(made) == 1
        [placed] = await tap.wait_for("supplier.reship_placed", case_id=str(event.case_id))
        assert placed.payload["supplier_order_id"] == str(made[0])
        assert len(await _of_case(gw, event.case_id)) == 1
        assert sorted(fake.orders) == sorted([original, str(made[0])])
        assert fake.count("POST") == 2  # the original and the reship, nothing more


async def test_exchange_sends_the_other_sku_through_its_mapping(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    async with fake_supplier() as (fake, url):
        gw = await start_service(SPEC, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#"])
        order = _order("DE")
        sid, _ = await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        await map_sku(gw, order.shop_id, sid, "MUG-1-XL", "P-MUG-XL", unit_cost="2.5")
        original = await _confirmed(gw, tap, order)
        event = reship_of(order, sku="MUG-1-XL")
        await gw.runtime.bus.publish([event.envelope(correlation_id=str(order.order_id))])
        [placed] = await tap.wait_for("supplier.reship_placed", case_id=str(event.case_id))
        sent = fake.orders[placed.payload["supplier_order_id"]]["notice"]
        assert [(i["sku"], i["supplier_product_id"]) for i in sent["items"]] == [
            ("MUG-1-XL", "P-MUG-XL")
        ]
        assert sent["items"][0]["line_id"] == str(order.lines[0].line_id)
        assert sent["replacement"]["replaces_supplier_order_id"] == original
        assert Decimal(placed.payload["goods_cost"]) == Decimal("2.5")


async def test_unmapped_sku_and_refusal_fail_the_reship_once(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    async with fake_supplier() as (fake, url):
        gw = await start_service(SPEC, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#"])
        order = _order("DE")
        await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        await _confirmed(gw, tap, order)

        unmapped = reship_of(order, sku="MUG-1-XXL")
        await _publish_twice(gw, unmapped)
        [failed] = await tap.wait_for("supplier.reship_failed", case_id=str(unmapped.case_id))
        assert failed.payload["code"] == "unmapped"
        assert "MUG-1-XXL" in failed.payload["message"]
        assert await _of_case(gw, unmapped.case_id) == []
        assert len(tap.of_type("supplier.reship_failed", case_id=str(unmapped.case_id))) == 1

        # an order supplier-gateway never saw
        stranger = reship_of(_order("DE"))
        await gw.runtime.bus.publish([stranger.envelope(correlation_id="x")])
        [failed] = await tap.wait_for("supplier.reship_failed", case_id=str(stranger.case_id))
        assert failed.payload["code"] == "unknown_order"

        # the supplier refuses it as sent (422): failed at once, not parked
        fake.create_faults.append("422")
        refused = reship_of(order)
        await gw.runtime.bus.publish([refused.envelope(correlation_id=str(order.order_id))])
        [failed] = await tap.wait_for("supplier.reship_failed", case_id=str(refused.case_id))
        assert failed.payload["code"] == "rejected"
        assert "no such product" in failed.payload["message"]
        [row] = await _of_case(gw, refused.case_id)
        assert row.status == "cancelled" and row.next_attempt_at is None
        assert tap.of_type("supplier.reship_placed") == []
        async with gw.runtime.db.sessions() as session:
            rows = await session.execute(sa.select(Reship.case_id, Reship.status))
            states = {case: status for case, status in rows}
        assert states == {
            unmapped.case_id: "failed",
            stranger.case_id: "failed",
            refused.case_id: "failed",
        }


async def test_reship_at_cj_says_it_is_a_replacement(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    async with fake_cj() as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#"])
        order = _order("DE")
        await cj_supplier(gw, cj, order.shop_id)
        original = await _confirmed(gw, tap, order)
        event = reship_of(order)
        await _publish_twice(gw, event)
        [placed] = await tap.wait_for("supplier.reship_placed", case_id=str(event.case_id))
        reship = placed.payload["supplier_order_id"]
        assert sorted(cj.orders) == sorted([original, reship])  # CJ's orderNumber: ours
        body = cj.orders[reship].body
        assert body["remark"].startswith(
            f"REPLACEMENT for our order {original} (case {event.case_id})"
        )
        assert [p["quantity"] for p in body["products"]] == [1]
        assert Decimal(placed.payload["goods_cost"]) == Decimal("3.10")


async def test_reship_by_a_backup_portal_supplier_is_placed_at_once_and_emailed(
    start_service, tap_factory, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    gw = await start_service(SPEC, data_dir=tmp_path)
    tap = await tap_factory(gw.settings, ["supplier.#"])
    order = _order("DE")
    await _portal_supplier(gw, "Mugs Ltd", "MUG-1", order.shop_id)
    backup, _ = await _portal_supplier(gw, "Backup Mugs", "CUP", order.shop_id, "b@mugs.example")
    # the backup's mapping comes second: the order goes to Mugs Ltd
    await map_sku(gw, order.shop_id, backup, "MUG-1", "B-MUG", priority=2)
    original = await _confirmed(gw, tap, order)
    assert (await detail(gw, original))["supplier_id"] != backup
    event = reship_of(order, original=original).model_copy(
        update={"supplier_id": uuid.UUID(backup)}
    )
    await gw.runtime.bus.publish([event.envelope(correlation_id=str(order.order_id))])
    [placed] = await tap.wait_for("supplier.reship_placed", case_id=str(event.case_id))
    assert placed.payload["supplier_id"] == backup
    assert placed.payload["original_supplier_order_id"] == original
    d = await detail(gw, placed.payload["supplier_order_id"])
    assert d["status"] == "placed" and d["replaces_id"] == original

    async def mails() -> list[str]:
        folder = tmp_path / "supplier-mail"
        found = sorted(folder.glob("*.eml")) if folder.exists() else []
        return [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Subject"]
            for p in found
        ]

    [subject] = await eventually(mails)
    assert subject.startswith("Replacement for order #1: please ship by ")

    # its ship-by date is watched like any supplier order's
    [row] = await _of_case(gw, event.case_id)
    assert row.ship_by is not None
    day_after = dt.datetime.combine(row.ship_by, dt.time(12), dt.UTC) + dt.timedelta(days=1)
    await check_deadlines(gw.runtime, day_after)
    [overdue] = await tap.wait_for("supplier.order_overdue", supplier_order_id=str(row.id))
    assert overdue.payload["ship_by"] == row.ship_by.isoformat()


async def test_a_reship_parked_by_the_release_before_is_placed_on_start_once(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    """The release before kept ``aftersales.reship_requested`` in ``parked_events``; a
    gateway starting now places it, and the same message delivered live adds nothing."""
    async with fake_supplier() as (fake, url):
        # the first process only places what its own commits signal (its poll is long),
        # so the reship is placed by the process that replays it: the one started below
        gw = await start_service(SPEC, **{**FAST, "placement_poll_seconds": 120})
        tap = await tap_factory(gw.settings, ["supplier.#"])
        order = _order("DE")
        await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        original = await _confirmed(gw, tap, order)
        event = reship_of(order)
        envelope = event.envelope(correlation_id=str(order.order_id))
        async with gw.runtime.db.transaction() as session:
            await session.execute(
                sa.insert(parked_events).values(
                    message_id=envelope.id,
                    type=envelope.type,
                    envelope=envelope.model_dump(mode="json"),
                    received_at=utcnow(),
                )
            )
        # another gateway process on the same database starts (a restart, a replica)
        again = await start_service(SPEC, database_url=gw.settings.database_url, **FAST)
        [placed] = await tap.wait_for("supplier.reship_placed", case_id=str(event.case_id))
        async with again.runtime.db.sessions() as session:
            left = await session.scalar(sa.select(sa.func.count()).select_from(parked_events))
        assert left == 0
        before = _handled(event.TYPE)
        await gw.runtime.bus.publish([envelope])
        await eventually(lambda: _true(_handled(event.TYPE) > before))
        assert len(await _of_case(gw, event.case_id)) == 1
        assert sorted(fake.orders) == sorted([original, placed.payload["supplier_order_id"]])


async def test_a_failed_reship_is_tried_again_for_the_cases_next_approval_only(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    """Unmapped, the reship fails; the merchant maps the SKU and the agent approves the
    case again (attempt 2): it is placed. The first attempt delivered again, or the
    second once placed, changes nothing."""
    async with fake_supplier() as (fake, url):
        gw = await start_service(SPEC, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#"])
        order = _order("DE")
        sid, _ = await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        await _confirmed(gw, tap, order)
        first = reship_of(order, sku="MUG-1-XL")
        await gw.runtime.bus.publish([first.envelope(correlation_id=str(order.order_id))])
        await tap.wait_for("supplier.reship_failed", case_id=str(first.case_id))
        await _publish_twice(gw, first)  # the first attempt again: still failed, no news
        assert len(tap.of_type("supplier.reship_failed", case_id=str(first.case_id))) == 1

        await map_sku(gw, order.shop_id, sid, "MUG-1-XL", "P-MUG-1-XL", unit_cost="2")
        second = first.model_copy(update={"attempt": 2})
        await _publish_twice(gw, second)  # and delivered twice
        [placed] = await tap.wait_for("supplier.reship_placed", case_id=str(first.case_id))
        [row] = await _of_case(gw, first.case_id)
        assert str(row.id) == placed.payload["supplier_order_id"]
        assert [item["sku"] for item in row.notice["items"]] == ["MUG-1-XL"]
        async with gw.runtime.db.sessions() as session:
            reship = await session.get(Reship, first.case_id)
        assert reship is not None and (reship.status, reship.attempt) == ("placed", 2)
        assert len(tap.of_type("supplier.reship_failed", case_id=str(first.case_id))) == 1
