"""The portal's sign-in and forms against an attacker (issue 11 §3): server-side
sessions instead of the key in the cookie, CSRF tokens and Origin checks on every POST,
sign-ins rate-limited per client and per key id, and the supplier API's limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from dropship_common.db import utcnow
from supplier_gateway.main import SPEC
from supplier_gateway.models import PortalSession, SupplierOrder

from ..unit.test_notice_and_customs import _order
from .portal_browser import ORIGIN, Browser
from .test_portal import _portal_supplier

pytestmark = pytest.mark.integration


async def _placed(gw: Any, tap_factory: Any) -> tuple[str, str, str]:
    """A portal supplier with one placed order: (supplier id, its key, the order's id)."""
    tap = await tap_factory(gw.settings, ["supplier.#"])
    order = _order("DE")
    sid, key = await _portal_supplier(gw, "Mugs Ltd", "MUG-1", order.shop_id)
    await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
    [placed] = await tap.wait_for("supplier.order_placed", order_id=str(order.order_id))
    return sid, key, placed.payload["supplier_order_id"]


async def _status(gw: Any, so_id: str) -> str:
    async with gw.runtime.db.sessions() as s:
        row = await s.get(SupplierOrder, uuid.UUID(so_id))
    assert row is not None
    return row.status


async def test_the_cookie_is_a_random_session_id_stored_hashed(start_service, browser_for) -> None:  # type: ignore[no-untyped-def]
    gw = await start_service(SPEC)
    sid, key = await _portal_supplier(gw, "Mugs Ltd", "MUG-1", uuid.uuid4())
    browser: Browser = browser_for(gw)
    r = await browser.login(key)
    assert r.status_code == 303
    [cookie] = [h for h in r.headers.get_list("set-cookie") if h.startswith("dropship_portal=")]
    session_id = cookie.split(";")[0].removeprefix("dropship_portal=")
    assert key not in cookie and key.split("_")[2] not in cookie and len(session_id) >= 40
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/portal"} <= attributes
    async with gw.runtime.db.sessions() as s:
        [row] = list(await s.scalars(sa.select(PortalSession)))
    assert row.id_hash == hashlib.sha256(session_id.encode()).hexdigest()  # never the raw id
    assert str(row.supplier_id) == sid and row.key_id == key.split("_")[1]
    assert row.expires_at - row.created_at == dt.timedelta(hours=12)
    # a browser holding only the key (the old cookie) is not signed in
    browser.client.cookies.clear()
    browser.client.cookies.set("dropship_portal", key, domain="testserver", path="/portal")
    r = await browser.get("/portal")
    assert r.status_code == 303 and r.headers["location"] == "/portal/login"


async def test_sign_out_ends_the_session(start_service, browser_for) -> None:  # type: ignore[no-untyped-def]
    gw = await start_service(SPEC)
    _, key = await _portal_supplier(gw, "Mugs Ltd", "MUG-1", uuid.uuid4())
    browser: Browser = browser_for(gw)
    await browser.login(key)
    page = await browser.get("/portal")
    assert "action='/portal/logout'" in page.text
    session_id = browser.client.cookies["dropship_portal"]
    # sign-out is a CSRF-checked POST: without the token nothing ends
    r = await browser.client.post("/portal/logout", data={"csrf": "x"})
    assert r.status_code == 403
    assert (await browser.get("/portal")).status_code == 200
    r = await browser.post("/portal/logout")
    assert r.status_code == 303 and r.headers["location"] == "/portal/login"
    # the same id again (a copied cookie) opens nothing
    browser.client.cookies.set("dropship_portal", session_id, domain="testserver", path="/portal")
    r = await browser.get("/portal")
    assert r.status_code == 303 and r.headers["location"] == "/portal/login"
    async with gw.runtime.db.sessions() as s:
        [row] = list(await s.scalars(sa.select(PortalSession)))
    assert row.revoked_at is not None


async def test_sessions_end_when_idle_and_after_their_maximum(start_service, browser_for) -> None:  # type: ignore[no-untyped-def]
    gw = await start_service(SPEC)
    _, key = await _portal_supplier(gw, "Mugs Ltd", "MUG-1", uuid.uuid4())
    idle, old = browser_for(gw), browser_for(gw)
    await idle.login(key)
    await old.login(key)
    sessions = {
        name: hashlib.sha256(b.client.cookies["dropship_portal"].encode()).hexdigest()
        for name, b in (("idle", idle), ("old", old))
    }
    now = utcnow()
    async with gw.runtime.db.transaction() as s:
        # unused for 31 minutes (idle limit 30): ends; used a minute ago: lives on
        await s.execute(
            sa.update(PortalSession)
            .where(PortalSession.id_hash == sessions["idle"])
            .values(last_seen_at=now - dt.timedelta(minutes=31))
        )
        # in use, but signed in 12 hours ago: ends
        await s.execute(
            sa.update(PortalSession)
            .where(PortalSession.id_hash == sessions["old"])
            .values(last_seen_at=now - dt.timedelta(minutes=1), expires_at=now)
        )
    for b in (idle, old):
        r = await b.get("/portal")
        assert r.status_code == 303 and r.headers["location"] == "/portal/login"
    fresh = browser_for(gw)
    await fresh.login(key)
    async with gw.runtime.db.sessions() as s:
        kept = set(await s.scalars(sa.select(PortalSession.id_hash)))
    assert sessions["idle"] in kept and sessions["old"] not in kept  # past its maximum: gone
    async with gw.runtime.db.transaction() as s:
        await s.execute(
            sa.update(PortalSession)
            .where(PortalSession.revoked_at.is_(None), PortalSession.expires_at > now)
            .values(last_seen_at=now - dt.timedelta(minutes=29))
        )
    assert (await fresh.get("/portal")).status_code == 200  # and seen now: idle again from here
    async with gw.runtime.db.sessions() as s:
        seen = await s.scalar(sa.select(sa.func.max(PortalSession.last_seen_at)))
    assert seen is not None and seen >= now


async def test_a_revoked_key_or_a_deactivated_supplier_ends_its_sessions_at_once(  # type: ignore[no-untyped-def]
    start_service, browser_for
) -> None:
    gw = await start_service(SPEC)
    sid, key = await _portal_supplier(gw, "Mugs Ltd", "MUG-1", uuid.uuid4())
    browser: Browser = browser_for(gw)
    await browser.login(key)
    keys = gw.runtime.tables.api_keys
    async with gw.runtime.db.transaction() as s:
        await s.execute(
            sa.update(keys).where(keys.c.id == key.split("_")[1]).values(revoked_at=utcnow())
        )
    assert (await browser.get("/portal")).status_code == 303
    assert (await browser.login(key)).status_code == 401

    r = await gw.client.post(f"/v1/suppliers/{sid}/portal-key", headers=gw.admin_headers)
    new_key = r.json()["key"]
    await browser.login(new_key)
    assert (await browser.get("/portal")).status_code == 200
    r = await gw.client.patch(
        f"/v1/suppliers/{sid}", headers=gw.admin_headers, json={"active": False}
    )
    assert r.status_code == 200
    assert (await browser.get("/portal")).status_code == 303
    assert (await browser.login(new_key)).status_code == 401  # nor can it sign in again


async def test_every_post_needs_the_sessions_csrf_token(  # type: ignore[no-untyped-def]
    start_service, browser_for, tap_factory
) -> None:
    gw = await start_service(SPEC)
    _, key, so_id = await _placed(gw, tap_factory)
    browser: Browser = browser_for(gw)
    await browser.login(key)
    page = await browser.get(f"/portal/orders/{so_id}")
    assert page.text.count("name='csrf'") == 4  # accept, ship, reject, sign out
    form = {"content-type": "application/x-www-form-urlencoded"}
    r = await browser.client.post(f"/portal/orders/{so_id}/accept", headers=form, content="")
    assert r.status_code == 403 and "expired" in r.text
    # another session's token (the same supplier's other browser) does not do either
    other = browser_for(gw)
    await other.login(key)
    assert other.csrf != browser.csrf
    r = await browser.client.post(
        f"/portal/orders/{so_id}/accept", headers=form, content=f"csrf={other.csrf}"
    )
    assert r.status_code == 403
    assert await _status(gw, so_id) == "placed"
    assert (await browser.post(f"/portal/orders/{so_id}/accept")).status_code == 303
    assert await _status(gw, so_id) == "accepted"

    # the sign-in form carries its own token, also set in a cookie
    login = browser_for(gw)
    r = await login.client.post("/portal/login", headers=form, content=f"key={key}")
    assert r.status_code == 403 and "dropship_portal=" not in r.headers.get("set-cookie", "")
    await login.get("/portal/login")
    r = await login.client.post("/portal/login", headers=form, content=f"key={key}&csrf=forged")
    assert r.status_code == 403


async def test_posts_from_another_origin_are_refused(  # type: ignore[no-untyped-def]
    start_service, browser_for, tap_factory
) -> None:
    gw = await start_service(SPEC)
    _, key, so_id = await _placed(gw, tap_factory)
    browser: Browser = browser_for(gw)
    await browser.login(key)
    await browser.get(f"/portal/orders/{so_id}")
    accept = f"/portal/orders/{so_id}/accept"
    for headers in (
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "http://testserver"},  # another scheme is another origin
        {"origin": "", "referer": "https://evil.example/portal"},
    ):
        r = await browser.post(accept, headers=headers)
        assert r.status_code == 403 and "not sent from" in r.text, headers
    # neither Origin nor Referer: refused too
    del browser.client.headers["origin"]
    assert (await browser.post(accept)).status_code == 403
    assert await _status(gw, so_id) == "placed"
    # a browser that sends only the Referer, from the portal's own page, is served
    r = await browser.post(accept, headers={"referer": f"{ORIGIN}/portal/orders/{so_id}"})
    assert r.status_code == 303 and await _status(gw, so_id) == "accepted"
    # the sign-in form too
    evil = browser_for(gw)
    await evil.get("/portal/login")
    r = await evil.post("/portal/login", {"key": key}, headers={"origin": "https://evil.example"})
    assert r.status_code == 403


