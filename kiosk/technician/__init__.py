"""Technician mode: its PIN, and the checks it shares with kiosk-provision."""
