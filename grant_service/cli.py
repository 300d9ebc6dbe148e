"""``grant-service``: run the central service and look after it.

    grant-service serve [--host 127.0.0.1] [--port 8700] [--database-url URL]
    grant-service migrate
    grant-service load-catalog [FILE]
    grant-service import-crl FILE
    grant-service enrollment-token --kiosk-id K --channel city_hall
    grant-service device-revoke KIOSK_ID
    grant-service admin-token | credential create --role operator --service paypay --label X
    grant-service suspend MYKEY_ID --reason ... | reinstate MYKEY_ID
    grant-service conflicts | resolve-conflict ID --keep old|new
    grant-service report
    grant-service audit-checkpoint DIR|- | audit-checkpoint --public-key
    grant-service audit-verify [--checkpoint FILE]... [--trusted-key BASE64]

Every command takes ``--config FILE`` (TOML) and ``--database-url``; the environment
(``GRANT_SERVICE_*``) works too. See ``grant_service/settings.py`` for every setting.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import ipaddress
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from cryptography.hazmat.primitives.asymmetric import ed25519
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from grant_service import (
    audit,
    catalog,
    credentials,
    crl_inbox,
    devices,
    migrate,
    municipal_points,
    people,
    pki,
    reporting,
    vouchers,
)
from grant_service.keys import DeviceCa, ServiceKeys, fingerprint, public_key_base64
from grant_service.models import ApiCredential, CrlState
from grant_service.refusals import Refused
from grant_service.settings import Settings, load_settings
from mynapoint import vouchers as voucher_codes
from mynapoint.database import make_engine, make_session_factory, read_only_sessions
from mynapoint.dates import japan_day
from mynapoint.platform_catalog import PlatformCatalog
from mynapoint.private_files import make_private_directory, write_new_file

T = TypeVar("T")

DEFAULT_PORT = 8700


def settings_options(command: Callable[..., T]) -> Callable[..., T]:
    """``--config`` and ``--database-url`` for every command, resolved into ``settings``."""

    @click.option(
        "--config", type=click.Path(dir_okay=False, path_type=Path), help="TOML settings file."
    )
    @click.option("--database-url", help="SQLAlchemy URL (default: SQLite in the data directory).")
    @functools.wraps(command)
    def wrapper(config: Path | None, database_url: str | None, **kwargs: Any) -> T:
        overrides = {"database_url": database_url} if database_url else {}
        try:
            settings = load_settings(config, **overrides)
        except ValidationError as exc:
            raise click.ClickException(f"invalid settings: {exc}") from exc
        try:
            return command(settings=settings, **kwargs)
        except OperationalError as exc:
            raise click.ClickException(f"database unavailable: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise click.ClickException(f"database error: {exc}") from exc

    return wrapper


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextlib.contextmanager
def _sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on the configured database; the connections close afterwards."""
    engine = make_engine(settings.database_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def prepare_database(settings: Settings) -> None:
    """Bring the schema up to date and load the packaged catalog if there is none."""
    make_private_directory(settings.data_dir)  # keys and the SQLite file: 0700, and 0600 each
    # The keys and the device CA are made here, before any worker starts: never twice. The
    # migrations come after the keys: one converts rows into keyed digests.
    keys = ServiceKeys.load(settings.data_dir)
    migrate.upgrade(settings.database_url, keys.account_hmac)
    DeviceCa.load_or_create(settings.device_ca_dir)
    with _sessions(settings) as sessions, sessions.begin() as session:
        audit.ensure_chains(session, keys.audit_hmac, settings.audit_chains)
        if not catalog.catalog_loaded(session):
            data = catalog.CatalogData.from_file(settings.catalog_file)
            catalog.store_catalog(session, keys.audit_hmac, data, _now())


@click.group()
def main() -> None:
    """The Mynapoint grant service: reservations (MyKey IDs) and applications."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True)
@click.option("--workers", default=1, show_default=True, help="Worker processes.")
@click.option("--tls-certfile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tls-keyfile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@settings_options
def serve(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    tls_certfile: Path | None,
    tls_keyfile: Path | None,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json). TLS is required off loopback."""
    import uvicorn

    certfile = tls_certfile or settings.tls_certfile
    keyfile = tls_keyfile or settings.tls_keyfile
    if not _is_loopback(host) and not (certfile and keyfile):
        raise click.ClickException(
            f"refusing to serve plain HTTP on {host}: outside loopback the service is served "
            "over TLS only; give --tls-certfile and --tls-keyfile (or bind 127.0.0.1)"
        )
    prepare_database(settings)
    scheme = "https" if certfile else "http"
    click.echo(f"Grant service on {scheme}://{host}:{port} (OpenAPI at /openapi.json)")
    click.echo(f"Database: {_redacted(settings.database_url)}")
    tls: dict[str, Any] = {"ssl_certfile": certfile, "ssl_keyfile": keyfile} if certfile else {}
    if workers > 1:
        # Each worker builds its settings again, from the environment.
        os.environ["GRANT_SERVICE_DATABASE_URL"] = settings.database_url
        if settings.config_file:
            os.environ["GRANT_SERVICE_CONFIG"] = str(settings.config_file)
        uvicorn.run(
            "grant_service.api:create_app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            **tls,
        )
    else:
        from grant_service.api import create_app

        uvicorn.run(create_app(settings), host=host, port=port, **tls)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _redacted(url: str) -> str:
    """The URL without its password, for printing."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


@main.command("migrate")
@settings_options
def migrate_command(settings: Settings) -> None:
    """Create or upgrade the database schema."""
    prepare_database(settings)
    click.echo(f"Schema up to date: {_redacted(settings.database_url)}")


@main.command("load-catalog")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@settings_options
def load_catalog(settings: Settings, file: Path | None) -> None:
    """Load the payment-service catalog (default: the packaged one)."""
    prepare_database(settings)
    path = file or settings.catalog_file
    try:
        data = catalog.CatalogData.from_file(path)
    except (ValidationError, ValueError) as exc:
        raise click.ClickException(f"{path} is not a valid catalog: {exc}") from exc
    with _sessions(settings) as sessions, sessions.begin() as session:
        keys = ServiceKeys.load(settings.data_dir)
        catalog.store_catalog(session, keys.audit_hmac, data, _now())
    click.echo(f"Catalog {data.version} loaded: {len(data.services)} payment services")


@main.command("import-crl")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--inbox",
    type=click.Path(file_okay=False, path_type=Path),
    help="Import every CRL dropped into this directory (oldest first), move each to "
    "imported/ or refused/, then check each CA's CRL is fresh (exit 1 if not).",
)
@settings_options
def import_crl(settings: Settings, file: Path | None, inbox: Path | None) -> None:
    """Import a JPKI CRL (DER or PEM), verified against its trusted CA."""
    if (file is None) == (inbox is None):
        raise click.UsageError("give a CRL FILE, or --inbox DIR")
    prepare_database(settings)
    trust = pki.CardTrust.from_files(settings.trusted_ca_files)
    keys = ServiceKeys.load(settings.data_dir)
    with _sessions(settings) as sessions:

        def import_one(data: bytes) -> str:
            with sessions.begin() as session:
                issuer, count = pki.import_crl(session, keys.audit_hmac, trust, data, _now())
            return f"CRL imported for {issuer}: {count} revoked certificates"

        if file is not None:
            try:
                click.echo(import_one(file.read_bytes()))
            except ValueError as exc:
                raise click.ClickException(str(exc)) from exc
            return
        assert inbox is not None
        make_private_directory(inbox)
        handled = crl_inbox.import_inbox(inbox, import_one)
        with sessions() as session:
            states = list(session.scalars(select(CrlState)))
    for item in handled:
        if item.imported:
            click.echo(f"{item.name}: {item.detail}")
        else:
            click.echo(f"{item.name}: refused (moved to refused/): {item.detail}", err=True)
    max_age = dt.timedelta(hours=settings.crl_max_age_hours)
    ages = crl_inbox.crl_ages(trust.issuers, states, _now(), max_age)
    for age in ages:
        if age.problem:
            level = "error" if age.fatal else "warning"
            click.echo(f"{level}: {age.issuer}: {age.problem}", err=True)
    if not handled:
        click.echo(f"no CRL waiting in {inbox}")
    if any(not item.imported for item in handled) or any(age.fatal for age in ages):
        sys.exit(1)


@main.command("enrollment-token")
@click.option("--kiosk-id", required=True)
@click.option("--channel", required=True, type=click.Choice(devices.CHANNELS))
@click.option("--valid-hours", type=float, help="Default: the enrollment_token_hours setting.")
@settings_options
def enrollment_token(
    settings: Settings, kiosk_id: str, channel: str, valid_hours: float | None
) -> None:
    """Make a one-time enrollment token for a kiosk (printed once, kept only as a hash)."""
    prepare_database(settings)
    hours = valid_hours or settings.enrollment_token_hours
    try:
        with _sessions(settings) as sessions, sessions.begin() as session:
            keys = ServiceKeys.load(settings.data_dir)
            token = devices.create_enrollment_token(
                session, keys.audit_hmac, kiosk_id, channel, dt.timedelta(hours=hours), _now()
            )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(token)
    click.echo(f"(one-time token for {kiosk_id}, {channel}; valid {hours:g} hours)", err=True)


@main.command("device-revoke")
@click.argument("kiosk_id")
@settings_options
def device_revoke(settings: Settings, kiosk_id: str) -> None:
    """Revoke a kiosk's enrollment: its requests get 401 from now on."""
    prepare_database(settings)
    keys = ServiceKeys.load(settings.data_dir)
    try:
        with _sessions(settings) as sessions, sessions.begin() as session:
            devices.revoke(session, keys.audit_hmac, kiosk_id, now=_now())
    except Refused as refusal:
        raise click.ClickException(refusal.detail) from refusal
    click.echo(f"Revoked {kiosk_id}")


@main.command("admin-token")
@click.option("--label", default="technicians", show_default=True)
@settings_options
def admin_token(settings: Settings, label: str) -> None:
    """Make a bearer token for technicians and programme operators (printed once)."""
    _print_token(_make_credential(settings, "admin", label, None), "admin", label)


@main.group()
def credential() -> None:
    """Bearer tokens for operators, the J-LIS feed and technicians."""


@credential.command("create")
@click.option("--role", required=True, type=click.Choice(credentials.ROLES))
@click.option("--label", required=True, help="Who holds it, e.g. the operator's name.")
@click.option("--service", "service_code", help="The payment service (operator tokens).")
@click.option(
    "--scope",
    help="The municipality code (municipality and shop tokens) or facility code (facility).",
)
@settings_options
def credential_create(
    settings: Settings, role: str, label: str, service_code: str | None, scope: str | None
) -> None:
    """Make a token (printed once; only its hash is kept)."""
    if scope is not None:
        platform = PlatformCatalog.from_file(settings.platform_catalog_file)
        known = platform.facility(scope) if role == "facility" else platform.municipality(scope)
        if known is None:
            raise click.ClickException(f"{scope!r} is not in {settings.platform_catalog_file}")
    _print_token(_make_credential(settings, role, label, service_code, scope), role, label)


@credential.command("list")
@settings_options
def credential_list(settings: Settings) -> None:
    prepare_database(settings)
    with _sessions(settings) as sessions, sessions() as session:
        for row in session.scalars(select(ApiCredential).order_by(ApiCredential.created_at)):
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            service = f" ({row.service_code or row.scope})" if row.service_code or row.scope else ""
            click.echo(f"{row.role:<10} {row.label}{service}: {state}")


@credential.command("revoke")
@click.option("--label", required=True)
@settings_options
def credential_revoke(settings: Settings, label: str) -> None:
    prepare_database(settings)
    keys = ServiceKeys.load(settings.data_dir)
    with _sessions(settings) as sessions, sessions.begin() as session:
        count = credentials.revoke(session, keys.audit_hmac, label, _now())
    click.echo(f"Revoked {count} token(s) labelled {label!r}")


def _make_credential(
    settings: Settings, role: str, label: str, service_code: str | None, scope: str | None = None
) -> str:
    prepare_database(settings)
    keys = ServiceKeys.load(settings.data_dir)
    try:
        with _sessions(settings) as sessions, sessions.begin() as session:
            return credentials.create(
                session, keys.audit_hmac, role, label, _now(), service_code=service_code,
                scope=scope,
            )  # fmt: skip
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _print_token(token: str, role: str, label: str) -> None:
    click.echo(token)
    click.echo(
        f"({role} token for {label}: shown this once; send it as 'Authorization: Bearer <token>')",
        err=True,
    )


@main.command()
@click.argument("mykey_id")
@click.option("--reason", required=True, help="Why (a leak, misuse...): kept in the audit trail.")
@settings_options
def suspend(settings: Settings, mykey_id: str, reason: str) -> None:
    """Suspend a MyKey ID: every procedure, My Page and point grants are refused."""
    _people_action(settings, lambda s, k, now: people.suspend(s, k, mykey_id, reason, now))
    click.echo(f"Suspended {mykey_id}")


@main.command()
@click.argument("mykey_id")
@settings_options
def reinstate(settings: Settings, mykey_id: str) -> None:
    """Lift a suspension."""
    _people_action(settings, lambda s, k, now: people.reinstate(s, k, mykey_id, now))
    click.echo(f"Reinstated {mykey_id}")


@main.command()
@settings_options
def conflicts(settings: Settings) -> None:
    """Re-issued cards whose new certificate already had its own MyKey ID (held)."""
    prepare_database(settings)
    with _sessions(settings) as sessions, sessions() as session:
        rows = people.open_conflicts(session)
        for row in rows:
            click.echo(
                f"#{row.id} opened {row.opened_at:%Y-%m-%d %H:%M}: old card {row.old_serial_hex} "
                f"(MyKey ID {row.old_mykey_id}) re-issued as {row.new_serial_hex}, which has "
                f"MyKey ID {row.new_mykey_id} (held)"
            )
    if not rows:
        click.echo("No open conflicts")
    else:
        click.echo("Resolve with: grant-service resolve-conflict ID --keep old|new")


@main.command("resolve-conflict")
@click.argument("conflict_id", type=int)
@click.option(
    "--keep",
    required=True,
    type=click.Choice(["old", "new"]),
    help="The MyKey ID the person keeps; the other is merged into it.",
)
@settings_options
def resolve_conflict(settings: Settings, conflict_id: int, keep: str) -> None:
    """Merge a person's two MyKey IDs into the one they keep."""
    _people_action(
        settings, lambda s, k, now: people.resolve_conflict(s, k, conflict_id, keep, now)
    )
    click.echo(f"Conflict #{conflict_id} resolved: the {keep} MyKey ID is kept")


def _people_action(
    settings: Settings, action: Callable[[Session, bytes, dt.datetime], object]
) -> None:
    prepare_database(settings)
    keys = ServiceKeys.load(settings.data_dir)
    try:
        with _sessions(settings) as sessions, sessions.begin() as session:
            action(session, keys.audit_hmac, _now())
    except Refused as refusal:
        raise click.ClickException(refusal.detail) from refusal


@main.command()
@settings_options
def report(settings: Settings) -> None:
    """Reservations, applications per service, points granted, budget cap used."""
    prepare_database(settings)
    with _sessions(settings) as sessions, sessions() as session:
        figures = reporting.figures(session, settings.reservation_cap)
    for line in reporting.lines(figures):
        click.echo(line)


# --- the audit trail ----------------------------------------------------------------------


def _open_for_audit(settings: Settings) -> ServiceKeys:
    """The schema up to date and the keys; nothing else is written. (``prepare_database``
    would re-create a deleted head and re-seal a bare genesis one: a check must not mend
    what it is checking.)"""
    make_private_directory(settings.data_dir)
    keys = ServiceKeys.load(settings.data_dir)
    migrate.upgrade(settings.database_url, keys.account_hmac)
    return keys


@contextlib.contextmanager
def audit_snapshot(settings: Settings) -> Iterator[Session]:
    """One read-only transaction that sees the database as of one moment. PostgreSQL's
    default (READ COMMITTED) would let a chain grow, under live writers, past the head read
    at the start: that would look like a broken chain."""
    engine = make_engine(settings.database_url)
    try:
        if engine.dialect.name == "postgresql":
            snapshot = engine.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            sessions = make_session_factory(snapshot)
        else:
            sessions = read_only_sessions(engine)  # SQLite's WAL: a snapshot per transaction
        with sessions.begin() as session:
            yield session
    finally:
        engine.dispose()


def _checkpoint_name(made_at: dt.datetime) -> str:
    return f"audit-checkpoint-{made_at.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"


@main.command("expire-points")
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The day to judge by (JST); default: today in Japan.",
)
@settings_options
def expire_points(settings: Settings, today: dt.datetime | None) -> None:
    """Close the point vouchers past their last day (their points go back to their lots),
    then lapse the municipal points past theirs (seed 004 #4033). Run daily
    (grant-service-points-expiry.timer); running it again the same day changes nothing."""
    prepare_database(settings)
    keys = ServiceKeys.load(settings.data_dir)
    now = _now()
    day = today.date() if today else japan_day(now)
    with _sessions(settings) as sessions, sessions.begin() as session:
        closed = vouchers.expire(session, keys.audit_hmac, day, now)
        lapsed = municipal_points.expire(session, keys.audit_hmac, day, now)
    click.echo(
        f"Expired before {day}: {closed} voucher(s) closed, {lapsed.points} point(s) of "
        f"{lapsed.lots} grant(s) lapsed"
    )


