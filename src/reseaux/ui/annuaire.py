"""Streamlit widgets of the « Annuaire » page: fiches, form, import, save, backups, exports.

The session holds the version loaded from disk (``ann_base``) and a working copy
(``ann_work``); nothing reaches the file before « Enregistrer », and a save that would
overwrite another coordinator's is refused (see :mod:`reseaux.annuaire.store`).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from reseaux import config
from reseaux.acces.access import VISIBILITY_LABELS
from reseaux.annuaire import columns
from reseaux.annuaire.changes import diff, stale
from reseaux.annuaire.concurrent_edits import Conflict, rebase, resolve
from reseaux.annuaire.directory import (
    ERROR,
    DirectoryError,
    Issue,
    validate_record,
    validate_table,
)
from reseaux.annuaire.exports import to_csv_bytes, to_geojson_bytes, to_xlsx_bytes, why_not_written
from reseaux.annuaire.fields import parse_date, read_fields
from reseaux.annuaire.listing import issues_table
from reseaux.annuaire.referential import Referential
from reseaux.annuaire.store import ConflictError, DirectoryStore
from reseaux.annuaire.table_check import TableCheck, check_table
from reseaux.carte.mapbits import position_picker
from reseaux.importation.duplicates import Duplicates, find_duplicates
from reseaux.importation.import_file import unused_sentence
from reseaux.importation.import_merge import apply_import, first_positions
from reseaux.importation.importing import (
    PROFILES_DIR,
    ImportSpec,
    apply_mapping,
    drop_blank,
    guess_mapping,
    targets,
)
from reseaux.importation.profiles import ProfileError, load_profile, save_profile
from reseaux.importation.reading import Sheet, UploadError, read_sheets
from reseaux.importation.workbook import NoTable, Table, find_table
from reseaux.territoire.geocode_file import geocode_records
from reseaux.text import fold, fr_coordinates, fr_date, fr_moment, fr_number, md_escape, plural, split_cell
from reseaux.ui import XLSX_MIME, choose_many, download, progress_bar

DECISIONS = ["fusionner", "garder les deux", "ignorer"]
JOURNAL_COLUMNS = {"quand": "Quand", "qui": "Qui", "action": "Action", "type": "Changement", "id": "Identifiant",
                   "nom": "Nom"}


#: Rows of a table drawn on the page (the fiches, the stale ones, the journal): a large directory
#: stays quick to use; the search narrows the list, the exports hold everything.
TABLE_ROWS = 1000


def store() -> DirectoryStore:
    return DirectoryStore.configured()


def write_failure(exc: OSError) -> str:
    """What a person reads when a save cannot be written (nothing has changed: see DirectoryStore)."""
    return (f"**Enregistrement impossible : {why_not_written(exc)}.** Rien n'a changé : l'annuaire et son "
            "journal sont tels qu'avant, vos modifications restent en attente ici. Prévenez l'administration du serveur, puis "
            "réessayez.")


def readable_or_rescue(who: str) -> bool:
    """True when the directory file can be read; else say why and offer its backups (the way
    back from a file broken by hand or cut short), and return False."""
    directory_store = store()
    base = st.session_state.get("ann_base")
    try:
        if base is not None and directory_store.current_version() == base.version:
            return True  # read already, unchanged since (reading 200,000 fiches again is seconds)
        loaded = directory_store.load()
    except (DirectoryError, OSError) as exc:
        problem = exc
    else:
        if base is None:  # what state() would read next
            st.session_state["ann_base"], st.session_state["ann_work"] = loaded, loaded.table
        return True
    st.error(f"**L'annuaire ne peut pas être lu** : {problem}", icon=":material/error:")
    backups = directory_store.list_backups()
    if not backups:
        st.info("Aucune sauvegarde : corrigez le fichier dans un tableur (ou importez-en un bon) et rechargez.")
        return False
    st.markdown("Restaurez une sauvegarde : le fichier illisible est gardé parmi les sauvegardes.")

    def label(path):
        moment = directory_store.backup_time(path)
        return f"Version remplacée le {_moment(moment)}" if moment else path.name

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
            base = directory_store.load()
        except (DirectoryError, OSError) as exc:
            st.error(f"Impossible de lire l'annuaire : {exc}")
            st.stop()
        st.session_state["ann_base"] = base
        st.session_state["ann_work"] = base.table  # never changed in place: see set_work
    base, work = st.session_state["ann_base"], st.session_state["ann_work"]
    on_disk = directory_store.current_version()
    if on_disk != base.version:
        if pending(base, work) or replay_waiting():
            st.warning("Le fichier a été modifié par ailleurs depuis votre chargement : à l'enregistrement, "
                       "vos modifications seront rejouées sur la nouvelle version.")
        else:  # nothing pending: simply follow the file
            st.session_state.pop("ann_base")
            return state()
    return directory_store, base, work


def set_work(table: pd.DataFrame) -> None:
    """Replace the working copy (it is never changed in place: what is computed from it is kept
    as long as it is the same object, see :func:`_kept`)."""
    st.session_state["ann_work"] = table.reset_index(drop=True)


def _kept(name: str, compute, *sources):
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
    """The changes of the working copy not saved yet."""
    return _kept("diff", lambda: diff(base.table, work), base, work)


def checked(ref: Referential, work: pd.DataFrame) -> TableCheck:
    """The working copy validated; after an edit only the fiches it changed are checked again."""
    held = st.session_state.get("ann_kept_check")  # (sources, check): reused only under the same referential
    previous = held[1] if held and held[0][-1] is ref else None
    return _kept("check", lambda: check_table(work, ref, previous=previous), work, ref)


def _search_text(work: pd.DataFrame) -> pd.Series:
    """Each fiche's cells folded (``text.fold``, as the sidebar and the map's search box fold),
    joined: what the search box looks into. A column's repeated values are folded once."""
    text = work.fillna("").astype(str)
    folded = [text[column].map({value: fold(value) for value in text[column].unique()}) for column in text.columns]
    joined = folded[0]
    for column in folded[1:]:
        joined = joined + " " + column
    return joined


