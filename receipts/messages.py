"""Every word the slip prints, in Japanese and in English (programme notes from
DOMAIN.md: no change after applying, 25% up to 5,000 yen, the scam warning, the contact
line)."""

from __future__ import annotations

from typing import Any

from receipts.model import Language

MESSAGES: dict[str, tuple[str, str]] = {
    "title": ("マイナポイント", "Mynapoint"),
    "subtitle": ("手続きの控え", "Your receipt"),
    "reprint": ("（再発行）", "(reprint)"),
    "sample": ("【見本】", "[SAMPLE]"),
    "issued": ("発行 {when}", "Issued {when}"),
    "place": ("{store} 端末 {kiosk}", "{store}, terminal {kiosk}"),
    "kind.reservation": ("マイキーIDの設定（予約）", "MyKey ID (reservation)"),
    "kind.application": ("決済サービスの申込", "Payment service (application)"),
    "kind.status": ("申込状況の確認", "Status check"),
    "kind.cancellation": ("申込の取消", "Cancellation of the application"),
    "state.confirmed": ("受付完了", "Done: accepted"),
    "state.rejected": ("受付できませんでした", "Not accepted"),
    "state.pending": ("送信待ち（未確定）", "Pending: not sent yet"),
    "receipt": ("受付番号 {number}", "Receipt number {number}"),
    "mykey_id": ("マイキーID {mykey_id}", "MyKey ID {mykey_id}"),
    "mykey_id.pending": (
        "マイキーIDは、通信が回復してこの手続きが送信された後に発行されます。"
        "受付番号でマイページからご確認ください。",
        "Your MyKey ID is issued once this is sent, when the network is back. "
        "Look it up on My Page with the receipt number.",
    ),
    "service": ("決済サービス {name}", "Payment service {name}"),
    "account": ("決済サービスID 末尾 {last4}", "Payment service ID ending {last4}"),
    "pending.how": (
        "通信が回復すると自動で送信されます。結果は、受付番号でマイページから、"
        "または下記の窓口でご確認いただけます。",
        "It is sent automatically when the network is back. Check the result on "
        "My Page or with the contact line below, with the receipt number.",
    ),
    "reason": ("理由 {reason}", "Reason: {reason}"),
    "status.application.active": ("申込済み", "Applied"),
    "status.application.cancelled": ("申込は取り消されています", "Application cancelled"),
    "status.application.none": ("まだ申込されていません", "No application yet"),
    "cancelled": ("取り消した申込 {number}", "Cancelled application {number}"),
    "cancelled.again": (
        "本日中であれば、改めて申込ができます。",
        "You may apply again today.",
    ),
    "note.heading": ("ご注意", "Please note"),
    "note.no_change": (
        "申込後に決済サービスを変更・取消することはできません。",
        "After the application, the payment service cannot be changed or cancelled.",
    ),
    "note.points": (
        "チャージまたはお買い物の25%分のポイント（上限5,000円分）が付与されます。",
        "You receive 25% of your charges or purchases as points, up to 5,000 yen.",
    ),
    "note.scam": (
        "国や市区町村の職員が、マイナンバー、口座番号、暗証番号、お金を求めることは"
        "ありません。不審な電話やメールにご注意ください。",
        "Officials never ask for your My Number, bank account, PIN or money. "
        "Beware of calls and mails that do.",
    ),
    "contact": (
        "お問い合わせ マイナンバー総合フリーダイヤル {phone}（音声ガイダンス {option}番） {hours}",
        "Questions: My Number toll-free line {phone} (option {option}), {hours}",
    ),
}


def text(key: str, language: Language, **values: Any) -> str:
    ja, en = MESSAGES[key]
    return (ja if language == "ja" else en).format(**values)
