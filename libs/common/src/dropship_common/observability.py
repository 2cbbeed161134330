"""Logs, correlation ids, PII masking and Prometheus metrics shared by every service.

* :func:`configure_logging` sets up structlog (and routes the standard library's
  ``logging`` through the same processors) to write one JSON object per line to stdout
  with ``timestamp`` (ISO 8601, UTC), ``level``, ``event``, ``service`` and
  ``correlation_id``. Calling it again replaces the previous set-up (idempotent).
* :data:`correlation_id` is a context variable; :class:`CorrelationIdMiddleware` binds it
  per request (message consumers bind it per message with :func:`bind_correlation_id`).
* :func:`mask_pii` is a structlog processor that masks personal data in every event:
  values under personal keys (``email``, ``phone``, ``name``, ``address1``, ``zip``, …)
  and e-mail addresses / phone-like digit runs inside any other string
  (``13812341234`` -> ``138****1234``, ``john@example.com`` -> ``j***@example.com``,
  ``John`` -> ``J***``).
* :func:`redact_url` hides the credentials of a URL (userinfo, token-like query values);
  every URL in a log line's text goes through it before the masking.
* Prometheus metrics and :class:`MetricsMiddleware`, which labels requests by the
  matched route template (``/orders/{order_id}``), never by the raw path.

Both middlewares are pure ASGI (no ``BaseHTTPMiddleware``): no extra task per request
and streaming responses are passed through untouched.
"""

from __future__ import annotations

import logging
import re
import string
import sys
import time
import uuid
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar, Token
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import structlog
from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CORRELATION_HEADER",
    "HTTP_LATENCY",
    "HTTP_REQUESTS",
    "MESSAGES_CONSUMED",
    "OUTBOX_PENDING",
    "OUTBOX_PUBLISHED",
    "CorrelationIdMiddleware",
    "MetricsMiddleware",
    "bind_correlation_id",
    "bind_service",
    "configure_logging",
    "correlation_id",
    "get_correlation_id",
    "get_service",
    "mask_email",
    "mask_emails",
    "mask_phone",
    "mask_pii",
    "mask_postal_code",
    "mask_text",
    "mask_value",
    "new_correlation_id",
    "redact_url",
    "redact_urls",
]

# --------------------------------------------------------------------------------------
# correlation id and service name
# --------------------------------------------------------------------------------------

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_service: ContextVar[str | None] = ContextVar("dropship_service", default=None)
_default_service: str | None = None

CORRELATION_HEADER = "X-Correlation-Id"
_INCOMING_HEADERS = (b"x-correlation-id", b"x-request-id")
# An incoming id is echoed in headers and logs: accept only a bounded, harmless charset.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def bind_correlation_id(value: str | None) -> Token[str | None]:
    """Bind ``value`` as the current correlation id; returns the token to reset it."""
    return correlation_id.set(value)


def get_correlation_id() -> str | None:
    return correlation_id.get()


def bind_service(name: str | None) -> Token[str | None]:
    """Bind the service name for logs in this context (several services share one
    process in embedded mode, so a process-wide name is not enough)."""
    return _service.set(name)


def get_service() -> str | None:
    return _service.get() or _default_service


# --------------------------------------------------------------------------------------
# PII masking
# --------------------------------------------------------------------------------------

# An e-mail address: local part ``[A-Za-z0-9._%+-]+``, ``@``, a domain ending in a dot
# and 2+ letters. Not one regex over the text: tried at every start position, the local
# part is scanned again up to each ``@`` (quadratic: "a" * 40000 + "@" took 2 s). Each
# "@" is found instead, the local part scanned back from it (never past the previous
# "@" or match) and the domain matched forward (never past the next "@").
_EMAIL_LOCAL_CHARS = frozenset(string.ascii_letters + string.digits + "._%+-")
_EMAIL_DOMAIN_RE = re.compile(r"[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# A phone-like run: optional + / 00, then digits with at most two single separators
# (space, hyphen, parentheses) between them; not glued to letters or other digits.
_PHONE_RE = re.compile(r"(?<![\w+/])(?:\+|00)?\(?\d(?:[ \-()]{0,2}\d){6,18}(?![\w])")
_DATE_RE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}")
_MIN_PHONE_DIGITS_IN_TEXT = 8
_MAX_PHONE_DIGITS = 15

