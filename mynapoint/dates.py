"""Dates and times as citizens read them, on the screens and on the slip alike: Japan's
calendar day and clock, ``2025年3月31日 15:30`` in Japanese and ``15:30 on 31 March 2025``
in English (the programme's days are Japan's); Japan's day of a moment (``japan_day``), and
the one clock both sides read (``utc_now``)."""

from __future__ import annotations

import datetime as dt

JST = dt.timezone(dt.timedelta(hours=9), "JST")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


def japan_day(moment: dt.datetime | None = None) -> dt.date:
    """The calendar day in Japan at ``moment`` (now when None): the programme's days
    ("selectable from", the deadline, "same day") are Japan's."""
    return (moment or dt.datetime.now(dt.UTC)).astimezone(JST).date()


def utc_now() -> dt.datetime:
    """The time now, in UTC (what is stored and compared; shown in Japan's time)."""
    return dt.datetime.now(dt.UTC)


def date_text(value: dt.date | dt.datetime, language: str) -> str:
    """``2025年3月31日`` / ``31 March 2025`` (Japan's date for a datetime)."""
    day = value.astimezone(JST).date() if isinstance(value, dt.datetime) else value
    if language == "ja":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def time_text(value: dt.datetime, language: str) -> str:
    """``2025年3月31日 15:30`` / ``15:30 on 31 March 2025`` (Japan's time)."""
    local = value.astimezone(JST)
    if language == "ja":
        return f"{date_text(local, language)} {local:%H:%M}"
    return f"{local:%H:%M} on {date_text(local, language)}"
