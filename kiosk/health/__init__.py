"""What the kiosk tells the operators about itself: the app's live state
(``live_state``), the heartbeat made from it and the queue (``heartbeat``), the alert
outbox (``alerts``), and the reporter that sends both from kiosk-sync (``reporter``).
The wire format is ``mynapoint.fleet``; docs/queue.md, "Heartbeats and alerts"."""