_EMAIL_KEYS = frozenset({"email", "e_mail", "email_address", "mail"})
_PHONE_KEYS = frozenset(
    {"phone", "phone_number", "mobile", "mobile_phone", "telephone", "tel", "cell", "fax"}
)
_NAME_KEYS = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "firstname",
        "lastname",
        "full_name",
        "fullname",
        "given_name",
        "family_name",
        "surname",
        "middle_name",
        "customer_name",
        "buyer_name",
        "recipient",
        "recipient_name",
        "contact_name",
        "consignee",
        "consignee_name",
        "billing_name",
        "shipping_name",
        "company",
        "customer",
        "buyer",
    }
)
_ADDRESS_KEYS = frozenset(
    {
        "address",
        "address1",
        "address2",
        "address3",
        "address_1",
        "address_2",
        "address_3",
        "address_line1",
        "address_line2",
        "address_line_1",
        "address_line_2",
        "line1",
        "line2",
        "line_1",
        "line_2",
        "street",
        "street1",
        "street2",
        "street_address",
        "house_number",
        "city",
        "town",
        "district",
        "ip",
        "ip_address",
        "client_ip",
        "browser_ip",
    }
)
_POSTAL_KEYS = frozenset({"zip", "zip_code", "zipcode", "postcode", "post_code", "postal_code"})
# Never scanned: our own bookkeeping, and identifiers (long numeric ids such as
# Shopify's would otherwise look like phone numbers).
_SAFE_KEYS = frozenset(
    {"timestamp", "level", "logger", "logger_name", "service", "correlation_id", "id"}
)
_MAX_DEPTH = 12


def mask_value(value: object) -> str:
    """Generic mask: the first character and ``***`` (``John`` -> ``J***``)."""
    text = str(value).strip()
    return f"{text[0]}***" if text else ""


def mask_email(value: str) -> str:
    """``john@example.com`` -> ``j***@example.com`` (the domain is kept)."""
    text = value.strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        return mask_value(text)
    return f"{local[0]}***@{domain}"


def mask_phone(value: object) -> str:
    """Keep the first 3 and the last 4 digits: ``13812341234`` -> ``138****1234``.

    Separators are dropped, a leading ``+`` is kept. Numbers of fewer than 8 digits keep
    only their last 2 digits (first 3 + last 4 would show all of them).
    """
    text = str(value).strip()
    digits = re.sub(r"\D", "", text)
    plus = "+" if text.startswith("+") else ""
    if not digits:
        return mask_value(text) if text else ""
    if len(digits) < 8:
        return plus + "*" * (len(digits) - 2) + digits[-2:] if len(digits) > 2 else "**"
    return plus + digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_postal_code(value: object) -> str:
    """Keep the first 2 characters (the coarse region): ``SW1A 1AA`` -> ``SW***``."""
    text = str(value).strip()
    return f"{text[:2]}***" if len(text) > 2 else "***" if text else ""


def _mask_phone_match(match: re.Match[str]) -> str:
    candidate = match.group(0)
    digits = sum(c.isdigit() for c in candidate)
    if not (_MIN_PHONE_DIGITS_IN_TEXT <= digits <= _MAX_PHONE_DIGITS):
        return candidate
    if _DATE_RE.match(candidate):  # 2024-01-31 12 …
        return candidate
    return mask_phone(candidate)


