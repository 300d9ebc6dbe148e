"""The demo: a local grant service beside the kiosk.

The only kiosk code that imports grant_service.
"""
