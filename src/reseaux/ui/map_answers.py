"""What the map page shows of the directory — its counts and notices, the actors the filters keep,
where they stand and in which colour, their fiches — answered by the directory read in memory or,
on PostgreSQL, by the database without a process holding the directory: an index of its rows
(:mod:`reseaux.stockage.directory_index`, about a hundred bytes an actor), its fiches asked by row
when shown.

The database answers when its readings are those of this code and may answer now
(:func:`~reseaux.ui.loading.database_answers`); else, and when a save lands meanwhile, the page
reads the directory as it always did: the same answers (``tests/test_map_answers.py`` compares them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from reseaux import config
from reseaux.acces.access import can, exportable_actors, visible_actors
from reseaux.analyse.filters import FIELD_NAMES, ActorFilter, FilterResult, apply_filter, describe, emptying_fields
from reseaux.annuaire.exports import tables_csv_bytes
from reseaux.annuaire.fiche_service import ServedRows
from reseaux.annuaire.listing import people_table
from reseaux.annuaire.model import placed_mask
from reseaux.annuaire.referential import Referential
from reseaux.app_data import Actors, Territory
from reseaux.carte.actor_layer import palette_of
from reseaux.carte.legend import COLOR_BY, legend_codes
from reseaux.carte.mapview import MapView
from reseaux.stockage import DATABASE, StorageUnavailable
from reseaux.ui import auth
from reseaux.ui.database_rows import DatabaseRows, database_rows

T = TypeVar("T")


@dataclass
class MapAnswers:
    """What the map page shows, from whichever source answered."""

    #: The directory as the person sees it: its actors, the fiches reserved to members, the rows
    #: set aside (said to members only), the demonstration fiches, those placed at their
    #: commune's centre, those without a position.
    total: int
    reserved: int
    rejected: int
    fictive: int
    approximate: int
    unplaced: int
    placed_total: int
    #: Its placed actors' ``latitude`` and ``longitude`` (the map's opening view, « Aller à », the
    #: perimeters offered): one frame per version and view, the same object from run to run.
    positions: pd.DataFrame
    #: The communes (INSEE codes) its actors are in, for the sidebar's list.
    communes: list[str]
    #: What the map's token serves the fiches of (:mod:`reseaux.annuaire.fiche_service`).
    rows: pd.DataFrame | ServedRows
    #: What the filters keep: the sentence that says them, how many, how many placed, the codes of
    #: the colouring category among them (the legend).
    sentence: str
    count: int
    placed: int
    legend: list[str]
    #: The placed actors drawn (``latitude``, ``longitude``, indexed by fiche row) and their colour
    #: indexes (None: computed by the map from the frame's own column).
    drawn: pd.DataFrame
    colors: np.ndarray | None
    #: The fields of the filter each of which, taken off alone, gives actors back.
    culprits: Callable[[], list[str]] = field(repr=False)
    #: How many of the actors kept are members-only fiches (an export leaves them out but for the coordination).
    withheld: Callable[[], int] = field(repr=False)
    #: The fiches of every actor kept, as the app reads them, ``size`` at a time, in the directory's
    #: order (at least one part, empty when none is kept).
    parts: Callable[[int], Iterator[pd.DataFrame]] = field(repr=False)

    def listed(self, n: int | None = None) -> pd.DataFrame:
        """The fiches of the first ``n`` actors kept (None: all of them), in the directory's order."""
        if n is not None:
            return next(self.parts(n))
        read = list(self.parts(EXPORTED_AT_ONCE))
        return read[0] if len(read) == 1 else pd.concat(read)

    def exported(self, role: str) -> int:
        """How many fiches an export of ``role`` holds: those kept, but the members-only fiches for
        whoever may see them and not take them away."""
        return self.count - (0 if can(role, "exporter_fiches_reservees") else self.withheld())

    def exported_csv(self, ref: Referential, role: str) -> bytes:
        """The list of what ``role`` may take away, as people read it (``people_table``), as CSV
        for Excel: read and written :data:`EXPORTED_AT_ONCE` fiches at a time (on PostgreSQL, a
        million fiches were read at once for one click, gigabytes in the server)."""
        return tables_csv_bytes(
            people_table(exportable_actors(part, role), ref) for part in self.parts(EXPORTED_AT_ONCE)
        )


#: Fiches an export reads and writes at once.
EXPORTED_AT_ONCE = 50_000


