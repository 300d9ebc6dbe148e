"""The programme over time, for the console's programme page: MyKey IDs issued per day
(cumulative, JST days) and the suspended MyKey IDs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from grant_service.models import MyKey

SUSPENDED_SHOWN = 500


def _jst_day(session: Session) -> ColumnElement[Any]:
    """``MyKey.reserved_at`` as its day in JST, in this database's SQL (grouped there: the
    programme has millions of rows)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Tokyo", MyKey.reserved_at))
    return func.date(MyKey.reserved_at, "+9 hours")  # SQLite keeps naive UTC


def cumulative_reservations(session: Session) -> list[tuple[dt.date, int]]:
    """(JST day, MyKey IDs reserved up to the end of that day), one entry per day with any."""
    day = _jst_day(session)
    total, out = 0, []
    for value, count in session.execute(select(day, func.count()).group_by(day).order_by(day)):
        total += count
        out.append((value if isinstance(value, dt.date) else dt.date.fromisoformat(value), total))
    return out


def suspended(session: Session, limit: int = SUSPENDED_SHOWN) -> list[MyKey]:
    """Suspended MyKey IDs, the most recently suspended first."""
    return list(
        session.scalars(
            select(MyKey)
            .where(MyKey.status == "suspended")
            .order_by(MyKey.status_changed_at.desc(), MyKey.mykey_id)
            .limit(limit)
        )
    )
