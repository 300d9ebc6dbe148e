"""One settings object: defaults, then a TOML file, then the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from grant_service.settings import Settings, load_settings
from tests.conftest import run_cli


def test_defaults_run_on_one_machine_with_no_set_up(private_data_home: Path) -> None:
    settings = Settings()
    assert settings.database_url == (
        f"sqlite:///{private_data_home / 'mynapoint-grant-service' / 'grant-service.sqlite3'}"
    )
    assert settings.trusted_ca_files == [
        private_data_home / "mynapoint-kiosk" / "test-ca" / "ca-cert.pem"
    ]
    assert settings.reservation_cap == 40_000_000


def test_a_toml_file_and_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "grant-service.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\nreservation_cap = 1000\ncrl_max_age_hours = 6\n'
    )
    monkeypatch.setenv("GRANT_SERVICE_RESERVATION_CAP", "2000")  # the environment wins
    settings = load_settings(config)
    assert (settings.reservation_cap, settings.crl_max_age_hours) == (2000, 6.0)
    assert settings.database_url.endswith(f"{tmp_path / 'data'}/grant-service.sqlite3")


def test_the_cli_reads_the_config_file(tmp_path: Path) -> None:
    database = tmp_path / "from-config.sqlite3"
    config = tmp_path / "grant-service.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\ndatabase_url = "sqlite:///{database}"\n')
    result = run_cli("grant-service", "migrate", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert database.exists()


def test_a_wrong_setting_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "grant-service.toml"
    config.write_text("reservation_cap = -5\nno_such_setting = 1\n")
    result = run_cli("grant-service", "migrate", "--config", str(config))
    assert result.returncode != 0 and "invalid settings" in result.stderr
    assert "Traceback" not in result.stderr
