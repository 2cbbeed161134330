"""``dropship secrets rotate``: every stored secret re-encrypted under the current key."""

from __future__ import annotations

import sqlalchemy as sa

from dropship_cli.admin import configured_services
from dropship_common.db import make_engine
from dropship_common.secretbox import Keyring, encrypted_columns, rotate_metadata
from dropship_common.settings import Settings


def _metadata(service: str) -> sa.MetaData:
    from dropship_cli.services import SPECS

    metadata: sa.MetaData = SPECS[service].tables.outbox.metadata
    return metadata


async def rotate_secrets(settings: Settings, ring: Keyring) -> dict[str, int]:
    """Rows re-encrypted per service database (those with encrypted columns). Each
    database in one transaction: a failure (a value no key reads) changes nothing there,
    and a rerun skips what is already under the current key."""
    changed: dict[str, int] = {}
    for name in configured_services(settings):
        metadata = _metadata(name)
        if not encrypted_columns(metadata):
            continue
        engine = make_engine(settings.for_service(name).db_url, pool_size=1)
        try:
            async with engine.begin() as conn:
                changed[name] = await conn.run_sync(rotate_metadata, metadata, ring)
        finally:
            await engine.dispose()
    return changed
