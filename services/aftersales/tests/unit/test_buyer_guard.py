"""The buyer forms' HMAC token and the look-up limit."""

from __future__ import annotations

import pytest

from aftersales.buyer_page.guard import FORM_SECONDS, form_token, form_token_ok
from aftersales.buyer_page.lookup_limit import LookupLimit
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


def test_failed_lookups_are_limited_per_client_within_the_window() -> None:
    limit = LookupLimit(max_failures=3, window_seconds=60)
    for second in range(3):
        assert limit.retry_after("10.0.0.1", now=100 + second) is None
        limit.failed("10.0.0.1", now=100 + second)
    assert limit.retry_after("10.0.0.1", now=110) == 50  # the first failure leaves at 160
    assert limit.retry_after("10.0.0.2", now=110) is None  # another client
    assert limit.retry_after("10.0.0.1", now=160.5) is None  # the window moved on