def find_emails(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each e-mail address in ``text``, left to right, as a
    regex search for ``local@domain`` would find them, in linear time."""
    found: list[tuple[int, int]] = []
    floor = 0  # the end of the previous match: matches do not overlap
    at = text.find("@")
    while at != -1:
        start = at
        while start > floor and text[start - 1] in _EMAIL_LOCAL_CHARS:
            start -= 1
        domain = _EMAIL_DOMAIN_RE.match(text, at + 1) if start < at else None
        if domain is not None:
            found.append((start, domain.end()))
            floor = domain.end()
            at = text.find("@", floor)
        else:
            at = text.find("@", at + 1)
    return found


def mask_emails(text: str) -> str:
    """Mask only the e-mail addresses in ``text``."""
    if "@" not in text:
        return text
    out: list[str] = []
    done = 0
    for start, end in find_emails(text):
        out.append(text[done:start])
        out.append(mask_email(text[start:end]))
        done = end
    out.append(text[done:])
    return "".join(out)


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


def mask_text(text: str) -> str:
    """Mask e-mail addresses and phone-like digit runs (8 to 15 digits) in free text,
    after redacting the credentials in URLs (:func:`redact_urls`)."""
    text = mask_emails(redact_urls(text))
    if sum(c.isdigit() for c in text) >= _MIN_PHONE_DIGITS_IN_TEXT:
        text = _PHONE_RE.sub(_mask_phone_match, text)
    return text


def _norm_key(key: object) -> str:
    return str(key).strip().lower().replace("-", "_").replace(" ", "_")


def _mask_for_key(key: str, value: object) -> str:
    if key in _EMAIL_KEYS or key.endswith("_email"):
        return mask_email(str(value))
    if key in _PHONE_KEYS or key.endswith("_phone"):
        return mask_phone(value)
    if key in _POSTAL_KEYS:
        return mask_postal_code(value)
    return mask_value(value)


def _is_pii_key(key: str) -> bool:
    return (
        key in _EMAIL_KEYS
        or key in _PHONE_KEYS
        or key in _NAME_KEYS
        or key in _ADDRESS_KEYS
        or key in _POSTAL_KEYS
        or key.endswith(("_email", "_phone", "_address"))
    )


def _is_safe_key(key: str) -> bool:
    return key in _SAFE_KEYS or key.endswith(("_id", "_ids"))


def _mask(value: object, key: str | None, depth: int) -> object:
    if depth > _MAX_DEPTH:
        return "<max depth>"
    if isinstance(value, Mapping):
        return {k: _mask(v, _norm_key(k), depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        # items inherit the key: emails=["a@x.com", …] are masked as e-mails
        return [_mask(v, key, depth + 1) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if key is not None and _is_pii_key(key):
        return _mask_for_key(key, value)
    if isinstance(value, int | float):
        return value
    if key is not None and _is_safe_key(key):
        # identifiers: long digit runs are ids, not phones; an e-mail is still an e-mail
        return mask_emails(redact_urls(value)) if isinstance(value, str) else value
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, bytes):
        return mask_text(value.decode("utf-8", "replace"))
    # other objects would be rendered with str()/repr() anyway: scan that text
    return mask_text(str(value))


def mask_pii(_logger: object, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    """structlog processor: mask personal data in the whole event, recursively."""
    for key, value in list(event_dict.items()):
        event_dict[key] = _mask(value, _norm_key(key), 0)
    return event_dict


# --------------------------------------------------------------------------------------
# logging
# --------------------------------------------------------------------------------------


def _add_context(_logger: object, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    if "service" not in event_dict:
        event_dict["service"] = get_service()
    if "correlation_id" not in event_dict:
        event_dict["correlation_id"] = correlation_id.get()
    return event_dict


class _StdoutLogger:
    """A structlog logger printing to the *current* ``sys.stdout`` (structlog's
    PrintLogger keeps the stdout of import time, which breaks replaced streams)."""

    def msg(self, message: str) -> None:
        out = sys.stdout
        out.write(message + "\n")
        out.flush()

    log = debug = info = warn = warning = error = critical = exception = fatal = msg

    @classmethod
    def factory(cls, *_args: object) -> _StdoutLogger:
        return cls()


class StderrLogger(_StdoutLogger):
    """The same on the *current* ``sys.stderr`` (a CLI whose stdout carries its result)."""

    def msg(self, message: str) -> None:
        out = sys.stderr
        out.write(message + "\n")
        out.flush()

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


class _DropshipHandler(logging.Handler):
    """Writes to the *current* ``sys.stdout`` (so a replaced stdout, e.g. by a test
    runner, is honoured); its class marks it so a second :func:`configure_logging`
    replaces it instead of adding another."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


def configure_logging(
    level: str = "INFO", json: bool = True, *, service: str | None = None
) -> None:
    """Configure structlog and the standard library's logging; safe to call again.

    ``service`` is the process-wide default for the ``service`` field; a name bound
    with :func:`bind_service` (per request / message) or passed to the log call wins.
    """
    global _default_service
    if service is not None:
        _default_service = service
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_context,
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        structlog.processors.UnicodeDecoder(),
        mask_pii,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=_StdoutLogger.factory,
        context_class=dict,
        cache_logger_on_first_use=False,
    )

    # The standard library (uvicorn, sqlalchemy, aio-pika, …) goes through the same
    # processors, so its lines are JSON and masked too.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _DropshipHandler):
            root.removeHandler(handler)
    handler = _DropshipHandler()
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(numeric_level)


