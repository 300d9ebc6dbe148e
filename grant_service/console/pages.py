"""The console's pages (``/console``): the FastAPI router and what each page shows or does.

Every route but the sign-in page needs a session (``Visit``): without one a GET is
redirected to sign-in (303) and a POST is refused (403), and every POST must carry the
session's CSRF token before anything changes. The rules live elsewhere: sessions and
lockout in ``auth``, the fleet in ``grant_service.fleet``, devices, people and reporting
in their modules; here they are only called and shown.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session

from grant_service import devices, fleet, people, reporting
from grant_service.console import auth, programme, views
from grant_service.console.rendering import (
    PREFIX,
    STATIC,
    ConsoleError,
    SecurityHeaders,
    error_page,
    render,
)
from grant_service.refusals import Refused
from grant_service.service import Service

PAGE_SIZE = 200
# Sign-in is the only way in without a session (tests check every other route).
PUBLIC_PATHS = frozenset({f"{PREFIX}/sign-in"})
TOKEN_HOURS = (1, 24, 72)
T = TypeVar("T")

router = APIRouter(prefix=PREFIX, include_in_schema=False)


class NotSignedIn(Exception):
    """No valid session: a GET goes to the sign-in page, a POST is refused."""


@dataclass(frozen=True)
class Visit:
    """A signed-in request: who, the form it posted (if any), the service and its time."""

    user: auth.ConsoleUser
    form: dict[str, str]
    service: Service
    now: dt.datetime
    request: Request

    @property
    def language(self) -> str:
        return self.user.language

    def page(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        """A full page, with the header (the user, the language switch, sign-out)."""
        back = self.request.url.path + (
            f"?{self.request.url.query}" if self.request.url.query else ""
        )
        return render(template, self.language, status_code, user=self.user, back=back, **context)

    def error(self, status_code: int, title: str, message: str = "") -> ConsoleError:
        return ConsoleError(status_code, title, message, self.language)

    def read(self, work: Callable[[Session], T]) -> T:
        with self.service.readers() as session:
            return work(session)

    def write(self, work: Callable[[Session], T]) -> T:
        with self.service.sessions.begin() as session:
            return work(session)


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def _form(request: Request) -> dict[str, str]:
    if request.method != "POST":
        return {}
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def visit(request: Request) -> Visit:
    """The signed-in user of this request (``NotSignedIn`` otherwise); a POST's CSRF token
    is checked here, before any route's work."""
    service = _service(request)
    now = service.clock()
    form = await _form(request)
    session_id = request.cookies.get(auth.SESSION_COOKIE)
    # The fleet page's own refresh is not the user's doing: it must not keep a session alive.
    touch = request.query_params.get("fragment") != "1"

    def look_up() -> auth.ConsoleUser | None:
        with service.sessions.begin() as session:
            return auth.current_user(session, service.settings, session_id, now, touch=touch)

    user = await run_in_threadpool(look_up)
    if user is None:
        raise NotSignedIn
    if request.method == "POST" and not auth.same_token(user.csrf_token, form.get("csrf")):
        raise ConsoleError(403, "forbidden_title", "forbidden_csrf", user.language)
    return Visit(user, form, service, now, request)


Signed = Annotated[Visit, Depends(visit)]


def _number(text: str | None, default: int | None = None) -> int:
    """A number from a path or query (404 for anything else, not a validation error)."""
    if text is not None and text.isdigit() and len(text) < 10:
        return int(text)
    if default is not None:
        return default
    raise ConsoleError(404, "not_found_title", "")


def _done(path: str, **query: str) -> RedirectResponse:
    """After a change, back to a page (POST-redirect-GET)."""
    return RedirectResponse(f"{path}?{urlencode(query)}" if query else path, status_code=303)


# --- sign-in and sign-out -------------------------------------------------------------------


def _language_of(request: Request) -> str:
    chosen = request.query_params.get("lang")
    return chosen if chosen in auth.LANGUAGES else "ja"


def _cookie_flags(service: Service) -> dict[str, Any]:
    return {
        "httponly": True,
        "samesite": "strict",
        "path": auth.COOKIE_PATH,
        "secure": service.settings.tls_certfile is not None,
    }


