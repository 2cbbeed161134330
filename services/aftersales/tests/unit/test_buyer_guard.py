"""The buyer forms' HMAC token (the look-up limit: tests/integration/test_buyer_page.py)."""

from __future__ import annotations

import pytest

from aftersales.buyer_page.guard import FORM_SECONDS, form_token, form_token_ok
from dropship_common import secretbox
from dropship_common.settings import Settings


@pytest.fixture(autouse=True)
def _key() -> None:
    secretbox.install(secretbox.keyring_for(Settings(secret_key="k" * 40)))


def test_a_form_token_is_bound_to_its_form_page_and_time() -> None:
    token = form_token("help", "order-token-a", now=1_000_000)
    assert form_token_ok(token, "help", "order-token-a", now=1_000_100)
    assert not form_token_ok(token, "help", "order-token-b", now=1_000_100)  # another order
    assert not form_token_ok(token, "evidence", "order-token-a", now=1_000_100)
    assert not form_token_ok(token, "help", "order-token-a", now=1_000_001 + FORM_SECONDS)
    expires, _, mac = token.partition(".")
    forged = f"{int(expires) + 3600}.{mac}"  # a later expiry with the same MAC
    assert not form_token_ok(forged, "help", "order-token-a", now=1_000_100)
    assert not form_token_ok("", "help", "order-token-a", now=1_000_100)
