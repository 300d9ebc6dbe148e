"""The commands README.md and docs/*.md show, read as a newcomer would copy them.

A command is every line of a fenced ``sh`` block (a ``# comment`` explains it; a line
ending in ``\\`` or ``|`` goes on), a ``$ `` line of a ``console`` block, a line of a plain
fenced block that starts with a project command, and inline code that starts with one.
A block opened as ```` ```sh {not-run: REASON} ```` and inline code followed by
``{not-run: REASON}`` are commands no test can run, with the reason (docs/testing.md).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import REPO

CONSOLE_SCRIPTS = frozenset(
    tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
)
PREFIXES = ("./scripts/", ".venv/bin/", "python -m ", "$kiosk/")
NOT_RUN = re.compile(r"\{not-run: ([^}]+)\}")
FENCE = re.compile(r"^```(.*)$")
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")


def docs() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


@dataclass(frozen=True)
class Shown:
    """One command as a doc shows it."""

    doc: str  # relative to the repository
    line: int  # where it starts
    text: str  # as written, comments and continuations removed
    block: int | None  # the line of its fenced block's opening, None when inline
    not_run: str | None  # why no test runs it, from the doc itself

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


def is_project_command(text: str) -> bool:
    """Whether a line or inline code is a command of this project (not a folder)."""
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    return (text.startswith(PREFIXES) or first in CONSOLE_SCRIPTS) and not text.endswith("/")


def strip_comment(line: str) -> str:
    """The line without its shell comment (a ``#`` starting a word, outside quotes)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def extract(path: Path) -> list[Shown]:
    doc = str(path.relative_to(REPO))
    shown: list[Shown] = []
    info: str | None = None  # the open fence's info string
    opened = 0
    pending, pending_line = "", 0
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fence = FENCE.match(line)
        if fence and info is None:
            info, opened = fence.group(1).strip(), number
            continue
        if info is not None and line.strip() == "```":
            info = None
            continue
        if info is None:
            for _, code in CODE_SPAN.findall(line):
                code = code.strip()
                if is_project_command(code):
                    after = line.split(f"`{code}`", 1)[1] if f"`{code}`" in line else ""
                    mark = NOT_RUN.match(after.lstrip())
                    shown.append(Shown(doc, number, code, None, mark and mark.group(1)))
            continue
        language = info.split(maxsplit=1)[0] if info else ""
        if language not in ("sh", "console", ""):
            continue
        text = strip_comment(line)
        if language == "console":
            if not text.startswith("$ "):
                continue
            text = text[2:]
        if pending:
            text = f"{pending} {text.strip()}"
        else:
            pending_line = number
        if text.endswith(("\\", "|")):
            pending = text.removesuffix("\\").rstrip()
            continue
        pending = ""
        text = text.strip()
        if not text or (language == "" and not is_project_command(text)):
            continue
        mark = NOT_RUN.search(info)
        shown.append(Shown(doc, pending_line, text, opened, mark and mark.group(1)))
    return shown


def every_shown() -> list[Shown]:
    return [command for path in docs() for command in extract(path)]


def words(text: str) -> list[str]:
    """A command's words, whichever way it reaches the console script."""
    for prefix in (".venv/bin/", "$kiosk/"):
        text = text.replace(prefix, "")
    return text.split()


def is_placeholder(word: str) -> bool:
    return re.fullmatch(r"[A-Z][A-Z_|]*[A-Z]", word) is not None


def starts(mention: list[str], command: list[str]) -> bool:
    """Whether a mention names the beginning of a command (a placeholder matches a word)."""
    return len(mention) <= len(command) and all(
        a == b or is_placeholder(a) or is_placeholder(b)
        for a, b in zip(mention, command, strict=False)
    )


def synopsis_options(text: str) -> list[str]:
    """The first word of each ``[optional part]`` of a synopsis line."""
    return [part.split()[0] for part in re.findall(r"\[([^\]]+)\]", text)]
