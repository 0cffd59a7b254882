"""The « Annuaire » page's session: the version loaded from disk (``ann_base``) and the working copy
(``ann_work``), the fiches each edit of the copy touched (``ann_log``), what is pending, the checks
kept while the copy is the same, the tabs.

Nothing reaches the file before « Enregistrer », and a save that would overwrite another
coordinator's is refused (see :mod:`reseaux.annuaire.store`).
"""

from __future__ import annotations

import threading
import weakref

import pandas as pd
import streamlit as st

from reseaux.annuaire.changes import EditLog, diff, diff_among
from reseaux.annuaire.directory import DirectoryError
from reseaux.annuaire.exports import why_not_written
from reseaux.annuaire.fields import parse_date
from reseaux.annuaire.referential import Referential
from reseaux.annuaire.store import DirectoryStore, Snapshot
from reseaux.annuaire.table_check import TableCheck, check_table
from reseaux.stockage import directory_store
from reseaux.text import fr_date, fr_moment

#: Rows of a table drawn on the page (the fiches, the stale ones, the journal): a large directory
#: stays quick to use; the search narrows the list, the exports hold everything.
TABLE_ROWS = 1000


#: The page's tabs, the first where a fiche opens; their state (``TABS_KEY``) lets a list elsewhere
#: bring « Fiches » forward.
TABS = ["Fiches", "Importer", "Sauvegardes et journal", "Exporter", "À mettre à jour"]
TABS_KEY = "ann_tab"


def store() -> DirectoryStore:
    """The directory's store as the settings make it: the file, or PostgreSQL (see reseaux.stockage)."""
    return directory_store()


#: The versions the sessions of this process hold, by store and content key, while one holds it.
_HELD: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_HELD_LOCK = threading.Lock()


def load(directory_store) -> Snapshot:
    """The store's current version, read once for the sessions of this process: a coordinator
    who opens the page takes the version another holds already (at a million fiches its table is
    0.4 GB and seconds to read). Shared safely: a session's working copy is never changed in
    place (:func:`set_work`), and a version is named by its content (:attr:`Snapshot.content_key`)."""
    where = directory_store.describe()
    with _HELD_LOCK:
        any_held = any(key[0] == where for key in list(_HELD.keys()))
    if any_held:  # else nothing to share: no second read of the file (or query) to name the version
        key = (where, directory_store.current_content_key())
        with _HELD_LOCK:
            held = _HELD.get(key)
        if held is not None:
            return held
    loaded = directory_store.load()
    with _HELD_LOCK:
        _HELD[(where, loaded.content_key)] = loaded
    return loaded


#: What the sessions of this process compute of a version read (its check, its search text), by
#: kind and content key, while a session holds it.
_COMPUTED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def once_per_version(kind: str, work: pd.DataFrame, compute):
    """``compute()`` of the working copy ``work``: when ``work`` is the version read, no edit
    since, computed once for the sessions of this process that hold that version (at a million
    fiches its check and its search text are 0.3 GB and five seconds)."""
    base = st.session_state.get("ann_base")
    at = edit_number(work)
    if base is None or at is None or at != st.session_state.get("ann_base_at"):
        return compute()
    key = (kind, base.content_key)
    with _HELD_LOCK:
        held = _COMPUTED.get(key)
    if held is None:
        held = compute()
        with _HELD_LOCK:
            _COMPUTED[key] = held
    return held


def write_failure(exc: OSError) -> str:
    """What a person reads when a save cannot be written (nothing has changed: see DirectoryStore)."""
    return (
        f"**Enregistrement impossible : {why_not_written(exc)}.** Rien n'a changé : l'annuaire et son "
        "journal sont tels qu'avant, vos modifications restent en attente ici. Prévenez l'administration du serveur, puis "
        "réessayez."
    )


