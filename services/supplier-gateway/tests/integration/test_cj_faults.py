"""Faults at CJ, each ending with the order placed exactly once: a timeout after CJ
created the order, 500s, 429 with Retry-After, CJ's own rate-limit answer, an outage
that opens the circuit breaker."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest

from dropship_testkit.tap import eventually
from supplier_gateway.main import SPEC
from supplier_gateway.models import SupplierOrder

from ..unit.test_notice_and_customs import _order
from .cj_helpers import FAST, attempts, cj_supplier, detail, fake_cj, placed, supplier_order_of

pytestmark = pytest.mark.integration


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


async def test_timeout_after_cj_created_the_order_is_resolved_by_lookup(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    async with fake_cj(qps=20, create_faults=["hang"]) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#"])
        order = _order("DE")
        await cj_supplier(gw, cj, order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)
        d = await placed(gw, so["id"])
        assert cj.count("/createOrderV2") == 1 and len(cj.orders) == 1
        [first] = attempts(d)
        assert first["outcome"] == "placed" and first["found_by_lookup"] is True
        calls = [
            (c["request"].rsplit("/", 1)[1], c.get("status"), c.get("error"))
            for c in first["calls"]
        ]
        assert calls == [
            ("getAccessToken", 200, None),
            ("createOrderV2", None, "ReadTimeout"),
            ("getOrderDetail", 200, None),
        ]
        assert "outcome unknown" in first["error"]
        cj_order = cj.orders[so["id"]]
        r = await gw.client.get(f"/v1/supplier-orders/{so['id']}", headers=gw.admin_headers)
        assert r.json()["status"] == "placed"
        await tap.wait_for("supplier.order_placed", supplier_order_id=so["id"])
        assert len(tap.of_type("supplier.order_placed")) == 1
        # CJ's own id was learnt from the lookup: its LOGISTICS messages find the order
        async with gw.runtime.db.sessions() as session:
            row = await session.get(SupplierOrder, uuid.UUID(so["id"]))
            assert row is not None and row.supplier_ref == cj_order.order_id


async def test_500s_then_success_places_once(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    async with fake_cj(qps=20, create_faults=["500", "500"]) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#"])
        order = _order("DE")
        await cj_supplier(gw, cj, order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)
        d = await placed(gw, so["id"])
        assert cj.count("/createOrderV2") == 3 and len(cj.orders) == 1
        tries = attempts(d)
        assert [t["outcome"] for t in tries] == ["retry", "retry", "placed"]
        # each retry looked the order up (not there, both ways CJ offers) before sending
        # it again
        second = [c["request"].rsplit("/", 1)[1] for c in tries[1]["calls"]]
        assert second == ["getOrderDetail", "list", "createOrderV2", "getOrderDetail", "list"]
        await tap.wait_for("supplier.order_placed", supplier_order_id=so["id"])
        assert len(tap.of_type("supplier.order_placed")) == 1


async def test_429_with_retry_after_is_honoured(start_service) -> None:  # type: ignore[no-untyped-def]
    async with fake_cj(qps=20, create_faults=["429:2"]) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        order = _order("DE")
        await cj_supplier(gw, cj, order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)
        d = await placed(gw, so["id"])
        first, second = attempts(d)
        assert first["outcome"] == "retry" and "rate limit" in first["error"]
        assert first["calls"][-1]["status"] == 429 and first["calls"][-1]["code"] == 1600200
        waited = _at(first["retry_at"]) - _at(d["timeline"][1]["at"])
        assert dt.timedelta(seconds=1.9) <= waited <= dt.timedelta(seconds=2.5)
        create_times = cj.times("/createOrderV2")
        assert len(create_times) == 2 and create_times[1] - create_times[0] >= 1.9
        # Retry-After meant nothing was created: no lookup was needed
        assert [c["request"].rsplit("/", 1)[1] for c in second["calls"]] == ["createOrderV2"]
        assert len(cj.orders) == 1


async def test_cj_rate_limit_answer_is_backed_off(start_service) -> None:  # type: ignore[no-untyped-def]
    """Our client thinks the account has 5 QPS, CJ allows 1: CJ answers 1600200 (no
    Retry-After) and the order waits a second."""
    async with fake_cj(qps=1) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        shop = _order().shop_id
        orders = [_order(c).model_copy(update={"shop_id": shop}) for c in ("DE", "FR")]
        await cj_supplier(gw, cj, shop, qps=5)
        await gw.runtime.bus.publish([o.envelope(correlation_id=str(o.order_id)) for o in orders])
        sos = [await supplier_order_of(gw, o) for o in orders]
        details = [await placed(gw, so["id"]) for so in sos]
        assert len(cj.orders) == 2 and cj.count("/createOrderV2") >= 3
        limited = [
            t
            for d in details
            for t in attempts(d)
            if any(c.get("code") == 1600200 for c in t["calls"])
        ]
        assert limited, "CJ should have answered one call with 1600200"
        for t in limited:
            assert t["outcome"] == "retry"
            assert (_at(t["retry_at"]) - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=1)


async def test_account_qps_is_respected(start_service) -> None:  # type: ignore[no-untyped-def]
    async with fake_cj(qps=1) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        shop = _order().shop_id
        orders = [_order(c).model_copy(update={"shop_id": shop}) for c in ("DE", "FR", "IT")]
        await cj_supplier(gw, cj, shop, qps=1)
        await gw.runtime.bus.publish([o.envelope(correlation_id=str(o.order_id)) for o in orders])
        for o in orders:
            d = await placed(gw, (await supplier_order_of(gw, o))["id"])
            assert [t["outcome"] for t in attempts(d)] == ["placed"]
        times = cj.times("/createOrderV2")
        assert len(times) == 3 and len(cj.orders) == 3  # never refused for the rate
        assert all(b - a >= 0.9 for a, b in itertools.pairwise(times))


async def test_outage_opens_the_breaker_orders_wait_and_go_out_once(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    async with fake_cj(qps=20) as (cj, url):
        gw = await start_service(
            SPEC,
            cj_base_url=url,
            supplier_breaker_threshold=2,
            supplier_breaker_cooldown_seconds=1.0,
            **FAST,
        )
        tap = await tap_factory(gw.settings, ["supplier.#"])
        cj.down = True
        order = _order("DE")
        await cj_supplier(gw, cj, order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)

        async def refused_locally() -> list[dict[str, object]]:
            d = await detail(gw, so["id"])
            return [
                t for t in attempts(d) if t["calls"] == [] and "circuit open" in str(t["error"])
            ]

        [open_attempt, *_] = await eventually(refused_locally)
        assert (await detail(gw, so["id"]))["status"] == "pending"
        hits_while_open = len(cj.calls)
        d = await detail(gw, so["id"])
        retry_at = _at(open_attempt["retry_at"])  # type: ignore[arg-type]
        assert retry_at > _at(d["timeline"][0]["at"])
        cj.down = False
        d = await placed(gw, so["id"])
        assert len(cj.orders) == 1 and len(cj.calls) > hits_while_open
        await tap.wait_for("supplier.order_placed", supplier_order_id=so["id"])
        assert len(tap.of_type("supplier.order_placed")) == 1


async def test_worker_killed_mid_call_leaves_a_lookup_for_the_next_one(start_service) -> None:  # type: ignore[no-untyped-def]
    """CJ created the order, the worker died before hearing back: the next worker (after
    the lease) finds the order at CJ instead of creating a second one."""
    import asyncio

    from supplier_gateway.placement.worker import Placer, make_registry

    async with fake_cj(qps=20, create_faults=["hang"]) as (cj, url):
        settings = {**FAST, "supplier_timeout_seconds": 30.0, "placement_lease_seconds": 1.0}
        gw = await start_service(SPEC, cj_base_url=url, **settings)
        order = _order("DE")
        await cj_supplier(gw, cj, order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)
        await eventually(lambda: _true(cj.count("/createOrderV2") == 1))
        [worker] = [t for t in gw.runtime._tasks if t.get_name().endswith("placement_worker")]
        worker.cancel()  # killed while waiting for CJ's answer
        await asyncio.gather(worker, return_exceptions=True)
        assert (await detail(gw, so["id"]))["status"] == "pending"

        # a new process: new adapters, the token from the database (CJ would refuse a new
        # one within 5 minutes)
        restarted = asyncio.create_task(Placer(gw.runtime, make_registry(gw.runtime)).run())
        try:
            d = await placed(gw, so["id"])
        finally:
            restarted.cancel()
            await asyncio.gather(restarted, return_exceptions=True)
        [only] = attempts(d)  # the killed attempt left no outcome, only the lookup flag
        assert only["found_by_lookup"] is True
        assert [c["request"].rsplit("/", 1)[1] for c in only["calls"]] == ["getOrderDetail"]
        assert cj.count("/getAccessToken") == 1
        assert cj.count("/createOrderV2") == 1 and len(cj.orders) == 1


async def _true(value: bool) -> bool:
    return value


async def test_order_found_shipped_with_a_malformed_number_is_still_placed(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    """The lookup after a timeout finds the order already shipped, with a number we
    refuse: the placement is recorded all the same (once), the refusal is on the
    timeline; before, the whole outcome was rolled back and the order stayed pending."""
    async with fake_cj(qps=20, create_faults=["hang"]) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#", "shipment.#"])
        order = _order("DE")
        await cj_supplier(gw, cj, order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)
        await eventually(lambda: _true(so["id"] in cj.orders))
        cj.ship(so["id"], "China Post", "RR123456784CN")  # wrong check digit
        d = await placed(gw, so["id"])
        [only] = attempts(d)
        assert only["found_by_lookup"] is True
        refused = [e["details"] for e in d["timeline"] if e["kind"] == "supplier_sync"]
        assert len(refused) == 1 and "tracking refused" in refused[0]["error"]
        assert refused[0]["supplier_status"] == "SHIPPED"
        await tap.wait_for("supplier.order_placed", supplier_order_id=so["id"])
        assert len(tap.of_type("supplier.order_placed")) == 1
        assert tap.of_type("shipment.tracking_assigned") == []
        assert cj.count("/createOrderV2") == 1 and len(cj.orders) == 1
