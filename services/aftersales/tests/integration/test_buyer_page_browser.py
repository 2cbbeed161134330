"""The buyer's pages in a real headless Chromium (Debian's, installed by ``make test``)
on a phone-sized screen: the form filled and a photo attached as a buyer would, the case
page it lands on, the Chinese page; screenshots saved under the test's directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import async_playwright

from aftersales.main import SPEC
from dropship_common.tracking_links import signed_id
from dropship_testkit.server import serving

from .buyer_helpers import cases_of, known, order, photo

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}


def sensible(shot: Path) -> Image.Image:
    """A real screenshot of a light page with dark text on it."""
    assert shot.stat().st_size > 5_000
    image = Image.open(shot).convert("L")
    assert image.size == (PHONE["width"], PHONE["height"])
    pixels = image.tobytes()
    assert sum(1 for p in pixels if p > 230) > 0.4 * len(pixels)  # mostly light
    assert sum(1 for p in pixels if p < 100) > 500  # and text on it
    return image


async def test_a_buyer_reports_a_problem_with_a_photo_on_a_phone(
    start_service, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC, data_dir=tmp_path / "data")
    o = order()
    await known(svc, o)
    picture = tmp_path / "broken-mug.jpg"
    picture.write_bytes(photo())

    async with serving(svc.app) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=PHONE, device_scale_factor=1)
        response = await page.goto(f"{base}/help/{signed_id('order', o.order_id)}")
        assert response is not None and response.status == 200
        assert await page.title() == "Report a problem with your order"
        assert "Blue mug" in await page.inner_text("#lines")
        # readable on a phone: nothing wider than the screen, text at a readable size
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert await page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 16
        await page.screenshot(path=str(tmp_path / "help-form.png"))

        await page.fill(f"#qty-{o.lines[0].line_id}", "1")
        await page.select_option("#reason", "damaged")
        await page.fill("#description", "The handle came off in the box.")
        await page.set_input_files("#photos", str(picture))
        async with page.expect_navigation():
            await page.click("button[type=submit]")

        assert "/cases/" in page.url
        assert await page.title() == "Your request"
        assert (await page.inner_text("#status")) == "Being reviewed"
        assert (await page.inner_text("#type")) == "Damaged item"
        assert (await page.inner_text("#photo-count")) == "1"
        shot = tmp_path / "case-page.png"
        await page.screenshot(path=str(shot))
        box = await page.locator("#status").bounding_box()

        zh = await browser.new_page(viewport=PHONE, device_scale_factor=1)
        await zh.goto(f"{page.url.split('?')[0]}?lang=zh")
        assert (await zh.inner_text("#status")) == "审核中"
        assert "接下来会怎样" in await zh.inner_text("#summary")
        await zh.goto(f"{base}/help/{signed_id('order', o.order_id)}?lang=zh")
        assert await zh.title() == "订单问题反馈"
        zh_shot = tmp_path / "help-form-zh.png"
        await zh.screenshot(path=str(zh_shot))
        heading = await zh.evaluate(
            "(() => { const r = document.createRange();"
            " r.selectNodeContents(document.querySelector('h1'));"
            " const b = r.getBoundingClientRect(); return [b.x, b.y, b.width, b.height]; })()"
        )
        await browser.close()

    [case] = await cases_of(svc, o.order_id)
    assert case.status == "proposed" and len(case.evidence) == 1
    assert case.buyer_words == "The handle came off in the box."
    image = sensible(shot)
    # the Chinese heading is drawn in glyphs, not in six identical "missing glyph" boxes
    x, y, width, height = heading
    zh_image = sensible(zh_shot)
    cells = {
        zh_image.crop((int(x + n * width / 6), int(y), int(x + (n + 1) * width / 6),
                       int(y + height))).tobytes()
        for n in range(6)
    }  # fmt: skip
    assert len(cells) == 6
    # the status is drawn where the page put it
    assert box is not None and box["y"] + box["height"] < PHONE["height"]
    region = image.crop(
        (int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"]))
    )
    assert sum(1 for p in region.tobytes() if p < 100) > 50, "no text where the status is"


async def test_a_forged_photo_comes_back_to_the_form_and_nothing_is_kept(
    start_service, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC, data_dir=tmp_path / "data")
    o = order()
    await known(svc, o)
    forged = tmp_path / "photo.jpg"
    forged.write_bytes(b"<script>document.location='https://evil.example'</script>")

    async with serving(svc.app) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=PHONE, device_scale_factor=1)
        await page.goto(f"{base}/help/{signed_id('order', o.order_id)}")
        await page.fill(f"#qty-{o.lines[1].line_id}", "1")
        await page.select_option("#reason", "wrong_size")
        await page.set_input_files("#photos", str(forged))
        async with page.expect_navigation():
            await page.click("button[type=submit]")
        errors = await page.inner_text("#errors")
        assert "Photo 1 (photo.jpg) was refused: not a JPEG, PNG, WebP or HEIC photo" in errors
        assert await page.input_value(f"#qty-{o.lines[1].line_id}") == "1"  # kept as filled
        await page.screenshot(path=str(tmp_path / "refused.png"))
        await browser.close()

    assert await cases_of(svc, o.order_id) == []
    assert not (tmp_path / "data" / "evidence").exists()
