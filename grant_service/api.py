"""The HTTP API: thin routes over the rules, the submission processor and the devices.

Every refusal is a JSON body with a ``reason_code`` and the citizen-facing messages;
malformed input is a 4xx, never a 500 (a database outage is 503: nobody's fault, retry).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from grant_service import devices, models, rules
from grant_service.catalog import CatalogCache
from grant_service.database import make_engine, make_session_factory
from grant_service.keys import DeviceCa, ServiceKeys
from grant_service.operators import OperatorRegistry
from grant_service.pki import CardTrust
from grant_service.refusals import Refused
from grant_service.settings import Settings
from grant_service.submissions import ItemResult, SubmissionProcessor
from mynapoint.envelope import Envelope
from mynapoint.reasons import R

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 60

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Service:
    """Everything the routes use, built once per process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    trust: CardTrust
    keys: ServiceKeys
    device_ca: DeviceCa
    catalogs: CatalogCache
    processor: SubmissionProcessor
    clock: Clock

    @classmethod
    def build(cls, settings: Settings, clock: Clock = utc_now) -> Service:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.database_url)
        sessions = make_session_factory(engine)
        trust = CardTrust.from_files(settings.trusted_ca_files)
        if not trust.issuers:
            log.warning("no trusted JPKI CA found in %s: every card will be refused",
                        settings.trusted_ca_files)  # fmt: skip
        keys = ServiceKeys.load(settings.data_dir)
        registry = OperatorRegistry.from_file(
            settings.operator_registry_file, settings.operators_unavailable
        )
        catalogs = CatalogCache(settings.application_deadline)
        processor = SubmissionProcessor(sessions, settings, trust, registry, catalogs, keys, clock)
        device_ca = DeviceCa.load_or_create(settings.device_ca_dir)
        return cls(settings, engine, sessions, trust, keys, device_ca, catalogs, processor, clock)


# --- request and response bodies ------------------------------------------------------


class Problem(BaseModel):
    reason_code: str
    message_ja: str
    message_en: str
    detail: str = ""


class EnrollRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: Annotated[str, Field(min_length=8, max_length=128)]
    csr_pem: Annotated[str, Field(min_length=1, max_length=8000)]


class RenewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    csr_pem: Annotated[str, Field(min_length=1, max_length=8000)]


class DeviceCertificate(BaseModel):
    kiosk_id: str
    channel: str
    certificate_pem: str
    ca_certificate_pem: str


class RevokeResult(BaseModel):
    kiosk_id: str
    status: str


class BatchRequest(BaseModel):
    """Envelopes of one kiosk, in kiosk order. Each item is checked on its own: a
    malformed one gets its own error result and does not hold back the others."""

    model_config = ConfigDict(extra="forbid")
    items: Annotated[
        list[dict[str, Any]],
        Field(min_length=1, description="Submission envelopes (see the Envelope schema)"),
    ]


class BatchResponse(BaseModel):
    results: list[ItemResult]


class ServiceStatus(BaseModel):
    reservations_open: bool
    applications_open: bool
    catalog_version: str
    time: str


# --- errors -----------------------------------------------------------------------------


_REASONS_BY_STATUS = {404: R.NOT_FOUND, 405: R.METHOD_NOT_ALLOWED, 413: R.BODY_TOO_LARGE}


def problem_response(refusal: Refused, status_code: int | None = None) -> JSONResponse:
    reason = refusal.reason.value
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if reason.outcome == "pending" else None
    body = Problem(
        reason_code=reason.code,
        message_ja=reason.message_ja,
        message_en=reason.message_en,
        detail=refusal.detail,
    )
    return JSONResponse(
        body.model_dump(), status_code=status_code or reason.http_status, headers=headers
    )


def _validation_detail(errors: list[Any]) -> str:
    """Where and what, never the input value (it may be a security code)."""
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


async def signed_device(request: Request) -> rules.Device:
    """The enrolled kiosk that signed this request (401 otherwise)."""
    service: Service = request.app.state.service
    body = await request.body()
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    headers = dict(request.headers)

    def check() -> rules.Device:
        with service.sessions.begin() as session:
            return devices.authenticate_request(
                session, headers, request.method, path, body,
                now=service.clock(),
                skew=dt.timedelta(seconds=service.settings.clock_skew_seconds),
            )  # fmt: skip

    return await run_in_threadpool(check)


SignedDevice = Annotated[rules.Device, Depends(signed_device)]


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


# --- the application --------------------------------------------------------------------


