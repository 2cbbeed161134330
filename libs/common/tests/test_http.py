"""The resilient outbound client: hosts, retries, Retry-After, breaker, rate limit."""

from __future__ import annotations

import asyncio
import email.utils
import json

import httpx
import pytest
import respx

from dropship_common.http import (
    CircuitOpen,
    HostNotAllowed,
    OutboundError,
    OutboundPolicy,
    OutcomeUnknown,
    ResilientTransport,
    make_client,
    parse_retry_after,
)

HOST = "api.supplier.test"
BASE = f"https://{HOST}"
WALL_START = 1_700_000_000.0


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL_START + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Script:
    """A MockTransport handler replaying a list of responses / exceptions."""

    def __init__(self, *steps) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("scripted", request=request)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, int):
            return httpx.Response(step, json={"status": step})
        return step

    @property
    def attempts(self) -> int:
        return len(self.requests)


def policy(**kw) -> OutboundPolicy:
    defaults = {
        "allowed_hosts": {HOST},
        "max_attempts": 3,
        "backoff_base": 1.0,
        "backoff_cap": 8.0,
        "jitter": 0.0,
        "breaker_threshold": 100,
    }
    return OutboundPolicy(**{**defaults, **kw})


def client_for(script, time: FakeTime, pol: OutboundPolicy | None = None, **kw):
    transport = ResilientTransport(
        httpx.MockTransport(script),
        pol or policy(),
        sleep=time.sleep,
        clock=time.clock,
        wall_clock=time.wall,
        **kw,
    )
    return httpx.AsyncClient(transport=transport, base_url=BASE), transport


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


# ----------------------------------------------------------------------------- hosts


async def test_host_not_allowed_sends_nothing(fake_time):
    script = Script(200)
    client, _ = client_for(script, fake_time)
    async with client:
        with pytest.raises(HostNotAllowed):
            await client.get("https://169.254.169.254/latest/meta-data/")
        with pytest.raises(HostNotAllowed):
            await client.get(f"https://{HOST}.evil.test/")
        with pytest.raises(HostNotAllowed):
            await client.get(f"ftp://{HOST}/")
    assert script.attempts == 0


async def test_wildcard_hosts():
    pol = OutboundPolicy(allowed_hosts={"*.myshopify.com", "API.Example.COM"})
    assert pol.host_allowed("shop-1.myshopify.com")
    assert pol.host_allowed("a.b.myshopify.com")
    assert not pol.host_allowed("myshopify.com")
    assert not pol.host_allowed("evilmyshopify.com")
    assert pol.host_allowed("api.example.com")
    assert pol.host_allowed("api.example.com.")
    assert not OutboundPolicy().host_allowed("api.example.com")  # nothing allowed by default


async def test_make_client_refuses_base_url_outside_policy():
    with pytest.raises(HostNotAllowed):
        make_client(policy(), base_url="https://elsewhere.test")


async def test_make_client_defaults():
    client = make_client(policy(), base_url=BASE, headers={"X-Api-Key": "k"})
    async with client:
        assert client.timeout == httpx.Timeout(connect=5.0, read=15.0, write=15.0, pool=5.0)
        assert client.follow_redirects is False
        assert client.headers["x-api-key"] == "k"
        assert isinstance(client._transport, ResilientTransport)


async def test_redirect_to_other_host_is_not_followed(fake_time):
    script = Script(httpx.Response(302, headers={"location": "https://internal.test/"}))
    client = make_client(
        policy(),
        base_url=BASE,
        transport=httpx.MockTransport(script),
        sleep=fake_time.sleep,
    )
    async with client:
        response = await client.get("/x")
        assert response.status_code == 302
        with pytest.raises(HostNotAllowed):
            await client.get("/x", follow_redirects=True)


# ----------------------------------------------------------------------------- retries


