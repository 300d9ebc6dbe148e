"""Command-line tools for technicians: kiosk-card, kiosk-card-sim."""
