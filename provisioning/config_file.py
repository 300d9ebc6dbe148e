"""The kiosk's configuration file (TOML): written by ``enroll``, read by the other
commands with a clear word about what is wrong with it, and the technician PIN's hash
taken out by ``decommission``.

The file holds plain ``name = value`` lines, one per setting of ``kiosk/settings.py``;
``KIOSK_*`` environment variables override it, as everywhere.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tomllib
from pathlib import Path

from pydantic import ValidationError

from kiosk.settings import KioskSettings, load_kiosk_settings
from mynapoint.private_files import write_private
from provisioning.errors import ProvisioningError

SettingValue = str | int | float | bool | Path


def render_config(values: dict[str, SettingValue | None], *, written_by: str) -> str:
    """The TOML text for ``values`` (None: left out, the default applies)."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# The Mynapoint kiosk's settings, written by {written_by} on {stamp}.",
        "# Any setting of kiosk/settings.py may be added; KIOSK_<NAME> variables override.",
    ]
    lines += [f"{name} = {_toml(value)}" for name, value in values.items() if value is not None]
    return "\n".join(lines) + "\n"


def _toml(value: SettingValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # A JSON string is a TOML basic string (the same escapes; UTF-8 kept as it is).
    return json.dumps(str(value), ensure_ascii=False)


def read_settings(config: Path) -> KioskSettings:
    """The kiosk's settings from ``config`` and the environment; a ProvisioningError
    naming the file and its problem when it cannot be read."""
    try:
        text = config.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ProvisioningError(
            f"no kiosk configuration at {config}: enroll this kiosk first (kiosk-provision "
            "enroll), or name its file with --config"
        ) from None
    except IsADirectoryError:
        raise ProvisioningError(
            f"{config} is a directory, not a kiosk configuration: name the TOML file "
            "itself with --config"
        ) from None
    except PermissionError:
        raise ProvisioningError(
            f"cannot read {config}: permission denied; run as root or as the kiosk's user"
        ) from None
    except UnicodeDecodeError:
        raise ProvisioningError(
            f"{config} is not a kiosk configuration (not UTF-8 text): check the file, or "
            "enroll again with --force to rewrite it"
        ) from None
    except OSError as exc:
        raise ProvisioningError(f"cannot read {config}: {exc.strerror or exc}") from None
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProvisioningError(
            f"{config} is not valid TOML ({exc}): correct that line, or enroll again with "
            "--force to rewrite the file"
        ) from None
    try:
        return load_kiosk_settings(config)
    except ValidationError as exc:
        raise ProvisioningError(
            f"invalid kiosk settings in {config} (or in KIOSK_* variables): "
            f"{settings_problems(exc)}; correct them in the file"
        ) from None


def settings_problems(error: ValidationError) -> str:
    """A pydantic error as one line: ``name: problem; name: problem``."""
    problems = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]) or "settings"
        if item["type"] == "extra_forbidden":
            problems.append(f"{name}: not a kiosk setting (a typo?)")
        else:
            problems.append(f"{name}: {item['msg']}")
    return "; ".join(problems)


def remove_setting(config: Path, name: str) -> bool:
    """Take ``name`` out of the file (the rest and its comments stay); False if it was not
    there. The file keeps its owner."""
    text = config.read_text(encoding="utf-8")
    line = re.compile(rf"^\s*{re.escape(name)}\s*=.*(?:\n|$)", re.MULTILINE)
    kept = line.sub("", text)
    if kept == text:
        return False
    if name in tomllib.loads(kept):  # written another way (a table, a quoted key...)
        raise ProvisioningError(
            f"cannot take {name} out of {config} (it is not a plain 'name = value' line): "
            "delete it by hand"
        )
    stat = config.stat()
    write_private(config, kept.encode("utf-8"))
    if os.geteuid() == 0:
        os.chown(config, stat.st_uid, stat.st_gid)
    return True
