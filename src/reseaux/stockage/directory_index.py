"""The directory of one version as a map page needs it, from the readings PostgreSQL keeps beside
its rows (:mod:`reseaux.stockage.readings`): an index of about a hundred bytes an actor — its row
key, position, commune, flags (public, demonstration, placed at its commune), the referential's
codes it holds as bits, facet by facet, and the first of them — read in one pass, held by a process
instead of the directory (at a million fiches, 109 MB against 0.8 GB).

What a map page says is worked out from it with NumPy, as ``analyse.filters.apply_filter`` and
``carte.actor_layer`` work it out of the directory read in memory: who sees which fiche, what a
filter keeps (its facets, communes, EPCI, perimeter), the colours and the legend. What it does not
hold is asked of the database at the same version: the free search and the languages (the rows
they keep), the map's search box, and the fiches themselves, by row key, when they are shown.
``tests/test_map_answers.py`` compares every answer with the directory's in memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reseaux.acces.access import can
from reseaux.analyse.filters import FACETS as FILTER_FACETS
from reseaux.analyse.filters import ActorFilter, perimeter_mask
from reseaux.stockage import readings
from reseaux.stockage.postgres import SCHEMA, PostgresDirectoryStore
from reseaux.text import fold

#: One current usable row as the index reads it: big-endian, as PostgreSQL's ``*send`` functions
#: write them, in one value of bytes for them all (a million rows one by one through the driver
#: took seconds), in no order (``position`` and ``row``: the directory's).
ROW = np.dtype(
    [
        ("row", ">i8"),
        ("position", ">f8"),
        ("rid", ">i8"),
        ("lat", ">f8"),
        ("lon", ">f8"),
        ("commune", "S5"),
        ("flags", ">i2"),
        ("odd", ">i2"),
        *((f"bits_{facet}", ">i8") for facet in readings.FACETS),
        *((f"first_{facet}", ">i2") for facet in readings.FACETS),
    ]
)
#: ``flags``' bits.
PUBLIC, FICTIVE, APPROXIMATE, NO_ID = 1, 2, 4, 8
ROWS = f"""SELECT string_agg(
    int8send(r.row_key) || float8send(r.position) || int8send(hashtextextended(r.rid, 0))
    || float8send(COALESCE(ST_Y(r.place), 'NaN')) || float8send(COALESCE(ST_X(r.place), 'NaN'))
    || convert_to(rpad(COALESCE(r.code_insee, ''), 5), 'UTF8')
    || int2send((COALESCE(r.public, false)::int + 2 * COALESCE(r.fictif, false)::int
                 + 4 * COALESCE(r.approx, false)::int + 8 * (r.rid = '')::int)::int2)
    || int2send(COALESCE(r.odd, 0)::int2)
    || {" || ".join(f"int8send(COALESCE(r.bits_{facet}, 0))" for facet in readings.FACETS)}
    || {" || ".join(f"int2send(COALESCE(r.first_{facet}, -1)::int2)" for facet in readings.FACETS)},
    ''::bytea) FILTER (WHERE r.usable), count(*) FILTER (WHERE NOT r.usable)
    FROM {SCHEMA}.directory_rows r WHERE r.valid_to IS NULL"""


@dataclass
class DirectoryIndex:
    """The current usable rows of one version, in the directory's order (see the module)."""

    version: str
    rows: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    #: Each row's commune: its place in ``communes`` (``""``: none).
    commune: np.ndarray
    communes: list[str]
    flags: np.ndarray
    odd: np.ndarray
    bits: dict[str, np.ndarray]
    first: dict[str, np.ndarray]
    #: The rows the app keeps as actors: not the later rows of an identifier already used.
    kept: np.ndarray
    #: Current rows the app cannot use on their own cells.
    unusable: int
    #: Each row's identifier hashed (``hashtextextended``): which rows are kept, found again when
    #: the index is brought up to a later version (:func:`build`'s ``previous``).
    rid_hash: np.ndarray = field(repr=False, default=None)
    #: Each row's place in the directory's order (with its row key): where a row added goes.
    position: np.ndarray = field(repr=False, default=None)
    #: Row keys sorted, and where each stands in ``rows`` (a row key's place).
    _sorted: np.ndarray = field(repr=False, default=None)
    _order: np.ndarray = field(repr=False, default=None)

    @property
    def placed(self) -> np.ndarray:
        return ~(np.isnan(self.lat) | np.isnan(self.lon))

    def flag(self, bit: int) -> np.ndarray:
        return (self.flags & bit) != 0

    def seen(self, role: str, visitors: str) -> np.ndarray:
        """The actors ``role`` sees (``acces.access.visible_actors``)."""
        if can(role, "voir_toutes_les_fiches"):
            return self.kept
        if visitors != "public":
            return np.zeros(len(self.rows), dtype=bool)
        return self.kept & self.flag(PUBLIC)

    def places_of(self, keys: Sequence[int]) -> np.ndarray:
        """The places in ``rows`` of row keys ``keys`` (-1: not a current usable row)."""
        keys = np.asarray(keys, dtype="i8")
        at = np.searchsorted(self._sorted, keys)
        at = np.minimum(at, max(len(self._sorted) - 1, 0))
        found = (self._sorted[at] == keys) if len(self._sorted) else np.zeros(len(keys), dtype=bool)
        return np.where(found, self._order[at] if len(self._order) else -1, -1)

    def keeps(
        self,
        within: np.ndarray,
        flt: ActorFilter,
        referential,
        *,
        asked_rows,
        perimeters: Mapping | None = None,
        commune_epci: Mapping[str, str] | None = None,
    ) -> np.ndarray:
        """The rows of ``within`` that ``flt`` keeps (``apply_filter``'s rule). ``asked_rows(flt)``
        gives the row keys the database keeps for its languages and free search."""
        mask = within.copy()
        for facet, (_, every) in readings.FACETS.items():
            chosen = getattr(flt, facet)
            if not chosen:
                continue
            place = {code: i for i, code in enumerate(referential.codes(FILTER_FACETS[facet][1]))}
            known = [place[c] for c in chosen if place.get(c, readings.MAX_BITS) < readings.MAX_BITS]
            wanted = np.int64(sum(1 << i for i in known))
            held = self.bits[facet] & wanted
            if every:
                mask &= (held == wanted) if len(known) == len(chosen) else False
            else:
                mask &= held != 0
        if flt.communes or flt.epci:
            chosen = set(flt.communes)
            if flt.epci:
                epci = set(flt.epci)
                lookup = commune_epci or {}
                chosen_epci = {c for c in self.communes if c and lookup.get(c, "") in epci}
                chosen = chosen & chosen_epci if flt.communes else chosen_epci
            places = [i for i, c in enumerate(self.communes) if c in chosen]
            mask &= np.isin(self.commune, places)
        if flt.perimeter and mask.any():
            frame = pd.DataFrame({"latitude": self.lat[mask], "longitude": self.lon[mask]})
            inside = perimeter_mask(frame, flt.perimeter, perimeters or {}).to_numpy()
            mask[np.flatnonzero(mask)[~inside]] = False
        if (flt.langues or flt.text.strip()) and mask.any():
            found = self.places_of(asked_rows(ActorFilter(langues=flt.langues, text=flt.text)))
            matched = np.zeros(len(self.rows), dtype=bool)
            matched[found[found >= 0]] = True
            mask &= matched
        return mask

    def holding(self, facet: str, code: str, referential) -> np.ndarray:
        """Which rows hold ``code`` of ``facet`` (a code the referential knows; none otherwise)."""
        codes = list(referential.codes(FILTER_FACETS[facet][1]))
        if code not in codes or codes.index(code) >= readings.MAX_BITS:
            return np.zeros(len(self.rows), dtype=bool)
        return ((self.bits[facet] >> np.int64(codes.index(code))) & 1).astype(bool)

    def colors(self, mask: np.ndarray, facet: str, palette: Sequence[str], preferred: Sequence[str]) -> np.ndarray:
        """Each kept row's colour index (``carte.actor_layer._colors``): the first code of
        ``preferred`` it holds, else its first code; its place in ``palette``, else the last."""
        other = len(palette)
        first = self.first[facet][mask]
        out = np.where((first >= 0) & (first < other), first, other).astype("u1")
        bits = self.bits[facet][mask]
        assigned = np.zeros(len(out), dtype=bool)
        for code in preferred:
            i = list(palette).index(code)
            if i >= readings.MAX_BITS:
                continue
            holds = ((bits >> np.int64(i)) & 1).astype(bool) & ~assigned
            out[holds] = i
            assigned |= holds
        return out

    def legend(self, mask: np.ndarray, facet: str, referential, odd_codes) -> list[str]:
        """The codes of ``facet`` the kept rows hold (``carte.legend.legend_codes``), ``""`` when one
        holds none; ``odd_codes(row keys)`` asks the database the codes it does not know."""
        bits = self.bits[facet][mask]
        held = int(np.bitwise_or.reduce(bits)) if len(bits) else 0
        codes = referential.codes(FILTER_FACETS[facet][1])
        found = {code for i, code in enumerate(codes[: readings.MAX_BITS]) if held >> i & 1}
        j = list(readings.FACETS).index(facet)
        odd = (self.odd[mask] >> j & 1).astype(bool)
        if ((bits == 0) & ~odd).any():
            found.add("")
        if odd.any():
            found.update(odd_codes(self.rows[mask][odd]))
        return sorted(found)


