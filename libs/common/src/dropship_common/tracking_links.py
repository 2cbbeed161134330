"""The buyer's tracking page link: ``/track/{token}`` on logistics.

The token is an HMAC of the parcel's identity (supplier order and tracking number)
under a key derived from the deployment's secret key: unguessable without the key, and
the same in order-intake (which writes it into the "shipped" e-mail, before logistics
has even opened the parcel) and in logistics (which stores it on the parcel and serves
the page). 43 URL-safe characters."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from dropship_common import secretbox


def parcel_token(supplier_order_id: uuid.UUID, tracking_number: str) -> str:
    key = secretbox.keyring().link_key
    if not key:
        raise secretbox.SecretKeyError("no key to sign buyer links with")
    mac = hmac.new(
        key, f"parcel:{supplier_order_id}:{tracking_number}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