# --------------------------------------------------------------------------------------
# correlation id middleware
# --------------------------------------------------------------------------------------


class CorrelationIdMiddleware:
    """Take ``X-Correlation-Id`` (or ``X-Request-Id``) from the request, or make a
    uuid4 hex; bind it for the request's logs and echo it as ``X-Correlation-Id``.

    An incoming id that is too long or has characters outside ``[A-Za-z0-9._:-]`` is
    replaced by a fresh one (it would otherwise be echoed into headers and logs).
    """

    def __init__(self, app: ASGIApp, service: str | None = None) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        value: str | None = None
        headers = dict(scope.get("headers") or ())
        for name in _INCOMING_HEADERS:
            raw = headers.get(name)
            if raw is not None:
                candidate = raw.decode("latin-1").strip()
                if _VALID_ID.match(candidate):
                    value = candidate
                    break
        value = value or new_correlation_id()
        header_value = value.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = [
                    (k, v)
                    for k, v in message.get("headers", ())
                    if k.lower() != b"x-correlation-id"
                ]
                out.append((b"x-correlation-id", header_value))
                message = {**message, "headers": out}
            await send(message)

        token = correlation_id.set(value)
        service_token = _service.set(self.service) if self.service else None
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if service_token is not None:
                _service.reset(service_token)
            correlation_id.reset(token)


# --------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests handled, by matched route template and status code",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to handle an HTTP request, by matched route template",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
MESSAGES_CONSUMED = Counter(
    "messages_consumed",
    "Bus messages consumed, by type and outcome (ok, duplicate, failed, ignored)",
    ["service", "type", "outcome"],
)
OUTBOX_PENDING = Gauge("outbox_pending", "Outbox rows not yet published", ["service"])
OUTBOX_PUBLISHED = Counter(
    "outbox_published", "Outbox rows published and confirmed by the broker", ["service"]
)

UNMATCHED_ROUTE = "<unmatched>"


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


class MetricsMiddleware:
    """Count requests and time them per ``(service, method, route template)``.

    The template comes from the route Starlette matched (``scope["route"]``), so
    ``/orders/123`` and ``/orders/456`` are one series and unknown paths (404s) are one
    ``<unmatched>`` series: the number of series stays bounded. Unknown methods are
    labelled ``OTHER`` for the same reason. The middleware also binds the service name
    for the request's logs.
    """

    _METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET").upper()
        if method not in self._METHODS:
            method = "OTHER"
        status = 500
        start = time.perf_counter()

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        service_token = _service.set(self.service)
        try:
            await self.app(scope, receive, send_recording)
        finally:
            _service.reset(service_token)
            elapsed = time.perf_counter() - start
            route = _route_template(scope)
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, route).observe(elapsed)
