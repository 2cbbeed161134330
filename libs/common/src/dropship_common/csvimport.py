"""CSV imports (products, supplier mappings): a header row, every row validated by a
pydantic model, all or nothing (one bad row and nothing is imported, with each bad
row named)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dropship_common.errors import BadRequest, ValidationFailed

M = TypeVar("M", bound=BaseModel)

MAX_ROWS = 20_000


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest("the CSV must be UTF-8") from exc


def parse_rows(
    text: str,
    model: type[M],
    *,
    columns: Sequence[str],
    required: Sequence[str],
    extra: dict[str, Any] | None = None,
) -> list[M]:
    """``extra`` values are added to every row (e.g. the shop id from the query)."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames
    if header is None or not set(required) <= set(header):
        raise ValidationFailed(
            "the CSV needs a header row with these columns", {"required": list(required)}
        )
    unknown = set(header) - set(columns)
    if unknown:
        raise ValidationFailed(
            "unknown CSV columns", {"unknown": sorted(unknown), "allowed": list(columns)}
        )
    rows: list[M] = []
    errors: list[dict[str, Any]] = []
    for number, row in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            raise ValidationFailed(f"at most {MAX_ROWS} rows per import")
        values = {k: (v.strip() or None) for k, v in row.items() if k and v is not None}
        try:
            rows.append(model.model_validate({**values, **(extra or {})}))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ()))
            errors.append({"row": number, "field": field, "error": first.get("msg")})
    if errors:
        raise ValidationFailed("the CSV has invalid rows; nothing was imported", errors[:50])
    if not rows:
        raise ValidationFailed("the CSV has no rows")
    return rows
