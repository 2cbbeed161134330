"""Where a shop's admin API is reached: ``https://<shop domain>``, nothing else.

``DROPSHIP_STOREFRONT_ROUTES`` (``domain=base-url,…``) sends one shop's calls to another
base URL instead, e.g. a fake storefront on a local port in system tests. It is set by
whoever runs the process, never taken from a message or a request."""

from __future__ import annotations

import os
import re
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


# Shopify's admin API is reached at the shop's permanent *.myshopify.com domain
# (https://shopify.dev/docs/api/admin-graphql#endpoints); a custom domain is not it.
_SHOPIFY_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}\.myshopify\.com$")


def storefront_domain_problem(platform: str, domain: str) -> str | None:
    """Why ``domain`` is not a storefront's (None: it is), checked before any call. A
    WooCommerce shop is on the merchant's own domain: the outbound rules decide there."""
    if platform == "shopify" and not _SHOPIFY_DOMAIN.match(domain.lower()):
        return f"{domain!r} is not a Shopify shop's domain (<name>.myshopify.com)"
    return None


def configured_routes() -> dict[str, Route]:
    return parse_routes(os.environ.get(ROUTES_ENV, ""))
