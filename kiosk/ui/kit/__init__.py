"""The widget kit every screen is built from: theme and fonts, ``ui`` (style), translator,
labels, buttons, pads, bars; one module each, each with its own .kv rules."""
