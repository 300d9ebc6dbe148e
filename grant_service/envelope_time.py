"""When was an envelope made? The rule the service judges a kiosk's clock by.

Every date rule (the certificate valid and not revoked, the 24-hour wait, the application
window, a service's first day, the same day for a cancellation, charges after the
application) is judged at the envelope's ``kiosk_time``, because an envelope made during
an outage arrives days later and must be judged as of when the citizen was there. So the
kiosk's clock must not be able to move those dates. The service bounds it:

- **Fresh** envelopes (``kiosk_time`` within the allowed clock skew of the device-signed
  request that carries them, whose own time is within the skew of the service's clock)
  are judged at their time: it is as good as the service's own.
- **Queued** envelopes (older than that) were made while the kiosk was offline. Their
  time is believed only as far as it agrees with what the service knows of the kiosk:
  1. not before the kiosk's enrolment (less the skew);
  2. not older than ``max_queue_age_days`` (``rules.check_validity``: ENVELOPE_TOO_OLD);
  3. in the kiosk's order: the kiosk numbers its envelopes (``sequence``) as it makes
     them, so an envelope's time is not earlier (by more than the skew) than that of the
     kiosk's nearest envelope with a lower number, nor later than that of its nearest
     envelope with a higher number, among the envelopes the service has recorded (any
     outcome) and those in the same batch.
  An envelope that fails is rejected for good (ENVELOPE_TIME_INCONSISTENT): the kiosk's
  clock was wrong, or someone set it back; it is kept under its UUID like any rejection,
  so the citizen finds the reason on My Page, and the kiosk tells a technician.
- A cancellation is never dated before the application it cancels (``rules.cancel``).
- An envelope dated after the service's clock plus the skew is refused as
  ENVELOPE_IN_FUTURE (``pki.CardTrust.authenticate``).

What this leaves open: a kiosk that has sent nothing since time T can date an envelope
back to T (not earlier: it is checked against its last recorded envelope). A kiosk's
regular signed contact carrying its sequence counter would narrow that to its last
contact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import BigInteger, literal, select, union_all
from sqlalchemy.orm import Session

from grant_service.models import Submission

_CHUNK = 200


@dataclass(frozen=True)
class Stamp:
    """An envelope's place in its kiosk's order and its time."""

    key: str  # the envelope's UUID
    sequence: int
    time: dt.datetime


def is_fresh(time: dt.datetime, request_time: dt.datetime | None, skew: dt.timedelta) -> bool:
    return request_time is not None and abs(request_time - time) <= skew


def inconsistent(
    session: Session,
    kiosk_id: str,
    stamps: list[Stamp],
    *,
    enrolled_at: dt.datetime | None,
    request_time: dt.datetime | None,
    skew: dt.timedelta,
) -> dict[str, str]:
    """The envelopes (by key) whose time the kiosk's record contradicts, with why."""
    queued = [s for s in stamps if not is_fresh(s.time, request_time, skew)]
    if not queued:
        return {}
    found: dict[str, str] = {}
    recorded = _recorded_neighbours(session, kiosk_id, [s.sequence for s in queued])
    in_batch = sorted(stamps, key=lambda s: s.sequence)
    for stamp in queued:
        if enrolled_at is not None and stamp.time < enrolled_at - skew:
            found[stamp.key] = f"made {stamp.time:%Y-%m-%d %H:%M}, before the kiosk was enrolled"
            continue
        before, after = recorded.get(stamp.sequence, (None, None))
        lower = [s.time for s in in_batch if s.sequence < stamp.sequence][-1:]
        upper = [s.time for s in in_batch if s.sequence > stamp.sequence][:1]
        earliest = max([t for t in (before, *lower) if t is not None], default=None)
        latest = min([t for t in (after, *upper) if t is not None], default=None)
        if earliest is not None and stamp.time < earliest - skew:
            found[stamp.key] = (
                f"made {stamp.time:%Y-%m-%d %H:%M}, before an envelope the kiosk made "
                f"earlier ({earliest:%Y-%m-%d %H:%M})"
            )
        elif latest is not None and stamp.time > latest + skew:
            found[stamp.key] = (
                f"made {stamp.time:%Y-%m-%d %H:%M}, after an envelope the kiosk made "
                f"later ({latest:%Y-%m-%d %H:%M})"
            )
    return found


def _recorded_neighbours(
    session: Session, kiosk_id: str, sequences: Iterable[int]
) -> dict[int, tuple[dt.datetime | None, dt.datetime | None]]:
    """For each sequence: the time of the kiosk's recorded envelope just below it and just
    above it (two index probes each, in one statement per chunk)."""
    wanted = sorted(set(sequences))
    found: dict[int, tuple[dt.datetime | None, dt.datetime | None]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        values = union_all(*(select(literal(q, BigInteger).label("seq")) for q in chunk))
        v = values.subquery("v")
        mine = Submission.kiosk_id == kiosk_id
        before = (
            select(Submission.kiosk_time)
            .where(mine, Submission.sequence < v.c.seq)
            .order_by(Submission.sequence.desc())
            .limit(1)
            .correlate(v)
            .scalar_subquery()
        )
        after = (
            select(Submission.kiosk_time)
            .where(mine, Submission.sequence > v.c.seq)
            .order_by(Submission.sequence)
            .limit(1)
            .correlate(v)
            .scalar_subquery()
        )
        for seq, below, above in session.execute(select(v.c.seq, before, after)):
            found[int(seq)] = (below, above)
    return found