def build(
    store: PostgresDirectoryStore,
    referential,
    key: str,
    version: str | None = None,
    previous: DirectoryIndex | None = None,
) -> DirectoryIndex:
    """The index of the current version (given ``version``, of that one, or ``readings.NotAnswered``).

    Given ``previous`` (the index of an earlier version, under the same ``key``), only the rows
    saved since are read and put in its place (:func:`_brought_up`): after a save of a few
    fiches, the whole index was read again (3.5 to 4.3 s at a million fiches). The whole index is
    read when a fiche left the directory since (its position must not stay in memory, and its row
    would have to be found), or when more than :data:`SINCE_MOST` fiches changed."""

    def question(connection) -> DirectoryIndex:
        (head,) = connection.execute(f"SELECT version FROM {SCHEMA}.directory_head").fetchone()
        if previous is not None:
            brought = _brought_up(connection, previous, int(head))
            if brought is not None:
                return brought
        # As bytes, half the text's size; with the count of the rows the app cannot use, in one pass.
        raw, unusable = connection.execute(ROWS, binary=True).fetchone()
        return _index_of(connection, str(head), np.frombuffer(raw or b"", dtype=ROW), int(unusable))

    # On a connection of its own: the answer's buffer (its size) goes with it.
    return readings.in_snapshot(store, referential, key, None, question, version, alone=True)


