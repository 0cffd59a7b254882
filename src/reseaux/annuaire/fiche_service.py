"""Fiches on demand: a map page carries positions and colours only; what a click needs (one
fiche, the actors sharing a place, the search box's matches) is asked of the server then.

Why routes beside the app rather than a round trip through streamlit-folium: a round trip reruns
the whole page script for one popup (and redraws the map's layers, closing the popup it was
for), where a route answers in milliseconds without touching the page.

The visibility rule is the page's own: when a page draws its map, it registers the directory
*as its viewer may see it* (``ui.actors()``: one rule, ``access.visible_actors``) and gets an
unguessable token for it; the routes answer only from what a token was registered with. A
visitor's page gets a token of the public view: no row number, guessed or not, reaches a
member's fiche. A token belongs to one browser session (``owner``), is replaced when that
session's view changes (a sign-in or sign-out, a saved directory), expires after the
sessions' inactivity timeout, and — for a member — asks at every request whether the sign-in it
was given for still holds (``check``): a sign-out, a password or role changed or an account
removed ends it at once, whichever tab or process did it.

Tokens are shared by every process serving the same data (:mod:`reseaux.acces.shared`): what a token
was issued for (the role and visitors' rule of its view, the directory file and version, the
sign-in) is written there, so a map drawn through one process asks its fiches of another behind
the same proxy. A process that does not know a token rebuilds its view from that record
(:attr:`FicheService.resolver`, the page's own loader) and asks the shared sign-in
(:attr:`FicheService.checker`); a token revoked or expired in the file answers nowhere.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from reseaux.acces import shared
from reseaux.annuaire.model import coordinates
from reseaux.annuaire.referential import Referential
from reseaux.carte.actor_layer import fiche_fields, fiche_rows, search_fields
from reseaux.carte.viewport_index import ViewportIndex
from reseaux.text import fold

#: Fiches on demand, served by reseaux.serveur.web: /_reseaux/carte/<token>/fiches?lignes=… and /recherche?q=…
FICHES_PATH = "/_reseaux/carte"
#: At most this many fiches in one answer (a list of actors sharing a place is rarely longer).
MAX_ROWS = 500
#: At most this many rows found by one search (the map keeps those it draws).
MAX_FOUND = 20_000
MAX_QUERY = 200
#: A search uses at most this many distinct words of at least MIN_WORD letters: 100 one-letter
#: words cost 2.2 s of server time on 200,000 fiches, and find nothing a person looks for.
MAX_WORDS = 6
MIN_WORD = 2
#: The map views whose clusters this process answers (:meth:`FicheService.register_view`), all
#: tokens together: at 1,000,000 actors one weighs about 60 MB (its directory's index as much). The pages showing the same actors
#: (every visitor's opening map, say) share one; a person changing filters makes a new one, and the
#: one least recently drawn goes.
MAX_VIEWS = 6
#: Which token may ask which view: at most this many pairs remembered.
MAX_GRANTS = 10_000
#: Directories (a version, as one role sees it) whose placed actors are indexed, for their views.
MAX_BASES = 3


class ServedRows(Protocol):
    """A directory a token's map asks of, as its viewer may see it, by fiche rows: a frame in
    memory (:class:`FrameRows`: its positions 0..n-1) or the database (``ui.database_rows``: row
    keys of the directory's current rows)."""

    #: What another process rebuilds the same rows from (:attr:`FicheService.resolver`): « memoire »
    #: (the file of the same version, read) or « base » (the database at the same version).
    kind: str

    def placed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(latitudes, longitudes, fiche rows) of its placed actors."""

    def fiches(self, rows: list[int]) -> list[list[str]]:
        """The fiches of ``rows``, in that order, as the map shows them (``actor_layer.fiche_rows``);
        IndexError for a row it does not hold."""

    def find(self, words: list[str], limit: int) -> list[int]:
        """Its rows whose name, structure and address (as the fiche shows them, folded) hold every
        one of ``words``, in order, at most ``limit``."""


class FrameRows:
    """A directory read in memory (rows numbered 0..n-1), as a token's map asks of it."""

    kind = "memoire"

    def __init__(self, frame: pd.DataFrame, referential: Referential) -> None:
        self.frame, self.referential = frame, referential
        self._haystack: pd.Series | None = None

    def placed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lon, lat, placed = coordinates(self.frame)
        return lat[placed], lon[placed], np.flatnonzero(placed)

    def fiches(self, rows: list[int]) -> list[list[str]]:
        if any(r < 0 or r >= len(self.frame) for r in rows):
            raise IndexError(f"lignes hors de l'annuaire affiché (0 à {len(self.frame) - 1})")
        return fiche_rows(self.frame.iloc[rows], self.referential)

    def find(self, words: list[str], limit: int) -> list[int]:
        if self._haystack is None:  # name, structure and address of every row, folded (on the first search)
            searched = search_fields()
            texts = [" ".join(fiche[i] for i in searched) for fiche in fiche_rows(self.frame, self.referential)]
            self._haystack = pd.Series([fold(t) for t in texts], dtype=object)
        mask = np.ones(len(self._haystack), dtype=bool)
        for word in words:
            mask &= self._haystack.str.contains(word, regex=False).to_numpy(dtype=bool)
        return np.flatnonzero(mask)[:limit].tolist()


def served_rows(frame: pd.DataFrame | ServedRows, referential: Referential) -> ServedRows:
    return FrameRows(frame, referential) if isinstance(frame, pd.DataFrame) else frame


@dataclass
class _Entry:
    owner: str
    #: The directory the token's map asks of: a frame in memory, or :class:`ServedRows`.
    frame: pd.DataFrame | ServedRows
    referential: Referential
    expires: float
    #: Asked at every request: does the sign-in this token was given for still hold? (None: a
    #: visitor's public view.) A sign-out in another tab, a password or role changed, an account
    #: removed: the token answers no more.
    check: Callable[[], bool] | None = None
    #: The file ``frame`` was read from and its modification time then: once the file changed
    #: (a save, an import, an erasure, by this process or another), the token answers no more —
    #: its rows may hold a fiche erased or made members-only since. None: not from a file.
    source: tuple[str, float] | None = None
    _rows: ServedRows | None = field(default=None, repr=False)

    @property
    def rows(self) -> ServedRows:
        if self._rows is None:
            self._rows = served_rows(self.frame, self.referential)
        return self._rows


class FicheService:
    """The tokens of the pages drawn, and the fiches each may receive."""

    def __init__(self, *, max_entries: int = 1000) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._by_owner: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()
        #: (token, view key) → None: which token may ask which view (its own rows, registered by its page).
        self._views: OrderedDict[tuple[str, str], None] = OrderedDict()
        #: View key → its index: the key is a digest of the positions, rows and colours, so two tokens
        #: drawing the same actors the same way share one index, built once.
        self._indexes: OrderedDict[str, ViewportIndex] = OrderedDict()
        #: id(frame) → (a weak reference to it, serial, the index of its placed actors).
        self._bases: OrderedDict[int, tuple[weakref.ref, int, ViewportIndex]] = OrderedDict()
        self._serial = 0
        self.max_entries = max_entries
        #: What a token was issued for (:meth:`register`'s ``issued_for``) → (frame or
        #: :class:`ServedRows`, referential), or None when it cannot be rebuilt now: how a process
        #: rebuilds the view of a token another process issued. None: it cannot.
        self.resolver: Callable[[dict], tuple[pd.DataFrame | ServedRows, Referential] | None] | None = None
        #: A session's key → the ``check`` of a token issued for that sign-in, in another process.
        self.checker: Callable[[str], Callable[[], bool]] | None = None

    def register(
        self,
        owner: str,
        frame: pd.DataFrame | ServedRows,
        referential: Referential,
        ttl_s: float,
        *,
        check: Callable[[], bool] | None = None,
        source: tuple[str, float] | None = None,
        issued_for: dict | None = None,
        now: float | None = None,
    ) -> str:
        """The token for ``owner`` (one browser session) to ask fiches of ``frame`` (the
        directory as that session may see it, rows numbered 0..n-1): the same token while the
        frame is the same object, so the page's map does not change from one run to the next.

        ``issued_for`` (JSON: role, visitors' rule, ``source``, the sign-in's ``session`` key)
        is what another process needs to rebuild the view (:attr:`resolver`), with the kind of
        rows it serves (``rows``: :attr:`ServedRows.kind`, said by the rows, not by the caller);
        it is written to the shared file with the token's expiry, which every process reads at
        every request."""
        now = time.monotonic() if now is None else now
        rows = served_rows(frame, referential)
        issued_for = {**(issued_for or {"source": source}), "rows": rows.kind}
        with self._lock:
            self._expire(now)
            known = self._by_owner.get(owner)
            if known and known[0] == id(frame) and known[1] in self._entries:
                token = known[1]
                entry = self._entries[token]
                entry.expires = now + ttl_s
                entry.check, entry.source = check, source
                self._entries.move_to_end(token)
            else:
                if known:  # this session's view changed: its former token answers no more
                    self._entries.pop(known[1], None)
                    self._forget_views(known[1])
                token = secrets.token_urlsafe(18)
                self._entries[token] = _Entry(owner, frame, referential, now + ttl_s, check, source, rows)
                self._by_owner[owner] = (id(frame), token)
                while len(self._entries) > self.max_entries:
                    gone, oldest = self._entries.popitem(last=False)
                    self._by_owner.pop(oldest.owner, None)
                    self._forget_views(gone)
        wall = time.time()
        with shared.transaction() as db:
            db.execute("DELETE FROM map_tokens WHERE (owner = ? AND token != ?) OR expires < ?", (owner, token, wall))
            db.execute(
                "INSERT OR REPLACE INTO map_tokens VALUES (?, ?, ?, ?)",
                (token, owner, json.dumps(issued_for), wall + ttl_s),
            )
        return token

    def revoke_owner(self, owner: str | None) -> None:
        """The tokens of browser session ``owner`` answer no more, in any process (its person signed out)."""
        with self._lock:
            known = self._by_owner.pop(owner or "", None)
            if known:
                self._entries.pop(known[1], None)
                self._forget_views(known[1])
        with shared.transaction() as db:
            db.execute("DELETE FROM map_tokens WHERE owner = ?", (owner or "",))

    def keep_version(self, source: tuple[str, float]) -> None:
        """Forget, in this process, the tokens issued for another version of the directory than
        ``source`` (``(source, stamp)``, as :func:`reseaux.stockage.directory_source` gives it),
        and the map views and indexes only they could ask. Such a token answers no more (its
        version changed: :meth:`_entry`), but until it expired (the length of a sign-in) its
        entry held its frame: the version replaced, 0.8 GB at a million fiches, stayed in memory
        after every save in each server its map was drawn by."""
        source = tuple(source)
        with self._lock:
            for token in [t for t, e in self._entries.items() if e.source is not None and tuple(e.source) != source]:
                self._drop(token)
            granted = {key for _, key in self._views}
            for key in [k for k in self._indexes if k not in granted]:
                del self._indexes[key]
            for known in [k for k, (frame, _, _) in self._bases.items() if frame() is None]:
                del self._bases[known]

    def _entry(self, token: str, now: float | None = None) -> _Entry | None:
        now = time.monotonic() if now is None else now
        rows = shared.read("SELECT owner, issued_for, expires FROM map_tokens WHERE token = ?", (token,))
        left = rows[0][2] - time.time() if rows else 0.0
        with self._lock:
            self._expire(now)
            entry = self._entries.get(token) if left > 0 else None  # revoked or expired in the file: nowhere
            if left <= 0:
                self._drop(token)
        if entry is None and left > 0:
            entry = self._rebuilt(token, rows[0][0], json.loads(rows[0][1]), now + left)
        if entry is not None and (not _unchanged(entry.source) or (entry.check is not None and not entry.check())):
            with self._lock:
                self._drop(token)
            return None
        return entry

    def _drop(self, token: str) -> None:
        """Under the lock: forget ``token`` in this process."""
        self._forget_views(token)
        entry = self._entries.pop(token, None)
        if entry is not None and self._by_owner.get(entry.owner, (0, ""))[1] == token:
            del self._by_owner[entry.owner]

    def _rebuilt(self, token: str, owner: str, issued_for: dict, expires: float) -> _Entry | None:
        """The entry of a token another process issued, its view rebuilt here; None when this
        process cannot (no resolver) or the directory is no longer the version it was issued for."""
        source = tuple(issued_for["source"]) if issued_for.get("source") else None
        if self.resolver is None or source is None or not _unchanged(source):
            return None
        session = issued_for.get("session") or ""
        if session and self.checker is None:
            return None  # a member's view, and no way to ask whether the sign-in holds: refused
        resolved = self.resolver(issued_for)
        if resolved is None:  # the view cannot be rebuilt here now (its version gone meanwhile)
            return None
        frame, referential = resolved
        entry = _Entry(owner, frame, referential, expires, self.checker(session) if session else None, source)
        with self._lock:
            self._entries[token] = entry
            while len(self._entries) > self.max_entries:
                self._drop(next(iter(self._entries)))
        return entry

    def _forget_views(self, token: str) -> None:
        """Under the lock: the map views of ``token`` answer no more (their memory goes with them)."""
        for known in [k for k in self._views if k[0] == token]:
            del self._views[known]

    def _expire(self, now: float) -> None:
        for token in [t for t, e in self._entries.items() if e.expires < now]:
            self._forget_views(token)
            entry = self._entries.pop(token)
            if self._by_owner.get(entry.owner, (0, ""))[1] == token:
                del self._by_owner[entry.owner]

    def register_view(self, token: str, rows, colors, *, now: float | None = None) -> str | None:
        """The key under which the map view of ``token`` drawing the actors of fiche rows ``rows``
        (placed ones) in ``colors`` (colour indexes: see
        :class:`~reseaux.carte.viewport_index.ViewportIndex`) answers :meth:`groups`.

        The positions are the token's directory's own: its placed actors are indexed once (a second
        or two at 1,000,000), each view — a filter's rows, its colours — is a subset of that index (a
        tenth of a second), and the same rows in the same colours from any session of the same
        directory share one. None for an unknown or expired token. Raises IndexError for a row
        outside the token's directory or without a position: a view shows only what its token may."""
        rows, colors = np.asarray(rows, dtype="i8"), np.asarray(colors, dtype="u1")
        entry = self._entry(token, now)
        if entry is None:
            return None
        serial, base = self._base(entry)
        digest = hashlib.sha256(str(serial).encode())
        for part in (rows, colors):
            digest.update(np.ascontiguousarray(part).tobytes())
        key = digest.hexdigest()[:24]
        with self._lock:
            if key in self._indexes:
                self._indexes.move_to_end(key)
                self._grant(token, key)
                return key
        try:
            index = base.subset(rows, colors)
        except ValueError as exc:
            raise IndexError("lignes sans position sur la carte") from exc
        with self._lock:
            self._indexes[key] = index
            while len(self._indexes) > MAX_VIEWS:
                self._indexes.popitem(last=False)
            self._grant(token, key)
        return key

    def _base(self, entry: _Entry) -> tuple[int, ViewportIndex]:
        """The index of every placed actor of a token's directory (shared by the tokens of the same
        view of it) and its serial number, built on the first request for it."""
        frame = entry.frame
        with self._lock:
            known = self._bases.get(id(frame))
            if known is not None and known[0]() is frame:
                self._bases.move_to_end(id(frame))
                return known[1], known[2]
        lat, lon, rows = entry.rows.placed()
        base = ViewportIndex(lat, lon, rows, np.zeros(len(rows)))
        with self._lock:
            self._serial += 1
            self._bases[id(frame)] = (weakref.ref(frame), self._serial, base)
            while len(self._bases) > MAX_BASES:
                self._bases.popitem(last=False)
            return self._serial, base

    def _grant(self, token: str, key: str) -> None:
        """Under the lock: ``token`` may ask view ``key``."""
        self._views[(token, key)] = None
        self._views.move_to_end((token, key))
        while len(self._views) > MAX_GRANTS:
            self._views.popitem(last=False)

    def _index(self, token: str, key: str) -> ViewportIndex | None:
        """View ``key``'s index, if ``token`` registered it and it is still kept."""
        with self._lock:
            return self._indexes.get(key) if (token, key) in self._views else None

    def groups(self, token: str, key: str, bbox, zoom: int, *, now: float | None = None) -> dict | None:
        """The clusters and pins of view ``key`` of ``token`` in ``bbox`` at ``zoom``
        (:meth:`ViewportIndex.groups`), under the token's checks (an expired token, a sign-in
        ended, a directory changed answer None, as an unknown view does). Raises ValueError for a
        bbox the index refuses."""
        if self._entry(token, now) is None:
            return None
        index = self._index(token, key)
        return None if index is None else index.groups(bbox, zoom)

    def view_position(self, token: str, key: str, row: int, *, now: float | None = None) -> dict | None:
        """``{"lat", "lon"}`` of fiche row ``row`` in view ``key`` of ``token`` (``{}``: not in that
        view, a row the filters left out); None for an unknown token or view."""
        if self._entry(token, now) is None:
            return None
        index = self._index(token, key)
        if index is None:
            return None
        place = index.position(row)
        return {} if place is None else {"lat": place[0], "lon": place[1]}

    def fiches(self, token: str, rows: list[int], *, now: float | None = None) -> dict | None:
        """``{"fields", "fiches"}`` for ``rows`` (in that order), or None for an unknown or
        expired token. Rows outside the view raise IndexError."""
        entry = self._entry(token, now)
        if entry is None:
            return None
        if len(rows) > MAX_ROWS:
            raise IndexError(f"au plus {MAX_ROWS} fiches à la fois")
        return {"fields": fiche_fields(), "fiches": entry.rows.fiches(rows)}

    def search(self, token: str, text: str, *, now: float | None = None) -> dict | None:
        """``{"rows", "more"}``: the rows whose name, structure or address hold every word of
        ``text`` (folded), at most :data:`MAX_FOUND`; None for an unknown or expired token."""
        entry = self._entry(token, now)
        if entry is None:
            return None
        words = [w for w in dict.fromkeys(fold(text[:MAX_QUERY]).split()) if len(w) >= MIN_WORD][:MAX_WORDS]
        if not words:
            return {"rows": [], "more": False}
        rows = entry.rows.find(words, MAX_FOUND + 1)
        return {"rows": rows[:MAX_FOUND], "more": len(rows) > MAX_FOUND}


def _unchanged(source: tuple[str, float] | None) -> bool:
    """Whether the directory a token's rows were read from is as it was then (one ``stat``, or
    one query of the database's version: see :func:`reseaux.stockage.unchanged`)."""
    if source is None:
        return True
    from reseaux.stockage import unchanged

    return unchanged(source[0], source[1])


SERVICE = FicheService()


def served_views(fiches_url: str, service: FicheService | None = None):
    """How a page's map registers its actors with ``service`` (:data:`SERVICE`), for the map to ask
    its clusters of: a :data:`reseaux.carte.actor_layer.ServedView` for the token that ends
    ``fiches_url`` (the page's :class:`~reseaux.carte.actor_layer.FicheStore` address), answering
    ``<fiches_url>/groupes?vue=<key>`` (None: the token is no longer known)."""
    token = fiches_url.rstrip("/").rsplit("/", 1)[-1]

    def register(rows, colors) -> str | None:
        key = (service or SERVICE).register_view(token, rows, colors)
        return None if key is None else f"{fiches_url}/groupes?vue={key}"

    return register
