"""The payment services' catalog: what the kiosk offers, and how it reads IDs."""
