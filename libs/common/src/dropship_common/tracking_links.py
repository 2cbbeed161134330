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


def _mac(message: str) -> bytes:
    key = secretbox.keyring().link_key
    if not key:
        raise secretbox.SecretKeyError("no key to sign buyer links with")
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def parcel_token(supplier_order_id: uuid.UUID, tracking_number: str) -> str:
    return _b64(_mac(f"parcel:{supplier_order_id}:{tracking_number}"))


def signed_id(kind: str, id_: uuid.UUID) -> str:
    """A self-contained link token for an order's or a case's buyer page on aftersales
    (``help/{token}``, ``cases/{token}``): the id and its HMAC, 54 URL-safe characters.
    ``kind`` keeps an order's token from opening a case's page."""
    return _b64(id_.bytes + _mac(f"{kind}:{id_}")[:24])


def id_of(kind: str, token: str) -> uuid.UUID | None:
    """The id a :func:`signed_id` token carries, or None when it was not signed here."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) != 40:
        return None
    id_ = uuid.UUID(bytes=raw[:16])
    return id_ if hmac.compare_digest(raw[16:], _mac(f"{kind}:{id_}")[:24]) else None


def email_digest(email: str) -> str:
    """An HMAC of an e-mail address (trimmed, lower case): lets a service check "order
    number + e-mail" without keeping the address."""
    return _mac(f"email:{email.strip().lower()}").hex()