def _day(value: str) -> str:
    """A ``date_maj`` cell as people read it (« 11 juin 2026 »); an unreadable one as it is."""
    parsed = parse_date(value)
    return fr_date(parsed) if parsed else str(value or "")


def _moment(value) -> str:
    """A moment as people read it: « 11 juin 2026 à 14 h 05 »."""
    if isinstance(value, str):
        try:
            value = pd.Timestamp(value).to_pydatetime()
        except ValueError:
            return value
    return fr_moment(value)


# --- save panel ------------------------------------------------------------------------------


def save_panel(directory_store: DirectoryStore, base, work: pd.DataFrame, who: str) -> None:
    """Pending changes and the save, in the name of the signed-in person (the journal's « qui »);
    a refused save explains what the other coordinator changed and offers a replay, whose
    conflicts wait here for the person's choice (see :func:`conflicts_block`).

    The page draws it in one container with :func:`state`'s warning, so that the tabs below
    keep their place whatever it shows: Streamlit then keeps the open tab (a message that
    comes and goes above them sent the coordinator back to « Fiches » at the next click)."""
    changes = pending(base, work)
    replay = replay_of(base)
    saved = st.session_state.pop("ann_saved", None)
    if saved:  # said after the rerun that follows the save (a message before st.rerun is never seen)
        st.success(saved)
    if not changes and replay is None:
        st.caption("Aucune modification en attente : l'annuaire est tel qu'enregistré.")
        return
    undecided = len(replay["conflicts"]) - len(replay["choices"]) if replay else 0
    with st.container(border=True):
        if changes:
            st.markdown(f"**{plural(len(changes), 'modification')} en attente** — rien n'est écrit avant "
                        "« Enregistrer ».")
            with st.expander("Voir les différences"):
                for change in changes:
                    st.markdown(f"- {md_escape(change.describe())}")
        if replay:
            conflicts_block(replay)
        cols = st.columns([1, 1, 3])
        if changes and cols[0].button("Enregistrer", type="primary", key="ann_save", disabled=undecided > 0,
                                      help="Choisissez d'abord pour chaque conflit." if undecided else None):
            try:
                saved = directory_store.save(work, base, who)
            except ConflictError as exc:
                st.session_state["ann_conflict"] = exc
            except OSError as exc:
                st.error(write_failure(exc))
            else:
                st.session_state["ann_base"] = saved
                set_work(saved.table)
                st.session_state.pop("ann_conflict", None)
                st.session_state.pop("ann_replay", None)
                st.session_state["ann_saved"] = (f"Enregistré : {plural(len(changes), 'modification')}, notée au "
                                                 f"journal au nom de {who} ; l'ancienne version est sauvegardée.")
                st.rerun()
        if not changes and not undecided and cols[0].button("Terminer", type="primary", key="ann_replay_done"):
            st.session_state.pop("ann_replay", None)  # every conflict settled for their value: nothing to write
            st.rerun()
        if cols[1].button("Annuler mes modifications", key="ann_discard"):
            set_work(base.table)
            st.session_state.pop("ann_replay", None)
            st.rerun()
        cols[2].caption(f"Inscrit au journal au nom de {who}.")
    conflict: ConflictError | None = st.session_state.get("ann_conflict")
    if conflict is not None:
        st.error(str(conflict))
        for change in conflict.theirs:
            st.markdown(f"- {md_escape(change.describe())}")
        if st.button("Rejouer mes modifications sur la nouvelle version", key="ann_rebase"):
            merged, conflicts = rebase(base.table, work, conflict.current.table)
            st.session_state["ann_base"] = conflict.current
            set_work(merged)
            st.session_state.pop("ann_conflict")
            if conflicts:
                st.session_state["ann_replay"] = {"version": conflict.current.version, "conflicts": conflicts,
                                                  "choices": {}}
            else:
                st.session_state.pop("ann_replay", None)
                st.session_state["ann_saved"] = ("Vos modifications sont rejouées sur la nouvelle version, sans "
                                                 "conflit : enregistrez-les.")
            st.rerun()


#: The two answers to a conflict of a replay.
KEEP_MINE, KEEP_THEIRS = "garder la mienne", "garder la sienne"
#: Conflicts drawn one by one (each a choice); beyond, the « partout » buttons settle them all.
CONFLICTS_SHOWN = 50


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


def conflicts_block(replay: dict) -> None:
    """Each conflict of a replay with both values and a choice; a choice applies at once to the
    working copy (« la mienne » becomes a pending change, « la sienne » leaves theirs)."""
    conflicts, choices = replay["conflicts"], replay["choices"]
    undecided = len(conflicts) - len(choices)
    st.markdown(f"**{plural(len(conflicts), 'conflit')}** — l'autre personne a changé les mêmes valeurs que "
                "vous ; choisissez pour chacun ce qui est gardé"
                + (f" ({plural(undecided, 'choix', 'choix')} à faire)." if undecided else " : tout est choisi."))
    for number, conflict in enumerate(conflicts[:CONFLICTS_SHOWN]):
        key = _choice_key(replay, number)
        if key not in st.session_state and number in choices:  # the radio forgotten on another page
            st.session_state[key] = KEEP_MINE if choices[number] else KEEP_THEIRS
        st.markdown(describe_conflict(conflict))
        st.radio(f"Conflit {number + 1} : que garder ?", [KEEP_MINE, KEEP_THEIRS], index=None, horizontal=True,
                 key=key, on_change=_choose, args=(number,), label_visibility="collapsed")
    if len(conflicts) > CONFLICTS_SHOWN:
        st.caption(f"… et {plural(len(conflicts) - CONFLICTS_SHOWN, 'autre conflit', 'autres conflits')} : "
                   "les boutons ci-dessous les règlent tous.")
    if len(conflicts) > 1:
        cols = st.columns(2)
        cols[0].button("Garder partout la mienne", key="ann_replay_all_mine", on_click=_choose_all, args=(True,))
        cols[1].button("Garder partout la sienne", key="ann_replay_all_theirs", on_click=_choose_all, args=(False,))


