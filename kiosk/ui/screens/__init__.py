"""The kiosk's screens, built from the widget kit (``kiosk.ui.kit``): one module and one
.kv file per screen; ``registry`` says which screen shows each step of the flow. Importing
this package does not import Kivy."""
