"""SQL of stored CJ webhook messages."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import insert_ignore, utcnow
from supplier_gateway.cj_messages.kinds import IGNORED, PENDING, PROCESSED
from supplier_gateway.models import CJMessage

T: sa.Table = CJMessage.__table__  # type: ignore[assignment]
CJ_MESSAGE_FLAG = "cj_messages_to_apply"  # session.info: wake the worker after commit
CJ_MESSAGE_CHANNEL = "dropship_supplier_gateway_cj_messages"  # NOTIFY: a worker process


class CJMessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store(
        self,
        supplier_id: uuid.UUID,
        message_id: str,
        message_type: str,
        sub_type: str | None,
        params: Any,
        status: str,
    ) -> bool:
        """Insert a verified message; False if this supplier's message id is stored
        already (CJ sends a message again when its answer was not a 200)."""
        now = utcnow()
        dialect = self.session.get_bind().dialect.name
        stmt = insert_ignore(T, dialect).values(
            id=uuid.uuid4(),
            supplier_id=supplier_id,
            message_id=message_id,
            type=message_type,
            message_type=sub_type,
            params=params,
            status=status,
            attempts=0,
            next_attempt_at=now if status == PENDING else None,
            received_at=now,
            processed_at=None if status == PENDING else now,
        )
        result = await self.session.execute(stmt)
        stored = bool(getattr(result, "rowcount", 0))
        if stored and status == PENDING:
            self.session.info[CJ_MESSAGE_FLAG] = True
            if dialect == "postgresql":  # delivered at commit, to a worker process
                await self.session.execute(sa.select(sa.func.pg_notify(CJ_MESSAGE_CHANNEL, "")))
        return stored

    async def claim_due(self, limit: int) -> list[CJMessage]:
        """Pending messages due now, in arrival order, locked (replicas skip them)."""
        return list(
            await self.session.scalars(
                sa.select(CJMessage)
                .where(CJMessage.status == PENDING, CJMessage.next_attempt_at <= utcnow())
                .order_by(CJMessage.received_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )

    async def recent(
        self, status: str | None, supplier_id: uuid.UUID | None, limit: int
    ) -> list[CJMessage]:
        q = sa.select(CJMessage).order_by(CJMessage.received_at.desc()).limit(limit)
        if status:
            q = q.where(CJMessage.status == status)
        if supplier_id:
            q = q.where(CJMessage.supplier_id == supplier_id)
        return list(await self.session.scalars(q))

    async def get(self, message_uuid: uuid.UUID) -> CJMessage | None:
        return await self.session.get(CJMessage, message_uuid, with_for_update=True)

    async def purge_settled(self, older_than: dt.timedelta) -> None:
        """Applied and ignored messages once CJ's retries of them are long over (3 tries,
        5 minutes apart); parked and unhandled ones stay for an operator."""
        await self.session.execute(
            sa.delete(T).where(
                T.c.status.in_([PROCESSED, IGNORED]), T.c.received_at < utcnow() - older_than
            )
        )
