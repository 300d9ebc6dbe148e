"""The slip printer in one string, as the technician types it (``--printer``)::

    file:PATH               ESC/POS bytes appended to a file (no printer: a demo)
    network:HOST[:PORT]     a printer on TCP (port 9100 unless given; [IPv6]:PORT)
    usb:VENDOR:PRODUCT      a USB printer, IDs in hex as lsusb prints them (04b8:0e15)
    serial:DEVICE[:BAUD]    a serial printer (19200 baud unless given)

``parse_printer_spec`` gives the ``printer_*`` settings; ``printer_spec_of`` the string
back from settings, for ``show``.
"""

from __future__ import annotations

import re

from kiosk.settings import KioskSettings
from provisioning.errors import ProvisioningError

PRINTER_SPECS = ("file:PATH", "network:HOST[:PORT]", "usb:VENDOR:PRODUCT", "serial:DEVICE[:BAUD]")
DEFAULT_NETWORK_PORT = 9100
USB_ID = re.compile(r"(?:0[xX])?([0-9a-fA-F]{1,4})")


def parse_printer_spec(spec: str) -> dict[str, str | int]:
    """The ``printer_*`` settings ``spec`` stands for (ProvisioningError if none)."""
    kind, _, rest = spec.strip().partition(":")
    if kind == "file" and rest:
        return {"printer_backend": "file", "printer_file": rest}
    if kind == "network" and rest:
        host, port = _host_and_port(spec, rest)
        return {"printer_backend": "network", "printer_host": host, "printer_port": port}
    if kind == "usb":
        vendor, _, product = rest.partition(":")
        ids = [USB_ID.fullmatch(part) for part in (vendor, product)]
        if all(ids):
            vendor_id, product_id = (f"{int(m.group(1), 16):04x}" for m in ids if m)
            return {
                "printer_backend": "usb",
                "printer_usb_vendor_id": vendor_id,
                "printer_usb_product_id": product_id,
            }
        raise _invalid(spec, "USB IDs are VENDOR:PRODUCT in hex, as lsusb shows: usb:04b8:0e15")
    if kind == "serial" and rest:
        device, _, baud = rest.rpartition(":")
        if device and baud.isdigit():
            return {
                "printer_backend": "serial",
                "printer_serial_device": device,
                "printer_serial_baudrate": int(baud),
            }
        return {"printer_backend": "serial", "printer_serial_device": rest}
    raise _invalid(spec, f"use one of: {', '.join(PRINTER_SPECS)}")


def _host_and_port(spec: str, rest: str) -> tuple[str, int]:
    if rest.startswith("["):  # [IPv6] or [IPv6]:PORT
        host, closed, after = rest[1:].partition("]")
        port = after.removeprefix(":")
        if not (host and closed) or (after and not after.startswith(":")):
            raise _invalid(spec, "an IPv6 address goes in brackets: network:[::1]:9100")
    elif rest.count(":") == 1:
        host, _, port = rest.partition(":")
    else:  # a host name, an IPv4 address, or a bare IPv6 address (no port)
        host, port = rest, ""
    if not port:
        return host, DEFAULT_NETWORK_PORT
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise _invalid(spec, f"the port must be a number from 1 to 65535, not {port!r}")
    return host, int(port)


def _invalid(spec: str, hint: str) -> ProvisioningError:
    return ProvisioningError(f"cannot read the printer {spec!r}: {hint}")


def printer_spec_of(settings: KioskSettings) -> str:
    """The printer of ``settings`` as a ``--printer`` string."""
    backend = settings.printer_backend
    if backend == "file":
        return f"file:{settings.printer_output_file}"
    if backend == "network":
        host = settings.printer_host
        return f"network:{f'[{host}]' if ':' in host else host}:{settings.printer_port}"
    if backend == "usb":
        vendor, product = settings.printer_usb_vendor_id, settings.printer_usb_product_id
        if vendor is None or product is None:
            return "usb (vendor and product IDs missing)"
        return f"usb:{vendor:04x}:{product:04x}"
    if backend == "serial":
        return f"serial:{settings.printer_serial_device}:{settings.printer_serial_baudrate}"
    return backend
