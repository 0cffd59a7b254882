"""HTTP headers that keep a page's script where it belongs, added to every answer of
serve.py's app by one ASGI middleware.

- **The map frame sends nothing away.** Streamlit draws each component (the streamlit-folium
  map) in an iframe of this site. Its document may run its own scripts (streamlit-folium runs the
  map's code inline and with ``eval``), but asks nothing of any server but this one (``connect-src
  'self'``: no ``fetch``, beacon or websocket carries a fiche elsewhere), loads no plugin and
  cannot be re-based or post a form elsewhere.
- **Every answer**: ``nosniff`` (a CSV download is never run as a page) and a referrer kept to
  this site (a fiche's address in a URL does not leak to the tiles' hosts).

Why the map frame is not sandboxed without ``allow-same-origin`` (which would stop a script in it
from reaching the page around it): tried and measured. Chromium then puts the frame in a process
of its own and, right after the page scrolls, sends clicks made on the page to that process: a
download button under the map lost one click in two in Chromium driven by Playwright; and an
opaque origin loses the browser's geolocation (« Me localiser »). The guarantee is that nothing
a person types or uploads becomes markup in the map (reseaux.markup, tested surface by surface
and in Chromium).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

#: The component iframes (streamlit-folium's map): ``/component/…``, or ``/<base>/component/…``
#: when Streamlit serves under a base path (``server.baseUrlPath``, one segment or more).
COMPONENT_SEGMENT = "/component/"
COMPONENT_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",  # streamlit-folium evaluates the map's code
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob: https:",  # the tiles
        "connect-src 'self'",  # fiches on demand, nothing else: no request carries data away
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
)
_COMMON = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]


def headers_for(path: str) -> list[tuple[bytes, bytes]]:
    """The security headers of the answer to ``path``."""
    if COMPONENT_SEGMENT in path:  # whatever the base path; a policy too many is only stricter
        return [*_COMMON, (b"content-security-policy", COMPONENT_POLICY.encode())]
    return list(_COMMON)


class SecurityHeaders:
    """ASGI middleware adding :func:`headers_for` to every HTTP answer (a header already set by
    the app is left as it is)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message.get("type") == "http.response.start":
                present = {bytes(name).lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *[(k, v) for k, v in extra if k not in present]]
            await send(message)

        await self.app(scope, receive, send_with_headers)
