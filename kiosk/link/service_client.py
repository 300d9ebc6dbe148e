"""The kiosk's client of the grant service: enrollment, signed requests, submissions, catalog.

It refuses plain HTTP except to loopback: citizens' applications travel over TLS.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
import json
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from kiosk.link.device_identity import DeviceIdentity
from mynapoint.envelope import Envelope
from mynapoint.fleet import AlertBatch, Heartbeat
from mynapoint.mypage import StatusQuery
from mynapoint.platform_requests import PATHS, PlatformRequest
from mynapoint.request_signing import sign_request

log = logging.getLogger(__name__)


class InsecureServiceUrl(ValueError):
    pass


def check_service_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme != "http":
        raise InsecureServiceUrl(f"unsupported URL scheme in {url!r}")
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise InsecureServiceUrl(
            f"plain HTTP is allowed only to loopback, not to {host!r}: use https"
        )


def http_date(value: str | None) -> dt.datetime | None:
    """An HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime
    forms a recipient must accept), or None."""
    try:
        when = email.utils.parsedate_to_datetime(value or "")
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # The asctime form carries no zone; every HTTP-date is GMT.
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def retry_after_seconds(value: str | None, *, now: dt.datetime) -> float | None:
    """The wait a ``Retry-After`` value asks for (RFC 9110 §10.2.3): delay-seconds, or an
    HTTP-date read against ``now`` (a date past is no wait). None when there is none or it
    is neither form ("5.5", "-1", "soon"): the caller falls back to its own backoff."""
    text = (value or "").strip()
    if text.isascii() and text.isdigit():  # 1*DIGIT; float() turns a huge one into inf
        return float(text)
    when = http_date(text)
    return None if when is None else max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: Any
    headers: httpx.Headers

    def retry_after(self, now: dt.datetime) -> float | None:
        """The seconds the service asked to wait (``Retry-After``), if it did. An HTTP-date
        is read against the reply's own ``Date`` (the service's clock) when there is one: a
        kiosk whose clock is off still waits as long as it was asked to."""
        reference = http_date(self.headers.get("Date")) or now
        return retry_after_seconds(self.headers.get("Retry-After"), now=reference)


class ServiceClient:
    def __init__(
        self,
        base_url: str,
        identity: DeviceIdentity,
        *,
        http: httpx.Client | None = None,
        timeout: float = 15.0,
        ca_file: Path | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        reload_identity: Callable[[], DeviceIdentity | None] | None = None,
    ) -> None:
        check_service_url(base_url)
        self.identity = identity
        # The identity as stored now: after ``kiosk-provision rotate-key`` the service
        # refuses the key a long-running process loaded at start; that process picks up
        # the new one on its first 401 instead of failing until restarted.
        self.reload_identity = reload_identity
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        # The service's TLS certificate is checked against ca_file, or the system's CAs.
        verify = ssl.create_default_context(cafile=str(ca_file)) if ca_file else True
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout, verify=verify)

    def close(self) -> None:
        self.http.close()

    # --- requests ---------------------------------------------------------------------

    def _signed(self, method: str, path: str, payload: Any | None = None) -> Reply:
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        reply = self._send_signed(method, path, body, json_body=payload is not None)
        if reply.status_code == 401 and self._took_new_identity():
            reply = self._send_signed(method, path, body, json_body=payload is not None)
        return reply

    def _send_signed(self, method: str, path: str, body: bytes, *, json_body: bool) -> Reply:
        headers = sign_request(
            self.identity.key, self.identity.kiosk_id, method, path, body, self.clock()
        )
        if json_body:
            headers["Content-Type"] = "application/json"
        response = self.http.request(method, path, content=body, headers=headers)
        return Reply(response.status_code, _json(response), response.headers)

    def _took_new_identity(self) -> bool:
        """Whether the stored identity holds another key than the one in use (and is now
        the one in use)."""
        stored = self.reload_identity() if self.reload_identity is not None else None
        if stored is None or stored.key_pem() == self.identity.key_pem():
            return False
        log.info("the device key on disk changed (a key rotation): signing with the new one")
        self.identity = stored
        return True

    def enroll(self, token: str) -> Reply:
        """Enroll with a technician's one-time token; on success the identity is certified."""
        response = self.http.post(
            "/v1/devices/enroll", json={"token": token, "csr_pem": self.identity.csr_pem()}
        )
        reply = Reply(response.status_code, _json(response), response.headers)
        if response.status_code == 200:
            self._take_certificate(reply.body)
        return reply

    def renew(self, fresh: DeviceIdentity | None = None) -> Reply:
        """A new key (``fresh``'s, or one made here), certified by a request signed with
        the current one. On success the identity holds the new key and certificate, in
        memory only: the service accepts only the new key from now on, so a caller that
        must survive a crash keeps ``fresh`` on disk before asking."""
        fresh = fresh or DeviceIdentity.generate(self.identity.kiosk_id)
        reply = self._signed("POST", "/v1/devices/renew", {"csr_pem": fresh.csr_pem()})
        if reply.status_code == 200:
            self.identity.key = fresh.key
            self._take_certificate(reply.body)
        return reply

    def _take_certificate(self, body: dict[str, Any]) -> None:
        self.identity.kiosk_id = body["kiosk_id"]
        self.identity.certificate_pem = body["certificate_pem"]
        self.identity.ca_certificate_pem = body["ca_certificate_pem"]
        self.identity.import_public_key = body["import_public_key"]
        self.identity.channel = body.get("channel", self.identity.channel)

    def submit(self, envelope: Envelope) -> Reply:
        return self._signed("POST", "/v1/submissions", envelope.to_json())

    def submit_batch(self, envelopes: list[Envelope | dict[str, Any]]) -> Reply:
        """Many envelopes (or their JSON, as the queue keeps them); a result per item."""
        items = [e if isinstance(e, dict) else e.to_json() for e in envelopes]
        return self._signed("POST", "/v1/submissions/batch", {"items": items})

    def heartbeat(self, beat: Heartbeat) -> Reply:
        """The kiosk's state now (kiosk/health/heartbeat.py); answers its server_time."""
        return self._signed("POST", "/v1/devices/heartbeat", beat.model_dump(mode="json"))

    def alerts(self, batch: AlertBatch) -> Reply:
        """Alerts for the operators; an outcome per uuid ("recorded" or "duplicate")."""
        return self._signed("POST", "/v1/devices/alerts", batch.model_dump(mode="json"))

    def challenge(self) -> Reply:
        """A one-time challenge for the card to sign, to open My Page."""
        return self._signed("POST", "/v1/challenge", {})

    def card_status(self, query: StatusQuery) -> Reply:
        """My Page: the status of the card that signed ``query``."""
        return self._signed("POST", "/v1/status", query.model_dump())

    def platform(self, request: PlatformRequest) -> Reply:
        """A card-signed request to the MyKey platform (balances, vouchers, revocation)."""
        return self._signed("POST", PATHS[request.action], request.model_dump())

    def platform_catalog(self, etag: str | None = None) -> Reply:
        """The municipalities and facilities of the MyKey platform."""
        headers = {"If-None-Match": etag} if etag else {}
        response = self.http.get("/v1/platform/catalog", headers=headers)
        return Reply(response.status_code, _json(response), response.headers)

    def payment_services(self, etag: str | None = None) -> Reply:
        headers = {"If-None-Match": etag} if etag else {}
        response = self.http.get("/v1/payment-services", headers=headers)
        return Reply(response.status_code, _json(response), response.headers)

    def status(self) -> Reply:
        response = self.http.get("/v1/status")
        return Reply(response.status_code, _json(response), response.headers)


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return {"raw": response.text[:200]}
