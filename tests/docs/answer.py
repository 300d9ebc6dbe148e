"""Run a shell command on a terminal and answer its prompts, as a person at the keyboard.

``python answer.py COMMAND PROMPT ANSWER [PROMPT ANSWER ...]``: each answer is typed once
its prompt has been shown (a hidden prompt discards what was typed before it). Exits with
the command's exit status; what the terminal showed goes to stdout.
"""

from __future__ import annotations

import os
import pty
import sys
import time


def main(command: str, *exchange: str) -> int:
    pid, terminal = pty.fork()
    if pid == 0:
        os.execvp("bash", ["bash", "-c", command])  # noqa: S606 (the docs' shell command)
    shown = b""
    answers = list(zip(exchange[::2], exchange[1::2], strict=True))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if answers and answers[0][0].encode() in shown:
            prompt, answer = answers.pop(0)
            shown = shown.split(prompt.encode(), 1)[1]
            sys.stdout.buffer.write(prompt.encode() + b"\n")
            time.sleep(0.2)  # the prompt is shown before it hides what is typed
            os.write(terminal, answer.encode() + b"\n")
            continue
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # the command ended and closed the terminal
            break
        if not chunk:
            break
        shown += chunk
        if not answers:
            sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.write(shown if answers else b"")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
