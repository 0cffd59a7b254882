"""The directory as the app reads it, kept by PostgreSQL beside its rows, and the questions the
database answers from it without a process holding the directory.

Each current row of ``directory_rows`` carries its reading (the columns ``DDL`` adds): whether it
is usable on its own cells, its identifier, its position (``place``, WGS 84, GiST index), its
coordinates in the metric system of its own territory (``epsg``, ``x``, ``y``: Lambert-93 on the
mainland, the official UTM systems overseas, :mod:`reseaux.territoire.metric`), its name, its
codes facet by facet, and what the other filters of the pages and the visibility rule read:
whether it is public, its commune, its languages folded, its search text. A row's reading
depends on its cells alone (``validation.read_alone``, the validation of a whole file but for
one rule): the one rule that depends on the other rows,
an identifier an earlier usable row holds, is kept by the queries themselves (:data:`KEPT`). So a
reading is made once per stored row: a save writes its rows unread, and whoever asks next reads
them (:func:`bring_up_to_date`), a block at a time, never the directory whole.

The readings are those of one referential and one version of this code (:data:`FORMAT`, the
``key`` the caller gives): when another key asks, every current row is read again.

The questions, each answered as the app answers it from a directory in memory
(``tests/test_readings.py`` compares them one by one), each keeping what a page keeps (:class:`Asked`:
its whole filter, and who asks): :func:`matching`, the actors a filter keeps, counted and listed
(``analyse.filters.apply_filter``); :func:`nearest`, the k closest actors in metres
(``analyse.proximity.nearest``); :func:`coverage`, a layer's perimeters and the actors in, near and
nearest each (``analyse.coverage.coverage_table``). ``python -m reseaux nearest`` and
``coverage`` ask them, and « Trouver un partenaire » its nearest (``ui/trouver.py``). The map page
holds an index of the readings (:mod:`reseaux.stockage.directory_index`); the other pages still
read the directory in memory.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from reseaux.acces.access import REASON_COLUMN, can, hidden_sentence_of
from reseaux.analyse.filters import FACETS as FILTER_FACETS
from reseaux.analyse.filters import SEARCH_COLUMNS, ActorFilter, perimeter_shape, search_text
from reseaux.analyse.proximity import outreach_covering
from reseaux.annuaire import columns as registry
from reseaux.annuaire.fields import update_date
from reseaux.annuaire.model import ERROR, Issue
from reseaux.annuaire.validation import read_alone, read_each, taken_id_issue, unusable
from reseaux.carte.actor_layer import fiche_rows, search_fields
from reseaux.stockage.postgres import SCHEMA, PostgresDirectoryStore
from reseaux.territoire.metric import to_zone, zone_of, zones_of
from reseaux.text import fold

#: The version of what a reading holds: changed with the columns below, so that a database read by
#: an older version of this code is read again.
FORMAT = 5
#: The facets a reading keeps: the filters' own (``analyse.filters.FACETS``), by directory column and
#: whether every code chosen is required.
FACETS: dict[str, tuple[str, bool]] = {facet: (column, every) for facet, (column, _, _, every) in FILTER_FACETS.items()}
#: Rows read at once (each a dict of its cells, then its record).
BLOCK = 10_000
#: Advisory lock of a change of key (every current row read again).
KEY_LOCK = 7_311_532_004
#: How long the readings of another key are left to it after its last question (``asked_at``): two
#: versions of the app on one database (a rolling update, a server forgotten) would otherwise each
#: have the pages read every row again, in turn, for as long as both run. Pages answer from the
#: directory in memory meanwhile; the command line (an administrator's act) takes over at once.
LEFT_TO_ANOTHER = "15 minutes"

#: The columns a reading adds to ``directory_rows``, and their types.
COLUMNS: dict[str, str] = {
    "usable": "boolean",
    "rid": "text",
    "nom": "text",
    "place": "geometry(Point, 4326)",
    "epsg": "integer",
    "x": "double precision",
    "y": "double precision",
    "public": "boolean",
    "code_insee": "text",
    "langues": "text[]",
    "search": "text",
    "zones": "text[]",
    "fictif": "boolean",
    "approx": "boolean",
    "lookup": "text",
    "odd": "smallint",
    **{f"codes_{facet}": "text[]" for facet in FACETS},
    **{f"bits_{facet}": "bigint" for facet in FACETS},
    **{f"first_{facet}": "smallint" for facet in FACETS},
    "findings": "jsonb",
    "reason": "text",
}
#: The referential's codes a facet's bits hold (bit ``i``: its ``i``-th code, ``referential.codes``).
MAX_BITS = 63
#: What :func:`_readings` gives of each row, in its order (``lon`` and ``lat`` make ``place``).
READ: tuple[str, ...] = (
    "usable", "rid", "nom", "lon", "lat", "epsg", "x", "y", "public", "code_insee", "langues", "search", "zones",
    "fictif", "approx", "lookup", "odd", *(f"codes_{facet}" for facet in FACETS),
    *(f"bits_{facet}" for facet in FACETS), *(f"first_{facet}" for facet in FACETS), "findings", "reason",
)  # fmt: skip
#: The indexes of the readings.
INDEXES = (
    "directory_rows_unread", "directory_rows_place", "directory_rows_rid", "directory_rows_outreach",
    "directory_rows_search", "directory_rows_lookup", "directory_rows_langues",
)  # fmt: skip
#: The outreach actions' type (``analyse.proximity.outreach_covering``): a condition written as is
#: (not a parameter), so that the planner matches it with the index of their rows.
OUTREACH = "r.codes_types && '{aller_vers}'::text[]"

DDL = f"""
ALTER TABLE {SCHEMA}.directory_rows
    {", ".join(f"ADD COLUMN IF NOT EXISTS {name} {kind}" for name, kind in COLUMNS.items())};
