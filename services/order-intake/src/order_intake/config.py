"""order-intake's own settings, on the shared base (``DROPSHIP_`` environment variables)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from dropship_common.mail import MailSettings
from dropship_common.runtime import ServiceRuntime

# Shopify releases an Admin API version each quarter (YYYY-01, -04, -07, -10) and supports
# each for at least 12 months: https://shopify.dev/docs/api/usage/versioning
SHOPIFY_API_VERSION = "2026-10"
_SHOPIFY_VERSION_RE = re.compile(r"^\d{4}-(01|04|07|10)$")


class OrderIntakeSettings(MailSettings):
    public_base_url: str = Field(
        default="http://127.0.0.1:8001", description="shown as each shop's webhook URL"
    )
    webhook_base_url: str | None = Field(
        default=None,
        description="our public `https://` address as the storefronts reach it: missing "
        "webhook subscriptions are created there; unset, they are only reported",
    )
    tracking_page_base_url: str | None = Field(
        default=None,
        description="logistics' public address: the buyer's e-mails link to its tracking "
        "page (`<address>/track/<token>`); unset, they link to the carrier's page",
    )
    aftersales_base_url: str | None = Field(
        default=None,
        description="aftersales' public address: the buyer's case e-mails link to the case "
        "page, the shipped and delivered e-mails to the order's help page "
        "(`<address>/help/<token>`); unset, they carry no such link",
    )
    payment_check_seconds: float = Field(
        default=600.0,
        gt=0,
        description="how often a payment link aftersales asked for (a dearer exchange's "
        "difference) is looked at to see whether the buyer paid",
    )
    storefront_sync_seconds: float = Field(
        default=900.0,
        description="how often the orders changed at each storefront (shops with admin "
        "credentials) are asked for",
    )
    storefront_sync_overlap_seconds: float = Field(
        default=600.0, description="how far each storefront sync looks back beyond the last one"
    )
    webhook_check_seconds: float = Field(
        default=86400.0,
        description="how often each shop's webhook subscriptions are checked and repaired",
    )
    shopify_api_version: str = Field(
        default=SHOPIFY_API_VERSION,
        description="the Shopify Admin API version asked for (a stable "
        "`YYYY-01/04/07/10`); Shopify answers with another when it no longer supports it, "
        "which is logged and counted (`shopify_api_version_mismatch`)",
    )

    @field_validator("shopify_api_version")
    @classmethod
    def _stable_shopify_version(cls, value: str) -> str:
        if not _SHOPIFY_VERSION_RE.match(value):
            raise ValueError(
                "DROPSHIP_SHOPIFY_API_VERSION must be a stable Shopify API version: "
                "YYYY-01, YYYY-04, YYYY-07 or YYYY-10"
            )
        return value


def config_of(rt: ServiceRuntime) -> OrderIntakeSettings:
    """The running service's settings, typed as order-intake's."""
    return rt.settings.as_config(OrderIntakeSettings)
