"""What the kiosk says aloud, in English; the same keys as ``speech_ja.py``."""

SCRIPTS: dict[str, str] = {
    "welcome": (
        "This kiosk does Mynapoint procedures. With your My Number Card, you can set up your "
        "MyKey ID and apply for a payment service. To begin, press Start."
    ),
    "consent": (
        "Before you start. Your My Number is never read. Your PIN is never recorded. "
        "Your payment service ID and security code are sent to the payment company, to "
        "check that they are right. The last 4 digits of your phone number are not sent "
        "to the payment company; they are kept with the record of your application. "
        "Officials never ask for your bank-account PIN or for money. If you agree, press "
        "I agree."
    ),
    "for_whom": "Who is this for? Choose yourself, or your child.",
    "place_card": "Place your My Number Card on {reader}. Keep it still until reading ends.",
    "place_card.child": (
        "Place your child's own My Number Card on {reader}. Keep it still until reading ends."
    ),
    "place_card.reader": "the card reader",
    "place_card.reader.right_of_screen": "the reader to the right of the screen",
    "place_card.reader.below_screen": "the reader below the screen",
    "place_card.reader.left_of_screen": "the reader to the left of the screen",
    "place_card.reader.handheld": "the reader in front of you",
    "reading": "Reading the card. Please do not move it.",
    "card_read": "The card has been read.",
    "card_problem": "The card could not be read. Place it again, and press Read the card again.",
    "cert_expired": (
        "The certificate on this card has expired. Please renew it at your municipal office."
    ),
    "cert_too_recent": (
        "The certificate was renewed less than 24 hours ago, so the procedure is not possible "
        "yet. Please come back after {time}."
    ),
    "pin": (
        "Enter your four-digit PIN. {tries} more wrong entries will lock the PIN. If you have "
        "forgotten it, it must be reset at your municipal office."
    ),
    "pin.last_try": (
        "Warning. One more wrong entry will lock the PIN, and only the municipal office can "
        "unlock it. Enter your four-digit PIN."
    ),
    "pin.wrong": "Wrong PIN.",
    "pin.typed": "{count} digits entered.",
    "pin.cleared": "Entry cleared.",
    "pin.headset": (
        "The keys are laid out like a phone's: three columns, four rows. The bottom row is "
        "Clear, zero, and OK, from left to right. Each key press tells you only how many "
        "digits you have entered."
    ),
    "verifying": "Checking your PIN.",
    "pin_locked": "Your PIN is locked. Take your card to your municipal office to unlock it.",
    "checking": "Checking your status. Please wait.",
    "offline_notice": (
        "The network is down. If you go on, your procedure is accepted as pending and sent "
        "when the network is back. To go on, press Next."
    ),
    "already_applied": (
        "You have already applied for {service}. The payment service cannot be changed after "
        "applying."
    ),
    "not_me": "About cancelling this application. Please read the screen.",
    "cancelled": "The application was cancelled. You may choose a payment service and apply again.",
    "reservations_closed": "The budget has been reached: MyKey ID reservations have closed.",
    "notice": "The procedure could not be done. {message}",
    "choose_service": (
        "Choose one payment service to receive your points. It cannot be changed afterwards."
    ),
    "enter_id": "Enter your {service} payment service ID. What you type is not read aloud.",
    "enter_code": "Enter the security code. What you type is not read aloud.",
    "enter_phone": "Enter the last four digits of a phone number, or skip it.",
    "confirm": (
        "Please check. The payment service is {service}. After applying, it cannot be changed "
        "or cancelled. If this is right, press Apply with these details."
    ),
    "confirm.reserve_only": "Your MyKey ID will be set. If this is right, press Apply.",
    "submitting": "Sending. Keep your card on the reader.",
    "refused": "The application was not completed. {message}",
    "slip": "Please take your receipt and your card. {outcomes}",
    "slip.outcome": "{what}: {state}. Receipt number {receipt}.",
    "slip.printing": "Printing your receipt.",
    "my_page": "Your status is on the screen.",
    "take_card": "Please take your card. Do not leave your My Number Card behind.",
    "card_left": "A card is still on the reader. Please take it.",
    "card_removed": "The card was taken away, so the procedure was stopped. Nothing was sent.",
    "idle.warning": "No activity: back to the start in {seconds} seconds.",
    "technician_pin": "",
    "technician": "",
    # --- the MyKey platform (city hall): points, vouchers, library cards, revocation ---
    "platform_elsewhere": "Municipal points and library cards are not available at this kiosk. Please use a kiosk at a city hall or ward office.",
    "platform_home": "Your municipal points and linked library cards are on the screen. You can print a point voucher, link a library card, or revoke your MyKey ID. An unused voucher can also be cancelled.",
    "platform_offline": "The kiosk is offline. Points and vouchers need the network. A library card can be linked now, and is sent later.",
    "voucher_amount": "Choose the municipality, and how many points to put on the voucher.",
    "voucher_confirm": "This voucher will be printed. It can be used only in the municipality on it, and gives no change. To go ahead, press Print the voucher.",
    "issuing": "Printing your voucher. Please leave your card where it is.",
    "voucher_slip.printing": "Printing your voucher.",
    "voucher_slip": "Please take your voucher and your card.",
    "choose_facility": "Choose the library or facility of your card.",
    "enter_service_number": "Type the number on your card, or scan its barcode if there is a scanner.",
    "link_confirm": "Your library card will be linked. No loans are recorded. To go ahead, press Link it.",
    "link_done": "Your library card link was received.",
    "revoke_terms": "Important: revoking your MyKey ID. A revoked MyKey ID can never be restored. You lose every right to reserve and apply for Mynapoint, and cannot reserve again with the same card. All your municipal points and unused vouchers can no longer be used. Every library card link is removed. When you have understood, press I understand.",
    "revoke_confirm.1": "Do you really want to revoke your MyKey ID?",
    "revoke_confirm.2": "Last question. It cannot be undone. Do you really want to revoke your MyKey ID?",
    "revoking": "Revoking your MyKey ID.",
    "choose_unlink": "Choose the card to unlink. Once unlinked, that library no longer takes your My Number Card as its card.",
    "unlink_confirm": "This library card will be unlinked. The library card itself still works. To go ahead, press Unlink it.",
    "link_done.unlink": "Your library card unlink was received.",
    "voucher_cancel_choose": "Choose the voucher to cancel. A cancelled voucher can no longer be used, and its points go back to your balance. Tell them apart by the last 4 digits of the large number printed on each.",
    "voucher_cancel_confirm": "This voucher will be cancelled, and can no longer be used in shops. To go ahead, press Cancel the voucher.",
    "cancelling_voucher": "Cancelling your voucher. Please leave your card where it is.",
    "voucher_cancelled": "Your voucher is cancelled. It cannot be used any more: please throw it away.",
    "revoked": "Your MyKey ID is revoked. It cannot be restored. Please take your card.",
}
