"""The kiosk's link to the grant service: identity, enrolment, requests, submit."""
