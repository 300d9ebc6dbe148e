"""The kiosk's words in Japanese (the default language). Keys: ``<screen>.<part>`` for
a screen's texts, ``button.*`` for buttons, and the card layer's and the printer's
``message_key`` values for their problems. ``en.py`` has the same keys."""

MESSAGES: dict[str, str] = {
    # --- shared ---
    "app.title": "マイナポイント 手続き",
    "button.start": "はじめる",
    "button.my_page": "申込状況の確認",
    "button.agree": "同意する",
    "button.back": "もどる",
    "button.finish": "終了する",
    "button.apply_again": "続けて申し込む",
    "button.quit": "やめる",
    "button.ok": "OK",
    "button.next": "次へ",
    "button.try_again": "もう一度読み取る",
    "button.submit": "この内容で申し込む",
    "button.reserve_only": "マイキーIDの設定だけ行う\n（ポイントは申し込まない）",
    "button.wrong_entry": "入力をまちがえた・他人の決済サービスで申し込んだ",
    "button.help": "困ったとき",
    "button.status_slip": "申込状況を印刷する",
    "button.not_me": "この申込に心当たりがない",
    "button.cancel_application": "本日の申込を取り消す",
    "button.skip": "入力しない",
    "button.correct": "入力しなおす",
    "button.continue_session": "続ける",
    "button.call_staff": "店員・職員を呼ぶ",
    "button.listen_again": "もう一度\n聞く",
    "button.scroll_up": "▲ 上へ",
    "button.scroll_down": "▼ 下へ",
    "button.sound_off": "音を\n消す",
    "button.sound_on": "音を\n出す",
    "button.larger_text": "文字を\n大きく",
    "button.normal_text": "文字を\nもとに戻す",
    "button.where_ids": "IDとセキュリティコードの場所",
    "button.language": "English",
    "pinpad.clear": "訂正",
    "pinpad.ok": "確定",
    "alphapad.backspace": "1文字消す",
    "alphapad.digits": "数字",
    "alphapad.letters": "ABC",
    "alphapad.clear": "訂正",  # the PIN pad's word (pinpad.clear)
    "kanapad.variant": "゛゜小",
    "help.contact": "お問い合わせ：マイナンバー総合フリーダイヤル {phone}（音声ガイダンスで{option}番）{hours}",
    "help.contact_bar": "お問い合わせ：{phone}（音声ガイダンス{option}番）",
    "help.title": "困ったときは（{page}/{pages}）",
    "help.other_numbers": "全国共通ナビダイヤル {navi}（通話料がかかります）、{paid}（通常の通話料金）",
    "help.forgotten_pin": (
        "暗証番号（数字4桁）を忘れたとき：お住まいの市区町村の窓口で再設定が必要です。"
        "この端末では再設定できません。"
    ),
    "help.lost_card": (
        "マイナンバーカードをなくしたとき：すぐにマイナンバー総合フリーダイヤルに電話して、"
        "カードの機能を止めてください（24時間受付）。警察に遺失届を出し、"
        "お住まいの市区町村で再発行の手続きをしてください。"
    ),
    "help.in_app": (
        "決済サービスのアプリの中で申し込んだ申込は、この端末でもマイページでも取り消せません。"
        "お問い合わせ窓口へご連絡ください。"
    ),
    "help.own_name": (
        "申込は、ご本人名義の決済サービスで行ってください。"
        "家族や友人の決済サービスでは申し込めません。"
    ),
    "help.own_name_child": "お子さまの分は、法定代理人（保護者）名義の決済サービスでも申し込めます。",
    "help.mykey_leak": (
        "マイキーIDが漏れたおそれがあるとき：マイキープラットフォーム問合せ窓口に連絡すると、"
        "マイキーIDの利用を止められます。"
    ),
    "help.scam": (
        "詐欺にご注意ください。国や市区町村の職員などが、マイナンバー、口座番号、口座の暗証番号、"
        "資産や家族構成をたずねたり、通帳やキャッシュカードを預かったり、"
        "お金や手数料の振込みを求めたりすることは、絶対にありません。"
    ),
    "help.counter": "暗証番号のロック解除や電子証明書の更新は、{counter}へ",
    "help.staff_called": "店員・職員の呼び出しを記録しました",
    "help.staff_called_body": (
        "近くの店員・職員に声をおかけください（コンビニではレジ、市区町村では窓口）。"
        "この画面は、そのままにしておけます。"
    ),
    # --- the step bar (kiosk/procedure/progress.py) ---
    "progress.line": "{number}/{total} {stage}",
    "progress.consent": "同意",
    "progress.card": "カードの読み取り",
    "progress.pin": "暗証番号",
    "progress.service": "決済サービスの選択",
    "progress.payment_id": "決済サービスID",
    "progress.code": "セキュリティコード",
    "progress.confirm": "確認",
    "progress.slip": "控えの受け取り",
    "progress.status": "申込状況",
    "idle.warning": "操作がないため、あと {seconds} 秒で最初の画面にもどります。",
    # --- welcome, consent, for whom ---
    "welcome.title": "マイナポイントの手続き",
    "welcome.body": "マイナンバーカードで、マイキーIDの設定（予約）と決済サービスの申込ができます。",
    "welcome.blocked": "カードが置かれたままです。カードを取ってから始めてください。",
    "welcome.duration": "かかる時間：5分から10分ほどです。",
    "welcome.bring": "ご用意いただくもの",
    "welcome.bring_card": "・マイナンバーカード",
    "welcome.bring_pin": "・カードの暗証番号（数字4桁）",
    "welcome.bring_ids": (
        "・申し込む決済サービスのIDとセキュリティコード"
        "（決済サービスのアプリやカードに表示されています）"
    ),
    "welcome.offline": (
        "ただいま通信ができません。手続きはできます。申込は送信待ちとして受け付け、"
        "通信が回復すると自動で送信します。申込状況の確認はできません。"
    ),
    "welcome.where_title": "IDとセキュリティコードの場所（{page}/{pages}）",
    "welcome.where_service": "{service}　ID：{id_hint}　セキュリティコード：{code_hint}",
    "consent.title": "ご利用にあたって",
    # The terms in plain words, in a panel that scrolls (consent.py): what is read, what
    # is sent to whom (grant_service/rules.py: only the ID and the security code go to
    # the payment company; the phone digits stay on the application), what this kiosk
    # keeps, the programme's main rules (seeds 000-004).
    "consent.intro": "手続きの前に、次の内容（マイナポイントの利用規約の要点）をお読みください。",
    "consent.h_read": "この端末が使うもの",
    "consent.body": (
        "カードの中にある、ご本人であることを確かめるしくみ（利用者証明用電子証明書）と、"
        "暗証番号（数字4桁）を使います。マイナンバー（個人番号）は読み取りません。"
        "暗証番号はカードの確認にだけ使い、どこにも記録しません。"
    ),
    "consent.h_sent": "何を、どこに送るか",
    "consent.sent_system": (
        "国のマイナポイントのしくみに、暗号化して送るもの：カードの電子証明書"
        "（マイナンバーは入っていません）、ご本人の手続きかお子さまの手続きか、"
        "選んだ決済サービス、決済サービスID、セキュリティコード、"
        "電話番号の下4桁（入力したときだけ）。"
    ),
    "consent.sent_operator": (
        "決済サービスの会社（決済サービス事業者）には、国のしくみから、"
        "決済サービスIDとセキュリティコードだけが送られます。"
        "IDとコードが正しいかを確かめるためです。"
        "電話番号の下4桁とマイキーIDは、決済サービスの会社には送られません。"
    ),
    "consent.sent_stored": (
        "国のしくみには、申込の記録として、選んだ決済サービス、決済サービスIDの末尾4桁"
        "（ID全体は、元の番号が分からない形でだけ）、電話番号の下4桁（入力したときだけ）が"
        "残ります。セキュリティコードは、確かめたあと残りません。"
    ),
    "consent.sent_points": (
        "ポイントを付けるため、決済サービスの会社は、チャージやお買い物の金額を"
        "国のしくみに知らせます。国は、何を買ったかの記録（購入履歴）を持ちません。"
    ),
    "consent.h_kept": "この端末に残るもの",
    "consent.kept": (
        "決済サービスID、セキュリティコード、電話番号の下4桁は、送信が終わるまで、"
        "この端末に暗号化して保管し、送信が終わった時点で消去します"
        "（通信ができないときは、送信できるまで保管します）。"
        "受付番号と結果は、この端末に{days}日間残ります。"
        "控えの内容（決済サービスIDは末尾4桁だけ）は、再発行のため直近{slips}件まで残ります。"
    ),
    "consent.h_rules": "マイナポイントの主な決まり",
    "consent.rules_mykey": (
        "マイキーIDは、マイナポイントを受け取るためのIDです。マイナンバーとは別のものです。"
        "カードの電子証明書にひもづけて設定します（予約）。"
        "予約は先着順で、国の予算の上限に達すると締め切られます。"
    ),
    "consent.rules_one": (
        "ポイントを受け取る決済サービスは、1人1つです。"
        "申込のあとで、決済サービスを変えることはできません。"
        "入力をまちがえたときなどは、申込の当日にかぎり、取り消せる場合があります。"
    ),
    "consent.rules_points": (
        "ポイントは、申込のあと、対象の期間にした、チャージまたはお買い物"
        "（どちらかは決済サービスによって違います）の金額の{rate}%分で、"
        "1人{cap}円分までです。ポイントが付く時期と使える期限は、決済サービスの会社によって"
        "違います。"
    ),
    "consent.rules_revoke": (
        "マイキーIDを失効させると、もとに戻せず、マイナポイントを受け取る権利もなくなります。"
    ),
    "consent.terms": (
        "以上の内容に同意いただける場合は、「同意する」を押してください。"
        "同意しない場合は、「やめる」を押してください。"
    ),
    "for_whom.title": "どなたの手続きですか",
    "for_whom.self": "自分の手続き",
    "for_whom.child_under_15": "15歳未満のお子さまの手続き（法定代理人）",
    "for_whom.child_15_plus": "15歳以上のお子さまの手続き（ご本人と一緒に）",
    "for_whom.card_note": (
        "お子さまの手続きには、お子さまご本人のマイナンバーカードを使います。"
        "暗証番号も、お子さまのカードの暗証番号です。"
    ),
    "for_whom.one_child_rule": (
        "1つの決済サービスのアカウントで受け取れるのは1人分だけです。"
        "お子さまごとに別の決済サービスを選んでください。"
    ),
    # --- the card ---
    "place_card.title": "マイナンバーカードを、{reader}に置いてください",
    "place_card.child": "お子さまのマイナンバーカードを、{reader}に置いてください",
    # where the reader is (KioskSettings.reader_location); "place_card.reader": not set
    "place_card.reader": "読み取り機",
    "place_card.reader.right_of_screen": "画面の右にある読み取り機",
    "place_card.reader.below_screen": "画面の下にある読み取り機",
    "place_card.reader.left_of_screen": "画面の左にある読み取り機",
    "place_card.reader.handheld": "手元の読み取り機",
    # a handheld reader (or one whose place is not set): it may lie on a metal desk
    "place_card.tips": (
        "読み取りが終わるまでカードを動かさないでください（5秒以上かかることがあります）。"
        "金属の上に置かないでください。カードケースから出してください。"
    ),
    # a reader built into the kiosk
    "place_card.tips_fixed": (
        "読み取りが終わるまでカードを動かさないでください（5秒以上かかることがあります）。"
        "カードケースから出してください。"
    ),
    "reading.title": "読み取っています",
    "reading.body": "カードを動かさないでください。",
    "busy.keep_card": "カードは置いたままにしてください。",
    "busy.wait": "しばらくお待ちください。",
    "card.not_my_number_card": "マイナンバーカードではないようです。マイナンバーカードを置いてください。",
    "card.removed": "読み取りの途中でカードが離れました。読み取りが終わるまで置いたままにしてください。",
    "card.error": "カードを読み取れませんでした。置きなおしてください。",
    "card.absent": "カードが見つかりません。カードを置いてください。",
    "card.pin.format": "暗証番号は数字4桁です。",
    "card.pin.wrong": "暗証番号が違います。",
    "card.pin.locked": "暗証番号がロックされています。",
    "reader.missing": "カードリーダーが見つかりません。係員にお知らせください。",
    "reader.unavailable": "カードリーダーが使えません。係員にお知らせください。",
    "reader.error": "カードリーダーの不具合です。係員にお知らせください。",
    "card_problem.title": "カードを読み取れませんでした",
    "cert_expired.title": "電子証明書の有効期限が切れています",
    "cert_expired.body": (
        "このカードの利用者証明用電子証明書は {date} に有効期限が切れました。"
        "お住まいの市区町村の窓口で更新してください。"
        "すでに設定したマイキーID（予約）は、更新後もそのまま使えます。"
    ),
    "cert_too_recent.title": "電子証明書の更新直後です",
    "cert_too_recent.body": (
        "電子証明書の更新・再発行から24時間は手続きができません。"
        "{time} 以降にもう一度お越しください。"
    ),
    # --- PIN ---
    "pin.title": "暗証番号（数字4桁）を入力してください",
    "pin.which": (
        "カードの交付のときに決めた、利用者証明用の数字4桁の暗証番号です"
        "（6〜16文字の署名用パスワードではありません）。"
    ),
    "pin.tries": "あと {tries} 回まちがえると、暗証番号がロックされます。",
    "pin.last_try": "注意：あと1回まちがえると暗証番号がロックされ、窓口でしか解除できません。",
    "pin.wrong": "暗証番号が違います。",
    "verifying.title": "暗証番号を確認しています",
    "pin_locked.title": "暗証番号がロックされています",
    "pin_locked.body": (
        "3回続けてまちがえたため、暗証番号がロックされました。"
        "ロックの解除は、カードをお持ちのうえ市区町村の窓口で行えます。"
    ),
    # --- status ---
    "checking.title": "申込状況を確認しています",
    "offline_notice.title": "ただいま通信ができません",
    "offline_notice.body": (
        "申込状況を確認できないため、このまま手続きをすると、送信待ちとして受け付けます。"
        "通信が回復すると自動で送信されます。"
        "ほかの場所ですでに申し込んでいる場合、この申込は受け付けられません。"
        "マイキーIDは送信後に発行されます。"
    ),
    "offline_notice.my_page": "申込状況の確認と申込の取消には通信が必要です。時間をおいてお試しください。",
    "already_applied.title": "すでに申し込んでいます",
    "already_applied.body": "決済サービス {service}（ID 末尾 {last4}）に申込済みです（受付番号 {receipt}）。",
    "already_applied.no_change": "申込後に決済サービスを変更することはできません。",
    "already_applied.mistake": (
        "決済サービスIDを入力しまちがえた、他人の決済サービスで申し込んでしまった、"
        "または申し込んだ覚えがない場合は、下のボタンからお進みください。"
    ),
    "not_me.title": "心当たりのない申込",
    "not_me.cancellable": "本日の申込であれば、この端末で取り消せます。取り消したあと、改めて申し込めます。",
    "wrong_entry.title": "入力まちがいの申込",
    "not_me.convenience_store": (
        "コンビニエンスストアの端末では取り消せません。"
        "本日中に、ご自身のスマートフォン・パソコン、または手続スポットのパソコンで、"
        "マイページから取り消してください。本日を過ぎた場合はお問い合わせ窓口へ。"
    ),
    "not_me.too_late": "申込日を過ぎているため、ここでは取り消せません。お問い合わせ窓口へご連絡ください。",
    "not_me.in_app": "決済サービスのアプリの中で申し込んだ申込は、ここでは取り消せません。お問い合わせ窓口へご連絡ください。",
    "not_me.recorded": "このお申し出は記録しました。",
    "not_me.receipt": "受付番号 {receipt}",
    "not_me.will_record": "このお申し出は、終了するときに記録されます。",
    "cancelled.title": "申込を取り消しました",
    "cancelled.body": "改めて決済サービスを選んで申し込めます。続けて申し込みますか。",
    "reservations_closed.title": "予約の受付を終了しました",
    "reservations_closed.body": "予算の上限に達したため、マイキーIDの設定（予約）の受付を終了しました。",
    "notice.title": "手続きができませんでした",
    "notice.code": "理由コード：{code}",
    "my_page.title": "申込状況",
    "my_page.reserved": "マイキーID {mykey_id}",
    "my_page.not_reserved": "マイキーIDは設定されていません",
    "my_page.application": "申込：{service}（ID 末尾 {last4}）",
    "my_page.no_application": "まだ申し込んでいません",
    "my_page.points": "付与されたポイント {points} 円分",
    "my_page.cancelled": "この申込は取り消されています。",
    "my_page.refused": "最後に送信した手続きは受け付けられませんでした：{message}",
    # --- choosing and entering ---
    "choose_service.title": "決済サービスを選んでください",
    "choose_service.search": "名前で探す",
    "choose_service.all_kinds": "すべて",
    "choose_service.search_for": "名前：{text}",
    "choose_service.kind_menu": "種類：{kind}",
    "choose_service.kind_menu_title": "種類で選ぶ",
    "choose_service.kind.qr": "QRコード",
    "choose_service.kind.e_money": "電子マネー",
    "choose_service.kind.credit": "クレジット",
    "choose_service.kind.debit": "デビット",
    "choose_service.kind.prepaid": "プリペイド",
    # A kind's full name, where the catalog shows a service's kind (kiosk.catalog.model).
    "catalog.kind.qr": "QRコード決済",
    "catalog.kind.e_money": "電子マネー",
    "catalog.kind.credit": "クレジットカード",
    "catalog.kind.debit": "デビットカード",
    "catalog.kind.prepaid": "プリペイドカード",
    "choose_service.unavailable": "この端末では選べません",
    "choose_service.pre_registration": "事前登録が必要です",
    "choose_service.app_only": "アプリからのみ申し込めます",
    "choose_service.card_credentials": "カード会社のアプリ・サイトで申込",
    "choose_service.from_date": "{date}から選べます",
    "choose_service.searching": "「{text}」で探しています",
    "choose_service.found": "{count}件",
    "choose_service.show_found": "結果を見る",
    "choose_service.kana_pad": "かな",
    "choose_service.letter_pad": "ABC",
    "choose_service.none_found": "見つかりませんでした。",
    "choose_service.previous": "前のページ",
    "choose_service.next_page": "次のページ",
    "choose_service.page": "{page} / {pages}",
    "enter_id.title": "{label}を入力してください",
    "enter_id.pre_registration": "このサービスは、申込の前に事業者での登録が必要です。",
    "enter_code.title": "{label}を入力してください",
    "enter_phone.title": "電話番号の下4桁（任意）",
    "enter_phone.body": (
        "入力は任意です。入力しなくても申し込めます。入力した4桁は、申込の記録に残ります"
        "（決済サービスの会社には送られません）。"
    ),
    "phone.format": "数字4桁で入力してください。",
    # beside the entry, as it is typed (kiosk/procedure/entry_format.py)
    "entry.count_digits": "{count}/{total}桁",
    "entry.count_characters": "{count}/{total}文字",
    "entry.typed_digits": "{count}桁",
    "entry.typed_characters": "{count}文字",
    "confirm.title": "申込内容の確認",
    "confirm.reserve": "マイキーIDを設定（予約）します",
    "confirm.service": "決済サービス：{service}",
    "confirm.account": "（決済サービスID 末尾 {last4}）",
    "confirm.no_change": "申込後に決済サービスを変更・取消することはできません。",
    "confirm.grant_on_charge": "チャージ（前払）の金額の{rate}%分のポイントが付与されます（上限{cap}円分）。",
    "confirm.grant_on_purchase": "お買い物の金額の{rate}%分のポイントが付与されます（上限{cap}円分）。",
    "confirm.timing": "ポイントが付与される時期は、決済サービス事業者によって異なります。",
    "confirm.offline": "通信ができないため、送信待ちとして受け付けます。",
    "submitting.title": "送信しています",
    "refused.title": "申込が完了しませんでした",
    "refused.body": "入力した決済サービスIDまたはセキュリティコードを確認して、入力しなおしてください。",
    # --- slip, end ---
    "slip.printing": "控えを印刷しています",
    "slip.printed": "控えとカードをお取りください",
    "slip.not_printed": "控えを印刷できませんでした。係員にお知らせください。画面の控え（QRコード）を撮影することもできます。",
    "slip.near_end": "控えを印刷しました。",
    "slip.not_printed_title": "控えを印刷できませんでした",
    "slip.outcome": "{what}：{state}（受付番号 {receipt}）",
    "slip.what.reservation": "マイキーIDの設定（予約）",
    "slip.what.application": "決済サービスの申込",
    "slip.what.cancellation": "申込の取消",
    "slip.state.confirmed": "受付完了",
    "slip.state.pending": "送信待ち（通信が回復すると自動で送信します）",
    "slip.state.rejected": "受け付けられませんでした",
    "printer.paper_out": "用紙切れのため、控えを印刷できません。",
    "printer.offline": "プリンターが使えないため、控えを印刷できません。",
    "printer.unavailable": "プリンターに接続できないため、控えを印刷できません。",
    "printer.error": "プリンターの不具合のため、控えを印刷できません。",
    "take_card.title": "カードをお取りください",
    "take_card.body": "マイナンバーカードのお取り忘れにご注意ください。",
    "card_left.title": "カードが置かれたままです",
    "card_left.city_hall": "係員を呼びました。カードをお取りください。",
    "card_left.convenience_store": "カードをお取りになるまで、次の手続きは始められません。",
    "card_removed.title": "カードが取り外されました",
    "card_removed.body": "手続きを中止しました。送信したものはありません。最初からやりなおしてください。",
    "kiosk.trouble": "端末の不具合のため、手続きを続けられません。係員にお知らせください。",
    # --- technician ---
    "technician_pin.title": "技術者用暗証番号",
    "technician_pin.wrong": "暗証番号が違います。",
    "technician.title": "技術者モード",
    "technician.device_status": "機器の状態",
    "technician.test_read": "カード読取テスト",
    "technician.test_print": "印刷テスト",
    "technician.queue_status": "送信待ちの件数",
    "technician.sync_now": "今すぐ送信",
    # --- the MyKey platform (city hall): points, vouchers, library cards, revocation ---
    "progress.platform": "ポイント・カード",
    "progress.finish": "終わり",
    "slip.what.service_link": "図書館カードの紐付け",
    "slip.what.service_unlink": "図書館カードの紐付け解除",
    "button.platform": "自治体ポイント・\n図書館カード",
    "button.issue_voucher": "ポイント券を発行する",
    "button.link_library": "図書館カードを紐付ける",
    "button.revoke_mykey": "マイキーIDを失効させる",
    "button.voucher_points": "{points} ポイント",
    "button.municipality": "{name}（{points} ポイント）",
    "button.issue": "発行する",
    "button.facility": "{name}（{municipality}）",
    "button.facility_linked": "{name}（{municipality}・紐付け済み）",
    "button.link": "紐付ける",
    "button.understood": "内容を理解しました",
    "button.revoke_yes": "失効させる",
    "button.revoke_no": "失効させない",
    "button.cancel_voucher": "使用前のポイント券を取り消す",
    "button.held_voucher": "{name}　{points} ポイント\n番号 末尾 {last4}・{date} まで",
    "button.cancel_it": "取り消す",
    "button.to_page": "ポイントの画面にもどる",
    "button.unlink_library": "図書館カードの紐付けを解除する",
    "button.linked_card": "{name}\n番号 末尾 {last4}",
    "button.unlink": "解除する",
    "choose_unlink.title": "どのカードの紐付けを解除しますか",
    "choose_unlink.body": "解除すると、その図書館・施設では、マイナンバーカードを利用カードとして使えなくなります。",
    "unlink_confirm.title": "この紐付けを解除します",
    "unlink_confirm.note": "利用カードそのものは使えます。あとで紐付けなおすこともできます。",
    "unlink_done.confirmed": "紐付けを解除しました",
    "unlink_done.pending": "受け付けました（送信待ち）",
    "unlink_done.rejected": "紐付けを解除できませんでした",
    "platform_elsewhere.title": "この端末ではご利用いただけません",
    "platform_elsewhere.body": "自治体ポイントの確認、ポイント券の発行、図書館カードの紐付けは、市区町村の窓口にある端末でご利用ください。",
    "platform_home.title": "自治体ポイント・図書館カード",
    "platform_home.mykey": "マイキーID {mykey_id}",
    "platform_home.balance": "{name}：{points} ポイント",
    "platform_home.expiring": "うち {points} ポイントは {date} まで",
    "platform_home.no_balance": "自治体ポイントはありません。",
    "platform_home.vouchers": "使用前のポイント券：{count} 枚（{points} ポイント）",
    "platform_home.link": "紐付け済み：{name}（番号 末尾 {last4}）",
    "platform_home.no_points": "ポイント券にできるポイントがありません。",
    "platform_offline.title": "ただいま通信できません",
    "platform_offline.body": "ポイントの確認、ポイント券の発行、マイキーIDの失効は、通信が回復してからご利用ください。図書館カードの紐付けは受け付けて、通信が回復したときに送信します。",
    "voucher_amount.title": "ポイント券の発行",
    "voucher_amount.choose": "どの自治体のポイントを使いますか。",
    "voucher_amount.points": "何ポイントの券にしますか。（最大 {most} ポイント）",
    "voucher.points_range": "ポイント数を選びなおしてください。",
    "voucher.choose_municipality": "先に自治体を選んでください。",
    "voucher.unknown": "ポイント券を発行できたか確認できませんでした。ポイントが使われていた場合は、次回この端末でポイント券が表示されます。職員にお知らせください。",
    "voucher.offline": "通信できないため、ポイント券を発行できませんでした。ポイントは使われていません。",
    "voucher_confirm.title": "この内容でポイント券を発行します",
    "voucher_confirm.what": "{name}のポイント券\u3000{points} ポイント",
    "voucher_confirm.after": "発行後の残り：{left} ポイント",
    "voucher_confirm.rules": "ポイント券は、券面の自治体でのみ使えます。ご本人以外は使えません。おつりは出ません。使う前なら、発行した窓口で取り消すとポイントが戻ります。",
    "issuing.title": "ポイント券を発行しています",
    "revoking.title": "マイキーIDを失効させています",
    "voucher_slip.printing": "ポイント券を印刷しています",
    "voucher_slip.printed": "ポイント券とカードをお取りください",
    "voucher_slip.what": "{name}のポイント券\u3000{points} ポイント（{date} まで）",
    "voucher_slip.not_printed": "ポイント券を印刷できませんでした。職員をお呼びください。ポイントはこの券に移っています。この端末の「使用前のポイント券を取り消す」で取り消すと、ポイントが戻ります。",
    "voucher_cancel_choose.title": "どのポイント券を取り消しますか",
    "voucher_cancel_choose.body": "取り消した券は使えなくなり、そのポイントが残高に戻ります。券に大きく印刷されている番号の、最後の4けたで見分けられます。",
    "voucher_cancel_confirm.title": "このポイント券を取り消します",
    "voucher_cancel_confirm.what": "{name}のポイント券　{points} ポイント（番号 末尾 {last4}）",
    "voucher_cancel_confirm.after": "取り消すと、{points} ポイントが{name}の残高に戻ります。",
    "voucher_cancel_confirm.paper": "取り消した券は、お店で使えなくなります。",
    "cancelling_voucher.title": "ポイント券を取り消しています",
    "voucher_cancelled.title": "ポイント券を取り消しました",
    "voucher_cancelled.returned": "{points} ポイントが{name}の残高に戻りました。",
    "voucher_cancelled.expired": "この券は有効期限を過ぎていたため、すでに使えなくなっていました。ポイントは券の期限が過ぎたときに残高に戻っています（ポイント自体の期限が過ぎたものは失効しています）。",
    "voucher_cancelled.balance": "{name}の残高：{points} ポイント",
    "voucher_cancelled.paper": "取り消した券は使えません。破棄してください。",
    "voucher_cancel.offline": "通信できないため、ポイント券を取り消せませんでした。券はそのまま使えます。",
    "voucher_cancel.unknown": "ポイント券を取り消せたか確認できませんでした。次回この端末でポイントの画面を開くと、取り消せていれば券が表示されず、ポイントが残高に戻っています。職員にお知らせください。",
    "choose_facility.title": "紐付ける図書館・施設を選んでください",
    "choose_facility.body": "マイナンバーカードを利用カードとして使える図書館・施設です。",
    "enter_service_number.title": "{name}の利用者番号",
    "enter_service_number.hint": "利用カードに書かれた番号を入力してください（例：{example}）。読み取り機があれば、カードのバーコードを読み取らせることもできます。",
    "link.number_format": "この図書館・施設の利用者番号ではありません。カードの番号をご確認ください。",
    "link_confirm.title": "この内容で紐付けます",
    "link_confirm.what": "{name}（{municipality}）\u3000利用者番号 末尾 {last4}",
    "link_confirm.note": "貸出の記録は残りません。同じ図書館の別のカードは、新しいカードに切り替わります。",
    "link_confirm.offline": "通信できないため、受け付けて、通信が回復したときに送信します。",
    "link_done.confirmed": "紐付けました",
    "link_done.pending": "受け付けました（送信待ち）",
    "link_done.rejected": "紐付けできませんでした",
    "link_done.receipt": "{name}\u3000受付番号 {receipt}",
    "link_done.later": "通信が回復したときに送信します。結果は次回この端末でご確認ください。",
    "revoke_terms.title": "マイキーIDの失効について",
    "revoke_terms.undo": "失効させたマイキーIDは、元に戻せません。",
    "revoke_terms.mynapoint": "マイナポイントの予約・申込の権利をすべて失います。同じカードで予約しなおすこともできません。",
    "revoke_terms.points": "すべての自治体ポイントと、使用前のポイント券が使えなくなります。",
    "revoke_terms.links": "図書館カードなどの紐付けは、すべて解除されます。",
    "revoke_confirm.title.1": "本当にマイキーIDを失効させますか",
    "revoke_confirm.title.2": "最後の確認です",
    "revoke_confirm.body.2": "失効させると、元に戻せません。本当に失効させますか。",
    "revoke.offline": "通信できないため、マイキーIDを失効させませんでした。",
    "revoked.title": "マイキーIDを失効させました",
    "revoked.body": "マイキーID {mykey_id} は失効しました。元に戻すことはできません。",
    "revoked.lost": "使えなくなったポイント：{points} ポイント\u3000無効になったポイント券：{vouchers} 枚",
}

# The kinds' readings, so that kana typed on the kiosk's keyboard finds them ("でんしまねー":
# kiosk.catalog.queries.Catalog.search).
KIND_READINGS: dict[str, str] = {
    "qr": "キューアールコードケッサイ",
    "e_money": "デンシマネー",
    "credit": "クレジットカード",
    "debit": "デビットカード",
    "prepaid": "プリペイドカード",
}