CREATE TABLE IF NOT EXISTS {SCHEMA}.directory_readings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    reading_key text NOT NULL
);
ALTER TABLE {SCHEMA}.directory_readings ADD COLUMN IF NOT EXISTS asked_at timestamptz NOT NULL DEFAULT now();
CREATE EXTENSION IF NOT EXISTS pg_trgm;
"""
_CURRENT = "WHERE valid_to IS NULL AND usable"
#: Each index of the readings: what follows « ON directory_rows ».
INDEXED = dict(
    zip(
        INDEXES,
        (
            "(row_key) WHERE valid_to IS NULL AND usable IS NULL",
            f"USING gist (place) {_CURRENT}",
            f"(rid, position, row_key) {_CURRENT}",
            f"USING gin (zones) {_CURRENT} AND {OUTREACH.replace('r.', '', 1)}",
            f"USING gin (search gin_trgm_ops) {_CURRENT}",
            f"USING gin (lookup gin_trgm_ops) {_CURRENT}",
            f"USING gin (langues) {_CURRENT}",
        ),
        strict=True,
    )
)
#: Held while a process builds the indexes (one at a time; another waits, then finds them there).
INDEX_LOCK = KEY_LOCK + 1

#: A current row the app keeps as an actor: usable on its cells, and the first usable row of its
#: identifier (a later one is « identifiant déjà utilisé », as ``validation`` says of a file).
KEPT = f"""r.valid_to IS NULL AND r.usable AND NOT EXISTS (
    SELECT 1 FROM {SCHEMA}.directory_rows e
    WHERE r.rid <> '' AND e.valid_to IS NULL AND e.usable AND e.rid = r.rid
      AND (e.position, e.row_key) < (r.position, r.row_key))"""


#: :data:`KEPT` when the later rows of a repeated identifier are known (``%(shadowed)s``, their keys).
SHOWN = "r.valid_to IS NULL AND r.usable AND r.row_key <> ALL(%(shadowed)s::bigint[])"


class NotAnswered(Exception):
    """A question the database could not answer: the directory changed faster than it was read."""


def full_key(key: str) -> str:
    """The key the readings are stamped with: the caller's (the referential and the code that
    reads a directory, ``app_data.reading_key``), this module's and the metric systems' code."""
    return f"{FORMAT}:{_code_digest()}:{key}"


@cache
def _code_digest() -> str:
    here = Path(__file__).parent
    code = hashlib.sha256()
    # The map's search text is the fiche as the map shows it (carte/actor_layer.py).
    for path in (
        here / "readings.py",
        here.parent / "territoire" / "metric.py",
        here.parent / "carte" / "actor_layer.py",
    ):
        code.update(path.read_bytes())
    return code.hexdigest()[:16]


#: The databases whose readings' columns this process has made sure of.
_READY: set[str] = set()


def ensure_schema(store: PostgresDirectoryStore) -> None:
    """Add the readings' columns, table and indexes when one is missing, once per database and
    process: ``ALTER TABLE`` takes the table's exclusive lock even when its columns are there,
    waiting for every transaction on the directory and holding up each one after it (at each
    question, it waited for every reading; at a page process's first question, for the map's
    reading of a new version). The indexes are built beside the saves (:func:`_build_indexes`)."""
    if store.url in _READY:
        return
    with store._connection() as connection, connection.transaction():
        if not _columns_there(connection):
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (KEY_LOCK,))
            connection.execute(DDL)
        valid = _indexes(connection)
    if not all(valid.get(name) for name in INDEXES):
        _build_indexes(store)
    _READY.add(store.url)


def _build_indexes(store: PostgresDirectoryStore) -> None:
    """Build the indexes missing, ``CONCURRENTLY``: saves and readings go on meanwhile (built in
    the schema's transaction, the three text indexes held every save 13.5 s at a million fiches).
    Such a build cut midway (a process killed, the server restarted) leaves an index marked
    invalid, used by no question and written by every save: it is dropped and built again."""
    with store._connection(alone=True) as connection:
        connection.autocommit = True  # CONCURRENTLY is refused inside a transaction
        connection.execute("SELECT pg_advisory_lock(%s)", (INDEX_LOCK,))  # released with the connection
        valid = _indexes(connection)
        for name, definition in INDEXED.items():
            if valid.get(name) is False:
                connection.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {SCHEMA}.{name}")
            if not valid.get(name):
                connection.execute(f"CREATE INDEX CONCURRENTLY {name} ON {SCHEMA}.directory_rows {definition}")


def _columns_there(connection) -> bool:
    """Whether every column and table of :data:`DDL` is there (the catalogue, no lock)."""
    (columns,) = connection.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = %s AND ("
        "(table_name = 'directory_rows' AND column_name = ANY(%s)) "
        "OR (table_name = 'directory_readings' AND column_name = 'asked_at'))",
        (SCHEMA, list(COLUMNS)),
    ).fetchone()
    return columns == len(COLUMNS) + 1


def _indexes(connection) -> dict[str, bool]:
    """The indexes of :data:`INDEXES` there, and whether each is usable (the catalogue, no lock)."""
    rows = connection.execute(
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = ANY(%s)",
        (SCHEMA, list(INDEXES)),
    ).fetchall()
    return dict(rows)


def unread(store: PostgresDirectoryStore, key: str) -> int | None:
    """How many current rows have no reading under ``key``; None when the readings are another
    key's (every row will be read again). Notes that ``key`` is asked (``asked_at``, at most once
    a minute)."""
    ensure_schema(store)
    with store._connection() as connection:
        found = connection.execute(f"SELECT reading_key FROM {SCHEMA}.directory_readings").fetchone()
        if found is None or found[0] != full_key(key):
            connection.commit()
            return None
        connection.execute(
            f"UPDATE {SCHEMA}.directory_readings SET asked_at = now() WHERE asked_at < now() - interval '1 minute'"
        )
        (count,) = connection.execute(
            f"SELECT count(*) FROM {SCHEMA}.directory_rows WHERE valid_to IS NULL AND usable IS NULL"
        ).fetchone()
        connection.commit()
    return int(count)


def held_by_another(store: PostgresDirectoryStore, key: str) -> bool:
    """Whether the readings are another key's, asked within :data:`LEFT_TO_ANOTHER` (another
    version of the app still running on this database): a page does not take them over."""
    ensure_schema(store)
    with store._connection() as connection:
        found = connection.execute(
            f"SELECT reading_key, asked_at > now() - interval '{LEFT_TO_ANOTHER}' FROM {SCHEMA}.directory_readings"
        ).fetchone()
        connection.commit()
    return found is not None and found[0] != full_key(key) and bool(found[1])


def bring_up_to_date(
    store: PostgresDirectoryStore, referential, key: str, progress=None, *, take_over: bool = True
) -> int:
    """Read every current row that has no reading under ``key`` (all of them when the readings are
    another key's), a block at a time; return how many were read. ``progress(done)`` is called
    after each block. Two processes may do it at once: each takes the rows the other has not
    locked. Without ``take_over``, :class:`NotAnswered` rather than reading every row again for
    another key."""
    ensure_schema(store)
    stamp = full_key(key)
    with store._connection() as connection, connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (KEY_LOCK,))
        found = connection.execute(f"SELECT reading_key FROM {SCHEMA}.directory_readings").fetchone()
        if found is not None and found[0] != stamp and not take_over:
            raise NotAnswered("les fiches sont lues pour une autre version de l'application")
        if found is None or found[0] != stamp:
            connection.execute(
                f"UPDATE {SCHEMA}.directory_rows SET usable = NULL WHERE valid_to IS NULL AND usable IS NOT NULL"
            )
            connection.execute(
                f"INSERT INTO {SCHEMA}.directory_readings (reading_key) VALUES (%s) "
                "ON CONFLICT (singleton) DO UPDATE SET reading_key = EXCLUDED.reading_key, asked_at = now()",
                (stamp,),
            )
    done = 0
    while True:
        read = _read_block(store, referential)
        if not read:
            if done:
                _analyse_if_stale(store, done)
            return done
        done += read
        if progress is not None:
            progress(done)


def _analyse_if_stale(store: PostgresDirectoryStore, done: int) -> None:
    """Give the planner the figures of the rows just read when they change its picture: a block
    or more read, or a tenth of the table, or a table never analysed. Without them, the questions
    on a directory of 5,000 fiches just moved in were planned for a few dozen rows: the coverage
    of the 2,644 communes took 9.4 s, each perimeter's nearest sorting every row."""
    with store._connection() as connection:
        (rows,) = connection.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (f"{SCHEMA}.directory_rows",)
        ).fetchone()
        if done >= BLOCK or rows < 0 or done >= rows / 10:
            connection.execute(f"ANALYZE {SCHEMA}.directory_rows")
        connection.commit()