async def test_the_portal_url_setting_is_the_origin_when_set(start_service, browser_for) -> None:  # type: ignore[no-untyped-def]
    gw = await start_service(SPEC, supplier_portal_url="https://portal.example.com/")
    _, key = await _portal_supplier(gw, "Mugs Ltd", "MUG-1", uuid.uuid4())
    browser: Browser = browser_for(gw)
    await browser.get("/portal/login")
    r = await browser.post("/portal/login", {"key": key})  # Origin: https://testserver
    assert r.status_code == 403
    await browser.get("/portal/login")
    r = await browser.post(
        "/portal/login", {"key": key}, headers={"origin": "https://portal.example.com"}
    )
    assert r.status_code == 303


async def test_failed_sign_ins_are_limited_per_client_and_per_key(  # type: ignore[no-untyped-def]
    start_service, browser_for
) -> None:
    limits = {"portal_login_max_failures": 3, "portal_login_window_seconds": 600}
    gw = await start_service(SPEC, **limits)
    _, key = await _portal_supplier(gw, "Mugs Ltd", "MUG-1", uuid.uuid4())
    _, other_key = await _portal_supplier(gw, "Tees Ltd", "TEE-M", uuid.uuid4())
    key_id = key.split("_")[1]

    # one client guessing: its 4th attempt is refused, even with a right key
    guesser = browser_for(gw, "203.0.113.7")
    for n in range(3):
        assert (await guesser.login(f"dsk_guess{n}_{'x' * 43}")).status_code == 401
    r = await guesser.login(other_key)
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
    assert 590 <= int(r.headers["retry-after"]) <= 600

    # one key id guessed from many clients: that key is refused from anywhere ...
    for n in range(3):
        b = browser_for(gw, f"198.51.100.{n + 1}")
        assert (await b.login(f"dsk_{key_id}_{'y' * 43}")).status_code == 401
    r = await browser_for(gw, "192.0.2.50").login(key)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # ... while other keys from other clients still sign in
    assert (await browser_for(gw, "192.0.2.51").login(other_key)).status_code == 303

    # the count is in the database: another replica of the gateway holds to it
    replica = await start_service(SPEC, database_url=gw.settings.database_url, role="api", **limits)
    r = await browser_for(replica, "192.0.2.52").login(key)
    assert r.status_code == 429


