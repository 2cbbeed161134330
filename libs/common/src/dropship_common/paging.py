"""Bounds of paging parameters, shared by every list endpoint: a value past them is a
422, never an overflow in the database (``OFFSET 9223372036854775808`` is a 500)."""

from __future__ import annotations

MAX_OFFSET = 10_000_000  # far past any list we hold, far below a BIGINT
MAX_CURSOR_LENGTH = 512  # an opaque cursor we wrote is under 100 characters
