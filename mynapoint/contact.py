"""Where citizens call, in one place for the screens, the slip and the service's reasons:
the My Number toll-free line, option 5 in its voice menu (seed 001 lines 41-43), and its
two other numbers (seed 000 lines 26-28). Weekend hours: seed 001 (the newer seed, 2021)
says 17:00, seed 002 says 17:30; kiosks can set their own (``KioskSettings``)."""

from __future__ import annotations

PHONE = "0120-95-0178"
OPTION = 5
NAVI_DIAL = "0570-783-578"  # 全国共通ナビダイヤル
ORDINARY = "050-3818-1250"  # 通常通話料金
HOURS_JA = "平日 9:30〜20:00、土日祝 9:30〜17:00"
HOURS_EN = "weekdays 9:30-20:00, weekends and holidays 9:30-17:00"
