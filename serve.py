"""Réseaux served as an ASGI app (`make run` runs this file): Streamlit's pages (app.py) plus
the few HTTP routes a page cannot offer — setting the sign-in cookie, which must be HttpOnly, and
the fiches a map asks for on click — and HTTP responses compressed (gzip): Streamlit's own
scripts are otherwise sent as they are (about 5 MB for a first visit; 2 MB at gzip level 1, which
costs 0.05 s of server time where level 9 cost 0.25 s for 10 % less).

Streamlit's page says it is French and loads the script that puts Streamlit's own English in
French (``reseaux.serveur.streamlit_fr``; inside the compression, which must see the page rewritten).

Every answer carries the security headers of ``reseaux.serveur.security_headers`` (the map's frame
sends nothing to any other server).

An error that escapes a page is logged with its traceback on the server and shown to the
person in French, without the trace (see ``reseaux.serveur.web``).
"""

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware

from reseaux.serveur.clients import trusted_proxies
from reseaux.serveur.security_headers import SecurityHeaders
from reseaux.serveur.streamlit_fr import FrenchPage
from reseaux.serveur.web import on_script_error, routes

try:  # a wrong setting is said at start-up, in French, rather than at the first sign-in
    trusted_proxies()
except ValueError as exc:
    raise SystemExit(str(exc)) from None

app = st.App(
    str(Path(__file__).with_name("app.py")),
    routes=routes(),
    on_script_error=on_script_error,
    middleware=[
        Middleware(SecurityHeaders),
        Middleware(GZipMiddleware, minimum_size=1024, compresslevel=1),
        Middleware(FrenchPage),
    ],
)
