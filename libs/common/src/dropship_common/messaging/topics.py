"""AMQP topic matching (``*`` one word, ``#`` zero or more), for the embedded bus.

Words are separated by ``.``; a binding word other than ``*``/``#`` matches literally.
Matching works on words (no regular expressions), so a leading ``#`` may match zero
words (``#.confirmed`` matches ``confirmed``) and no character is special.
"""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=4096)
def matches(binding: str, routing_key: str) -> bool:
    pattern = binding.split(".")
    words = routing_key.split(".")
    # reach[j]: the binding words seen so far can match the first j key words
    reach = [True] + [False] * len(words)
    for part in pattern:
        if part == "#":
            seen = False
            nxt = []
            for ok in reach:
                seen = seen or ok
                nxt.append(seen)
        elif part == "*":
            nxt = [False, *reach[:-1]]
        else:
            nxt = [False] + [reach[j] and words[j] == part for j in range(len(words))]
        reach = nxt
    return reach[-1]
