"""What serve.py adds to Streamlit: HTTP routes beside the pages, and the French message shown
when a page fails.

This module must not import ``reseaux.ui`` (nor streamlit-folium): serve.py imports it before
Streamlit's runtime exists, and a component declared then would be registered nowhere (its
iframe answers 404).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reseaux.acces.sessions import COOKIE, SESSION_PATH, SESSIONS
from reseaux.annuaire.fiche_service import FICHES_PATH, MAX_ROWS, SERVICE
from reseaux.serveur.clients import client_address, is_https, same_origin
from reseaux.serveur.ratelimit import LIMITS, refusal
from reseaux.serveur.streamlit_fr import SCRIPT_PATH, script
from reseaux.stockage.errors import unavailable
from reseaux.text import md_escape

LOG = logging.getLogger("reseaux")
#: Shown instead of a trace; the browser tests look for it (and for Streamlit's own error box).
ERROR_MESSAGE = (
    "**Une erreur inattendue a interrompu cette page.** Rien n'a été enregistré par cette action. "
    "Rechargez la page ; si l'erreur revient, signalez-la à la coordination du réseau "
    "(le détail technique est dans le journal du serveur)."
)
PRIVATE = {"Cache-Control": "no-store"}


def unavailable_message(reason: str) -> str:
    """What a page says when its database does not answer (``reason``: which one, and why)."""
    return (
        f"**{md_escape(reason[:1].upper() + reason[1:])}.** Rien n'a été enregistré par cette action ; "
        "votre connexion et vos modifications en attente sont gardées. Réessayez dans un instant ; si "
        "cela dure, prévenez l'administration du serveur."
    )


def on_script_error(exc: Exception) -> bool:
    """Log ``exc`` with its traceback on the server, show :data:`ERROR_MESSAGE` — or, for a
    database that does not answer, what does not answer and that nothing is lost; True hides the
    trace."""
    import streamlit as st

    LOG.error("Erreur dans une page", exc_info=exc)
    down = unavailable(exc)
    try:
        st.error(unavailable_message(down) if down else ERROR_MESSAGE, icon=":material/error:")
    except Exception:  # noqa: BLE001 — the page is already failing: never fail twice
        pass
    return True


async def session_cookie(request: Request) -> Response:
    """POST a ticket: set the session cookie it stands for. DELETE: remove the cookie.

    Only from a page of this site (another site's page is refused: it could otherwise sign a
    visitor in under its own account, or out), Secure when the person's connection is HTTPS."""
    peer = _peer(request)
    if not same_origin(request.headers, peer):
        return _refused("Demande refusée : elle ne vient pas d'une page de ce site.", 403)
    if (limited := _over_limit(request, "session")) is not None:
        return limited
    secure = is_https(request.url.scheme, request.headers, peer)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    if request.method == "DELETE":
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
        return response
    body = await request.body()
    token = SESSIONS.redeem(body[:200].decode("ascii", "replace"))
    if token is None:
        return Response(
            "Ticket de connexion inconnu ou expiré.", status_code=403, media_type="text/plain; charset=utf-8"
        )
    # No Max-Age: a browser-session cookie; the inactivity timeout is enforced on the server.
    response.set_cookie(COOKIE, token, path="/", httponly=True, samesite="strict", secure=secure)
    return response