def _read_block(store: PostgresDirectoryStore, referential) -> int:
    """Read up to :data:`BLOCK` unread current rows and write their readings; how many."""
    from psycopg import sql

    with store._connection() as connection, connection.transaction():
        columns = _head_columns(connection)
        if columns is None:
            return 0
        rows = connection.execute(
            sql.SQL(
                "SELECT row_key, valid_from, {} FROM {}.directory_rows WHERE valid_to IS NULL AND usable IS NULL "
                "LIMIT {} FOR UPDATE SKIP LOCKED"
            ).format(_cells(columns), sql.Identifier(SCHEMA), sql.Literal(BLOCK))
        ).fetchall()
        if not rows:
            return 0
        readings = _readings(columns, [list(row[2:]) for row in rows], referential)
        with connection.cursor() as cursor:
            kinds = {**COLUMNS, "lon": "double precision", "lat": "double precision"}
            cursor.execute(
                "CREATE TEMPORARY TABLE read_rows (row_key bigint, valid_from bigint, "
                f"{', '.join(f'{name} {kinds[name]}' for name in READ)}) ON COMMIT DROP"
            )
            with cursor.copy(f"COPY read_rows (row_key, valid_from, {', '.join(READ)}) FROM STDIN") as copy:
                for (row_key, valid_from, *_), reading in zip(rows, readings, strict=True):
                    copy.write_row((row_key, valid_from, *reading))
            cursor.execute("ANALYZE read_rows")  # else one row read joined every row of every version
            cursor.execute(
                f"UPDATE {SCHEMA}.directory_rows d SET usable = t.usable, rid = t.rid, nom = t.nom, "
                "place = CASE WHEN t.lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326) END, "
                f"{', '.join(f'{name} = t.{name}' for name in READ if name not in ('usable', 'rid', 'nom', 'lon', 'lat'))} "
                "FROM read_rows t WHERE d.row_key = t.row_key AND d.valid_from = t.valid_from"
            )
        return len(rows)


def _head_columns(connection) -> list[str] | None:
    """The columns of the current version, in its order; None when there is none."""
    head = connection.execute(f"SELECT version FROM {SCHEMA}.directory_head").fetchone()[0]
    if not head:
        return None
    (columns,) = connection.execute(
        f"SELECT columns FROM {SCHEMA}.directory_versions WHERE version = %s", (head,)
    ).fetchone()
    return list(columns)


def _cells(columns: list[str]):
    """The cells of a row in the order of ``columns`` (an empty cell ``''``), as SQL."""
    from psycopg import sql

    return sql.SQL(", ").join(sql.SQL("coalesce(cells->>{}, '')").format(sql.Literal(c)) for c in columns)


def _fiches(connection, row_keys: list[int], referential) -> list[dict]:
    """The fiches of the current rows ``row_keys``, in that order, each as the app reads it (the
    record of ``validation.read_alone``: what a fiche shows, every column)."""
    from psycopg import sql

    columns = _head_columns(connection) or []
    rows = connection.execute(
        sql.SQL("SELECT row_key, {} FROM {}.directory_rows WHERE valid_to IS NULL AND row_key = ANY(%s)").format(
            _cells(columns), sql.Identifier(SCHEMA)
        ),
        (row_keys,),
    ).fetchall()
    cells = {row[0]: list(row[1:]) for row in rows}
    return list(read_alone(columns, [cells[key] for key in row_keys], referential))


def _readings(columns: list[str], rows: list[list[str]], referential) -> list[tuple]:
    """Each row's reading, as :data:`READ` names its parts: whether it is usable, its id, name,
    position, commune, languages folded, search text, zones of intervention, whether it is
    fictional and placed at its commune's centre, the map's search text, then the codes of each
    facet; and, usable or not, its own findings (:func:`stored_findings`) and why it is members-only."""
    read = list(read_each(columns, rows, referential))
    records = [None if unusable(found) else record for record, found in read]
    # Kept aside or not, a row's identifier: the one an earlier usable row may hold (« déjà utilisé »).
    ids = [str(record.get("id", "")) for record, _ in read]
    findings = [stored_findings(found) for _, found in read]
    del read
    lon = np.array([_number(r, "longitude") for r in records])
    lat = np.array([_number(r, "latitude") for r in records])
    placed = ~(np.isnan(lon) | np.isnan(lat))
    epsg = np.zeros(len(records), dtype=int)
    x, y = np.full(len(records), np.nan), np.full(len(records), np.nan)
    if placed.any():
        epsg[placed] = zones_of(lon[placed], lat[placed])
        for code in np.unique(epsg[placed]):
            at = placed & (epsg == code)
            x[at], y[at] = to_zone(lon[at], lat[at], int(code))  # as analyse.proximity.ProximityIndex
    usable = [record for record in records if record is not None]
    places = _places(referential)
    searched = iter(_search_texts(usable))
    looked_up = iter(_lookup_texts(usable, referential))
    out = []
    for i, record in enumerate(records):
        if record is None:
            out.append((False, ids[i], *([None] * (len(READ) - 4)), findings[i], None))
            continue
        where = (float(lon[i]), float(lat[i]), int(epsg[i]), float(x[i]), float(y[i])) if placed[i] else (None,) * 5
        codes = [_codes(record.get(column)) for column, _ in FACETS.values()]
        bits, first, odd = _bits(codes, places)
        seen = (
            record.get("visibilite") == "public",
            str(record.get("code_insee") or ""),
            [fold(spoken) for spoken in record.get("langues") or ()],
            next(searched),
            [str(zone) for zone in record.get("zone_intervention") or ()],
            record.get("fictif") is True,
            record.get("geocodage_source") == "commune",
            next(looked_up),
            odd,
        )
        out.append(
            (
                True, str(record.get("id", "")), str(record.get("nom", "")), *where, *seen, *codes, *bits, *first,
                findings[i], str(record.get(REASON_COLUMN) or ""),
            )
        )  # fmt: skip
    return out


