"""The vendors' real published payloads (Shopify, WooCommerce), shipped inside the test
kit so that they are found the same way from a checkout and from an installed wheel."""

from pathlib import Path

PAYLOADS = Path(__file__).resolve().parent
