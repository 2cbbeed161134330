"""No credentials in logs: the userinfo and token-like query values of every URL."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

# --------------------------------------------------------------------------------------
# URLs: no credentials in logs
# --------------------------------------------------------------------------------------

REDACTED = "***"
# a query parameter whose name contains one of these carries a credential
_SECRET_PARAM_PARTS = (
    "token",
    "secret",
    "key",
    "sign",
    "password",
    "passwd",
    "pwd",
    "auth",
    "credential",
    "session",
    "hmac",
    "jwt",
)
_SECRET_PARAMS = frozenset({"code", "sig", "pw", "pass"})
# a URL in free text; starts only where a scheme can start (the lookbehind), so each
# character is scanned once (no quadratic rescans of a long run of letters)
_URL_RE = re.compile(r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*+://[^\s\"'<>]*+")


def _is_secret_param(name: str) -> bool:
    key = unquote_plus(name).strip().lower()
    return key in _SECRET_PARAMS or any(part in key for part in _SECRET_PARAM_PARTS)


def _redact_params(query: str) -> str:
    pairs = []
    for pair in query.split("&"):
        name, eq, _value = pair.partition("=")
        pairs.append(f"{name}={REDACTED}" if eq and _is_secret_param(name) else pair)
    return "&".join(pairs)


def redact_url(url: str) -> str:
    """``url`` without what authenticates: the userinfo (``user:pw@``) and the values of
    query (and fragment) parameters named like a credential (``access_token``, ``key``,
    ``consumer_secret``, ``sign``, ``signature``, …) become ``***``. The one function for
    every URL that is logged (the http client, and any URL in a log line's text)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = _redact_params(parts.query) if parts.query else parts.query
    fragment = _redact_params(parts.fragment) if "=" in parts.fragment else parts.fragment
    if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
        return url  # nothing to hide: as it was (urlunsplit would normalise it)
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def redact_urls(text: str) -> str:
    """Every URL inside ``text`` passed through :func:`redact_url`."""
    if "://" not in text:
        return text
    return _URL_RE.sub(lambda m: redact_url(m.group(0)), text)