def describe_conflict(conflict: Conflict) -> str:
    """A conflict in French markdown: the fiche by its name, the column by its label, both values."""
    fiche = f"« {md_escape(conflict.nom)} » ({md_escape(conflict.id)})"
    if conflict.column:
        label = md_escape(columns.label(conflict.column))
        return (f"- **{label}** de la fiche {fiche} — votre valeur : {_quoted(conflict.mine)} ; valeur de l'autre "
                f"personne : {_quoted(conflict.theirs)} (avant : {_quoted(conflict.base)}).")
    return (f"- La fiche {fiche} — votre valeur : {_fiche_state(conflict.mine, conflict)} ; valeur de l'autre "
            f"personne : {_fiche_state(conflict.theirs, conflict)}.")


def _quoted(value) -> str:
    return f"« {md_escape(value)} »" if value else "(vide)"


def _fiche_state(record: dict | None, conflict: Conflict) -> str:
    """One side of a whole-fiche conflict: deleted, or added / modified with the fields that differ
    from the other side (or from the base)."""
    if record is None:
        return "fiche supprimée" if conflict.base is not None else "pas de fiche"
    other = conflict.base if conflict.base is not None else (
        conflict.theirs if record is conflict.mine else conflict.mine) or {}
    fields = [f"{md_escape(columns.label(c))} {_quoted(v)}" for c, v in record.items() if v != other.get(c, "")]
    verb = "fiche ajoutée" if conflict.base is None else "fiche modifiée"
    return f"{verb} ({', '.join(fields)})" if fields else verb


def _choice_key(replay: dict, number: int) -> str:
    return f"ann_replay_{replay['version'][:16]}_{number}"


def _choose(number: int) -> None:
    """A conflict's radio changed: apply the choice to the working copy and remember it."""
    replay = st.session_state["ann_replay"]
    answer = st.session_state.get(_choice_key(replay, number))
    if answer is None:
        return
    keep_mine = answer == KEEP_MINE
    replay["choices"][number] = keep_mine
    set_work(resolve(st.session_state["ann_work"], [(replay["conflicts"][number], keep_mine)]))


def _choose_all(keep_mine: bool) -> None:
    replay = st.session_state["ann_replay"]
    for number in range(len(replay["conflicts"])):
        replay["choices"][number] = keep_mine
        st.session_state[_choice_key(replay, number)] = KEEP_MINE if keep_mine else KEEP_THEIRS
    set_work(resolve(st.session_state["ann_work"], [(c, keep_mine) for c in replay["conflicts"]]))


# --- fiches ----------------------------------------------------------------------------------


def fiches_panel(ref: Referential, work: pd.DataFrame) -> None:
    """The directory as a sortable table (its first :data:`TABLE_ROWS` rows, searched or not);
    select a row to edit its fiche."""
    check = checked(ref, work)
    query = st.text_input("Rechercher une fiche", key="ann_search", placeholder="nom, commune, profession…")
    keep = pd.Series(True, index=work.index)
    words = fold(query).split()
    if words:  # every word, anywhere in the fiche: « sage-femme », « Sœurs » as people type them
        text = _kept("search", lambda: _search_text(work), work)
        for word in words:
            keep &= text.str.contains(word, regex=False).to_numpy()
    only_bad = False
    if check.n_bad:
        only_bad = st.toggle(f"Seulement les fiches en erreur ({fr_number(check.n_bad)})", key="ann_only_bad")
        if only_bad:
            keep &= check.bad
    view = work[keep.to_numpy()]
    if view.empty and (words or only_bad):
        _no_fiche(query, only_bad)
    if len(view) > TABLE_ROWS:
        st.caption(f"Les {fr_number(TABLE_ROWS)} premières fiches sur {fr_number(len(view))} : précisez la "
                   "recherche pour trouver les autres (les exports les contiennent toutes).")
    view = view.iloc[:TABLE_ROWS]
    status = pd.Series(check.bad[view.index.to_numpy()], index=view.index).map({True: "erreur", False: "ok"})
    shown = [c.name for c in columns.shown_in(columns.ANNUAIRE)]
    readable = _readable(ref, view.reindex(columns=shown, fill_value="")).assign(statut=status)[["statut", *shown]]
    readable = readable.rename(columns={**columns.labels(), "statut": "Statut"})
    # The selection is a row number of this table: a new search makes a new table (new key),
    # so that row 1 of « Rouen » never opens row 1 of the previous list.
    event = st.dataframe(readable, hide_index=True, width="stretch", height=300,
                         key=f"ann_table_{query.strip()}_{only_bad}", on_select="rerun", selection_mode="single-row")
    cols = st.columns(3)
    selected = event.selection.rows if event and event.selection else []
    picked = str(view.iloc[selected[0]]["id"]) if selected and selected[0] < len(view) else None
    if picked != st.session_state.get("ann_picked"):  # a row newly chosen opens its fiche
        st.session_state["ann_picked"] = picked
        if picked is not None:
            st.session_state["ann_edit"] = picked
            st.session_state.pop("ann_findings", None)
    if cols[0].button("Nouvelle fiche", key="ann_new"):  # wins over a row still ticked in the table
        st.session_state["ann_edit"] = None
        st.session_state.pop("ann_findings", None)
    if "ann_edit" in st.session_state:
        fiche_form(ref, work, st.session_state["ann_edit"], check)


