"""What the kiosk and the grant service share: the submission envelope, the signed-request
scheme that authenticates a kiosk, and the reason codes both sides show."""
