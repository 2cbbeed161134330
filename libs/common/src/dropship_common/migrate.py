"""Alembic migrations per service, run programmatically (``dropship migrate``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config


def alembic_config(migrations_dir: Path, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade_sync(migrations_dir: Path, url: str, revision: str = "head") -> None:
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(migrations_dir, url), revision)


async def upgrade(migrations_dir: Path, url: str, revision: str = "head") -> None:
    """Alembic's env runs its own event loop: give it a thread."""
    await asyncio.to_thread(upgrade_sync, migrations_dir, url, revision)


def find_migrations(package_file: str) -> Path:
    """services/<name>/migrations in a checkout, <package>/_migrations in a wheel."""
    pkg = Path(package_file).resolve().parent
    for candidate in (pkg / "_migrations", pkg.parents[1] / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError(f"no migrations next to {pkg}")