def stored_findings(found: list):
    """A row's own findings as kept beside it: ``[column, value, message, severity]`` each, without
    its line (the row's place in the version, counted when asked); None when it has none."""
    from psycopg.types.json import Jsonb

    return Jsonb([[i.column, i.value, i.message, i.severity] for i in found]) if found else None


def _places(referential) -> list[dict[str, int]]:
    """For each facet, the place of each of the referential's codes (the bit it has, its colour)."""
    return [
        {code: i for i, code in enumerate(referential.codes(category))}
        for category in (FILTER_FACETS[facet][1] for facet in FACETS)
    ]


def _bits(codes: list[list[str]], places: list[dict[str, int]]) -> tuple[list[int], list[int], int]:
    """For each facet, the bits of the referential's codes held, the place of the first code held
    (-1: none, or one the referential does not know); and a bit per facet holding a code it does
    not know (kept as written: ``annuaire.validation``)."""
    bits, first, odd = [], [], 0
    for j, (held, place) in enumerate(zip(codes, places, strict=True)):
        mask = 0
        for code in held:
            i = place.get(code, MAX_BITS)
            if i < MAX_BITS:
                mask |= 1 << i
            else:
                odd |= 1 << j
        bits.append(mask)
        first.append(place.get(held[0], -1) if held else -1)
    return bits, first, odd


def _search_texts(records: list[dict]) -> list[str]:
    """The text the free search looks in, of each record: ``analyse.filters.search_text`` itself,
    on the columns it reads."""
    frame = pd.DataFrame({column: [r.get(column) for r in records] for column in SEARCH_COLUMNS}, dtype=object)
    return search_text(frame).tolist() if records else []


def _lookup_texts(records: list[dict], referential) -> list[str]:
    """The text the map's search box looks in, of each record: the name, structure and address as
    its fiche shows them, folded (as ``annuaire.fiche_service`` searches a directory in memory)."""
    if not records:
        return []
    frame = pd.DataFrame({column: [r.get(column) for r in records] for column in records[0]}, dtype=object)
    searched = search_fields()
    return [fold(" ".join(fiche[i] for i in searched)) for fiche in fiche_rows(frame, referential)]


def _number(record: dict | None, name: str) -> float:
    value = None if record is None else record.get(name)
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else math.nan


def _codes(value) -> list[str]:
    if isinstance(value, tuple | list):
        return [str(v) for v in value]
    return [str(value)] if value else []


@dataclass(frozen=True)
class Origin:
    """Where a search starts, in degrees and in the metric system of its territory."""

    lon: float
    lat: float
    epsg: int
    x: float
    y: float

    @classmethod
    def of(cls, lat: float, lon: float) -> Origin:
        zone = zone_of(lon, lat)  # raises ValueError for a position that is not one
        x, y = to_zone(lon, lat, zone.epsg)
        return cls(float(lon), float(lat), zone.epsg, float(x), float(y))


@dataclass(frozen=True)
class Asked:
    """What a question keeps of the directory, as a page keeps it: the filter chosen
    (``analyse.filters.apply_filter``, every field of it) and who asks (``acces.access.visible_actors``:
    a visitor sees the public fiches, when visitors see the map at all). ``perimeters`` and
    ``commune_epci`` are the territory's layers and communes' EPCI (``app_data.Territory``), for a
    filter on a perimeter or an EPCI. By default, every fiche: the server's administration."""

    flt: ActorFilter = field(default_factory=ActorFilter)
    role: str = "administrateur"
    visitors: str = "public"
    perimeters: Mapping | None = None
    commune_epci: Mapping[str, str] | None = None

    def sql(self) -> tuple[str, dict]:
        """The condition on a reading ``r`` (each part after `` AND ``), and its arguments."""
        flt, parts, arguments = self.flt, [], {}
        if not can(self.role, "voir_toutes_les_fiches"):
            parts.append("r.public" if self.visitors == "public" else "false")
        for facet, (_, every) in FACETS.items():
            codes = getattr(flt, facet)
            if codes:
                parts.append(f"r.codes_{facet} {'@>' if every else '&&'} %(f_{facet})s::text[]")
                arguments[f"f_{facet}"] = list(codes)
        if flt.communes:
            parts.append("r.code_insee = ANY(%(communes)s::text[])")
            arguments["communes"] = list(flt.communes)
        if flt.epci:
            chosen = set(flt.epci)
            parts.append("r.code_insee = ANY(%(epci)s::text[])")
            arguments["epci"] = [c for c, e in (self.commune_epci or {}).items() if e in chosen]
        if flt.perimeter:
            shape = perimeter_shape(flt.perimeter, self.perimeters or {})
            if shape is None:
                parts.append("false")
            else:
                parts.append(
                    "r.place && ST_GeomFromWKB(%(shape)s, 4326) AND ST_Intersects(ST_GeomFromWKB(%(shape)s, 4326), r.place)"
                )
                arguments["shape"] = shapely.to_wkb(shape)
        if flt.langues:
            parts.append("r.langues && %(langues)s::text[]")
            arguments["langues"] = [fold(spoken) for spoken in flt.langues]
        for i, word in enumerate(fold(flt.text).split()):
            parts.append(f"r.search LIKE %(w{i})s")
            arguments[f"w{i}"] = holding(word)
        return "".join(f" AND {part}" for part in parts), arguments


def holding(word: str) -> str:
    """The ``LIKE`` pattern of a text holding ``word`` anywhere (its ``%``, ``_`` and ``\\`` taken as
    written): the question a trigram index answers (``strpos`` read every row, 0.6 to 0.9 s at a
    million fiches)."""
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


#: The distance in metres from the origin: in its territory's system for the actors of the same
#: territory, on the ellipsoid for the others (as ``analyse.proximity._distances``).
DISTANCE = """CASE WHEN r.epsg = %(epsg)s THEN sqrt((r.x - %(x)s) ^ 2 + (r.y - %(y)s) ^ 2)
    ELSE ST_Distance(r.place::geography, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography) END"""


