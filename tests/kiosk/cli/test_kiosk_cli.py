"""``kiosk technician-pin``: a technician makes the settings line for a new PIN; only the
hash comes out."""

from __future__ import annotations

from pathlib import Path

from kiosk.technician.pin import pin_matches
from tests.conftest import run_cli


def test_the_technician_pin_comes_out_as_a_hash_that_matches_it() -> None:
    done = run_cli("kiosk", "technician-pin", "--stdin", stdin="73915846\n")
    assert done.returncode == 0, done.stderr
    name, _, digest = done.stdout.strip().partition("=")
    assert name == "KIOSK_TECHNICIAN_PIN_HASH" and digest.startswith("scrypt$")
    assert pin_matches("73915846", digest) and not pin_matches("73915847", digest)
    assert "73915846" not in done.stdout + done.stderr


def test_a_short_technician_pin_is_refused_in_one_line() -> None:
    done = run_cli("kiosk", "technician-pin", "--stdin", stdin="1234\n")
    assert done.returncode == 1
    assert "the technician PIN is 6 to 12 digits" in done.stderr
    assert "Traceback" not in done.stderr and "1234" not in done.stdout


def test_a_broken_settings_file_is_named_in_one_line(tmp_path: Path) -> None:
    """Every kiosk tool reads the same TOML file; a typo in it is a message, not a
    traceback."""
    broken = tmp_path / "kiosk.toml"
    broken.write_text('service_url = "https://grant.example\n')  # the quote never closes
    done = run_cli("kiosk-queue", "status", "--config", str(broken))
    assert done.returncode == 1
    assert f"cannot read the kiosk settings file {broken}" in done.stderr
    assert "Traceback" not in done.stderr
