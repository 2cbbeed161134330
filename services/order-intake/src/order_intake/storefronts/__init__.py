"""Storefront payloads -> canonical order. Pure: bytes in, :class:`CanonicalOrder` out, no I/O.

One module per storefront (``shopify``, ``woocommerce``, ``custom``), each with a permissive
pydantic model of the body the storefront sends, ``to_canonical(model)`` and
``parse_order(raw)``. This package holds what they share: the :class:`InvalidPayload` error,
the ``Money`` type (``Decimal`` parsed through ``str``, never through float arithmetic) and
small helpers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, BeforeValidator, ValidationError

from order_intake.domain.order import Wish

__all__ = [
    "InvalidPayload",
    "Money",
    "PayloadErrorKind",
    "clean",
    "clean_email",
    "clean_text",
    "load_json",
    "to_utc",
    "validate_json",
    "validate_payload",
    "wishes",
]

PayloadErrorKind = Literal["invalid_json", "validation_error"]

_M = TypeVar("_M", bound=BaseModel)


class InvalidPayload(ValueError):
    """The body is not JSON (``kind="invalid_json"``) or not the expected shape
    (``kind="validation_error"``; ``details`` is pydantic's error list reduced to
    ``loc``/``msg``/``type``, safe to return to the sender: no input values echoed)."""

    def __init__(
        self,
        message: str,
        details: list[dict[str, Any]] | None = None,
        *,
        kind: PayloadErrorKind = "validation_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[dict[str, Any]] = details or []
        self.kind: PayloadErrorKind = kind

    def __repr__(self) -> str:
        return f"InvalidPayload(kind={self.kind!r}, message={self.message!r})"


def _to_decimal(value: Any) -> Any:
    """Money arrives as "199.00" (Shopify, Woo totals) or as a JSON number (Woo line ``price``).

    Numbers go through ``str`` so 0.1 stays Decimal("0.1"); bools are refused (a bool is an
    int in Python). Anything else is left for pydantic's Decimal validation to judge."""
    if isinstance(value, bool):
        raise ValueError("money must be a number or a numeric string, not a boolean")
    if isinstance(value, int | float):
        try:
            return Decimal(str(value))
        except InvalidOperation as exc:  # pragma: no cover - str(float) is always valid
            raise ValueError("not a number") from exc
    if isinstance(value, str):
        return value.strip()
    return value


Money = Annotated[Decimal, BeforeValidator(_to_decimal)]
"""A money amount: Decimal, from a numeric string or a JSON number (via ``str``)."""


def load_json(raw: bytes | str) -> Any:
    """Parse a body with orjson; raise :class:`InvalidPayload` (``invalid_json``) if it isn't."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidPayload(
            "body is not valid JSON",
            [{"loc": [], "msg": str(exc), "type": "json_invalid"}],
            kind="invalid_json",
        ) from exc


def validate_payload(model: type[_M], data: Any) -> _M:
    """``model.model_validate(data)``; ValidationError becomes :class:`InvalidPayload`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(model, exc) from exc


def validate_json(model: type[_M], raw: bytes) -> _M:
    """``model.model_validate_json(raw)`` (parsing and validating in one pass, the
    cheapest way on the webhook path); errors as :func:`load_json` and
    :func:`validate_payload` give them."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        if errors and errors[0]["type"] == "json_invalid":
            load_json(raw)  # raises the invalid_json error with orjson's message
        raise _invalid(model, exc) from exc


def _invalid(model: type[BaseModel], exc: ValidationError) -> InvalidPayload:
    details = [
        {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    return InvalidPayload(
        f"{model.__name__}: {exc.error_count()} validation error(s)",
        details,
        kind="validation_error",
    )


# runs of whitespace and control characters (CR/LF, NUL, the Unicode line separators):
# one space in a one-line field, where a line break breaks e-mail headers and labels
_BREAKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# control characters a multi-line text keeps no use for (tab and line feed stay)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# one address, as far as we need to send to it: no whitespace, no control characters,
# no second address or display name smuggled in
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f-\x9f<>,;\"]+@[^@\s\x00-\x1f\x7f-\x9f<>,;\"]+")


def clean(value: Any) -> str | None:
    """A one-line field: whitespace and control characters (CR/LF included) collapsed to
    one space, stripped; empty/blank/None -> None. Numbers become their ``str``."""
    if value is None or isinstance(value, bool):
        return None
    text = value if isinstance(value, str) else str(value)
    text = _BREAKS.sub(" ", text).strip()
    return text or None


def clean_text(value: str | None) -> str | None:
    """A multi-line field (the buyer's note): line breaks kept (CR LF as LF), other
    control characters dropped, stripped; blank -> None."""
    if value is None:
        return None
    text = _CONTROLS.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    return text or None


def clean_email(value: Any) -> str | None:
    """An e-mail address, or None when there is none or it is not one single address
    (a CR/LF in it would inject headers into the buyer's mail): the order still comes
    in, without an address to write to."""
    text = value.strip() if isinstance(value, str) else None
    return text if text and _EMAIL.fullmatch(text) else None


def to_utc(value: dt.datetime) -> dt.datetime:
    """Aware datetimes are converted to UTC; naive ones are taken as UTC already."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _wish_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float | Decimal):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def wishes(pairs: Iterable[tuple[Any, Any]]) -> tuple[Wish, ...]:
    """(name, value) pairs -> Wish tuple, skipping blank names and private ones ("_" prefix:
    Shopify private line properties, WooCommerce internal meta keys). Non-string values
    (numbers, objects from plugins) are rendered as text, objects as compact JSON."""
    out: list[Wish] = []
    for name, value in pairs:
        key = clean(name)
        if key is None or key.startswith("_"):
            continue
        out.append(Wish(name=key, value=_wish_value(value)))
    return tuple(out)
