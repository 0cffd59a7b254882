"""The data every page needs, loaded once per server (per file version, per role) and shown in
French when it cannot be loaded."""

from __future__ import annotations

import gc
import logging
import secrets
import threading
import weakref
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from reseaux import config, memory
from reseaux.acces.access import ROLES, can
from reseaux.analyse.proximity import ProximityIndex
from reseaux.annuaire import fields
from reseaux.annuaire.directory import DirectoryError
from reseaux.annuaire.fiche_service import FICHES_PATH, SERVICE, ServedRows
from reseaux.annuaire.referential import Referential
from reseaux.app_data import (
    Actors,
    Territory,
    forget_last_read,
    load_actors,
    load_referential_file,
    load_territory,
    visible_view,
)
from reseaux.carte.actor_layer import FicheStore
from reseaux.stockage import (
    DATABASE,
    DatabaseDirectory,
    StorageUnavailable,
    database_url,
    directory_source,
    directory_store,
    unchanged,
)
from reseaux.territoire.france import FranceDataMissing
from reseaux.territoire.layer_store import added_stamp
from reseaux.territoire.layers import RegistryError
from reseaux.territoire.territory import TerritoryError
from reseaux.text import plural
from reseaux.ui import auth


@st.cache_resource(show_spinner="Chargement des périmètres…", max_entries=2)
def _territory(stamp: tuple) -> Territory:  # stamp is the key: an edited file reloads
    return load_territory()


def territory() -> Territory:
    """The perimeter layers, read again when the registry, the territory file or a file of the
    geo folder changes (an edit by hand is seen at the next click, a file broken by hand too,
    with its French message, not at the next server start)."""
    return _territory(_geo_stamp())


territory.clear = _territory.clear  # the layer form clears it after adding a layer


def _geo_stamp() -> tuple:
    """Name, size and modification time of every file the perimeters are read from (a few
    dozen ``stat``, well under a millisecond); on PostgreSQL, the version of the registry of the
    layers added through the servers (one query: a layer added through another server is drawn
    at the next click). A database that does not answer keeps the layers as they were read."""
    try:
        added = added_stamp()
    except StorageUnavailable:
        added = "base injoignable"
    stamp: list = [("couches ajoutées", added)]
    folder = config.path("geo_dir")
    files = [config.path("layers"), config.path("territory")]
    try:
        files += sorted(p for p in folder.iterdir() if p.is_file())
    except OSError:
        pass
    for path in files:
        try:
            info = path.stat()
        except OSError:
            stamp.append((str(path), None))
            continue
        stamp.append((str(path), info.st_size, info.st_mtime_ns))
    return tuple(stamp)


@st.cache_resource
def referential() -> Referential:
    return load_referential_file()


#: Versions of the directory a server keeps parsed: the current one. Each save makes a new
#: version; kept without a bound, a server at a million fiches grew by 0.8 GB at every save. The
#: one before is not served again: every run asks for the current version, a map token issued
#: for an older one is refused (``fiche_service``: the version it was issued for has changed), and
#: a run that began with it holds its own reference until it ends. The next version is read from
#: it (``app_data._LAST_READ``), then it goes: kept as well, it held 0.8 GB more at a million.
VERSIONS_KEPT = 1
#: Views kept: one per role (a visitor and a member may see different directories) and version.
VIEWS_KEPT = len(ROLES) * VERSIONS_KEPT


@st.cache_resource(show_spinner="Chargement de l'annuaire…", max_entries=VERSIONS_KEPT)
def _actors(path: str, mtime: float) -> Actors:  # mtime is part of the key: a saved file reloads
    if path == DATABASE:  # mtime is then the database's version
        return load_actors(None, referential(), database=DatabaseDirectory())
    return load_actors(Path(path), referential())


@st.cache_resource(show_spinner=False, max_entries=VIEWS_KEPT)
def _visible(path: str, mtime: float, role: str, visitors: str) -> Actors:  # one cached view per role
    return visible_view(_actors(path, mtime), role, visitors)