@main.command("voucher-key")
@settings_options
def voucher_key(settings: Settings) -> None:
    """Print the public key that signs point vouchers' QR codes (PEM), for shops to check
    vouchers with no network (also at GET /v1/platform/voucher-key)."""
    make_private_directory(settings.data_dir)
    key = ServiceKeys.load(settings.data_dir).voucher_key.public_key()
    click.echo(voucher_codes.public_key_pem(key).decode("ascii"), nl=False)


@main.command("audit-checkpoint")
@click.argument("destination", required=False)
@click.option(
    "--public-key",
    is_flag=True,
    help="Print the checkpoint key (base64, raw Ed25519) for auditors to pin; nothing else.",
)
@settings_options
def audit_checkpoint(settings: Settings, destination: str | None, public_key: bool) -> None:
    """Sign the heads of every audit chain, as committed now, with the service's checkpoint
    key (Ed25519), and write the checkpoint to DESTINATION: a directory (a new file there,
    named by the time: audit-checkpoint-20261205T101500Z.json; never overwrites) or - (stdout).

    Keep checkpoints off this host: against them, 'audit-verify --checkpoint FILE' finds
    a cut tail even when its head was put back to a genuine earlier state, and a wiped log.
    Refuses (exit 1) when a head's seal does not match: a checkpoint never vouches for a
    rewritten head."""
    if public_key:
        if destination is not None:
            raise click.UsageError("--public-key takes no DESTINATION")
        make_private_directory(settings.data_dir)
        click.echo(public_key_base64(ServiceKeys.load(settings.data_dir).checkpoint_key))
        return
    if destination is None:
        raise click.UsageError("give a DESTINATION: a directory, or - for stdout")
    directory = None if destination == "-" else Path(destination)
    if directory is not None and not directory.is_dir():
        raise click.ClickException(f"{directory} is not a directory")
    keys = _open_for_audit(settings)
    now = _now()
    try:
        with audit_snapshot(settings) as session:
            checkpoint = audit.make_checkpoint(session, keys.audit_hmac, keys.checkpoint_key, now)
    except audit.CheckpointInvalid as exc:
        raise click.ClickException(
            f"no checkpoint made: {exc} (see grant-service audit-verify)"
        ) from exc
    if directory is None:
        click.echo(checkpoint.to_json(), nl=False)
        where = "stdout"
    else:
        try:
            where = str(
                write_new_file(directory, _checkpoint_name(now), ".json", checkpoint.to_json())
            )
        except OSError as exc:
            raise click.ClickException(f"cannot write in {directory}: {exc}") from exc
    click.echo(
        f"Checkpoint of {len(checkpoint.heads)} chains, {checkpoint.entries} entries at "
        f"{checkpoint.made_at}, key {fingerprint(checkpoint.public_key)}: {where}",
        err=True,
    )


