"""Where outbound calls may go: one policy for every URL that configuration or a vendor
supplies (a supplier's base URL, a shop's domain, a vendor's base URL, a test route).

* **No address inside our network**: a destination is refused when any address its
  host resolves to is loopback, private (RFC 1918, ULA), link-local (169.254/16 with the
  cloud metadata service, fe80::/10), CGNAT (100.64/10), multicast, unspecified,
  reserved or documentation space, or an IPv6 form that embeds such an IPv4 address
  (IPv4-mapped ``::ffff:0:0/96``, NAT64 ``64:ff9b::/96`` and the local-use
  ``64:ff9b:1::/48``, 6to4 ``2002::/16``, Teredo ``2001::/32``). Odd IPv4 spellings
  (``2130706433``, ``0x7f000001``, ``127.1``, ``0177.0.0.1``) are read as the resolver
  reads them.
* **Checked twice**: when the URL is configured (:func:`check_destination`, a 422 for
  the API) and again when the connection is made (:class:`GuardedBackend`, the network
  backend under every client :func:`guarded_transport` makes): the name is resolved
  there, every address checked, and the connection made to a checked address, so a DNS
  answer that changes between the two (DNS rebinding) cannot slip through. A name that
  does not resolve at configuration time is not refused for that alone.
* **No credentials in URLs** and **https only in distributed mode**.
* **An explicit allowlist** (``DROPSHIP_OUTBOUND_ALLOW``: host names, ``*.suffix``,
  IP addresses or networks) for local development and tests: a listed host name is
  let through whatever it resolves to, a listed network lets its addresses through;
  either may be called with http in distributed mode.

The checks raise :class:`DestinationRefused`; :class:`~dropship_common.http.ResilientTransport`
turns one raised at connect time into ``HostNotAllowed`` (a failed call, never a request).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

__all__ = [
    "DestinationRefused",
    "EgressRules",
    "GuardedBackend",
    "address_problem",
    "check_destination",
    "guarded_transport",
    "url_problem",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

RESOLVE_TIMEOUT = 3.0

# IPv4 space that is never a vendor's server (ipaddress's is_global leaves some out:
# multicast and 192.0.0.0/24 count as global there)
_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network", unspecified
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
# an IPv4 spelling the resolver accepts: digits, hex and dots only (inet_aton's forms)
_LEGACY_V4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


class DestinationRefused(Exception):
    """The destination is inside our network, or the URL is not one we call."""


def address_problem(address: IPAddress) -> str | None:
    """Why we never connect to ``address`` (None: a public address)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_v4(address)
        if embedded is not None:
            problem = address_problem(embedded)
            return f"embeds {embedded}, which {problem}" if problem else None
        if address in _NAT64_LOCAL:
            return "is local-use NAT64"
        if (
            address.is_loopback
            or address.is_unspecified
            or address.is_link_local
            or address.is_site_local
            or address.is_multicast
            or address.is_private
            or address.is_reserved
            or not address.is_global
        ):
            return "is not a public address"
        return None
    if address.is_loopback:
        return "is loopback"
    if address.is_link_local:
        return "is link-local"
    if any(address in net for net in _BLOCKED_V4) or not address.is_global:
        return "is not a public address"
    return None


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        server, client = address.teredo
        return client if address_problem(client) else server
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address a host spelled as an IP literal stands for, in any form the system
    resolver accepts (``127.1``, ``2130706433``, ``0x7f000001``, ``0177.0.0.1``)."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_V4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class EgressRules:
    """The deployment's outbound rules (:meth:`from_settings`)."""

    require_https: bool = False
    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[IPNetwork, ...] = ()
    resolver: Resolver = field(default=system_resolver, compare=False)
    resolve_timeout: float = RESOLVE_TIMEOUT

    @classmethod
    def parse(cls, allow: str | Iterable[str], **kwargs: Any) -> EgressRules:
        """``allow``: comma-separated host names, ``*.suffix``, addresses, networks."""
        entries = allow.split(",") if isinstance(allow, str) else list(allow)
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                if not re.fullmatch(r"(\*\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?", entry):
                    raise ValueError(
                        f"outbound allowlist: {raw.strip()!r} is not a host "
                        "name, *.suffix, address or network"
                    ) from None
                hosts.add(entry)
        return cls(allow_hosts=frozenset(hosts), allow_networks=tuple(networks), **kwargs)

    @classmethod
    def from_settings(cls, settings: Any) -> EgressRules:
        return cls.parse(
            getattr(settings, "outbound_allow", ""),
            require_https=getattr(settings, "mode", "embedded") == "distributed",
        )

    def host_listed(self, host: str) -> bool:
        host = host.lower().rstrip(".").strip("[]")
        for allowed in self.allow_hosts:
            if allowed.startswith("*."):
                if host.endswith(allowed[1:]) and len(host) > len(allowed) - 1:
                    return True
            elif host == allowed:
                return True
        return False

    def address_refusal(self, address: IPAddress) -> str | None:
        if any(address in net for net in self.allow_networks):
            return None
        return address_problem(address)

    def scheme_problem(self, scheme: str, host: str) -> str | None:
        if scheme not in ("https", "http"):
            return f"the scheme {scheme!r} is not http(s)"
        if scheme != "https" and self.require_https and not self.listed(host):
            return "only https is called in distributed mode"
        return None

    def listed(self, host: str) -> bool:
        """On the allowlist: by name, or an address literal inside a listed network."""
        literal = literal_address(host)
        if literal is not None:
            return any(literal in net for net in self.allow_networks)
        return self.host_listed(host)

    async def addresses(self, host: str, port: int) -> list[str]:
        """Resolve ``host`` and check every address; a refused one raises (the whole
        name is refused: which answer a client picks is not ours to guess)."""
        literal = literal_address(host)
        if literal is not None:
            found = [str(literal)]
        else:
            try:
                found = await asyncio.wait_for(self.resolver(host, port), self.resolve_timeout)
            except (OSError, TimeoutError) as exc:
                raise httpcore.ConnectError(f"{host}: {exc or 'resolution timed out'}") from exc
        if self.host_listed(host):
            return found
        for text in found:
            problem = self.address_refusal(ipaddress.ip_address(text.split("%")[0]))
            if problem:
                raise DestinationRefused(f"{host} resolves to {text}, which {problem}")
        if not found:
            raise httpcore.ConnectError(f"{host}: no address")
        return found


