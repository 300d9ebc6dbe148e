"""The slips this kiosk issued, kept for reprints: one JSON file each (mode 0600), the
newest few hundred. A slip holds no secret (see ``receipts.model``), but its MyKey ID
and receipt numbers are the citizen's: the files are kept no longer than needed."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from mynapoint.atomic_files import replace_file
from receipts.model import Slip

KEEP = 300


class SlipArchive:
    def __init__(self, directory: Path, keep: int = KEEP) -> None:
        self.directory = directory
        self.keep = keep

    def save(self, slip: Slip) -> Path:
        """Keep ``slip`` (written aside, then renamed: a file is whole or absent)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = slip.issued_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.directory / f"slip-{stamp}-{secrets.token_hex(3)}.json"
        replace_file(path, slip.model_dump_json().encode())
        self._prune()
        return path

    def last(self, count: int = 1) -> list[Slip]:
        """The newest ``count`` slips, newest first."""
        paths = sorted(self.directory.glob("slip-*.json"), reverse=True)[:count]
        return [Slip.model_validate_json(path.read_text()) for path in paths]

    def _prune(self) -> None:
        for old in sorted(self.directory.glob("slip-*.json"), reverse=True)[self.keep :]:
            old.unlink(missing_ok=True)
