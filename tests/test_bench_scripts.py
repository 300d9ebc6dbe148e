"""The benchmarks docs/benchmarks.md (and the README) show start, and take the options shown.

Running them takes minutes to an hour (they are run on demand, figures in
docs/benchmarks.md); this catches what broke them silently before, such as a script named
like a module it imports (bench/queue.py shadowed the standard library's ``queue`` for
psycopg), and a doc that shows an option a benchmark no longer has.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

SHOWING = (REPO / "docs" / "benchmarks.md", REPO / "README.md")
SYNOPSIS = re.compile(r"`(\.venv/bin/python (bench/\w+\.py)(?: \[[^\]]+\])*)`")


def shown_benchmarks() -> dict[str, str]:
    """Each benchmark command the docs show (as written) -> its script."""
    return {
        command: script for doc in SHOWING for command, script in SYNOPSIS.findall(doc.read_text())
    }


SHOWN = shown_benchmarks()


def test_the_docs_show_every_benchmark() -> None:
    scripts = sorted(str(p.relative_to(REPO)) for p in (REPO / "bench").glob("*.py"))
    assert [s for s in scripts if s != "bench/__init__.py"] == sorted(set(SHOWN.values()))


@pytest.mark.parametrize("command", SHOWN, ids=SHOWN.get)
def test_a_benchmark_starts_and_takes_the_options_shown(command: str) -> None:
    script = SHOWN[command]
    shown = subprocess.run(
        [sys.executable, script, "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert shown.stdout.startswith(f"usage: {Path(script).name}")
    for option in re.findall(r"\[(--[\w-]+)", command):
        assert option in shown.stdout, f"{command}: {option} is not in\n{shown.stdout}"
