"""Sign-in sessions that survive a page reload: a random token in an HttpOnly cookie.

Streamlit keeps a signed-in person in the state of one browser tab's session, lost on every
reload. Here, a successful sign-in opens a session, kept in the file all the server processes share; the
browser receives its token in a cookie set by an HTTP route of serve.py (``HttpOnly``: no
script of the page can read it, ``SameSite=Strict``: no other site can send it), and a new tab
or a reload finds the session again through ``st.context.cookies``.

The page never holds the token itself: it receives a one-time **ticket**, valid one minute,
which the route exchanges for the cookie. Sessions and tickets live in the shared file of
:mod:`reseaux.acces.shared`, so every process serving the same data knows them: a cookie given through
one process opens the session in another, and a sign-out, a password or role changed, an account
removed through one close it in all, at their next request. Only digests are stored: a session
under the SHA-256 of its token, a ticket under the SHA-256 of the ticket, with the token it stands
for sealed by a key drawn from the ticket (only the page holding the ticket can open it). Sessions
survive a restart of the server (a process restarted by its supervisor, or one of two stopped
for an update, signs nobody out); the inactivity timeout (``RESEAUX_SESSION_MINUTES``) is checked
here, on the server, against the last request any process saw, not by the cookie's lifetime.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable

from reseaux import config
from reseaux.acces import shared

COOKIE = "reseaux_session"
#: Where the page posts a sign-in's ticket (and sends DELETE at sign-out) for the cookie (reseaux.serveur.web).
SESSION_PATH = "/_reseaux/session"
TICKET_SECONDS = 60.0


def _digest(token: str) -> str:
    # Only digests are kept: a copy of the shared file gives no usable cookie.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _seal(token: bytes, ticket: str) -> str:
    """``token`` (32 bytes) hidden by a key only the holder of ``ticket`` can draw (a one-time pad:
    the key is a hash of a secret of the same strength, used once)."""
    key = hashlib.sha256(b"reseaux-ticket:" + ticket.encode("utf-8")).digest()
    return bytes(a ^ b for a, b in zip(token, key, strict=True)).hex()


def _unseal(sealed: str, ticket: str) -> str:
    return base64.urlsafe_b64encode(bytes.fromhex(_seal(bytes.fromhex(sealed), ticket))).rstrip(b"=").decode("ascii")


class SessionStore:
    """Open sessions and pending tickets, in the file every process of the data shares."""

    def open(self, name: str, *, stamp: str = "", now: float | None = None) -> tuple[str, str]:
        """Open a session for account ``name`` as it is now (``stamp``); return (token, one-time ticket)."""
        now = time.time() if now is None else now
        raw, ticket = secrets.token_bytes(32), secrets.token_urlsafe(32)
        token = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
        idle = _timeout()
        with shared.transaction() as db:
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)", (_digest(token), name, stamp, now, now))
            db.execute(
                "INSERT INTO tickets VALUES (?, ?, ?)", (_digest(ticket), _seal(raw, ticket), now + TICKET_SECONDS)
            )
            db.execute("DELETE FROM tickets WHERE expires <= ?", (now,))
            db.execute("DELETE FROM sessions WHERE last_seen < ?", (now - idle,))  # idle too long: gone for good
        return token, ticket

    def redeem(self, ticket: str, *, now: float | None = None) -> str | None:
        """The token a ticket stands for, once; None for an unknown, used or expired ticket."""
        now = time.time() if now is None else now
        ticket = ticket or ""
        with shared.transaction() as db:
            row = db.execute(
                "DELETE FROM tickets WHERE key = ? RETURNING sealed, expires", (_digest(ticket),)
            ).fetchone()
        return _unseal(row[0], ticket) if row and row[1] > now else None

    def resume(
        self,
        token: str | None,
        timeout_s: float,
        *,
        stamp_of: Callable[[str], str | None] | None = None,
        now: float | None = None,
    ) -> str | None:
        """The account name of a live session (and mark it seen); None if unknown, idle too long,
        or — with ``stamp_of`` (``AccountStore.stamp``) — if its account changed or is gone."""
        if not isinstance(token, str) or not token:
            return None
        return self._alive(_digest(token), timeout_s, stamp_of, time.time() if now is None else now, touch=True)

    def key(self, token: str | None) -> str:
        """The digest a session is kept under: what a fiche token holds to ask :meth:`alive`."""
        return _digest(token) if isinstance(token, str) and token else ""

    def alive(
        self,
        key: str,
        timeout_s: float,
        *,
        stamp_of: Callable[[str], str | None] | None = None,
        now: float | None = None,
    ) -> bool:
        """Whether the session kept under ``key`` is still open, for the same account (not marked seen)."""
        return self._alive(key, timeout_s, stamp_of, time.time() if now is None else now, touch=False) is not None

    def _alive(self, key: str, timeout_s: float, stamp_of, now: float, *, touch: bool) -> str | None:
        rows = shared.read("SELECT name, stamp, created FROM sessions WHERE key = ?", (key,))
        if not rows:
            return None
        name, stamp, created = rows[0]
        changed = stamp_of is not None and stamp_of(name) != stamp  # reads a file: outside the transaction
        with shared.transaction() as db:
            # Closed meanwhile (a sign-out, a removal, in any process): the row is gone or another.
            if db.execute("SELECT 1 FROM sessions WHERE key = ? AND created = ?", (key, created)).fetchone() is None:
                return None
            if changed:
                db.execute("DELETE FROM sessions WHERE key = ?", (key,))
                return None
            seen = db.execute("SELECT last_seen FROM sessions WHERE key = ?", (key,)).fetchone()[0]
            if now - seen > timeout_s:
                db.execute("DELETE FROM sessions WHERE key = ?", (key,))
                return None
            if touch:
                db.execute(  # never back in time (another process's clock); max(a, b) is SQLite's alone
                    "UPDATE sessions SET last_seen = CASE WHEN last_seen > ? THEN last_seen ELSE ? END WHERE key = ?",
                    (now, now, key),
                )
        return name

    def close(self, token: str | None) -> None:
        """End a session (sign-out): its cookie no longer opens anything, in any process."""
        if token:
            with shared.transaction() as db:
                db.execute("DELETE FROM sessions WHERE key = ?", (_digest(token),))

    def close_account(self, name: str) -> None:
        """End every session of an account (removed, or its password changed)."""
        with shared.transaction() as db:
            db.execute("DELETE FROM sessions WHERE name = ?", (name,))


def _timeout() -> float:
    try:
        return max(60.0, float(config.get("session_minutes")) * 60)
    except ValueError:
        return float(config.SETTINGS["session_minutes"].default) * 60


#: The sessions of every process of the data: the routes of serve.py and the pages share this one store.
SESSIONS = SessionStore()
