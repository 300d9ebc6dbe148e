"""Every word the console shows, in Japanese (first) and English, and how it writes times.

Templates call ``t("key")``; a key missing here is a KeyError in the tests, not a blank on
a page. Times are shown in JST as ``YYYY-MM-DD HH:MM``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from mynapoint.dates import JST
from mynapoint.fleet import ALERT_LABELS, AlertKind

TEXTS: dict[str, tuple[str, str]] = {
    # the frame of every page
    "console": ("運用コンソール", "Operators' console"),
    "skip": ("本文へ移動", "Skip to the content"),
    "signed_in_as": ("ログイン中", "Signed in as"),
    "sign_out": ("ログアウト", "Sign out"),
    "language": ("表示言語", "Language"),
    "switch": ("切り替え", "Switch"),
    "nav": ("メニュー", "Menu"),
    "nav_fleet": ("端末一覧", "Fleet"),
    "nav_alerts": ("アラート", "Alerts"),
    "nav_programme": ("事業の状況", "Programme"),
    "nav_conflicts": ("ID の重複", "Conflicts"),
    "all": ("すべて", "All"),
    "none": ("ありません", "None"),
    "back_fleet": ("端末一覧に戻る", "Back to the fleet"),
    # sign-in
    "sign_in": ("ログイン", "Sign in"),
    "sign_in_title": ("運用コンソールにログイン", "Sign in to the operators' console"),
    "name": ("利用者名", "Name"),
    "access_key": ("アクセスキー", "Access key"),
    "sign_in_refused": (
        "利用者名またはアクセスキーが正しくありません。",
        "The name or the access key is not right.",
    ),
    "sign_in_locked": (
        "ログインの失敗が続いたため、{until} までログインできません。",
        "Too many failed sign-ins: signing in is locked until {until}.",
    ),
    "signed_out": ("ログアウトしました。", "You are signed out."),
    "session_ended": (
        "セッションが終了しました。もう一度ログインしてください。",
        "Your session has ended. Please sign in again.",
    ),
    # errors
    "forbidden_title": ("この操作はできません", "This cannot be done"),
    "forbidden_csrf": (
        "フォームの有効期限が切れたか、正しくありません。ページを開き直してください。何も変更していません。",
        "The form has expired or is not valid. Open the page again; nothing was changed.",
    ),
    "forbidden_session": (
        "ログインしていません。何も変更していません。",
        "You are not signed in; nothing was changed.",
    ),
    "not_found_title": ("見つかりません", "Not found"),
    "bad_request_title": ("入力を確認してください", "Please check the input"),
    # the fleet
    "fleet_title": ("端末一覧", "Fleet"),
    "filters": ("絞り込み", "Filter"),
    "municipality": ("市区町村", "Municipality"),
    "store": ("設置場所", "Store"),
    "channel": ("設置区分", "Channel"),
    "condition": ("状態", "Condition"),
    "apply_filters": ("表示", "Show"),
    "summary": ("状態ごとの台数", "Kiosks by condition"),
    "kiosk": ("端末", "Kiosk"),
    "queue_depth": ("未送信", "Queued"),
    "oldest_unsent": ("最古の未送信", "Oldest unsent"),
    "paper": ("用紙", "Paper"),
    "last_seen": ("最終受信", "Last seen"),
    "version": ("版", "Version"),
    "open_alerts": ("未対応アラート", "Open alerts"),
    "as_of": ("{time} 時点", "as of {time}"),
    "never_reported": ("未受信", "never reported"),
    "ago": ("{n}分前", "{n} min ago"),
    "just_now": ("たった今", "just now"),
    "silent_for": ("{n}分間 応答なし", "silent for {n} min"),
    "page_of": ("{page} / {pages} ページ（{count} 台）", "Page {page} of {pages} ({count} kiosks)"),
    "previous": ("前へ", "Previous"),
    "next": ("次へ", "Next"),
    "pages": ("ページ", "Pages"),
    "no_kiosks": ("該当する端末はありません。", "No kiosk matches."),
    "seconds": ("{n}秒", "{n} s"),
    "minutes": ("{n}分", "{n} min"),
    "hours": ("{n}時間", "{n} h"),
    # conditions (grant_service.fleet.CONDITIONS)
    "condition_silent": ("応答なし", "Silent"),
    "condition_paper_out": ("用紙切れ", "Paper out"),
    "condition_alert": ("アラートあり", "Alert"),
    "condition_queue_stuck": ("未送信が滞留", "Queue stuck"),
    "condition_warning": ("注意", "Warning"),
    "condition_never_seen": ("未受信", "Never seen"),
    "condition_ok": ("正常", "OK"),
    "condition_revoked": ("失効", "Revoked"),
    # paper, kiosk states, channels
    "paper_ok": ("正常", "OK"),
    "paper_near_end": ("残りわずか", "Near end"),
    "paper_out": ("用紙切れ", "Out"),
    "paper_offline": ("プリンタ未接続", "Printer offline"),
    "paper_unknown": ("不明", "Unknown"),
    "state_idle": ("待機中", "Idle"),
    "state_in_use": ("利用中", "In use"),
    "state_technician": ("保守中", "Technician"),
    "state_stopped": ("停止", "Stopped"),
    "channel_convenience_store": ("コンビニ", "Convenience store"),
    "channel_city_hall": ("市区町村窓口", "City hall"),
    # a kiosk
    "kiosk_title": ("端末 {kiosk}", "Kiosk {kiosk}"),
    "current_state": ("現在の状態", "Current state"),
    "silent_notice": (
        "この端末は {n} 分間応答がありません。以下は {time} 時点の値です。",
        "This kiosk has been silent for {n} min. The figures below are as of {time}.",
    ),
    "never_notice": ("この端末からの報告はまだありません。", "This kiosk has not reported yet."),
    "kiosk_state": ("動作", "State"),
    "reader": ("カードリーダー", "Card reader"),
    "present": ("接続", "connected"),
    "absent": ("未接続", "not connected"),
    "card_on_reader": ("カード", "Card"),
    "card_there": ("置かれている", "on the reader"),
    "card_none": ("なし", "none"),
    "quarantined": ("送信できない申込", "Quarantined items"),
    "disk_free": ("空き容量", "Disk free"),
    "clock_skew": ("時計のずれ", "Clock skew"),
    "last_sync": ("最終同期", "Last sync"),
    "last_error": ("最後のエラー", "Last error"),
    "device_status": ("登録", "Enrollment"),
    "device_active": ("有効", "active"),
    "device_revoked": ("失効", "revoked"),
    "charts": ("推移", "History"),
    "last_24h": ("直近24時間", "Last 24 hours"),
    "last_7d": ("直近7日間", "Last 7 days"),
    "chart_queue": ("未送信の件数", "Queued items"),
    "chart_lag": ("同期の遅れ（秒）", "Sync lag (seconds)"),
    "chart_paper": ("用紙の異常", "Paper events"),
    "no_history": ("記録がありません", "No history"),
    "kiosk_alerts": ("この端末のアラート", "This kiosk's alerts"),
    "actions": ("操作", "Actions"),
    "revoke": ("この端末を失効させる", "Revoke this kiosk"),
    "revoke_confirm_title": ("端末 {kiosk} を失効させますか", "Revoke kiosk {kiosk}?"),
    "revoke_confirm_text": (
        "失効した端末は送信できなくなります。再び使うには技術者が登録し直します。",
        "A revoked kiosk can send nothing more; a technician must enroll it again to reuse it.",
    ),
    "revoke_yes": ("失効させる", "Revoke"),
    "cancel": ("やめる", "Cancel"),
    "revoked_done": ("端末 {kiosk} を失効させました。", "Kiosk {kiosk} is revoked."),
    "enrollment": ("登録用トークンの発行", "Enrollment token for a technician"),
    "enrollment_new": ("新しい端末の登録用トークン", "Enrollment token for a new kiosk"),
    "valid_for": ("有効期間", "Valid for"),
    "issue_token": ("発行する", "Issue"),
    "token_title": ("登録用トークン", "Enrollment token"),
    "token_once": (
        "このトークンは一度だけ表示されます。技術者に伝えてから、このページを閉じてください。",
        "This token is shown once only: give it to the technician, then close this page.",
    ),
    "token_expires": ("有効期限", "Expires"),
    # alerts
    "alerts_title": ("アラート", "Alerts"),
    "show": ("表示", "Show"),
    "alerts_open": ("未解決", "Open and acknowledged"),
    "alerts_resolved": ("解決済み", "Resolved"),
    "alert_kind": ("種類", "Kind"),
    "raised_at": ("発生", "Raised"),
    "receipt_number": ("受付番号", "Receipt number"),
    "detail": ("詳細", "Detail"),
    "alert_state": ("対応", "Handling"),
    "alert_open": ("未対応", "open"),
    "alert_acknowledged": ("対応中", "acknowledged"),
    "alert_resolved": ("解決", "resolved"),
    "by_at": ("{by}（{at}）", "{by} ({at})"),
    "acknowledged_by": ("確認", "Acknowledged by"),
    "resolved_by": ("解決", "Resolved by"),
    "acknowledge": ("対応する", "Acknowledge"),
    "resolve": ("解決にする", "Resolve"),
    # the programme
    "programme_title": ("事業の状況", "Programme"),
    "reservations": ("予約（マイキーID）", "Reservations (MyKey IDs)"),
    "issued_of_cap": (
        "{issued} 件（上限 {cap} 件の {percent}%）",
        "{issued} of a cap of {cap} ({percent}%)",
    ),
    "chart_reservations": ("マイキーIDの累計と上限", "MyKey IDs issued, cumulative, and the cap"),
    "cap": ("上限", "Cap"),
    "applications": ("決済サービスごとの申込", "Applications per payment service"),
    "service": ("決済サービス", "Payment service"),
    "active": ("有効", "Active"),
    "cancelled": ("取消", "Cancelled"),
    "superseded": ("統合", "Superseded"),
    "points_granted": ("付与したポイント", "Points granted"),
    "points_line": (
        "{points} ポイント（{people} 人、対象額 {counted} 円）",
        "{points} points to {people} people (on {counted} yen)",
    ),
    "suspended_ids": ("利用停止中のマイキーID", "Suspended MyKey IDs"),
    "mykey_id": ("マイキーID", "MyKey ID"),
    "reason": ("理由", "Reason"),
    "since": ("停止日時", "Since"),
    # conflicts
    "conflicts_title": ("マイキーIDの重複", "MyKey ID conflicts"),
    "conflicts_intro": (
        "再発行されたカードに別のマイキーIDがあります。本人が使い続けるIDを選んでください。もう一方は統合されます。",
        "A re-issued card already had its own MyKey ID. Choose the ID the person keeps; the "
        "other is merged into it.",
    ),
    "conflict": ("番号", "Conflict"),
    "opened_at": ("発生", "Opened"),
    "old_id": ("旧カードのID", "Old card's ID"),
    "new_id": ("新カードのID（保留中）", "New card's ID (held)"),
    "keep": ("残すID", "Keep"),
    "keep_old": ("旧カードのIDを残す", "Keep the old ID"),
    "keep_new": ("新カードのIDを残す", "Keep the new ID"),
    "resolve_conflict": ("確定する", "Resolve"),
    "conflict_resolved": ("番号 {id} を解決しました。", "Conflict {id} is resolved."),
}


def translator(language: str) -> Callable[..., str]:
    """``t(key, **values)`` in ``language`` (``ja`` or ``en``)."""
    index = 1 if language == "en" else 0

    def t(key: str, **values: object) -> str:
        text = TEXTS[key][index]
        return text.format(**values) if values else text

    return t


def alert_label(kind: str, language: str) -> str:
    try:
        labels = ALERT_LABELS[AlertKind(kind)]
    except ValueError:
        return kind
    return labels[1 if language == "en" else 0]


def jst(moment: dt.datetime | None) -> str:
    """A time as operators read it: JST, ``YYYY-MM-DD HH:MM`` (empty for none)."""
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M") if moment else ""


def minutes(span: dt.timedelta) -> int:
    return max(0, int(span.total_seconds() // 60))


def duration(seconds: float | None, language: str) -> str:
    """A short span: ``45秒`` / ``12 min`` / ``3 h``."""
    if seconds is None:
        return ""
    t = translator(language)
    if seconds < 60:
        return t("seconds", n=int(seconds))
    if seconds < 3600:
        return t("minutes", n=int(seconds // 60))
    return t("hours", n=int(seconds // 3600))


def last_seen(
    received_at: dt.datetime | None, silent_for: dt.timedelta | None, now: dt.datetime,
    language: str,
) -> str:  # fmt: skip
    """``3分前`` / ``3 min ago``, or ``silent for 12 min`` when the kiosk is silent."""
    t = translator(language)
    if received_at is None:
        return t("never_reported")
    if silent_for is not None:
        return t("silent_for", n=minutes(silent_for))
    gone = minutes(now - received_at)
    return t("ago", n=gone) if gone else t("just_now")
