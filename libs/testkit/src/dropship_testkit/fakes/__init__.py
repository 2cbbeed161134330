"""Local fakes of outside systems, speaking their documented protocols, for integration
and system tests: run them in-process behind :class:`FakeNetwork` (an httpx transport
that routes by host name) or on a real port with uvicorn (``app`` is a FastAPI app)."""

from dropship_testkit.fakes.network import DROP_RESPONSE_HEADER, FakeNetwork
from dropship_testkit.fakes.shopify_admin import FakeShopifyAdmin
from dropship_testkit.fakes.woocommerce_rest import FakeWooCommerce

__all__ = ["DROP_RESPONSE_HEADER", "FakeNetwork", "FakeShopifyAdmin", "FakeWooCommerce"]