def readable_or_rescue(who: str) -> bool:
    """True when the directory file can be read; else say why and offer its backups (the way
    back from a file broken by hand or cut short), and return False."""
    directory_store = store()
    base = st.session_state.get("ann_base")
    try:
        if base is not None and directory_store.current_version() == base.version:
            return True  # read already, unchanged since (reading 200,000 fiches again is seconds)
        loaded = load(directory_store)
    except (DirectoryError, OSError) as exc:
        problem = exc
    else:
        if base is None:  # what state() would read next
            set_base(loaded)
        return True
    st.error(f"**L'annuaire ne peut pas être lu** : {problem}", icon=":material/error:")
    if directory_store.kind != "fichiers":  # a database is not « broken by hand »: its versions stay readable
        st.info(
            "Vérifiez que le serveur PostgreSQL répond, puis rechargez la page ; l'administration du serveur "
            "peut restaurer une version depuis la page « Annuaire » une fois la base joignable."
        )
        return False
    backups = directory_store.list_backups()
    if not backups:
        st.info("Aucune sauvegarde : corrigez le fichier dans un tableur (ou importez-en un bon) et rechargez.")
        return False
    st.markdown("Restaurez une sauvegarde : le fichier illisible est gardé parmi les sauvegardes.")

    def label(path):
        moment = directory_store.backup_time(path)
        return f"Version remplacée le {moment_text(moment)}" if moment else path.name

    choice = st.selectbox("Sauvegardes (la plus récente d'abord)", backups, format_func=label, key="ann_rescue")
    if st.button("Restaurer cette sauvegarde", key="ann_rescue_go", type="primary"):
        try:
            directory_store.rescue(choice, who)
        except (DirectoryError, OSError) as exc:
            st.error(f"Restauration impossible, rien n'a changé : {exc}")
            return False
        st.cache_resource.clear()
        st.session_state.pop("ann_base", None)
        st.session_state["ann_saved"] = f"{label(choice)} : restaurée à la place du fichier illisible."
        st.rerun()
    return False


def state() -> tuple[DirectoryStore, object, pd.DataFrame]:
    """The store, the loaded version and the working copy (loaded on first use)."""
    directory_store = store()
    if "ann_base" not in st.session_state:
        try:
            base = load(directory_store)
        except (DirectoryError, OSError) as exc:
            st.error(f"Impossible de lire l'annuaire : {exc}")
            st.stop()
        set_base(base)
    base, work = st.session_state["ann_base"], st.session_state["ann_work"]
    on_disk = directory_store.current_version()
    if on_disk != base.version:
        if pending(base, work) or replay_waiting():
            st.warning(
                "Le fichier a été modifié par ailleurs depuis votre chargement : à l'enregistrement, "
                "vos modifications seront rejouées sur la nouvelle version."
            )
        else:  # nothing pending: simply follow the file
            st.session_state.pop("ann_base")
            return state()
    return directory_store, base, work


def set_work(table: pd.DataFrame, touched: set[str] | None) -> None:
    """Replace the working copy (it is never changed in place: what is computed from it is kept
    as long as it is the same object, see :func:`kept`). ``touched``: the ids of the fiches the
    edit may have changed, added or removed; None when they are not known (an import): the
    pending changes and the checks then compare the whole directory once."""
    st.session_state["ann_work"] = table.reset_index(drop=True)
    st.session_state["ann_work_at"] = _log().record(touched)


def set_base(snapshot, touched: set[str] | None = None) -> None:
    """Take ``snapshot`` (a version read or saved) as the base, and its table as the working copy:
    nothing pending. ``touched``: the fiches whose rows differ from the working copy before it (a
    save's changes, stamped with their date); None when not known (a version read or restored)."""
    st.session_state["ann_base"] = snapshot
    set_work(snapshot.table, touched)
    st.session_state["ann_base_at"] = st.session_state["ann_work_at"]


def _log() -> EditLog:
    if "ann_log" not in st.session_state:
        st.session_state["ann_log"] = EditLog()
    return st.session_state["ann_log"]


