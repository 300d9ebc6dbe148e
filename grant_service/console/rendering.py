"""How the console answers: its Jinja2 templates, its security headers, and its error pages.

Every console response (pages, fragments, redirects, errors, static files) carries the
same headers: a Content-Security-Policy that allows only the console's own files (no
inline script, no CDN), no framing, no referrer and no caching (a page may show an
enrollment token once).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grant_service.console import messages, views

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PREFIX = "/console"

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,  # a misspelt name fails the tests, not silently blank
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals.update(prefix=PREFIX, views=views)


def render(template: str, language: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page (or fragment) in ``language``; templates get ``t`` for the words."""
    html = environment.get_template(template).render(
        t=messages.translator(language), language=language, **context
    )
    return HTMLResponse(html, status_code=status_code)


class ConsoleError(Exception):
    """A page that says what went wrong (403, 404, 400), in the user's language."""

    def __init__(self, status_code: int, title: str, message: str, language: str = "ja") -> None:
        super().__init__(f"{status_code} {title}")
        self.status_code, self.title, self.message = status_code, title, message
        self.language = language


def error_page(error: ConsoleError, user: object = None) -> HTMLResponse:
    t = messages.translator(error.language)
    return render(
        "error.html", error.language, error.status_code, user=user,
        title=t(error.title), message=t(error.message) if error.message else "",
    )  # fmt: skip


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every response under ``/console``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", [])
                    if k.decode("latin-1").lower() not in _LOWER
                ]  # fmt: skip
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


_LOWER = {name.lower() for name in SECURITY_HEADERS}
