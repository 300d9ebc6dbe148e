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
        code="MALFORMED",
        outcome="error",
        http_status=400,
        message_ja="送信内容に誤りがあります。",
        message_en="The request is malformed.",
    )
    BODY_TOO_LARGE = Reason(
        code="BODY_TOO_LARGE",
        outcome="error",
        http_status=413,
        message_ja="送信内容が大きすぎます。",
        message_en="The request body is too large.",
    )
    BATCH_TOO_LARGE = Reason(
        code="BATCH_TOO_LARGE",
        outcome="error",
        http_status=413,
        message_ja="一度に送信できる件数を超えています。",
        message_en="Too many items in one batch.",
    )
    DEVICE_UNKNOWN = Reason(
        code="DEVICE_UNKNOWN",
        outcome="error",
        http_status=401,
        message_ja="この端末は登録されていません。",
        message_en="This kiosk is not enrolled.",
    )
    DEVICE_REVOKED = Reason(
        code="DEVICE_REVOKED",
        outcome="error",
        http_status=401,
        message_ja="この端末は利用停止されています。",
        message_en="This kiosk's enrollment was revoked.",
    )
    REQUEST_SIGNATURE_INVALID = Reason(
        code="REQUEST_SIGNATURE_INVALID",
        outcome="error",
        http_status=401,
        message_ja="端末の認証に失敗しました。",
        message_en="The kiosk's request signature is invalid.",
    )
    REQUEST_REPLAYED = Reason(
        code="REQUEST_REPLAYED",
        outcome="error",
        http_status=401,
        message_ja="端末の認証に失敗しました。",
        message_en="This request was already received (replay).",
    )
    ENROLLMENT_TOKEN_INVALID = Reason(
        code="ENROLLMENT_TOKEN_INVALID",
        outcome="error",
        http_status=401,
        message_ja="登録用トークンが無効です。",
        message_en="The enrollment token is unknown, used or expired.",
    )
    CSR_INVALID = Reason(
        code="CSR_INVALID",
        outcome="error",
        http_status=400,
        message_ja="証明書署名要求が不正です。",
        message_en="The certificate signing request is invalid.",
    )
    CREDENTIAL_INVALID = Reason(
        code="CREDENTIAL_INVALID",
        outcome="error",
        http_status=401,
        message_ja="認証に失敗しました。",
        message_en="The bearer token is missing, unknown, revoked or not for this.",
    )
    FORBIDDEN_SERVICE = Reason(
        code="FORBIDDEN_SERVICE",
        outcome="error",
        http_status=403,
        message_ja="この決済サービスの取引は送信できません。",
        message_en="This operator's token is for another payment service.",
    )
    CHALLENGE_INVALID = Reason(
        code="CHALLENGE_INVALID",
        outcome="error",
        http_status=422,
        message_ja="もう一度カードをかざしてください。",
        message_en="The My Page challenge is unknown, used, expired or from another kiosk.",
    )
    TX_ID_REUSED = Reason(
        code="TX_ID_REUSED",
        outcome="error",
        http_status=422,
        message_ja="取引IDが重複しています。",
        message_en="This operator transaction id was already used for a different transaction.",
    )
    GRANT_ID_REUSED = Reason(
        code="GRANT_ID_REUSED",
        outcome="error",
        http_status=422,
        message_ja="付与IDが重複しています。",
        message_en="This grant id was already used for a different grant.",
    )
    EXPORT_INVALID = Reason(
        code="EXPORT_INVALID",
        outcome="error",
        http_status=422,
        message_ja="端末から書き出したファイルを確認できません。",
        message_en=(
            "The queue export file is not sealed for this service or not signed by its kiosk."
        ),
    )
    NOT_FOUND = Reason(
        code="NOT_FOUND",
        outcome="error",
        http_status=404,
        message_ja="見つかりません。",
        message_en="Not found.",
    )
    METHOD_NOT_ALLOWED = Reason(
        code="METHOD_NOT_ALLOWED",
        outcome="error",
        http_status=405,
        message_ja="この操作はできません。",
        message_en="Method not allowed.",
    )
    # --- the fleet: heartbeats, alerts and what operators do with them ---------------
    HEARTBEAT_IN_FUTURE = Reason(
        code="HEARTBEAT_IN_FUTURE",
        outcome="error",
        http_status=422,
        message_ja="端末の時計が正しくありません。",
        message_en="The heartbeat's time is in the future: check the kiosk clock.",
    )
    ALERT_INVALID = Reason(
        code="ALERT_INVALID",
        outcome="error",
        http_status=422,
        message_ja="送信内容に誤りがあります。",
        message_en="An alert does not carry what its kind allows.",
    )
    ALERT_NOT_FOUND = Reason(
        code="ALERT_NOT_FOUND",
        outcome="error",
        http_status=404,
        message_ja="該当するアラートはありません。",
        message_en="No such alert.",
    )
    ALERT_ALREADY_HANDLED = Reason(
        code="ALERT_ALREADY_HANDLED",
        outcome="error",
        http_status=409,
        message_ja="このアラートは既に対応されています。",
        message_en="The alert was already handled.",
    )
    KIOSK_MISMATCH = Reason(
        code="KIOSK_MISMATCH",
        outcome="error",
        http_status=422,
        message_ja="送信内容に誤りがあります。",
        message_en="The envelope names another kiosk than the one sending it.",
    )
    CERT_MALFORMED = Reason(
        code="CERT_MALFORMED",
        outcome="error",
        http_status=422,
        message_ja="カードの電子証明書を読み取れませんでした。",
        message_en="The card certificate cannot be parsed.",
    )
    CERT_UNTRUSTED = Reason(
        code="CERT_UNTRUSTED",
        outcome="error",
        http_status=422,
        message_ja="マイナンバーカードの利用者証明用電子証明書ではありません。",
        message_en="The certificate is not a JPKI user-authentication certificate.",
    )
    SIGNATURE_INVALID = Reason(
        code="SIGNATURE_INVALID",
        outcome="error",
        http_status=422,
        message_ja="カードの署名を確認できませんでした。",
        message_en="The card's signature does not match the envelope.",
    )
    ENVELOPE_IN_FUTURE = Reason(
        code="ENVELOPE_IN_FUTURE",
        outcome="error",
        http_status=422,
        message_ja="端末の時計が正しくありません。",
        message_en="The envelope's time is in the future: check the kiosk clock.",
    )
    IDEMPOTENCY_KEY_REUSED = Reason(
        code="IDEMPOTENCY_KEY_REUSED",
        outcome="error",
        http_status=422,
        message_ja="送信内容に誤りがあります。",
        message_en="This UUID was already used for a different envelope.",
    )
    IN_FLIGHT = Reason(
        code="IN_FLIGHT",
        outcome="error",
        http_status=409,
        message_ja="処理中です。しばらくしてからご確認ください。",
        message_en="This envelope is being processed; retry later.",
    )

    # --- final: the citizen is told -------------------------------------------------
    ENVELOPE_TOO_OLD = Reason(
        code="ENVELOPE_TOO_OLD",
        outcome="rejected",
        http_status=422,
        message_ja="受付期限を過ぎたため手続きを完了できませんでした。もう一度お手続きください。",
        message_en="The submission waited too long to reach the service; please do it again.",
    )
    CERT_EXPIRED = Reason(
        code="CERT_EXPIRED",
        outcome="rejected",
        http_status=422,
        message_ja="電子証明書の有効期限が切れています。市区町村の窓口で更新してください。",
        message_en="The card's certificate has expired; renew it at the municipal office.",
    )
    CERT_NOT_YET_VALID = Reason(
        code="CERT_NOT_YET_VALID",
        outcome="rejected",
        http_status=422,
        message_ja="電子証明書がまだ有効になっていません。",
        message_en="The card's certificate is not valid yet.",
    )
    CERT_REVOKED = Reason(
        code="CERT_REVOKED",
        outcome="rejected",
        http_status=422,
        message_ja="電子証明書が失効しています。市区町村の窓口にお問い合わせください。",
        message_en="The card's certificate was revoked; ask the municipal office.",
    )
    CERT_TOO_RECENT = Reason(
        code="CERT_TOO_RECENT",
        outcome="rejected",
        http_status=422,
        message_ja="電子証明書の更新・再発行から24時間はお手続きできません。時間をおいてお試しください。",
        message_en=(
            "Procedures are possible only 24 hours after the certificate was renewed or re-issued."
        ),
    )
    RESERVATIONS_CLOSED = Reason(
        code="RESERVATIONS_CLOSED",
        outcome="rejected",
        http_status=422,
        message_ja="予算上限に達したため、予約（マイキーIDの設定）の受付を終了しました。",
        message_en="Reservations have closed: the national budget has been reached.",
    )
    RESERVATIONS_NOT_OPEN = Reason(
        code="RESERVATIONS_NOT_OPEN",
        outcome="rejected",
        http_status=422,
        message_ja="マイキーIDの設定（予約）の受付はまだ始まっていません。",
        message_en="Reservations (setting a MyKey ID) have not opened yet.",
    )
    NO_RESERVATION = Reason(
        code="NO_RESERVATION",
        outcome="rejected",
        http_status=422,
        message_ja="マイキーIDが設定されていません。先に予約をしてください。",
        message_en="No MyKey ID is set for this card: reserve first.",
    )
    MYKEY_SUSPENDED = Reason(
        code="MYKEY_SUSPENDED",
        outcome="rejected",
        http_status=422,
        message_ja="マイキーIDの利用が停止されています。" + _MYKEY_CONTACT_JA,
        message_en="This MyKey ID is suspended. " + _MYKEY_CONTACT_EN,
    )
    ALREADY_APPLIED = Reason(
        code="ALREADY_APPLIED",
        outcome="rejected",
        http_status=422,
        message_ja="既に申込済みです。申込後の変更・取消はできません。",
        message_en="An application was already made; it cannot be changed or cancelled.",
    )
    SERVICE_UNKNOWN = Reason(
        code="SERVICE_UNKNOWN",
        outcome="rejected",
        http_status=422,
        message_ja="選択された決済サービスは対象ではありません。",
        message_en="This payment service is not in the programme.",
    )
    APPLICATIONS_NOT_OPEN = Reason(
        code="APPLICATIONS_NOT_OPEN",
        outcome="rejected",
        http_status=422,
        message_ja="申込の受付はまだ始まっていません。",
        message_en="Applications have not opened yet.",
    )
    APPLICATIONS_CLOSED = Reason(
        code="APPLICATIONS_CLOSED",
        outcome="rejected",
        http_status=422,
        message_ja="申込の受付期間は終了しました。",
        message_en="The application period has ended.",
    )
    SERVICE_NOT_YET_SELECTABLE = Reason(
        code="SERVICE_NOT_YET_SELECTABLE",
        outcome="rejected",
        http_status=422,
        message_ja="この決済サービスはまだ選択できません。",
        message_en="This payment service cannot be chosen yet.",
    )
    SERVICE_APP_ONLY = Reason(
        code="SERVICE_APP_ONLY",
        outcome="rejected",
        http_status=422,
        message_ja="この決済サービスは、事業者のアプリからのみ申し込めます。",
        message_en="This payment service can be chosen only in the operator's own app.",
    )
    SERVICE_NOT_AT_CONVENIENCE_STORE = Reason(
        code="SERVICE_NOT_AT_CONVENIENCE_STORE",
        outcome="rejected",
        http_status=422,
        message_ja="この決済サービスはコンビニの端末では申し込めません。市区町村の手続スポットやスマートフォンをご利用ください。",
        message_en=(
            "This payment service cannot be chosen at a convenience-store terminal; use a "
            "city-hall terminal or your phone."
        ),
    )
    # A public terminal never takes a card number with its security code (PCI DSS: the
    # code is not kept after authorisation); the citizen's own device or the card
    # company's channels may.
    SERVICE_CARD_CREDENTIALS = Reason(
        code="SERVICE_CARD_CREDENTIALS",
        outcome="rejected",
        http_status=422,
        message_ja=(
            "この決済サービスは、カード番号とセキュリティコードで申し込むサービスのため、端末では"
            "申し込めません。カード会社のアプリや会員向けWebサイト、またはご自身のスマートフォン・"
            "パソコン（マイナポイントアプリ・サイト）でお申し込みください。"
        ),
        message_en=(
            "This payment service is applied for with the card number and its security code, "
            "which a kiosk never takes. Please apply in the card company's own app or member "
            "website, or with your own smartphone or PC (the Mynapoint app or website)."
        ),
    )
    PAYMENT_ID_REJECTED = Reason(
        code="MKCZ374E",
        outcome="rejected",
        http_status=422,
        message_ja="申込が完了できませんでした。決済サービスIDまたはセキュリティコードをご確認ください。",
        message_en=(
            "The application was not completed: check the payment service ID and security code."
        ),
    )
    PRE_REGISTRATION_REQUIRED = Reason(
        code="PRE_REGISTRATION_REQUIRED",
        outcome="rejected",
        http_status=422,
        message_ja=(
            "この決済サービスは、マイナポイントの申込の前に、決済サービスのアプリまたはWebサイトで"
            "事前の登録が必要です。登録を済ませてから、改めてお申し込みください"
            "（この申込は完了していません）。"
        ),
        message_en=(
            "This payment service needs you to register for Mynapoint in its own app or website "
            "first. Please register, then apply again (this application was not completed)."
        ),
    )
    ACCOUNT_ALREADY_USED = Reason(
        code="ACCOUNT_ALREADY_USED",
        outcome="rejected",
        http_status=422,
        message_ja="この決済サービスIDは他の方の申込で使われています。お子さまごとに別の決済サービスが必要です。",
        message_en=(
            "This payment account already receives another person's points; each person "
            "(each child) needs a different account."
        ),
    )
    MYKEY_SUPERSEDED = Reason(
        code="MYKEY_SUPERSEDED",
        outcome="rejected",
        http_status=422,
        message_ja="このマイキーIDは別のマイキーIDに統合されました。" + _CONTACT_JA,
        message_en="This MyKey ID was merged into another one of the same person. " + _CONTACT_EN,
    )
    CANCEL_NOT_AT_CONVENIENCE_STORE = Reason(
        code="CANCEL_NOT_AT_CONVENIENCE_STORE",
        outcome="rejected",
        http_status=422,
        message_ja=(
            "申込の取消はコンビニの端末ではできません。本日中に、市区町村の手続スポットの端末か、"
            "ご自身のスマートフォン・パソコンの利用者マイページで取り消してください。"
        ),
        message_en=(
            "Applications cannot be cancelled at a convenience-store terminal. Today, cancel at "
            "a city-hall terminal or on My Page with your own phone or PC."
        ),
    )
    CANCEL_TOO_LATE = Reason(
        code="CANCEL_TOO_LATE",
        outcome="rejected",
        http_status=422,
        message_ja="申込の取消は申込当日のみ可能です。" + _CONTACT_JA,
        message_en="An application can be cancelled only on the day it was made. " + _CONTACT_EN,
    )
    ENVELOPE_TIME_INCONSISTENT = Reason(
        code="ENVELOPE_TIME_INCONSISTENT",
        outcome="rejected",
        http_status=422,
        message_ja="端末の時計が正しくなかったため手続きを完了できませんでした。もう一度お手続きください。",
        message_en=(
            "The kiosk's clock was wrong when this was made (its time contradicts the kiosk's "
            "other submissions or its enrolment); please do it again."
        ),
    )
    TOO_MANY_CODE_FAILURES = Reason(
        code="TOO_MANY_CODE_FAILURES",
        outcome="rejected",
        http_status=422,
        message_ja=(
            "決済サービスIDまたはセキュリティコードの誤りが続いたため、この決済サービスIDでの申込を"
            "一時的に停止しています。時間をおいてもう一度お手続きください。" + _CONTACT_JA
        ),
        message_en=(
            "Too many wrong payment service IDs or security codes: applications with this "
            "account or card are paused for a while. Please try again later. " + _CONTACT_EN
        ),
    )
    CANCEL_BEFORE_APPLICATION = Reason(
        code="CANCEL_BEFORE_APPLICATION",
        outcome="rejected",
        http_status=422,
        message_ja="取消の日時が申込より前になっています。端末の時計が正しくありません。",
        message_en=(
            "The cancellation is dated before the application it cancels: the kiosk's clock "
            "is wrong."
        ),
    )
    CANCEL_NO_APPLICATION = Reason(
        code="CANCEL_NO_APPLICATION",
        outcome="rejected",
        http_status=422,
        message_ja="取り消せる申込が見つかりません。受付番号をご確認ください。",
        message_en="There is no application with this receipt number to cancel for this card.",
    )

    MYKEY_REVOKED = Reason(
        code="MYKEY_REVOKED",
        outcome="rejected",
        http_status=422,
        message_ja=(
            "このマイキーIDは失効しています。失効したマイキーIDは有効に戻せず、マイナポイントの"
            "予約・申込の権利もありません。"
        ),
        message_en=(
            "This MyKey ID was revoked. A revoked MyKey ID cannot be restored, and the right to "
            "reserve and apply for Mynapoint is lost."
        ),
    )

    # --- the MyKey platform: municipal points, vouchers, service IDs (seed 004) -------
    NOT_AT_CITY_HALL = Reason(
        code="NOT_AT_CITY_HALL",
        outcome="rejected",
        http_status=422,
        message_ja="この手続きは市区町村の窓口の端末でのみできます。",
        message_en="This can be done only at a city-hall terminal.",
    )
    MUNICIPALITY_UNKNOWN = Reason(
        code="MUNICIPALITY_UNKNOWN",
        outcome="rejected",
        http_status=422,
        message_ja="この自治体のポイントは取り扱っていません。",
        message_en="This municipality's points are not handled here.",
    )
    POINTS_NOT_ENOUGH = Reason(
        code="POINTS_NOT_ENOUGH",
        outcome="rejected",
        http_status=422,
        message_ja="ポイントが足りません。残高をご確認ください。",
        message_en="Not enough points: please check the balance.",
    )
    VOUCHER_UNKNOWN = Reason(
        code="VOUCHER_UNKNOWN",
        outcome="rejected",
        http_status=422,
        message_ja="このポイント券は見つかりません。番号をご確認ください。",
        message_en="There is no voucher with this number.",
    )
    VOUCHER_FORGED = Reason(
        code="VOUCHER_FORGED",
        outcome="rejected",
        http_status=422,
        message_ja="このポイント券の署名を確認できません。受け付けないでください。",
        message_en="This voucher's signature does not verify: do not accept it.",
    )
    VOUCHER_ALREADY_USED = Reason(
        code="VOUCHER_ALREADY_USED",
        outcome="rejected",
        http_status=422,
        message_ja="このポイント券は既に使用されています。",
        message_en="This voucher was already used.",
    )
    VOUCHER_CANCELLED = Reason(
        code="VOUCHER_CANCELLED",
        outcome="rejected",
        http_status=422,
        message_ja="このポイント券は取り消されています。",
        message_en="This voucher was cancelled.",
    )
    VOUCHER_EXPIRED = Reason(
        code="VOUCHER_EXPIRED",
        outcome="rejected",
        http_status=422,
        message_ja="このポイント券は有効期限が過ぎています。",
        message_en="This voucher has expired.",
    )
    VOUCHER_WRONG_MUNICIPALITY = Reason(
        code="VOUCHER_WRONG_MUNICIPALITY",
        outcome="rejected",
        http_status=422,
        message_ja="このポイント券は券面に記載された自治体でのみ使用できます。",
        message_en="This voucher can be used only in the municipality printed on it.",
    )
    VOUCHER_NOT_YOURS = Reason(
        code="VOUCHER_NOT_YOURS",
        outcome="rejected",
        http_status=422,
        message_ja="このポイント券は、このカードで発行されたものではありません。",
        message_en="This voucher was not issued with this card.",
    )
    FACILITY_UNKNOWN = Reason(
        code="FACILITY_UNKNOWN",
        outcome="rejected",
        http_status=422,
        message_ja="この図書館・施設はマイナンバーカードでの利用に対応していません。",
        message_en="This library or facility does not take the My Number Card.",
    )
    SERVICE_ID_INVALID = Reason(
        code="SERVICE_ID_INVALID",
        outcome="rejected",
        http_status=422,
        message_ja="利用者番号の形式が正しくありません。利用カードの番号をご確認ください。",
        message_en="This is not a user number of this facility: check the number on the card.",
    )
    SERVICE_ID_TAKEN = Reason(
        code="SERVICE_ID_TAKEN",
        outcome="rejected",
        http_status=422,
        message_ja=(
            "この利用者番号は別のマイキーIDに紐付けられています。図書館・施設の窓口に"
            "お問い合わせください。"
        ),
        message_en=(
            "This user number is linked to another MyKey ID: please ask at the library or facility."
        ),
    )
    SERVICE_ID_NOT_LINKED = Reason(
        code="SERVICE_ID_NOT_LINKED",
        outcome="rejected",
        http_status=422,
        message_ja="この図書館・施設の利用カードは紐付けられていません。",
        message_en="No card of this library or facility is linked.",
    )
    FORBIDDEN_SCOPE = Reason(
        code="FORBIDDEN_SCOPE",
        outcome="error",
        http_status=403,
        message_ja="この自治体・施設の操作はできません。",
        message_en="This token is for another municipality, shop or facility.",
    )

    # --- point transactions not counted (final; for the payment operator) --------------
    NO_APPLICATION_FOR_ACCOUNT = Reason(
        code="NO_APPLICATION_FOR_ACCOUNT",
        outcome="rejected",
        http_status=200,
        message_ja="この決済サービスIDでのマイナポイントの申込はありません。",
        message_en="No active Mynapoint application uses this payment account.",
    )
    WRONG_GRANT_TYPE = Reason(
        code="WRONG_GRANT_TYPE",
        outcome="rejected",
        http_status=200,
        message_ja="この決済サービスではこの種類の取引はポイント付与の対象外です。",
        message_en=(
            "This service grants points on the other kind of transaction (charge or purchase)."
        ),
    )
    BEFORE_APPLICATION = Reason(
        code="BEFORE_APPLICATION",
        outcome="rejected",
        http_status=200,
        message_ja="申込前の取引はポイント付与の対象外です。",
        message_en="Transactions before the application do not count.",
    )
    OUTSIDE_POINTS_PERIOD = Reason(
        code="OUTSIDE_POINTS_PERIOD",
        outcome="rejected",
        http_status=200,
        message_ja="対象期間外の取引はポイント付与の対象外です。",
        message_en="Transactions outside the programme period do not count.",
    )
    POINTS_CAP_REACHED = Reason(
        code="POINTS_CAP_REACHED",
        outcome="rejected",
        http_status=200,
        message_ja="ポイント付与の上限（5,000円分）に達しています。",
        message_en="This person has already received the maximum points.",
    )

    # --- pending: nobody's fault, retried -------------------------------------------
    CRL_STALE = Reason(
        code="CRL_STALE",
        outcome="pending",
        http_status=503,
        message_ja="ただいま確認できません。受付は保留され、後ほど処理されます。",
        message_en="The certificate cannot be checked right now; the item stays pending.",
    )
    OPERATOR_UNAVAILABLE = Reason(
        code="OPERATOR_UNAVAILABLE",
        outcome="pending",
        http_status=503,
        message_ja="決済事業者に確認できません。受付は保留され、後ほど処理されます。",
        message_en="The payment operator cannot answer right now; the item stays pending.",
    )
    SERVICE_BUSY = Reason(
        code="SERVICE_BUSY",
        outcome="pending",
        http_status=503,
        message_ja="ただいま混み合っています。受付は保留され、後ほど処理されます。",
        message_en="The service cannot take this right now; retry later.",
    )
    BLOCKED_BY_EARLIER_ITEM = Reason(
        code="BLOCKED_BY_EARLIER_ITEM",
        outcome="pending",
        http_status=503,
        message_ja="先の手続きの処理を待っています。",
        message_en="An earlier item of the same card is still pending.",
    )

    @property
    def reason(self) -> Reason:
        return self.value

    @classmethod
    def by_code(cls, code: str) -> R:
        for member in cls:
            if member.value.code == code:
                return member
        raise KeyError(code)