#: Journal lines since an earlier index beyond which the whole index is read again (an import, a
#: restoration): the rows they changed are then a good part of the directory.
SINCE_MOST = 10_000


def _index_of(connection, version: str, found: np.ndarray, unusable: int) -> DirectoryIndex:
    """The index of the rows ``found`` (:data:`ROW`, in any order)."""
    # In the directory's order: sorted here (a second less than by the database, at a million),
    # each field on its own (never a second copy of the whole answer).
    order = np.lexsort((found["row"], found["position"]))

    def field(name: str, kind: str) -> np.ndarray:
        return found[name][order].astype(kind)

    rows, flags, hashes = field("row", "i8"), field("flags", "i2"), field("rid", "i8")
    kept = _kept(connection, rows, hashes, (flags & NO_ID) != 0)
    # The codes as the database pads them (rpad) or as an earlier index gives them back: trimmed.
    names, commune = np.unique(np.char.strip(found["commune"][order]), return_inverse=True)
    by_key = np.argsort(rows, kind="stable")
    return DirectoryIndex(
        version=version,
        rows=rows,
        lat=field("lat", "f8"),
        lon=field("lon", "f8"),
        commune=commune.astype("i4"),
        communes=[n.decode("utf-8").strip() for n in names],
        flags=flags,
        odd=field("odd", "i2"),
        bits={facet: field(f"bits_{facet}", "i8") for facet in readings.FACETS},
        first={facet: field(f"first_{facet}", "i2") for facet in readings.FACETS},
        kept=kept,
        unusable=unusable,
        rid_hash=hashes,
        position=field("position", "f8"),
        _sorted=rows[by_key],
        _order=by_key,
    )


