"""Logs, correlation ids, PII masking and Prometheus metrics shared by every service,
one module each:

* :mod:`.logs`: :func:`configure_logging` sets up structlog (and routes the standard
  library's ``logging`` through the same processors) to write one JSON object per line
  with ``timestamp`` (ISO 8601, UTC), ``level``, ``event``, ``service`` and
  ``correlation_id``. Calling it again replaces the previous set-up (idempotent).
* :mod:`.correlation`: :data:`correlation_id` is a context variable;
  :class:`CorrelationIdMiddleware` binds it per request (message consumers bind it per
  message with :func:`bind_correlation_id`).
* :mod:`.masking`: :func:`mask_pii` is a structlog processor that masks personal data in
  every event: values under personal keys (``email``, ``phone``, ``name``, ``address1``,
  ``zip``, …) and e-mail addresses / phone-like digit runs inside any other string
  (``13812341234`` -> ``138****1234``, ``john@example.com`` -> ``j***@example.com``,
  ``John`` -> ``J***``).
* :mod:`.redaction`: :func:`redact_url` hides the credentials of a URL (userinfo,
  token-like query values); every URL in a log line's text goes through it before the
  masking.
* :mod:`.metrics`: Prometheus metrics and :class:`MetricsMiddleware`, which labels
  requests by the matched route template (``/orders/{order_id}``), never by the raw path.

Both middlewares are pure ASGI (no ``BaseHTTPMiddleware``): no extra task per request
and streaming responses are passed through untouched.
"""

from dropship_common.observability.correlation import (
    CORRELATION_HEADER,
    CorrelationIdMiddleware,
    bind_correlation_id,
    bind_service,
    correlation_id,
    get_correlation_id,
    get_service,
    new_correlation_id,
)
from dropship_common.observability.logs import StderrLogger, configure_logging
from dropship_common.observability.masking import (
    find_emails,
    mask_email,
    mask_emails,
    mask_phone,
    mask_pii,
    mask_postal_code,
    mask_text,
    mask_value,
)
from dropship_common.observability.metrics import (
    HTTP_LATENCY,
    HTTP_REQUESTS,
    MESSAGES_CONSUMED,
    OUTBOX_PENDING,
    OUTBOX_PUBLISHED,
    MetricsMiddleware,
)
from dropship_common.observability.redaction import redact_url, redact_urls

__all__ = [
    "CORRELATION_HEADER",
    "HTTP_LATENCY",
    "HTTP_REQUESTS",
    "MESSAGES_CONSUMED",
    "OUTBOX_PENDING",
    "OUTBOX_PUBLISHED",
    "CorrelationIdMiddleware",
    "MetricsMiddleware",
    "StderrLogger",
    "bind_correlation_id",
    "bind_service",
    "configure_logging",
    "correlation_id",
    "find_emails",
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