def _no_fiche(query: str, only_bad: bool) -> None:
    """The search (or « only the fiches in error ») found nothing: say so, and undo it in one click."""
    among = " parmi les fiches en erreur" if only_bad else ""
    said = f"Aucune fiche ne contient « {md_escape(query.strip())} »{among}" if query.strip() else \
        "Aucune fiche en erreur ne correspond"
    st.info(f"{said}. Vérifiez l'orthographe ou cherchez un seul mot (nom, commune, profession) ; une "
            "fiche absente se crée avec « Nouvelle fiche ».", icon=":material/search_off:")
    row = st.container(horizontal=True)
    if query.strip():
        row.button("Effacer la recherche", key="ann_clear_search",
                   on_click=st.session_state.__setitem__, args=("ann_search", ""))
    if only_bad:
        row.button("Voir toutes les fiches", key="ann_all_fiches",
                   on_click=st.session_state.__setitem__, args=("ann_only_bad", False))


def _readable(ref: Referential, table: pd.DataFrame) -> pd.DataFrame:
    """Codes as their labels, dates as « 11 juin 2026 »: the table as a coordinator reads it."""
    out = table.copy()
    for column in columns.columns():
        if column.name not in out:
            continue
        if column.kind == columns.REFERENTIAL:
            out[column.name] = out[column.name].map(lambda v, c=column: ", ".join(
                ref.label(c.category, ref.resolve(c.category, part) or part)
                for part in (split_cell(v) if c.multi else [v] if v else [])))
        elif column.kind == columns.DATE:
            out[column.name] = out[column.name].map(_day)
    return out


def fiche_form(ref: Referential, work: pd.DataFrame, actor_id: str | None, check: TableCheck) -> None:
    """Add or edit one fiche, with the rules of the file validation (:mod:`reseaux.annuaire.fields` and the
    validator); each finding is drawn under its field. A fiche with an error (a value of the wrong
    format: a phone, an e-mail, a postcode…) is refused: nothing becomes a pending change, and the
    fields keep what was typed."""
    is_new = actor_id is None
    if st.session_state.get("ann_form_of", "") != actor_id:
        # Streamlit 1.67 keeps a keyed widget's value when its default changes: the fields of the
        # fiche opened before (or of « Nouvelle fiche ») stayed in the form, and validating it
        # wrote them onto this fiche. A newly opened fiche starts from its own values.
        for key in [k for k in st.session_state if str(k).startswith("ann_f_")]:
            del st.session_state[key]
        st.session_state.pop("ann_findings", None)
        st.session_state["ann_form_of"] = actor_id
    rows = work.index[work["id"].astype(str) == str(actor_id)] if not is_new else []
    current = work.loc[rows[0]].to_dict() if len(rows) else dict.fromkeys(columns.names(), "")
    refused: list[Issue] | None = st.session_state.get("ann_findings")  # of the last « Valider », refused
    findings = refused if refused is not None else (check.issues_of(int(rows[0])) if len(rows) else [])
    form = [c.name for c in columns.shown_in(columns.FORM)]
    by_field: dict[str, list[Issue]] = {}
    for issue in findings:
        by_field.setdefault(issue.column if issue.column in form else "", []).append(issue)
    st.header("Nouvelle fiche" if is_new else f"Fiche « {md_escape(current.get('nom', ''))} »")
    for issue in by_field.get("", []):  # the position, the date: not fields of the form
        where = f"{columns.label(issue.column)} : " if issue.column else ""
        _finding(issue, where)
    values: dict[str, str] = {}
    with st.form(f"ann_form_{actor_id}"):
        # Two fields a row, each row its own columns: Tab goes as one reads, left to right then
        # down (two long columns sent it down the left one, then up to the right one); on a
        # phone the rows stack in the same order.
        for pair in range(0, len(form), 2):
            for cell, column in zip(st.columns(2), form[pair:pair + 2], strict=False):  # the last pair may be one
                with cell:
                    values[column] = _field(ref, column, current.get(column, ""),
                                            disabled=(column == "id" and not is_new))
                    for issue in by_field.get(column, []):
                        _finding(issue)
        if refused:
            wrong = list(dict.fromkeys(columns.label(i.column) for i in refused if i.severity == ERROR))
            st.error(md_escape(f"La fiche n'est pas validée : {plural(len(wrong), 'champ')} à corriger "
                               f"({', '.join(wrong)}), le message est sous le champ. Rien n'est mis en attente ; "
                               "ce que vous avez saisi reste dans le formulaire."))
        submitted = st.form_submit_button("Valider la fiche", type="primary")
    if submitted:
        _submit(ref, work, current, values, is_new, rows)
    if not is_new and len(rows):
        position_editor(work, rows[0], current)
        if st.button("Supprimer cette fiche", key=f"ann_del_{actor_id}"):
            set_work(work.drop(index=rows[0]))
            st.session_state.pop("ann_edit", None)
            st.rerun()


def _finding(issue: Issue, where: str = "") -> None:
    """One finding of the fiche, as an error or a warning box (its text may quote what was typed).
    No icon: Streamlit draws it as a word of text (« error »), read aloud before the message."""
    (st.error if issue.severity == ERROR else st.warning)(md_escape(where + issue.message))