def _brought_up(connection, previous: DirectoryIndex, head: int) -> DirectoryIndex | None:
    """``previous`` brought up to version ``head``: its rows saved since replaced by their current
    ones, the rows added put in their places. A row saved keeps its row key (``save_rows``), so the
    current rows saved since are those whose ``valid_from`` is later. None when the whole index must
    be read again: a fiche removed since (said by the journal), too many changes, a row gone that
    the journal does not name (the current rows counted are not those brought up: removing a row
    that repeats an identifier journals a change of the identifier, not a removal), or an index
    that cannot be brought up (a later version than the database's, no identifiers' hashes)."""
    since = int(previous.version)
    if previous.rid_hash is None or previous.position is None or since > head:
        return None
    if since == head:
        return previous
    lines = connection.execute(
        f"SELECT version, entry->>'type' FROM (SELECT version, entry FROM {SCHEMA}.directory_journal "
        "ORDER BY line DESC LIMIT %s) last WHERE version > %s",
        (SINCE_MOST + 1, since),
    ).fetchall()
    if len(lines) > SINCE_MOST or any(kind == "suppression" for _, kind in lines):
        return None
    raw, unusable = connection.execute(ROWS + " AND r.valid_from > %s", (since,), binary=True).fetchone()
    saved = connection.execute(
        f"SELECT row_key FROM {SCHEMA}.directory_rows WHERE valid_to IS NULL AND valid_from > %s", (since,)
    ).fetchall()
    keys = [key for (key,) in saved]
    (was_unusable,) = connection.execute(  # the rows saved, as they were in the earlier version
        f"SELECT count(*) FILTER (WHERE NOT usable) FROM {SCHEMA}.directory_rows "
        "WHERE row_key = ANY(%s) AND valid_from <= %s AND valid_to > %s",
        (keys, since, since),
    ).fetchone()
    staying = np.ones(len(previous.rows), dtype=bool)
    gone = previous.places_of(keys)
    staying[gone[gone >= 0]] = False
    new = np.frombuffer(raw or b"", dtype=ROW)
    unusable = previous.unusable - int(was_unusable) + int(unusable)
    (current,) = connection.execute(  # an index-only count (0.04 to 0.2 s at a million)
        f"SELECT count(*) FROM {SCHEMA}.directory_rows WHERE valid_to IS NULL"
    ).fetchone()
    if int(staying.sum()) + len(new) + unusable != current:
        return None  # a row left with no line saying so (a repeated identifier's row removed): read whole
    order, at = _insertion(
        previous.position[staying], previous.rows[staying], new["position"].astype("f8"), new["row"].astype("i8")
    )
    new = new[order]

    def merged(held: np.ndarray, added: np.ndarray) -> np.ndarray:
        return np.insert(held[staying], at, added.astype(held.dtype))

    # Communes: the names of both, then those still held by a row, in order.
    codes = [name.decode("utf-8").strip() for name in new["commune"]]
    names = sorted(set(previous.communes) | set(codes))
    renamed = np.searchsorted(np.asarray(names, dtype=object), np.asarray(previous.communes, dtype=object))
    commune = np.insert(
        renamed[previous.commune[staying]] if len(previous.communes) else previous.commune[staying],
        at,
        np.searchsorted(np.asarray(names, dtype=object), np.asarray(codes, dtype=object)).astype("i4"),
    ).astype("i4")
    used = np.bincount(commune, minlength=len(names)) > 0
    commune = (np.cumsum(used) - 1).astype("i4")[commune]
    rows, flags, hashes = (
        merged(previous.rows, new["row"]),
        merged(previous.flags, new["flags"]),
        merged(previous.rid_hash, new["rid"]),
    )
    by_key = np.argsort(rows, kind="stable")
    return DirectoryIndex(
        version=str(head),
        rows=rows,
        lat=merged(previous.lat, new["lat"]),
        lon=merged(previous.lon, new["lon"]),
        commune=commune,
        communes=[name for name, kept in zip(names, used, strict=True) if kept],
        flags=flags,
        odd=merged(previous.odd, new["odd"]),
        bits={facet: merged(previous.bits[facet], new[f"bits_{facet}"]) for facet in readings.FACETS},
        first={facet: merged(previous.first[facet], new[f"first_{facet}"]) for facet in readings.FACETS},
        kept=_kept(connection, rows, hashes, (flags & NO_ID) != 0),
        unusable=unusable,
        rid_hash=hashes,
        position=merged(previous.position, new["position"]),
        _sorted=rows[by_key],
        _order=by_key,
    )


