"""AMQP topic matching: ``*`` is exactly one word, ``#`` is zero or more words."""

from __future__ import annotations

import pytest

from dropship_common.messaging.topics import matches

CASES = [
    # exact words
    ("order.confirmed", "order.confirmed", True),
    ("order.confirmed", "order.cancelled", False),
    ("order.confirmed", "order.confirmed.extra", False),
    ("order", "order.confirmed", False),
    # '*' is exactly one word
    ("order.*", "order.confirmed", True),
    ("order.*", "order", False),
    ("order.*", "order.a.b", False),
    ("*.confirmed", "order.confirmed", True),
    ("*.confirmed", "confirmed", False),
    ("*", "order", True),
    ("*", "order.confirmed", False),
    # '#' is zero or more words, at any position
    ("#", "order", True),
    ("#", "order.confirmed.x", True),
    ("order.#", "order", True),
    ("order.#", "order.confirmed", True),
    ("order.#", "order.a.b.c", True),
    ("order.#", "orders.confirmed", False),
    ("#.confirmed", "confirmed", True),
    ("#.confirmed", "order.confirmed", True),
    ("#.confirmed", "a.b.confirmed", True),
    ("#.confirmed", "order.confirmed.x", False),
    ("order.#.done", "order.done", True),
    ("order.#.done", "order.x.y.done", True),
    ("order.#.done", "order.x.y", False),
    ("#.#", "a", True),
    ("#.*", "a", True),
    ("#.*", "a.b.c", True),
    ("*.#", "a", True),
    ("*.#.*", "a", False),
    ("*.#.*", "a.b", True),
    # literal words are not regular expressions
    ("order.c+", "order.cc", False),
    ("order.c+", "order.c+", True),
    ("a.b", "axb", False),
    # a trailing newline is not ignored
    ("order.confirmed", "order.confirmed\n", False),
]


@pytest.mark.parametrize(("binding", "key", "expected"), CASES)
def test_matches(binding: str, key: str, expected: bool) -> None:
    assert matches(binding, key) is expected
