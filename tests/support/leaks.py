"""Finding secrets in log text without tripping over random hex that happens to hold them."""

from __future__ import annotations

import re


def leaked(text: str, secrets: list[str]) -> list[str]:
    """The secrets that stand on their own somewhere in ``text``.

    A four-digit PIN turns up by chance inside UUIDs, ETags and nonces (one in 65,536 per
    place in hex), so a secret counts only where no letter or digit touches it.
    """
    return [
        secret
        for secret in secrets
        if re.search(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])", text)
    ]


def my_numbers_in(text: str) -> list[str]:
    """Twelve digits standing on their own: the shape of a My Number.

    A random UUID holds twelve digits in a row now and then (its last group is twelve hex
    characters), so digits touching a letter or a digit do not count."""
    return re.findall(r"(?<![0-9A-Za-z])\d{12}(?![0-9A-Za-z])", text)


def database_rows_text(database_url: str) -> str:
    """Every row of every table, every column, as text: what a copy of the database tells.

    Times are written in UTC as ``YYYY-MM-DD HH:MM:SS`` whatever the database keeps (naive
    UTC on SQLite, aware on PostgreSQL), bytes as hex; search it with ``leaked``."""
    import datetime as dt

    import sqlalchemy as sa

    from mynapoint.database import make_engine

    engine = make_engine(database_url)
    lines = []
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                for row in connection.execute(sa.select(table)):
                    cells = []
                    for column, value in zip(table.columns, row, strict=True):
                        if isinstance(value, dt.datetime):
                            utc = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
                            value = utc.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
                        elif isinstance(value, bytes | memoryview):
                            value = bytes(value).hex()
                        cells.append(f"{column.name}={value}")
                    lines.append(f"{table.name}: " + " | ".join(cells))
    finally:
        engine.dispose()
    return "\n".join(lines)