def _box(origin: Origin, radius_m: float) -> tuple[float, float, float, float] | None:
    """A box in degrees holding every point within ``radius_m`` of the origin (:func:`_grown`)."""
    return _grown((origin.lon, origin.lat, origin.lon, origin.lat), radius_m)


def _grown(bounds: Sequence[float], metres: float) -> tuple[float, float, float, float] | None:
    """The box ``bounds`` (west, south, east, north, in degrees) grown to hold every point within
    ``metres`` of it, with room to spare (5 %: a territory's system stretches a distance by a few
    parts in a thousand); None when it would reach a pole or cross the antimeridian (then every
    actor is measured)."""
    reach = metres * 1.05 + 1.0
    dlat = reach / 110_000.0
    south, north = bounds[1] - dlat, bounds[3] + dlat
    if south <= -89.0 or north >= 89.0:
        return None
    dlon = reach / (111_000.0 * math.cos(math.radians(max(abs(south), abs(north)))))
    west, east = bounds[0] - dlon, bounds[2] + dlon
    if west <= -180.0 or east >= 180.0:
        return None
    return west, south, east, north


#: Beyond so many actors kept by a filter, the nearest without a radius are found by the index
#: (the closest in degrees first); below, each is measured.
PLENTY = 1000
#: Times a question brings the readings up to date and asks again, saves landing in between.
TRIES = 5


def nearest(
    store: PostgresDirectoryStore,
    referential,
    key: str,
    lat: float,
    lon: float,
    *,
    asked: Asked = Asked(),
    k: int = 10,
    radius_m: float | None = 10_000.0,
    fiches: bool = False,
    version: str | None = None,
    progress=None,
) -> pd.DataFrame:
    """The ``k`` actors closest to (lat, lon) within ``radius_m`` (None: no limit) among those
    ``asked`` keeps: ``id``, ``nom``, ``distance_m`` (rounded to the metre), closest first, ties
    in the directory's order — the answer of ``analyse.proximity.nearest`` on the directory read
    in memory, from the readings of the current version (those missing read first,
    :func:`bring_up_to_date`, ``progress`` told). With ``fiches``, each actor's whole fiche as
    the app reads it (every column, as ``analyse.proximity.nearest`` gives the rows of the
    directory) and ``distance_m``. Given ``version`` (the store's ``current_version()``), answered
    only while it is the current one (:class:`NotAnswered` once a save has made another)."""
    if k <= 0:
        raise ValueError("k doit être positif")
    origin = Origin.of(lat, lon)
    where, arguments = asked.sql()
    arguments |= {"epsg": origin.epsg, "x": origin.x, "y": origin.y, "lon": origin.lon, "lat": origin.lat, "k": k}

    def question(connection) -> pd.DataFrame:
        found = _nearest(connection, origin, where, arguments, radius_m)
        if not fiches:
            return _answer([row[:3] for row in found])
        whole = pd.DataFrame(_fiches(connection, [row[3] for row in found], referential))
        whole["distance_m"] = _answer([row[:3] for row in found])["distance_m"]
        return whole

    return in_snapshot(store, referential, key, progress, question, version)


def in_snapshot(
    store: PostgresDirectoryStore,
    referential,
    key: str,
    progress,
    question,
    version: str | None = None,
    *,
    alone: bool = False,
):
    """``question(connection)`` asked in one snapshot of the directory (repeatable read) where
    every current row has its reading under ``key``: the rows missing are read first, and read
    again when a save lands between the reading and the question (:data:`TRIES` times). Given
    ``version`` (a page asking), :class:`NotAnswered` when the snapshot's is another, or when the
    readings are another key's (a page does not read every row again). ``alone``: on a connection of
    its own (``PostgresDirectoryStore._connection``), for an answer of a hundred megabytes."""
    for _ in range(TRIES):
        bring_up_to_date(store, referential, key, progress, take_over=version is None)
        with store._connection(alone=alone) as connection, connection.transaction():
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            connection.execute("SET LOCAL jit = off")  # compiling cost more than these short questions
            if version is not None:
                (head,) = connection.execute(f"SELECT version FROM {SCHEMA}.directory_head").fetchone()
                if str(head) != str(version):
                    raise NotAnswered(f"l'annuaire n'est plus à la version {version}")
            if _fresh(connection, key):
                return question(connection)
    raise NotAnswered("l'annuaire change plus vite qu'il n'est lu")


def _nearest(connection, origin: Origin, where: str, arguments: dict, radius_m: float | None) -> list[tuple]:
    """(id, name, metres, row key) of the nearest, closest first."""
    if radius_m is None:
        # Few actors kept (none, or a filter that keeps a handful in the country): each measured,
        # one pass over the rows. The index's nearest-first walk would visit every row for them
        # (4 s at a million, against 0.5).
        (kept,) = connection.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {SCHEMA}.directory_rows r WHERE r.valid_to IS NULL AND r.usable "
            f"AND r.place IS NOT NULL{where} LIMIT %(plenty)s) kept",
            {**arguments, "plenty": PLENTY},
        ).fetchone()
        if not kept:
            return []
        radius_m = math.inf if kept < PLENTY else None
    if radius_m is None:  # the k closest in degrees bound the k closest in metres
        knn = _closest_in_degrees(connection, where, arguments)
        if not knn:
            return []
        bound = max(knn)
    else:
        bound = float(radius_m)
        within = _box(origin, bound) if math.isfinite(bound) else None
        if within is not None:
            # The same bound, inside the radius's box: in a town, the k closest lie a few hundred
            # metres away, and measuring every fiche of the radius (each IVG partner within 10 km
            # of Rouen's centre: 0.46 s at a million) gave way to measuring those of a small box.
            knn = _closest_in_degrees(
                connection,
                where + " AND r.place && ST_MakeEnvelope(%(kw)s, %(ks)s, %(ke)s, %(kn)s, 4326)",
                arguments | dict(zip(("kw", "ks", "ke", "kn"), within, strict=True)),
            )
            if not knn:
                return []
            bound = min(bound, max(knn))  # fewer than k in the box: each of them, all measured
    box = _box(origin, bound)
    if box is not None:
        where += " AND r.place && ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326)"
        arguments |= dict(zip(("w", "s", "e", "n"), box, strict=True))
    arguments["bound"] = bound + 0.01  # as proximity.nearest: one centimetre of slack on the circle
    return connection.execute(
        f"SELECT rid, nom, d, row_key FROM (SELECT r.rid, r.nom, r.position, r.row_key, {DISTANCE} AS d "
        f"FROM {SCHEMA}.directory_rows r WHERE {KEPT} AND r.place IS NOT NULL{where}) found "
        "WHERE d <= %(bound)s ORDER BY d, position, row_key LIMIT %(k)s",
        arguments,
    ).fetchall()


