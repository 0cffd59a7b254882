"""« Enregistrer » and what follows it on the « Annuaire » page: the pending changes, a save refused
by another coordinator's and its conflicts fiche by fiche, the backups and the journal, the exports."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from reseaux.annuaire import columns
from reseaux.annuaire.concurrent_edits import Conflict, rebase, resolve
from reseaux.annuaire.directory import DirectoryError
from reseaux.annuaire.exports import to_csv_bytes, to_geojson_bytes, to_xlsx_bytes
from reseaux.annuaire.store import ConflictError, DirectoryStore, save_changes
from reseaux.text import fr_number, md_escape, plural
from reseaux.ui import XLSX_MIME, download
from reseaux.ui.annuaire.session import (
    TABLE_ROWS,
    moment_text,
    pending,
    replay_of,
    set_base,
    set_work,
    touched_since_base,
    write_failure,
)
from reseaux.ui.loading import actors as map_actors
from reseaux.ui.loading import changed_since, of_this_version


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
            st.markdown(
                f"**{plural(len(changes), 'modification')} en attente** — rien n'est écrit avant « Enregistrer »."
            )
            with st.expander("Voir les différences"):
                for change in changes:
                    st.markdown(f"- {md_escape(change.describe())}")
        if replay:
            conflicts_block(replay)
        cols = st.columns([1, 1, 3])
        if changes and cols[0].button(
            "Enregistrer",
            type="primary",
            key="ann_save",
            disabled=undecided > 0,
            help="Choisissez d'abord pour chaque conflit." if undecided else None,
        ):
            try:
                saved = save_changes(directory_store, base, work, changes, who)
            except ConflictError as exc:
                st.session_state["ann_conflict"] = exc
            except OSError as exc:
                st.error(write_failure(exc))
            else:
                set_base(saved, {c.id for c in changes})  # their rows now carry the day's date
                st.session_state.pop("ann_conflict", None)
                st.session_state.pop("ann_replay", None)
                st.session_state["ann_saved"] = (
                    f"Enregistré : {plural(len(changes), 'modification')}, notée au "
                    f"journal au nom de {who} ; l'ancienne version est sauvegardée."
                )
                st.rerun()
        if not changes and not undecided and cols[0].button("Terminer", type="primary", key="ann_replay_done"):
            st.session_state.pop("ann_replay", None)  # every conflict settled for their value: nothing to write
            st.rerun()
        if cols[1].button("Annuler mes modifications", key="ann_discard"):
            set_base(base, touched_since_base())
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
            mine = touched_since_base()
            st.session_state["ann_base"] = conflict.current  # the copy differs from it in my fiches alone
            set_work(merged, None if mine is None else mine | {c.id for c in conflict.theirs})
            st.session_state.pop("ann_conflict")
            if conflicts:
                st.session_state["ann_replay"] = {
                    "version": conflict.current.version,
                    "conflicts": conflicts,
                    "choices": {},
                }
            else:
                st.session_state.pop("ann_replay", None)
                st.session_state["ann_saved"] = (
                    "Vos modifications sont rejouées sur la nouvelle version, sans conflit : enregistrez-les."
                )
            st.rerun()


#: The two answers to a conflict of a replay.
KEEP_MINE, KEEP_THEIRS = "garder la mienne", "garder la sienne"
#: Conflicts drawn one by one (each a choice); beyond, the « partout » buttons settle them all.
CONFLICTS_SHOWN = 50


def conflicts_block(replay: dict) -> None:
    """Each conflict of a replay with both values and a choice; a choice applies at once to the
    working copy (« la mienne » becomes a pending change, « la sienne » leaves theirs)."""
    conflicts, choices = replay["conflicts"], replay["choices"]
    undecided = len(conflicts) - len(choices)
    st.markdown(
        f"**{plural(len(conflicts), 'conflit')}** — l'autre personne a changé les mêmes valeurs que "
        "vous ; choisissez pour chacun ce qui est gardé"
        + (f" ({plural(undecided, 'choix', 'choix')} à faire)." if undecided else " : tout est choisi.")
    )
    for number, conflict in enumerate(conflicts[:CONFLICTS_SHOWN]):
        key = _choice_key(replay, number)
        if key not in st.session_state and number in choices:  # the radio forgotten on another page
            st.session_state[key] = KEEP_MINE if choices[number] else KEEP_THEIRS
        st.markdown(describe_conflict(conflict))
        st.radio(
            f"Conflit {number + 1} : que garder ?",
            [KEEP_MINE, KEEP_THEIRS],
            index=None,
            horizontal=True,
            key=key,
            on_change=_choose,
            args=(number,),
            label_visibility="collapsed",
        )
    if len(conflicts) > CONFLICTS_SHOWN:
        st.caption(
            f"… et {plural(len(conflicts) - CONFLICTS_SHOWN, 'autre conflit', 'autres conflits')} : "
            "les boutons ci-dessous les règlent tous."
        )
    if len(conflicts) > 1:
        cols = st.columns(2)
        cols[0].button("Garder partout la mienne", key="ann_replay_all_mine", on_click=_choose_all, args=(True,))
        cols[1].button("Garder partout la sienne", key="ann_replay_all_theirs", on_click=_choose_all, args=(False,))


def describe_conflict(conflict: Conflict) -> str:
    """A conflict in French markdown: the fiche by its name, the column by its label, both values."""
    fiche = f"« {md_escape(conflict.nom)} » ({md_escape(conflict.id)})"
    if conflict.column:
        label = md_escape(columns.label(conflict.column))
        return (
            f"- **{label}** de la fiche {fiche} — votre valeur : {_quoted(conflict.mine)} ; valeur de l'autre "
            f"personne : {_quoted(conflict.theirs)} (avant : {_quoted(conflict.base)})."
        )
    return (
        f"- La fiche {fiche} — votre valeur : {_fiche_state(conflict.mine, conflict)} ; valeur de l'autre "
        f"personne : {_fiche_state(conflict.theirs, conflict)}."
    )


def _quoted(value) -> str:
    return f"« {md_escape(value)} »" if value else "(vide)"


def _fiche_state(record: dict | None, conflict: Conflict) -> str:
    """One side of a whole-fiche conflict: deleted, or added / modified with the fields that differ
    from the other side (or from the base)."""
    if record is None:
        return "fiche supprimée" if conflict.base is not None else "pas de fiche"
    other = (
        conflict.base
        if conflict.base is not None
        else (conflict.theirs if record is conflict.mine else conflict.mine) or {}
    )
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
    conflict = replay["conflicts"][number]
    set_work(resolve(st.session_state["ann_work"], [(conflict, keep_mine)]), {conflict.id})


def _choose_all(keep_mine: bool) -> None:
    replay = st.session_state["ann_replay"]
    for number in range(len(replay["conflicts"])):
        replay["choices"][number] = keep_mine
        st.session_state[_choice_key(replay, number)] = KEEP_MINE if keep_mine else KEEP_THEIRS
    conflicts = replay["conflicts"]
    set_work(resolve(st.session_state["ann_work"], [(c, keep_mine) for c in conflicts]), {c.id for c in conflicts})


JOURNAL_COLUMNS = {
    "quand": "Quand",
    "qui": "Qui",
    "action": "Action",
    "type": "Changement",
    "id": "Identifiant",
    "nom": "Nom",
}


def backups_panel(directory_store: DirectoryStore, base, who: str) -> None:
    """Former versions to restore (the dated backups of the file, or the database's versions) and
    the journal."""
    versions = directory_store.versions()
    if not versions:
        st.caption("Aucune sauvegarde pour l'instant : chaque enregistrement garde la version précédente.")
    else:

        def label(version):
            if version.when is None:
                return version.label
            if directory_store.kind == "fichiers":
                return f"Version remplacée le {moment_text(version.when)}"
            return f"Version enregistrée le {moment_text(version.when)} {version.label}"

        choice = st.selectbox("Sauvegardes (la plus récente d'abord)", versions, format_func=label, key="ann_backup")
        if st.button("Restaurer cette sauvegarde", key="ann_restore"):
            try:
                saved = directory_store.restore_version(choice.key, base, who)
            except ConflictError as exc:
                st.error(str(exc))
            except OSError as exc:
                st.error(write_failure(exc))
            else:
                set_base(saved)
                st.session_state["ann_saved"] = (
                    f"{label(choice)} : restaurée ; la version qu'elle remplace est sauvegardée à son tour."
                )
                st.rerun()
    count, journal = directory_store.journal_tail(
        TABLE_ROWS
    )  # the whole journal is a million lines at a million fiches
    if count:
        st.markdown("**Journal des modifications** (le plus récent d'abord)")
        if count > len(journal):
            where = (
                f"le fichier « {directory_store.journal.name} » du dossier des données"
                if directory_store.kind == "fichiers"
                else "dans la base PostgreSQL (table reseaux.directory_journal)"
            )
            st.caption(
                f"Les {fr_number(len(journal))} dernières lignes sur {fr_number(count)} ; le journal "
                f"complet est {where}."
            )
        entries = pd.DataFrame(journal[::-1]).reindex(columns=list(JOURNAL_COLUMNS), fill_value="")
        entries["quand"] = entries["quand"].map(moment_text)
        st.dataframe(entries.rename(columns=JOURNAL_COLUMNS), hide_index=True, width="stretch", height=240)


def exports_panel(base) -> None:
    """The whole directory in three formats, each written only when its button is clicked.

    They are made from the directory as the map reads it (every fiche validated, its codes read),
    which this page does not need otherwise: it is loaded when asked for, once per saved version.
    At 1,000,000 fiches loading it is minutes and a gigabyte when the map has not loaded that
    version already; the page opened and saved in that time for nothing."""
    st.markdown("Les exports contiennent toutes les fiches enregistrées (pas les modifications en attente).")
    if st.session_state.get("ann_exports") != base.version:
        slot = st.empty()  # the button goes once clicked: the downloads take its place at once
        if not slot.button("Préparer les exports", key="ann_x_ready", icon=":material/download:"):
            return
        slot.empty()
        st.session_state["ann_exports"] = base.version
    try:
        actors = map_actors().directory.actors
    except (DirectoryError, OSError) as exc:
        st.error(f"**Exports impossibles : l'annuaire ne peut pas être lu.** {exc}")
        return
    cols = st.columns(3)
    shown = st.session_state.get("_directory_source")  # the version map_actors() read
    download(
        cols[0],
        "CSV (Excel, ;)",
        of_this_version(lambda: to_csv_bytes(actors), changed_since("csv"), shown),
        "annuaire.csv",
        "text/csv",
        "ann_x_csv",
    )
    download(
        cols[1],
        "Excel (.xlsx)",
        of_this_version(lambda: to_xlsx_bytes(actors), changed_since("xlsx"), shown),
        "annuaire.xlsx",
        XLSX_MIME,
        "ann_x_xlsx",
    )
    download(
        cols[2],
        "GeoJSON",
        of_this_version(lambda: to_geojson_bytes(actors), changed_since("geojson"), shown),
        "annuaire.geojson",
        "application/geo+json",
        "ann_x_geojson",
    )
