"""SQL of buyer messages (queued by :mod:`.service`, sent by :mod:`.mailer`)."""

from __future__ import annotations

from dropship_common.repository import Repository
from order_intake.models import BuyerMessage


class BuyerMessageRepository(Repository[BuyerMessage]):
    model = BuyerMessage
