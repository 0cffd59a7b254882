"""The directory of one version as one person sees it, asked of the database rather than read in
memory: the index of its rows (:mod:`reseaux.stockage.directory_index`, one per version in a
process) and the rows that person sees, with what the map page and its token's routes need — its
counts, its placed actors' positions, its fiches by row key."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import streamlit as st

from reseaux.acces.access import can
from reseaux.annuaire.referential import Referential
from reseaux.app_data import reading_key
from reseaux.carte.actor_layer import fiche_rows
from reseaux.stockage import directory_store

#: The versions of the directory whose index a process keeps (one, and the one a save replaced
#: while pages still show it).
INDEXES_KEPT = 2
#: The views of them (a version, as one role sees it).
VIEWS_KEPT = 4


class DatabaseRows:
    """The directory of one version as one person sees it: its index, the rows seen (``seen``),
    and, for the map's token, its fiches by row key
    (:class:`~reseaux.annuaire.fiche_service.ServedRows`)."""

    kind = "base"

    def __init__(self, store, ref: Referential, key: str, role: str, visitors: str, index) -> None:
        from reseaux.stockage.directory_index import APPROXIMATE, FICTIVE

        self.store, self.ref, self.key = store, ref, key
        self.index = index
        self.seen = index.seen(role, visitors)
        #: What names this view in a process: the database, its readings, the version, whether the
        #: role sees every fiche, the visitors' rule (the filters' answers are cached under it).
        self.name = (store.url, key, index.version, can(role, "voir_toutes_les_fiches"), visitors)
        #: The fiches seen, and among them the demonstration ones and those placed at their
        #: commune's centre: counted once per view, not at every run of the page.
        self.total = int(self.seen.sum())
        self.fictive, self.approximate = (int((self.seen & index.flag(bit)).sum()) for bit in (FICTIVE, APPROXIMATE))
        self._lock = threading.Lock()
        self._measured = None
        self._shown = self.seen & index.placed
        self._placed = (index.lat[self._shown], index.lon[self._shown], index.rows[self._shown])
        for array in self._placed:  # shared by the frames made of them: a write raises, changes none
            array.setflags(write=False)
        #: The placed actors seen (the map's opening view, « Aller à », the perimeters offered):
        #: the arrays of ``_placed``, not a copy of them (15 MB at a million fiches).
        self.positions = pd.DataFrame({"latitude": self._placed[0], "longitude": self._placed[1]}, copy=False)
        held = np.unique(index.commune[self.seen])
        #: The communes (INSEE codes) of the actors seen.
        self.communes = [c for c in (index.communes[i] for i in held) if c]

    @property
    def version(self) -> str:
        return self.index.version

    def keeps(self, flt, terr=None) -> np.ndarray:
        """The rows of the index ``flt`` keeps among those seen (``analyse.filters.apply_filter``'s rule)."""
        from reseaux.stockage import directory_index

        def asked_rows(part) -> np.ndarray:
            return directory_index.asked_rows(self.store, self.ref, self.key, self.version, part)

        return self.index.keeps(
            self.seen,
            flt,
            self.ref,
            asked_rows=asked_rows,
            perimeters=terr.layers if terr is not None else None,
            commune_epci=terr.commune_epci if terr is not None else None,
        )

    def frame(self, mask: np.ndarray) -> pd.DataFrame:
        """The rows of ``mask``: their ``latitude`` and ``longitude``, indexed by row key. Every
        placed actor seen (the map without a filter) is the arrays of ``_placed``, and no frame is
        a copy of the arrays it is made of (at a million fiches, 23 and 15 MB more per view)."""
        index = self.index
        if np.array_equal(mask, self._shown):
            lat, lon, rows = self._placed
        else:
            lat, lon, rows = index.lat[mask], index.lon[mask], index.rows[mask]
        return pd.DataFrame({"latitude": lat, "longitude": lon}, index=pd.Index(rows, copy=False), copy=False)

    def measured(self):
        """The placed actors seen, each in its territory's metric system
        (``analyse.coverage.Positions``), labelled by row key: projected once per view."""
        with self._lock:
            if self._measured is None:
                from reseaux.analyse.coverage import Positions
                from reseaux.territoire.metric import to_zone, zones_of

                lat, lon, rows = self._placed
                epsg = zones_of(lon, lat) if len(rows) else np.zeros(0, dtype=int)
                x, y = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
                for code in np.unique(epsg):
                    at = epsg == code
                    x[at], y[at] = to_zone(lon[at], lat[at], int(code))
                self._measured = Positions(pd.Index(rows), lon, lat, epsg, x, y)
            return self._measured

    def outreach_codes(self) -> frozenset[str]:
        """The INSEE or QPV codes the outreach actions seen name (``analyse.coverage.outreach_codes``)."""
        from reseaux.stockage import directory_index

        mask = self.seen & self.index.holding("types", "aller_vers", self.ref)
        return directory_index.zones_named(self.store, self.ref, self.key, self.version, self.index.rows[mask])

    def holding(self, mask: np.ndarray, facet: str):
        """``holds(code)``: which placed rows of ``mask`` (in order) hold ``code`` of ``facet``."""
        placed = mask & self.index.placed
        return lambda code: self.index.holding(facet, code, self.ref)[placed]

    def fiche_frame(self, keys) -> pd.DataFrame:
        """The fiches of row keys ``keys``, in that order, as the app reads them."""
        from reseaux.stockage import directory_index

        return directory_index.fiches(self.store, self.ref, self.key, self.version, keys)

    # ServedRows
    def placed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._placed

    def fiches(self, rows: list[int]) -> list[list[str]]:
        from reseaux.stockage.readings import NotAnswered

        places = self.index.places_of(rows)
        if (places < 0).any() or not self.seen[places].all():
            raise IndexError("lignes hors de l'annuaire affiché")
        try:
            return fiche_rows(self.fiche_frame(rows), self.ref)
        except NotAnswered as exc:  # a save since: the token answers no more (its version checked)
            raise IndexError("l'annuaire a changé depuis que la carte a été dessinée") from exc

    def find(self, words: list[str], limit: int) -> list[int]:
        from reseaux.stockage import directory_index
        from reseaux.stockage.readings import NotAnswered

        try:
            found = directory_index.looked_up(self.store, self.ref, self.key, self.version, words)
        except NotAnswered:
            return []
        places = np.sort(self.index.places_of(found))
        places = places[places >= 0]
        places = places[self.seen[places]]  # in the directory's order, those this person sees
        return self.index.rows[places[:limit]].tolist()


def database_rows(ref: Referential, version: str, role: str, visitors: str) -> DatabaseRows:
    """The directory of ``version`` as ``role`` sees it, asked of the database. Raises
    ``readings.NotAnswered`` when the database is at another version."""
    store = directory_store()
    key = reading_key(ref)
    every = can(role, "voir_toutes_les_fiches")
    return _view(store.url, key, version, every, visitors, ref)


@st.cache_resource(show_spinner=False, max_entries=VIEWS_KEPT)
def _view(url: str, key: str, version: str, every: bool, visitors: str, _ref: Referential) -> DatabaseRows:
    """One per version and view in the process, shared by its sessions and by the map tokens
    issued for it (the same object: a token stays the same from run to run)."""
    role = "administrateur" if every else "visiteur"
    return DatabaseRows(directory_store(), _ref, key, role, visitors, _index(url, key, version, _ref))


@st.cache_resource(show_spinner=False, max_entries=INDEXES_KEPT)
def _index(url: str, key: str, version: str, _ref: Referential):
    """The index of ``version``, read once in the process for every view of it: brought up from
    the latest this process held (the rows saved since, ``directory_index.build``'s ``previous``)
    rather than read whole (3.5 to 4.3 s at a million fiches after each save)."""
    from reseaux.stockage import directory_index

    with _LATEST_LOCK:
        previous = _LATEST.get((url, key))
    index = directory_index.build(directory_store(), _ref, key, version, previous=previous)
    with _LATEST_LOCK:
        known = _LATEST.get((url, key))
        if known is None or int(known.version) <= int(index.version):
            _LATEST[(url, key)] = index
    return index


#: The latest index this process read or brought up, by database and reading key: where the
#: next version's comes from. Held until then (the caches below let it go when another version
#: is shown), not after an erasure (:func:`forget`).
_LATEST: dict[tuple[str, str], object] = {}
_LATEST_LOCK = threading.Lock()


def forget(*, erased: bool = False) -> None:
    """Let go of every version's index and views (another version is shown now: the one before
    stayed in memory beside it, 0.2 GB at a million fiches, until the cache made room). ``erased``:
    a fiche was erased, the latest index too (it holds her position)."""
    _view.clear()
    _index.clear()
    if erased:
        with _LATEST_LOCK:
            _LATEST.clear()