def _closest_in_degrees(connection, where: str, arguments: dict) -> list[float]:
    """The distances in metres of the ``k`` actors closest in degrees (the index's nearest-first
    walk): the farthest of them bounds the ``k`` closest in metres."""
    rows = connection.execute(
        f"SELECT {DISTANCE} FROM {SCHEMA}.directory_rows r WHERE {KEPT} AND r.place IS NOT NULL{where} "
        "ORDER BY r.place <-> ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) LIMIT %(k)s",
        arguments,
    ).fetchall()
    return [float(d) for (d,) in rows]


def matching(
    store: PostgresDirectoryStore,
    referential,
    key: str,
    *,
    asked: Asked = Asked(),
    limit: int | None = None,
    offset: int = 0,
    progress=None,
) -> tuple[int, pd.DataFrame]:
    """How many actors ``asked`` keeps, and ``limit`` of them (None: all) from ``offset``, in the
    directory's order: ``id``, ``nom``, ``latitude``, ``longitude`` (NaN: not placed) — the
    actors ``analyse.filters.apply_filter`` keeps of the directory read in memory, counted and
    listed without it."""
    where, arguments = asked.sql()
    arguments |= {"limit": limit, "offset": int(offset)}

    def question(connection) -> tuple[int, pd.DataFrame]:
        (total,) = connection.execute(
            f"SELECT count(*) FROM {SCHEMA}.directory_rows r WHERE {KEPT}{where}", arguments
        ).fetchone()
        rows = connection.execute(
            f"SELECT r.rid, r.nom, ST_Y(r.place), ST_X(r.place) FROM {SCHEMA}.directory_rows r WHERE {KEPT}{where} "
            "ORDER BY r.position, r.row_key LIMIT %(limit)s OFFSET %(offset)s",
            arguments,
        ).fetchall()
        frame = pd.DataFrame(rows, columns=["id", "nom", "latitude", "longitude"])
        return int(total), frame.astype({"latitude": float, "longitude": float})

    return in_snapshot(store, referential, key, progress, question)


def spoken(
    store: PostgresDirectoryStore, referential, key: str, *, asked: Asked = Asked(), version: str | None = None
) -> list[str]:
    """The languages the actors ``asked`` keeps speak, as their fiches write them, each once,
    sorted: what the page offers to choose among (the languages of the directory read in memory).
    A reading keeps them folded; the written ones are those of one fiche for each way a cell
    writes them (a few hundred fiches, read as the app reads them), not of every row. Given
    ``version``, as :func:`nearest`."""
    where, arguments = asked.sql()

    def question(connection) -> list[str]:
        keys = connection.execute(
            f"SELECT DISTINCT ON (r.cells->>'langues') r.row_key FROM {SCHEMA}.directory_rows r "
            f"WHERE {KEPT} AND r.langues <> '{{}}'{where}",
            arguments,
        ).fetchall()
        fiches = _fiches(connection, [k for (k,) in keys], referential)
        return sorted({language for fiche in fiches for language in fiche.get("langues") or ()})

    return in_snapshot(store, referential, key, None, question, version)


def passing_through(
    store: PostgresDirectoryStore,
    referential,
    key: str,
    commune: str | None,
    zones: set[str],
    *,
    asked: Asked = Asked(),
    version: str | None = None,
) -> pd.DataFrame:
    """The fiches of the outreach actions ``asked`` keeps whose zone of intervention names
    ``commune`` or one of ``zones`` (QPV codes): ``analyse.proximity.outreach_covering`` of the
    directory read in memory, asked of the zones each reading keeps as the app reads them
    (through the index of the outreach actions' zones), that rule then applied to their fiches.
    Given ``version``, as :func:`nearest`."""
    codes = sorted(set(zones) | ({commune} if commune else set()))
    where, arguments = asked.sql()
    arguments |= {"codes": codes}

    def question(connection) -> pd.DataFrame:
        if not codes:
            return pd.DataFrame(columns=["id", "nom", "type", "zone_intervention"])
        keys = connection.execute(
            f"SELECT r.row_key FROM {SCHEMA}.directory_rows r WHERE {KEPT}{where} "
            f"AND {OUTREACH} AND r.zones && %(codes)s::text[] "
            "ORDER BY r.position, r.row_key",
            arguments,
        ).fetchall()
        fiches = pd.DataFrame(_fiches(connection, [k for (k,) in keys], referential))
        if fiches.empty:
            return pd.DataFrame(columns=["id", "nom", "type", "zone_intervention"])
        return outreach_covering(fiches, commune, set(zones))

    return in_snapshot(store, referential, key, None, question, version)


#: The later rows of a repeated identifier (:data:`SHOWN`'s ``shadowed``), in the directory's order.
SHADOWED = f"""SELECT row_key FROM (SELECT row_key, row_number() OVER (PARTITION BY rid ORDER BY position, row_key)
    AS n FROM {SCHEMA}.directory_rows WHERE valid_to IS NULL AND usable AND rid IN (
    SELECT rid FROM {SCHEMA}.directory_rows WHERE valid_to IS NULL AND usable AND rid <> ''
    GROUP BY rid HAVING count(*) > 1)) repeated WHERE n > 1"""


def _shadowed(connection) -> list[int]:
    return [key for (key,) in connection.execute(SHADOWED).fetchall()]


def fiche_frame(connection, keys: list[int], referential) -> pd.DataFrame:
    """The fiches of row keys ``keys`` as a frame (index: the keys); none: the columns of a fiche."""
    if not keys:
        return pd.DataFrame(
            columns=[*(c.name for c in registry.REGISTRY), REASON_COLUMN], index=pd.Index([], dtype="i8")
        )
    frame = pd.DataFrame(_fiches(connection, keys, referential))
    frame.index = pd.Index(keys, dtype="i8")
    return frame


def _answer(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["id", "nom", "distance"])
    frame["distance_m"] = np.rint(frame.pop("distance").astype(float)).astype(int)
    return frame


def coverage(
    store: PostgresDirectoryStore,
    referential,
    key: str,
    layer,
    *,
    asked: Asked = Asked(),
    distance_m: float = 1000.0,
    progress=None,
) -> pd.DataFrame:
    """The coverage of ``layer`` (an ``analyse.coverage.PreparedLayer``) by the actors ``asked``
    keeps, one row per perimeter: ``code``, ``nom``, ``n_inside`` (an edge counts),
    ``n_within`` (at most ``distance_m`` from it), ``population``, ``per_10k``,
    ``distance_nearest_m``, ``gap`` — the columns of ``analyse.coverage.coverage_table`` but its
    outreach, measured as it measures them: each perimeter in its territory's system with the
    actors of that territory, those of another on the ellipsoid from its inner point."""
    where, arguments = asked.sql()
    return in_snapshot(
        store, referential, key, progress, lambda c: _coverage(c, layer, where, arguments, float(distance_m))
    )


