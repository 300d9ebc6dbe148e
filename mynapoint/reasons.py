"""Every reason the grant service can give for not accepting something, in one table.

A reason is either *final* (``rejected``: the citizen must be told; the result is kept
under the envelope's UUID and a replay gets it again), *pending* (``pending``: nobody's
fault, the kiosk keeps the item and retries), or an *error* of the request itself (the
envelope or the device is not what it claims; nothing is kept). The kiosk shows
``message_ja`` / ``message_en``; technicians read the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

from mynapoint import contact

Outcome = Literal["rejected", "pending", "error"]


@dataclass(frozen=True)
class Reason:
    code: str
    outcome: Outcome
    http_status: int
    message_ja: str
    message_en: str


_CONTACT_JA = (
    f"マイナンバー総合フリーダイヤル（{contact.PHONE}、音声ガイダンスで{contact.OPTION}番）"
    "にお問い合わせください。"
)
_CONTACT_EN = (
    f"Please call the My Number toll-free line ({contact.PHONE}, option {contact.OPTION})."
)
# A suspended MyKey ID is the MyKey Platform's matter, not the Mynapoint line's (seed 004
# #1022: «直ちにマイキープラットフォーム問合せ窓口にご連絡»); the seeds give no number.
_MYKEY_CONTACT_JA = "マイキープラットフォーム問合せ窓口にお問い合わせください。"
_MYKEY_CONTACT_EN = "Please contact the MyKey Platform contact desk."


class R(Enum):
    # --- the request or the device (nothing is kept) ---------------------------------
    MALFORMED = Reason(
        "MALFORMED", "error", 400,
        "送信内容に誤りがあります。", "The request is malformed.",
    )  # fmt: skip
    BODY_TOO_LARGE = Reason(
        "BODY_TOO_LARGE", "error", 413,
        "送信内容が大きすぎます。", "The request body is too large.",
    )  # fmt: skip
    BATCH_TOO_LARGE = Reason(
        "BATCH_TOO_LARGE", "error", 413,
        "一度に送信できる件数を超えています。", "Too many items in one batch.",
    )  # fmt: skip
    DEVICE_UNKNOWN = Reason(
        "DEVICE_UNKNOWN", "error", 401,
        "この端末は登録されていません。", "This kiosk is not enrolled.",
    )  # fmt: skip
    DEVICE_REVOKED = Reason(
        "DEVICE_REVOKED", "error", 401,
        "この端末は利用停止されています。", "This kiosk's enrollment was revoked.",
    )  # fmt: skip
    REQUEST_SIGNATURE_INVALID = Reason(
        "REQUEST_SIGNATURE_INVALID", "error", 401,
        "端末の認証に失敗しました。", "The kiosk's request signature is invalid.",
    )  # fmt: skip
    REQUEST_REPLAYED = Reason(
        "REQUEST_REPLAYED", "error", 401,
        "端末の認証に失敗しました。", "This request was already received (replay).",
    )  # fmt: skip
    ENROLLMENT_TOKEN_INVALID = Reason(
        "ENROLLMENT_TOKEN_INVALID", "error", 401,
        "登録用トークンが無効です。", "The enrollment token is unknown, used or expired.",
    )  # fmt: skip
    CSR_INVALID = Reason(
        "CSR_INVALID", "error", 400,
        "証明書署名要求が不正です。", "The certificate signing request is invalid.",
    )  # fmt: skip
    CREDENTIAL_INVALID = Reason(
        "CREDENTIAL_INVALID", "error", 401,
        "認証に失敗しました。", "The bearer token is missing, unknown, revoked or not for this.",
    )  # fmt: skip
    FORBIDDEN_SERVICE = Reason(
        "FORBIDDEN_SERVICE", "error", 403,
        "この決済サービスの取引は送信できません。",
        "This operator's token is for another payment service.",
    )  # fmt: skip
    CHALLENGE_INVALID = Reason(
        "CHALLENGE_INVALID", "error", 422,
        "もう一度カードをかざしてください。",
        "The My Page challenge is unknown, used, expired or from another kiosk.",
    )  # fmt: skip
    TX_ID_REUSED = Reason(
        "TX_ID_REUSED", "error", 422,
        "取引IDが重複しています。",
        "This operator transaction id was already used for a different transaction.",
    )  # fmt: skip
    EXPORT_INVALID = Reason(
        "EXPORT_INVALID", "error", 422,
        "端末から書き出したファイルを確認できません。",
        "The queue export file is not sealed for this service or not signed by its kiosk.",
    )  # fmt: skip
    NOT_FOUND = Reason("NOT_FOUND", "error", 404, "見つかりません。", "Not found.")
    METHOD_NOT_ALLOWED = Reason(
        "METHOD_NOT_ALLOWED", "error", 405, "この操作はできません。", "Method not allowed.",
    )  # fmt: skip
    KIOSK_MISMATCH = Reason(
        "KIOSK_MISMATCH", "error", 422,
        "送信内容に誤りがあります。", "The envelope names another kiosk than the one sending it.",
    )  # fmt: skip
    CERT_MALFORMED = Reason(
        "CERT_MALFORMED", "error", 422,
        "カードの電子証明書を読み取れませんでした。", "The card certificate cannot be parsed.",
    )  # fmt: skip
    CERT_UNTRUSTED = Reason(
        "CERT_UNTRUSTED", "error", 422,
        "マイナンバーカードの利用者証明用電子証明書ではありません。",
        "The certificate is not a JPKI user-authentication certificate.",
    )  # fmt: skip
    SIGNATURE_INVALID = Reason(
        "SIGNATURE_INVALID", "error", 422,
        "カードの署名を確認できませんでした。", "The card's signature does not match the envelope.",
    )  # fmt: skip
    ENVELOPE_IN_FUTURE = Reason(
        "ENVELOPE_IN_FUTURE", "error", 422,
        "端末の時計が正しくありません。",
        "The envelope's time is in the future: check the kiosk clock.",
    )  # fmt: skip
    IDEMPOTENCY_KEY_REUSED = Reason(
        "IDEMPOTENCY_KEY_REUSED", "error", 422,
        "送信内容に誤りがあります。", "This UUID was already used for a different envelope.",
    )  # fmt: skip
    IN_FLIGHT = Reason(
        "IN_FLIGHT", "error", 409,
        "処理中です。しばらくしてからご確認ください。",
        "This envelope is being processed; retry later.",
    )  # fmt: skip

    # --- final: the citizen is told -------------------------------------------------
    ENVELOPE_TOO_OLD = Reason(
        "ENVELOPE_TOO_OLD", "rejected", 422,
        "受付期限を過ぎたため手続きを完了できませんでした。もう一度お手続きください。",
        "The submission waited too long to reach the service; please do it again.",
    )  # fmt: skip
    CERT_EXPIRED = Reason(
        "CERT_EXPIRED", "rejected", 422,
        "電子証明書の有効期限が切れています。市区町村の窓口で更新してください。",
        "The card's certificate has expired; renew it at the municipal office.",
    )  # fmt: skip
    CERT_NOT_YET_VALID = Reason(
        "CERT_NOT_YET_VALID", "rejected", 422,
        "電子証明書がまだ有効になっていません。", "The card's certificate is not valid yet.",
    )  # fmt: skip
    CERT_REVOKED = Reason(
        "CERT_REVOKED", "rejected", 422,
        "電子証明書が失効しています。市区町村の窓口にお問い合わせください。",
        "The card's certificate was revoked; ask the municipal office.",
    )  # fmt: skip
    CERT_TOO_RECENT = Reason(
        "CERT_TOO_RECENT", "rejected", 422,
        "電子証明書の更新・再発行から24時間はお手続きできません。時間をおいてお試しください。",
        "Procedures are possible only 24 hours after the certificate was renewed or re-issued.",
    )  # fmt: skip
    RESERVATIONS_CLOSED = Reason(
        "RESERVATIONS_CLOSED", "rejected", 422,
        "予算上限に達したため、予約（マイキーIDの設定）の受付を終了しました。",
        "Reservations have closed: the national budget has been reached.",
    )  # fmt: skip
    RESERVATIONS_NOT_OPEN = Reason(
        "RESERVATIONS_NOT_OPEN", "rejected", 422,
        "マイキーIDの設定（予約）の受付はまだ始まっていません。",
        "Reservations (setting a MyKey ID) have not opened yet.",
    )  # fmt: skip
    NO_RESERVATION = Reason(
        "NO_RESERVATION", "rejected", 422,
        "マイキーIDが設定されていません。先に予約をしてください。",
        "No MyKey ID is set for this card: reserve first.",
    )  # fmt: skip
    MYKEY_SUSPENDED = Reason(
        "MYKEY_SUSPENDED", "rejected", 422,
        "マイキーIDの利用が停止されています。" + _MYKEY_CONTACT_JA,
        "This MyKey ID is suspended. " + _MYKEY_CONTACT_EN,
    )  # fmt: skip
    ALREADY_APPLIED = Reason(
        "ALREADY_APPLIED", "rejected", 422,
        "既に申込済みです。申込後の変更・取消はできません。",
        "An application was already made; it cannot be changed or cancelled.",
    )  # fmt: skip
    SERVICE_UNKNOWN = Reason(
        "SERVICE_UNKNOWN", "rejected", 422,
        "選択された決済サービスは対象ではありません。",
        "This payment service is not in the programme.",
    )  # fmt: skip
    APPLICATIONS_NOT_OPEN = Reason(
        "APPLICATIONS_NOT_OPEN", "rejected", 422,
        "申込の受付はまだ始まっていません。", "Applications have not opened yet.",
    )  # fmt: skip
    APPLICATIONS_CLOSED = Reason(
        "APPLICATIONS_CLOSED", "rejected", 422,
        "申込の受付期間は終了しました。", "The application period has ended.",
    )  # fmt: skip
    SERVICE_NOT_YET_SELECTABLE = Reason(
        "SERVICE_NOT_YET_SELECTABLE", "rejected", 422,
        "この決済サービスはまだ選択できません。", "This payment service cannot be chosen yet.",
    )  # fmt: skip
    SERVICE_APP_ONLY = Reason(
        "SERVICE_APP_ONLY", "rejected", 422,
        "この決済サービスは、事業者のアプリからのみ申し込めます。",
        "This payment service can be chosen only in the operator's own app.",
    )  # fmt: skip
    SERVICE_NOT_AT_CONVENIENCE_STORE = Reason(
        "SERVICE_NOT_AT_CONVENIENCE_STORE", "rejected", 422,
        "この決済サービスはコンビニの端末では申し込めません。市区町村の手続スポットやスマートフォンをご利用ください。",
        "This payment service cannot be chosen at a convenience-store terminal; use a "
        "city-hall terminal or your phone.",
    )  # fmt: skip
    # A public terminal never takes a card number with its security code (PCI DSS: the
    # code is not kept after authorisation); the citizen's own device or the card
    # company's channels may.
    SERVICE_CARD_CREDENTIALS = Reason(
        "SERVICE_CARD_CREDENTIALS", "rejected", 422,
        "この決済サービスは、カード番号とセキュリティコードで申し込むサービスのため、端末では"
        "申し込めません。カード会社のアプリや会員向けWebサイト、またはご自身のスマートフォン・"
        "パソコン（マイナポイントアプリ・サイト）でお申し込みください。",
        "This payment service is applied for with the card number and its security code, "
        "which a kiosk never takes. Please apply in the card company's own app or member "
        "website, or with your own smartphone or PC (the Mynapoint app or website).",
    )  # fmt: skip
    PAYMENT_ID_REJECTED = Reason(
        "MKCZ374E", "rejected", 422,
        "申込が完了できませんでした。決済サービスIDまたはセキュリティコードをご確認ください。",
        "The application was not completed: check the payment service ID and security code.",
    )  # fmt: skip
    PRE_REGISTRATION_REQUIRED = Reason(
        "PRE_REGISTRATION_REQUIRED", "rejected", 422,
        "この決済サービスは、マイナポイントの申込の前に、決済サービスのアプリまたはWebサイトで"
        "事前の登録が必要です。登録を済ませてから、改めてお申し込みください"
        "（この申込は完了していません）。",
        "This payment service needs you to register for Mynapoint in its own app or website "
        "first. Please register, then apply again (this application was not completed).",
    )  # fmt: skip
    ACCOUNT_ALREADY_USED = Reason(
        "ACCOUNT_ALREADY_USED", "rejected", 422,
        "この決済サービスIDは他の方の申込で使われています。お子さまごとに別の決済サービスが必要です。",
        "This payment account already receives another person's points; each person "
        "(each child) needs a different account.",
    )  # fmt: skip
    MYKEY_SUPERSEDED = Reason(
        "MYKEY_SUPERSEDED", "rejected", 422,
        "このマイキーIDは別のマイキーIDに統合されました。" + _CONTACT_JA,
        "This MyKey ID was merged into another one of the same person. " + _CONTACT_EN,
    )  # fmt: skip
    CANCEL_NOT_AT_CONVENIENCE_STORE = Reason(
        "CANCEL_NOT_AT_CONVENIENCE_STORE", "rejected", 422,
        "申込の取消はコンビニの端末ではできません。本日中に、市区町村の手続スポットの端末か、"
        "ご自身のスマートフォン・パソコンの利用者マイページで取り消してください。",
        "Applications cannot be cancelled at a convenience-store terminal. Today, cancel at "
        "a city-hall terminal or on My Page with your own phone or PC.",
    )  # fmt: skip
    CANCEL_TOO_LATE = Reason(
        "CANCEL_TOO_LATE", "rejected", 422,
        "申込の取消は申込当日のみ可能です。" + _CONTACT_JA,
        "An application can be cancelled only on the day it was made. " + _CONTACT_EN,
    )  # fmt: skip
    ENVELOPE_TIME_INCONSISTENT = Reason(
        "ENVELOPE_TIME_INCONSISTENT", "rejected", 422,
        "端末の時計が正しくなかったため手続きを完了できませんでした。もう一度お手続きください。",
        "The kiosk's clock was wrong when this was made (its time contradicts the kiosk's "
        "other submissions or its enrolment); please do it again.",
    )  # fmt: skip
    TOO_MANY_CODE_FAILURES = Reason(
        "TOO_MANY_CODE_FAILURES", "rejected", 422,
        "決済サービスIDまたはセキュリティコードの誤りが続いたため、この決済サービスIDでの申込を"
        "一時的に停止しています。時間をおいてもう一度お手続きください。" + _CONTACT_JA,
        "Too many wrong payment service IDs or security codes: applications with this "
        "account or card are paused for a while. Please try again later. " + _CONTACT_EN,
    )  # fmt: skip
    CANCEL_BEFORE_APPLICATION = Reason(
        "CANCEL_BEFORE_APPLICATION", "rejected", 422,
        "取消の日時が申込より前になっています。端末の時計が正しくありません。",
        "The cancellation is dated before the application it cancels: the kiosk's clock "
        "is wrong.",
    )  # fmt: skip
    CANCEL_NO_APPLICATION = Reason(
        "CANCEL_NO_APPLICATION", "rejected", 422,
        "取り消せる申込が見つかりません。受付番号をご確認ください。",
        "There is no application with this receipt number to cancel for this card.",
    )  # fmt: skip

    # --- point transactions not counted (final; for the payment operator) --------------
    NO_APPLICATION_FOR_ACCOUNT = Reason(
        "NO_APPLICATION_FOR_ACCOUNT", "rejected", 200,
        "この決済サービスIDでのマイナポイントの申込はありません。",
        "No active Mynapoint application uses this payment account.",
    )  # fmt: skip
    WRONG_GRANT_TYPE = Reason(
        "WRONG_GRANT_TYPE", "rejected", 200,
        "この決済サービスではこの種類の取引はポイント付与の対象外です。",
        "This service grants points on the other kind of transaction (charge or purchase).",
    )  # fmt: skip
    BEFORE_APPLICATION = Reason(
        "BEFORE_APPLICATION", "rejected", 200,
        "申込前の取引はポイント付与の対象外です。",
        "Transactions before the application do not count.",
    )  # fmt: skip
    OUTSIDE_POINTS_PERIOD = Reason(
        "OUTSIDE_POINTS_PERIOD", "rejected", 200,
        "対象期間外の取引はポイント付与の対象外です。",
        "Transactions outside the programme period do not count.",
    )  # fmt: skip
    POINTS_CAP_REACHED = Reason(
        "POINTS_CAP_REACHED", "rejected", 200,
        "ポイント付与の上限（5,000円分）に達しています。",
        "This person has already received the maximum points.",
    )  # fmt: skip

    # --- pending: nobody's fault, retried -------------------------------------------
    CRL_STALE = Reason(
        "CRL_STALE", "pending", 503,
        "ただいま確認できません。受付は保留され、後ほど処理されます。",
        "The certificate cannot be checked right now; the item stays pending.",
    )  # fmt: skip
    OPERATOR_UNAVAILABLE = Reason(
        "OPERATOR_UNAVAILABLE", "pending", 503,
        "決済事業者に確認できません。受付は保留され、後ほど処理されます。",
        "The payment operator cannot answer right now; the item stays pending.",
    )  # fmt: skip
    SERVICE_BUSY = Reason(
        "SERVICE_BUSY", "pending", 503,
        "ただいま混み合っています。受付は保留され、後ほど処理されます。",
        "The service cannot take this right now; retry later.",
    )  # fmt: skip
    BLOCKED_BY_EARLIER_ITEM = Reason(
        "BLOCKED_BY_EARLIER_ITEM", "pending", 503,
        "先の手続きの処理を待っています。", "An earlier item of the same card is still pending.",
    )  # fmt: skip

    @property
    def reason(self) -> Reason:
        return self.value

    @classmethod
    def by_code(cls, code: str) -> R:
        for member in cls:
            if member.value.code == code:
                return member
        raise KeyError(code)
