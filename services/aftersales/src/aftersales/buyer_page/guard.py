"""What keeps the buyer's forms from being sent by another site: each form carries an
HMAC token bound to its purpose, its page (the order's or the case's link token) and an
expiry, under the deployment's link key; a browser's ``Origin``, when sent, must be
this host. No cookie, no server-side session: the link token itself is the secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import urlsplit

from starlette.requests import Request

from dropship_common import secretbox

FORM_SECONDS = 4 * 3600


def _mac(purpose: str, subject: str, expires: int) -> str:
    key = secretbox.keyring().link_key
    if not key:
        raise secretbox.SecretKeyError("no key to sign buyer forms with")
    digest = hmac.new(key, f"form:{purpose}:{subject}:{expires}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:18]).decode()


def form_token(purpose: str, subject: str, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + FORM_SECONDS)
    return f"{expires}.{_mac(purpose, subject, expires)}"


def form_token_ok(token: str, purpose: str, subject: str, now: float | None = None) -> bool:
    expires_text, _, mac = token.partition(".")
    if not expires_text.isdigit() or len(expires_text) > 12:
        return False
    expires = int(expires_text)
    if expires < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(mac.encode(), _mac(purpose, subject, expires).encode())


def same_origin(request: Request) -> bool:
    """No ``Origin`` (an old browser, a script): the token decides alone; one that is
    not this host (another site's form): refused."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()