async def test_get_retried_on_503_with_exact_attempts_and_backoff(fake_time):
    script = Script(503, 503, 200)
    client, _ = client_for(script, fake_time)
    async with client:
        response = await client.get("/orders")
    assert response.status_code == 200
    assert script.attempts == 3
    assert fake_time.sleeps == [1.0, 2.0]


async def test_retries_stop_at_max_attempts_and_return_last_response(fake_time):
    script = Script(502)
    client, _ = client_for(script, fake_time, policy(max_attempts=4))
    async with client:
        response = await client.get("/orders")
    assert response.status_code == 502
    assert response.json() == {"status": 502}
    assert script.attempts == 4
    assert fake_time.sleeps == [1.0, 2.0, 4.0]


async def test_backoff_is_capped(fake_time):
    script = Script(504)
    client, _ = client_for(script, fake_time, policy(max_attempts=6, backoff_cap=3.0))
    async with client:
        await client.get("/")
    assert fake_time.sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]


async def test_jitter_reduces_the_wait(fake_time):
    script = Script(503, 503, 200)
    client, _ = client_for(script, fake_time, policy(jitter=0.5), random=lambda: 1.0)
    async with client:
        await client.get("/")
    assert fake_time.sleeps == [0.5, 1.0]


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422, 500])
async def test_other_statuses_are_not_retried(fake_time, status):
    script = Script(status)
    client, _ = client_for(script, fake_time)
    async with client:
        response = await client.get("/")
    assert response.status_code == status
    assert script.attempts == 1
    assert fake_time.sleeps == []


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"])
async def test_idempotent_methods_are_retried(fake_time, method):
    script = Script(503, 200)
    client, _ = client_for(script, fake_time)
    async with client:
        response = await client.request(method, "/x", content=b"body" if method == "PUT" else None)
    assert response.status_code == 200
    assert script.attempts == 2


async def test_put_body_is_resent_on_retry(fake_time):
    script = Script(503, 200)

    async def stream():
        yield b"part1-"
        yield b"part2"

    client, _ = client_for(script, fake_time)
    async with client:
        await client.put("/x", content=stream())
    assert [r.content for r in script.requests] == [b"part1-part2", b"part1-part2"]


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_non_idempotent_not_retried_on_status(fake_time, method):
    script = Script(503, 200)
    client, _ = client_for(script, fake_time)
    async with client:
        response = await client.request(method, "/orders", json={"a": 1})
    assert response.status_code == 503
    assert script.attempts == 1


async def test_post_marked_idempotent_is_retried(fake_time):
    script = Script(429, 503, 201)
    client, _ = client_for(script, fake_time)
    async with client:
        response = await client.post("/orders", json={"a": 1}, extensions={"idempotent": True})
    assert response.status_code == 201
    assert script.attempts == 3
    assert [json.loads(r.content) for r in script.requests] == [{"a": 1}] * 3


async def test_get_marked_not_idempotent_is_not_retried(fake_time):
    script = Script(503, 200)
    client, _ = client_for(script, fake_time)
    async with client:
        response = await client.get("/x", extensions={"idempotent": False})
    assert response.status_code == 503
    assert script.attempts == 1


@pytest.mark.parametrize("exc", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_connect_failures_retried_for_every_method(fake_time, exc, method):
    script = Script(exc, exc, 200)
    client, _ = client_for(script, fake_time)
    async with client:
        response = await client.request(method, "/orders")
    assert response.status_code == 200
    assert script.attempts == 3
    assert fake_time.sleeps == [1.0, 2.0]


async def test_connect_failures_exhausted_reraise(fake_time):
    script = Script(httpx.ConnectError)
    client, _ = client_for(script, fake_time)
    async with client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/")
    assert script.attempts == 3


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError])
async def test_get_read_failures_are_retried(fake_time, exc):
    script = Script(exc, 200)
    client, _ = client_for(script, fake_time)
    async with client:
        response = await client.get("/orders/1")
    assert response.status_code == 200
    assert script.attempts == 2


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.ReadError,
        httpx.WriteError,
        httpx.RemoteProtocolError,
    ],
)
async def test_post_failure_after_sending_is_outcome_unknown(fake_time, exc):
    script = Script(exc, 200)
    client, _ = client_for(script, fake_time)
    async with client:
        with pytest.raises(OutcomeUnknown) as info:
            await client.post("/orders", json={"order_number": "1001"})
    assert script.attempts == 1
    assert fake_time.sleeps == []
    assert isinstance(info.value.__cause__, exc)
    assert not isinstance(info.value, httpx.HTTPError)
    assert isinstance(info.value, OutboundError)


