"""``kiosk-provision enroll``: a new kiosk's configuration, queue key and device identity.

Everything that can be checked is checked before the one-time token is spent (the
options, an existing enrollment, unsent items, that the files can be written); the
configuration file appears only once the service has enrolled the kiosk.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from kiosk.link.device_identity import KEY_FILE, DeviceIdentity
from kiosk.link.enrollment import enroll
from kiosk.link.service_client import InsecureServiceUrl, check_service_url
from kiosk.offline_queue.cipher import PayloadCipher
from kiosk.settings import KioskSettings
from provisioning.config_file import SettingValue, render_config, settings_problems
from provisioning.errors import ProvisioningError
from provisioning.files import StagedFile, chown_tree, private_dir
from provisioning.locations import Owner
from provisioning.printer_spec import parse_printer_spec
from provisioning.queue_state import items_to_send, queue_status

READER_KINDS = ("pcsc", "nfc", "virtual")


class _NewSettings(KioskSettings):
    """The settings being written: the options and the environment, never the
    configuration file they replace (which may be the broken one)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


@dataclass(frozen=True)
class EnrollOptions:
    service_url: str
    store_id: str
    store_name: str | None
    reader: str
    printer: str | None
    service_ca: Path | None
    config: Path
    data_dir: Path
    owner: Owner | None
    force: bool


class Enrollment:
    """One enrollment: checked when made, carried out by ``run``."""

    def __init__(self, options: EnrollOptions) -> None:
        self.options = options
        self.values = self._configured_values()
        self.settings = self._settings(self.values)
        self._refuse_to_overwrite()

    def _configured_values(self) -> dict[str, SettingValue | None]:
        options = self.options
        try:
            check_service_url(options.service_url)
        except InsecureServiceUrl as exc:
            raise ProvisioningError(f"--service {options.service_url}: {exc}") from None
        check_reader_spec(options.reader)
        printer = parse_printer_spec(options.printer) if options.printer else {}
        if "printer_file" in printer:  # the kiosk runs elsewhere than this shell
            printer["printer_file"] = str(Path(str(printer["printer_file"])).absolute())
        return {
            "service_url": options.service_url.rstrip("/"),
            "service_ca_file": options.service_ca,
            "data_dir": options.data_dir,
            "store_id": options.store_id,
            "store_name": options.store_name,
            "card_reader": options.reader,
            **printer,
        }

    @staticmethod
    def _settings(values: dict[str, SettingValue | None]) -> KioskSettings:
        # Any: the settings check and convert each value. (As dict[str, SettingValue],
        # mypy would match it against BaseSettings' own keywords: _env_file, _cli_parse_args...)
        given: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
        try:
            return _NewSettings(**given)
        except ValidationError as exc:
            raise ProvisioningError(f"invalid kiosk settings: {settings_problems(exc)}") from None

    def _refuse_to_overwrite(self) -> None:
        options = self.options
        found = []
        if (self.settings.device_dir / KEY_FILE).exists():
            found.append(f"a device key in {self.settings.device_dir}")
        if options.config.exists():
            found.append(f"a configuration at {options.config}")
        if found and not options.force:
            raise ProvisioningError(
                f"this kiosk is provisioned already ({' and '.join(found)}): to replace "
                "it, run enroll again with --force (a kiosk leaving service: kiosk-provision "
                "decommission)"
            )
        # --force replaces the identity, never citizens' submissions not yet sent.
        for data_dir in {options.data_dir, *_data_dir_in(options.config)}:
            waiting = items_to_send(queue_status(_NewSettings(data_dir=data_dir)))
            if waiting:
                raise ProvisioningError(
                    f"{waiting} submission(s) in {data_dir} have not reached the grant "
                    "service yet: run kiosk-provision decommission --drain first (it sends "
                    "them and erases the old identity), then enroll"
                )

    def run(self, token: str, technician_pin_hash: str) -> DeviceIdentity:
        """Make the directories and the queue key, enroll, then put the configuration in
        place and give everything to the kiosk's user."""
        options, owner = self.options, self.options.owner
        values = {**self.values, "technician_pin_hash": technician_pin_hash}
        private_dir(options.data_dir, owner)
        if not options.config.parent.exists():
            private_dir(options.config.parent, owner)
        staged = StagedFile(
            options.config,
            render_config(values, written_by="kiosk-provision enroll").encode(),
            owner,
        )
        try:
            _make_queue_key(self.settings)
            identity = enroll(self.settings, token)
        except BaseException:
            staged.discard()
            raise
        staged.commit()
        if owner is not None:
            chown_tree(options.data_dir, owner)
        return identity


def _make_queue_key(settings: KioskSettings) -> None:
    """Made now, whole or not at all: the kiosk never starts without its queue key (an
    existing one is kept: the queue's items are encrypted with it)."""
    try:
        PayloadCipher.load_or_create(settings.queue_key_file)
    except ValueError as exc:  # a file of the wrong size
        raise ProvisioningError(
            f"{settings.queue_key_file}: {exc}; it is not a queue key: move it away"
        ) from None


def check_reader_spec(spec: str) -> None:
    kind, _, rest = spec.partition(":")
    if kind not in READER_KINDS or (kind == "nfc" and not rest):
        raise ProvisioningError(
            f"unknown card reader {spec!r}: use pcsc, pcsc:NAME, nfc:usb, nfc:udp:HOST:PORT, "
            "virtual or virtual:PATH"
        )


def _data_dir_in(config: Path) -> list[Path]:
    """The data directory an existing configuration names (if it can be read)."""
    try:
        named = tomllib.loads(config.read_text(encoding="utf-8")).get("data_dir")
    except (OSError, ValueError):
        return []
    return [Path(named)] if isinstance(named, str) else []
