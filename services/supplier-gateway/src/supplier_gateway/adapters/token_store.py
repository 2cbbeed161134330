"""Supplier API tokens in the database (``supplier_tokens``), each read or write its own
short transaction: adapters run with no transaction open."""

from __future__ import annotations

import uuid

from dropship_common.db import Database
from supplier_gateway.adapters.base import SavedToken
from supplier_gateway.models import SupplierToken
from supplier_gateway.suppliers.repository import SupplierRepository


class DbTokenStore:
    def __init__(self, db: Database, supplier_id: uuid.UUID) -> None:
        self.db = db
        self.supplier_id = supplier_id

    async def load(self) -> SavedToken | None:
        async with self.db.sessions() as session:
            row = await SupplierRepository(session).token(self.supplier_id)
        if row is None:
            return None
        return SavedToken(
            row.access_token,
            row.access_expires,
            row.refresh_token,
            row.refresh_expires,
            row.open_id,
            row.issued_at,
            row.account,
        )

    async def save(self, token: SavedToken) -> None:
        async with self.db.transaction() as session:
            repo = SupplierRepository(session)
            row = await repo.token(self.supplier_id, lock=True)
            if row is None:
                row = SupplierToken(supplier_id=self.supplier_id)
                session.add(row)
            row.access_token, row.access_expires = token.access_token, token.access_expires
            row.refresh_token, row.refresh_expires = token.refresh_token, token.refresh_expires
            row.open_id, row.issued_at = token.open_id, token.issued_at
            row.account = token.account
