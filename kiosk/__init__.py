"""Mynapoint self-service kiosk."""
