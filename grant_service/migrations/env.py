"""Alembic environment: the URL comes from the caller (``grant-service migrate``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from grant_service.models import Base
from mynapoint.database import make_engine

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as new_connection:
        run(new_connection)
    engine.dispose()