def _sign_in_page(
    request: Request, language: str, status_code: int = 200, **notice: Any
) -> HTMLResponse:
    """The form, with a fresh pre-session CSRF token in a cookie and a hidden field."""
    token = auth.new_token()
    context = {"notice": "", "name": "", "signed_out": False, "ended": False, **notice}
    response = render("sign_in.html", language, status_code, csrf=token, user=None, **context)
    response.set_cookie(auth.SIGN_IN_CSRF_COOKIE, token, **_cookie_flags(_service(request)))
    return response


@router.get("/sign-in")
def sign_in_form(request: Request) -> HTMLResponse:
    query = request.query_params
    return _sign_in_page(
        request, _language_of(request), signed_out=query.get("done") == "signed_out",
        ended=query.get("ended") == "1",
    )  # fmt: skip


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    service = _service(request)
    language = _language_of(request)
    form = await _form(request)
    if not auth.same_token(request.cookies.get(auth.SIGN_IN_CSRF_COOKIE), form.get("csrf")):
        return error_page(ConsoleError(403, "forbidden_title", "forbidden_csrf", language))
    name, key = form.get("name", ""), form.get("key", "")
    address = request.client.host if request.client else "unknown"
    now = service.clock()

    def check() -> auth.SignInResult:
        with service.sessions.begin() as session:
            return auth.sign_in(
                session, service.keys.audit_hmac, service.settings, name=name, key=key,
                address=address, now=now,
            )  # fmt: skip

    result = await run_in_threadpool(check)
    if result.outcome == "accepted" and result.session_id:
        response = RedirectResponse(f"{PREFIX}/fleet", status_code=303)
        response.set_cookie(auth.SESSION_COOKIE, result.session_id, **_cookie_flags(service))
        response.delete_cookie(auth.SIGN_IN_CSRF_COOKIE, path=auth.COOKIE_PATH)
        return response
    if result.outcome == "locked":
        until = views.jst(result.locked_until)
        return _sign_in_page(request, language, 429, notice="sign_in_locked", until=until,
                             name=name[:auth.MAX_NAME_LENGTH])  # fmt: skip
    return _sign_in_page(request, language, 401, notice="sign_in_refused",
                         name=name[:auth.MAX_NAME_LENGTH])  # fmt: skip


@router.post("/sign-out")
def sign_out(visit: Signed) -> Response:
    visit.write(
        lambda session: auth.sign_out(session, visit.service.keys.audit_hmac, visit.user, visit.now)
    )
    response = RedirectResponse(f"{PREFIX}/sign-in?done=signed_out", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path=auth.COOKIE_PATH)
    return response


@router.post("/language")
def language(visit: Signed) -> Response:
    chosen = visit.form.get("language", "")
    if chosen not in auth.LANGUAGES:
        raise visit.error(400, "bad_request_title")
    visit.write(lambda session: auth.set_language(session, visit.user, chosen))
    back = visit.form.get("back", "")
    # Only back to a console page: never an open redirect.
    safe = back.startswith(f"{PREFIX}/") and not back.startswith("//") and "\\" not in back
    return RedirectResponse(back if safe else f"{PREFIX}/fleet", status_code=303)


# --- the fleet ----------------------------------------------------------------------------


FILTERS = ("municipality", "store", "channel", "condition")


