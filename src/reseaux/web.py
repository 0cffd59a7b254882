"""What serve.py adds to Streamlit: HTTP routes beside the pages, and the French message shown
when a page fails.

This module must not import ``reseaux.ui`` (nor streamlit-folium): serve.py imports it before
Streamlit's runtime exists, and a component declared then would be registered nowhere (its
iframe answers 404).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reseaux.fiche_service import MAX_ROWS, SERVICE
from reseaux.sessions import COOKIE, SESSIONS

LOG = logging.getLogger("reseaux")
#: Shown instead of a trace; the browser tests look for it (and for Streamlit's own error box).
ERROR_MESSAGE = ("**Une erreur inattendue a interrompu cette page.** Rien n'a été enregistré par cette action. "
                 "Rechargez la page ; si l'erreur revient, signalez-la à la coordination du réseau "
                 "(le détail technique est dans le journal du serveur).")
SESSION_PATH = "/_reseaux/session"
#: Fiches on demand (see reseaux.fiche_service): /_reseaux/carte/<token>/fiches?lignes=… and /recherche?q=…
FICHES_PATH = "/_reseaux/carte"
PRIVATE = {"Cache-Control": "no-store"}


def on_script_error(exc: Exception) -> bool:
    """Log ``exc`` with its traceback on the server, show :data:`ERROR_MESSAGE`; True hides the trace."""
    import streamlit as st

    LOG.error("Erreur dans une page", exc_info=exc)
    try:
        st.error(ERROR_MESSAGE, icon=":material/error:")
    except Exception:  # noqa: BLE001 — the page is already failing: never fail twice
        pass
    return True


async def session_cookie(request: Request) -> Response:
    """POST a ticket: set the session cookie it stands for. DELETE: remove the cookie."""
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    if request.method == "DELETE":
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response
    body = await request.body()
    token = SESSIONS.redeem(body[:200].decode("ascii", "replace"))
    if token is None:
        return Response("Ticket de connexion inconnu ou expiré.", status_code=403,
                        media_type="text/plain; charset=utf-8")
    # No Max-Age: a browser-session cookie; the inactivity timeout is enforced on the server.
    response.set_cookie(COOKIE, token, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


def _refused(message: str, status: int) -> Response:
    return Response(message, status_code=status, media_type="text/plain; charset=utf-8", headers=PRIVATE)


def fiches(request: Request) -> Response:
    """GET ?lignes=3,17,42: those fiches of the directory the page's token was registered with."""
    text = request.query_params.get("lignes", "")[:MAX_ROWS * 8]
    try:
        rows = [int(part) for part in text.split(",") if part.strip()]
        answer = SERVICE.fiches(request.path_params["token"], rows)
    except (ValueError, IndexError) as exc:
        return _refused(f"Demande de fiches invalide : {exc}.", 400)
    if answer is None:
        return _refused("Page expirée : rechargez-la.", 404)
    return JSONResponse(answer, headers=PRIVATE)


def search(request: Request) -> Response:
    """GET ?q=texte: the rows whose name, structure or address hold every word."""
    answer = SERVICE.search(request.path_params["token"], request.query_params.get("q", ""))
    if answer is None:
        return _refused("Page expirée : rechargez-la.", 404)
    return JSONResponse(answer, headers=PRIVATE)


def routes() -> list[BaseRoute]:
    """The routes Réseaux adds to Streamlit's own (sync ones run in a worker thread)."""
    return [Route(SESSION_PATH, session_cookie, methods=["POST", "DELETE"]),
            Route(FICHES_PATH + "/{token}/fiches", fiches, methods=["GET"]),
            Route(FICHES_PATH + "/{token}/recherche", search, methods=["GET"])]
