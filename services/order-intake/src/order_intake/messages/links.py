"""The buyer's links to aftersales: the order's help page and a case's page."""

from __future__ import annotations

import uuid
from string import Template

from dropship_common.tracking_links import signed_id
from order_intake.messages.templates import CASE_LINK, HELP, language_of


def help_page(base_url: str | None, order_id: uuid.UUID) -> str | None:
    """``<aftersales>/help/<token>``: where the buyer reports a problem with the order
    (the token names the order and is signed: ``signed_id("order", …)``); None when
    aftersales' address is not configured."""
    if not base_url:
        return None
    return f"{base_url.rstrip('/')}/help/{signed_id('order', order_id)}"


def case_page(base_url: str | None, path: str | None) -> str | None:
    """The case's page: aftersales' address and the path its notice gives."""
    if not base_url or not path:
        return None
    return f"{base_url.rstrip('/')}/{path.lstrip('/')}"


def help_text(language: str, url: str | None) -> str:
    """The "report a problem" sentence of the shipped / delivered e-mails, or nothing."""
    return "" if not url else Template(HELP[language_of(language, HELP)]).substitute(url=url)


def case_text(language: str, url: str | None) -> str:
    """The case page's sentence of the case messages, or nothing."""
    if not url:
        return ""
    return Template(CASE_LINK[language_of(language, CASE_LINK)]).substitute(url=url)
