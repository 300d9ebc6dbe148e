"""What the kiosk says aloud, in Japanese: one script per step (and its variants), kept
beside the screens' words (``ja.py``) and written for the ear: no brackets or symbols,
numbers as they are read, the key first. ``speech_en.py`` has the same keys.

Never in a script: a digit of the PIN, of the security code or of the payment-service ID,
nor the My Number (``kiosk.voice.scripts`` fills the placeholders; a test walks every
path)."""

SCRIPTS: dict[str, str] = {
    "welcome": (
        "マイナポイントの手続きができる端末です。マイナンバーカードで、マイキーIDの設定と、"
        "決済サービスの申込ができます。始めるときは、画面の、はじめる、を押してください。"
    ),
    "consent": (
        "ご利用にあたってのお知らせです。マイナンバーは読み取りません。暗証番号は記録しません。"
        "決済サービスIDとセキュリティコードは、正しいかを確かめるため、"
        "決済サービスの会社に送られます。電話番号の下4桁は、決済サービスの会社には送られず、"
        "申込の記録に残ります。"
        "国や市区町村の職員が、口座の暗証番号や、お金を求めることは、絶対にありません。"
        "よろしければ、同意する、を押してください。"
    ),
    "for_whom": "どなたの手続きですか。ご自分の手続きか、お子さまの手続きかを、選んでください。",
    "place_card": (
        "マイナンバーカードを、{reader}に置いてください。"
        "読み取りが終わるまで、カードを動かさないでください。"
    ),
    "place_card.child": (
        "お子さまご本人の、マイナンバーカードを、{reader}に置いてください。"
        "読み取りが終わるまで、カードを動かさないでください。"
    ),
    # where the reader is (KioskSettings.reader_location); "place_card.reader": not set
    "place_card.reader": "カードの読み取り機",
    "place_card.reader.right_of_screen": "画面の右にある、読み取り機",
    "place_card.reader.below_screen": "画面の下にある、読み取り機",
    "place_card.reader.left_of_screen": "画面の左にある、読み取り機",
    "place_card.reader.handheld": "お手元の、読み取り機",
    "reading": "読み取っています。カードを動かさないでください。",
    "card_read": "読み取りました。",
    "card_problem": "カードを読み取れませんでした。カードを置きなおして、もう一度読み取る、を押してください。",
    "cert_expired": (
        "このカードの電子証明書は、有効期限が切れています。"
        "お住まいの市区町村の窓口で、更新してください。"
    ),
    "cert_too_recent": (
        "電子証明書の更新から、まだ24時間たっていないため、手続きができません。"
        "{time}以降に、もう一度お越しください。"
    ),
    "pin": (
        "暗証番号、数字4桁を、入力してください。あと{tries}回まちがえると、暗証番号がロックされます。"
        "暗証番号を忘れたときは、市区町村の窓口で、再設定が必要です。"
    ),
    "pin.last_try": (
        "ご注意ください。あと1回まちがえると、暗証番号がロックされ、窓口でしか解除できません。"
        "暗証番号、数字4桁を、入力してください。"
    ),
    "pin.wrong": "暗証番号が違います。",
    "pin.typed": "{count}桁、入力しました。",
    "pin.cleared": "入力を消しました。",
    # Said after the PIN script only in headset mode (the sound is private): the pad as
    # it is laid out, never a digit of anyone's PIN.
    "pin.headset": (
        "ボタンの並びをご案内します。数字のボタンは、電話と同じ並びで、3列4段です。"
        "いちばん下の段は、左から、訂正、ゼロ、確定です。ボタンを押すたびに、"
        "何桁入力したかだけを、お知らせします。"
    ),
    "verifying": "暗証番号を確認しています。",
    "pin_locked": (
        "暗証番号がロックされています。ロックの解除は、カードをお持ちのうえ、"
        "市区町村の窓口で行えます。"
    ),
    "checking": "申込状況を確認しています。しばらくお待ちください。",
    "offline_notice": (
        "ただいま通信ができません。このまま手続きをすると、送信待ちとして受け付け、"
        "通信が回復すると、自動で送信します。続けるときは、次へ、を押してください。"
    ),
    "already_applied": (
        "すでに、{service}に申し込んでいます。申込のあとで、決済サービスを変更することは、"
        "できません。"
    ),
    "not_me": "この申込の取消についてのご案内です。画面の説明をご確認ください。",
    "cancelled": "申込を取り消しました。改めて決済サービスを選んで、申し込めます。",
    "reservations_closed": "予算の上限に達したため、マイキーIDの設定の受付を終了しました。",
    "notice": "手続きができませんでした。{message}",
    "choose_service": (
        "ポイントを受け取る決済サービスを、1つ選んでください。選んだあとで変更することは、"
        "できません。"
    ),
    "enter_id": "{service}の決済サービスIDを、入力してください。入力した番号は読み上げません。",
    "enter_code": "セキュリティコードを、入力してください。入力した番号は読み上げません。",
    "enter_phone": "電話番号の下4桁を、入力してください。入力しなくても、申し込めます。",
    "confirm": (
        "申込内容の確認です。決済サービスは、{service}です。申込のあとで、決済サービスを変更したり、"
        "取り消したりすることは、できません。よろしければ、この内容で申し込む、を押してください。"
    ),
    "confirm.reserve_only": (
        "マイキーIDを設定します。よろしければ、この内容で申し込む、を押してください。"
    ),
    "submitting": "送信しています。カードは置いたままにしてください。",
    "refused": "申込が完了しませんでした。{message}",
    "slip": "控えとカードをお取りください。{outcomes}",
    "slip.outcome": "{what}は、{state}です。受付番号は、{receipt}。",
    "slip.printing": "控えを印刷しています。",
    "my_page": "申込状況です。画面でご確認ください。",
    "take_card": "カードをお取りください。マイナンバーカードのお取り忘れにご注意ください。",
    "card_left": "カードが置かれたままです。カードをお取りください。",
    "card_removed": "カードが取り外されたため、手続きを中止しました。送信したものはありません。",
    "idle.warning": "操作がないため、あと{seconds}秒で、最初の画面にもどります。",
    "technician_pin": "",
    "technician": "",
    # --- the MyKey platform (city hall): points, vouchers, library cards, revocation ---
    "platform_elsewhere": "この端末では、自治体ポイントと図書館カードの手続きはできません。市区町村の窓口の端末をご利用ください。",
    "platform_home": "自治体ポイントの残りと、紐付けている図書館カードを表示しています。ポイント券の発行、図書館カードの紐付け、マイキーIDの失効ができます。使用前のポイント券があれば、取り消すこともできます。",
    "platform_offline": "ただいま通信できません。ポイントの確認と、ポイント券の発行はできません。図書館カードの紐付けは、受け付けて、あとで送信します。",
    "voucher_amount": "どの自治体のポイントを、何ポイント、ポイント券にするかを選んでください。",
    "voucher_confirm": "この内容で、ポイント券を発行します。ポイント券は、券面の自治体でだけ使えます。おつりは出ません。よろしければ、発行する、を押してください。",
    "issuing": "ポイント券を発行しています。カードは置いたままにしてください。",
    "voucher_slip.printing": "ポイント券を印刷しています。",
    "voucher_slip": "ポイント券と、カードをお取りください。",
    "choose_facility": "紐付ける図書館か施設を選んでください。",
    "enter_service_number": "利用カードの番号を入力してください。バーコードの読み取り機があれば、読み取らせることもできます。",
    "link_confirm": "この内容で、図書館カードを紐付けます。貸出の記録は残りません。よろしければ、紐付ける、を押してください。",
    "link_done": "図書館カードの紐付けを受け付けました。",
    "revoke_terms": "マイキーIDの失効について、大切なお知らせです。失効させたマイキーIDは、元に戻せません。マイナポイントの予約と申込の権利を、すべて失います。同じカードで、予約しなおすこともできません。すべての自治体ポイントと、使用前のポイント券が、使えなくなります。図書館カードなどの紐付けは、すべて解除されます。内容を理解したら、内容を理解しました、を押してください。",
    "revoke_confirm.1": "本当に、マイキーIDを失効させますか。",
    "revoke_confirm.2": "最後の確認です。失効させると、元に戻せません。本当に失効させますか。",
    "revoking": "マイキーIDを失効させています。",
    "choose_unlink": "紐付けを解除するカードを選んでください。解除すると、その図書館では、マイナンバーカードを利用カードとして使えなくなります。",
    "unlink_confirm": "この図書館カードの紐付けを解除します。利用カードそのものは使えます。よろしければ、解除する、を押してください。",
    "link_done.unlink": "図書館カードの紐付けの解除を受け付けました。",
    "voucher_cancel_choose": "取り消すポイント券を選んでください。取り消した券は使えなくなり、ポイントが残高に戻ります。券に大きく印刷されている番号の、最後の4けたで見分けられます。",
    "voucher_cancel_confirm": "このポイント券を取り消します。取り消した券は、お店で使えなくなります。よろしければ、取り消す、を押してください。",
    "cancelling_voucher": "ポイント券を取り消しています。カードは置いたままにしてください。",
    "voucher_cancelled": "ポイント券を取り消しました。取り消した券は使えません。破棄してください。",
    "revoked": "マイキーIDを失効させました。元に戻すことはできません。カードをお取りください。",
}
