"""Where a shop's admin API is reached: ``https://<shop domain>``, nothing else.

``DROPSHIP_STOREFRONT_ROUTES`` (``domain=base-url,…``) sends one shop's calls to another
base URL instead, e.g. a fake storefront on a local port in system tests. It is set by
whoever runs the process, never taken from a message or a request."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

ROUTES_ENV = "DROPSHIP_STOREFRONT_ROUTES"


@dataclass(frozen=True)
class Route:
    base_url: str
    host: str
    scheme: str


def parse_routes(text: str) -> dict[str, Route]:
    routes: dict[str, Route] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        domain, _, url = part.partition("=")
        split = urlsplit(url.strip())
        if not domain or split.scheme not in ("http", "https") or not split.hostname:
            raise ValueError(f"{ROUTES_ENV}: {part!r} is not domain=http(s)://host[:port]")
        routes[domain.strip().lower()] = Route(
            url.strip().rstrip("/"), split.hostname, split.scheme
        )
    return routes


def route_for(domain: str, routes: Mapping[str, Route]) -> Route:
    return routes.get(domain.lower()) or Route(f"https://{domain}", domain.lower(), "https")


def configured_routes() -> dict[str, Route]:
    return parse_routes(os.environ.get(ROUTES_ENV, ""))
