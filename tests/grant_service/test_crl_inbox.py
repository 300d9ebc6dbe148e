"""``grant-service import-crl --inbox``: the CRLs a fetcher drops into one directory,
imported in the order they came, each moved where the next run will not try it again,
and a CRL growing old said before the service starts to keep items pending.
(tests/systemd/ runs it from its timer's unit under a real systemd.)"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from kiosk.devices.sim.test_ca import JpkiTestCa
from mynapoint import devpaths
from tests.conftest import run_cli

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def ca(private_data_home: Path) -> JpkiTestCa:
    """The test CA the service trusts by default (its files in the test's data home)."""
    return JpkiTestCa.create(devpaths.test_ca_dir())


def drop(inbox: Path, name: str, data: bytes, arrived: dt.datetime) -> Path:
    inbox.mkdir(exist_ok=True)
    path = inbox / name
    path.write_bytes(data)
    os.utime(path, (arrived.timestamp(), arrived.timestamp()))
    return path


def crl_made(ca: JpkiTestCa, at: dt.datetime) -> bytes:
    return ca.write_crl(at).public_bytes(serialization.Encoding.DER)


def import_inbox(inbox: Path, **env: str):  # type: ignore[no-untyped-def]
    return run_cli("grant-service", "import-crl", "--inbox", str(inbox), env=env)


def test_the_inbox_is_imported_oldest_first_and_each_file_moved_once(
    ca: JpkiTestCa, tmp_path: Path
) -> None:
    inbox = tmp_path / "crl-inbox"
    drop(
        inbox, "monday.der", crl_made(ca, NOW - dt.timedelta(hours=20)), NOW - dt.timedelta(hours=3)
    )
    drop(
        inbox, "tuesday.der", crl_made(ca, NOW - dt.timedelta(hours=1)), NOW - dt.timedelta(hours=2)
    )
    drop(inbox, "garbage.der", b"not a CRL at all", NOW - dt.timedelta(hours=1))
    # Being written (a fetcher writes NAME.partial, then renames it): left alone.
    drop(inbox, "wednesday.der.partial", b"half a CRL", NOW)
    drop(inbox, ".wednesday.der", b"half a CRL", NOW)

    first = import_inbox(inbox)
    assert first.returncode == 1  # a refused file fails the run: someone must look
    assert first.stdout.splitlines()[:2] == [
        f"monday.der: CRL imported for {ca.certificate.subject.rfc4514_string()}: "
        "0 revoked certificates",
        f"tuesday.der: CRL imported for {ca.certificate.subject.rfc4514_string()}: "
        "0 revoked certificates",
    ]
    assert "garbage.der: refused (moved to refused/): not a CRL (PEM or DER)" in first.stderr
    assert sorted(p.name for p in (inbox / "imported").iterdir()) == ["monday.der", "tuesday.der"]
    assert [p.name for p in (inbox / "refused").iterdir()] == ["garbage.der"]
    left = sorted(p.name for p in inbox.iterdir() if p.is_file())
    assert left == [".wednesday.der", "wednesday.der.partial"]

    # A CRL older than the one in force is refused (a replay could hide a revocation).
    drop(inbox, "stale.der", crl_made(ca, NOW - dt.timedelta(hours=10)), NOW)
    again = import_inbox(inbox)
    assert again.returncode == 1 and "stale.der: refused" in again.stderr
    assert "is older than the imported one" in again.stderr

    (inbox / ".wednesday.der").unlink()
    (inbox / "wednesday.der.partial").unlink()
    idle = import_inbox(inbox)
    assert (idle.returncode, idle.stdout.strip()) == (0, f"no CRL waiting in {inbox}")


@pytest.mark.parametrize(
    ("age_hours", "status", "said"),
    [
        (1, 0, ""),
        (30, 0, "warning: {ca}: its CRL is 30 h old: items pend from 48 h"),
        (50, 1, "error: {ca}: its CRL is 50 h old: every item of its cards pends"),
    ],
)
def test_a_crl_growing_old_is_said_before_items_pend(
    ca: JpkiTestCa, tmp_path: Path, age_hours: int, status: int, said: str
) -> None:
    inbox = tmp_path / "crl-inbox"
    made = NOW - dt.timedelta(hours=age_hours, minutes=10)
    drop(inbox, "crl.der", crl_made(ca, made), NOW)
    done = import_inbox(inbox)
    assert done.returncode == status, done.stderr
    issuer = ca.certificate.subject.rfc4514_string()
    assert done.stderr.strip() == said.format(ca=issuer)


def test_no_crl_at_all_is_an_error(ca: JpkiTestCa, tmp_path: Path) -> None:
    done = import_inbox(tmp_path / "crl-inbox")  # made if missing, 0700
    issuer = ca.certificate.subject.rfc4514_string()
    assert done.returncode == 1
    assert f"error: {issuer}: no CRL imported: every item of its cards pends" in done.stderr
    assert (tmp_path / "crl-inbox").stat().st_mode & 0o777 == 0o700


def test_a_file_or_the_inbox_but_not_both(ca: JpkiTestCa, tmp_path: Path) -> None:
    for args in ([], ["--inbox", str(tmp_path), str(devpaths.test_ca_dir() / "crl.der")]):
        done = run_cli("grant-service", "import-crl", *args)
        assert done.returncode == 2 and "give a CRL FILE, or --inbox DIR" in done.stderr
