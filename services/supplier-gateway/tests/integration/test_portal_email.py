"""Each new portal supplier order is e-mailed to the supplier, with a link to it in the
portal (mail folder transport: the same dropship_common.mail as order-intake's)."""

from __future__ import annotations

import email
import email.policy
import uuid
from pathlib import Path

import pytest

from dropship_common.observability import MESSAGES_CONSUMED
from dropship_testkit.tap import eventually
from supplier_gateway.main import SPEC
from supplier_gateway.supplier_emails.repository import SupplierEmailRepository

from ..unit.test_notice_and_customs import _order
from .test_portal import _portal_supplier

pytestmark = pytest.mark.integration


async def test_new_portal_order_is_emailed_with_a_link(
    start_service, tap_factory, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    gw = await start_service(
        SPEC, data_dir=tmp_path, supplier_portal_url="https://portal.example.com/"
    )
    tap = await tap_factory(gw.settings, ["supplier.#"])
    order = _order("DE")
    mugs, _ = await _portal_supplier(gw, "Mugs Ltd", "MUG-1", order.shop_id, "orders@mugs.example")
    await _portal_supplier(gw, "Tees Ltd", "TEE-M", order.shop_id, None)  # no contact e-mail
    await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
    placed = await tap.wait_for("supplier.order_placed", count=2, order_id=str(order.order_id))
    so = next(e.payload["supplier_order_id"] for e in placed if e.payload["supplier_id"] == mugs)
    folder = tmp_path / "supplier-mail"

    async def sent() -> list[Path]:
        return sorted(folder.glob("*.eml")) if folder.exists() else []

    [path] = await eventually(sent)
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "orders@mugs.example"
    assert msg["X-Dropship-Supplier-Order-Id"] == so
    assert msg["Subject"].startswith("New order #1: please ship by ")
    text = msg.get_content()
    assert f"https://portal.example.com/portal/orders/{so}" in text
    assert "2 x Mug-1 (your product Mugs Ltd-MUG-1) [colour: blue]" in text
    assert "to DE by" in text
    assert (
        "Lena" not in text and "Unter den Linden" not in text
    )  # personal data stays in the portal
    # recorded as sent; the same order confirmed again (a new message) sends nothing more
    again = order.envelope(correlation_id=str(order.order_id))

    def handled() -> float:
        return sum(
            MESSAGES_CONSUMED.labels("supplier-gateway", "order.confirmed", o)._value.get()
            for o in ("ok", "duplicate")
        )

    before = handled()
    await gw.runtime.bus.publish([again])
    await eventually(lambda: _true(handled() > before))

    async def recorded() -> str | None:
        async with gw.runtime.db.sessions() as session:
            row = await SupplierEmailRepository(session).for_supplier_order(uuid.UUID(so))
            return row.status if row and row.status == "sent" else None

    assert await eventually(recorded) == "sent"
    assert len(await sent()) == 1


async def _true(value: bool) -> bool:
    return value
