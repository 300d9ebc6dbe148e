"""The kiosk's touchscreen UI: the shared Kivy toolkit (theme, fonts, widgets) and, later,
the screens built from it. Importing this package does not import Kivy."""
