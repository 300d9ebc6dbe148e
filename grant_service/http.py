"""What every route shares: problem bodies, the body-size guard, who is calling (a kiosk
proving its device key, or a bearer token of a role), and values the database cannot
store."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError, StatementError
from starlette.types import ASGIApp, Receive, Scope, Send

from grant_service import credentials, devices, rules
from grant_service.refusals import Refused
from grant_service.service import Service
from mynapoint.reasons import R

# Retry-After: an outside party (a payment operator, the CRL) needs minutes; a busy
# service or an earlier item of the same card, seconds (``retry_after_seconds`` setting;
# kiosks add jitter of their own).
RETRY_AFTER_SECONDS = 60
BUSY_RETRY_AFTER_SECONDS = 5
_SOON = {R.SERVICE_BUSY, R.BLOCKED_BY_EARLIER_ITEM, R.IN_FLIGHT}


def retry_after(reason: R, busy_seconds: int = BUSY_RETRY_AFTER_SECONDS) -> int | None:
    """The Retry-After for a refusal: only for what is worth sending again."""
    if reason in _SOON:
        return busy_seconds
    return RETRY_AFTER_SECONDS if reason.value.outcome == "pending" else None


class Problem(BaseModel):
    reason_code: str
    message_ja: str
    message_en: str
    detail: str = ""


PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem} for code in (400, 401, 403, 404, 409, 413, 422, 503)
}


def problem_response(
    refusal: Refused,
    status_code: int | None = None,
    *,
    busy_seconds: int = BUSY_RETRY_AFTER_SECONDS,
) -> JSONResponse:
    reason = refusal.reason.value
    wait = retry_after(refusal.reason, busy_seconds)
    headers = {"Retry-After": str(wait)} if wait is not None else None
    body = Problem(
        reason_code=reason.code,
        message_ja=reason.message_ja,
        message_en=reason.message_en,
        detail=refusal.detail,
    )
    return JSONResponse(
        body.model_dump(), status_code=status_code or reason.http_status, headers=headers
    )


def unstorable(error: StatementError) -> bool:
    """Whether the database refused a value it cannot hold (PostgreSQL: a NUL in text):
    the input's fault, as a validation error would be. Validation refuses such values
    first; this is the last line of defence."""
    if isinstance(error, DataError):
        return True
    driver_errors = (sqlite3.DataError, psycopg.DataError)
    return not isinstance(error, DBAPIError) and isinstance(error.orig, driver_errors)


UNSTORABLE = "a value in this request cannot be stored"


class AdmissionLimit:
    """At most ``limit`` requests in this process at once; more are answered 503 "busy,
    retry after" at once, instead of queueing for threads and database connections while
    their clients time out and send them again (load shedding). ``/healthz`` is exempt."""

    def __init__(self, app: ASGIApp, limit: int, busy_seconds: int) -> None:
        self.app = app
        self.limit = limit
        self.busy_seconds = busy_seconds
        self.in_flight = 0  # one event loop per process: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == "/healthz":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            refusal = Refused(R.SERVICE_BUSY, f"more than {self.limit} requests at once")
            await problem_response(refusal, busy_seconds=self.busy_seconds)(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class DeclaredLengthLimit:
    """A 413 problem body, before reading anything, for a too large Content-Length."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = dict(scope.get("headers", [])).get(b"content-length", b"0")
            if not declared.isdigit() or int(declared) > self.limit:
                detail = f"the body may have at most {self.limit} bytes"
                await problem_response(Refused(R.BODY_TOO_LARGE, detail))(scope, receive, send)
                return
        await self.app(scope, receive, send)


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


async def signed_device(request: Request) -> rules.Device:
    """The enrolled kiosk that signed this request (401 otherwise)."""
    service = get_service(request)
    body = await request.body()
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    headers = dict(request.headers)

    def check() -> rules.Device:
        # Read, verify, and only then write: see ``devices.authenticate_request``.
        return devices.authenticate_request(
            service.readers, service.single_writes, headers, request.method, path, body,
            now=service.clock(), skew=dt.timedelta(seconds=service.settings.clock_skew_seconds),
            sweep=service.nonce_sweep,
        )  # fmt: skip

    return await run_in_threadpool(check)


SignedDevice = Annotated[rules.Device, Depends(signed_device)]


def bearer(role: str) -> Callable[..., Awaitable[credentials.Caller]]:
    """A dependency: the caller behind ``Authorization: Bearer``, holding ``role``."""

    async def caller(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> credentials.Caller:
        service = get_service(request)

        def check() -> credentials.Caller:
            with service.readers() as session:  # a token is checked without the write lock
                return credentials.authenticate(
                    session, authorization, role,
                    bootstrap_admin_sha256=service.settings.admin_token_sha256,
                )  # fmt: skip

        return await run_in_threadpool(check)

    return caller


Admin = Annotated[credentials.Caller, Depends(bearer("admin"))]
PaymentOperator = Annotated[credentials.Caller, Depends(bearer("operator"))]
JlisFeed = Annotated[credentials.Caller, Depends(bearer("jlis_feed"))]
MunicipalityCaller = Annotated[credentials.Caller, Depends(bearer("municipality"))]
ShopCaller = Annotated[credentials.Caller, Depends(bearer("shop"))]
FacilityCaller = Annotated[credentials.Caller, Depends(bearer("facility"))]