@st.cache_resource(show_spinner=False, max_entries=VIEWS_KEPT)
def _index(source: str, mtime: float, role: str, _actors: Actors) -> ProximityIndex:
    # Keyed by the version this run read AND the role: each role has its own visible actors.
    return ProximityIndex.build(_actors.directory.actors, _actors.search)


def proximity_index(acts: Actors) -> ProximityIndex:
    """The proximity index of ``acts`` (the directory this run shows, see :func:`actors`), built
    once per file version and role and shared by the pages (Trouver, Couverture)."""
    role, _ = auth.current()
    source, mtime = st.session_state.get("_directory_source", (str(config.path("actors")), 0.0))
    return _index(source, mtime, role, acts)


#: Rows without a reading a question reads itself (a save, an import of a few thousand fiches);
#: beyond, they are read in the background and the pages ask the directory in memory meanwhile.
READ_AT_QUESTION = 10_000
#: The databases this process is reading for, in a thread of its own.
_READING: set[str] = set()
_READING_LOCK = threading.Lock()


def database_answers(ref: Referential) -> bool:
    """Whether a page may ask the database (:mod:`reseaux.stockage.readings`) now: its readings
    are those of this code and ``ref``, and at most :data:`READ_AT_QUESTION` rows saved since lack
    one. Else (the first question after an update reads every fiche again: 115 s at a million)
    the rows are read in a thread of this process, and the page answers from the directory it
    holds meanwhile: no one waits for them — unless another version of the app asked the
    readings lately (``readings.held_by_another``): then the directory in memory answers."""
    import psycopg

    from reseaux.app_data import reading_key
    from reseaux.stockage import readings

    store = directory_store()
    key = reading_key(ref)
    try:
        missing = readings.unread(store, key)
        if missing is None and readings.held_by_another(store, key):
            return False  # another version of the app still asks them: not read again in turn
    except StorageUnavailable:
        return False
    except psycopg.Error:  # any other refusal (rights, a lock given up): the server's log, the directory in memory
        logging.getLogger(__name__).exception("lectures de la base non vérifiées")
        return False
    if missing is not None and missing <= READ_AT_QUESTION:
        return True
    with _READING_LOCK:
        if store.url in _READING:
            return False
        _READING.add(store.url)

    def read() -> None:
        try:
            readings.bring_up_to_date(store, ref, key)
        except Exception:
            logging.getLogger(__name__).exception("lecture des fiches pour la base interrompue")
        finally:
            with _READING_LOCK:
                _READING.discard(store.url)

    threading.Thread(target=read, name="lectures-de-la-base", daemon=True).start()
    return False


#: The day the parsed directories were read (a reading depends on it: see ``fields.today``).
_READ_ON: list = [None]


def _read_today() -> None:
    """On a new day, drop the directories parsed the day before: the next run reads the file again
    from the last reading (only the rows whose dates' warnings may differ are validated), so that
    « date dans le futur » is said only of a date that still is."""
    today = fields.today()
    if _READ_ON[0] != today:
        _READ_ON[0] = today
        _actors.clear()
        _visible.clear()
        _index.clear()


#: The version of the directory the last run showed: ``(source, stamp)``.
_SHOWN: list = [None]


def _shown_now(source: str, mtime: float) -> None:
    """When a run shows another version than the last one did (called before the new version is
    read, and again with the version a run shows at last), let the others go: the views and
    indexes (their cache holds one per role, so a role's view of the version before stayed until
    other roles filled it, and a view shares its rows with its directory: a visitor's, every fiche
    public, is the directory itself), the rows of the pages' downloads (:func:`of_this_version`)
    and the map tokens issued for them (``SERVICE.keep_version``, after the downloads: an index of
    the service goes with its frame), then give the memory back. Through each of them the version
    replaced stayed in memory after a save (bench_served_map, « Après un enregistrement »)."""
    if _SHOWN[0] != (source, mtime):
        if _SHOWN[0] is not None:
            _visible.clear()
            _index.clear()
            from reseaux.ui import database_rows

            database_rows.forget()  # on PostgreSQL, the index of the version before
            _let_go_of_versions_but((source, mtime))  # first: the service's index of a frame goes with it
            gc.collect()  # what of it pandas holds in cycles
            SERVICE.keep_version((source, mtime))
            memory.give_back()  # what they held, back to the system
        _SHOWN[0] = (source, mtime)


