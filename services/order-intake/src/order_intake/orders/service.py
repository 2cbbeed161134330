"""The order use cases, each its own module, on one transaction's :class:`OrderUnit`:

* :mod:`.intake` (:class:`StorefrontIntake`): a storefront's version of an order;
* :mod:`.operator_actions` (:class:`OperatorActions`): cancel, correct the address, map
  a SKU, release;
* :mod:`.supplier_answers` (:class:`SupplierAnswers`): hand-off, rejections,
  cancellation and address answers;
* :mod:`.transitions` (:class:`OrderTransitions`): the moves all of them share.

:class:`Orders` puts them together for a caller that needs several.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.messaging.outbox import Outbox
from order_intake.orders.intake import StorefrontIntake
from order_intake.orders.operator_actions import OperatorActions
from order_intake.orders.supplier_answers import SupplierAnswers
from order_intake.orders.transitions import OrderTransitions
from order_intake.orders.unit import Cause, OrderUnit


class Orders:
    def __init__(self, unit: OrderUnit) -> None:
        self.unit = unit

    @classmethod
    def direct(cls, session: AsyncSession, outbox: Outbox) -> Orders:
        return cls(OrderUnit.direct(session, outbox))

    @cached_property
    def transitions(self) -> OrderTransitions:
        return OrderTransitions(self.unit)

    @cached_property
    def intake(self) -> StorefrontIntake:
        return StorefrontIntake(self.unit)

    @cached_property
    def operator(self) -> OperatorActions:
        return OperatorActions(self.unit)

    @cached_property
    def supplier(self) -> SupplierAnswers:
        return SupplierAnswers(self.unit)


__all__ = ["Cause", "OrderUnit", "Orders"]