async def test_outcome_unknown_when_body_read_fails(fake_time):
    """A timeout while reading the response body of a POST is just as unknown."""

    class Stalling(httpx.AsyncByteStream):
        async def __aiter__(self):
            yield b'{"partial":'
            raise httpx.ReadTimeout("stalled")

    script = Script(httpx.Response(200, stream=Stalling()))
    client, _ = client_for(script, fake_time)
    async with client:
        with pytest.raises(OutcomeUnknown):
            await client.post("/orders", json={})
    assert script.attempts == 1


async def test_unsupported_protocol_is_not_retried(fake_time):
    script = Script(httpx.UnsupportedProtocol)
    client, _ = client_for(script, fake_time)
    async with client:
        with pytest.raises(httpx.UnsupportedProtocol):
            await client.get("/")
    assert script.attempts == 1


# ----------------------------------------------------------------------------- Retry-After


async def test_retry_after_seconds_is_honoured(fake_time):
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}), 200)
    client, _ = client_for(script, fake_time)
    async with client:
        response = await client.get("/")
    assert response.status_code == 200
    assert script.attempts == 2
    assert fake_time.sleeps == [7.0]


async def test_retry_after_fractional_seconds(fake_time):
    script = Script(httpx.Response(429, headers={"Retry-After": "2.0"}), 200)
    client, _ = client_for(script, fake_time)
    async with client:
        await client.get("/")
    assert fake_time.sleeps == [2.0]


async def test_retry_after_http_date_is_honoured(fake_time):
    date = email.utils.formatdate(WALL_START + 30, usegmt=True)
    script = Script(httpx.Response(503, headers={"Retry-After": date}), 200)
    client, _ = client_for(script, fake_time)
    async with client:
        response = await client.get("/")
    assert response.status_code == 200
    assert fake_time.sleeps == [30.0]


async def test_retry_after_over_cap_returns_response_without_retry(fake_time):
    script = Script(httpx.Response(429, headers={"Retry-After": "3600"}), 200)
    client, _ = client_for(script, fake_time, policy(retry_after_cap=60))
    async with client:
        response = await client.get("/")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3600"
    assert script.attempts == 1
    assert fake_time.sleeps == []


async def test_unparseable_retry_after_falls_back_to_backoff(fake_time):
    script = Script(httpx.Response(503, headers={"Retry-After": "soon"}), 200)
    client, _ = client_for(script, fake_time)
    async with client:
        await client.get("/")
    assert fake_time.sleeps == [1.0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 2.5 ", 2.5),
        ("-5", 0.0),
        ("nan", None),
        ("inf", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),
        ("Wed, 21 Oct 2015 07:26:00 GMT", 0.0),
        ("tomorrow", None),
    ],
)
def test_parse_retry_after(value, expected):
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:27:00 GMT").timestamp()
    assert parse_retry_after(value, now) == expected


# ----------------------------------------------------------------------------- breaker