class _OfVersion:
    """A download built when clicked (:func:`of_this_version`)."""

    def __init__(self, build: Callable[[], bytes], stale: Callable[[], bytes], source: tuple[str, float]) -> None:
        self.build: Callable[[], bytes] | None = build
        self.stale = stale
        self.source = source

    def __call__(self) -> bytes:
        build = self.build
        if build is None or not unchanged(*self.source):
            return self.stale()
        return build()


#: The downloads of the pages drawn, held weakly (Streamlit holds each until its session goes).
_OF_VERSION: weakref.WeakSet = weakref.WeakSet()
_OF_VERSION_LOCK = threading.Lock()


def of_this_version(build: Callable[[], bytes], stale: Callable[[], bytes], source) -> Callable[[], bytes]:
    """``build`` (a download, built when clicked, of the directory read from ``source``: the
    ``(source, stamp)`` a run showed), or ``stale()`` (a file saying so) once the directory
    changed: a list saved over, maybe a fiche erased since, is not handed out. And ``build``,
    with the rows it holds, is let go as soon as this server shows another version
    (:func:`_shown_now`): Streamlit keeps a page's downloads until its session goes, and the
    version a save replaced stayed in memory through them (0.4 GB at a million fiches)."""
    if source is None:  # no directory shown by this run: nothing to tie it to
        return build
    bound = _OfVersion(build, stale, tuple(source))
    with _OF_VERSION_LOCK:
        _OF_VERSION.add(bound)
    return bound


#: What a download of a page drawn on a version since replaced holds instead of its list.
CHANGED_SINCE = (
    "L'annuaire a changé depuis l'affichage de la page (un enregistrement) : rechargez la page, "
    "puis téléchargez de nouveau."
)


def changed_since(kind: str) -> Callable[[], bytes]:
    """The file a download of a replaced version gives instead (``kind``: csv, xlsx or geojson)."""
    from reseaux.ui.widgets import notice_file

    return partial(notice_file, kind, CHANGED_SINCE)


def _let_go_of_versions_but(source: tuple[str, float] | None) -> None:
    """Let go of the downloads' rows but those of ``source`` (None: all of them)."""
    with _OF_VERSION_LOCK:
        for bound in list(_OF_VERSION):
            if source is None or bound.source != tuple(source):
                bound.build = None


def forget_directories() -> None:
    """Drop the directories parsed in this server's memory (after an erasure: none of them is
    served again, nor kept in memory); the referential and the layers stay."""
    from reseaux.ui import database_rows

    _actors.clear()
    _visible.clear()
    _index.clear()
    database_rows.forget(erased=True)
    forget_last_read()
    _let_go_of_versions_but(None)


#: The last version of each directory file that could be read: served, with a banner, while the
#: file on disk cannot be (a broken save by hand, a truncated copy), so the map stays up.
_LAST_GOOD: dict[str, float] = {}