#: The perimeters of a question: in their territory's system, their inner point and box in degrees,
#: and the box of the actors that may count (a perimeter's box grown by the distance asked).
PERIMETERS = """CREATE TEMPORARY TABLE perimeters (i integer PRIMARY KEY, epsg integer, geom geometry,
    lon double precision, lat double precision, west double precision, south double precision,
    east double precision, north double precision, near geometry) ON COMMIT DROP"""
#: A position of the readings in the perimeter's system.
LOCAL = "ST_SetSRID(ST_MakePoint(r.x, r.y), p.epsg)"
#: Where a perimeter's actors are looked for: in its box, through the index (a condition with an OR
#: here made every question a scan of every row for each perimeter).
NEAR = "r.place && p.near"
#: The box of a perimeter that would reach a pole or cross the antimeridian: the whole world.
WORLD = (-180.0, -90.0, 180.0, 90.0)


def _coverage(connection, layer, where: str, arguments: dict, distance_m: float) -> pd.DataFrame:
    from reseaux.analyse.coverage import measured

    frame = layer.frame
    n = len(frame)
    inside, within = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    nearest = np.full(n, np.nan)
    arguments = {**arguments, "d": distance_m}
    connection.execute(PERIMETERS)
    bounds = _write_perimeters(connection, layer, distance_m)
    # The actors of its territory near each perimeter: in its box (the index), then measured
    # against its pieces (an outline of a thousand points, cut in pieces of 64 at most: each
    # measure skips the pieces whose box is too far; 2,644 communes at a million actors went
    # from 35 s to a few).
    connection.execute(
        "CREATE TEMPORARY TABLE pieces ON COMMIT DROP AS "
        "SELECT i, ST_Subdivide(geom, 64) AS geom FROM perimeters; "
        "CREATE INDEX ON pieces (i); ANALYZE pieces"
    )
    # A repeated identifier's later rows, found once (« KEPT » for each pair of a perimeter
    # and an actor was a third of the time).
    arguments["shadowed"] = _shadowed(connection)
    counted = connection.execute(
        "SELECT i, count(*) FILTER (WHERE inside), count(*) FROM ("
        f"SELECT p.i, EXISTS (SELECT 1 FROM pieces q WHERE q.i = p.i AND ST_Intersects(q.geom, {LOCAL})) AS inside "
        f"FROM perimeters p JOIN {SCHEMA}.directory_rows r ON {NEAR} AND r.epsg = p.epsg "
        f"WHERE {SHOWN}{where} AND EXISTS (SELECT 1 FROM pieces q WHERE q.i = p.i "
        f"AND ST_DWithin(q.geom, {LOCAL}, %(d)s))) pairs GROUP BY i",
        arguments,
    ).fetchall()
    for i, n_inside, n_within in counted:
        inside[i], within[i] = n_inside, n_within
    nearest[inside > 0] = 0.0  # an actor inside: none nearer
    # The nearest of its territory, for the others: the one closest to its inner point in
    # degrees bounds it, then every actor within the bound of its outline is measured.
    first = connection.execute(
        f"SELECT p.i, (SELECT ST_Distance(p.geom, {LOCAL}) FROM {SCHEMA}.directory_rows r "
        f"WHERE {KEPT} AND r.place IS NOT NULL AND r.epsg = p.epsg{where} "
        "ORDER BY r.place <-> ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326) LIMIT 1) "
        "FROM perimeters p WHERE p.i = ANY(%(open)s)",
        {**arguments, "open": np.flatnonzero(inside == 0).tolist()},
    ).fetchall()
    bounded = [(i, _grown(bounds[i], metres)) for i, metres in first if metres is not None]
    connection.execute(
        "UPDATE perimeters p SET near = ST_MakeEnvelope(b.west, b.south, b.east, b.north, 4326) "
        "FROM unnest(%s::integer[], %s::float8[], %s::float8[], %s::float8[], %s::float8[]) "
        "AS b(i, west, south, east, north) WHERE b.i = p.i",
        [[i for i, _ in bounded], *([(box or WORLD)[k] for _, box in bounded] for k in range(4))],
    )
    found = connection.execute(
        f"SELECT p.i, (SELECT min((SELECT min(ST_Distance(q.geom, {LOCAL})) FROM pieces q WHERE q.i = p.i)) "
        f"FROM {SCHEMA}.directory_rows r WHERE {KEPT} AND r.place IS NOT NULL AND {NEAR} AND r.epsg = p.epsg{where}) "
        "FROM perimeters p WHERE p.i = ANY(%(i)s)",
        {**arguments, "i": [i for i, _ in bounded]},
    ).fetchall()
    for i, metres in found:
        if metres is not None:
            nearest[i] = metres
    # Another territory's actors, on the ellipsoid from the inner point: only those nearer
    # than the nearest of its own (every one, where it has none).
    for i, metres in _far(connection, where, arguments, nearest):
        nearest[i] = min(metres, nearest[i]) if np.isfinite(nearest[i]) else metres
    return measured(frame, inside, within, nearest, None)


def _write_perimeters(connection, layer, distance_m: float) -> dict[int, tuple[float, ...]]:
    """Write the perimeters of ``layer`` (``near``: their box grown by ``distance_m``); return
    each one's box in degrees."""
    bounds: dict[int, tuple[float, ...]] = {}
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY perimeters (i, epsg, geom, lon, lat, west, south, east, north, near) FROM STDIN"
        ) as copy:
            for part in layer.parts:
                wgs = part.frame.geometry.to_crs(4326)
                for j, row in enumerate(part.rows):
                    box = tuple(float(v) for v in wgs.iloc[j].bounds)
                    bounds[int(row)] = box
                    near = _grown(box, distance_m) or WORLD
                    copy.write_row(
                        (
                            int(row),
                            part.zone.epsg,
                            f"SRID={part.zone.epsg};{shapely.to_wkt(part.frame.geometry.iloc[j], rounding_precision=-1)}",
                            float(part.lon[j]),
                            float(part.lat[j]),
                            *box,
                            "SRID=4326;" + shapely.to_wkt(shapely.box(*near), rounding_precision=-1),
                        )
                    )
        cursor.execute("ANALYZE perimeters")
    return bounds


