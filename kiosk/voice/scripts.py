"""What a step says aloud: its script (``kiosk/i18n/speech_*.py``), filled from the view.

Only what may be heard goes in: service names, the tries left, times, receipt numbers
(spelled a character at a time) and the service's own words for a refusal. Nothing of the
PIN, the security code or the payment-service ID (not even its last 4) is ever a value
here, and a key press says only how many digits were typed (``typed``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kiosk.i18n import LANGUAGES, Language, speech_en, speech_ja, text
from kiosk.procedure.flow import Step, View
from kiosk.voice.lexicon import spelled
from mynapoint.dates import JST, date_text

SCRIPTS: dict[str, dict[str, str]] = {"ja": speech_ja.SCRIPTS, "en": speech_en.SCRIPTS}
_STATES = {
    "ja": {"confirmed": "受付完了", "pending": "送信待ち", "rejected": "受け付けられませんでした"},
    "en": {"confirmed": "accepted", "pending": "pending", "rejected": "not accepted"},
}
_WHAT = {
    "ja": {"reservation": "マイキーIDの設定", "application": "決済サービスの申込",
           "cancellation": "申込の取消", "service_link": "図書館カードの紐付け",
           "service_unlink": "図書館カードの紐付け解除"},
    "en": {"reservation": "Your MyKey ID", "application": "Your application",
           "cancellation": "The cancellation", "service_link": "Your library card link",
           "service_unlink": "The library card unlinked"},
}  # fmt: skip


def say(key: str, language: str, **values: Any) -> str:
    template = SCRIPTS[language][key]
    return template.format(**values) if values else template


def spoken_time(moment: dt.datetime, language: str) -> str:
    """``3月31日 15時30分`` / ``15:30 on 31 March 2025``: a time for the ear."""
    local = moment.astimezone(JST)
    day = date_text(local, language)
    if language == "ja":
        return f"{day.split('年', 1)[1]}、{local.hour}時{local.minute}分"
    return f"{local.hour}:{local.minute:02d} on {day}"


def typed(count: int, language: str) -> str:
    """What a key press says: how many digits, never which (none: the entry was
    cleared)."""
    if count == 0:
        return say("pin.cleared", language)
    return say("pin.typed", language, count=count)


def _service_name(data: dict[str, Any], language: str, catalog: Any) -> str:
    """A service's name as it is said: in Japanese the catalog's kana reading (Open JTalk
    spells PayPay out letter by letter)."""
    service = data.get("service")
    if service is None and catalog is not None:
        service = catalog.get(data.get("service_code"))
    if service is not None:
        return str((service.reading or service.name_ja) if language == "ja" else service.name_en)
    return str(data.get(f"service_name_{language}") or data.get("service_code") or "")


def _outcomes(data: dict[str, Any], language: str) -> str:
    lines = [
        say("slip.outcome", language, what=_WHAT[language][o.kind],
            state=_STATES[language][o.state], receipt=spelled(o.receipt_number, language))
        for o in data.get("outcomes") or ()
    ]  # fmt: skip
    return ("" if language == "ja" else " ").join(lines)


def script_for(view: View, catalog: Any = None, *, headset: bool = False) -> str:
    """The script of ``view``, in its language ("" for the technician's screens);
    ``catalog``: the kiosk's (``kiosk.catalog.queries.Catalog``), for the services' readings;
    ``headset``: the sound is private (a headset), so the PIN screen also says how its pad
    is laid out."""
    language, data, step = view.language, view.data, view.step
    if step == Step.PLACE_CARD:  # where the reader is, when the kiosk's settings say
        where = data.get("reader")
        reader = say(f"place_card.reader.{where}" if where else "place_card.reader", language)
        child = data.get("for_whom", "self") != "self"
        return say("place_card.child" if child else "place_card", language, reader=reader)
    if step == Step.CERT_TOO_RECENT:
        return say("cert_too_recent", language, time=spoken_time(data["usable_from"], language))
    if step == Step.PIN:
        lead = say("pin.wrong", language) if data.get("wrong") else ""
        body = (
            say("pin.last_try", language)
            if data.get("last_try")
            else say("pin", language, tries=data.get("tries_left", 3))
        )
        if headset:
            body += ("" if language == "ja" else " ") + say("pin.headset", language)
        return (lead + ("" if language == "ja" or not lead else " ") + body).strip()
    if step in (Step.ALREADY_APPLIED, Step.ENTER_ID):
        return say(step.value, language, service=_service_name(data, language, catalog))
    if step == Step.CONFIRM:
        if data.get("service") is None:
            return say("confirm.reserve_only", language)
        return say("confirm", language, service=_service_name(data, language, catalog))
    if step in (Step.NOTICE, Step.REFUSED):
        # The service's own words for a refusal, or the kiosk's for a problem it names.
        problem = data.get("problem")
        message = data.get(f"message_{language}") or (text(problem, language) if problem else "")
        return say(step.value, language, message=message).strip()
    if step == Step.SLIP:
        if data.get("printing"):
            return say("slip.printing", language)
        return say("slip", language, outcomes=_outcomes(data, language)).strip()
    if step == Step.VOUCHER_SLIP:
        return say("voucher_slip.printing" if data.get("printing") else "voucher_slip", language)
    if step == Step.LINK_DONE and data.get("unlinking"):
        return say("link_done.unlink", language)
    if step == Step.REVOKE_CONFIRM:  # asked twice, the second time louder
        return say(f"revoke_confirm.{data.get('asked', 1)}", language)
    return say(step.value, language)


# Scripts that end with what only the view knows (a refusal's words, the slip's outcomes):
# the step's key and the placeholder at its end. The fixed lead is made at start-up and
# heard at once, while the rest is made.
_TAILS: dict[Step, tuple[str, str]] = {
    Step.NOTICE: ("notice", "message"),
    Step.REFUSED: ("refused", "message"),
    Step.SLIP: ("slip", "outcomes"),
}


def pieces(view: View, catalog: Any = None, *, headset: bool = False) -> list[str]:
    """The script of ``view`` as it is played: the fixed lead, then the rest, if the
    script ends with what only the view knows; else the script alone ([] if silent)."""
    script = script_for(view, catalog, headset=headset)
    tail = _TAILS.get(view.step)
    if tail is None or not script or (view.step == Step.SLIP and view.data.get("printing")):
        return [script] if script else []
    key, placeholder = tail
    lead = say(key, view.language, **{placeholder: ""}).strip()
    rest = script[len(lead) :].strip() if script.startswith(lead) else ""
    return [lead, rest] if rest else [script]


# Steps whose script names something in its middle (a service, a time): made once known.
_NAMED = {Step.CERT_TOO_RECENT, Step.ALREADY_APPLIED, Step.ENTER_ID}
TYPED_MOST = 24  # the longest entry on a pad (payment-service IDs), in digits


def _fixed_views(language: Language) -> list[View]:
    views: list[View] = []
    for step in Step:
        if step in _NAMED:
            continue
        if step == Step.PIN:
            views += [
                View(step, language, {"tries_left": tries, "last_try": tries == 1,
                                      "wrong": wrong})
                for wrong in (False, True) for tries in (3, 2, 1)
            ]  # fmt: skip
        elif step == Step.PLACE_CARD:  # for whom, and every place a reader may be
            prefix = "place_card.reader."
            places = [None, *(k[len(prefix) :] for k in SCRIPTS[language] if k.startswith(prefix))]
            views += [
                View(step, language, {"for_whom": who, "reader": place})
                for who in ("self", "child") for place in places
            ]  # fmt: skip
        elif step == Step.CONFIRM:
            views.append(View(step, language, {"service": None}))
        elif step == Step.SLIP:
            views += [View(step, language, {"printing": p, "outcomes": ()}) for p in (True, False)]
        elif step == Step.VOUCHER_SLIP:
            views += [View(step, language, {"printing": p}) for p in (True, False)]
        elif step == Step.LINK_DONE:
            views += [View(step, language, {"unlinking": u}) for u in (False, True)]
        else:
            views.append(View(step, language, {}))
    return views


def fixed_scripts(*, headset: bool = False, countdown: int = 20) -> list[tuple[str, str]]:
    """Every (script, language) the kiosk says without knowing the citizen, in the order
    of the procedure, Japanese first: each step's (and its variants'), the fixed leads,
    "read", "N digits entered" up to ``TYPED_MOST``, and the idle warning at
    ``countdown`` s."""
    found: dict[tuple[str, str], None] = {}
    for language in LANGUAGES:
        for view in _fixed_views(language):
            for script in pieces(view, headset=False):
                found[(script, language)] = None
            if headset and view.step == Step.PIN:
                found[(script_for(view, headset=True), language)] = None
        found[(say("card_read", language), language)] = None
        for count in range(TYPED_MOST + 1):
            found[(typed(count, language), language)] = None
        found[(say("idle.warning", language, seconds=countdown), language)] = None
    return list(found)
