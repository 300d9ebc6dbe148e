"""The kiosk's touchscreen UI: the shared Kivy toolkit (theme, fonts, widgets) and the
screens built from it (one module and one .kv file per screen; ``registry`` says which
screen shows each step of the flow). Importing this package does not import Kivy."""
