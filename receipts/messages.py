"""Every word the slip prints, in Japanese and in English (programme notes from
DOMAIN.md: no change after applying, the chosen service's grant rule as the catalog
states it, how to check, the fraud warning, the contact lines)."""

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
        "マイキーIDは、通信が回復してこの手続きが送信された後に発行されます。",
        "Your MyKey ID is issued once this is sent, when the network is back.",
    ),
    "service": ("決済サービス {name}", "Payment service {name}"),
    "account": ("決済サービスID 末尾 {last4}", "Payment service ID ending {last4}"),
    "pending.how": (
        "通信が回復すると自動で送信されます。結果の確認のしかたは、下の「ご注意」をご覧ください。",
        "It is sent automatically when the network is back. See “Please note” below for "
        "how to check the result.",
    ),
    "reason": ("理由 {reason}", "Reason: {reason}"),
    "status.application.active": ("申込済み", "Applied"),
    "status.application.cancelled": ("申込は取り消されています", "Application cancelled"),
    "status.application.none": ("まだ申込されていません", "No application yet"),
    "cancelled": ("取り消した申込 {number}", "Cancelled application {number}"),
    "cancelled.again": (
        "改めて決済サービスを選んで申し込めます。",
        "You may choose a payment service and apply again.",
    ),
    "note.heading": ("ご注意", "Please note"),
    "note.no_change": (
        "申込後に決済サービスを変更・取消することはできません。",
        "After the application, the payment service cannot be changed or cancelled.",
    ),
    # The chosen service's rule, from the catalog (charge or purchase; the programme's
    # rate and cap): never a sentence that fits every service.
    "note.points.charge": (
        "{service}は、チャージ（前払）の金額の{rate}%分のポイントが付与されます（上限{cap}円分）。",
        "With {service}, you receive {rate}% of what you charge (top up) as points, up to "
        "{cap} yen.",
    ),
    "note.points.purchase": (
        "{service}は、お買い物の金額の{rate}%分のポイントが付与されます（上限{cap}円分）。",
        "With {service}, you receive {rate}% of what you spend as points, up to {cap} yen.",
    ),
    # My Page opens with the card and its PIN, not with a receipt number (seed 000 lines
    # 179-187); the receipt number is what the contact line and a cancellation ask for.
    "note.check": (
        "結果は、マイナンバーカードと暗証番号（数字4桁）で、手続スポットの端末の「申込状況の確認」、"
        "またはマイナポイントアプリ・サイトの利用者マイページで確認できます。",
        "Check the result with your My Number Card and its 4-digit PIN: “Check my status” "
        "at a procedure-spot terminal, or My Page in the Mynapoint app or website.",
    ),
    "note.receipt_number": (
        "受付番号は、お問い合わせや申込の取消のときにお伝えください。",
        "Give the receipt number when you call the contact line or cancel an application.",
    ),
    "note.scam": (
        "詐欺にご注意ください。国や市区町村の職員などが、マイナンバー、口座番号、口座の暗証番号、"
        "資産や家族構成をたずねたり、通帳やキャッシュカードを預かったり、"
        "お金や手数料の振込みを求めたりすることは、絶対にありません。",
        "Beware of fraud. Officials never ask for your My Number, bank account numbers, "
        "bank-account PINs, your assets or your family; they never take or check your "
        "passbook or cash card, and never ask for money or fees.",
    ),
    "contact": (
        "お問い合わせ マイナンバー総合フリーダイヤル {phone}（音声ガイダンスで{option}番） {hours}",
        "Questions: My Number toll-free line {phone} (choose {option} in the voice menu), {hours}",
    ),
    "contact.other": (
        "全国共通ナビダイヤル {navi}（通話料がかかります）、{paid}（通常の通話料金）",
        "Also {navi} (nationwide navi-dial, call charges apply) and {paid} (ordinary call rates)",
    ),
    # The point voucher (receipts/voucher.py): its face, then the platform's rules (seed
    # 004 #4021, #4022, #4025, #4027, #4024, #1017), one a line.
    "voucher.title": ("ポイント券", "Point voucher"),
    "voucher.municipality": ("{name} 自治体ポイント", "{name} municipal points"),
    "voucher.points": ("{points}ポイント", "{points} points"),
    "voucher.points.one": ("{points}ポイント", "{points} point"),
    "voucher.number": ("券番号", "Voucher number"),
    "voucher.expires": ("有効期限", "Valid until"),
    "voucher.expires.date": ("{date}まで", "{date}"),
    "voucher.rules": ("ご利用にあたって", "How to use this voucher"),
    "voucher.rule.municipality": (
        "{municipality}でのみご利用いただけます。",
        "It can be used only in {municipality}.",
    ),
    "voucher.rule.not_transferable": (
        "ご本人以外の方への譲渡はできません。",
        "It cannot be passed on to anyone else.",
    ),
    "voucher.rule.several": (
        "一度に複数枚をご利用いただけます。",
        "Several vouchers can be used at once.",
    ),
    "voucher.rule.no_change": (
        "おつりは出ません（使い切れなかったポイントは戻りません）。",
        "No change is given: points not used up are not returned.",
    ),
    "voucher.rule.cancel": (
        "使用前のポイント券は、発行した窓口で取り消すことができ、ポイントが戻ります"
        "（マイナンバーカードをお持ちください）。",
        "An unused voucher can be cancelled at the office that issued it, and its points "
        "are returned (bring your My Number Card).",
    ),
    "voucher.rule.no_cash": (
        "現金との交換はできません。",
        "It cannot be exchanged for cash.",
    ),
}


def text(key: str, language: Language, **values: Any) -> str:
    ja, en = MESSAGES[key]
    return (ja if language == "ja" else en).format(**values)
