"""The benchmarks the README shows start: their imports resolve and they parse arguments.

Running them takes minutes to an hour (they are run on demand, figures in the README);
this catches what broke them silently before, such as a script named like a module it
imports (bench/queue.py shadowed the standard library's ``queue`` for psycopg).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

README_BENCHES = sorted(
    set(re.findall(r"`\.venv/bin/python (bench/\w+\.py)", (REPO / "README.md").read_text()))
)


def test_the_readme_shows_every_benchmark() -> None:
    scripts = sorted(str(p.relative_to(REPO)) for p in (REPO / "bench").glob("*.py"))
    assert [s for s in scripts if s != "bench/__init__.py"] == README_BENCHES


@pytest.mark.parametrize("script", README_BENCHES)
def test_a_benchmark_starts(script: str) -> None:
    shown = subprocess.run(
        [sys.executable, script, "--help"], cwd=REPO, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert shown.stdout.startswith(f"usage: {Path(script).name}")
