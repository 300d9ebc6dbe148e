"""Setting up a kiosk: its configuration, enrollment and systemd units (kiosk-provision)."""