def touched_since_base() -> set[str] | None:
    """The ids of the fiches edited since the base was taken; None when some edit did not say."""
    if "ann_base_at" not in st.session_state:
        return None
    return _log().since(st.session_state["ann_base_at"])


def edit_number(work: pd.DataFrame) -> int | None:
    """The number of the edit that made ``work`` (see :class:`EditLog`); None when ``work`` is not
    the working copy."""
    return st.session_state.get("ann_work_at") if work is st.session_state.get("ann_work") else None


def edits_since(number: int | None) -> set[str] | None:
    """The ids of the fiches the edits after edit ``number`` touched; None when not known."""
    return None if number is None else _log().since(number)


def kept(name: str, compute, *sources):
    """``compute()``, kept in the session as long as ``sources`` are the same objects.

    The working copy is replaced, never changed in place (:func:`set_work`), so what is
    computed from it — pending changes, validation, search text, stale fiches — is computed
    once per version of it, not at every click (at 200,000 fiches each is seconds of work)."""
    held = st.session_state.get(f"ann_kept_{name}")
    if held is not None and len(held[0]) == len(sources) and all(a is b for a, b in zip(held[0], sources, strict=True)):
        return held[1]
    value = compute()
    st.session_state[f"ann_kept_{name}"] = (sources, value)
    return value


def pending(base, work: pd.DataFrame) -> list:
    """The changes of the working copy not saved yet: the fiches edited since the base compared
    alone when the edits named them (at 1,000,000 fiches the whole comparison is seconds)."""

    def compute():
        ids = touched_since_base() if edit_number(work) is not None else None
        return diff(base.table, work) if ids is None else diff_among(base.table, work, ids)

    return kept("diff", compute, base, work)


def checked(ref: Referential, work: pd.DataFrame) -> TableCheck:
    """The working copy validated, kept while the copy is the same; after an edit only the fiches
    it changed are checked again (those the edits since the last check named, or found by
    comparing the two copies when one did not name them)."""
    held = st.session_state.get("ann_kept_check")  # (work, referential, its edit number, check)
    if held and held[0] is work and held[1] is ref:
        return held[3]
    previous = held[3] if held and held[1] is ref else None  # reused only under the same referential
    at = edit_number(work)
    changed = edits_since(held[2]) if previous is not None and at is not None else None
    if previous is None:  # the session's first: maybe another's, of the same version
        check = once_per_version(f"check {id(ref)}", work, lambda: check_table(work, ref))
        if check.referential is not ref:  # another referential at the same address: not this one's
            check = check_table(work, ref)
    else:
        check = check_table(work, ref, previous=previous, changed=changed)
    st.session_state["ann_kept_check"] = (work, ref, at, check)
    return check


def day_text(value: str) -> str:
    """A ``date_maj`` cell as people read it (« 11 juin 2026 »); an unreadable one as it is."""
    parsed = parse_date(value)
    return fr_date(parsed) if parsed else str(value or "")


def moment_text(value) -> str:
    """A moment as people read it: « 11 juin 2026 à 14 h 05 »."""
    if isinstance(value, str):
        try:
            value = pd.Timestamp(value).to_pydatetime()
        except ValueError:
            return value
    return fr_moment(value)


def replay_of(base) -> dict | None:
    """The last replay on ``base`` that has conflicts: ``{"version", "conflicts", "choices"}``,
    ``choices`` mapping a conflict's number to True (keep mine) or False (keep theirs). None
    when there is none, or when it was made on another version (saved since)."""
    replay = st.session_state.get("ann_replay")
    if replay is None or replay["version"] != base.version:
        st.session_state.pop("ann_replay", None)
        return None
    return replay


def replay_waiting() -> bool:
    """True while a conflict of the last replay waits for a choice (the working copy then still
    differs from the file even when nothing else is pending: see :func:`state`)."""
    replay = st.session_state.get("ann_replay")
    return bool(replay) and len(replay["choices"]) < len(replay["conflicts"])