def actors() -> Actors:
    """The directory named by RESEAUX_ACTORS as the session's role may see it (one rule:
    access.visible_actors), reloaded when the file changes on disk.

    While the file cannot be read (a broken save by hand, a copy cut short by a crash), the page
    shows the last version this server could read, else the newest backup that can be read,
    with a banner saying so and the way back; with neither, a French error."""
    path = config.path("actors")
    source, mtime = (DATABASE, 0.0) if database_url() else (str(path), 0.0)
    _read_today()
    try:
        source, mtime = directory_source()
        # A new version: what the pages of the one before held goes before it is read, not after
        # (their views, indexes, downloads and map tokens were held beside both readings, at the
        # top of the server's memory after a save); the directory itself stays, to be read from.
        _shown_now(str(source), mtime)
        _actors(source, mtime)
    except (DirectoryError, OSError) as exc:
        if source == DATABASE:
            raise DirectoryError(
                f"L'annuaire ne peut pas être lu : {exc}. Vérifiez que le serveur PostgreSQL répond et "
                "l'adresse que donne le réglage RESEAUX_DATABASE_URL."
            ) from exc
        source, mtime, shown = _last_readable(path)
        if source is None:
            raise DirectoryError(
                f"L'annuaire (fichier « {path.name} ») ne peut pas être lu : {exc} La coordination "
                "peut restaurer une sauvegarde ou importer un bon fichier depuis la page "
                "« Annuaire »."
            ) from exc
        st.warning(
            f"**L'annuaire sur le disque est illisible** ({exc}) : la carte montre {shown}. La "
            "coordination peut restaurer une sauvegarde (page « Annuaire »).",
            icon=":material/warning:",
        )
    else:
        if source != DATABASE:
            _LAST_GOOD[str(path)] = mtime
    # The version this run shows: its map's token answers while the file is still that one.
    st.session_state["_directory_source"] = (str(source), mtime)
    _shown_now(str(source), mtime)
    return _view(str(source), mtime, auth.current()[0], config.get("visitors"))


def _view(source: str, mtime: float, role: str, visitors: str) -> Actors:
    """Version ``mtime`` of the directory file ``source`` as ``role`` may see it."""
    if can(role, "voir_toutes_les_fiches"):
        return _actors(source, mtime)
    return _visible(source, mtime, role, visitors)


def _token_view(issued_for: dict) -> tuple | None:
    """The view a map token was issued for in another process (see fiche_service): the same
    rows, in the same order, read from the same version of the file, or asked of the database at
    the same version (None once it is at another)."""
    source, mtime = issued_for["source"]
    role, visitors = issued_for["role"], issued_for["visitors"]
    if issued_for.get("rows") == "base":
        from reseaux.stockage.readings import NotAnswered
        from reseaux.ui.database_rows import database_rows

        try:
            return database_rows(referential(), str(int(mtime)), role, visitors), referential()
        except NotAnswered:  # the database at another version since: the token's page is out of date
            return None
    return _view(source, mtime, role, visitors).directory.actors, referential()


SERVICE.resolver, SERVICE.checker = _token_view, auth.session_check


def _last_readable(path: Path) -> tuple[Path | None, float, str]:
    """What to show while ``path`` cannot be read: the version this server read last, else the
    newest backup that reads; ``(None, 0, "")`` when there is none."""
    from reseaux.annuaire.store import DirectoryStore

    good = _LAST_GOOD.get(str(path))
    if good is not None:
        return path, good, "la dernière version lisible"
    backups = DirectoryStore(path)
    for backup in backups.list_backups():
        try:
            mtime = backup.stat().st_mtime
            _actors(str(backup), mtime)
        except (DirectoryError, OSError):
            continue
        moment = backups.backup_time(backup)
        when = f" (version remplacée le {moment:%d/%m/%Y à %H:%M})" if moment else ""
        return backup, mtime, f"la dernière sauvegarde lisible{when}"
    return None, 0.0, ""


def referential_or_stop() -> Referential:
    """The referential; when it cannot be read, say so in French and stop the page (the Annuaire
    needs it alone, not the map's directory and layers: see :func:`load_or_stop`)."""
    try:
        return referential()
    except (DirectoryError, ValueError, OSError) as exc:
        st.error(f"**Impossible de charger le référentiel.** {exc}")
        st.stop()
        raise


def load_or_stop() -> tuple[Referential, Territory, Actors]:
    """Load everything; on a problem, show it in French and stop the page (no stack trace).

    A map page opened by link when visitors see nothing (``RESEAUX_VISITORS=rien``) says so.
    """
    ref, terr = territory_or_stop()
    return ref, terr, _actors_or_stop()