@router.get("/")
@router.get("/fleet")
def fleet_page(visit: Signed) -> HTMLResponse:
    query = visit.request.query_params
    chosen = {name: query.get(name) or None for name in FILTERS}
    if chosen["condition"] not in (None, *fleet.CONDITIONS):
        chosen["condition"] = None
    rows, choices = visit.read(
        lambda session: (
            fleet.fleet(
                session, visit.now, municipality=chosen["municipality"], store=chosen["store"],
                channel=chosen["channel"], condition=chosen["condition"],
            ),
            fleet.fleet_choices(session),
        )
    )  # fmt: skip
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    page = min(max(_number(query.get("page"), 1), 1), pages)
    shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    kept = {name: value for name, value in chosen.items() if value}
    context: dict[str, Any] = {
        "rows": shown, "counts": Counter(row.condition for row in rows), "total": len(rows),
        "conditions": fleet.CONDITIONS, "now": visit.now,
        "page": page, "pages": pages, "chosen": chosen, "choices": choices,
        "page_link": lambda n: f"{PREFIX}/fleet?{urlencode({**kept, 'page': n})}",
        "refresh": f"{PREFIX}/fleet?{urlencode({**kept, 'page': page, 'fragment': 1})}",
    }  # fmt: skip
    if query.get("fragment") == "1":
        response = render("fleet_fragment.html", visit.language, **context)
        response.headers["X-Console-Fragment"] = "fleet"
        return response
    return visit.page(
        "fleet.html", nav="fleet", channels=devices.CHANNELS, token_hours=TOKEN_HOURS, **context
    )


# --- a kiosk --------------------------------------------------------------------------------


def _kiosk_row(visit: Visit, kiosk_id: str) -> fleet.KioskRow:
    row = visit.read(lambda session: fleet.kiosk_row(session, kiosk_id, visit.now))
    if row is None:
        raise visit.error(404, "not_found_title")
    return row


@router.get("/kiosks/{kiosk_id}")
def kiosk_page(kiosk_id: str, visit: Signed) -> HTMLResponse:
    row = _kiosk_row(visit, kiosk_id)
    since = visit.now - dt.timedelta(days=7)
    points, kiosk_alerts = visit.read(
        lambda session: (
            fleet.history(session, kiosk_id, since),
            fleet.alerts(session, state=None, kiosk_id=kiosk_id, limit=50),
        )
    )
    return visit.page(
        "kiosk.html", nav="fleet", row=row, now=visit.now,
        charts=views.kiosk_charts(points, visit.now, visit.language), alerts=kiosk_alerts,
        channels=devices.CHANNELS, token_hours=TOKEN_HOURS,
        done=visit.request.query_params.get("done", ""),
    )  # fmt: skip


@router.get("/kiosks/{kiosk_id}/revoke")
def revoke_confirm(kiosk_id: str, visit: Signed) -> HTMLResponse:
    row = _kiosk_row(visit, kiosk_id)
    return visit.page("revoke.html", nav="fleet", row=row)


@router.post("/kiosks/{kiosk_id}/revoke")
def revoke(kiosk_id: str, visit: Signed) -> Response:
    key = visit.service.keys.audit_hmac

    def work(session: Session) -> None:
        devices.revoke(session, key, kiosk_id, now=visit.now)
        auth.record(session, key, visit.now, "console.device_revoke",
                    f"{visit.user.name}:{kiosk_id}", kiosk_id=kiosk_id)  # fmt: skip

    try:
        visit.write(work)
    except Refused as refusal:
        raise visit.error(404, "not_found_title") from refusal
    return _done(f"{PREFIX}/kiosks/{kiosk_id}", done="revoked")


@router.post("/enrollment-token")
def new_kiosk_token(visit: Signed) -> HTMLResponse:
    """A token for a kiosk not enrolled yet (the technician's new installation)."""
    return enrollment_token(visit.form.get("kiosk_id", ""), visit)


@router.post("/kiosks/{kiosk_id}/enrollment-token")
def enrollment_token(kiosk_id: str, visit: Signed) -> HTMLResponse:
    channel = visit.form.get("channel", "")
    hours = _number(visit.form.get("hours"), 0)
    if channel not in devices.CHANNELS or hours not in TOKEN_HOURS:
        raise visit.error(400, "bad_request_title")
    key, valid_for = visit.service.keys.audit_hmac, dt.timedelta(hours=hours)

    def work(session: Session) -> str:
        token = devices.create_enrollment_token(session, key, kiosk_id, channel, valid_for,
                                                visit.now)  # fmt: skip
        auth.record(session, key, visit.now, "console.enrollment_token",
                    f"{visit.user.name}:{kiosk_id}", kiosk_id=kiosk_id)  # fmt: skip
        return token

    try:
        token = visit.write(work)
    except ValueError as exc:  # a kiosk id a kiosk could not have
        raise visit.error(400, "bad_request_title") from exc
    # Shown on this response only (no-store): never in a URL, a log or a later page.
    return visit.page(
        "token.html", nav="fleet", kiosk_id=kiosk_id, token=token, channel=channel,
        expires=views.jst(visit.now + valid_for),
    )  # fmt: skip


