"""The kiosk's offline queue: every submission written durably before the slip, sent
exactly once when the grant service can be reached."""
