"""structlog (and the standard library's ``logging`` through the same processors): one
JSON object per line with timestamp, level, event, service and correlation id."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from dropship_common.observability.correlation import (
    correlation_id,
    get_service,
    set_default_service,
)
from dropship_common.observability.masking import mask_pii

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
    if service is not None:
        set_default_service(service)
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