async def test_circuit_breaker_open_half_open_closed(fake_time):
    script = Script(500)
    pol = policy(max_attempts=1, breaker_threshold=3, breaker_cooldown=30.0)
    client, transport = client_for(script, fake_time, pol)
    breaker = transport.breaker(HOST)
    async with client:
        for _ in range(3):
            assert (await client.get("/")).status_code == 500
        assert breaker.state == "open"
        assert script.attempts == 3

        # open: refused at once, nothing sent
        with pytest.raises(CircuitOpen) as info:
            await client.get("/")
        assert info.value.host == HOST
        assert info.value.retry_in == pytest.approx(30.0)
        assert script.attempts == 3

        fake_time.now += 29.9
        with pytest.raises(CircuitOpen):
            await client.get("/")

        # half-open: one trial goes; it fails -> open again
        fake_time.now += 0.1
        assert breaker.state == "half_open"
        assert (await client.get("/")).status_code == 500
        assert script.attempts == 4
        assert breaker.state == "open"
        with pytest.raises(CircuitOpen):
            await client.get("/")

        # after another cooldown the trial succeeds -> closed
        fake_time.now += 30.0
        script.steps = [200]
        assert (await client.get("/")).status_code == 200
        assert breaker.state == "closed"
        assert breaker.failures == 0
        assert (await client.get("/")).status_code == 200
        assert script.attempts == 6


async def test_half_open_lets_only_one_trial_through(fake_time):
    gate = asyncio.Event()
    calls = 0

    async def handler(request):
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise httpx.ConnectError("down", request=request)
        await gate.wait()
        return httpx.Response(200)

    pol = policy(max_attempts=1, breaker_threshold=2, breaker_cooldown=10.0)
    transport = ResilientTransport(
        httpx.MockTransport(handler), pol, sleep=fake_time.sleep, clock=fake_time.clock
    )
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        for _ in range(2):
            with pytest.raises(httpx.ConnectError):
                await client.get("/")
        fake_time.now += 10.0
        trial = asyncio.create_task(client.get("/"))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        with pytest.raises(CircuitOpen):
            await client.get("/")
        gate.set()
        assert (await trial).status_code == 200
        assert (await client.get("/")).status_code == 200
    assert calls == 4


async def test_breaker_opens_during_retries(fake_time):
    script = Script(httpx.ConnectError)
    client, _ = client_for(script, fake_time, policy(max_attempts=5, breaker_threshold=2))
    async with client:
        with pytest.raises(CircuitOpen):
            await client.get("/")
    assert script.attempts == 2


async def test_4xx_and_429_do_not_count_as_host_failures(fake_time):
    script = Script(404, 429, 404)
    client, transport = client_for(script, fake_time, policy(max_attempts=1, breaker_threshold=1))
    async with client:
        for _ in range(3):
            await client.get("/")
    assert transport.breaker(HOST).state == "closed"


async def test_breakers_are_per_host(fake_time):
    other = "cdn.supplier.test"

    def handler(request):
        return httpx.Response(503 if request.url.host == HOST else 200)

    pol = policy(allowed_hosts={HOST, other}, max_attempts=1, breaker_threshold=1)
    client, _ = client_for(handler, fake_time, pol)
    async with client:
        await client.get("/")
        with pytest.raises(CircuitOpen):
            await client.get("/")
        assert (await client.get(f"https://{other}/")).status_code == 200


async def test_cancelled_trial_frees_the_half_open_slot(fake_time):
    gate = asyncio.Event()
    calls = 0

    async def handler(request):
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(502)
        if calls == 2:
            await gate.wait()
        return httpx.Response(200)

    pol = policy(max_attempts=1, breaker_threshold=1, breaker_cooldown=5.0)
    transport = ResilientTransport(
        httpx.MockTransport(handler), pol, sleep=fake_time.sleep, clock=fake_time.clock
    )
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        await client.get("/")
        fake_time.now += 5.0
        trial = asyncio.create_task(client.get("/"))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        trial.cancel()
        with pytest.raises(asyncio.CancelledError):
            await trial
        assert (await client.get("/")).status_code == 200


# ----------------------------------------------------------------------------- rate limit