# --- alerts ---------------------------------------------------------------------------------


@router.get("/alerts")
def alerts_page(visit: Signed) -> HTMLResponse:
    shown = "resolved" if visit.request.query_params.get("state") == "resolved" else "unresolved"
    found = visit.read(lambda session: fleet.alerts(session, state=shown))
    return visit.page("alerts.html", nav="alerts", alerts=found, shown=shown)


def _alert_step(visit: Visit, alert_id: str, step: Callable[..., object]) -> Response:
    number, key = _number(alert_id), visit.service.keys.audit_hmac
    try:
        visit.write(lambda session: step(session, key, number, visit.user.name, visit.now))
    except Refused as refusal:
        if refusal.reason.value.http_status == 404:
            raise visit.error(404, "not_found_title") from refusal
        # Somebody else handled it first: the list shows who.
    return _done(f"{PREFIX}/alerts")


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(alert_id: str, visit: Signed) -> Response:
    return _alert_step(visit, alert_id, fleet.acknowledge)


@router.post("/alerts/{alert_id}/resolve")
def resolve(alert_id: str, visit: Signed) -> Response:
    return _alert_step(visit, alert_id, fleet.resolve)


# --- the programme ------------------------------------------------------------------------


@router.get("/programme")
def programme_page(visit: Signed) -> HTMLResponse:
    cap = visit.service.settings.reservation_cap
    figures, days, suspended = visit.read(
        lambda session: (
            reporting.figures(session, cap),
            programme.cumulative_reservations(session),
            programme.suspended(session),
        )
    )
    chart = views.reservations_chart(days, cap, visit.now, visit.language)
    return visit.page(
        "programme.html", nav="programme", figures=figures, chart=chart, suspended=suspended
    )


# --- link conflicts ---------------------------------------------------------------------------


@router.get("/conflicts")
def conflicts_page(visit: Signed) -> HTMLResponse:
    found = visit.read(people.open_conflicts)
    done = _number(visit.request.query_params.get("done"), 0)
    return visit.page("conflicts.html", nav="conflicts", conflicts=found, done=done)


@router.post("/conflicts/{conflict_id}/resolve")
def resolve_conflict(conflict_id: str, visit: Signed) -> Response:
    number, keep = _number(conflict_id), visit.form.get("keep", "")
    if keep not in ("old", "new"):
        raise visit.error(400, "bad_request_title")
    key = visit.service.keys.audit_hmac

    def work(session: Session) -> None:
        conflict = people.resolve_conflict(session, key, number, keep, visit.now)
        auth.record(session, key, visit.now, "console.conflict_resolve",
                    f"{visit.user.name}:{number}:{conflict.kept_mykey_id}")  # fmt: skip

    try:
        visit.write(work)
    except Refused as refusal:
        raise visit.error(404, "not_found_title") from refusal
    return _done(f"{PREFIX}/conflicts", done=str(number))


# --- wiring ---------------------------------------------------------------------------------


def install(app: FastAPI) -> None:
    """Add the console to the service's app: its pages, its files, its error pages and its
    security headers."""
    app.include_router(router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, _error: NotSignedIn) -> Response:
        if request.method in ("GET", "HEAD"):
            ended = auth.SESSION_COOKIE in request.cookies  # there was a session: say so
            response = RedirectResponse(
                f"{PREFIX}/sign-in" + ("?ended=1" if ended else ""), status_code=303
            )
            if ended:
                response.delete_cookie(auth.SESSION_COOKIE, path=auth.COOKIE_PATH)
            return response
        refused = ConsoleError(403, "forbidden_title", "forbidden_session")
        return error_page(refused)

    @app.exception_handler(ConsoleError)
    async def _console_error(_request: Request, error: ConsoleError) -> Response:
        return error_page(error)
