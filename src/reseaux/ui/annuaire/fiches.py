"""The fiches of the « Annuaire » page: the table and its search, the form of one fiche (its fields
made from the column registry, :mod:`reseaux.annuaire.columns`), its position, the stale ones."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st
from streamlit_folium import st_folium

from reseaux import config, memory
from reseaux.acces.access import VISIBILITY_LABELS
from reseaux.annuaire import columns
from reseaux.annuaire.changes import ID, id_text, same_column, stale_positions
from reseaux.annuaire.directory import ERROR, Issue, validate_record
from reseaux.annuaire.fields import read_fields
from reseaux.annuaire.model import none_gone, runs_of, shared_text
from reseaux.annuaire.referential import Referential
from reseaux.annuaire.table_check import TableCheck
from reseaux.carte.mapbits import position_picker
from reseaux.text import (
    arrow_text,
    fold,
    fold_column,
    fr_coordinates,
    fr_number,
    md_escape,
    plural,
    split_cell,
    text_series,
)
from reseaux.ui import choose_many
from reseaux.ui.annuaire.session import (
    TABLE_ROWS,
    TABS,
    TABS_KEY,
    checked,
    day_text,
    edit_number,
    edits_since,
    kept,
    once_per_version,
    set_work,
)


def fiches_panel(ref: Referential, work: pd.DataFrame) -> None:
    """The directory as a sortable table (its first :data:`TABLE_ROWS` rows, searched or not);
    select a row to edit its fiche."""
    check = checked(ref, work)
    query = st.text_input("Rechercher une fiche", key="ann_search", placeholder="nom, commune, profession…")
    keep = pd.Series(True, index=work.index)
    words = fold(query).split()
    if words:  # every word, anywhere in the fiche: « sage-femme », « Sœurs » as people type them
        keep &= search_text(work).holding(work, words)
    only_bad = False
    if check.n_bad:
        only_bad = st.toggle(f"Seulement les fiches en erreur ({fr_number(check.n_bad)})", key="ann_only_bad")
        if only_bad:
            keep &= check.bad
    view = work[keep.to_numpy()]
    if view.empty and (words or only_bad):
        _no_fiche(query, only_bad)
    elif view.empty:
        st.info(
            "L'annuaire ne contient aucune fiche : créez-en une avec « Nouvelle fiche », ou importez "
            "un fichier (onglet « Importer »).",
            icon=":material/info:",
        )
    if len(view) > TABLE_ROWS:
        st.caption(
            f"Les {fr_number(TABLE_ROWS)} premières fiches sur {fr_number(len(view))} : précisez la "
            "recherche pour trouver les autres (les exports les contiennent toutes)."
        )
    view = view.iloc[:TABLE_ROWS]
    status = pd.Series(check.bad[view.index.to_numpy()], index=view.index).map({True: "erreur", False: "ok"})
    shown = [c.name for c in columns.shown_in(columns.ANNUAIRE)]
    readable = _readable(ref, view.reindex(columns=shown, fill_value="")).assign(statut=status)[["statut", *shown]]
    readable = readable.rename(columns={**columns.labels(), "statut": "Statut"})
    # The selection is a row number of this table: a new search makes a new table (new key),
    # so that row 1 of « Rouen » never opens row 1 of the previous list.
    # No table when nothing is found: its empty frame would say « empty », in English.
    event = None
    if len(view):
        event = st.dataframe(
            readable,
            hide_index=True,
            width="stretch",
            height=300,
            key=f"ann_table_{query.strip()}_{only_bad}",
            on_select="rerun",
            selection_mode="single-row",
        )
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


@dataclass(frozen=True, eq=False)
class SearchText:
    """What the search box looks into, for each fiche of a working copy: a fiche is found when
    each word typed (folded: letters and digits) is in one of its cells folded (``text.fold``).

    Most columns of a directory are written in lower-case ASCII: codes, telephones, postcodes,
    INSEE codes, coordinates, dates, identifiers. In such a cell a folded word is found as written
    exactly where it is found in the cell folded (folding it only makes each run of what is not a
    letter or a digit one space, and a word has none), so these columns are searched as the
    working copy holds them, not copied folded: :attr:`raw`. :attr:`text` holds, for each fiche,
    its other cells folded and joined by spaces; for a fiche with a cell of a ``raw`` column not in
    lower-case ASCII (or folded again after an edit), every one of its cells. Such a fiche's ``raw``
    cells may still be searched as written: a word found as written in any cell is found in its
    fold (folding keeps each run of ASCII letters and digits as it is, in lower case), and found
    in the cell folded it is in the text. A column empty in every fiche is in neither.
    At a million synthetic fiches the folded text was 0.2 GB, all cells; now that of the names and
    communes (docs/mesures.md, « La page Annuaire sur PostgreSQL »)."""

    text: pd.Series
    raw: tuple[str, ...]

    def holding(self, work: pd.DataFrame, words: list[str]) -> np.ndarray:
        """For each fiche of ``work`` (the working copy this text is of), whether it holds every
        one of ``words`` (folded)."""
        keep = np.ones(len(work), dtype=bool)
        for word in words:
            found = self.text.str.contains(word, regex=False).to_numpy(dtype=bool, na_value=False)
            for column in self.raw:
                found = found | _contains(work[column], word)
            keep &= found
        return keep


#: At most this share of a column's cells not in lower-case ASCII for the column to be searched
#: as written (:class:`SearchText`): each such cell has its fiche's every cell folded.
RAW_APART = 0.01


def _contains(values: pd.Series, word: str) -> np.ndarray:
    """Whether each cell of a column holds ``word`` as written (a missing cell does not)."""
    arrow = _arrow(values)
    return pc.fill_null(pc.match_substring(arrow, word), False).to_numpy(zero_copy_only=False).astype(bool)


def _arrow(values: pd.Series):
    """A column as Arrow text, a missing cell ``""``, without a copy when it is held so."""
    arrow = arrow_text(values, whole=True)
    return arrow if arrow is not None else pa.array(values.fillna("").astype(str).tolist(), pa.large_string())


def _lower_ascii(arrow) -> np.ndarray:
    """Whether each value is written in ASCII without a capital letter (found as written, see
    :class:`SearchText`)."""
    plain = pc.and_(pc.string_is_ascii(arrow), pc.invert(pc.match_substring_regex(arrow, "[A-Z]")))
    return pc.fill_null(plain, True).to_numpy(zero_copy_only=False).astype(bool)


def build_search(work: pd.DataFrame) -> SearchText:
    """:class:`SearchText` of ``work``: the columns in lower-case ASCII searched as written, the
    others folded (:func:`_search_text`), the fiches with a cell that is neither folded whole."""
    raw, folded, apart = [], [], np.zeros(len(work), dtype=bool)
    with memory.reading():
        for column in work.columns:
            arrow = _arrow(work[column])
            longest = pc.max(pc.binary_length(arrow)).as_py() if len(arrow) else None
            if not longest:  # empty in every fiche: nothing to find there
                continue
            plain = _lower_ascii(arrow)
            if np.count_nonzero(~plain) <= RAW_APART * len(work):
                raw.append(column)
                apart |= ~plain
            else:
                folded.append(column)
        text = _search_text(work[folded])
        if apart.any():  # their every cell folded, in place of their folded columns only
            whole = arrow_text(_search_text(work.iloc[np.flatnonzero(apart)]), whole=True)
            mixed = pc.replace_with_mask(arrow_text(text, whole=True), pa.array(apart), whole)
            text = text_series(mixed, work.index)
    return SearchText(text, tuple(raw))


def search_text(work: pd.DataFrame) -> SearchText:
    """:func:`build_search` of the working copy, kept while the copy is the same; after an edit
    only the fiches it touched are folded again (5.7 s for the whole text at a million fiches:
    at every fiche validated while a search is typed, before)."""
    held = st.session_state.get("ann_kept_search")  # (work, its edit number, its search text)
    if held is not None and held[0] is work:
        return held[2]
    at = edit_number(work)
    changed = edits_since(held[1]) if held is not None and at is not None else None
    searched = _search_text_after(held[0], held[2], work, changed) if changed is not None else None
    if searched is None:
        searched = once_per_version("search", work, lambda: build_search(work))
    st.session_state["ann_kept_search"] = (work, at, searched)
    return searched


def _search_text_after(before: pd.DataFrame, held: SearchText, work: pd.DataFrame, changed: set[str]):
    """The :class:`SearchText` of ``work`` from ``held``, that of ``before``, when only the fiches
    ``changed`` may differ: each other fiche's text is taken by its id, the changed ones (and any
    without an id of its own) folded again, every cell. None when the two tables cannot be
    matched so.

    When every fiche of ``before`` is still there, the text is made of slices of ``held``'s and of
    the fiches folded again, not copied (:func:`~reseaux.annuaire.model.shared_text`): at a million
    fiches the copy was 0.55 GB more in the server at each fiche validated. A fiche gone (deleted)
    makes a copy, so that its text does not stay in memory with the slices."""
    if ID not in work or ID not in before or list(before.columns) != list(work.columns):
        return None
    with memory.reading():  # what matching a million ids takes goes back to the system
        matched = _matched(id_text(before[ID]), id_text(work[ID]), changed)
    if matched is None:
        return None
    where, again, ids = matched
    text = held.text
    rows = np.flatnonzero(again)
    folded = _search_text(work.iloc[rows]) if len(rows) else None
    if len(text) and none_gone(id_text(before[ID]), where[~again], ids.iloc[rows]):
        source = where.copy()
        source[rows] = len(text) + np.arange(len(rows))
        runs = runs_of(source)
        shared = shared_text(text, text.iloc[:0] if folded is None else folded, runs) if runs is not None else None
        if shared is not None:  # slices of the text before and of the fiches folded again: no copy
            return SearchText(pd.Series(shared.array, index=work.index, copy=False), held.raw)
    previous = arrow_text(text, whole=True)  # a fiche gone (its text must not stay), or too many pieces
    taken = previous.take(pa.array(np.where(again, 0, where))) if len(previous) else pa.array([""] * len(work))
    if folded is not None:
        taken = pc.replace_with_mask(taken, pa.array(again), arrow_text(folded, whole=True))
    return SearchText(text_series(taken, work.index), held.raw)


def _matched(before: pd.Series, ids: pd.Series, changed: set[str]):
    """(where, again, ids): for each fiche of ids ``ids``, its place among the ids ``before``
    (-1: none), and whether it is to be folded again: not found, among ``changed``, without an
    id, or — when the ids are not those of ``before`` — with an id another fiche holds (both would
    take the first's text). None when ``before`` repeats an id (its fiches cannot be told apart).
    By Arrow on text ids: pandas' index of a million ids made each a Python string, and an edit in
    place (the same ids, every fiche where it was) hashes none (0.1 GB more in the server at each
    fiche validated, at a million fiches)."""
    wanted, repeated = _arrow(ids), frozenset()
    if same_column(before, ids):
        where = np.arange(len(ids))
    else:
        held = _arrow(before)
        if pc.count_distinct(held).as_py() != len(held):
            return None
        where = np.asarray(pc.fill_null(pc.index_in(wanted, value_set=held), -1).to_numpy(zero_copy_only=False))
        repeated = _repeated(wanted)
    named = pa.array(sorted(changed | repeated), pa.large_string())
    again = (
        (where < 0)
        | pc.is_in(wanted, value_set=named).to_numpy(zero_copy_only=False)
        | pc.equal(wanted, "").to_numpy(zero_copy_only=False)
    )
    return where.astype(np.int64), again, ids


def _repeated(ids) -> frozenset[str]:
    """The ids (Arrow text) more than one fiche holds."""
    if pc.count_distinct(ids).as_py() == len(ids):
        return frozenset()
    counts = pc.value_counts(ids)
    return frozenset(pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1)).to_pylist())


def _search_text(work: pd.DataFrame) -> pd.Series:
    """Each fiche's cells folded (``text.fold``, as the sidebar and the map's search box fold),
    joined: what the search box looks into. Folded a column at a time by Arrow
    (:func:`reseaux.text.fold_column`), joined by Arrow: at a million fiches, 20 s and 1.2 GB
    more as Python strings; now a few seconds and 0.2 GB (docs/mesures.md). Joined a few columns at
    a time: every column folded, held until one join, was 0.4 GB more at the top of the server's
    memory at a million fiches (the same text: a join of joins, none of them null)."""
    space = pa.scalar(" ", pa.large_string())
    if not len(work.columns):
        return text_series(pa.array([""] * len(work)), work.index)
    parts = []
    with memory.reading():  # what the work makes goes back to the system once joined
        for first in range(0, max(len(work), 1), SEARCH_ROWS):
            rows = work.iloc[first : first + SEARCH_ROWS]
            joined = None
            for start in range(0, len(work.columns), FOLDED_AT_ONCE):
                folded = [
                    fold_column(rows[c]).array.__arrow_array__() for c in work.columns[start : start + FOLDED_AT_ONCE]
                ]
                joined = pc.binary_join_element_wise(*([] if joined is None else [joined]), *folded, space)
                del folded
            parts.extend(joined.chunks if isinstance(joined, pa.ChunkedArray) else [joined])
    return text_series(pa.chunked_array(parts, pa.large_string()), work.index)


#: Fiches whose text is folded and joined at once (:func:`_search_text`): a join of joins holds
#: the text twice while it is made, so the whole text at once peaked at 0.4 GB above it at a
#: million fiches; a block of rows at a time holds that block twice.
SEARCH_ROWS = 100_000

#: Columns folded before they are joined to the search text (:func:`_search_text`).
FOLDED_AT_ONCE = 4


def _no_fiche(query: str, only_bad: bool) -> None:
    """The search (or « only the fiches in error ») found nothing: say so, and undo it in one click."""
    among = " parmi les fiches en erreur" if only_bad else ""
    said = (
        f"Aucune fiche ne contient « {md_escape(query.strip())} »{among}"
        if query.strip()
        else "Aucune fiche en erreur ne correspond"
    )
    st.info(
        f"{said}. Vérifiez l'orthographe ou cherchez un seul mot (nom, commune, profession) ; une "
        "fiche absente se crée avec « Nouvelle fiche ».",
        icon=":material/search_off:",
    )
    row = st.container(horizontal=True)
    if query.strip():
        row.button(
            "Effacer la recherche",
            key="ann_clear_search",
            on_click=st.session_state.__setitem__,
            args=("ann_search", ""),
        )
    if only_bad:
        row.button(
            "Voir toutes les fiches",
            key="ann_all_fiches",
            on_click=st.session_state.__setitem__,
            args=("ann_only_bad", False),
        )


def _readable(ref: Referential, table: pd.DataFrame) -> pd.DataFrame:
    """Codes as their labels, dates as « 11 juin 2026 »: the table as a coordinator reads it."""
    out = table.copy()
    for column in columns.columns():
        if column.name not in out:
            continue
        if column.kind == columns.REFERENTIAL:
            out[column.name] = out[column.name].map(
                lambda v, c=column: ", ".join(
                    ref.label(c.category, ref.resolve(c.category, part) or part)
                    for part in (split_cell(v) if c.multi else [v] if v else [])
                )
            )
        elif column.kind == columns.DATE:
            out[column.name] = out[column.name].map(day_text)
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
    rows = work.index[fiche_rows(work, str(actor_id))] if not is_new else []
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
            for cell, column in zip(st.columns(2), form[pair : pair + 2], strict=False):  # the last pair may be one
                with cell:
                    values[column] = _field(
                        ref, column, current.get(column, ""), disabled=(column == "id" and not is_new)
                    )
                    for issue in by_field.get(column, []):
                        _finding(issue)
        if refused:
            wrong = list(dict.fromkeys(columns.label(i.column) for i in refused if i.severity == ERROR))
            st.error(
                md_escape(
                    f"La fiche n'est pas validée : {plural(len(wrong), 'champ')} à corriger "
                    f"({', '.join(wrong)}), le message est sous le champ. Rien n'est mis en attente ; "
                    "ce que vous avez saisi reste dans le formulaire."
                )
            )
        submitted = st.form_submit_button("Valider la fiche", type="primary")
    if submitted:
        _submit(ref, work, current, values, is_new, rows)
    if not is_new and len(rows):
        position_editor(work, rows[0], current)
        if st.button("Supprimer cette fiche", key=f"ann_del_{actor_id}"):
            set_work(work.drop(index=rows[0]), {str(actor_id)})
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
            chosen = choose_many(
                label,
                options,
                default=current,
                format_func=lambda c: labels.get(c, c),
                key=key,
                placeholder="Aucune",
                help=help_text,
            )
            return "|".join(chosen)
        options = ["", *labels]
        index = options.index(current[0]) if current and current[0] in options else 0
        return st.selectbox(
            label, options, index=index, format_func=lambda c: labels.get(c, "—"), key=key, help=help_text
        )
    if column.kind == columns.VISIBILITY:  # a choice of labels, not a code to type
        options = list(VISIBILITY_LABELS) + ([value] if value not in VISIBILITY_LABELS else [])
        return st.selectbox(
            label,
            options,
            index=options.index(value),
            key=key,
            help=help_text,
            format_func=lambda v: VISIBILITY_LABELS.get(v, f"« {v} » (illisible : membres)"),
        )
    if column.kind in (columns.LIST, columns.ZONES):  # « français », « roumain » as chips, not « français|roumain »
        current = split_cell(value)
        return "|".join(
            choose_many(
                label,
                current,
                default=current,
                key=key,
                accept_new_options=True,
                placeholder="Aucune : écrivez-en une puis Entrée",
                help=help_text,
            )
        )
    if column.kind == columns.LONG_TEXT:
        return st.text_area(label, value=value, key=key, help=help_text)
    return st.text_input(label, value=value, key=key, disabled=disabled, help=help_text)


def _form_findings(
    ref: Referential, work: pd.DataFrame, current: dict, values: dict[str, str], is_new: bool
) -> tuple[dict, list[Issue]]:
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
        found.append(
            Issue(
                None, "id", record["id"], f"l'identifiant « {record['id']} » est déjà utilisé : choisissez-en un autre"
            )
        )
    return record, found


def _submit(ref, work, current, values, is_new, rows) -> None:
    record, found = _form_findings(ref, work, current, values, is_new)
    if any(issue.severity == ERROR for issue in found):
        st.session_state["ann_findings"] = found
        st.rerun()
    set_work(edited(work, rows, record, is_new), {str(current.get("id", "")), str(record["id"])})
    st.session_state["ann_edit"] = record["id"]
    st.session_state.pop("ann_findings", None)
    st.rerun()


def fiche_rows(work: pd.DataFrame, actor_id: str) -> np.ndarray:
    """Where the rows of the fiche ``actor_id`` are in ``work`` (a mask)."""
    ids = id_text(work["id"])
    if ids.dtype == object:  # NumPy compares a million strings faster than pandas does
        return ids.to_numpy() == actor_id
    return (ids == actor_id).to_numpy()


def edited(work: pd.DataFrame, rows, record: dict, is_new: bool) -> pd.DataFrame:
    """The working copy with the fiche ``record`` validated: added after the last, or written over
    its row ``rows[0]`` (the copy itself is not changed: see ``set_work``)."""
    if is_new:
        return pd.concat([work, pd.DataFrame([record])], ignore_index=True).fillna("")
    table = work.copy(deep=False)  # the columns the fiche changes are copied, the others shared
    for column, value in record.items():
        if column not in table or table.at[rows[0], column] != value:
            cells = table[column].copy() if column in table else pd.Series("", index=table.index, dtype=object)
            cells.at[rows[0]] = value
            table[column] = cells
    return table


def position_editor(work: pd.DataFrame, row: int, current: dict) -> None:
    """Click on the small map to move the fiche: its position becomes « manuel »."""
    with st.expander("Déplacer sur la carte (la position devient « manuel »)"):
        lat = pd.to_numeric(current.get("latitude"), errors="coerce")
        lon = pd.to_numeric(current.get("longitude"), errors="coerce")
        from reseaux.ui import territory

        clicked = st_folium(
            position_picker(lat, lon, territory().home_bounds),
            height=320,
            key=f"ann_pick_{current.get('id')}",
            returned_objects=["last_clicked"],
            use_container_width=True,
        )
        point = (clicked or {}).get("last_clicked")
        if point and st.button(f"Placer ici ({fr_coordinates(point['lat'], point['lng'])})", key="ann_place"):
            table = work.copy()
            table.loc[
                row,
                ["latitude", "longitude", "geocodage_source", "geocodage_score", "geocodage_type", "geocodage_label"],
            ] = [f"{point['lat']:.6f}", f"{point['lng']:.6f}", "manuel", "", "", ""]
            set_work(table, {str(current.get("id", ""))})
            st.rerun()


#: Widths (px) of « À mettre à jour »'s columns: together under the 980 px of a 1440 px screen's page.
STALE_WIDTHS = {"date_maj": 125, "nom": 210, "type": 135, "commune": 150, "telephone": 100, "email": 200}


def stale_panel(ref: Referential, work: pd.DataFrame) -> None:
    days = int(config.get("stale_days"))
    positions = kept("stale", lambda: stale_positions(work, days=days), work)
    if not len(positions):
        st.success(f"Toutes les fiches ont été mises à jour depuis moins de {days} jours.")
        return
    st.markdown(
        f"**{plural(len(positions), 'fiche non mise', 'fiches non mises')} à jour depuis plus de "
        f"{plural(days, 'jour')}** (ou sans date), la plus ancienne d'abord"
    )
    if len(positions) > TABLE_ROWS:
        st.caption(
            f"Les {fr_number(TABLE_ROWS)} plus anciennes ci-dessous ; les exports (onglet « Exporter ») "
            "contiennent toutes les fiches, avec leur date de mise à jour."
        )
    shown = work.iloc[positions[:TABLE_ROWS]]  # the oldest, not a copy of every stale fiche
    # The date first and the name held to a width: every column fits at 1440 px (the date, last,
    # was cut off); a row ticked opens its fiche in « Fiches ».
    st.caption("Cochez une ligne pour ouvrir sa fiche (onglet « Fiches »).")
    st.dataframe(
        _readable(ref, shown[list(STALE_WIDTHS)]).rename(columns=columns.labels()),
        hide_index=True,
        width="stretch",
        column_config={columns.label(c): st.column_config.TextColumn(width=w) for c, w in STALE_WIDTHS.items()},
        key="ann_stale_table",
        selection_mode="single-row",
        on_select=partial(_open_from_list, "ann_stale_table", shown["id"].astype(str).tolist()),
    )


def _open_from_list(key: str, ids: list[str]) -> None:
    """A row ticked in a list of fiches: open that fiche in the « Fiches » tab, which comes forward."""
    rows = st.session_state[key].selection.rows
    if rows and rows[0] < len(ids):
        st.session_state["ann_edit"] = ids[rows[0]]
        st.session_state.pop("ann_findings", None)
        st.session_state[TABS_KEY] = TABS[0]
