"""Alembic environment of order-intake (see dropship_common.alembic_env)."""

from dropship_common.alembic_env import run
from order_intake.models import Base

metadata = Base.metadata

run(metadata)