def _field(ref: Referential, name: str, value: str, *, disabled: bool = False) -> str:
    """The widget of one column of the form, by its kind; returns the text the file would hold."""
    column = columns.column(name)
    label = column.label
    key = f"ann_f_{name}"
    help_text = md_escape(column.help)  # its examples stay text, not links
    if column.kind == columns.REFERENTIAL:
        category = column.category
        labels = ref.labels(category)
        current = [ref.resolve(category, v) or v for v in split_cell(value)]
        if column.multi:
            # A value outside the referential (kept as written since it was read) stays an option:
            # saving the fiche must not drop it.
            options = list(labels) + [c for c in current if c not in labels]
            chosen = choose_many(label, options, default=current, format_func=lambda c: labels.get(c, c), key=key,
                                 placeholder="Aucune", help=help_text)
            return "|".join(chosen)
        options = ["", *labels]
        index = options.index(current[0]) if current and current[0] in options else 0
        return st.selectbox(label, options, index=index, format_func=lambda c: labels.get(c, "—"), key=key,
                            help=help_text)
    if column.kind == columns.VISIBILITY:  # a choice of labels, not a code to type
        options = list(VISIBILITY_LABELS) + ([value] if value not in VISIBILITY_LABELS else [])
        return st.selectbox(label, options, index=options.index(value), key=key, help=help_text,
                            format_func=lambda v: VISIBILITY_LABELS.get(v, f"« {v} » (illisible : membres)"))
    if column.kind in (columns.LIST, columns.ZONES):  # « français », « roumain » as chips, not « français|roumain »
        current = split_cell(value)
        return "|".join(choose_many(label, current, default=current, key=key, accept_new_options=True,
                                    placeholder="Aucune : écrivez-en une puis Entrée", help=help_text))
    if column.kind == columns.LONG_TEXT:
        return st.text_area(label, value=value, key=key, help=help_text)
    return st.text_input(label, value=value, key=key, disabled=disabled, help=help_text)


def _form_findings(ref: Referential, work: pd.DataFrame, current: dict, values: dict[str, str],
                  is_new: bool) -> tuple[dict, list[Issue]]:
    """The fiche the form would write, and what is wrong with it.

    A field's value of the wrong format is an error here (the file keeps such a row with a
    warning: a spreadsheet is corrected later, a form at once); a field the person changed is
    kept as its rule writes it (« structure.fr » → « https://structure.fr »), one left alone as it
    was. The validator's own errors (a name, an id, something to place the fiche by) and its
    warnings follow; an error blocks the fiche."""
    record = {**current, **values}
    if is_new:
        record["id"] = record["id"].strip()
    found: list[Issue] = []
    for column, reading in read_fields(record, [c.name for c in columns.shown_in(columns.FORM)]).items():
        if reading.problem:
            found.append(Issue(None, column, record[column], reading.problem, ERROR))
        elif record[column] != current.get(column, ""):
            record[column] = reading.value
    flagged = {issue.column for issue in found}
    _, issues = validate_record(record, ref)
    found += [replace(i, line=None) for i in issues if i.column not in flagged]  # a form has no line
    if is_new and record["id"] in set(work["id"].astype(str)):
        found.append(Issue(None, "id", record["id"], f"l'identifiant « {record['id']} » est déjà utilisé : "
                                                      "choisissez-en un autre"))
    return record, found


def _submit(ref, work, current, values, is_new, rows) -> None:
    record, found = _form_findings(ref, work, current, values, is_new)
    if any(issue.severity == ERROR for issue in found):
        st.session_state["ann_findings"] = found
        st.rerun()
    if is_new:
        set_work(pd.concat([work, pd.DataFrame([record])], ignore_index=True).fillna(""))
    else:
        table = work.copy()
        table.loc[rows[0], list(record)] = list(record.values())
        set_work(table)
    st.session_state["ann_edit"] = record["id"]
    st.session_state.pop("ann_findings", None)
    st.rerun()


def position_editor(work: pd.DataFrame, row: int, current: dict) -> None:
    """Click on the small map to move the fiche: its position becomes « manuel »."""
    with st.expander("Déplacer sur la carte (la position devient « manuel »)"):
        lat = pd.to_numeric(current.get("latitude"), errors="coerce")
        lon = pd.to_numeric(current.get("longitude"), errors="coerce")
        from reseaux.ui import territory

        clicked = st_folium(position_picker(lat, lon, territory().home_bounds), height=320, key=f"ann_pick_{current.get('id')}",
                            returned_objects=["last_clicked"], use_container_width=True)
        point = (clicked or {}).get("last_clicked")
        if point and st.button(f"Placer ici ({fr_coordinates(point['lat'], point['lng'])})", key="ann_place"):
            table = work.copy()
            table.loc[row, ["latitude", "longitude", "geocodage_source", "geocodage_score", "geocodage_type",
                            "geocodage_label"]] = [f"{point['lat']:.6f}", f"{point['lng']:.6f}", "manuel", "", "", ""]
            set_work(table)
            st.rerun()


# --- import ----------------------------------------------------------------------------------


def profiles_dir():
    """Where import profiles live: ``imports/`` beside the directory file."""
    return config.path("actors").parent / PROFILES_DIR