def _insertion(
    position: np.ndarray, rows: np.ndarray, new_position: np.ndarray, new_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """How rows come into an index in the directory's order (by position, then row key): the
    order of the new rows (``new_position``, ``new_rows``, in any order), and where each of them,
    so ordered, goes among the rows there (``position``, ``rows``, in that order already), as
    ``np.insert`` takes it."""
    order = np.lexsort((new_rows, new_position))
    new_position, new_rows = new_position[order], new_rows[order]
    at = np.searchsorted(position, new_position, side="left")
    for i, (place, row) in enumerate(zip(new_position, new_rows, strict=True)):
        while at[i] < len(position) and position[at[i]] == place and rows[at[i]] < row:
            at[i] += 1  # the same place: after the smaller row keys
    return order, at


def _kept(connection, rows: np.ndarray, hashes: np.ndarray, no_id: np.ndarray) -> np.ndarray:
    """Which rows are the first of their identifier (``readings.KEPT``): the others repeat an
    identifier an earlier row holds. Found by the identifiers' hashes, those that collide then
    compared as text (asked of the database, a handful of rows)."""
    kept = np.ones(len(rows), dtype=bool)
    named = np.flatnonzero(~no_id)
    if not len(named):
        return kept
    distinct, counts = np.unique(hashes[named], return_counts=True)
    if (counts == 1).all():
        return kept
    repeated = np.isin(hashes[named], distinct[counts > 1])
    suspects = named[repeated]
    rids = dict(
        connection.execute(
            f"SELECT row_key, rid FROM {SCHEMA}.directory_rows WHERE valid_to IS NULL AND row_key = ANY(%s)",
            (rows[suspects].tolist(),),
        ).fetchall()
    )
    seen: set[str] = set()
    for at in suspects:  # in the directory's order: the first of each identifier is kept
        rid = rids[int(rows[at])]
        if rid in seen:
            kept[at] = False
        seen.add(rid)
    return kept


def asked_rows(store: PostgresDirectoryStore, referential, key: str, version: str, flt: ActorFilter) -> np.ndarray:
    """The row keys of the current usable rows ``flt`` keeps (its languages and free search: what
    the index does not hold), at ``version``."""
    where, arguments = readings.Asked(flt).sql()
    return _row_keys(store, referential, key, version, where, arguments)


def looked_up(store: PostgresDirectoryStore, referential, key: str, version: str, words: Sequence[str]) -> np.ndarray:
    """The row keys of the current usable rows whose name, structure or address (as the fiche
    shows them, folded) hold every one of ``words``: the map's search box."""
    where = "".join(f" AND r.lookup LIKE %(l{i})s" for i in range(len(words)))
    arguments = {f"l{i}": readings.holding(fold(w)) for i, w in enumerate(words)}
    return _row_keys(store, referential, key, version, where, arguments)


def named(
    store: PostgresDirectoryStore,
    referential,
    key: str,
    version: str,
    identifier: str,
    words: Sequence[str],
    limit: int,
) -> list[tuple[str, str]]:
    """(identifier, name) of the actors whose identifier is ``identifier`` or whose name, structure
    and address (folded) hold every one of ``words``, in the directory's order, at most ``limit``:
    the fiche an erasure is asked for."""
    held = " AND ".join(f"r.lookup LIKE %(l{i})s" for i in range(len(words)))
    arguments = {"id": identifier, "limit": limit, **{f"l{i}": readings.holding(fold(w)) for i, w in enumerate(words)}}
    either = f"(r.rid = %(id)s OR ({held}))" if words else "r.rid = %(id)s"

    def question(connection) -> list[tuple[str, str]]:
        rows = connection.execute(
            f"SELECT r.rid, r.nom FROM {SCHEMA}.directory_rows r WHERE {readings.KEPT} AND {either} "
            "ORDER BY r.position, r.row_key LIMIT %(limit)s",
            arguments,
        ).fetchall()
        return [(str(rid), str(name)) for rid, name in rows]

    return readings.in_snapshot(store, referential, key, None, question, version)


def _row_keys(store, referential, key: str, version: str, where: str, arguments: dict) -> np.ndarray:
    """The row keys of the current usable rows ``where`` keeps (a condition on ``r``), at ``version``."""

    def question(connection) -> np.ndarray:
        (raw,) = connection.execute(
            f"SELECT string_agg(int8send(r.row_key), ''::bytea) FROM {SCHEMA}.directory_rows r "
            f"WHERE r.valid_to IS NULL AND r.usable{where}",
            arguments,
        ).fetchone()
        return np.frombuffer(raw or b"", dtype=">i8").astype("i8")

    return readings.in_snapshot(store, referential, key, None, question, version)


def fiches(store: PostgresDirectoryStore, referential, key: str, version: str, keys: Sequence[int]) -> pd.DataFrame:
    """The fiches of row keys ``keys``, in that order, each as the app reads it (every column);
    the index holds their row keys."""
    keys = [int(k) for k in keys]
    return readings.in_snapshot(
        store, referential, key, None, lambda c: readings.fiche_frame(c, keys, referential), version
    )


def odd_codes(store: PostgresDirectoryStore, referential, key: str, version: str, facet: str, keys) -> set[str]:
    """The codes of ``facet`` rows ``keys`` hold as written, the referential not knowing them."""
    known = set(referential.codes(FILTER_FACETS[facet][1]))

    def question(connection) -> set[str]:
        found = connection.execute(
            f"SELECT DISTINCT unnest(r.codes_{facet}) FROM {SCHEMA}.directory_rows r "
            "WHERE r.valid_to IS NULL AND r.row_key = ANY(%s)",
            ([int(k) for k in keys],),
        ).fetchall()
        return {code for (code,) in found if code not in known}

    return readings.in_snapshot(store, referential, key, None, question, version)


def zones_named(
    store: PostgresDirectoryStore, referential, key: str, version: str, keys: Sequence[int]
) -> frozenset[str]:
    """The codes the zones of intervention of rows ``keys`` name, as the app reads them."""

    def question(connection) -> frozenset[str]:
        found = connection.execute(
            f"SELECT DISTINCT unnest(r.zones) FROM {SCHEMA}.directory_rows r "
            "WHERE r.valid_to IS NULL AND r.row_key = ANY(%s)",
            ([int(k) for k in keys],),
        ).fetchall()
        return frozenset(code for (code,) in found)

    return readings.in_snapshot(store, referential, key, None, question, version)
