"""Alembic environment of logistics (see dropship_common.alembic_env)."""

from dropship_common.alembic_env import run
from logistics.models import metadata

run(metadata)
