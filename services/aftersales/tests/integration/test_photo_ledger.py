"""The evidence store holds only what cases hold (real PostgreSQL + RabbitMQ, photos in
a directory): a photo whose case never committed (the process died in between) is
deleted by the sweep once old enough; a redacted order's photos are no longer shown and
are deleted by the next sweep; the photos of live cases stay."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from aftersales.evidence.ledger import remember, sweep
from aftersales.evidence.photos import Limits, check_photo
from aftersales.evidence.storage import storage_of
from aftersales.evidence.uploads import new_keys, store
from aftersales.models import StoredPhoto
from dropship_common.contracts.order_intake import OrderRedacted
from dropship_common.tracking_links import signed_id

from .buyer_helpers import cases_of, csrf_of, known, order, photo
from .test_buyer_page import report_form, start, stored

pytestmark = pytest.mark.integration


async def _report(svc: Any, o: Any) -> None:
    token = signed_id("order", o.order_id)
    page = await svc.client.get(f"/help/{token}")
    r = await svc.client.post(
        f"/help/{token}", data=report_form(o, csrf_of(page.text)),
        files=[("photos", ("IMG_0001.jpg", photo(), "image/jpeg"))],
    )  # fmt: skip
    assert r.status_code == 303, r.text


def _files(tmp_path: Any) -> set[str]:
    return {p.name for p in stored(tmp_path) if not p.name.endswith(".type")}


async def _rows(svc: Any) -> dict[str, StoredPhoto]:
    async with svc.runtime.db.sessions() as s:
        return {p.key: p for p in await s.scalars(sa.select(StoredPhoto))}


async def test_a_photo_no_case_kept_is_swept_and_a_cases_photo_stays(
    start_service, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    svc = await start(start_service, tmp_path, photo_orphan_after_seconds=0)
    o = order()
    await known(svc, o)
    await _report(svc, o)
    [case] = await cases_of(svc, o.order_id)
    [kept] = [e["key"] for e in case.evidence]
    assert (await _rows(svc))[kept].case_id == case.id
    # a process that recorded and stored a photo, then died before writing its case
    clean = check_photo(photo(), Limits())
    keys = new_keys([clean])
    await remember(svc.runtime, keys)
    await store(storage_of(svc.runtime), [clean], dt.datetime.now(dt.UTC), keys)
    assert _files(tmp_path) == {kept, *keys}
    assert await sweep(svc.runtime) == {"photos_deleted": 1}
    assert _files(tmp_path) == {kept}
    assert set(await _rows(svc)) == {kept}
    assert await sweep(svc.runtime) == {"photos_deleted": 0}


async def test_a_redacted_orders_photos_are_hidden_then_deleted(start_service, tmp_path) -> None:  # type: ignore[no-untyped-def]
    svc = await start(start_service, tmp_path)
    o, other = order(), order()
    for each in (o, other):
        await known(svc, each)
        await _report(svc, each)
    [case] = await cases_of(svc, o.order_id)
    [key] = [e["key"] for e in case.evidence]
    redacted = OrderRedacted(order_id=o.order_id, shop_id=o.shop_id,
                             redacted_at=dt.datetime.now(dt.UTC))  # fmt: skip
    await known(svc, redacted)  # type: ignore[arg-type]
    [case] = await cases_of(svc, o.order_id)
    assert case.buyer_words is None
    assert "key" not in case.evidence[0] and case.evidence[0]["removed_at"]
    r = await svc.client.get(f"/v1/cases/{case.id}", headers=svc.admin_headers)
    assert "url" not in r.json()["evidence"][0]
    r = await svc.client.get(f"/v1/cases/{case.id}/evidence/0", headers=svc.admin_headers)
    assert r.status_code == 404
    assert await sweep(svc.runtime) == {"photos_deleted": 1}
    [other_case] = await cases_of(svc, other.order_id)
    assert _files(tmp_path) == {other_case.evidence[0]["key"]}  # the other order's stays
    assert key not in await _rows(svc)
