"""Same-origin check of the portal's state-changing requests. The portal's own origin is
that of ``DROPSHIP_SUPPLIER_PORTAL_URL`` when set (its public address, behind a proxy
too), else the request's own scheme and Host. ``Origin`` must equal it; without
``Origin``, the ``Referer``'s origin must; with neither, the request is refused."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request

from supplier_gateway.config import SupplierGatewaySettings

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of ``url``, lower case, without a default port."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def portal_origin(settings: SupplierGatewaySettings, request: Request) -> str | None:
    if settings.supplier_portal_url:
        return origin_of(settings.supplier_portal_url)
    return origin_of(f"{request.url.scheme}://{request.url.netloc}")


def same_origin(settings: SupplierGatewaySettings, request: Request) -> bool:
    expected = portal_origin(settings, request)
    origin = request.headers.get("origin")
    if origin is None:
        origin = request.headers.get("referer")
    if origin is None or expected is None:
        return False
    return origin_of(origin) == expected
