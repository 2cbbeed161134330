"""Alembic environment of aftersales (see dropship_common.alembic_env)."""

from dropship_common.alembic_env import run
from aftersales.models import metadata

run(metadata)
