"""HMAC and Standard Webhooks signatures, API keys, roles, body size limit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from dropship_common.errors import install_error_handlers
from dropship_common.security import (
    BodySizeLimitMiddleware,
    Role,
    api_key_id,
    generate_api_key,
    hash_api_key,
    hmac_sha256_base64,
    role_allows,
    sign_standard_webhook,
    verify_api_key,
    verify_hmac_base64,
    verify_standard_webhook,
)

BODY = b'{"id":820982911946154508,"email":"jon@example.com"}'

# ----------------------------------------------------------------------------- HMAC


def test_hmac_matches_reference_computation():
    expected = base64.b64encode(hmac.new(b"s3cret", BODY, hashlib.sha256).digest()).decode()
    assert hmac_sha256_base64("s3cret", BODY) == expected
    assert hmac_sha256_base64(b"s3cret", BODY) == expected


def test_hmac_known_vector():
    # RFC 4231 test case 2 ("Jefe"), base64 of the hex digest 5bdcc146…
    digest = bytes.fromhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    assert hmac_sha256_base64("Jefe", b"what do ya want for nothing?") == (
        base64.b64encode(digest).decode()
    )


def test_verify_hmac_accepts_current_and_rotated_secrets():
    old, new = "old-secret", "new-secret"
    assert verify_hmac_base64(BODY, hmac_sha256_base64(old, BODY), [new, old])
    assert verify_hmac_base64(BODY, hmac_sha256_base64(new, BODY), [new, old])
    assert not verify_hmac_base64(BODY, hmac_sha256_base64("retired", BODY), [new, old])


def test_verify_hmac_tolerates_surrounding_whitespace():
    assert verify_hmac_base64(BODY, " " + hmac_sha256_base64("k", BODY) + "\n", ["k"])


def test_verify_hmac_refuses_tampered_body():
    signature = hmac_sha256_base64("k", BODY)
    assert not verify_hmac_base64(BODY.replace(b"jon", b"jan"), signature, ["k"])
    assert not verify_hmac_base64(BODY + b" ", signature, ["k"])


@pytest.mark.parametrize(
    "signature", [None, "", "garbage", "ñññ", "\x00\xff", "a" * 10_000, "=" * 44]
)
def test_verify_hmac_garbage_is_false_not_an_error(signature):
    assert verify_hmac_base64(BODY, signature, ["k"]) is False


def test_verify_hmac_ignores_empty_secrets():
    forged = hmac_sha256_base64("", BODY)
    assert not verify_hmac_base64(BODY, forged, ["", "real"])
    assert not verify_hmac_base64(BODY, hmac_sha256_base64("k", BODY), [])


# ----------------------------------------------------------------------------- Standard Webhooks

# Test vector of the Standard Webhooks reference libraries (standard-webhooks/webhooks tests).
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def headers(sig: str = SW_SIG, ts: int = SW_TS, msg_id: str = SW_ID) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig}


def test_standard_webhook_reference_vector():
    assert sign_standard_webhook(SW_SECRET, SW_ID, SW_TS, SW_BODY) == SW_SIG
    assert verify_standard_webhook(SW_SECRET, headers(), SW_BODY, now=SW_TS)


def test_standard_webhook_secret_without_prefix():
    bare = SW_SECRET.removeprefix("whsec_")
    assert sign_standard_webhook(bare, SW_ID, SW_TS, SW_BODY) == SW_SIG


def test_standard_webhook_tampered_body_id_or_timestamp():
    assert not verify_standard_webhook(SW_SECRET, headers(), SW_BODY + b" ", now=SW_TS)
    assert not verify_standard_webhook(SW_SECRET, headers(msg_id="msg_other"), SW_BODY, SW_TS)
    assert not verify_standard_webhook(SW_SECRET, headers(ts=SW_TS + 1), SW_BODY, SW_TS)


def test_standard_webhook_tolerance():
    assert verify_standard_webhook(SW_SECRET, headers(), SW_BODY, now=SW_TS + 300)
    assert verify_standard_webhook(SW_SECRET, headers(), SW_BODY, now=SW_TS - 300)
    assert not verify_standard_webhook(SW_SECRET, headers(), SW_BODY, now=SW_TS + 301)
    assert not verify_standard_webhook(SW_SECRET, headers(), SW_BODY, now=SW_TS - 301)
    assert verify_standard_webhook(SW_SECRET, headers(), SW_BODY, now=SW_TS + 500, tolerance=600)


def test_standard_webhook_several_signatures_and_rotated_secrets():
    other = "whsec_" + base64.b64encode(b"another secret key!!").decode()
    both = f"v1,bm90IGl0 {SW_SIG} v1a,ignored"
    assert verify_standard_webhook(SW_SECRET, headers(both), SW_BODY, SW_TS)
    assert verify_standard_webhook([other, SW_SECRET], headers(), SW_BODY, SW_TS)
    assert not verify_standard_webhook([other], headers(), SW_BODY, SW_TS)


def test_standard_webhook_headers_any_case_and_svix_names():
    mixed = {"Webhook-Id": SW_ID, "WEBHOOK-TIMESTAMP": str(SW_TS), "Webhook-Signature": SW_SIG}
    assert verify_standard_webhook(SW_SECRET, mixed, SW_BODY, SW_TS)
    svix = {"svix-id": SW_ID, "svix-timestamp": str(SW_TS), "svix-signature": SW_SIG}
    assert verify_standard_webhook(SW_SECRET, svix, SW_BODY, SW_TS)
    assert verify_standard_webhook(SW_SECRET, httpx.Headers(mixed), SW_BODY, SW_TS)


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"webhook-id": SW_ID, "webhook-timestamp": str(SW_TS)},
        headers(ts="soon"),  # type: ignore[arg-type]
        headers(sig=""),
        headers(sig="v2,abc"),
        headers(sig="v1,"),
        headers(sig="v1,ñ"),
        headers(sig=SW_SIG.removeprefix("v1,")),
    ],
)
def test_standard_webhook_garbage_is_false(bad):
    assert verify_standard_webhook(SW_SECRET, bad, SW_BODY, SW_TS) is False


def test_standard_webhook_malformed_secret_is_a_config_error():
    with pytest.raises(ValueError):
        sign_standard_webhook("whsec_***not base64***", SW_ID, SW_TS, SW_BODY)


# ----------------------------------------------------------------------------- API keys


def test_generate_api_key_shape_and_hash():
    key, digest = generate_api_key()
    assert re.fullmatch(r"dsk_[a-z0-9]{8}_[A-Za-z0-9_\-]{43}", key)
    assert digest == hashlib.sha256(key.encode()).hexdigest() == hash_api_key(key)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert api_key_id(key) == key.split("_")[1]
    assert verify_api_key(key, digest)
    assert not verify_api_key(key + "x", digest)


def test_generate_api_key_prefix_and_uniqueness():
    key, _ = generate_api_key("sup")
    assert key.startswith("sup_")
    assert len({generate_api_key()[0] for _ in range(200)}) == 200
    with pytest.raises(ValueError):
        generate_api_key("bad_prefix")


@pytest.mark.parametrize("key", ["", "dsk", "dsk_short_x", "dsk_abcdefgh_", "nounderscores"])
def test_api_key_id_rejects_malformed(key):
    assert api_key_id(key) is None


@pytest.mark.parametrize(
    ("have", "need", "allowed"),
    [
        (Role.ADMIN, Role.ADMIN, True),
        (Role.ADMIN, Role.OPERATOR, True),
        (Role.OPERATOR, Role.OPERATOR, True),
        (Role.OPERATOR, Role.ADMIN, False),
        (Role.SUPPLIER, Role.SUPPLIER, True),
        (Role.SUPPLIER, Role.OPERATOR, False),
        (Role.SUPPLIER, Role.ADMIN, False),
        (Role.ADMIN, Role.SUPPLIER, False),
        (Role.OPERATOR, Role.SUPPLIER, False),
        ("admin", "operator", True),
        ("root", "operator", False),
    ],
)
def test_role_allows(have, need, allowed):
    assert role_allows(have, need) is allowed


def test_role_values():
    assert [r.value for r in Role] == ["admin", "operator", "supplier"]
    assert Role("operator") == "operator"


# ----------------------------------------------------------------------------- body size limit

LIMIT = 100


def fastapi_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/echo")
    async def echo(request: Request) -> dict:
        return {"size": len(await request.body())}

    @app.post("/json")
    async def json_body(payload: dict) -> dict:
        return {"keys": len(payload)}

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=LIMIT)
    return app


def starlette_app():
    async def echo(request):
        return JSONResponse({"size": len(await request.body())})

    app = Starlette(routes=[Route("/echo", echo, methods=["POST"])])
    return BodySizeLimitMiddleware(app, max_bytes=LIMIT)


def asgi_client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def chunks(total: int, size: int = 30):
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b"x" * n


def assert_413(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "code": "payload_too_large",
            "message": f"the request body is larger than {LIMIT} bytes",
            "details": {"max_bytes": LIMIT},
        }
    }


@pytest.mark.parametrize("make_app", [fastapi_app, starlette_app])
async def test_body_within_limit_passes(make_app):
    async with asgi_client(make_app()) as c:
        exact = await c.post("/echo", content=b"x" * LIMIT)
        streamed = await c.post("/echo", content=chunks(LIMIT))
    assert exact.json() == {"size": LIMIT}
    assert streamed.json() == {"size": LIMIT}


@pytest.mark.parametrize("make_app", [fastapi_app, starlette_app])
async def test_content_length_over_limit_is_413(make_app):
    async with asgi_client(make_app()) as c:
        response = await c.post("/echo", content=b"x" * (LIMIT + 1))
    assert_413(response)


async def test_a_path_prefix_may_have_a_larger_limit_declared_or_streamed():
    async def echo(request):
        return JSONResponse({"size": len(await request.body())})

    routes = [Route(p, echo, methods=["POST"]) for p in ("/echo", "/upload/a", "/upload/big/b")]
    larger = {"/upload/": 300, "/upload/big/": 1000}
    app = BodySizeLimitMiddleware(Starlette(routes=routes), max_bytes=LIMIT, larger=larger)
    async with asgi_client(app) as c:
        assert (await c.post("/upload/a", content=b"x" * 300)).json() == {"size": 300}
        assert (await c.post("/upload/a", content=chunks(300))).json() == {"size": 300}
        over = await c.post("/upload/a", content=chunks(301))
        assert over.status_code == 413 and over.json()["error"]["details"] == {"max_bytes": 300}
        assert (await c.post("/upload/big/b", content=b"x" * 1000)).json() == {"size": 1000}
        assert (await c.post("/upload/big/b", content=b"x" * 1001)).status_code == 413
        assert_413(await c.post("/echo", content=chunks(LIMIT + 1)))  # elsewhere: the default


async def test_content_length_refused_before_app_is_called():
    called = False

    async def app(scope, receive, send):
        nonlocal called
        called = True

    async with asgi_client(BodySizeLimitMiddleware(app, LIMIT)) as c:
        response = await c.post("/", content=b"x" * 1000)
    assert_413(response)
    assert called is False


@pytest.mark.parametrize("make_app", [fastapi_app, starlette_app])
async def test_streamed_chunked_body_over_limit_is_413(make_app):
    async with asgi_client(make_app()) as c:
        request = c.build_request("POST", "/echo", content=chunks(LIMIT * 5))
        assert "content-length" not in request.headers
        assert request.headers["transfer-encoding"] == "chunked"
        response = await c.send(request)
    assert_413(response)


async def test_streamed_body_to_validated_json_route_is_413():
    async def json_chunks():
        yield b'{"a": "'
        for _ in range(10):
            yield b"y" * 20
        yield b'"}'

    async with asgi_client(fastapi_app()) as c:
        response = await c.post(
            "/json", content=json_chunks(), headers={"content-type": "application/json"}
        )
    assert_413(response)


async def test_body_longer_than_its_content_length_is_413():
    """A client declaring a small Content-Length but streaming more is still cut off."""
    seen: list[int] = []

    async def app(scope, receive, send):
        total = 0
        while True:
            message = await receive()
            total += len(message.get("body", b""))
            seen.append(total)
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    messages = [
        {"type": "http.request", "body": b"x" * 60, "more_body": True},
        {"type": "http.request", "body": b"x" * 60, "more_body": False},
    ]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [(b"content-length", b"10")]}
    await BodySizeLimitMiddleware(app, LIMIT)(scope, receive, send)
    assert sent[0]["status"] == 413
    assert seen == [60]  # the app never got the second chunk
    assert len(sent) == 2


async def test_non_http_scopes_pass_through():
    called = []

    async def app(scope, receive, send):
        called.append(scope["type"])

    await BodySizeLimitMiddleware(app, LIMIT)({"type": "lifespan"}, None, None)
    assert called == ["lifespan"]


async def test_an_unreachable_database_is_503_unavailable_not_500() -> None:
    """A connection refused (raw, as asyncpg raises it while connecting) or a connection
    lost under SQLAlchemy answers 503 with the stable code: the caller sends it again."""
    from sqlalchemy.exc import OperationalError

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/refused")
    async def refused() -> dict:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    @app.get("/lost")
    async def lost() -> dict:
        raise OperationalError("SELECT 1", {}, Exception("connection was closed"))

    @app.get("/crash")
    async def crash() -> dict:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for path in ("/refused", "/lost"):
            r = await client.get(path)
            assert (r.status_code, r.json()["error"]["code"]) == (503, "unavailable"), path
        r = await client.get("/crash")
        assert (r.status_code, r.json()["error"]["code"]) == (500, "internal_error")


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "\xff\xfe"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a": ' * 5_000 + b"1" + b"}" * 5_000,
    ],
    ids=["not-utf8", "nested-lists", "nested-objects"],
)
async def test_undecodable_json_body_is_invalid_json_not_http_error(body: bytes) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/json")
    async def json_body(payload: dict) -> dict:  # type: ignore[type-arg]
        return {"keys": len(payload)}

    async with asgi_client(app) as c:
        r = await c.post("/json", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_json"
