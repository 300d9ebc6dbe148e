"""The grant service's one settings object: defaults, then a TOML file, then the environment.

Every setting can be given as ``GRANT_SERVICE_<NAME>`` in the environment or as
``<name> = ...`` in the TOML file named by ``GRANT_SERVICE_CONFIG`` (or ``--config``).
The defaults run on one machine with no set-up: SQLite in the data directory, trusting
the test CA that ``kiosk-card-sim`` makes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from mynapoint import devpaths
from mynapoint.layered_settings import LayeredSettings
from mynapoint.packaged_catalog import PACKAGED_CATALOG
from mynapoint.platform_catalog import PACKAGED_PLATFORM_CATALOG

# The simulated operators; the catalog is shared with the kiosk (``mynapoint/data``).
PACKAGE_DATA = Path(__file__).parent / "data"


class Settings(LayeredSettings):
    model_config = SettingsConfigDict(env_prefix="GRANT_SERVICE_", extra="forbid")
    CONFIG_ENV: ClassVar[str] = "GRANT_SERVICE_CONFIG"

    data_dir: Path = Field(default_factory=devpaths.grant_service_dir)
    # SQLite file in data_dir by default; postgresql+psycopg://... at scale.
    database_url: str = ""

    # --- trust in cards ---------------------------------------------------------------
    trusted_ca_files: list[Path] = Field(
        default_factory=lambda: [devpaths.test_ca_dir() / "ca-cert.pem"]
    )
    crl_max_age_hours: float = 48.0  # older than this: "cannot verify now", items stay pending
    max_queue_age_days: float = 30.0  # an envelope older than this is refused
    clock_skew_seconds: int = 300  # allowed difference for device-signed request times

    # --- the programme ----------------------------------------------------------------
    reservation_cap: int = Field(default=40_000_000, ge=0)  # budgeted for 40 million people
    catalog_file: Path = PACKAGED_CATALOG
    operator_registry_file: Path = PACKAGE_DATA / "operators.json"
    # Overrides the catalog's dates (a new edition of the programme, or a test).
    application_deadline: dt.date | None = None
    points_period_end: dt.date | None = None
    operators_unavailable: list[str] = Field(default_factory=list)
    # The MyKey platform: municipalities whose points are kept here, and the libraries and
    # facilities whose cards can be linked (mynapoint/platform_catalog.py).
    platform_catalog_file: Path = PACKAGED_PLATFORM_CATALOG

    # --- devices and secrets -------------------------------------------------------------
    admin_token_sha256: str = ""  # hex SHA-256 of the technicians' bearer token
    device_certificate_days: int = 365
    enrollment_token_hours: float = 72.0

    # --- HTTP -----------------------------------------------------------------------------
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    # A batch of 500 envelopes (about 3.2 KB each), or an export file of as many, fits.
    max_body_bytes: int = 4 * 1_048_576
    max_batch_items: int = 500
    in_flight_lease_seconds: int = 60

    # --- guessing ---------------------------------------------------------------------------
    # Wrong payment IDs or security codes before applications with that account (or card)
    # pause until the window ends.
    code_failures_per_account: int = Field(default=5, ge=1)
    code_failures_per_card: int = Field(default=10, ge=1)
    code_failure_window_hours: float = Field(default=24.0, gt=0)

    # --- concurrency and load ---------------------------------------------------------------
    # Audit chains appended to side by side: at least the writing transactions that can run
    # at once (processes x pool), or some wait for a chain.
    audit_chains: int = Field(default=64, ge=1, le=1024)
    # Database connections per process, and how long a request waits for one before it is
    # answered 503 with Retry-After instead of piling up.
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_seconds: float = Field(default=3.0, gt=0)
    # PostgreSQL: how long a statement may wait for a lock, and run at all (then 503).
    db_lock_timeout_seconds: float = Field(default=5.0, gt=0)
    db_statement_timeout_seconds: float = Field(default=30.0, gt=0)
    # Requests one process works on at once; more are answered 503 at once (load shedding).
    max_concurrent_requests: int = Field(default=64, ge=1)
    # What a 503 or 429 tells clients to wait (kiosks add jitter of their own).
    retry_after_seconds: int = Field(default=5, ge=1)
    # Behind PgBouncer in transaction mode: no server-side prepared statements and no
    # startup options (set lock_timeout and statement_timeout on the database role instead:
    # docs/deployment.md).
    db_behind_pgbouncer: bool = False

    # --- the fleet and its console ------------------------------------------------------------
    # A kiosk's history: one point per bucket, kept this long (7 days of 5 minutes: 2,016
    # rows per kiosk).
    fleet_history_bucket_minutes: int = Field(default=5, ge=1, le=60)
    fleet_history_days: float = Field(default=7.0, gt=0)
    # Console sessions end after this long unused, and this long after sign-in at most.
    console_idle_minutes: float = Field(default=30.0, gt=0)
    console_session_hours: float = Field(default=12.0, gt=0)
    # Failed sign-ins (per name, and per client address) before sign-in is locked.
    console_lockout_failures: int = Field(default=5, ge=1)
    console_lockout_minutes: float = Field(default=15.0, gt=0)

    @model_validator(mode="after")
    def _defaults_from_data_dir(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'grant-service.sqlite3'}"
        return self

    @property
    def device_ca_dir(self) -> Path:
        return self.data_dir / "device-ca"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment and ``config_file`` (default: ``GRANT_SERVICE_CONFIG``)."""
    return Settings.load(config_file, **overrides)