def import_panel(ref: Referential, work: pd.DataFrame) -> None:
    """Upload, map the columns (or apply a saved profile), set values for the whole file, check,
    geocode, resolve duplicates, add to the working copy."""
    # No ``type=``: the uploader would refuse another file in English; read_upload says it in French.
    upload = st.file_uploader("Tableau ou carte des nouveaux partenaires (.csv, .xlsx, .ods ou .geojson, "
                              "10 Mo au plus)", key="ann_upload")
    if upload is None:
        return
    sheets = _read(upload)
    if isinstance(sheets, str):
        st.error(sheets)
        return
    table = _table(sheets, _upload_key(upload))
    if table is None:
        return
    rows, sheet_key = table.rows, f"{table.sheet}_{table.header_line}"
    header = rows[0]
    saved = sorted(p.stem for p in profiles_dir().glob("*.toml")) if profiles_dir().is_dir() else []
    profile_name = st.selectbox("Profil d'import (correspondances déjà enregistrées pour cette source)",
                                ["", *saved], format_func=lambda n: n or "(aucun : colonnes devinées)",
                                key="ann_profile") if saved else ""
    base = ImportSpec(mapping=guess_mapping(header, extra=True))
    if profile_name:
        try:
            base = load_profile(profiles_dir() / f"{profile_name}.toml")
        except ProfileError as exc:
            st.error(str(exc))
    with st.expander("Correspondance des colonnes", expanded=True):
        mapping = {}
        cols = st.columns(3)
        options = targets()
        for number, source in enumerate(header):
            guess = base.mapping.get(source, "")
            mapping[source] = cols[number % 3].selectbox(
                f"« {md_escape(source)} »", options, index=options.index(guess) if guess in options else 0,
                format_func=lambda c: columns.label(c) if c else "(ne pas importer)",
                key=f"ann_map_{profile_name}_{sheet_key}_{number}")
        unused = [h for h in header if h.strip() and not mapping.get(h)]
        keep = st.multiselect("Colonnes non importées à garder sur la fiche (dans sa description, « colonne : "
                              "valeur »)", unused, default=[h for h in base.keep if h in unused],
                              format_func=lambda h: f"« {h} »", key=f"ann_keep_{profile_name}_{sheet_key}")
        if unused:
            st.caption(md_escape(unused_sentence([h for h in unused if h not in keep], keep)
                                 .replace(" : --garder COLONNE, ou choisissez-la pour une colonne de l'annuaire dans "
                                          "un profil.", " : choisissez-la ci-dessus.")))
    constants = dict(base.constants)
    with st.expander("Valeurs pour tout le fichier", expanded=not constants):
        types = ref.labels("type")
        chosen = st.selectbox("Type de tous ces acteurs", ["", *types], format_func=lambda c: types.get(c, "(selon le "
                              "fichier, sinon « À classer »)"), key=f"ann_const_type_{profile_name}",
                              index=(["", *types].index(constants["type"]) if constants.get("type") in types else 0))
        if chosen:
            constants["type"] = chosen
        else:
            constants.pop("type", None)
    spec = ImportSpec(mapping=mapping, constants=constants, recodings=base.recodings, keep=keep)
    with st.expander("Enregistrer ces correspondances comme profil (pour le prochain fichier de cette source)"):
        name = st.text_input("Nom du profil (lettres, chiffres, tirets)", value=profile_name, key="ann_profile_name")
        if st.button("Enregistrer le profil", key="ann_profile_save"):
            clean = "".join(c for c in name.strip().lower().replace(" ", "-") if c.isalnum() or c in "-_")
            if not clean:
                st.error("Donnez un nom au profil.")
            else:
                save_profile(spec, profiles_dir() / f"{clean}.toml")
                st.success(f"Profil « {clean} » enregistré : il sera proposé au prochain import.")
    if "nom" not in mapping.values():
        st.warning("Choisissez au moins la colonne qui donne le nom.")
        return
    key = (_upload_key(upload), sheet_key, tuple(mapping.items()), tuple(constants.items()), str(spec.recodings),
           tuple(keep))
    if st.session_state.get("ann_import_key") != key:
        st.session_state["ann_import_key"] = key
        with st.spinner(f"Mise en forme de {plural(len(rows) - 1, 'ligne')}…"):
            st.session_state["ann_import"] = apply_mapping(rows, spec, set(work["id"].astype(str)))
    new = st.session_state["ann_import"]
    with st.spinner("Vérification des lignes…"):  # seconds at 200,000 rows, once per import
        report = _kept("import_check", lambda: validate_table(new, ref), new, ref)
    n_rows = len(_kept("import_rows", lambda: drop_blank(new), new))
    st.markdown(f"**{plural(n_rows, 'ligne lue', 'lignes lues')}** dans « {md_escape(upload.name)} » : "
                f"{fr_number(n_rows - len(report.rejected))} sans erreur, "
                f"{fr_number(len(report.rejected))} avec erreur (importées quand même, à corriger dans « Fiches »), "
                f"{plural(len(report.warnings), 'avertissement')}.")
    if report.issues:
        if len(report.issues) > TABLE_ROWS:
            st.caption(f"Les {fr_number(TABLE_ROWS)} premiers problèmes sur {fr_number(len(report.issues))} : "
                       "après l'import, « Seulement les fiches en erreur » (onglet « Fiches ») les montre tous.")
        st.dataframe(issues_table(report.issues[:TABLE_ROWS]), hide_index=True, width="stretch")
    _geocode_import(new)
    imported = st.session_state["ann_import"]
    new = _kept("import_rows", lambda: drop_blank(imported), imported)
    duplicates = _kept("duplicates", lambda: _search_duplicates(new, work), new, work)
    decisions = duplicates_review(new, work, duplicates)
    if st.button("Ajouter à l'annuaire (à enregistrer ensuite)", type="primary", key="ann_apply_import"):
        set_work(apply_import(work, new, decisions, duplicates, ref))
        st.session_state.pop("ann_import_key", None)
        st.success("Import ajouté à votre copie de travail : vérifiez les différences puis enregistrez.")
        st.rerun()


def _table(sheets: list[Sheet], upload_key: tuple) -> Table | None:
    """The table to import: the data sheet found, or the one the person chooses in « Feuille à
    importer » (shown for a workbook of several sheets); None, with the reason shown, when the
    chosen sheet is empty."""
    names = [sheet.name for sheet in sheets]
    try:
        found: Table | None = find_table(sheets)
    except NoTable as exc:
        st.warning(md_escape(str(exc)))
        found = None
    choice = None
    if len(sheets) > 1:
        default = names.index(found.sheet) if found is not None else 0
        choice = str(st.selectbox("Feuille à importer", range(1, len(names) + 1), index=default,
                                  format_func=lambda n: names[n - 1] or f"Feuille {n}", key=f"ann_sheet_{upload_key[0]}"))
    try:
        table = find_table(sheets, choice) if choice is not None else found
    except UploadError as exc:
        st.error(md_escape(str(exc)))
        return None
    if table is not None and table.sentence():
        st.caption(md_escape(table.sentence()))
    return table