def url_problem(url: str, rules: EgressRules) -> str | None:
    """What is wrong with ``url`` as a destination, without resolving it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError as exc:
        return f"not a URL: {exc}"
    if not host:
        return "the URL has no host"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "credentials in the URL are not accepted (give them as credentials)"
    scheme_problem = rules.scheme_problem(parts.scheme.lower(), host)
    if scheme_problem:
        return scheme_problem
    if rules.host_listed(host):
        return None
    literal = literal_address(host)
    if literal is not None:
        refusal = rules.address_refusal(literal)
        if refusal:
            return f"{host} {refusal}"
    elif host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return f"{host} is loopback"
    return None


async def check_destination(url: str, rules: EgressRules) -> None:
    """Refuse a configured URL (raises :class:`DestinationRefused`): the URL's form,
    then every address its host resolves to now. A name that does not resolve is let
    through: the check at connect time still holds."""
    problem = url_problem(url, rules)
    if problem:
        raise DestinationRefused(problem)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        await rules.addresses(parts.hostname or "", port)
    except httpcore.ConnectError:
        return  # no DNS yet (or none here): connect time decides


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that resolves the name itself, checks every address with the
    rules and connects to a checked address (TLS still verifies and sends the name)."""

    def __init__(self, rules: EgressRules, inner: httpcore.AsyncNetworkBackend | None = None):
        self.rules = rules
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: Exception | None = None
        for address in await self.rules.addresses(host, port):
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host}: no address")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused("unix sockets are not called")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guarded_transport(
    rules: EgressRules,
    *,
    max_connections: int = 100,
    max_keepalive_connections: int = 20,
    inner_backend: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncHTTPTransport:
    """httpx's own transport, its connection pool connecting through :class:`GuardedBackend`.
    (httpx takes no network backend as an argument, so its pool is replaced; the tests
    show every connection goes through the guard.)"""
    transport = httpx.AsyncHTTPTransport(
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_keepalive_connections
        )
    )
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=max_connections,
        max_keepalive_connections=max_keepalive_connections,
        keepalive_expiry=5.0,
        http1=True,
        http2=False,
        network_backend=GuardedBackend(rules, inner_backend),
    )
    return transport