def _trusted_key(value: str | None, keys: ServiceKeys) -> ed25519.Ed25519PublicKey:
    """The pinned key if given, else this service's own (from its data directory)."""
    if value is None:
        return keys.checkpoint_key.public_key()
    try:
        return ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(value, validate=True))
    except ValueError:
        _checkpoint_refused("--trusted-key", "not a base64 raw Ed25519 public key")


def _read_checkpoint(path: Path, trusted: ed25519.Ed25519PublicKey) -> audit.Checkpoint:
    try:
        checkpoint = audit.Checkpoint.from_json(path.read_text(encoding="utf-8"))
        checkpoint.check_signature(trusted)
    except (OSError, UnicodeDecodeError) as exc:
        _checkpoint_refused(str(path), f"cannot read it: {exc}")
    except audit.CheckpointInvalid as exc:
        _checkpoint_refused(str(path), str(exc))
    return checkpoint


# Not 2: click exits 2 on a usage error, which must not read as a forged checkpoint.
CHECKPOINT_REFUSED = 3


def _checkpoint_refused(what: str, why: str) -> NoReturn:
    click.secho(f"CHECKPOINT REFUSED: {what}: {why}", fg="red", err=True)
    sys.exit(CHECKPOINT_REFUSED)


@main.command("audit-verify")
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoint (from audit-checkpoint) whose heads must still be in their "
    "chains. Repeat for more.",
)
@click.option(
    "--trusted-key",
    metavar="BASE64",
    help="The checkpoint key to trust, as pinned by the auditor (from "
    "'audit-checkpoint --public-key'). Default: this service's own key.",
)
@settings_options
def audit_verify(
    settings: Settings, checkpoint_files: tuple[Path, ...], trusted_key: str | None
) -> None:
    """Check every audit chain and, with --checkpoint, that each still holds what the
    checkpoint saw. Exit status 0 intact, 1 broken, 2 a checkpoint file that is not valid.

    Without a checkpoint, a chain whose tail was cut and whose head was put back to a
    genuine earlier state, or a log wiped with every head reset, verifies as intact: that
    is what checkpoints kept off the host are for."""
    keys = _open_for_audit(settings)
    trusted = _trusted_key(trusted_key, keys)
    checkpoints = [_read_checkpoint(path, trusted) for path in checkpoint_files]
    for path, checkpoint in zip(checkpoint_files, checkpoints, strict=True):
        click.echo(
            f"Checkpoint of {checkpoint.made_at}: {len(checkpoint.heads)} chains, "
            f"{checkpoint.entries} entries, key {fingerprint(checkpoint.public_key)} "
            f"({path})"
        )
    with audit_snapshot(settings) as session:
        report = audit.verify(session, keys.audit_hmac, checkpoints)
    against = (
        f"the checkpoints of {', '.join(c.made_at for c in checkpoints)}"
        if checkpoints
        else "no checkpoint"
    )
    if report.ok:
        click.echo(
            f"Audit trail intact: {report.entries} entries in {report.chains} chains, "
            f"checked against {against}"
        )
        return
    click.secho(
        f"AUDIT TRAIL BROKEN after {report.entries} good entries: {report.problem} "
        f"(checked against {against})",
        fg="red",
        err=True,
    )
    if report.entries == 0:
        click.echo(
            f"(or this database was written with another audit key than {settings.data_dir}'s)",
            err=True,
        )
    sys.exit(1)


if __name__ == "__main__":
    main()
