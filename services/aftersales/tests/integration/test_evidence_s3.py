"""The S3-compatible store against moto's S3 server (a real HTTP server on a free port,
spoken to by boto3 as any S3-compatible storage would be), alone and behind the buyer
page."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from aftersales.evidence.storage import S3Storage, StorageFailed, new_key
from aftersales.main import SPEC
from dropship_common.tracking_links import signed_id

from .buyer_helpers import cases_of, csrf_of, known, order, photo

pytestmark = pytest.mark.integration
CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def bucket(endpoint: str, name: str) -> Any:
    """A new, empty bucket (moto's state is per process, shared by its servers: each test
    uses its own bucket names)."""
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    client.create_bucket(Bucket=name)
    return client


def objects(client: Any, name: str) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=name).get("Contents", [])]


async def test_put_get_delete_against_an_s3_server(s3_endpoint: str) -> None:
    name = f"photos-{uuid.uuid4().hex[:12]}"
    client = bucket(s3_endpoint, name)
    store = S3Storage(name, endpoint_url=s3_endpoint, **CREDENTIALS)
    key = new_key()
    await store.put(key, b"\xff\xd8\xffjpeg-bytes", "image/jpeg")
    assert objects(client, name) == [f"evidence/{key}"]
    head = client.head_object(Bucket=name, Key=f"evidence/{key}")
    assert head["ContentType"] == "image/jpeg"
    got = await store.get(key)
    assert got is not None and got.data == b"\xff\xd8\xffjpeg-bytes"
    assert got.content_type == "image/jpeg"
    assert await store.get(new_key()) is None  # never stored
    await store.delete(key)
    assert objects(client, name) == [] and await store.get(key) is None
    with pytest.raises(ValueError):
        await store.put("../../etc/passwd", b"x", "image/jpeg")  # keys are ours only
    missing = S3Storage("no-such-bucket", endpoint_url=s3_endpoint, **CREDENTIALS)
    with pytest.raises(StorageFailed):
        await missing.put(new_key(), b"x", "image/jpeg")


async def test_the_buyer_page_keeps_photos_in_s3_and_nothing_when_refused(
    start_service, s3_endpoint: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    name = f"evidence-{uuid.uuid4().hex[:12]}"
    client = bucket(s3_endpoint, name)
    svc = await start_service(
        SPEC, data_dir=tmp_path, evidence_store="s3", evidence_s3_bucket=name,
        evidence_s3_endpoint_url=s3_endpoint, evidence_s3_access_key_id="testing",
        evidence_s3_secret_access_key="testing",
    )  # fmt: skip
    o = order()
    await known(svc, o)
    token = signed_id("order", o.order_id)
    page = await svc.client.get(f"/help/{token}")
    form = {"csrf": csrf_of(page.text), "reason": "damaged", "description": "broken",
            f"qty_{o.lines[0].line_id}": "2"}  # fmt: skip

    refused = await svc.client.post(
        f"/help/{token}", data=form,
        files=[("photos", ("ok.jpg", photo(), "image/jpeg")),
               ("photos", ("x.jpg", b"<?php system($_GET['c']); ?>", "image/jpeg"))],
    )  # fmt: skip
    assert refused.status_code == 422
    assert objects(client, name) == [] and await cases_of(svc, o.order_id) == []

    r = await svc.client.post(
        f"/help/{token}", data=form, files=[("photos", ("ok.jpg", photo(), "image/jpeg"))]
    )
    assert r.status_code == 303
    [case] = await cases_of(svc, o.order_id)
    assert objects(client, name) == [f"evidence/{case.evidence[0]['key']}"]
    shown = await svc.client.get(f"/v1/cases/{case.id}/evidence/0", headers=svc.admin_headers)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert not (tmp_path / "evidence").exists()  # not in the directory store


async def test_a_store_that_fails_loses_nothing_and_keeps_nothing(
    start_service, s3_endpoint: str, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    name = f"evidence-{uuid.uuid4().hex[:12]}"
    client = bucket(s3_endpoint, name)
    settings = dict(
        evidence_store="s3", evidence_s3_endpoint_url=s3_endpoint,
        evidence_s3_access_key_id="testing", evidence_s3_secret_access_key="testing",
    )  # fmt: skip
    # the bucket is not there: the buyer is told to try again, no case is opened
    svc = await start_service(SPEC, data_dir=tmp_path, evidence_s3_bucket="gone", **settings)
    o = order()
    await known(svc, o)
    token = signed_id("order", o.order_id)
    page = await svc.client.get(f"/help/{token}")
    form = {"csrf": csrf_of(page.text), "reason": "damaged", f"qty_{o.lines[0].line_id}": "1"}
    files = [
        ("photos", ("a.jpg", photo(), "image/jpeg")),
        ("photos", ("b.jpg", photo(), "image/jpeg")),
    ]
    r = await svc.client.post(f"/help/{token}", data=form, files=files)
    assert r.status_code == 503 and "try again in a few minutes" in r.text
    assert await cases_of(svc, o.order_id) == []

    # the photos are stored, then the case cannot be written: the photos go again
    svc.runtime.state["evidence_storage"] = S3Storage(name, endpoint_url=s3_endpoint, **CREDENTIALS)
    page = await svc.client.get(f"/help/{token}")
    form["csrf"] = csrf_of(page.text)

    async def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ConnectionResetError("the database went away")

    monkeypatch.setattr("aftersales.buyer_page.service.open_case", broken)
    r = await svc.client.post(f"/help/{token}", data=form, files=files)
    assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"
    assert await cases_of(svc, o.order_id) == []
    assert objects(client, name) == []
