"""The HTTP API: the app, its error handling, and the routers (``grant_service/routes``).

Every refusal is a JSON body with a ``reason_code`` and the citizen-facing messages;
malformed input is a 4xx, never a 500 (a database outage is 503: nobody's fault, retry).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from grant_service.console import pages as console
from grant_service.http import (
    UNSTORABLE,
    AdmissionLimit,
    DeclaredLengthLimit,
    problem_response,
    unstorable,
)
from grant_service.refusals import Refused, validation_detail
from grant_service.routes import devices, fleet, operations, platform, public, submissions
from grant_service.service import Clock, Service
from grant_service.settings import Settings
from mynapoint import sd_notify
from mynapoint.dates import utc_now
from mynapoint.reasons import R

log = logging.getLogger(__name__)

_REASONS_BY_STATUS = {404: R.NOT_FOUND, 405: R.METHOD_NOT_ALLOWED, 413: R.BODY_TOO_LARGE}


def create_app(settings: Settings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    service = Service.build(settings or Settings(), clock)
    app = FastAPI(
        title="Mynapoint grant service",
        version="1",
        description="Reservations (MyKey IDs), applications, My Page and points for "
        "Mynapoint kiosks and payment operators.",
        openapi_url="/openapi.json",
        lifespan=_tell_systemd,
    )
    app.state.service = service
    # Bodies over the limit get 413: counted as the bytes arrive (Starlette's limiter, whose
    # error our handler turns into a problem body), and refused at once when the declared
    # Content-Length is too large (the middleware added last runs first).
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=service.settings.max_body_bytes)
    app.add_middleware(DeclaredLengthLimit, limit=service.settings.max_body_bytes)
    busy_seconds = service.settings.retry_after_seconds
    app.add_middleware(
        AdmissionLimit, limit=service.settings.max_concurrent_requests, busy_seconds=busy_seconds
    )

    @app.exception_handler(Refused)
    async def _refused(_request: Request, refusal: Refused) -> JSONResponse:
        return problem_response(refusal, busy_seconds=busy_seconds)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        reason = _REASONS_BY_STATUS.get(error.status_code)
        if reason is None:
            return problem_response(Refused(R.MALFORMED, str(error.detail)), error.status_code)
        return problem_response(Refused(reason, str(error.detail)))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        return problem_response(Refused(R.MALFORMED, validation_detail(error.errors())))

    @app.exception_handler(OperationalError)
    async def _database_down(_request: Request, error: OperationalError) -> JSONResponse:
        # Down, or saturated: a lock or a statement waited longer than allowed.
        log.error("database unavailable or saturated: %s", type(error.orig).__name__)
        return problem_response(Refused(R.SERVICE_BUSY), busy_seconds=busy_seconds)

    @app.exception_handler(PoolTimeout)
    async def _no_connection(_request: Request, _error: PoolTimeout) -> JSONResponse:
        log.warning("no database connection free in time: answered busy")
        detail = "no database connection free in time"
        return problem_response(Refused(R.SERVICE_BUSY, detail), busy_seconds=busy_seconds)

    @app.exception_handler(StatementError)
    async def _unstorable(_request: Request, error: StatementError) -> JSONResponse:
        if not unstorable(error):
            raise error  # a server error, as before (an OperationalError has its own handler)
        # The driver's message may quote the value: it stays in the log.
        log.warning("a value the database cannot store: %s", type(error.orig).__name__)
        return problem_response(Refused(R.MALFORMED, UNSTORABLE))

    for module in (devices, fleet, submissions, public, operations, platform):
        app.include_router(module.router)
    console.install(app)  # the operators' web console, /console (docs/console.md)
    return app


@asynccontextmanager
async def _tell_systemd(_app: FastAPI) -> AsyncIterator[None]:
    """READY=1 once this worker serves (grant-service.service is Type=notify with
    NotifyAccess=all: uvicorn's workers are children of the unit's main process). The first
    worker up makes the unit active; the listening socket is open before any worker starts,
    so nothing is refused meanwhile. A worker uvicorn starts again later just repeats it."""
    sd_notify.notify("READY=1", f"STATUS=serving (worker {os.getpid()} up)")
    yield


def create_app_from_environment() -> FastAPI:
    """For ``uvicorn --factory`` with several workers: settings from the environment."""
    return create_app(Settings())