async def test_forms_take_the_supplier_apis_limits(  # type: ignore[no-untyped-def]
    start_service, browser_for, tap_factory
) -> None:
    gw = await start_service(SPEC)
    _, key, so_id = await _placed(gw, tap_factory)
    browser: Browser = browser_for(gw)
    await browser.login(key)
    await browser.get(f"/portal/orders/{so_id}")
    many = "\n".join(f"LP{n:014d}" for n in range(2000))
    r = await browser.post(f"/portal/orders/{so_id}/ship", {"carrier": "YTO", "tracking": many})
    assert r.status_code == 400
    assert "Tracking numbers: List should have at most 20 items" in r.text
    assert "<form method='post'" in r.text  # the page, with its forms, to correct it
    r = await browser.post(
        f"/portal/orders/{so_id}/ship", {"carrier": "Y" * 101, "tracking": "LP00123456789012"}
    )
    assert r.status_code == 400 and "Carrier: String should have at most 100" in r.text
    r = await browser.post(
        f"/portal/orders/{so_id}/reject", {"reason": "out_of_stock", "note": "n" * 200_000}
    )
    assert r.status_code == 400 and "Note: String should have at most 1000 characters" in r.text
    r = await browser.post(
        f"/portal/orders/{so_id}/reject", {"reason": "out_of_stock", "restock_date": "soon"}
    )
    assert r.status_code == 400 and "Restock date:" in r.text
    assert await _status(gw, so_id) == "placed"  # nothing changed
    # the same limits as the API's
    api_key = {"authorization": f"Bearer {key}"}
    r = await gw.client.post(
        f"/v1/supplier/orders/{so_id}/ship",
        headers=api_key,
        json={"carrier": "YTO", "tracking_numbers": many.splitlines()},
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["type"] == "too_long"
    # and within them, the form still works
    r = await browser.post(
        f"/portal/orders/{so_id}/reject", {"reason": "out_of_stock", "note": "n" * 1000}
    )
    assert r.status_code == 303 and await _status(gw, so_id) in ("rejected", "cancelled")
