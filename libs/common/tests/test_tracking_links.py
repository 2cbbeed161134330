"""The buyer's order help-page token: self-contained, verifiable with the key alone."""

from __future__ import annotations

import uuid

import pytest

from dropship_common.secretbox import Keyring, SecretKeyError
from dropship_common.tracking_links import order_token, verify_order_token

KEY = Keyring.from_secrets("k" * 40).link_key


def test_an_order_token_verifies_to_its_order_and_is_url_safe() -> None:
    order_id = uuid.uuid4()
    token = order_token(order_id, KEY)
    assert token.startswith(order_id.hex + ".")
    assert all(c.isalnum() or c in "-_." for c in token)
    assert verify_order_token(token, KEY) == order_id


def test_a_token_under_another_key_or_tampered_is_refused() -> None:
    order_id = uuid.uuid4()
    token = order_token(order_id, KEY)
    other = Keyring.from_secrets("o" * 40).link_key
    assert verify_order_token(token, other) is None
    swapped = f"{uuid.uuid4().hex}.{token.partition('.')[2]}"
    assert verify_order_token(swapped, KEY) is None
    assert verify_order_token(token[:-1], KEY) is None
    assert verify_order_token(token.upper(), KEY) is None


@pytest.mark.parametrize("token", ["", "nodot", ".", "zz.abc", "1234.abc", "é" * 32 + ".x"])
def test_malformed_tokens_are_refused_not_raised(token: str) -> None:
    assert verify_order_token(token, KEY) is None


def test_no_key_is_an_error_not_an_unsigned_link() -> None:
    with pytest.raises(SecretKeyError):
        order_token(uuid.uuid4(), b"")
