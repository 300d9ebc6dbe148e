"""The kiosk's one settings object: defaults, then a TOML file, then the environment.

Every setting can be given as ``KIOSK_<NAME>`` in the environment or as ``<name> = ...``
in the TOML file named by ``KIOSK_CONFIG`` or ``--config`` (provisioning writes it).
The defaults run on one machine with no set-up: a virtual card, the queue and the device
identity under the data directory, a grant service on loopback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from kiosk.devices.barcode_scanner import parse_scanner_setting
from mynapoint import contact, devpaths
from mynapoint.layered_settings import LayeredSettings

ReaderLocation = Literal["right_of_screen", "below_screen", "left_of_screen", "handheld"]


class KioskSettings(LayeredSettings):
    model_config = SettingsConfigDict(env_prefix="KIOSK_", extra="forbid")
    CONFIG_ENV: ClassVar[str] = "KIOSK_CONFIG"

    data_dir: Path = Field(default_factory=lambda: devpaths.data_home() / "mynapoint-kiosk")
    card_reader: str = "virtual"
    # Where the card reader is, as a citizen facing the screen sees it: the place-card
    # screen says and draws it. "handheld": a small reader on a cable (it also gets the
    # tip not to lay it on metal).
    reader_location: ReaderLocation = "right_of_screen"

    # --- the grant service -------------------------------------------------------------
    service_url: str = "http://127.0.0.1:8700"
    service_ca_file: Path | None = None  # the service's TLS CA, if not a public one
    online_timeout_seconds: float = 3.0  # the submit path waits this long, then queues

    # --- the offline queue and its sync ---------------------------------------------------
    sync_interval_seconds: float = 5.0
    sync_timeout_seconds: float = 30.0  # a batch takes longer than one envelope
    sync_batch_size: int = Field(default=500, ge=1, le=500)  # the service takes 500
    backoff_initial_seconds: float = 2.0
    backoff_max_seconds: float = 300.0  # also caps the wait a busy service asks for
    # A busy service (429, 503 with Retry-After) is its load, not the kiosk's fault: a
    # technician alert only when it has lasted this long without a break.
    busy_alert_after_seconds: float = 1800.0
    retention_days: float = 30.0  # acknowledged rows are kept this long, then pruned
    queue_max_pages: int | None = None  # caps the queue file (SQLite pages of 4 KiB)
    # New submissions are refused (clearly) below this much free disk: draining the queue
    # needs room too, and a kiosk whose disk filled up must still be able to send.
    queue_min_free_mib: float = 16.0
    # Of that reserve, this much is held in a file (queue.ballast) that only the sync
    # deletes, when the disk is full: room to open the queue and send in small batches.
    queue_ballast_mib: float = Field(default=4.0, ge=0)

    # --- the slip printer (python-escpos back ends) ------------------------------------
    # "file" (the embedded default: ESC/POS bytes appended to a file), "network" (a
    # printer on TCP, usually port 9100), "usb", "serial", or "dummy" (kept in memory).
    printer_backend: Literal["file", "network", "usb", "serial", "dummy"] = "file"
    printer_file: Path | None = None  # default: <data_dir>/printer.bin
    printer_host: str = "127.0.0.1"
    printer_port: int = 9100
    printer_usb_vendor_id: int | None = None
    printer_usb_product_id: int | None = None
    printer_serial_device: str = "/dev/ttyUSB0"
    printer_serial_baudrate: int = 19200
    printer_timeout_seconds: float = 2.0  # for connecting and for a status reply
    printer_profile: str = "default"  # a python-escpos capabilities profile
    # Japanese-model printers print Kanji-mode text (Shift_JIS); others get a raster image.
    printer_kanji: bool = False
    # Also keep every slip printed as a PNG here (the demo's "printer"; a technician's
    # record of what came out). None: only the printer.
    slip_png_dir: Path | None = None
    paper_width_mm: int = 80  # 58 or 80 (an int, not a Literal: "80" from the environment)
    slip_large_type: bool = False  # city-hall kiosks for elderly users

    # --- the barcode scanner (library cards, city hall) ---------------------------------
    # A scanner in serial mode (kiosk/devices/barcode_scanner.py): "" or "none" (no
    # scanner: the number is typed), "serial:/dev/ttyACM0" (USB CDC-ACM; RS-232 adapters
    # are /dev/ttyUSB0; a /dev/serial/by-id/ name survives re-plugging), or
    # "serial:/dev/ttyACM0@115200" for another baud rate than 9600.
    barcode_scanner: str = ""

    # --- the session ---------------------------------------------------------------------
    # Idle time before a session ends (a 20-second countdown comes first); city-hall
    # terminals serve elderly citizens who need longer.
    idle_timeout_convenience_store_seconds: float = 90.0
    idle_timeout_city_hall_seconds: float = 180.0
    # A card left on the reader after "take your card" this long calls staff (city hall)
    # or blocks new sessions until it is taken (convenience store).
    card_left_seconds: float = 30.0
    # scrypt hash of the technician PIN (kiosk.technician.pin.hash_pin); none: mode closed.
    technician_pin_hash: str | None = None
    # Help texts of city-hall terminals (the counter to visit for a locked PIN or an
    # expired certificate).
    counter_ja: str = "市区町村のマイナンバーカード窓口"
    counter_en: str = "the My Number Card counter of your municipal office"

    # --- the voice (kiosk/voice/) ----------------------------------------------------------
    voice_enabled: bool = True  # off: no sound and no sound controls on the screens
    # A store is noisy but the next customer stands close; a city hall is quieter, and
    # its citizens are older. 0 to 1 of the speaker's level.
    voice_volume_convenience_store: float = Field(default=0.7, ge=0, le=1)
    voice_volume_city_hall: float = Field(default=1.0, ge=0, le=1)
    # A kiosk with a headset jack: the sound is private, so the PIN screen also says how
    # its pad is laid out (never a digit).
    voice_headset: bool = False
    # The speech made at start-up and after (default: <data_dir>/voice-cache).
    voice_cache_dir: Path | None = None

    # --- what the slip says of this kiosk ----------------------------------------------
    # Which store (or office) this kiosk stands in, in the operator's own numbering: for
    # the operator's reports and the technician's ``kiosk-provision show``.
    store_id: str | None = None
    store_name: str = "マイナポイント手続スポット"
    # The contact line's hours differ between the seeds (17:00 or 17:30 on weekends): the
    # newer one (seed 001, 2021) says 17:00.
    contact_hours_ja: str = contact.HOURS_JA
    contact_hours_en: str = contact.HOURS_EN

    # --- the fleet: heartbeats and alerts (kiosk/health/) -------------------------------
    # The municipality the kiosk stands in, as the operators' console groups kiosks.
    municipality: str = ""
    # A heartbeat at least this often (sooner when something that matters changes); the
    # service calls a kiosk silent after 3 intervals without one.
    heartbeat_interval_seconds: int = Field(default=60, ge=5, le=3600)
    # The oldest unsent item waiting this long raises a QUEUE_STUCK alert (once).
    queue_stuck_alert_minutes: float = Field(default=30.0, gt=0)

    @field_validator("printer_usb_vendor_id", "printer_usb_product_id", mode="before")
    @classmethod
    def _usb_id_in_hex(cls, value: object) -> object:
        """USB IDs as ``lsusb`` prints them ("04b8", or "0x04b8"): text is hexadecimal."""
        if isinstance(value, str):
            try:
                return int(value.removeprefix("0x").removeprefix("0X"), 16)
            except ValueError:
                problem = f"{value!r} is not a USB ID (hex digits, as lsusb shows)"
                raise ValueError(problem) from None
        return value

    @field_validator("barcode_scanner")
    @classmethod
    def _known_scanner(cls, value: str) -> str:
        parse_scanner_setting(value)  # ValueError, with the accepted forms, for a wrong one
        return value.strip()

    @field_validator("paper_width_mm")
    @classmethod
    def _known_paper(cls, width: int) -> int:
        if width not in (58, 80):
            raise ValueError("paper_width_mm must be 58 or 80")
        return width

    @property
    def printer_output_file(self) -> Path:
        return self.printer_file or self.data_dir / "printer.bin"

    @property
    def queue_database(self) -> Path:
        return self.data_dir / "queue.sqlite3"

    @property
    def queue_key_file(self) -> Path:
        return self.data_dir / "queue.key"

    @property
    def queue_ballast_file(self) -> Path:
        return self.data_dir / "queue.ballast"

    @property
    def live_state_file(self) -> Path:
        """What the kiosk app is doing now (kiosk/health/live_state.py), for kiosk-sync."""
        return self.data_dir / "live-state.json"

    @property
    def sync_lock_file(self) -> Path:
        return self.data_dir / "sync.lock"

    @property
    def device_dir(self) -> Path:
        return self.data_dir / "device"

    @property
    def voice_cache(self) -> Path:
        return self.voice_cache_dir or self.data_dir / "voice-cache"


def load_kiosk_settings(config_file: Path | None = None, **overrides: Any) -> KioskSettings:
    """Settings from the environment and ``config_file`` (default: ``KIOSK_CONFIG``)."""
    return KioskSettings.load(config_file, **overrides)