def _read(upload) -> list[Sheet] | str:
    """The uploaded file's sheets, or what the person reads when it cannot be read (in French).

    Read once per file, with a progress bar for a workbook, and kept: every click of the page
    reruns it, and a large workbook takes seconds to read."""
    key = _upload_key(upload)
    held = st.session_state.get("ann_read")
    if held is not None and held[0] == key:
        return held[1]
    bar = st.progress(0.0, text=f"Lecture de « {md_escape(upload.name)} »…")

    def advance(done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0,
                     text=f"Lecture de « {md_escape(upload.name)} » : ligne {fr_number(done)} sur {fr_number(total)}")

    try:
        result = read_sheets(upload.name, upload.getvalue(), progress=advance)
    except (UploadError, DirectoryError) as exc:
        result = str(exc)
    bar.empty()
    st.session_state["ann_read"] = (key, result)
    return result


def _upload_key(upload) -> tuple:
    """Which upload this is, for what the page keeps of it: its ``file_id`` (new at each upload)
    first — a file corrected and uploaded again may keep its name and size."""
    return (getattr(upload, "file_id", None), upload.name, upload.size)


def _search_duplicates(new: pd.DataFrame, work: pd.DataFrame) -> Duplicates:
    bar = st.progress(0.0, text="Recherche des doublons…")

    def advance(done: int, planned: int) -> None:
        bar.progress(min(done / planned, 1.0) if planned else 1.0,
                     text=f"Recherche des doublons : {fr_number(done)} comparaisons sur {fr_number(planned)}")

    found = find_duplicates(new, work, progress=advance)
    bar.empty()
    return found


#: Duplicates reviewed on one page of the import: thousands of radio buttons make a page no one
#: can use (nor a browser draw).
REVIEW_PAGE = 20


def duplicates_review(new: pd.DataFrame, work: pd.DataFrame, duplicates: Duplicates) -> dict[int, str]:
    """The decision for each duplicate, reviewed :data:`REVIEW_PAGE` at a time, with one choice for
    them all; « fusionner » unless changed. Decisions are kept across pages, for this list of
    duplicates (a new file or a new mapping starts again)."""
    if duplicates.unchecked:
        st.info(f"Recherche des doublons bornée : pour {plural(duplicates.unchecked, 'ligne')} du fichier, "
                "les fiches proches n'ont pas toutes été comparées (l'annuaire et le fichier en ont trop dans les "
                "mêmes communes). Ces lignes seront ajoutées comme nouvelles fiches : importez le fichier en "
                "plusieurs parties pour les comparer toutes.")
    if not duplicates:
        return {}
    held = st.session_state.get("ann_dup_decisions")
    if held is None or held[0] is not duplicates:
        held = (duplicates, {})
        st.session_state["ann_dup_decisions"] = held
        st.session_state["ann_dup_page"] = 0
    decisions: dict[int, str] = held[1]
    st.markdown(f"**{plural(len(duplicates), 'doublon probable', 'doublons probables')}** : chaque ligne est "
                "fusionnée avec la fiche existante, sauf choix contraire ci-dessous.")
    cols = st.columns([2, 1])
    cols[0].selectbox("Pour tous les doublons", DECISIONS, key="ann_dup_all")
    cols[1].button("Appliquer à tous", key="ann_dup_all_go", on_click=_decide_all, args=(duplicates,))
    if len(set(decisions.values())) > 1 or (decisions and "fusionner" not in decisions.values()):
        counted = {d: sum(1 for dup in duplicates if decisions.get(dup.new_index, "fusionner") == d) for d in DECISIONS}
        st.caption(" · ".join(f"{d} : {fr_number(n)}" for d, n in counted.items() if n))
    pages = (len(duplicates) - 1) // REVIEW_PAGE + 1
    page = min(max(int(st.session_state.get("ann_dup_page", 0)), 0), pages - 1)
    positions = _kept("id_positions", lambda: first_positions(work["id"].astype(str)), work)
    first = page * REVIEW_PAGE
    for dup in duplicates[first:first + REVIEW_PAGE]:
        old = work.iloc[positions[dup.existing_id]]
        incoming = new.iloc[dup.new_index]
        st.markdown(md_escape(f"« {incoming['nom']} » ({incoming['adresse']} {incoming['commune']}) ↔ fiche "
                              f"existante « {old['nom']} » ({old['adresse']} {old['commune']}) — {dup.reason}"))
        decisions[dup.new_index] = st.radio("Que faire ?", DECISIONS, horizontal=True, key=f"ann_dup_{dup.new_index}",
                                            index=DECISIONS.index(decisions.get(dup.new_index, "fusionner")))
    if pages > 1:
        cols = st.columns([1, 2, 1])
        cols[0].button("Page précédente", key="ann_dup_prev", disabled=page == 0, on_click=_turn, args=(page - 1,))
        cols[1].caption(f"Doublons {fr_number(first + 1)} à {fr_number(min(first + REVIEW_PAGE, len(duplicates)))} "
                        f"sur {fr_number(len(duplicates))} (page {fr_number(page + 1)} sur {fr_number(pages)})")
        cols[2].button("Page suivante", key="ann_dup_next", disabled=page == pages - 1, on_click=_turn,
                       args=(page + 1,))
    return dict(decisions)


def _turn(page: int) -> None:
    st.session_state["ann_dup_page"] = page


def _decide_all(duplicates: Duplicates) -> None:
    """The decision chosen « pour tous les doublons », for every one; the radios drawn are set
    again from it. (Read here: the button's arguments are those of the run before the choice.)"""
    decision = st.session_state.get("ann_dup_all", DECISIONS[0])
    held = st.session_state.get("ann_dup_decisions")
    if held is None or held[0] is not duplicates:
        return
    for dup in duplicates:
        held[1][dup.new_index] = decision
        st.session_state.pop(f"ann_dup_{dup.new_index}", None)


