"""Where a provisioned kiosk keeps its configuration and data, and whose files they are.

As root (a kiosk being installed) the system places: ``/etc/mynapoint-kiosk/kiosk.toml``
and ``/var/lib/mynapoint-kiosk``, the files owned by the kiosk's service user (the one the
systemd units run as). Otherwise (a developer, a test) the user's own places.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from kiosk.settings import KioskSettings
from provisioning.errors import ProvisioningError

SYSTEM_CONFIG = Path("/etc/mynapoint-kiosk/kiosk.toml")
SYSTEM_DATA_DIR = Path("/var/lib/mynapoint-kiosk")
KIOSK_USER = "mynapoint-kiosk"  # the systemd units' User=


def running_as_root() -> bool:
    return os.geteuid() == 0


def default_config_path() -> Path:
    """``$KIOSK_CONFIG``, else the system's file as root, else the user's."""
    if named := os.environ.get(KioskSettings.CONFIG_ENV):
        return Path(named)
    if running_as_root():
        return SYSTEM_CONFIG
    config_home = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config_home) / "mynapoint-kiosk" / "kiosk.toml"


def default_data_dir() -> Path:
    """``$KIOSK_DATA_DIR``, else the system's directory as root, else the settings'."""
    if named := os.environ.get("KIOSK_DATA_DIR"):
        return Path(named)
    if running_as_root():
        return SYSTEM_DATA_DIR
    return Path(KioskSettings.model_fields["data_dir"].get_default(call_default_factory=True))


@dataclass(frozen=True)
class Owner:
    name: str
    uid: int
    gid: int


def file_owner(name: str | None) -> Owner | None:
    """Whom the kiosk's files go to: ``name``, else the kiosk's service user if this
    machine has one. None: leave them to whoever runs this (nothing to change)."""
    if not running_as_root():
        if name is not None and name != pwd.getpwuid(os.geteuid()).pw_name:
            raise ProvisioningError(
                f"only root can give the kiosk's files to another user (--owner {name}): "
                "run as root, or leave --owner out"
            )
        return None
    try:
        entry = pwd.getpwnam(name or KIOSK_USER)
    except KeyError:
        if name is None:
            return None  # no service user here: root keeps the files
        raise ProvisioningError(
            f"no user {name!r} on this machine (--owner): create it first (the systemd "
            f"units run as {KIOSK_USER}), or name another"
        ) from None
    return Owner(entry.pw_name, entry.pw_uid, entry.pw_gid)
