"""A shop's domain is a storefront's and one we may call, before any call is made."""

from __future__ import annotations

import uuid

import pytest

from dropship_testkit.pytest_plugin import RunningService
from order_intake.config import OrderIntakeSettings
from order_intake.fulfilment.base import StorefrontRejected
from order_intake.fulfilment.routes import route_for
from order_intake.main import SPEC
from order_intake.models import Shop
from order_intake.storefront_sync.job import storefront_api

pytestmark = pytest.mark.integration


@pytest.fixture
async def intake(start_service) -> RunningService:  # type: ignore[no-untyped-def]
    # the tests' default allows loopback (where the vendor fakes listen): not here
    return await start_service(SPEC, outbound_allow="")  # type: ignore[no-any-return]


def shop_body(platform: str, domain: str) -> dict[str, object]:
    return {"platform": platform, "domain": domain, "webhook_secret": "whsec-12345678"}


async def domains(intake: RunningService) -> list[str]:
    shops = (await intake.client.get("/v1/shops", headers=intake.admin_headers)).json()
    return [shop["domain"] for shop in shops]


@pytest.mark.parametrize(
    "domain", ["127.0.0.1", "localhost", "2130706433", "169.254.169.254", "[::1]", "10.0.0.8"]
)
async def test_a_shop_domain_inside_our_network_is_refused(
    intake: RunningService, domain: str
) -> None:
    r = await intake.client.post(
        "/v1/shops", headers=intake.admin_headers, json=shop_body("woocommerce", domain)
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "url_not_allowed"
    assert await domains(intake) == []


@pytest.mark.parametrize("domain", ["shop.example.com", "evil.myshopify.com.example.com"])
async def test_a_shopify_shop_must_be_on_myshopify_com(intake: RunningService, domain: str) -> None:
    r = await intake.client.post(
        "/v1/shops", headers=intake.admin_headers, json=shop_body("shopify", domain)
    )
    assert r.status_code == 422 and "myshopify.com" in r.text
    assert await domains(intake) == []


async def test_a_stored_shopify_shop_off_myshopify_com_is_never_called() -> None:
    """A shop stored before the check (or edited in the database) fails at once: the
    call is refused before a client is made."""
    shop = Shop(
        id=uuid.uuid4(),
        platform="shopify",
        domain="metadata.internal",
        admin_credentials={"access_token": "shpat_x"},
        webhook_secrets=["s"],
    )
    with pytest.raises(StorefrontRejected, match=r"myshopify\.com"):
        storefront_api(shop, route_for(shop.domain, {}), None, OrderIntakeSettings())
