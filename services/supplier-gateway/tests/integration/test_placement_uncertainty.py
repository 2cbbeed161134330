"""An unknown outcome is never an endless silent loop (issue 10 §3): every documented
"no such order" answer settles a lookup, CJ's order list confirms it, lookups that settle
nothing hand the order to an operator (needs_attention) for every adapter, a 429 is a
refusal (no lookup), and a batch claimed by a worker that died before calling is placed
once."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from dropship_common.db import utcnow
from dropship_testkit.tap import eventually
from supplier_gateway.adapters.registry import OUTSIDE_KINDS
from supplier_gateway.main import SPEC
from supplier_gateway.models import SupplierOrder
from supplier_gateway.placement.repository import PlacementRepository
from supplier_gateway.placement.worker import Placer, make_registry

from ..unit.test_notice_and_customs import _order
from .cj_helpers import (
    FAST,
    attempts,
    cj_supplier,
    detail,
    fake_cj,
    placed,
    request_cancellation,
    supplier_order_of,
)
from .test_http_supplier import fake_supplier, http_supplier

pytestmark = pytest.mark.integration

MANY = 10_000  # faults enough to outlast a test


def _names(attempt: dict[str, Any]) -> list[str]:
    """The calls of an attempt, by endpoint (CJ's token call left out)."""
    names = [c["request"].rsplit("/", 1)[1] for c in attempt["calls"]]
    return [n for n in names if n != "getAccessToken"]


async def _status(gw: Any, so_id: str, status: str, timeout: float = 15.0) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        d = await detail(gw, so_id)
        return d if d["status"] == status else None

    return await eventually(reached, timeout=timeout)


async def _resolve(gw: Any, so_id: str, body: dict[str, Any]) -> Any:
    """POST resolve; a lookup still out (409 placement_in_flight) is waited for."""

    async def answered() -> tuple[Any] | None:
        r = await gw.client.post(
            f"/v1/supplier-orders/{so_id}/resolve", headers=gw.admin_headers, json=body
        )
        in_flight = r.status_code == 409 and r.json()["error"]["code"] == "placement_in_flight"
        return None if in_flight else (r,)

    [response] = await eventually(answered)
    return response


def _needs_attention_count(adapter: str, stage: str = "placement") -> float:
    labels = {"adapter": adapter, "stage": stage}
    value = REGISTRY.get_sample_value("supplier_orders_needs_attention_total", labels)
    return value or 0.0


async def _start_cj_order(gw: Any, cj: Any) -> tuple[Any, dict[str, Any]]:
    order = _order("DE")
    await cj_supplier(gw, cj, order.shop_id)
    await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
    return order, await supplier_order_of(gw, order)


@pytest.mark.parametrize("code", [1600300, 1603100])
async def test_every_documented_not_found_code_means_not_placed(start_service, code) -> None:  # type: ignore[no-untyped-def]
    """getOrderDetail's own table says 1600300 "order not found", the global one 1603100:
    either settles the lookup after a 500, and the order list confirms it before the
    order goes out again (before, 1600300 was retried as an error for good)."""
    async with fake_cj(qps=20, create_faults=["500"], not_found_code=code) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        _, so = await _start_cj_order(gw, cj)
        d = await placed(gw, so["id"])
        first, second = attempts(d)
        assert _names(first) == ["createOrderV2", "getOrderDetail", "list"]
        # the 500 left the outcome unknown and CJ does not show the order: an attempt
        # that settled nothing (counted), then a sure "not found" lets it go out again
        assert first["lookup"] == "unsettled" and first["outcome"] == "retry"
        assert _names(second) == ["getOrderDetail", "list", "createOrderV2"]
        assert second["lookup"] == "settled"
        assert [c.get("code") for c in second["calls"][:2]] == [code, 200]
        assert cj.count("/createOrderV2") == 2 and len(cj.orders) == 1
        assert d["unsettled_lookups"] == 0


async def test_the_order_list_finds_what_the_detail_did_not(start_service) -> None:  # type: ignore[no-untyped-def]
    """CJ created the order, the answer was lost, and getOrderDetail says "order not
    found": the order list (the second way) shows it, so it is not sent again."""
    async with fake_cj(qps=20, create_faults=["hang"], lookup_faults=["code:1600300"]) as (
        cj,
        url,
    ):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        _, so = await _start_cj_order(gw, cj)
        d = await placed(gw, so["id"])
        [only] = attempts(d)
        assert only["found_by_lookup"] is True
        assert _names(only) == ["createOrderV2", "getOrderDetail", "list"]
        assert cj.count("/createOrderV2") == 1 and len(cj.orders) == 1
        async with gw.runtime.db.sessions() as session:
            row = await session.get(SupplierOrder, uuid.UUID(so["id"]))
            assert row is not None and row.supplier_ref == cj.orders[so["id"]].order_id


async def test_lookups_that_settle_nothing_need_an_operator(start_service) -> None:  # type: ignore[no-untyped-def]
    """After a 500 CJ answers every lookup with a code that says nothing about the order:
    after 3 such answers the order is needs_attention (the answers on its timeline, on
    the operator's list, counted, logged), still looked up, never sent again; the
    operator says "not placed" and it is placed once."""
    faults = ["code:1600100"] * MANY
    async with fake_cj(qps=50, create_faults=["500"], lookup_faults=faults) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        before = _needs_attention_count("cjdropshipping")
        with capture_logs() as logs:
            _, so = await _start_cj_order(gw, cj)
            d = await _status(gw, so["id"], "needs_attention")
        [change] = [e for e in d["timeline"] if e["to_status"] == "needs_attention"]
        assert change["from_status"] == "pending" and change["cause"] == "system:placement"
        answers = change["details"]["answers"]
        assert len(answers) == 3 and all("CJ 1600100" in a["answer"] for a in answers)
        assert [t.get("lookup") for t in attempts(d)] == ["unsettled"] * 3
        assert d["unsettled_lookups"] == 3
        assert _needs_attention_count("cjdropshipping") == before + 1
        warned = [e for e in logs if e["event"] == "supplier_order_needs_attention"]
        assert warned and warned[0]["log_level"] == "warning"
        assert warned[0]["supplier_order"] == so["id"]

        r = await gw.client.get(
            "/v1/supplier-orders", headers=gw.admin_headers, params={"status": "needs_attention"}
        )
        assert r.status_code == 200
        assert so["id"] in [s["id"] for s in r.json()["supplier_orders"]]
        r = await gw.client.get("/v1/supplier-orders", headers=gw.admin_headers)
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"

        # still looked up (it may settle by itself), never sent again meanwhile
        looked = len(attempts(d))

        async def looked_again() -> bool:
            return len(attempts(await detail(gw, so["id"]))) > looked

        await eventually(looked_again)
        assert (await detail(gw, so["id"]))["status"] == "needs_attention"
        assert cj.count("/createOrderV2") == 1

        # bad resolutions change nothing
        for body in ({"outcome": "placed"}, {"outcome": "maybe"}, {"outcome": "placed", "x": 1}):
            r = await _resolve(gw, so["id"], body)
            assert r.status_code == 422, body
            assert r.json()["error"]["code"] == "validation_error"
        r = await _resolve(gw, str(uuid.uuid4()), {"outcome": "not_placed"})
        assert r.status_code == 404

        r = await _resolve(gw, so["id"], {"outcome": "not_placed", "note": "not in CJ's list"})
        assert r.status_code == 200, r.text
        d = await placed(gw, so["id"])
        [resolved] = [e for e in d["timeline"] if e["kind"] == "resolved"]
        assert resolved["cause"] == "admin-token"  # the operator who said so
        assert resolved["details"]["outcome"] == "not_placed"
        assert _names(attempts(d)[-1]) == ["createOrderV2"]  # the operator's word: no lookup
        assert cj.count("/createOrderV2") == 2 and len(cj.orders) == 1
        r = await _resolve(gw, so["id"], {"outcome": "not_placed"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_awaiting_resolution"


async def test_calls_whose_outcome_stays_unknown_need_an_operator_too(start_service) -> None:  # type: ignore[no-untyped-def]
    """Every createOrderV2 answers 500 (nothing created) and every lookup surely says "no
    such order": each attempt settles nothing, so after 3 the order is needs_attention
    instead of being sent again and again, silently (found by review)."""
    async with fake_cj(qps=50, create_faults=["500"] * MANY) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        before = _needs_attention_count("cjdropshipping")
        _, so = await _start_cj_order(gw, cj)
        d = await _status(gw, so["id"], "needs_attention")
        tries = attempts(d)[:3]
        assert [t.get("lookup") for t in tries] == ["unsettled"] * 3
        assert all("does not show the order" in t["lookup_answer"] for t in tries)
        [change] = [e for e in d["timeline"] if e["to_status"] == "needs_attention"]
        assert len(change["details"]["answers"]) == 3
        assert _needs_attention_count("cjdropshipping") == before + 1
        assert cj.orders == {}  # never placed, and the operator knows
        cj.create_faults.clear()
        r = await _resolve(gw, so["id"], {"outcome": "not_placed"})
        assert r.status_code == 200, r.text
        await placed(gw, so["id"])
        assert len(cj.orders) == 1


async def test_a_sure_answer_settles_a_needs_attention_order_by_itself(start_service) -> None:  # type: ignore[no-untyped-def]
    """Three lookups settle nothing, then CJ answers "order not found" again (both ways):
    the order is placed, once, in the same try."""
    faults = ["code:1600301"] * 3
    async with fake_cj(qps=50, create_faults=["500"], lookup_faults=faults) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        _, so = await _start_cj_order(gw, cj)
        d = await placed(gw, so["id"])
        moves = [(e["from_status"], e["to_status"]) for e in d["timeline"] if e["to_status"]]
        assert moves == [
            (None, "pending"),
            ("pending", "needs_attention"),
            ("needs_attention", "placed"),
        ]
        last = attempts(d)[-1]
        assert _names(last) == ["getOrderDetail", "list", "createOrderV2"]
        assert last["lookup"] == "settled" and d["unsettled_lookups"] == 0
        assert cj.count("/createOrderV2") == 2 and len(cj.orders) == 1


async def test_a_sure_answer_then_a_refused_call_makes_it_pending_again(start_service) -> None:  # type: ignore[no-untyped-def]
    """needs_attention, then CJ says "order not found" and refuses the call (429): the
    order is plain pending again (nothing left to look up), then placed once."""
    faults = ["code:1600301"] * 3
    creates = ["500", "429:1"]
    async with fake_cj(qps=50, create_faults=creates, lookup_faults=faults) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        _, so = await _start_cj_order(gw, cj)
        d = await placed(gw, so["id"])
        moves = [e["to_status"] for e in d["timeline"] if e["to_status"]]
        assert moves == ["pending", "needs_attention", "pending", "placed"]
        back = attempts(d)[-2]
        assert _names(back) == ["getOrderDetail", "list", "createOrderV2"]
        assert back["calls"][-1]["status"] == 429
        assert _names(attempts(d)[-1]) == ["createOrderV2"]
        assert cj.count("/createOrderV2") == 3 and len(cj.orders) == 1


async def test_http_supplier_lookups_that_settle_nothing_and_its_report(start_service) -> None:  # type: ignore[no-untyped-def]
    """The same rule for our http protocol: lookups answered 500 settle nothing (before,
    a 5xx lookup was a "later" and looked up forever); the supplier's own accept then
    settles it as placed."""
    async with fake_supplier(create_faults=["500"], lookup_faults=["500"] * MANY) as (fake, url):
        gw = await start_service(SPEC, **FAST)
        before = _needs_attention_count("http")
        order = _order("DE")
        _, key = await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)
        d = await _status(gw, so["id"], "needs_attention")
        [change] = [e for e in d["timeline"] if e["to_status"] == "needs_attention"]
        assert [a["answer"] for a in change["details"]["answers"]] == [
            "SupplierError: lookup: HTTP 500"
        ] * 3
        assert _needs_attention_count("http") == before + 1
        auth = {"authorization": f"Bearer {key}"}
        r = await gw.client.post(f"/v1/supplier/orders/{so['id']}/accept", headers=auth)
        assert r.status_code == 200 and r.json()["status"] == "accepted"
        d = await detail(gw, so["id"])
        moves = [e["to_status"] for e in d["timeline"] if e["to_status"]]
        assert moves == ["pending", "needs_attention", "placed", "accepted"]
        assert fake.count("POST") == 1


async def test_operator_says_placed_as_the_suppliers_order(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    async with fake_supplier(create_faults=["500"], lookup_faults=["400"] * MANY) as (fake, url):
        gw = await start_service(SPEC, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#"])
        order = _order("DE")
        await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)
        await _status(gw, so["id"], "needs_attention")
        r = await _resolve(gw, so["id"], {"outcome": "placed", "supplier_ref": "SUP-77"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "placed" and r.json()["supplier_ref"] == "SUP-77"
        await tap.wait_for("supplier.order_placed", supplier_order_id=so["id"])
        d = await detail(gw, so["id"])
        [resolved] = [e for e in d["timeline"] if e["kind"] == "resolved"]
        assert resolved["details"]["supplier_ref"] == "SUP-77"
        assert resolved["cause"] == "admin-token"
        assert d["next_attempt_at"] is not None  # looked up like any open order
        assert fake.count("POST") == 1


async def test_a_cancellation_in_needs_attention_reaches_the_supplier(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    """CJ created the order, but its lookups settle nothing: cancelled while an operator
    has not looked, the cancellation is still tried (after 3 answers that settle nothing
    no longer silently) and reaches CJ, which deletes the order, once CJ answers."""
    faults = ["code:1600100"] * MANY
    async with fake_cj(qps=50, create_faults=["hang"], lookup_faults=faults) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#"])
        order, so = await _start_cj_order(gw, cj)
        await _status(gw, so["id"], "needs_attention")
        before = _needs_attention_count("cjdropshipping", "cancellation")
        await request_cancellation(gw, order)
        await _status(gw, so["id"], "cancelled")

        async def flagged() -> list[dict[str, Any]]:
            d = await detail(gw, so["id"])
            tries = [e["details"] for e in d["timeline"] if e["kind"] == "supplier_cancel"]
            return [t for t in tries if "needs_attention" in t]

        [flag] = await eventually(flagged)
        assert flag["outcome"] == "retry" and "CJ 1600100" in flag["error"]
        assert _needs_attention_count("cjdropshipping", "cancellation") == before + 1
        cj.lookup_faults.clear()  # CJ answers again: the order is found, then deleted
        [answer] = await tap.wait_for(
            "supplier.cancellation_answered", order_id=str(order.order_id)
        )
        assert answer.payload["cancelled"] == [so["id"]]
        assert cj.orders[so["id"]].status == "CANCELLED"
        assert cj.count("/deleteOrder") == 1 and cj.count("/createOrderV2") == 1


async def test_a_429_is_a_refusal_and_clears_the_lookup_cj(start_service) -> None:  # type: ignore[no-untyped-def]
    """A 500 leaves a lookup due; the next try looks up, sends, and CJ answers 429: the
    call was refused, so the try after it only sends (no lookup), after Retry-After."""
    async with fake_cj(qps=20, create_faults=["500", "429:1"]) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        _, so = await _start_cj_order(gw, cj)
        d = await placed(gw, so["id"])
        first, second, third = attempts(d)
        assert _names(first) == ["createOrderV2", "getOrderDetail", "list"]
        assert _names(second) == ["getOrderDetail", "list", "createOrderV2"]
        assert second["calls"][-1]["status"] == 429 and "rate limit" in second["error"]
        assert _names(third) == ["createOrderV2"]
        times = cj.times("/createOrderV2")
        assert len(times) == 3 and times[2] - times[1] >= 0.9
        assert len(cj.orders) == 1 and d["unsettled_lookups"] == 0


async def test_a_429_is_a_refusal_and_clears_the_lookup_http(start_service) -> None:  # type: ignore[no-untyped-def]
    async with fake_supplier(create_faults=["500", "429:1"]) as (fake, url):
        gw = await start_service(SPEC, **FAST)
        order = _order("DE")
        await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)
        d = await placed(gw, so["id"])
        first, second, third = attempts(d)
        lookup = f"GET /orders/{so['id']}"
        assert [c["request"] for c in first["calls"]] == ["POST /orders", lookup]
        assert [c["request"] for c in second["calls"]] == [lookup, "POST /orders"]
        assert second["calls"][-1]["status"] == 429 and second["error"] == "HTTP 429"
        assert [c["request"] for c in third["calls"]] == ["POST /orders"]
        post_times = [t for t, m, _p, _ok in fake.calls if m == "POST"]
        assert post_times[2] - post_times[1] >= 0.9
        assert list(fake.orders) == [so["id"]]


async def test_a_batch_claimed_by_a_worker_that_died_before_calling_is_placed_once(
    start_service,
) -> None:  # type: ignore[no-untyped-def]
    """A worker claimed the order (the lookup flag set) and died before calling CJ: after
    the lease, the next worker's lookup hears "order not found" (1600300, not 1603100),
    which settles it; the order is placed once (before, it was looked up for good)."""
    async with fake_cj(qps=20) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        [worker] = [t for t in gw.runtime._tasks if t.get_name().endswith("placement_worker")]
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        _, so = await _start_cj_order(gw, cj)
        async with gw.runtime.db.transaction() as session:
            claimed = await PlacementRepository(session).claim_due(
                utcnow(), OUTSIDE_KINDS, 20, dt.timedelta(seconds=1)
            )
        assert [str(c.supplier_order_id) for c in claimed] == [so["id"]]
        assert cj.calls == []  # ... and the worker died before calling

        restarted = asyncio.create_task(Placer(gw.runtime, make_registry(gw.runtime)).run())
        try:
            d = await placed(gw, so["id"])
        finally:
            restarted.cancel()
            await asyncio.gather(restarted, return_exceptions=True)
        [only] = attempts(d)
        assert _names(only) == ["getOrderDetail", "list", "createOrderV2"]
        codes = {c["request"].rsplit("/", 1)[1]: c.get("code") for c in only["calls"]}
        assert codes["getOrderDetail"] == 1600300
        assert cj.count("/createOrderV2") == 1 and len(cj.orders) == 1