async def test_rate_limit_token_bucket(fake_time):
    script = Script(200)
    client, _ = client_for(script, fake_time, policy(rate_per_second=2.0, rate_burst=2))
    async with client:
        for _ in range(5):
            await client.get("/")
    assert script.attempts == 5
    # two saved-up tokens, then one every half second
    assert fake_time.sleeps == [0.5, 0.5, 0.5]
    assert fake_time.now == pytest.approx(1.5)


async def test_rate_limit_refills_while_idle(fake_time):
    script = Script(200)
    client, _ = client_for(script, fake_time, policy(rate_per_second=1.0))
    async with client:
        await client.get("/")
        fake_time.now += 10.0
        await client.get("/")
        await client.get("/")
    assert fake_time.sleeps == [1.0]  # burst is 1: the idle time does not pile up


async def test_rate_limit_concurrent_requests_are_spaced(fake_time):
    script = Script(200)
    client, _ = client_for(script, fake_time, policy(rate_per_second=4.0, rate_burst=1))
    async with client:
        await asyncio.gather(*(client.get("/") for _ in range(4)))
    assert script.attempts == 4
    assert fake_time.now == pytest.approx(0.75)


# ----------------------------------------------------------------------------- with respx


async def test_with_respx_router(fake_time):
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/api2.1/product/query").mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "1"}),
                httpx.Response(200, json={"result": True}),
            ]
        )
        client = make_client(
            policy(),
            base_url=BASE,
            transport=httpx.AsyncHTTPTransport(),
            sleep=fake_time.sleep,
            clock=fake_time.clock,
        )
        async with client:
            response = await client.get("/api2.1/product/query")
    assert response.json() == {"result": True}
    assert route.call_count == 2
    assert fake_time.sleeps == [1.0]


def test_policy_validation():
    with pytest.raises(ValueError):
        OutboundPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        OutboundPolicy(jitter=2.0)
    with pytest.raises(ValueError):
        OutboundPolicy(rate_per_second=0)


async def test_buffered_response_keeps_encoding_and_elapsed(fake_time):
    """The body is read inside the transport; a gzip body is still decoded exactly once."""
    import gzip

    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    payload = json.dumps({"tracking": "LX123456789CN"}).encode()

    async def endpoint(request):
        return Response(
            gzip.compress(payload),
            media_type="application/json",
            headers={"content-encoding": "gzip"},
        )

    app = Starlette(routes=[Route("/track", endpoint)])
    client = make_client(
        policy(), base_url=BASE, transport=httpx.ASGITransport(app=app), sleep=fake_time.sleep
    )
    async with client:
        response = await client.get("/track")
        assert response.json() == {"tracking": "LX123456789CN"}
        assert response.elapsed.total_seconds() >= 0
        async with client.stream("GET", "/track") as streamed:
            assert json.loads(await streamed.aread()) == {"tracking": "LX123456789CN"}


# ----------------------------------------------------------------------------- logs


async def test_logged_urls_show_no_credentials(fake_time, capsys):
    """Neither our retry log nor httpx's own request log shows tokens (a URL with
    userinfo is never sent at all: test_credentials_in_a_url_are_never_sent)."""
    from dropship_common.observability import configure_logging

    configure_logging("INFO", json=True, service="test-svc")
    capsys.readouterr()
    script = Script(503, 200)
    client, _ = client_for(script, fake_time)
    url = f"https://{HOST}/orders?access_token=tok_SECRET1&page=2&sign=SIG_SECRET2"
    async with client:
        assert (await client.get(url)).status_code == 200
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    text = json.dumps(lines)
    for secret in ("tok_SECRET1", "SIG_SECRET2"):
        assert secret not in text
    retry = next(line for line in lines if line["event"] == "outbound_retry")
    assert retry["url"] == f"https://{HOST}/orders?access_token=***&page=2&sign=***"
    assert any(
        line["event"].startswith(f"HTTP Request: GET https://{HOST}/orders?access_token=***")
        for line in lines
    )
