"""The CRL inbox: whatever fetches the JPKI CRLs on the operator's side (from J-LIS) drops
each new file into one directory, and ``grant-service import-crl --inbox DIR`` (run every
ten minutes by ``grant-service-crl-import.timer``) imports them.

    handled = import_inbox(inbox, import_one)     # oldest file first
    problems = crl_ages(trust.issuers, states, now, max_age)

Each file is imported in the order it arrived, then moved to ``imported/`` or, if it is
refused (not a CRL, a bad signature, older than the one in force), to ``refused/``:
neither is tried twice. A file being written is skipped if its name starts with a dot or
ends in ``.partial`` (write it so, then rename it). A database that does not answer
leaves the file where it is, for the next run.

The service keeps items pending once the CRL in force is older than
``crl_max_age_hours`` (48): a fetcher that stopped is a national outage in two days.
``crl_ages`` says so well before, at half that age.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from grant_service.models import CrlState

IMPORTED, REFUSED = "imported", "refused"


@dataclass(frozen=True)
class Handled:
    name: str
    imported: bool
    detail: str  # what the import said, or why it was refused


def waiting(inbox: Path) -> list[Path]:
    """The files to import, oldest first."""
    files = [
        path
        for path in inbox.iterdir()
        if path.is_file() and not path.name.startswith(".") and path.suffix != ".partial"
    ]
    return sorted(files, key=lambda path: (path.stat().st_mtime, path.name))


def import_inbox(inbox: Path, import_one: Callable[[bytes], str]) -> list[Handled]:
    """``import_one(data)`` imports one CRL and describes it, or raises ValueError to refuse
    it; any other error stops the run with the file left in place."""
    for folder in (IMPORTED, REFUSED):
        (inbox / folder).mkdir(mode=0o700, exist_ok=True)
    handled = []
    for path in waiting(inbox):
        try:
            detail = import_one(path.read_bytes())
        except ValueError as exc:
            path.rename(inbox / REFUSED / path.name)
            handled.append(Handled(path.name, False, str(exc)))
        else:
            path.rename(inbox / IMPORTED / path.name)
            handled.append(Handled(path.name, True, detail))
    return handled


@dataclass(frozen=True)
class Age:
    issuer: str
    problem: str  # "" when fresh
    fatal: bool  # items already pend (or will at once)


def crl_ages(
    issuers: Iterable[str], states: Iterable[CrlState], now: dt.datetime, max_age: dt.timedelta
) -> list[Age]:
    """For each trusted CA: is its CRL in force fresh (under half ``max_age``)?"""
    by_issuer = {state.issuer: state for state in states}
    ages = []
    for issuer in issuers:
        state = by_issuer.get(issuer)
        if state is None:
            ages.append(Age(issuer, "no CRL imported: every item of its cards pends", True))
            continue
        age = now - state.this_update
        hours = age.total_seconds() / 3600
        if age > max_age:
            problem = f"its CRL is {hours:.0f} h old: every item of its cards pends"
            ages.append(Age(issuer, problem, True))
        elif age > max_age / 2:
            limit = max_age.total_seconds() / 3600
            problem = f"its CRL is {hours:.0f} h old: items pend from {limit:.0f} h"
            ages.append(Age(issuer, problem, False))
        else:
            ages.append(Age(issuer, "", False))
    return ages