def territory_or_stop() -> tuple[Referential, Territory]:
    """The referential and the territory's layers, for a map page, as :func:`load_or_stop` gives
    them (the same check of who may see the map, the same French errors, the layers set aside
    said), without the directory: a page that asks the database its fiches
    (:func:`directory_on_demand`)."""
    from reseaux.acces.access import can_see_map

    if not can_see_map(auth.current()[0], config.get("visitors")):
        st.warning("Cette carte est réservée aux membres du réseau : connectez-vous (barre latérale).")
        st.stop()
    try:
        loaded = referential(), territory()
    except _UNREADABLE as exc:
        _stop_unreadable(exc)
    if loaded[1].broken:
        names = ", ".join(f"« {name} »" for name, _ in loaded[1].broken)
        st.warning(
            f"{plural(len(loaded[1].broken), 'couche écartée', 'couches écartées')} car inutilisable(s) : "
            f"{names} — la raison est dans « Sources et crédits ».",
            icon=":material/layers_clear:",
        )
    return loaded


#: What keeps a page's data from loading: said in French (:func:`_stop_unreadable`), never as a trace.
_UNREADABLE = (DirectoryError, RegistryError, TerritoryError, FranceDataMissing, ValueError, OSError)


def _stop_unreadable(exc: Exception):
    st.error(f"**Impossible de charger les données.** {exc}")
    st.stop()
    raise exc


def _actors_or_stop() -> Actors:
    try:
        return actors()
    except _UNREADABLE as exc:
        _stop_unreadable(exc)


def directory_on_demand() -> Callable[[], Actors]:
    """The directory as this session may see it (:func:`actors`), for a page that asks the
    database first (« Trouver un partenaire »): on PostgreSQL it is read the first time the page
    calls what this returns — when the database cannot answer (its readings not ready, a save
    since the version the page shows) — and the version the page shows is the database's current
    one, asked here (one query). A process serving that page alone then does not read the
    directory at all (at a million fiches: 0.9 GB and, cold, a minute and more). On the files,
    read now, as every page reads it."""
    if not database_url():
        acts = _actors_or_stop()
        return lambda: acts
    _read_today()
    try:
        source, stamp = directory_source()
    except (DirectoryError, OSError) as exc:  # the database down: as actors() says it
        _stop_unreadable(
            DirectoryError(
                f"L'annuaire ne peut pas être lu : {exc}. Vérifiez que le serveur PostgreSQL répond et "
                "l'adresse que donne le réglage RESEAUX_DATABASE_URL."
            )
        )
    _shown_now(str(source), stamp)
    st.session_state["_directory_source"] = (str(source), stamp)
    held: list[Actors] = []

    def read() -> Actors:
        if not held:
            held.append(_actors_or_stop())
        return held[0]

    return read


def fiche_store(seen: pd.DataFrame | ServedRows, ref: Referential) -> FicheStore:
    """Where this page's map asks for its fiches: the server, with a token for the directory as
    this session may see it (``seen``: its frame read in memory, or its rows asked of the
    database, ``ui.database_rows.DatabaseRows``; see :mod:`reseaux.annuaire.fiche_service`). The
    same token from one run to the next (the map is kept), a new one when the session's view
    changes; it answers only while the directory is the version this run read (:func:`actors`)
    and the sign-in holds."""
    owner = st.session_state.setdefault("_fiche_owner", secrets.token_urlsafe(12))
    source = st.session_state.get("_directory_source")
    issued_for = {
        "role": auth.current()[0],
        "visitors": config.get("visitors"),
        "source": source,
        "session": auth.session_key(),
    }
    token = SERVICE.register(
        owner,
        seen,
        ref,
        ttl_s=60 * float(config.get("session_minutes")),
        check=auth.token_check(),
        source=source,
        issued_for=issued_for,
    )
    base = st.get_option("server.baseUrlPath").strip("/")
    return FicheStore(url=f"{'/' + base if base else ''}{FICHES_PATH}/{token}")
