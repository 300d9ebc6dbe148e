"""The operators' console (``/console``): a server-rendered web view of the fleet of
kiosks, their alerts, the programme's figures and the link conflicts, for operators signed
in with a console or admin credential. ``pages.install(app)`` adds it to the service; see
docs/console.md."""
