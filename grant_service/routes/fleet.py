"""What kiosks report about themselves: heartbeats and alerts (device-signed requests).

The rules are in ``grant_service/fleet.py``; these handlers only call them. Both answers
carry the service's time, so that a kiosk can measure how far its clock is off.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from grant_service import fleet
from grant_service.http import PROBLEMS, ServiceDep, SignedDevice
from mynapoint.fleet import AlertBatch, Heartbeat

router = APIRouter(tags=["fleet"])


class HeartbeatResult(BaseModel):
    recorded: bool  # False: not newer than the heartbeat kept (late, or sent twice)
    server_time: dt.datetime


class AlertResult(BaseModel):
    uuid: str
    outcome: Literal["recorded", "duplicate"]


class AlertBatchResult(BaseModel):
    results: list[AlertResult]
    server_time: dt.datetime


@router.post("/v1/devices/heartbeat", response_model=HeartbeatResult, responses=PROBLEMS)
def heartbeat(body: Heartbeat, device: SignedDevice, service: ServiceDep) -> HeartbeatResult:
    """The kiosk's state now; kept if newer than the one kept."""
    settings, now = service.settings, service.clock()
    with service.sessions.begin() as session:
        recorded = fleet.record_heartbeat(
            session, device, body, now=now, bucket_minutes=settings.fleet_history_bucket_minutes,
            skew=dt.timedelta(seconds=settings.clock_skew_seconds),
        )  # fmt: skip
    if recorded and service.history_sweep.due():
        with service.sessions.begin() as session:
            fleet.prune_history(session, now, dt.timedelta(days=settings.fleet_history_days))
    return HeartbeatResult(recorded=recorded, server_time=now)


@router.post("/v1/devices/alerts", response_model=AlertBatchResult, responses=PROBLEMS)
def alerts(body: AlertBatch, device: SignedDevice, service: ServiceDep) -> AlertBatchResult:
    """Alerts the kiosk raised, each kept once (a resend answers "duplicate")."""
    now = service.clock()
    with service.sessions.begin() as session:
        results = fleet.record_alerts(session, device, body, now=now)
    return AlertBatchResult(
        results=[AlertResult.model_validate(result) for result in results], server_time=now
    )
