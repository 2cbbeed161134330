"""Buyer link tokens: self-contained, unforgeable without the key, kind-bound."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from dropship_common import secretbox, tracking_links


@pytest.fixture(autouse=True)
def ring() -> Iterator[None]:
    before = secretbox._installed
    secretbox.install(secretbox.Keyring.from_secrets("a secret for links"))
    yield
    secretbox._installed = before


def test_a_signed_id_carries_its_id_and_nothing_else_opens_it() -> None:
    order_id = uuid.uuid4()
    token = tracking_links.signed_id("order", order_id)
    assert tracking_links.id_of("order", token) == order_id
    assert tracking_links.id_of("case", token) is None  # an order's token opens no case
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert tracking_links.id_of("order", forged) is None
    assert tracking_links.id_of("order", "not a token!") is None
    assert tracking_links.id_of("order", "") is None


def test_a_token_signed_under_another_key_is_refused() -> None:
    order_id = uuid.uuid4()
    token = tracking_links.signed_id("order", order_id)
    secretbox.install(secretbox.Keyring.from_secrets("another deployment"))
    assert tracking_links.id_of("order", token) is None


def test_the_email_digest_ignores_case_and_spaces() -> None:
    digest = tracking_links.email_digest(" Buyer@Example.COM ")
    assert digest == tracking_links.email_digest("buyer@example.com")
    assert digest != tracking_links.email_digest("other@example.com")
    assert len(digest) == 64
