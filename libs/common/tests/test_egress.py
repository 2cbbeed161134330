"""The outbound policy: configured URLs are refused when they point inside our network,
and the connection itself is refused at connect time (DNS rebinding), with a real local
listener showing that nothing reached it."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from dropship_common.egress import (
    DestinationRefused,
    EgressRules,
    address_problem,
    check_destination,
    url_problem,
)
from dropship_common.http import HostNotAllowed, OutboundPolicy, make_client
from dropship_common.settings import Settings

# the spellings the security review used, and the IPv6 forms that embed them
REVIEW_URLS = [
    "http://127.0.0.1/",
    "http://localhost/",
    "http://[::1]/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://127.1/",
    "http://0177.0.0.1/",
    "http://user:pw@127.0.0.1/",
    "http://user:pw@example.com/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://100.64.0.1/",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "169.254.169.254",
        "100.64.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "192.0.0.8",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::1",
        "2002:7f00:1::",
        "2002:c0a8:101::",
    ],
)
def test_addresses_inside_a_network_are_refused(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::5db8:d822"]
)
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None


@dataclass
class FakeResolver:
    """Answers from a table; ``answers`` may hold several answers per name, given out in
    turn (the last one repeats): a DNS answer that changes between two lookups."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        turns = self.answers.get(host)
        if not turns:
            raise OSError(f"{host}: name or service not known")
        return turns.pop(0) if len(turns) > 1 else turns[0]


def rules(allow: str = "", *, https: bool = False, **answers: list[list[str]]) -> EgressRules:
    names = {name.replace("_", "."): turns for name, turns in answers.items()}
    return EgressRules.parse(allow, require_https=https, resolver=FakeResolver(names))


@pytest.mark.parametrize("url", REVIEW_URLS)
async def test_configured_urls_inside_our_network_are_refused(url: str) -> None:
    with pytest.raises(DestinationRefused):
        await check_destination(url, rules())


async def test_a_name_resolving_inside_our_network_is_refused() -> None:
    with pytest.raises(DestinationRefused, match=r"resolves to 10\.0\.0\.7"):
        # any address counts: a client may pick either
        await check_destination(
            "https://supplier.example/", rules(supplier_example=[["93.184.216.34", "10.0.0.7"]])
        )


async def test_a_name_that_does_not_resolve_yet_is_not_refused_for_that() -> None:
    await check_destination("https://not-yet.example/api", rules())


async def test_a_public_name_passes_and_https_is_required_in_distributed_mode() -> None:
    await check_destination("https://supplier.example/", rules(supplier_example=[["8.8.8.8"]]))
    await check_destination("http://supplier.example/", rules(supplier_example=[["8.8.8.8"]]))
    with pytest.raises(DestinationRefused, match="only https"):
        await check_destination(
            "http://supplier.example/", rules(https=True, supplier_example=[["8.8.8.8"]])
        )


async def test_the_allowlist_lets_named_hosts_and_networks_through() -> None:
    allowed = rules("localhost,127.0.0.0/8,*.test.internal", https=True)
    await check_destination("http://localhost:8080/", allowed)
    await check_destination("http://fake.test.internal/", allowed)
    await check_destination("http://127.0.0.1:9000/", allowed)
    with pytest.raises(DestinationRefused, match="only https"):
        await check_destination("http://8.8.8.8/", allowed)
    with pytest.raises(DestinationRefused):
        await check_destination("https://169.254.169.254/", allowed)
    with pytest.raises(DestinationRefused, match="credentials"):
        await check_destination("http://u:p@localhost/", allowed)


def test_the_allowlist_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="not a host"):
        Settings(outbound_allow="localhost, http://x/")
    assert Settings(outbound_allow="localhost, 10.0.0.0/8").outbound_allow


def test_url_problem_needs_no_resolver() -> None:
    assert url_problem("https://developers.cjdropshipping.com", EgressRules()) is None
    assert url_problem("ftp://example.com/", EgressRules()) is not None
    assert url_problem("http://sub.localhost/", EgressRules()) is not None


# -- at call time, against a real listener --------------------------------------------


@dataclass
class Listener:
    port: int
    connections: int = 0
    hosts: list[str] = field(default_factory=list)


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    """A local HTTP server that counts every TCP connection made to it."""
    state = Listener(port=0)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        for line in head.decode("latin-1").split("\r\n"):
            if line.lower().startswith("host:"):
                state.hosts.append(line.split(":", 1)[1].strip())
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nsecret")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


def client_for(base_url: str, egress: EgressRules) -> httpx.AsyncClient:
    host = httpx.URL(base_url).host
    return make_client(OutboundPolicy(allowed_hosts={host}, egress=egress), base_url=base_url)


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f000001", "127.1", "localhost"])
async def test_a_call_to_a_local_address_fails_and_reaches_nothing(
    listener: Listener, host: str
) -> None:
    egress = EgressRules(resolver=FakeResolver({"localhost": [["127.0.0.1"]]}))
    async with client_for(f"http://{host}:{listener.port}/", egress) as client:
        with pytest.raises(HostNotAllowed):
            await client.get("orders/1")
    assert listener.connections == 0


async def test_dns_rebinding_is_caught_at_connect_time(listener: Listener) -> None:
    """The name resolves to a public address when it is configured and to ours when the
    call is made: the connection is refused."""
    resolver = FakeResolver({"supplier.example": [["93.184.216.34"], ["127.0.0.1"]]})
    egress = EgressRules(resolver=resolver)
    url = f"http://supplier.example:{listener.port}/"
    await check_destination(url, egress)  # configured: public
    async with client_for(url, egress) as client:
        with pytest.raises(HostNotAllowed, match=r"127\.0\.0\.1"):
            await client.post("orders", content=b"{}")
    assert resolver.asked == ["supplier.example", "supplier.example"]
    assert listener.connections == 0


async def test_an_allowlisted_network_is_called_with_the_name_kept(listener: Listener) -> None:
    resolver = FakeResolver({"fake-supplier.internal": [["127.0.0.1"]]})
    egress = EgressRules.parse("127.0.0.0/8", resolver=resolver)
    url = f"http://fake-supplier.internal:{listener.port}/"
    async with client_for(url, egress) as client:
        response = await client.get("orders/1")
    assert response.text == "secret"
    assert listener.connections == 1
    assert listener.hosts == [f"fake-supplier.internal:{listener.port}"]


async def test_credentials_in_a_url_are_never_sent(listener: Listener) -> None:
    egress = EgressRules.parse("127.0.0.1")
    base = f"http://127.0.0.1:{listener.port}/"
    with pytest.raises(HostNotAllowed, match="credentials"):
        make_client(
            OutboundPolicy(allowed_hosts={"127.0.0.1"}, egress=egress),
            base_url=f"http://u:p@127.0.0.1:{listener.port}/",
        )
    async with client_for(base, egress) as client:
        with pytest.raises(HostNotAllowed, match="credentials"):
            await client.get(f"http://u:p@127.0.0.1:{listener.port}/x")
    assert listener.connections == 0


async def test_distributed_mode_calls_https_only(listener: Listener) -> None:
    egress = EgressRules(require_https=True, resolver=FakeResolver({"x.example": [["8.8.8.8"]]}))
    async with client_for("http://x.example/", egress) as client:
        with pytest.raises(HostNotAllowed, match="only https"):
            await client.get("a")