def _slices(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    """``frame`` ``size`` rows at a time (itself when empty: the header of a file still written)."""
    yield from (frame.iloc[i : i + size] for i in range(0, max(len(frame), 1), size))


def answers(
    ref: Referential, terr: Territory, flt: ActorFilter, view: MapView, held: Callable[[], Actors]
) -> MapAnswers:
    """This run's answers: the database's when it may answer, else those of the directory in memory
    (``held()``: read the first time it is needed, :func:`~reseaux.ui.loading.directory_on_demand`)."""
    found = _of_database(ref, terr, flt, view)
    return found if found is not None else of_memory(ref, terr, flt, view, held())


def counted(ref: Referential, terr: Territory, flt: ActorFilter, view: MapView, held: Callable[[], Actors]) -> int:
    """How many actors ``flt`` keeps, as :func:`answers` counts them (a scene's « {n} »): on the
    database from the answers it keeps for that filter and colouring (the stage asks the same), in
    memory by the filter alone."""
    found = on_database(ref, lambda seen, role, visitors: of_database(ref, terr, flt, view, seen, role, visitors).count)
    return found if found is not None else len(filtered(ref, terr, held(), flt).actors)


def filtered(ref: Referential, terr: Territory, acts: Actors, flt: ActorFilter) -> FilterResult:
    """The actors of ``acts`` (read in memory) that ``flt`` keeps, and the sentence that says it."""
    return apply_filter(acts.directory.actors, flt, ref, place_names=terr.place_names, **_context(terr, acts))


def _context(terr: Territory, acts: Actors) -> dict:
    return {"perimeters": terr.layers, "commune_epci": terr.commune_epci, "search": acts.search, "facets": acts.facets}


def of_memory(ref: Referential, terr: Territory, flt: ActorFilter, view: MapView, acts: Actors) -> MapAnswers:
    """The answers of the directory read in memory (``acts``, as the person may see it)."""
    result = filtered(ref, terr, acts, flt)
    directory, shown = acts.directory, result.actors
    frame = directory.actors
    total = len(frame)
    placed = placed_mask(shown)
    return MapAnswers(
        total=total,
        reserved=acts.reserved,
        rejected=len(directory.rejected),
        fictive=int(frame["fictif"].sum()) if total else 0,
        approximate=int((frame["geocodage_source"] == "commune").sum()) if total else 0,
        unplaced=directory.n_unplaced,
        placed_total=directory.n_placed,
        positions=frame,
        # The distinct codes, not a Python set of a million cells (0.57 s at every rerun at 1,000,000).
        communes=[c for c in frame["code_insee"].unique().tolist() if c] if total else [],
        rows=frame,
        sentence=result.sentence,
        count=len(shown),
        placed=int(placed.sum()),
        legend=legend_codes(shown, view.color_by),
        drawn=shown[placed],
        colors=None,
        culprits=lambda: emptying_fields(frame, flt, ref, **_context(terr, acts)),
        withheld=lambda: len(shown) - len(visible_actors(shown, "visiteur", "public")),
        parts=lambda size: _slices(shown, size),
    )


def _of_database(ref: Referential, terr: Territory, flt: ActorFilter, view: MapView) -> MapAnswers | None:
    """The answers of the database, at the version this run shows; None when it cannot give them now
    (its readings not ready, a save since this run began, the database gone: the directory in memory
    answers, read as every page reads it)."""
    return on_database(ref, lambda seen, role, visitors: of_database(ref, terr, flt, view, seen, role, visitors))


def on_database(ref: Referential, question: Callable[[DatabaseRows, str, str], T]) -> T | None:
    """``question(seen, role, visitors)`` asked of the directory as the person signed in (or not)
    sees it in the database (``seen``: its index's view, :func:`~reseaux.ui.database_rows.database_rows`),
    at the version this run shows; None when the database cannot answer now."""
    role, visitors = auth.current()[0], config.get("visitors")
    return at_version(ref, lambda version: question(database_rows(ref, version, role, visitors), role, visitors))


def at_version(ref: Referential, question: Callable[[str], T]) -> T | None:
    """``question(version)`` asked of the database at the version this run shows (its readings
    those of this code and ``ref``, :func:`~reseaux.ui.loading.database_answers`); None when it
    cannot answer now: the page answers from the directory in memory."""
    import psycopg

    from reseaux.stockage import readings
    from reseaux.ui.loading import database_answers

    source, stamp = st.session_state.get("_directory_source", ("", 0.0))
    if source != DATABASE or not database_answers(ref):
        return None
    try:
        return question(str(int(stamp)))
    except (readings.NotAnswered, StorageUnavailable):
        return None
    except psycopg.Error:  # any other refusal of the database: said to the server's log, not to the person
        logging.getLogger(__name__).exception("page non répondue par la base")
        return None


def of_database(
    ref: Referential, terr: Territory, flt: ActorFilter, view: MapView, seen: DatabaseRows, role: str, visitors: str
) -> MapAnswers:
    """The answers of the database for ``role`` (``seen``: the directory as that role sees it, at the
    version shown, its index held by the process). What the page asks later (the list, the filter
    that empties it) is asked at that version: a save landing meanwhile runs the page again, on the
    version it made."""
    from reseaux.stockage.directory_index import PUBLIC

    index = seen.index
    drawn = _drawn(seen.name, repr(flt), id(terr), view.color_by, _seen=seen, _flt=flt, _terr=terr, _ref=ref)
    kept = drawn.kept
    every = can(role, "voir_toutes_les_fiches")

    def culprits() -> list[str]:
        return [name for name in FIELD_NAMES if getattr(flt, name) and seen.keeps(flt.without(name), terr).any()]

    def parts(size: int) -> Iterator[pd.DataFrame]:
        keys, read = index.rows[kept], _or_again(seen.fiche_frame)
        for i in range(0, max(len(keys), 1), size):
            yield read(keys[i : i + size])

    return MapAnswers(
        total=seen.total,
        reserved=0 if every else int(index.kept.sum()) - seen.total,
        rejected=index.unusable + int((~index.kept).sum()) if every else 0,
        fictive=seen.fictive,
        approximate=seen.approximate,
        unplaced=seen.total - len(seen.positions),
        placed_total=len(seen.positions),
        positions=seen.positions,
        communes=seen.communes,
        rows=seen,
        sentence=describe(flt, ref, terr.place_names),
        count=drawn.count,
        placed=len(drawn.frame),
        legend=drawn.legend,
        drawn=drawn.frame,
        colors=drawn.colors,
        culprits=_or_again(culprits),
        withheld=lambda: int((kept & ~index.flag(PUBLIC)).sum()),
        parts=parts,
    )


@dataclass(frozen=True)
class _Drawn:
    """What a filter keeps of one view, and how the map draws it."""

    #: A boolean per row of the index (1 MB at a million).
    kept: np.ndarray
    count: int
    #: The placed rows kept (``latitude``, ``longitude``, indexed by row key), their colours, the legend's codes.
    frame: pd.DataFrame
    colors: np.ndarray
    legend: list[str]
    #: Held while the answer is: its ``id`` in the key stays its own (a territory read again is another key).
    territory: Territory = field(repr=False)


#: The filters' answers a process keeps (all views together).
DRAWN_KEPT = 32


@st.cache_resource(show_spinner=False, max_entries=DRAWN_KEPT)
def _drawn(
    name: tuple, flt_key: str, territory_key: int, color_by: str, *, _seen: DatabaseRows, _flt, _terr, _ref
) -> _Drawn:
    """What ``_flt`` keeps of view ``_seen`` (``name``: its name) and how the map draws it in
    ``color_by``, once per view, filter and colouring in the process: a rerun for the list, a
    fiche or a download asks nothing again, and copies nothing (the drawn frame was 24 MB of
    copies at a million fiches, the colours and the legend 30 to 70 ms, at every run)."""
    from reseaux.stockage import directory_index
    from reseaux.stockage.readings import FACETS

    seen, flt, index = _seen, _flt, _seen.index
    kept = seen.keeps(flt, _terr)
    shown = kept & index.placed
    facet = next(f for f, (column, _) in FACETS.items() if column == COLOR_BY[color_by][0])
    palette = palette_of(_ref, color_by)
    highlight = flt.themes if color_by == "thematique" else flt.professions

    def odd_codes(keys) -> set[str]:
        return directory_index.odd_codes(seen.store, _ref, seen.key, seen.version, facet, keys)

    return _Drawn(
        kept=kept,
        count=int(kept.sum()),
        frame=seen.frame(shown),
        colors=index.colors(shown, facet, palette, [c for c in highlight if c in palette]),
        legend=index.legend(kept, facet, _ref, odd_codes),
        territory=_terr,
    )


def _or_again(question: Callable) -> Callable:
    """``question``, asked of the database later in the run: a save landing since the run began
    (NotAnswered) runs the page again, on the version it made, rather than a trace."""
    from reseaux.stockage import readings

    def asked(*args):
        try:
            return question(*args)
        except readings.NotAnswered:
            st.rerun()
            raise

    return asked
