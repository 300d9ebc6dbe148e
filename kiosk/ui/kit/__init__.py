"""The widget kit every screen is built from: type, sizes, buttons, pads, bars."""
