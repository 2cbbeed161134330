"""Signatures, API keys, roles and the request body size limit.

* :func:`verify_hmac_base64`: HMAC-SHA256 over the raw body, base64 encoded, as Shopify
  (``X-Shopify-Hmac-Sha256``) and WooCommerce (``X-WC-Webhook-Signature``) send it;
  several secrets are accepted so a secret can be rotated without losing deliveries.
* :func:`sign_standard_webhook` / :func:`verify_standard_webhook`: the Standard Webhooks
  scheme (https://www.standardwebhooks.com/, also Svix's): ``webhook-id``,
  ``webhook-timestamp``, ``webhook-signature: v1,<base64>`` over ``"{id}.{ts}.{body}"``.
* API keys ``dsk_<id>_<secret>``: only the SHA-256 of a key is stored. An unsalted fast
  hash is right here (unlike for passwords): the secret part has 256 random bits, so
  there is nothing to guess by brute force.
* :class:`BodySizeLimitMiddleware`: 413 for bodies over the limit, declared or streamed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import string
from collections.abc import Mapping, Sequence
from enum import StrEnum

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dropship_common.errors import error_body

__all__ = [
    "BodySizeLimitMiddleware",
    "Role",
    "api_key_id",
    "generate_api_key",
    "hash_api_key",
    "hmac_sha256_base64",
    "role_allows",
    "sign_standard_webhook",
    "verify_api_key",
    "verify_hmac_base64",
    "verify_standard_webhook",
]

# --------------------------------------------------------------------------------------
# HMAC over the raw body
# --------------------------------------------------------------------------------------


def _to_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def hmac_sha256_base64(secret: str | bytes, body: bytes) -> str:
    """Standard base64 of HMAC-SHA256(secret, body)."""
    digest = hmac.new(_to_bytes(secret), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_hmac_base64(body: bytes, signature: str | None, secrets: Sequence[str]) -> bool:
    """True when ``signature`` is the base64 HMAC-SHA256 of ``body`` under any of
    ``secrets`` (constant-time compare against each one). A missing, empty or garbage
    signature is False, never an exception. Empty secrets are ignored: an HMAC with an
    empty key is something anybody can compute."""
    if not signature:
        return False
    given = signature.strip().encode("utf-8", "replace")
    matched = False
    for secret in secrets:
        if not secret:
            continue
        expected = hmac_sha256_base64(secret, body).encode("ascii")
        # no early exit: every secret costs the same
        matched |= hmac.compare_digest(expected, given)
    return matched


# --------------------------------------------------------------------------------------
# Standard Webhooks
# --------------------------------------------------------------------------------------

_STANDARD_PREFIX = "whsec_"


def _standard_key(secret_b64: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret (``whsec_`` + base64). Raises
    ``ValueError`` for a malformed secret: that is a configuration error."""
    raw = secret_b64.strip().removeprefix(_STANDARD_PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a Standard Webhooks secret must be base64 (whsec_…)") from exc
    if not key:
        raise ValueError("a Standard Webhooks secret must not be empty")
    return key


def sign_standard_webhook(secret_b64: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_standard_key(secret_b64), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def _header(headers: Mapping[str, str], *names: str) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in names:
        value = lowered.get(name)
        if value:
            return value
    return None


def verify_standard_webhook(
    secret_b64: str | Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    now: int,
    tolerance: int = 300,
) -> bool:
    """Verify a Standard Webhooks delivery (``webhook-*`` headers, or the same scheme
    under Svix's ``svix-*`` names). False when a header is missing, the timestamp is more
    than ``tolerance`` seconds away from ``now`` (replay of an old delivery), or no
    ``v1`` signature matches. Several secrets may be given during rotation."""
    msg_id = _header(headers, "webhook-id", "svix-id")
    ts_text = _header(headers, "webhook-timestamp", "svix-timestamp")
    sig_header = _header(headers, "webhook-signature", "svix-signature")
    if not msg_id or not ts_text or not sig_header:
        return False
    try:
        timestamp = int(ts_text.strip())
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    given = [
        part.encode("utf-8", "replace")
        for part in sig_header.split()
        if part.startswith("v1,")  # other versions / schemes are not ours to check
    ]
    if not given:
        return False
    keys = [secret_b64] if isinstance(secret_b64, str) else list(secret_b64)
    matched = False
    for key in keys:
        expected = sign_standard_webhook(key, msg_id, timestamp, body).encode("ascii")
        for candidate in given:
            matched |= hmac.compare_digest(expected, candidate)
    return matched


# --------------------------------------------------------------------------------------
# API keys and roles
# --------------------------------------------------------------------------------------

_KEY_ID_ALPHABET = string.ascii_lowercase + string.digits
_KEY_ID_LENGTH = 8


def generate_api_key(prefix: str = "dsk") -> tuple[str, str]:
    """A new key ``<prefix>_<8 char id>_<43 char urlsafe secret>`` and its SHA-256 hex.

    The id (lowercase letters and digits) is not secret: it names the key in lists and
    logs and finds its row. Show the plaintext once; store only the hash.
    """
    if not prefix or "_" in prefix or not prefix.isascii() or not prefix.isalnum():
        raise ValueError("an API key prefix is ASCII letters and digits, without '_'")
    key_id = "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(_KEY_ID_LENGTH))
    key = f"{prefix}_{key_id}_{secrets.token_urlsafe(32)}"
    return key, hash_api_key(key)


def hash_api_key(key: str) -> str:
    """SHA-256 hex of the whole key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def api_key_id(key: str) -> str | None:
    """The id part of a ``<prefix>_<id>_<secret>`` key, or None if it is not one."""
    parts = key.split("_", 2)
    if len(parts) != 3 or len(parts[1]) != _KEY_ID_LENGTH or not parts[2]:
        return None
    return parts[1]


def verify_api_key(key: str, stored_hash: str) -> bool:
    """Constant-time compare of ``key``'s hash with a stored hash."""
    return hmac.compare_digest(hash_api_key(key).encode(), stored_hash.encode("utf-8", "replace"))


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    SUPPLIER = "supplier"


_STAFF_RANK = {Role.OPERATOR: 1, Role.ADMIN: 2}


def role_allows(have: Role | str, need: Role | str) -> bool:
    """Whether a key with role ``have`` may do what needs ``need``.

    Staff roles are ordered: admin may do everything an operator may. The supplier role
    stands apart: only a supplier key passes a supplier check (it is scoped to one
    supplier, which an admin key is not) and a supplier key passes no staff check.
    Unknown roles allow nothing.
    """
    try:
        have_role, need_role = Role(have), Role(need)
    except ValueError:
        return False
    if Role.SUPPLIER in (have_role, need_role):
        return have_role == need_role
    return _STAFF_RANK[have_role] >= _STAFF_RANK[need_role]


# --------------------------------------------------------------------------------------
# body size limit
# --------------------------------------------------------------------------------------


class _BodyTooLarge(Exception):
    """Raised from ``receive`` to stop the app reading a body over the limit."""


class BodySizeLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413 and the stable error shape.

    A ``Content-Length`` over the limit is refused before the app is called. A body
    without one (chunked) or longer than it declared is counted as it streams in: when
    it passes the limit, ``receive`` raises inside the app and, if the app has not
    started its response, the 413 is sent (any response the app tries to send after
    that, e.g. a framework's own 400 for the interrupted body, is dropped).
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int] | None = None
    ) -> None:
        if max_bytes < 0 or any(v < 0 for v in (larger or {}).values()):
            raise ValueError("max_bytes must be >= 0")
        self.app = app
        self.max_bytes = max_bytes
        # path prefixes allowed another limit (a form with photos): the longest prefix wins
        self.larger = sorted((larger or {}).items(), key=lambda kv: -len(kv[0]))

    def limit_of(self, path: str) -> int:
        return next((v for prefix, v in self.larger if path.startswith(prefix)), self.max_bytes)

    def _body(self, limit: int) -> bytes:
        return json.dumps(
            error_body(
                "payload_too_large",
                f"the request body is larger than {limit} bytes",
                {"max_bytes": limit},
            )
        ).encode()

    async def _send_413(self, send: Send, limit: int) -> None:
        body = self._body(limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope.get("path", ""))
        for name, value in scope.get("headers") or ():
            if name.lower() == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit:
                    await self._send_413(send, limit)
                    return
                break

        received = 0
        exceeded = False
        response_started = False
        sent_413 = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started, sent_413
            if exceeded and not response_started:
                if not sent_413:
                    sent_413 = True
                    await self._send_413(send, limit)
                return  # the app's own reply to the interrupted body is dropped
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            # our own _BodyTooLarge, or whatever the app made of it
            if not exceeded:
                raise
        if exceeded and not response_started and not sent_413:
            sent_413 = True
            await self._send_413(send, limit)