def _geocode_import(new: pd.DataFrame) -> None:
    missing = int((new["latitude"].astype(str).str.strip() == "").sum() - (new["nom"].astype(str) == "").sum())
    if missing <= 0:
        return
    offline = st.checkbox("Hors ligne : placer à la commune", key="ann_geo_offline")
    if not st.button(f"Géocoder les {missing} adresse(s) sans position", key="ann_geocode"):
        return
    bar = st.progress(0.0, text="Géocodage…")
    records = new.to_dict("records")
    summary = geocode_records(records, offline=offline, progress=progress_bar(bar))
    st.session_state["ann_import"] = pd.DataFrame(records, columns=new.columns)
    (st.warning if summary.offline else st.success)(summary.sentence())
    if summary.problems:  # each row placed roughly or not at all, on its file line, with what to do
        st.caption(f"{plural(len(summary.problems), 'adresse à revoir', 'adresses à revoir')} "
                   "(ligne du fichier, ce qui s'est passé et que faire) :")
        st.table(pd.DataFrame([{"Ligne": line, "Message": message} for line, message in summary.problems[:50]])
                 .set_index("Ligne"))  # a plain table: read by a screen reader, wrapped on a phone
        if len(summary.problems) > 50:
            st.caption(f"… et {fr_number(len(summary.problems) - 50)} autres (la commande "
                       "« python -m reseaux importer » les compte aussi).")


# --- backups, journal, exports, stale fiches -------------------------------------------------


def backups_panel(directory_store: DirectoryStore, base, who: str) -> None:
    backups = directory_store.list_backups()
    if not backups:
        st.caption("Aucune sauvegarde pour l'instant : chaque enregistrement garde la version précédente.")
    else:
        def label(path):
            moment = directory_store.backup_time(path)
            return f"Version remplacée le {_moment(moment)}" if moment else path.name

        choice = st.selectbox("Sauvegardes (la plus récente d'abord)", backups, format_func=label, key="ann_backup")
        if st.button("Restaurer cette sauvegarde", key="ann_restore"):
            try:
                saved = directory_store.restore(choice, base, who)
            except ConflictError as exc:
                st.error(str(exc))
            except OSError as exc:
                st.error(write_failure(exc))
            else:
                st.session_state["ann_base"] = saved
                set_work(saved.table)
                st.session_state["ann_saved"] = (f"{label(choice)} : restaurée ; la version qu'elle remplace est "
                                                 "sauvegardée à son tour.")
                st.rerun()
    journal = directory_store.read_journal()
    if journal:
        st.markdown("**Journal des modifications** (le plus récent d'abord)")
        if len(journal) > TABLE_ROWS:
            st.caption(f"Les {fr_number(TABLE_ROWS)} dernières lignes sur {fr_number(len(journal))} ; le journal "
                       f"complet est le fichier « {directory_store.journal.name} » du dossier des données.")
        entries = pd.DataFrame(journal[:-TABLE_ROWS - 1:-1]).reindex(columns=list(JOURNAL_COLUMNS), fill_value="")
        entries["quand"] = entries["quand"].map(_moment)
        st.dataframe(entries.rename(columns=JOURNAL_COLUMNS), hide_index=True, width="stretch", height=240)


def exports_panel(actors) -> None:
    """The whole directory in three formats, each written only when its button is clicked."""
    cols = st.columns(3)
    download(cols[0], "CSV (Excel, ;)", lambda: to_csv_bytes(actors), "annuaire.csv", "text/csv", "ann_x_csv")
    download(cols[1], "Excel (.xlsx)", lambda: to_xlsx_bytes(actors), "annuaire.xlsx", XLSX_MIME, "ann_x_xlsx")
    download(cols[2], "GeoJSON", lambda: to_geojson_bytes(actors), "annuaire.geojson", "application/geo+json",
             "ann_x_geojson")


#: The page's tabs, the first where a fiche opens; their state (``TABS_KEY``) lets a list elsewhere
#: bring « Fiches » forward.
TABS = ["Fiches", "Importer", "Sauvegardes et journal", "Exporter", "À mettre à jour"]
TABS_KEY = "ann_tab"
#: Widths (px) of « À mettre à jour »'s columns: together under the 980 px of a 1440 px screen's page.
STALE_WIDTHS = {"date_maj": 125, "nom": 210, "type": 135, "commune": 150, "telephone": 100, "email": 200}


def stale_panel(ref: Referential, work: pd.DataFrame) -> None:
    days = int(config.get("stale_days"))
    old = _kept("stale", lambda: stale(work, days=days), work)
    if old.empty:
        st.success(f"Toutes les fiches ont été mises à jour depuis moins de {days} jours.")
        return
    st.markdown(f"**{plural(len(old), 'fiche non mise', 'fiches non mises')} à jour depuis plus de "
                f"{plural(days, 'jour')}** (ou sans date), la plus ancienne d'abord")
    if len(old) > TABLE_ROWS:
        st.caption(f"Les {fr_number(TABLE_ROWS)} plus anciennes ci-dessous ; les exports (onglet « Exporter ») "
                   "contiennent toutes les fiches, avec leur date de mise à jour.")
    shown = old.iloc[:TABLE_ROWS]
    # The date first and the name held to a width: every column fits at 1440 px (the date, last,
    # was cut off); a row ticked opens its fiche in « Fiches ».
    st.caption("Cochez une ligne pour ouvrir sa fiche (onglet « Fiches »).")
    st.dataframe(_readable(ref, shown[list(STALE_WIDTHS)]).rename(columns=columns.labels()), hide_index=True,
                 width="stretch",
                 column_config={columns.label(c): st.column_config.TextColumn(width=w) for c, w in STALE_WIDTHS.items()},
                 key="ann_stale_table", selection_mode="single-row",
                 on_select=partial(_open_from_list, "ann_stale_table", shown["id"].astype(str).tolist()))


def _open_from_list(key: str, ids: list[str]) -> None:
    """A row ticked in a list of fiches: open that fiche in the « Fiches » tab, which comes forward."""
    rows = st.session_state[key].selection.rows
    if rows and rows[0] < len(ids):
        st.session_state["ann_edit"] = ids[rows[0]]
        st.session_state.pop("ann_findings", None)
        st.session_state[TABS_KEY] = TABS[0]
