"""Sign-in sessions that survive a page reload: a random token in an HttpOnly cookie.

Streamlit keeps a signed-in person in the state of one browser tab's session, lost on every
reload. Here, a successful sign-in opens a :class:`Session` kept in this server process; the
browser receives its token in a cookie set by an HTTP route of serve.py (``HttpOnly``: no
script of the page can read it, ``SameSite=Strict``: no other site can send it), and a new tab
or a reload finds the session again through ``st.context.cookies``.

The page never holds the token itself: it receives a one-time **ticket**, valid one minute,
which the route exchanges for the cookie. Sessions live in memory: a server restart signs
everyone out, which is the safe default for a small team's server; the inactivity timeout
(``RESEAUX_SESSION_MINUTES``) is checked here, on the server, not by the cookie's lifetime.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

COOKIE = "reseaux_session"
TICKET_SECONDS = 60.0


@dataclass
class Session:
    name: str
    last_seen: float
    #: What the account was when the session opened (``AccountStore.stamp``): a session whose
    #: account changed since (password, role, removal) is over.
    stamp: str = ""


def _digest(token: str) -> str:
    # Only digests are kept: a memory dump gives no usable cookie.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore:
    """Open sessions and pending tickets, safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._tickets: dict[str, tuple[str, float]] = {}

    def open(self, name: str, *, stamp: str = "", now: float | None = None) -> tuple[str, str]:
        """Open a session for account ``name`` as it is now (``stamp``); return (token, one-time ticket)."""
        now = time.time() if now is None else now
        token, ticket = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[_digest(token)] = Session(name, now, stamp)
            self._tickets[_digest(ticket)] = (token, now + TICKET_SECONDS)
            self._tickets = {k: v for k, v in self._tickets.items() if v[1] > now}
        return token, ticket

    def redeem(self, ticket: str, *, now: float | None = None) -> str | None:
        """The token a ticket stands for, once; None for an unknown, used or expired ticket."""
        now = time.time() if now is None else now
        with self._lock:
            token, expires = self._tickets.pop(_digest(ticket or ""), (None, 0.0))
        return token if token and expires > now else None

    def resume(self, token: str | None, timeout_s: float, *, stamp_of: Callable[[str], str | None] | None = None,
               now: float | None = None) -> str | None:
        """The account name of a live session (and mark it seen); None if unknown, idle too long,
        or — with ``stamp_of`` (``AccountStore.stamp``) — if its account changed or is gone."""
        if not isinstance(token, str) or not token:
            return None
        return self._alive(_digest(token), timeout_s, stamp_of, time.time() if now is None else now, touch=True)

    def key(self, token: str | None) -> str:
        """The digest a session is kept under: what a fiche token holds to ask :meth:`alive`."""
        return _digest(token) if isinstance(token, str) and token else ""

    def alive(self, key: str, timeout_s: float, *, stamp_of: Callable[[str], str | None] | None = None,
              now: float | None = None) -> bool:
        """Whether the session kept under ``key`` is still open, for the same account (not marked seen)."""
        return self._alive(key, timeout_s, stamp_of, time.time() if now is None else now, touch=False) is not None

    def _alive(self, key: str, timeout_s: float, stamp_of, now: float, *, touch: bool) -> str | None:
        with self._lock:
            session = self._sessions.get(key)
        if session is None:
            return None
        changed = stamp_of is not None and stamp_of(session.name) != session.stamp  # reads a file: unlocked
        with self._lock:
            if self._sessions.get(key) is not session:  # closed meanwhile (a sign-out, a removal)
                return None
            if changed or now - session.last_seen > timeout_s:
                self._sessions.pop(key, None)
                return None
            if touch:
                session.last_seen = now
            return session.name

    def close(self, token: str | None) -> None:
        """End a session (sign-out): its cookie no longer opens anything."""
        if token:
            with self._lock:
                self._sessions.pop(_digest(token), None)

    def close_account(self, name: str) -> None:
        """End every session of an account (removed, or its password changed)."""
        with self._lock:
            self._sessions = {k: s for k, s in self._sessions.items() if s.name != name}


#: The process's sessions: the routes of serve.py and the pages share this one store.
SESSIONS = SessionStore()