def _far(connection, where: str, arguments: dict, local: np.ndarray) -> list[tuple[int, float]]:
    """(perimeter, metres) to the nearest actor of another territory, where it is nearer than
    ``local`` (NaN: none of its own) — from the perimeter's inner point, on the ellipsoid."""
    inner = "ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)"
    distance = f"ST_Distance(r.place::geography, {inner}::geography)"
    bounds = {}
    for i, lon, lat in connection.execute("SELECT i, lon, lat FROM perimeters").fetchall():
        bound = local[i]
        if not np.isfinite(bound):  # none of its own: the closest in degrees bounds the closest in metres
            first = connection.execute(
                f"SELECT {distance} FROM perimeters p, {SCHEMA}.directory_rows r WHERE p.i = %(p)s AND {KEPT} "
                f"AND r.place IS NOT NULL AND r.epsg <> p.epsg{where} ORDER BY r.place <-> {inner} LIMIT 1",
                {**arguments, "p": i},
            ).fetchone()
            if first is None:
                continue
            bound = first[0]
        bounds[i] = _grown((lon, lat, lon, lat), bound) or WORLD
    found = connection.execute(
        f"SELECT p.i, min({distance}) FROM perimeters p "
        "JOIN unnest(%(i)s::integer[], %(w)s::float8[], %(s)s::float8[], %(e)s::float8[], %(n)s::float8[]) "
        "AS b(i, west, south, east, north) ON b.i = p.i "
        f"JOIN {SCHEMA}.directory_rows r ON r.place && ST_MakeEnvelope(b.west, b.south, b.east, b.north, 4326) "
        f"AND r.epsg <> p.epsg WHERE {KEPT}{where} GROUP BY p.i",
        {**arguments, "i": list(bounds), **{k: [box[j] for box in bounds.values()] for j, k in enumerate("wsen")}},
    ).fetchall()
    return [(i, float(m)) for i, m in found if m is not None and (not np.isfinite(local[i]) or m < local[i])]


def _fresh(connection, key: str) -> bool:
    """Whether every current row has its reading under ``key``, in this transaction's snapshot."""
    stamp = connection.execute(f"SELECT reading_key FROM {SCHEMA}.directory_readings").fetchone()
    if stamp is None or stamp[0] != full_key(key):
        return False
    return not connection.execute(
        f"SELECT EXISTS (SELECT 1 FROM {SCHEMA}.directory_rows WHERE valid_to IS NULL AND usable IS NULL)"
    ).fetchone()[0]


#: The current rows a page of Qualité names: numbered by their place in the version (the
#: spreadsheet line of the directory written as a file: the header is line 1), with the line of
#: the first usable row holding their identifier. Those with findings, kept aside, or whose
#: identifier an earlier usable row holds.
QUALITY = f"""
WITH numbered AS (
    SELECT row_number() OVER (ORDER BY position, row_key) + 1 AS line, row_key, usable, rid, findings
    FROM {SCHEMA}.directory_rows WHERE valid_to IS NULL
), firsts AS (
    SELECT *, min(line) FILTER (WHERE usable) OVER (PARTITION BY rid) AS first_line FROM numbered
)
SELECT line, row_key, findings, NOT usable OR (rid <> '' AND first_line < line),
       CASE WHEN rid <> '' AND first_line < line THEN rid END, first_line
FROM firsts
WHERE findings IS NOT NULL OR NOT usable OR (rid <> '' AND first_line < line)
ORDER BY line"""


def quality(store: PostgresDirectoryStore, referential, key: str, version: str | None = None, progress=None):
    """What Qualité shows of the current version (``annuaire.quality.Quality``), as a directory read
    in memory gives it (:func:`~reseaux.annuaire.quality.of_directory`): each row's own findings
    kept by its reading, numbered by its place; an identifier an earlier usable row holds, found
    by the database; the header's problems, read from the version's columns; a warning on a date
    judged again today (a day in the future when read may be past). The process holds the rows
    named and the cells of those kept aside, never the directory."""
    from psycopg import sql

    from reseaux.annuaire.quality import Quality
    from reseaux.annuaire.validation import MAX_CELL, map_header

    def question(connection):
        columns = _head_columns(connection) or []
        named = connection.execute(QUALITY).fetchall()
        aside = [row_key for _, row_key, _, kept_aside, _, _ in named if kept_aside]
        cells = {}
        if aside:
            asked = sql.SQL(
                "SELECT row_key, {} FROM {}.directory_rows WHERE valid_to IS NULL AND row_key = ANY(%s)"
            ).format(_cells(columns), sql.Identifier(SCHEMA))
            cells = {row[0]: row[1:] for row in connection.execute(asked, (aside,))}
        counts = connection.execute(
            f"SELECT count(*), count(*) FILTER (WHERE r.place IS NULL), count(*) FILTER (WHERE r.approx) "
            f"FROM {SCHEMA}.directory_rows r WHERE {KEPT}"
        ).fetchone()
        hidden = connection.execute(
            f"SELECT r.reason, count(*) FROM {SCHEMA}.directory_rows r WHERE {KEPT} AND NOT r.public GROUP BY r.reason"
        ).fetchall()
        return columns, named, cells, counts, dict(hidden)

    columns, named, cells, (loaded, unplaced, approximate), hidden = in_snapshot(
        store, referential, key, progress, question, version
    )
    header, issues = map_header(columns)
    rejected = []
    for line, row_key, findings, _, taken, first in named:
        row = [issue for issue in (_judged_again(Issue(line, *found)) for found in findings or ()) if issue]
        if taken:
            row.append(taken_id_issue(line, taken, first))
        issues.extend(row)
        if row_key in cells:
            # As the validation keeps them: stripped, a cell too long cut to its limit.
            raw = {name: value.strip()[:MAX_CELL] for name, value in zip(header, cells[row_key], strict=True) if name}
            rejected.append({"ligne": line, **raw, "erreurs": " ; ".join(str(i) for i in row if i.severity == ERROR)})
    return Quality(
        loaded=int(loaded),
        rejected=pd.DataFrame(rejected, columns=["ligne", *[h for h in header if h], "erreurs"]),
        unplaced=int(unplaced),
        approximate=int(approximate),
        issues=issues,
        hidden=hidden_sentence_of(hidden),
    )


#: The directory's date columns: a warning on one is judged against the day it is read.
_DATES = frozenset(c.name for c in registry.columns() if c.kind == registry.DATE)


def _judged_again(issue: Issue) -> Issue | None:
    """A warning on a date as it is judged today (None: fine now); any other as found."""
    if issue.column not in _DATES or issue.severity == ERROR:
        return issue
    problem = update_date(issue.value).problem
    return replace(issue, message=problem) if problem else None
