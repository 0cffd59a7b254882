"""Streamlit's own words in French: the page says it is French, and Streamlit's English becomes French.

Streamlit has no language setting: its widgets write English texts and screen-reader labels
(« Upload », « 10MB per file », « Show password », « Help for … », « Download as CSV »,
« Skip to main content »…) and its page says ``<html lang="en">``, so a screen reader reads the
French of the app with an English voice. Two pieces, served by serve.py's app:

- :class:`FrenchPage`, an ASGI middleware, rewrites Streamlit's page (the one HTML document it
  sends for every page's address): ``lang="fr"``, and a ``<script type="module">`` tag for
  :data:`SCRIPT_PATH` (a file of this site: no inline script, whatever a content policy allows);
- :func:`script` answers that address: the module ``streamlit_fr.js`` and a last line that starts
  it with the table ``streamlit_fr.json`` (:func:`script_text`); it replaces, as they appear (a
  MutationObserver), the texts and the ``aria-label``, ``title`` and ``placeholder`` values that
  the table knows — whole values only, never inside Markdown, options, chips, tables or fields,
  where the words are people's.

The table is the one place to add a string Streamlit shows in English (a new version of Streamlit
may add or reword some: tests/test_browser_french.py visits the pages and fails on any English
value of the table left, and on the patterns' leftovers).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

HERE = Path(__file__).parent
TABLE_FILE = HERE / "streamlit_fr.json"
SCRIPT_FILE = HERE / "streamlit_fr.js"
#: Relative, as Streamlit's own assets are in its page, so that it works under a base path.
SCRIPT_PATH = "/_reseaux/streamlit_fr.js"
_TAG = f'<script type="module" src=".{SCRIPT_PATH}"></script>'.encode()
_ASKED_AWAY = {b"accept-encoding", b"if-none-match", b"if-modified-since"}
_REWRITTEN = {b"content-length", b"etag", b"last-modified"}  # they describe Streamlit's page, not this one

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


@lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    """The table: ``exact`` (English → French) and ``patterns`` ([regular expression, replacement])."""
    data = json.loads(TABLE_FILE.read_text(encoding="utf-8"))
    return {"exact": data["exact"], "patterns": data["patterns"]}


@lru_cache(maxsize=1)
def script_text() -> str:
    """What the page runs: the module, then the line that starts it on the page with the table."""
    return (
        SCRIPT_FILE.read_text(encoding="utf-8")
        + f"\nstartTranslating(document, {json.dumps(table(), ensure_ascii=False)});\n"
    )


def script(_request: Request) -> Response:
    """GET :data:`SCRIPT_PATH`: the module and the table it applies (:func:`script_text`)."""
    return Response(script_text(), media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})


#: What only Streamlit's page holds: an HTML file a person downloads (a standalone map, served by
#: Streamlit's media route) is theirs, and goes out as it was made.
_STREAMLIT_PAGE = b'<div id="root"></div>'


def frenchify(page: bytes) -> bytes:
    """Streamlit's page with ``lang="fr"`` and the script's tag at the end of its head; any other
    HTML (a downloaded file) unchanged."""
    if _STREAMLIT_PAGE not in page:
        return page
    page = page.replace(b'<html lang="en">', b'<html lang="fr">', 1)
    return page.replace(b"</head>", _TAG + b"\n  </head>", 1) if _TAG not in page else page


class FrenchPage:
    """ASGI middleware: every HTML answer holding Streamlit's page goes through :func:`frenchify`
    (the map's frame, the app's routes and the static files are left as they are)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive, send) -> None:
        path = scope.get("path", "")
        if (
            scope.get("type") != "http"
            or scope.get("method") != "GET"
            or "/component/" in path
            or "/_stcore/" in path
            or "/static/" in path
            or "/_reseaux/" in path
            or "/media/" in path
        ):
            await self.app(scope, receive, send)
            return
        # Streamlit sends its page already compressed (br, zstd, gzip) to a browser that takes
        # it: asked here for the plain page, rewritten, then compressed by the gzip middleware.
        # Nor is it asked « if changed since »: its ETag names its own page, and a browser that kept
        # the English page of an earlier version would be told « 304, keep it » for ever.
        scope = {
            **scope,
            "headers": [(k, v) for k, v in scope.get("headers", []) if bytes(k).lower() not in _ASKED_AWAY],
        }
        start: Message | None = None
        body: list[bytes] = []

        async def send_french(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = {bytes(k).lower(): bytes(v) for k, v in message.get("headers", [])}
                if headers.get(b"content-type", b"").startswith(b"text/html") and b"content-encoding" not in headers:
                    start = message  # held until the whole page is read
                    return
                await send(message)
            elif start is not None:
                body.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                page = frenchify(b"".join(body))
                start["headers"] = [(k, v) for k, v in start.get("headers", []) if bytes(k).lower() not in _REWRITTEN]
                start["headers"].append((b"content-length", str(len(page)).encode()))
                await send(start)
                await send({"type": "http.response.body", "body": page})
            else:
                await send(message)

        await self.app(scope, receive, send_french)