def create_app(settings: Settings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    service = Service.build(settings or Settings(), clock)
    app = FastAPI(
        title="Mynapoint grant service",
        version="1",
        description="Reservations (MyKey IDs) and applications from Mynapoint kiosks.",
        openapi_url="/openapi.json",
    )
    app.state.service = service
    # Bodies over the limit get 413: counted as the bytes arrive (Starlette's limiter, whose
    # error our handler turns into a problem body), and refused at once when the declared
    # Content-Length is too large (the middleware added last runs first).
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=service.settings.max_body_bytes)
    app.add_middleware(DeclaredLengthLimit, limit=service.settings.max_body_bytes)

    @app.exception_handler(Refused)
    async def _refused(_request: Request, refusal: Refused) -> JSONResponse:
        return problem_response(refusal)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        reason = _REASONS_BY_STATUS.get(error.status_code)
        if reason is None:
            return problem_response(Refused(R.MALFORMED, str(error.detail)), error.status_code)
        return problem_response(Refused(reason, str(error.detail)))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        return problem_response(Refused(R.MALFORMED, _validation_detail(list(error.errors()))))

    @app.exception_handler(OperationalError)
    async def _database_down(_request: Request, error: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", type(error.orig).__name__)
        return problem_response(Refused(R.SERVICE_BUSY))

    problems: dict[int | str, dict[str, Any]] = {
        code: {"model": Problem} for code in (400, 401, 409, 413, 422, 503)
    }

    @app.post("/v1/devices/enroll", response_model=DeviceCertificate, responses=problems)
    def enroll(body: EnrollRequest) -> DeviceCertificate:
        """Enroll a kiosk: a one-time token from a technician, and the kiosk's CSR."""
        with service.sessions.begin() as session:
            device, certificate = devices.enroll(
                session, service.device_ca, service.keys.audit_hmac, body.token, body.csr_pem,
                days=service.settings.device_certificate_days, now=service.clock(),
            )  # fmt: skip
            return _certificate_body(device.kiosk_id, device.channel, certificate, service)

    @app.post("/v1/devices/renew", response_model=DeviceCertificate, responses=problems)
    def renew(body: RenewRequest, device: SignedDevice) -> DeviceCertificate:
        """A new certificate for a new key, asked for with the current key."""
        with service.sessions.begin() as session:
            row = session.get(models.Device, device.id)
            if row is None:
                raise Refused(R.DEVICE_UNKNOWN)
            certificate = devices.renew(
                session, service.device_ca, service.keys.audit_hmac, row, body.csr_pem,
                days=service.settings.device_certificate_days, now=service.clock(),
            )  # fmt: skip
            return _certificate_body(row.kiosk_id, row.channel, certificate, service)

    @app.post("/v1/devices/{kiosk_id}/revoke", response_model=RevokeResult, responses=problems)
    def revoke(kiosk_id: str, authorization: Annotated[str, Header()] = "") -> RevokeResult:
        """Revoke a kiosk (technicians: ``Authorization: Bearer <admin token>``)."""
        _check_admin(authorization, service.settings.admin_token_sha256)
        with service.sessions.begin() as session:
            row = devices.revoke(session, service.keys.audit_hmac, kiosk_id, now=service.clock())
            return RevokeResult(kiosk_id=row.kiosk_id, status=row.status)

    @app.post(
        "/v1/submissions",
        response_model=ItemResult,
        responses={**problems, 409: {"model": ItemResult}, 422: {"model": ItemResult}},
    )
    def submit(envelope: Envelope, device: SignedDevice) -> JSONResponse:
        """One envelope. 200 accepted; 422 rejected (final) or invalid; 409 already being
        processed; 503 pending (retry later). A replay returns the first result."""
        result = service.processor.process(device, [envelope.to_json()])[0]
        return _item_response(result)

    @app.post("/v1/submissions/batch", response_model=BatchResponse, responses=problems)
    def submit_batch(batch: BatchRequest, device: SignedDevice) -> JSONResponse:
        """Many envelopes of one kiosk; a result per item, in the order sent."""
        if len(batch.items) > service.settings.max_batch_items:
            raise Refused(R.BATCH_TOO_LARGE, f"at most {service.settings.max_batch_items} items")
        results = service.processor.process(device, batch.items)
        return JSONResponse({"results": [r.to_json() for r in results]})

    @app.get("/v1/payment-services", responses={304: {"description": "Not modified"}, **problems})
    def payment_services(
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        """The catalog kiosks cache for offline use. Send ``If-None-Match`` to revalidate."""
        with service.sessions() as session:
            catalog = service.catalogs.get(session)
        etag = catalog.http_etag
        if if_none_match is not None and etag in [t.strip() for t in if_none_match.split(",")]:
            return Response(status_code=304, headers={"ETag": etag})
        return JSONResponse(catalog.public_json(), headers={"ETag": etag})

    @app.get("/v1/status", response_model=ServiceStatus)
    def status() -> ServiceStatus:
        """Whether reservations (the national budget) and applications are open now."""
        now = service.clock()
        with service.sessions() as session:
            catalog = service.catalogs.get(session)
            open_for_reservations = rules.reservations_open(
                session, service.settings.reservation_cap
            )
        day = rules.japan_day(now)
        return ServiceStatus(
            reservations_open=open_for_reservations,
            applications_open=catalog.programme.application_start
            <= day
            <= catalog.application_deadline,
            catalog_version=catalog.version,
            time=now.isoformat(),
        )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _item_response(result: ItemResult) -> JSONResponse:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if result.status == "pending" else None
    return JSONResponse(result.to_json(), status_code=result.http_status, headers=headers)


def _certificate_body(
    kiosk_id: str, channel: str, certificate: x509.Certificate, service: Service
) -> DeviceCertificate:
    return DeviceCertificate(
        kiosk_id=kiosk_id,
        channel=channel,
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        ca_certificate_pem=service.device_ca.certificate.public_bytes(
            serialization.Encoding.PEM
        ).decode("ascii"),
    )


def _check_admin(authorization: str, expected_sha256: str) -> None:
    scheme, _, token = authorization.partition(" ")
    if not expected_sha256 or scheme.lower() != "bearer" or not token:
        raise Refused(R.ADMIN_TOKEN_INVALID)
    digest = hashlib.sha256(token.encode()).hexdigest()
    if not hmac.compare_digest(digest, expected_sha256.lower()):
        raise Refused(R.ADMIN_TOKEN_INVALID)


def create_app_from_environment() -> FastAPI:
    """For ``uvicorn --factory`` with several workers: settings from the environment."""
    return create_app(Settings())
