"""AMQP topic matching (``*`` one word, ``#`` zero or more), for the embedded bus."""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=1024)
def _pattern(binding: str) -> re.Pattern[str]:
    parts = []
    for word in binding.split("."):
        if word == "#":
            parts.append(r"(?:[^.]+(?:\.[^.]+)*)?")
        elif word == "*":
            parts.append(r"[^.]+")
        else:
            parts.append(re.escape(word))
    regex = r"\.".join(parts)
    # "a.#" must match "a" too: let a '#' swallow its leading dot
    regex = regex.replace(r"\.(?:[^.]+(?:\.[^.]+)*)?", r"(?:\.[^.]+(?:\.[^.]+)*)?")
    return re.compile(f"^{regex}$")


def matches(binding: str, routing_key: str) -> bool:
    return _pattern(binding).match(routing_key) is not None
