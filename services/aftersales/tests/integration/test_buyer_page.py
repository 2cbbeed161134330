"""The buyer's pages against the app (real PostgreSQL + RabbitMQ), driven over HTTP as
a browser would: find the order, report a problem with photos, the case page, more
photos; forged, oversized and cross-site submissions leave nothing behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from aftersales.main import SPEC
from dropship_common.tracking_links import signed_id

from .buyer_helpers import EMAIL, cases_of, csrf_of, known, noisy_png, order, photo


def heic() -> bytes:
    return photo("HEIF")


pytestmark = pytest.mark.integration


def stored(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "evidence"
    return sorted(folder.iterdir()) if folder.exists() else []


async def start(start_service: Any, tmp_path: Path, **extra: Any) -> Any:
    return await start_service(SPEC, data_dir=tmp_path, **extra)


def report_form(o: Any, csrf: str, reason: str = "damaged", qty: int = 1) -> dict[str, str]:
    return {"csrf": csrf, "reason": reason, "description": "The mug arrived broken",
            f"qty_{o.lines[0].line_id}": str(qty), f"qty_{o.lines[1].line_id}": "0"}  # fmt: skip


async def test_a_buyer_reports_a_damaged_mug_with_a_photo(start_service, tmp_path) -> None:  # type: ignore[no-untyped-def]
    svc = await start(start_service, tmp_path)
    o = order()
    await known(svc, o)
    token = signed_id("order", o.order_id)

    page = await svc.client.get(f"/help/{token}")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Blue mug" in page.text and "T-shirt M" in page.text
    assert "Street 1" not in page.text and "Berlin" not in page.text  # no address
    assert "<script" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]

    exif_photo = photo()
    r = await svc.client.post(
        f"/help/{token}", data=report_form(o, csrf_of(page.text)),
        files=[("photos", ("IMG_0001.jpg", exif_photo, "image/jpeg")),
               ("photos", ("IMG_0002.png", photo("PNG"), "image/png"))],
    )  # fmt: skip
    assert r.status_code == 303
    case_link = r.headers["location"]
    [case] = await cases_of(svc, o.order_id)
    assert case_link == f"/cases/{signed_id('case', case.id)}"
    assert (case.type, case.opened_by, case.buyer_words) == (
        "damaged",
        "buyer",
        "The mug arrived broken",
    )
    assert [(line["title"], line["quantity"]) for line in case.lines] == [("Blue mug", 1)]
    assert str(case.claimed_value) in ("17.0000", "17.00", "17")  # one mug, not two
    # the photo is evidence the policy saw: a damaged item with a photo is proposed
    assert case.status == "proposed"
    assert [e["kind"] for e in case.evidence] == ["photo", "photo"]
    keys = {e["key"] for e in case.evidence}
    assert {p.name for p in stored(tmp_path) if not p.name.endswith(".type")} == keys
    assert not any("IMG_" in p.name for p in stored(tmp_path))  # never the buyer's name

    shown = await svc.client.get(case_link)
    assert shown.status_code == 200
    assert "Being reviewed" in shown.text and 'id="add"' not in shown.text

    # the agent sees the photos through the API, with their content type
    h = svc.admin_headers
    body = (await svc.client.get(f"/v1/cases/{case.id}", headers=h)).json()
    assert [e["url"] for e in body["evidence"]] == [
        f"/v1/cases/{case.id}/evidence/0",
        f"/v1/cases/{case.id}/evidence/1",
    ]
    assert all("key" not in e for e in body["evidence"])
    first = await svc.client.get(body["evidence"][0]["url"], headers=h)
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    assert first.content[:3] == b"\xff\xd8\xff" and first.content != exif_photo  # re-encoded
    second = await svc.client.get(body["evidence"][1]["url"], headers=h)
    assert second.headers["content-type"] == "image/png"
    assert (await svc.client.get(f"/v1/cases/{case.id}/evidence/2", headers=h)).status_code == 404
    assert (await svc.client.get(body["evidence"][0]["url"])).status_code == 401

    # the same problem again (same lines, same reason): the same case, nothing stored
    page = await svc.client.get(f"/help/{token}")
    again = await svc.client.post(
        f"/help/{token}", data=report_form(o, csrf_of(page.text), qty=2),
        files=[("photos", ("again.jpg", photo(), "image/jpeg"))],
    )  # fmt: skip
    assert again.status_code == 303 and again.headers["location"] == case_link
    assert len(await cases_of(svc, o.order_id)) == 1
    assert len(stored(tmp_path)) == 4  # two photos, two content types

    # an API client: the case's page as JSON, 201 for a new case
    form = {"csrf": csrf_of(page.text), "reason": "wrong_size", f"qty_{o.lines[1].line_id}": "1"}
    api = await svc.client.post(
        f"/help/{token}", data=form, headers={"accept": "application/json"},
        files=[("photos", ("tee.heic", heic(), "image/heic"))],
    )  # fmt: skip
    assert api.status_code == 201 and api.json()["new"] is True
    tee = next(c for c in await cases_of(svc, o.order_id) if c.type == "wrong_size")
    assert api.json()["case_page"] == f"/cases/{signed_id('case', tee.id)}"
    assert tee.evidence[0]["content_type"] == "image/jpeg"  # HEIC kept as JPEG


async def test_a_case_waiting_for_a_photo_is_proposed_once_it_has_one(
    start_service, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    svc = await start(start_service, tmp_path)
    o = order()
    await known(svc, o)
    token = signed_id("order", o.order_id)
    page = await svc.client.get(f"/help/{token}")
    r = await svc.client.post(
        f"/help/{token}", data=report_form(o, csrf_of(page.text), reason="wrong_item")
    )
    assert r.status_code == 303
    [case] = await cases_of(svc, o.order_id)
    assert case.status == "awaiting_buyer" and case.evidence == []
    assert case.proposal is not None and case.proposal["resolution"] == "request_evidence"

    shown = await svc.client.get(r.headers["location"])
    assert "We need a photo from you" in shown.text and 'id="add"' in shown.text
    case_token = r.headers["location"].removeprefix("/cases/")
    evidence_csrf = csrf_of(shown.text)
    added = await svc.client.post(
        f"/cases/{case_token}/evidence", data={"csrf": evidence_csrf},
        files=[("photos", ("wrong.webp", photo("WEBP"), "image/webp"))],
    )  # fmt: skip
    assert added.status_code == 303
    [case] = await cases_of(svc, o.order_id)
    assert case.status == "proposed" and case.proposal is not None
    assert case.proposal["resolution"] == "reship"  # the right item, the wrong one kept
    assert [e["content_type"] for e in case.evidence] == ["image/webp"]
    timeline = (await svc.client.get(f"/v1/cases/{case.id}", headers=svc.admin_headers)).json()
    kinds = [(e["kind"], e["actor"]) for e in timeline["timeline"]]
    assert ("evidence", "buyer") in kinds and kinds[-1] == ("status", "policy")

    # no longer waiting: the form is gone, and a late post stores nothing
    shown = await svc.client.get(r.headers["location"])
    assert 'id="add"' not in shown.text
    late = await svc.client.post(
        f"/cases/{case_token}/evidence", data={"csrf": evidence_csrf},
        files=[("photos", ("late.jpg", photo(), "image/jpeg"))],
    )  # fmt: skip
    assert late.status_code == 409
    assert len(stored(tmp_path)) == 2  # the one photo and its content type


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("invoice.jpg", b"#!/bin/sh\nrm -rf ~\n", "not_an_image"),
        ("cut.jpg", photo()[:900], "damaged"),
        ("both.jpg", photo() + b"PK\x03\x04payload", "polyglot"),
        ("huge.png", noisy_png(120), "too_large"),
    ],
)
async def test_a_forged_or_oversized_photo_is_refused_and_nothing_is_stored(
    start_service, tmp_path, name: str, content: bytes, reason: str
) -> None:  # type: ignore[no-untyped-def]
    svc = await start(start_service, tmp_path, evidence_max_photo_bytes=20_000)
    o = order()
    await known(svc, o)
    token = signed_id("order", o.order_id)
    page = await svc.client.get(f"/help/{token}")
    files = [("photos", ("fine.jpg", photo(), "image/jpeg")),
             ("photos", (name, content, "image/jpeg"))]  # fmt: skip
    r = await svc.client.post(
        f"/help/{token}", data=report_form(o, csrf_of(page.text)), files=files
    )
    assert r.status_code == 422
    assert f"Photo 2 ({name}) was refused" in r.text
    assert "The mug arrived broken" in r.text  # the form comes back as it was filled
    # an API client gets the same refusal as JSON with a stable code
    api = await svc.client.post(
        f"/help/{token}", data=report_form(o, csrf_of(page.text)), files=files,
        headers={"accept": "application/json"},
    )  # fmt: skip
    assert api.status_code == 422
    error = api.json()["error"]
    assert error["code"] == "photo_refused"
    assert error["details"]["photos"] == [
        {"photo": 2, "reason": reason, "message": error["details"]["photos"][0]["message"]}
    ]
    assert await cases_of(svc, o.order_id) == []
    assert stored(tmp_path) == []


async def test_bodies_over_the_upload_limit_are_stopped_while_streaming(
    start_service, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    svc = await start(start_service, tmp_path, evidence_max_photo_bytes=20_000,
                      evidence_max_photos=2)  # fmt: skip
    o = order()
    await known(svc, o)
    token = signed_id("order", o.order_id)
    page = await svc.client.get(f"/help/{token}")
    limit = 2 * 20_000 + 1024 * 1024

    async def chunks():  # type: ignore[no-untyped-def]  # no Content-Length: counted as it comes
        yield b'--x\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\n\r\n'
        for _ in range(limit // 65536 + 2):
            yield b"\xff" * 65536

    r = await svc.client.post(
        f"/help/{token}", content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=x"},
    )  # fmt: skip
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert r.json()["error"]["details"]["max_bytes"] == limit
    files = [("photos", (f"{n}.jpg", photo(), "image/jpeg")) for n in range(3)]
    r = await svc.client.post(
        f"/help/{token}", data=report_form(o, csrf_of(page.text)), files=files
    )
    assert r.status_code == 400 and "Attach at most 2 photos" in r.text
    # other routes keep the default limit
    json_headers = {**svc.admin_headers, "content-type": "application/json"}
    r = await svc.client.post("/v1/cases", content=b"x" * (1024 * 1024 + 1), headers=json_headers)
    assert r.status_code == 413
    assert await cases_of(svc, o.order_id) == [] and stored(tmp_path) == []


async def test_a_form_from_another_site_or_without_its_token_is_refused(
    start_service, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    svc = await start(start_service, tmp_path)
    o = order()
    await known(svc, o)
    token = signed_id("order", o.order_id)
    page = await svc.client.get(f"/help/{token}")
    second = order()
    await known(svc, second)
    other = signed_id("order", second.order_id)
    files = [("photos", ("a.jpg", photo(), "image/jpeg"))]
    for form, headers in [
        (report_form(o, ""), {}),
        (report_form(o, csrf_of((await svc.client.get(f"/help/{other}")).text)), {}),
        (report_form(o, csrf_of(page.text)), {"origin": "https://evil.example"}),
    ]:
        r = await svc.client.post(f"/help/{token}", data=form, files=files, headers=headers)
        assert r.status_code == 403 and "This form has expired" in r.text
    assert (await svc.client.get("/help/not-a-token")).status_code == 404
    forged = signed_id("case", o.order_id)  # a case's token does not open an order's page
    assert (await svc.client.get(f"/help/{forged}")).status_code == 404
    assert await cases_of(svc, o.order_id) == [] and stored(tmp_path) == []


async def test_the_order_is_found_by_number_and_email_and_misses_are_limited(
    start_service, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    svc = await start(start_service, tmp_path, help_lookup_max_failures=3)
    o = order(language="zh", number="#1042")
    await known(svc, o)
    form = await svc.client.get("/help")
    csrf = csrf_of(form.text)
    r = await svc.client.post(
        "/help", data={"csrf": csrf, "number": "1042", "email": " lena.buyer@EXAMPLE.com "}
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/help/{signed_id('order', o.order_id)}"
    page = await svc.client.get(r.headers["location"])
    assert "订单问题反馈" in page.text and 'lang="zh"' in page.text  # the order's language
    english = await svc.client.get(r.headers["location"] + "?lang=en")
    assert "Report a problem with your order" in english.text

    misses = [
        {"number": "1042", "email": "someone@example.com"},  # right number, wrong e-mail
        {"number": "9999", "email": EMAIL},  # right e-mail, wrong number
        {"number": "1042", "email": ""},
    ]
    texts = set()
    for miss in misses:
        r = await svc.client.post("/help", data={"csrf": csrf, **miss})
        assert r.status_code == 404
        # the page without what differs anyway: the number typed, the form's token (its
        # expiry is in seconds, and the three misses may straddle one)
        texts.add(r.text.replace(miss["number"], "").replace(csrf_of(r.text), ""))
    assert len(texts) == 1  # a miss does not say which part was wrong
    r = await svc.client.post("/help", data={"csrf": csrf, "number": "1042", "email": EMAIL})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0  # even the right one
    r = await svc.client.post(
        "/help", data={"csrf": csrf, "number": "1042", "email": EMAIL},
        headers={"accept": "application/json"},
    )  # fmt: skip
    assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_attempts"


async def test_misses_count_per_order_number_and_across_replicas(start_service, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Clients guessing one order's e-mail from several addresses are stopped by the
    order number's count; a second replica on the same database sees the same count."""
    svc = await start(start_service, tmp_path, help_lookup_max_failures=3)
    o = order(number="#1042")
    await known(svc, o)
    csrf = csrf_of((await svc.client.get("/help")).text)

    def client_at(app: Any, address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40_000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    for n in range(3):  # three addresses, one miss each on the same order number
        async with client_at(svc.app, f"10.0.0.{n + 1}") as guesser:
            r = await guesser.post(
                "/help", data={"csrf": csrf, "number": "1042", "email": f"g{n}@example.com"}
            )
            assert r.status_code == 404
    async with client_at(svc.app, "10.0.0.9") as other:
        r = await other.post("/help", data={"csrf": csrf, "number": "#1042", "email": EMAIL})
        assert r.status_code == 429  # the order's count, from an address that never missed
        r = await other.post("/help", data={"csrf": csrf, "number": "5555", "email": EMAIL})
        assert r.status_code == 404  # another order: not limited for this address
    replica = await start_service(
        SPEC, database_url=svc.settings.database_url, role="api", help_lookup_max_failures=3
    )
    async with client_at(replica.app, "10.0.0.1") as guesser:
        r = await guesser.post("/help", data={"csrf": csrf, "number": "1042", "email": EMAIL})
        assert r.status_code == 429  # the same count in the other process
