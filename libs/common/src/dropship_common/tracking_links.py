"""The buyer's links: the tracking page ``/track/{token}`` on logistics, and the order's
help page ``/help/{token}`` on aftersales.

The token is an HMAC of the parcel's identity (supplier order and tracking number)
under a key derived from the deployment's secret key: unguessable without the key, and
the same in order-intake (which writes it into the "shipped" e-mail, before logistics
has even opened the parcel) and in logistics (which stores it on the parcel and serves
the page). 43 URL-safe characters.

The order token is self-contained (``{order id hex}.{mac}``) so aftersales, which holds
no copy of the order's secret, can tell which order a link names with the key alone."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from dropship_common import secretbox


def _link_key(key: bytes | None) -> bytes:
    key = secretbox.keyring().link_key if key is None else key
    if not key:
        raise secretbox.SecretKeyError("no key to sign buyer links with")
    return key


def parcel_token(supplier_order_id: uuid.UUID, tracking_number: str) -> str:
    key = _link_key(None)
    mac = hmac.new(
        key, f"parcel:{supplier_order_id}:{tracking_number}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _order_mac(order_id: uuid.UUID, key: bytes) -> str:
    mac = hmac.new(key, f"order:{order_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def order_token(order_id: uuid.UUID, key: bytes | None = None) -> str:
    """The token of the order's help page: ``{order id hex}.{HMAC}`` (76 URL-safe chars).

    ``key`` defaults to the process keyring's link key (the one every service derives
    from ``DROPSHIP_SECRET_KEY``)."""
    return f"{order_id.hex}.{_order_mac(order_id, _link_key(key))}"


def verify_order_token(token: str, key: bytes | None = None) -> uuid.UUID | None:
    """The order a help-page token names, or None when it is malformed or forged."""
    head, sep, mac = token.partition(".")
    if not sep or len(head) != 32:
        return None
    try:
        order_id = uuid.UUID(hex=head)
    except ValueError:
        return None
    if order_id.hex != head:  # one spelling only (lower-case hex)
        return None
    expected = _order_mac(order_id, _link_key(key))
    if not hmac.compare_digest(expected.encode(), mac.encode()):
        return None
    return order_id
