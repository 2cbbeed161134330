"""Alembic environment of supplier-gateway (see dropship_common.alembic_env)."""

from dropship_common.alembic_env import run
from supplier_gateway.models import metadata

run(metadata)
