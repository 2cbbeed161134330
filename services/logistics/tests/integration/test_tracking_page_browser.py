"""The buyer's tracking page in a real headless Chromium (Debian's, installed by
``make test``), on a phone-sized screen: what the buyer sees, checked on the rendered
page and on its screenshot (saved under the test's directory)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import async_playwright

from dropship_testkit.server import serving
from logistics.domain.status import ParcelStatus as S
from logistics.main import SPEC
from logistics.parcels.service import apply_snapshot
from logistics.providers.base import Checkpoint, Snapshot
from logistics.tracking.repository import ScheduleRepository

from .helpers import SHIPPED, assigned, confirmed, parcels_of, processed, publish

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}


def at(hours: float) -> dt.datetime:
    return SHIPPED + dt.timedelta(hours=hours)


async def test_a_buyer_follows_the_parcel_on_a_phone(
    start_service, tap_factory, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    order = confirmed("DE")
    await processed(svc, await publish(svc, order))
    await processed(svc, await publish(svc, assigned(order, ["RR123456785CN"])))
    [parcel] = await parcels_of(svc, order.order_id)
    scans = [
        Checkpoint(at(2), S.INFO_RECEIVED, "InfoReceived", "Electronic information received"),
        Checkpoint(at(20), S.IN_TRANSIT, "InTransit/PickedUp", "Departed Shenzhen hub", "Shenzhen"),
        Checkpoint(
            at(200), S.IN_CUSTOMS, "InTransit/CustomsProcessing", "Arrived at customs", "Frankfurt"
        ),
    ]
    snapshot = Snapshot("RR123456785CN", "chinapost", S.IN_CUSTOMS, "InTransit", scans)
    async with svc.runtime.db.transaction() as session:
        [row] = await ScheduleRepository(session).locked([parcel.id])
        await apply_snapshot(
            session, svc.runtime.outbox, row, snapshot, source="poll", cause="test", now=at(201)
        )

    async with serving(svc.app) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=PHONE, device_scale_factor=1)
        response = await page.goto(f"{base}/track/{parcel.token}")
        assert response is not None and response.status == 200
        shot = tmp_path / "tracking-page.png"
        await page.screenshot(path=str(shot), full_page=False)

        assert await page.title() == "Your parcel RR123456785CN"
        assert (await page.inner_text("#status")) == "At customs in the destination country"
        assert (await page.inner_text("#number")) == "RR123456785CN"
        assert (await page.inner_text("#carrier")) == "China Post"
        assert "Expected delivery" in await page.inner_text("#window")
        milestones = await page.locator("#milestones li").all_inner_texts()
        assert len(milestones) == 3 and "Arrived at customs" in milestones[0]  # newest first
        assert "Customs may ask you" in await page.inner_text("#summary")
        # readable on a phone: nothing wider than the screen, text at a readable size
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        size = await page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert size >= 16
        box = await page.locator("#status").bounding_box()
        await browser.close()

    # the screenshot shows the status where the page put it: dark text on the light card
    image = Image.open(shot).convert("L")
    assert image.size == (PHONE["width"], PHONE["height"])
    assert box is not None and box["y"] + box["height"] < PHONE["height"]
    region = image.crop(
        (int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"]))
    )
    dark = sum(1 for p in region.tobytes() if p < 100)
    assert dark > 50, "no text rendered where the status is"
    assert sum(1 for p in image.tobytes() if p > 230) > 0.5 * PHONE["width"] * PHONE["height"]
