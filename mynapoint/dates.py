"""Dates and times as citizens read them, on the screens and on the slip alike: Japan's
calendar day and clock, ``2025年3月31日 15:30`` in Japanese and ``15:30 on 31 March 2025``
in English (the programme's days are Japan's)."""

from __future__ import annotations

import datetime as dt

JST = dt.timezone(dt.timedelta(hours=9), "JST")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


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
