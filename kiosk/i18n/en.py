"""The kiosk's words in English; the same keys as ``ja.py``."""

MESSAGES: dict[str, str] = {
    # --- shared ---
    "app.title": "Mynapoint procedures",
    "button.start": "Start",
    "button.my_page": "Check my status",
    "button.agree": "I agree",
    "button.back": "Back",
    "button.finish": "Finish",
    "button.apply_again": "Apply now",
    "button.quit": "Cancel",
    "button.ok": "OK",
    "button.next": "Next",
    "button.try_again": "Read the card again",
    "button.submit": "Apply with these details",
    "button.reserve_only": "Only set my MyKey ID\n(no points application)",
    "button.wrong_entry": "I typed it wrong, or used someone else's service",
    "button.help": "Help",
    "button.status_slip": "Print my status",
    "button.not_me": "I did not make this application",
    "button.cancel_application": "Cancel today's application",
    "button.skip": "Skip",
    "button.correct": "Type again",
    "button.continue_session": "Continue",
    "button.call_staff": "Call staff",
    "button.listen_again": "Listen\nagain",
    "button.scroll_up": "▲ Up",
    "button.scroll_down": "▼ Down",
    "button.sound_off": "Sound\noff",
    "button.sound_on": "Sound\non",
    "button.larger_text": "Larger\ntext",
    "button.normal_text": "Normal\ntext",
    "button.where_ids": "Where to find the ID and code",
    "button.language": "日本語",
    "pinpad.clear": "Clear",
    "pinpad.ok": "OK",
    "alphapad.backspace": "Erase one",
    "alphapad.digits": "123",
    "alphapad.letters": "ABC",
    "alphapad.clear": "Clear",  # the PIN pad's word (pinpad.clear)
    "kanapad.variant": "゛゜小",
    "help.contact": "Questions: My Number toll-free line {phone} (choose {option} in the "
    "voice menu), {hours}",
    "help.contact_bar": "Questions: {phone} (option {option})",
    "help.title": "Help ({page}/{pages})",
    "help.other_numbers": "Also {navi} (nationwide navi-dial, call charges apply) and {paid} "
    "(ordinary call rates)",
    "help.forgotten_pin": (
        "Forgotten your 4-digit PIN: it must be reset at your municipal office. It cannot "
        "be reset at this kiosk."
    ),
    "help.lost_card": (
        "Lost your My Number Card: call the My Number toll-free line at once to stop the "
        "card (24 hours a day). Report the loss to the police, then ask your municipal "
        "office for a new card."
    ),
    "help.in_app": (
        "An application made inside a payment service's own app cannot be cancelled here "
        "or on My Page. Please call the contact line."
    ),
    "help.own_name": (
        "Apply with a payment service in your own name. A family member's or a friend's "
        "service cannot be used."
    ),
    "help.own_name_child": "For a child, a service in the legal guardian's name may be used.",
    "help.mykey_leak": (
        "If your MyKey ID may have leaked: the MyKey Platform contact desk can stop it."
    ),
    "help.scam": (
        "Beware of fraud. Officials never ask for your My Number, bank account numbers, "
        "bank-account PINs, your assets or your family; they never take or check your "
        "passbook or cash card, and never ask for money or fees."
    ),
    "help.counter": "To unlock a PIN or renew a certificate, visit {counter}",
    "help.staff_called": "Your call for staff has been recorded",
    "help.staff_called_body": (
        "Please speak to a member of staff nearby (the till in a convenience store, the "
        "counter at the municipal office). You can leave this screen as it is."
    ),
    # --- the step bar (kiosk/procedure/progress.py) ---
    "progress.line": "Step {number} of {total}: {stage}",
    "progress.consent": "Agreement",
    "progress.card": "Reading your card",
    "progress.pin": "PIN",
    "progress.service": "Choosing a payment service",
    "progress.payment_id": "Payment service ID",
    "progress.code": "Security code",
    "progress.confirm": "Check",
    "progress.slip": "Your slip",
    "progress.status": "Your status",
    "idle.warning": "No activity: back to the start in {seconds} seconds.",
    # --- welcome, consent, for whom ---
    "welcome.title": "Mynapoint procedures",
    "welcome.body": "Set up your MyKey ID (reservation) and apply for a payment service "
    "with your My Number Card.",
    "welcome.blocked": "A card is still on the reader. Please take it before you start.",
    "welcome.duration": "It takes about 5 to 10 minutes.",
    "welcome.bring": "Please have ready",
    "welcome.bring_card": "- your My Number Card",
    "welcome.bring_pin": "- the card's 4-digit PIN",
    "welcome.bring_ids": (
        "- the ID and security code of the payment service you apply for (shown in its "
        "app or on its card)"
    ),
    "welcome.offline": (
        "The network is down at the moment. You can still go ahead: your application is "
        "accepted as pending and sent automatically when the network is back. Checking "
        "your status is not possible."
    ),
    "welcome.where_title": "Where to find the ID and security code ({page}/{pages})",
    "welcome.where_service": "{service}. ID: {id_hint} Security code: {code_hint}",
    "consent.title": "Before you start",
    "consent.intro": (
        "Before you start, please read the following (the main points of the Mynapoint "
        "terms of use)."
    ),
    "consent.h_read": "What this kiosk uses",
    "consent.body": (
        "This uses the part of your card that proves it is you (the user-authentication "
        "certificate) and the card's 4-digit PIN. Your My Number is never read. Your PIN "
        "is used only to check the card and is never recorded."
    ),
    "consent.h_sent": "What is sent, and to whom",
    "consent.sent_system": (
        "Sent, encrypted, to the national Mynapoint system: your card's certificate (it "
        "holds no My Number), whether this is for yourself or for your child, the payment "
        "service you choose, its payment service ID, its security code, and the last 4 "
        "digits of your phone number (only if you type them)."
    ),
    "consent.sent_operator": (
        "The payment company (the payment service operator) receives from the national "
        "system only the payment service ID and the security code, to check that they are "
        "right. The last 4 digits of your phone number and your MyKey ID are not sent to "
        "the payment company."
    ),
    "consent.sent_stored": (
        "The national system keeps, as the record of your application: the payment "
        "service, the last 4 characters of its ID (the whole ID only in a form from which "
        "it cannot be read back), and the last 4 digits of your phone number (if you typed "
        "them). The security code is not kept once it has been checked."
    ),
    "consent.sent_points": (
        "To grant points, the payment company tells the national system the amounts you "
        "charge or spend. The state keeps no record of what you buy."
    ),
    "consent.h_kept": "What stays on this kiosk",
    "consent.kept": (
        "Your payment service ID, security code and phone digits are kept on this kiosk, "
        "encrypted, until they have been sent, and erased once sent (when the network is "
        "down, until it can send them). Receipt numbers and results stay on this kiosk "
        "for {days} days. What your receipt says (only the last 4 characters of the ID) is "
        "kept for reprints, the latest {slips} receipts."
    ),
    "consent.h_rules": "The main rules of Mynapoint",
    "consent.rules_mykey": (
        "A MyKey ID is the ID through which you receive Mynapoint points; it is not your "
        "My Number. It is set on your card's certificate (the reservation). Reservations "
        "are first come, first served, and close when the national budget is reached."
    ),
    "consent.rules_one": (
        "Each person receives points through one payment service. After applying, the "
        "service cannot be changed. If you typed something wrong, the application may be "
        "cancelled on the same day only."
    ),
    "consent.rules_points": (
        "Points are {rate}% of what you charge or spend (which one depends on the service) "
        "with the chosen service, after applying and within the programme period, up to "
        "{cap} yen per person. When points are granted and how long they last depend on the "
        "payment company."
    ),
    "consent.rules_revoke": (
        "Revoking a MyKey ID cannot be undone, and ends your right to Mynapoint points."
    ),
    "consent.terms": "If you agree to all of the above, press I agree. If not, press Cancel.",
    "for_whom.title": "Who is this for?",
    "for_whom.self": "For myself",
    "for_whom.child_under_15": "For my child under 15 (as guardian)",
    "for_whom.child_15_plus": "For my child of 15 or more (with them)",
    "for_whom.card_note": "A child's procedure uses the child's own My Number Card, and "
    "that card's PIN.",
    "for_whom.one_child_rule": (
        "One payment-service account can receive points for one person only. "
        "Choose a different service for each child."
    ),
    # --- the card ---
    "place_card.title": "Place your My Number Card on {reader}",
    "place_card.child": "Place your child's My Number Card on {reader}",
    "place_card.reader": "the reader",
    "place_card.reader.right_of_screen": "the reader to the right of the screen",
    "place_card.reader.below_screen": "the reader below the screen",
    "place_card.reader.left_of_screen": "the reader to the left of the screen",
    "place_card.reader.handheld": "the reader in front of you",
    "place_card.tips": (
        "Keep the card still until reading finishes (it can take more than 5 seconds). "
        "Do not place it on a metal surface. Take it out of its cover."
    ),
    "place_card.tips_fixed": (
        "Keep the card still until reading finishes (it can take more than 5 seconds). "
        "Take it out of its cover."
    ),
    "reading.title": "Reading the card",
    "reading.body": "Please do not move the card.",
    "busy.keep_card": "Keep your card on the reader.",
    "busy.wait": "Please wait.",
    "card.not_my_number_card": "This does not seem to be a My Number Card. Please place "
    "your My Number Card.",
    "card.removed": "The card moved away while it was being read. Keep it on the reader "
    "until reading finishes.",
    "card.error": "The card could not be read. Please place it again.",
    "card.absent": "No card found. Please place your card.",
    "card.pin.format": "The PIN is 4 digits.",
    "card.pin.wrong": "Wrong PIN.",
    "card.pin.locked": "The PIN is locked.",
    "reader.missing": "No card reader found. Please tell the staff.",
    "reader.unavailable": "The card reader cannot be used. Please tell the staff.",
    "reader.error": "The card reader has a problem. Please tell the staff.",
    "card_problem.title": "The card could not be read",
    "cert_expired.title": "Your certificate has expired",
    "cert_expired.body": (
        "The user-authentication certificate on this card expired on {date}. Please "
        "renew it at your municipal office. A MyKey ID you set earlier stays valid after "
        "the renewal."
    ),
    "cert_too_recent.title": "Your certificate was just renewed",
    "cert_too_recent.body": (
        "Procedures are possible 24 hours after a certificate is renewed or re-issued. "
        "Please come back after {time}."
    ),
    # --- PIN ---
    "pin.title": "Enter your PIN (4 digits)",
    "pin.which": "The 4-digit user-authentication PIN set when the card was issued (not "
    "the 6 to 16 character signature password).",
    "pin.tries": "{tries} more wrong entries will lock the PIN.",
    "pin.last_try": "Warning: one more wrong entry will lock the PIN; only the municipal "
    "office can unlock it.",
    "pin.wrong": "Wrong PIN.",
    "verifying.title": "Checking your PIN",
    "pin_locked.title": "Your PIN is locked",
    "pin_locked.body": (
        "The PIN was entered wrongly 3 times and is now locked. Take your card to your "
        "municipal office to unlock it."
    ),
    # --- status ---
    "checking.title": "Checking your status",
    "offline_notice.title": "The network is down",
    "offline_notice.body": (
        "Your status cannot be checked. If you go on, your procedure is accepted as "
        "pending and sent automatically when the network is back. If you already "
        "applied elsewhere, this application will be refused. Your MyKey ID is issued "
        "once it is sent."
    ),
    "offline_notice.my_page": "Checking your status and cancelling need the network. "
    "Please try again later.",
    "already_applied.title": "You have already applied",
    "already_applied.body": "You applied for {service} (ID ending {last4}), receipt "
    "number {receipt}.",
    "already_applied.no_change": "The payment service cannot be changed after applying.",
    "already_applied.mistake": "If you typed the payment service ID wrong, applied with "
    "someone else's service, or did not make this application, choose below.",
    "not_me.title": "An application you did not make",
    "not_me.cancellable": "An application made today can be cancelled at this kiosk. "
    "You can then apply again.",
    "wrong_entry.title": "An application entered wrongly",
    "not_me.convenience_store": (
        "It cannot be cancelled at a convenience-store kiosk. Today, cancel it on My "
        "Page from your own phone or computer, or a procedure-spot computer. After "
        "today, call the contact line."
    ),
    "not_me.too_late": "It was not made today, so it cannot be cancelled here. Please "
    "call the contact line.",
    "not_me.in_app": "An application made inside a payment service's own app cannot be "
    "cancelled here. Please call the contact line.",
    "not_me.recorded": "Your report has been recorded.",
    "not_me.receipt": "Receipt number {receipt}",
    "not_me.will_record": "Your report is recorded when you finish.",
    "cancelled.title": "The application was cancelled",
    "cancelled.body": "You may choose a payment service and apply again. Apply now?",
    "reservations_closed.title": "Reservations have closed",
    "reservations_closed.body": "The budget has been reached: MyKey ID reservations are "
    "no longer accepted.",
    "notice.title": "The procedure could not be done",
    "notice.code": "Reason code: {code}",
    "my_page.title": "Your status",
    "my_page.reserved": "MyKey ID {mykey_id}",
    "my_page.not_reserved": "No MyKey ID set",
    "my_page.application": "Application: {service} (ID ending {last4})",
    "my_page.no_application": "No application yet",
    "my_page.points": "Points granted: {points} yen",
    "my_page.cancelled": "This application was cancelled.",
    "my_page.refused": "Your last submission was refused: {message}",
    # --- choosing and entering ---
    "choose_service.title": "Choose a payment service",
    "choose_service.search": "Search by name",
    "choose_service.all_kinds": "All",
    "choose_service.search_for": "Name: {text}",
    "choose_service.kind_menu": "Kind: {kind}",
    "choose_service.kind_menu_title": "Choose by kind",
    "choose_service.kind.qr": "QR code",
    "choose_service.kind.e_money": "E-money",
    "choose_service.kind.credit": "Credit",
    "choose_service.kind.debit": "Debit",
    "choose_service.kind.prepaid": "Prepaid",
    # A kind's full name, where the catalog shows a service's kind (kiosk.catalog.model).
    "catalog.kind.qr": "QR code payment",
    "catalog.kind.e_money": "E-money",
    "catalog.kind.credit": "Credit card",
    "catalog.kind.debit": "Debit card",
    "catalog.kind.prepaid": "Prepaid card",
    "choose_service.unavailable": "Not available at this kiosk",
    "choose_service.pre_registration": "Needs pre-registration",
    "choose_service.app_only": "Only in its own app",
    "choose_service.card_credentials": "Apply in the card company's app",
    "choose_service.from_date": "From {date}",
    "choose_service.searching": "Searching: {text}",
    "choose_service.found": "{count} found",
    "choose_service.show_found": "Show them",
    "choose_service.kana_pad": "Kana",
    "choose_service.letter_pad": "ABC",
    "choose_service.none_found": "Nothing found.",
    "choose_service.previous": "Previous page",
    "choose_service.next_page": "Next page",
    "choose_service.page": "{page} / {pages}",
    "enter_id.title": "Enter your {label}",
    "enter_id.pre_registration": "This service needs you to register with the operator "
    "before applying.",
    "enter_code.title": "Enter your {label}",
    "enter_phone.title": "Last 4 digits of your phone (optional)",
    "enter_phone.body": "Optional: you can apply without it. The 4 digits you type are kept "
    "with the record of your application (they are not sent to the payment company).",
    "phone.format": "Enter 4 digits.",
    # beside the entry, as it is typed (kiosk/procedure/entry_format.py)
    "entry.count_digits": "{count} of {total} digits",
    "entry.count_characters": "{count} of {total} characters",
    "entry.typed_digits": "Digits: {count}",
    "entry.typed_characters": "Characters: {count}",
    "confirm.title": "Check your application",
    "confirm.reserve": "Your MyKey ID will be set (reservation)",
    "confirm.service": "Payment service: {service}",
    "confirm.account": "(payment service ID ending {last4})",
    "confirm.no_change": "After applying, the payment service cannot be changed or cancelled.",
    "confirm.grant_on_charge": "You receive {rate}% of what you charge (top up) as points, "
    "up to {cap} yen.",
    "confirm.grant_on_purchase": "You receive {rate}% of what you spend as points, up to {cap} yen.",
    "confirm.timing": "When points are granted depends on the payment operator.",
    "confirm.offline": "The network is down: this will be accepted as pending.",
    "submitting.title": "Sending",
    "refused.title": "The application was not completed",
    "refused.body": "Please check the payment service ID or security code and type them again.",
    # --- slip, end ---
    "slip.printing": "Printing your receipt",
    "slip.printed": "Please take your receipt and your card",
    "slip.not_printed": "Your receipt could not be printed. Please tell the staff. You "
    "can also take a photo of the receipt on the screen (QR code).",
    "slip.near_end": "Your receipt has been printed.",
    "slip.not_printed_title": "Your receipt could not be printed",
    "slip.outcome": "{what}: {state}, receipt {receipt}",
    "slip.what.reservation": "MyKey ID (reservation)",
    "slip.what.application": "Payment service application",
    "slip.what.cancellation": "Cancellation",
    "slip.state.confirmed": "accepted",
    "slip.state.pending": "pending (sent when the network is back)",
    "slip.state.rejected": "not accepted",
    "printer.paper_out": "The printer is out of paper.",
    "printer.offline": "The printer cannot be used.",
    "printer.unavailable": "The printer cannot be reached.",
    "printer.error": "The printer has a problem.",
    "take_card.title": "Please take your card",
    "take_card.body": "Do not leave your My Number Card behind.",
    "card_left.title": "A card is still on the reader",
    "card_left.city_hall": "Staff have been called. Please take your card.",
    "card_left.convenience_store": "The next procedure cannot start until the card is taken.",
    "card_removed.title": "The card was taken away",
    "card_removed.body": "The procedure was stopped; nothing was sent. Please start again.",
    "kiosk.trouble": "The kiosk has a problem and cannot go on. Please tell the staff.",
    # --- technician ---
    "technician_pin.title": "Technician PIN",
    "technician_pin.wrong": "Wrong PIN.",
    "technician.title": "Technician mode",
    "technician.device_status": "Device status",
    "technician.test_read": "Test read",
    "technician.test_print": "Test print",
    "technician.queue_status": "Queue status",
    "technician.sync_now": "Sync now",
    # --- the MyKey platform (city hall): points, vouchers, library cards, revocation ---
    "progress.platform": "Points and cards",
    "progress.finish": "Done",
    "slip.what.service_link": "Library card link",
    "slip.what.service_unlink": "Library card unlinked",
    "button.platform": "Municipal points\nand library cards",
    "button.issue_voucher": "Print a point voucher",
    "button.link_library": "Link a library card",
    "button.revoke_mykey": "Revoke my MyKey ID",
    "button.voucher_points": "{points} points",
    "button.municipality": "{name} ({points} points)",
    "button.issue": "Print the voucher",
    "button.facility": "{name} ({municipality})",
    "button.facility_linked": "{name} ({municipality}, linked)",
    "button.link": "Link it",
    "button.understood": "I understand",
    "button.revoke_yes": "Revoke",
    "button.revoke_no": "Do not revoke",
    "button.cancel_voucher": "Cancel an unused voucher",
    "button.held_voucher": "{name}: {points} points\nnumber ending {last4}, until {date}",
    "button.cancel_it": "Cancel the voucher",
    "button.to_page": "Back to my points",
    "button.unlink_library": "Unlink a library card",
    "button.linked_card": "{name}\nnumber ending {last4}",
    "button.unlink": "Unlink it",
    "choose_unlink.title": "Which card do you want to unlink?",
    "choose_unlink.body": "Once unlinked, that library or facility no longer takes your My Number Card as its card.",
    "unlink_confirm.title": "Unlink this card?",
    "unlink_confirm.note": "The library card itself still works, and you can link it again later.",
    "unlink_done.confirmed": "Your card is unlinked",
    "unlink_done.pending": "Received (waiting to be sent)",
    "unlink_done.rejected": "The card could not be unlinked",
    "platform_elsewhere.title": "Not available at this kiosk",
    "platform_elsewhere.body": "Municipal points, point vouchers and library cards are at the kiosks in city halls and ward offices.",
    "platform_home.title": "Municipal points and library cards",
    "platform_home.mykey": "MyKey ID {mykey_id}",
    "platform_home.balance": "{name}: {points} points",
    "platform_home.expiring": "{points} of them until {date}",
    "platform_home.no_balance": "You have no municipal points.",
    "platform_home.vouchers": "Unused vouchers: {count} ({points} points)",
    "platform_home.link": "Linked: {name} (number ending {last4})",
    "platform_home.no_points": "You have no points to put on a voucher.",
    "platform_offline.title": "The kiosk is offline",
    "platform_offline.body": "Points, vouchers and revoking a MyKey ID need the network: please come back later. A library card can be linked now: it is sent when the network is back.",
    "voucher_amount.title": "Print a point voucher",
    "voucher_amount.choose": "Whose points: which municipality?",
    "voucher_amount.points": "How many points on the voucher? (up to {most})",
    "voucher.points_range": "Please choose the points again.",
    "voucher.choose_municipality": "Please choose the municipality first.",
    "voucher.unknown": "We could not confirm the voucher. If points were used, the voucher shows here next time. Please tell the staff.",
    "voucher.offline": "The kiosk is offline: no voucher was printed and no points were used.",
    "voucher_confirm.title": "Print this voucher?",
    "voucher_confirm.what": "{name} point voucher: {points} points",
    "voucher_confirm.after": "Left after it: {left} points",
    "voucher_confirm.rules": "Valid only in the municipality printed on it, and only for you. No change is given. Before it is used, the office that printed it can cancel it and return the points.",
    "issuing.title": "Printing your voucher",
    "revoking.title": "Revoking your MyKey ID",
    "voucher_slip.printing": "Printing your voucher",
    "voucher_slip.printed": "Please take your voucher and your card",
    "voucher_slip.what": "{name} point voucher: {points} points (until {date})",
    "voucher_slip.not_printed": "The voucher could not be printed. Please call the staff. Its points are on the voucher: cancel it on this kiosk (Cancel an unused voucher) and they come back.",
    "voucher_cancel_choose.title": "Which voucher do you want to cancel?",
    "voucher_cancel_choose.body": "A cancelled voucher can no longer be used, and its points go back to your balance. Tell them apart by the last 4 digits of the large number printed on each.",
    "voucher_cancel_confirm.title": "Cancel this voucher?",
    "voucher_cancel_confirm.what": "{name} point voucher: {points} points (number ending {last4})",
    "voucher_cancel_confirm.after": "When it is cancelled, {points} points go back to your {name} balance.",
    "voucher_cancel_confirm.paper": "A cancelled voucher can no longer be used in shops.",
    "cancelling_voucher.title": "Cancelling your voucher",
    "voucher_cancelled.title": "Your voucher is cancelled",
    "voucher_cancelled.returned": "{points} points went back to your {name} balance.",
    "voucher_cancelled.expired": "This voucher had passed its last day and could no longer be used. Its points went back to your balance when it expired (those past their own expiry date have lapsed).",
    "voucher_cancelled.balance": "{name} balance: {points} points",
    "voucher_cancelled.paper": "The cancelled voucher cannot be used: please throw it away.",
    "voucher_cancel.offline": "The kiosk is offline: the voucher was not cancelled, and it can still be used.",
    "voucher_cancel.unknown": "We could not confirm the cancellation. Next time you open your points here, a cancelled voucher is gone and its points are back. Please tell the staff.",
    "choose_facility.title": "Which library or facility?",
    "choose_facility.body": "These take the My Number Card as their card.",
    "enter_service_number.title": "Your {name} card number",
    "enter_service_number.hint": "Type the number on the card (for example {example}), or scan its barcode if the kiosk has a scanner.",
    "link.number_format": "This is not a card number of this library or facility: please check it.",
    "link_confirm.title": "Link this card?",
    "link_confirm.what": "{name} ({municipality}): card number ending {last4}",
    "link_confirm.note": "No loans are recorded. Another card of the same library is replaced.",
    "link_confirm.offline": "The kiosk is offline: it is sent when the network is back.",
    "link_done.confirmed": "Your card is linked",
    "link_done.pending": "Received (waiting to be sent)",
    "link_done.rejected": "The card could not be linked",
    "link_done.receipt": "{name}: receipt number {receipt}",
    "link_done.later": "It is sent when the network is back; check the result here next time.",
    "revoke_terms.title": "Revoking your MyKey ID",
    "revoke_terms.undo": "A revoked MyKey ID can never be restored.",
    "revoke_terms.mynapoint": "You lose every right to reserve and apply for Mynapoint, and cannot reserve again with the same card.",
    "revoke_terms.points": "All your municipal points and unused vouchers can no longer be used.",
    "revoke_terms.links": "Every library card link is removed.",
    "revoke_confirm.title.1": "Revoke your MyKey ID?",
    "revoke_confirm.title.2": "Last question",
    "revoke_confirm.body.2": "It cannot be undone. Revoke your MyKey ID?",
    "revoke.offline": "The kiosk is offline: your MyKey ID was not revoked.",
    "revoked.title": "Your MyKey ID is revoked",
    "revoked.body": "MyKey ID {mykey_id} is revoked. It cannot be restored.",
    "revoked.lost": "Points lost: {points}. Vouchers made void: {vouchers}.",
}
