"""A systemd unit's seccomp rules applied to a child process by hand, for tests on machines
where systemd is not PID 1 and cannot start the unit itself. The filters are made as
systemd makes them, with libseccomp: SystemCallFilter= and SystemCallErrorNumber=,
RestrictAddressFamilies= (socket()'s first argument), and MemoryDenyWriteExecute= (no
mmap() both writable and executable, no mprotect() or shmat() to executable).

    sandbox = UnitSandbox(units.template("kiosk-sync"))
    subprocess.run([...], preexec_fn=sandbox)
"""

from __future__ import annotations

import ctypes
import errno
import re
import shutil
import socket
import subprocess
from collections.abc import Sequence


def unavailable() -> str | None:
    """Why sandboxes cannot be made here, or None."""
    if shutil.which("systemd-analyze") is None:
        return "systemd-analyze is not installed (scripts/bootstrap installs systemd)"
    try:
        ctypes.CDLL("libseccomp.so.2")
    except OSError as exc:
        return f"libseccomp is not installed: {exc}"
    return None


SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_EQ, SCMP_CMP_MASKED_EQ = 4, 7
PROT_WRITE, PROT_EXEC, SHM_EXEC = 0x2, 0x4, 0o100000


def scmp_act_errno(number: int) -> int:
    return 0x00050000 | (number & 0xFFFF)


class ScmpArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


def libseccomp() -> ctypes.CDLL:
    lib = ctypes.CDLL("libseccomp.so.2")
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
        ctypes.POINTER(ScmpArgCmp),
    ]  # fmt: skip
    return lib


def syscall_groups() -> dict[str, list[str]]:
    """systemd's system call groups (``@system-service``...), as this systemd defines them."""
    listing = subprocess.run(
        ["systemd-analyze", "syscall-filter", "--no-pager"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    groups: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in listing.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif line.startswith(" ") and current is not None:
            if not line.strip().startswith("#"):
                current.append(line.strip())
        else:
            current = None
    return groups


def expand(items: Sequence[str], groups: dict[str, list[str]]) -> set[str]:
    names: set[str] = set()
    for item in items:
        names |= expand(groups[item], groups) if item.startswith("@") else {item}
    return names


def unit_settings(text: str, key: str) -> list[str]:
    return re.findall(rf"^{key}=(.*)$", text, re.MULTILINE)


class UnitSandbox:
    """A unit's seccomp rules, for a child process (``preexec_fn``). The filters are made
    in the parent; the child only loads them."""

    def __init__(self, text: str) -> None:
        self.lib = libseccomp()
        groups = syscall_groups()
        allowed: set[str] = set()
        denied: set[str] = set()
        for value in unit_settings(text, "SystemCallFilter"):
            if value.startswith("~"):
                denied |= expand(value[1:].split(), groups)
            else:
                allowed |= expand(value.split(), groups)
        self.syscalls = allowed - denied
        errno_name = (unit_settings(text, "SystemCallErrorNumber") or ["EPERM"])[0]
        self.errno = getattr(errno, errno_name)
        self.families = [
            getattr(socket, family)
            for family in unit_settings(text, "RestrictAddressFamilies")[0].split()
        ]
        self.deny_write_execute = unit_settings(text, "MemoryDenyWriteExecute") == ["yes"]
        # The allow-list last: seccomp() itself is not on it.
        self.filters = [self._write_xor_execute()] if self.deny_write_execute else []
        self.filters.append(self._allow_list())

    def _rule(self, context: int, action: int, name: str, *compare: ScmpArgCmp) -> None:
        number = self.lib.seccomp_syscall_resolve_name(name.encode())
        if number < 0:
            return  # not a system call of this architecture
        array = (ScmpArgCmp * len(compare))(*compare) if compare else None
        added = self.lib.seccomp_rule_add_array(context, action, number, len(compare), array)
        assert added == 0, f"seccomp_rule_add({name}): {added}"

    def _allow_list(self) -> int:
        context = self.lib.seccomp_init(scmp_act_errno(self.errno))
        for name in sorted(self.syscalls - {"socket"}):
            self._rule(context, SCMP_ACT_ALLOW, name)
        for family in self.families:  # socket() for these families only
            self._rule(context, SCMP_ACT_ALLOW, "socket", ScmpArgCmp(0, SCMP_CMP_EQ, family, 0))
        return int(context)

    def _write_xor_execute(self) -> int:
        context = self.lib.seccomp_init(SCMP_ACT_ALLOW)
        refuse = scmp_act_errno(errno.EPERM)
        both = PROT_WRITE | PROT_EXEC
        self._rule(context, refuse, "mmap", ScmpArgCmp(2, SCMP_CMP_MASKED_EQ, both, both))
        for name in ("mprotect", "pkey_mprotect"):
            exec_ = ScmpArgCmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)
            self._rule(context, refuse, name, exec_)
        self._rule(context, refuse, "shmat", ScmpArgCmp(2, SCMP_CMP_MASKED_EQ, SHM_EXEC, SHM_EXEC))
        return int(context)

    def __call__(self) -> None:
        for context in self.filters:
            if self.lib.seccomp_load(context) != 0:
                raise OSError("seccomp_load failed")
