"""Schema migrations (Alembic), run by ``grant-service migrate`` and before ``serve``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str, account_key: bytes | None = None) -> Config:
    """``account_key``: the service's account key, for revisions that convert stored rows
    into keyed digests (0005); a database with no such rows migrates without it."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    if account_key is not None:
        config.attributes["account_key"] = account_key
    return config


def upgrade(database_url: str, account_key: bytes | None = None) -> None:
    command.upgrade(alembic_config(database_url, account_key), "head")