def _refused(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(
        message, status_code=status, media_type="text/plain; charset=utf-8", headers={**PRIVATE, **(headers or {})}
    )


def _peer(request: Request) -> str | None:
    return request.client.host if request.client else None


def _client(request: Request) -> str:
    return client_address(_peer(request), request.headers)


def _too_many(seconds: float) -> Response:
    message, retry = refusal(seconds)
    return _refused(message, 429, {"Retry-After": str(retry)})


def _over_limit(request: Request, family: str) -> Response | None:
    """A 429 answer when the request's client is over its count in ``family``, else None."""
    seconds = LIMITS.wait_for(family, _client(request))
    return _too_many(seconds) if seconds else None


def _limited(family: str) -> Callable[[Callable[[Request], Response]], Callable[[Request], Response]]:
    """Serve a (sync) route within its client's limits (see reseaux.serveur.ratelimit): count, requests
    at once, processor time — charged with what the route took."""

    def wrap(route: Callable[[Request], Response]) -> Callable[[Request], Response]:
        @functools.wraps(route)
        def guarded(request: Request) -> Response:
            try:
                return counted(request)
            except Exception as exc:  # a database that does not answer: said, not a bare 500
                down = unavailable(exc)
                if down is None:
                    raise
                LOG.warning("Route %s : %s", family, down)
                return _refused(f"{down[:1].upper() + down[1:]} : réessayez dans un instant.", 503)

        def counted(request: Request) -> Response:
            client = _client(request)
            seconds = LIMITS.admit(family, client)
            if seconds:
                return _too_many(seconds)
            start = LIMITS.work_clock()
            try:
                return route(request)
            finally:
                LIMITS.done(client, LIMITS.work_clock() - start)

        return guarded

    return wrap


def _service():
    """The fiche service, able to rebuild a token another process issued: the pages' loaders
    (reseaux.ui.loading, which sets :attr:`~reseaux.annuaire.fiche_service.FicheService.resolver`) are
    imported at the first request, once Streamlit's runtime exists, not with this module."""
    from reseaux.ui import loading  # noqa: F401 — imported for its effect: it sets the service's resolver

    return SERVICE


@_limited("fiches")
def fiches(request: Request) -> Response:
    """GET ?lignes=3,17,42: those fiches of the directory the page's token was registered with."""
    text = request.query_params.get("lignes", "")[: MAX_ROWS * 8]
    try:
        rows = [int(part) for part in text.split(",") if part.strip()]
        answer = _service().fiches(request.path_params["token"], rows)
    except (ValueError, IndexError) as exc:
        return _refused(f"Demande de fiches invalide : {exc}.", 400)
    if answer is None:
        return _refused("Page expirée : rechargez-la.", 404)
    return JSONResponse(answer, headers=PRIVATE)


@_limited("recherche")
def search(request: Request) -> Response:
    """GET ?q=texte: the rows whose name, structure or address hold every word."""
    answer = _service().search(request.path_params["token"], request.query_params.get("q", ""))
    if answer is None:
        return _refused("Page expirée : rechargez-la.", 404)
    return JSONResponse(answer, headers=PRIVATE)


@_limited("groupes")
def groups(request: Request) -> Response:
    """GET ?vue=…&bbox=ouest,sud,est,nord&zoom=z: the clusters and pins of that view of the page's
    map in that box (beyond RESEAUX_MAP_SERVER_ABOVE actors); or ?vue=…&ligne=r: where row r stands
    in it (``{}``: the filters leave it out)."""
    params = request.query_params
    token, view = request.path_params["token"], params.get("vue", "")[:64]
    try:
        if "ligne" in params:
            answer = _service().view_position(token, view, int(params["ligne"][:12]))
        else:
            bbox = [float(part) for part in params.get("bbox", "")[:200].split(",")]
            if len(bbox) != 4:
                raise ValueError("bbox : quatre nombres attendus (ouest, sud, est, nord)")
            answer = _service().groups(token, view, bbox, int(params.get("zoom", "")[:3]))
    except ValueError as exc:
        return _refused(f"Demande de regroupements invalide : {exc}.", 400)
    if answer is None:
        return _refused("Page expirée : rechargez-la.", 404)
    return JSONResponse(answer, headers=PRIVATE)


def routes() -> list[BaseRoute]:
    """The routes Réseaux adds to Streamlit's own (sync ones run in a worker thread)."""
    return [
        Route(SESSION_PATH, session_cookie, methods=["POST", "DELETE"]),
        Route(FICHES_PATH + "/{token}/fiches", fiches, methods=["GET"]),
        Route(FICHES_PATH + "/{token}/recherche", search, methods=["GET"]),
        Route(FICHES_PATH + "/{token}/groupes", groups, methods=["GET"]),
        Route(SCRIPT_PATH, script, methods=["GET"]),
    ]
