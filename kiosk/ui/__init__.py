"""The touch screens (Kivy): they show a view and send events, nothing more."""
