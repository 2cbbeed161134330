"""Personal data masked in every log event (:func:`mask_pii`, a structlog processor):
values under personal keys and e-mail addresses / phone-like digit runs in any text."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, MutableMapping
from typing import Any

from dropship_common.observability.redaction import redact_urls

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
