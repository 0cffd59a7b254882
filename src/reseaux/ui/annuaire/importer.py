"""« Importer » on the « Annuaire » page: a file read, its sheet and header found, its columns mapped
(or a profile applied), checked, its duplicates reviewed, geocoded, merged into the working copy."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from reseaux import config
from reseaux.acces.access import hidden_sentence
from reseaux.annuaire.directory import DirectoryError, validate_table
from reseaux.annuaire.listing import issues_summary, issues_table
from reseaux.annuaire.referential import Referential
from reseaux.importation.duplicates import Duplicates, find_duplicates
from reseaux.importation.import_file import unused_sentence
from reseaux.importation.import_merge import apply_import, first_positions
from reseaux.importation.importing import (
    PROFILES_DIR,
    ImportSpec,
    apply_mapping,
    drop_blank,
    guess_mapping,
    target_label,
    targets,
)
from reseaux.importation.profiles import ProfileError, ProfileStore
from reseaux.importation.reading import Sheet, UploadError, read_sheets
from reseaux.importation.workbook import NoTable, Table, find_table
from reseaux.territoire.geocode_file import geocode_records
from reseaux.text import fr_number, md_escape, plural
from reseaux.ui import progress_bar
from reseaux.ui.annuaire.session import TABLE_ROWS, kept, set_work

DECISIONS = ["fusionner", "garder les deux", "ignorer"]


def profiles_dir():
    """Where import profiles live: ``imports/`` beside the directory file."""
    return config.path("actors").parent / PROFILES_DIR


def import_panel(ref: Referential, work: pd.DataFrame) -> None:
    """Upload, map the columns (or apply a saved profile), set values for the whole file, check,
    geocode, resolve duplicates, add to the working copy."""
    # No ``type=``: the uploader would refuse another file in English; read_upload says it in French.
    upload = st.file_uploader(
        "Tableau ou carte des nouveaux partenaires (.csv, .xlsx, .ods ou .geojson, 10 Mo au plus)", key="ann_upload"
    )
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
    profiles = ProfileStore(profiles_dir())
    try:
        saved = profiles.names()
    except ProfileError as exc:
        st.error(str(exc))
        saved = []
    profile_name = (
        st.selectbox(
            "Profil d'import (correspondances déjà enregistrées pour cette source)",
            ["", *saved],
            format_func=lambda n: n or "(aucun : colonnes devinées)",
            key="ann_profile",
        )
        if saved
        else ""
    )
    base = ImportSpec(mapping=guess_mapping(header, extra=True))
    if profile_name:
        try:
            base = profiles.load(profile_name)
        except ProfileError as exc:
            st.error(str(exc))
    with st.expander("Correspondance des colonnes", expanded=True):
        mapping = {}
        cols = st.columns(3)
        options = targets()
        for number, source in enumerate(header):
            guess = base.mapping.get(source, "")
            mapping[source] = cols[number % 3].selectbox(
                f"« {md_escape(source)} »",
                options,
                index=options.index(guess) if guess in options else 0,
                format_func=target_label,
                key=f"ann_map_{profile_name}_{sheet_key}_{number}",
            )
        unused = [h for h in header if h.strip() and not mapping.get(h)]
        if unused:
            keep = st.multiselect(
                "Colonnes non importées à garder sur la fiche (dans sa description, « colonne : valeur »)",
                unused,
                default=[h for h in base.keep if h in unused],
                format_func=lambda h: f"« {h} »",
                key=f"ann_keep_{profile_name}_{sheet_key}",
            )
            st.caption(
                md_escape(
                    unused_sentence([h for h in unused if h not in keep], keep).replace(
                        " : --garder COLONNE, ou choisissez-la pour une colonne de l'annuaire dans un profil.",
                        " : choisissez-la ci-dessus.",
                    )
                )
            )
        else:  # a sentence, not an empty box to choose from (its placeholder was Streamlit's English)
            keep = []
            st.caption("Chaque colonne du fichier va dans une colonne de l'annuaire : aucune n'est laissée de côté.")
    constants = dict(base.constants)
    with st.expander("Valeurs pour tout le fichier", expanded=not constants):
        types = ref.labels("type")
        chosen = st.selectbox(
            "Type de tous ces acteurs",
            ["", *types],
            format_func=lambda c: types.get(c, "(selon le fichier, sinon « À classer »)"),
            key=f"ann_const_type_{profile_name}",
            index=(["", *types].index(constants["type"]) if constants.get("type") in types else 0),
        )
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
                try:
                    profiles.save(clean, spec)
                except ProfileError as exc:
                    st.error(str(exc))
                except OSError as exc:
                    st.error(f"Profil « {clean} » non enregistré : {exc.strerror or exc}.")
                else:
                    st.success(f"Profil « {clean} » enregistré : il sera proposé au prochain import.")
    if "nom" not in mapping.values():
        st.warning("Choisissez au moins la colonne qui donne le nom.")
        return
    key = (
        _upload_key(upload),
        sheet_key,
        tuple(mapping.items()),
        tuple(constants.items()),
        str(spec.recodings),
        tuple(keep),
    )
    if st.session_state.get("ann_import_key") != key:
        st.session_state["ann_import_key"] = key
        with st.spinner(f"Mise en forme de {plural(len(rows) - 1, 'ligne')}…"):
            st.session_state["ann_import"] = apply_mapping(rows, spec, set(work["id"].astype(str)))
    new = st.session_state["ann_import"]
    with st.spinner("Vérification des lignes…"):  # seconds at 200,000 rows, once per import
        report = kept("import_check", lambda: validate_table(new, ref), new, ref)
    n_rows = len(kept("import_rows", lambda: drop_blank(new), new))
    st.markdown(
        f"**{plural(n_rows, 'ligne lue', 'lignes lues')}** dans « {md_escape(upload.name)} » : "
        f"{fr_number(n_rows - len(report.rejected))} sans erreur, "
        f"{fr_number(len(report.rejected))} avec erreur (importées quand même, à corriger dans « Fiches »), "
        f"{plural(len(report.warnings), 'avertissement')}."
    )
    # Said before the import, not found after it: a file of « à classer » is a directory visitors do not see.
    if hidden := kept("import_hidden", lambda: hidden_sentence(report.actors), report):
        st.info(md_escape(hidden), icon=":material/visibility_off:")
    if "type" not in mapping.values() and not constants.get("type"):
        st.caption(
            "Aucune colonne ne donne le type : choisissez-le pour tout le fichier dans « Valeurs pour tout le fichier »."
        )
    if report.issues:
        # By kind first: 1,433 rows of « type absent » one under the other hid the one position at (0, 0).
        summary = kept("import_summary", lambda: issues_summary(report.issues), report)
        st.caption(f"Les problèmes par sorte ({plural(len(summary), 'sorte')}), les erreurs d'abord :")
        st.dataframe(
            summary,
            hide_index=True,
            width="stretch",
            column_config={"Lignes": st.column_config.NumberColumn("Lignes", format="localized")},
        )
        with st.expander(f"Détail ligne par ligne ({plural(len(report.issues), 'problème')})"):
            if len(report.issues) > TABLE_ROWS:
                st.caption(
                    f"Les {fr_number(TABLE_ROWS)} premiers problèmes sur {fr_number(len(report.issues))} : "
                    "après l'import, « Seulement les fiches en erreur » (onglet « Fiches ») les montre tous."
                )
            st.dataframe(issues_table(report.issues[:TABLE_ROWS]), hide_index=True, width="stretch")
    _geocode_import(new)
    imported = st.session_state["ann_import"]
    new = kept("import_rows", lambda: drop_blank(imported), imported)
    duplicates = kept("duplicates", lambda: _search_duplicates(new, work), new, work)
    decisions = duplicates_review(new, work, duplicates)
    if st.button("Ajouter à l'annuaire (à enregistrer ensuite)", type="primary", key="ann_apply_import"):
        set_work(apply_import(work, new, decisions, duplicates, ref), None)  # the whole copy compared once
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
        choice = str(
            st.selectbox(
                "Feuille à importer",
                range(1, len(names) + 1),
                index=default,
                format_func=lambda n: names[n - 1] or f"Feuille {n}",
                key=f"ann_sheet_{upload_key[0]}",
            )
        )
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
        bar.progress(
            min(done / total, 1.0) if total else 1.0,
            text=f"Lecture de « {md_escape(upload.name)} » : ligne {fr_number(done)} sur {fr_number(total)}",
        )

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
        bar.progress(
            min(done / planned, 1.0) if planned else 1.0,
            text=f"Recherche des doublons : {fr_number(done)} comparaisons sur {fr_number(planned)}",
        )

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
        st.info(
            f"Recherche des doublons bornée : pour {plural(duplicates.unchecked, 'ligne')} du fichier, "
            "les fiches proches n'ont pas toutes été comparées (l'annuaire et le fichier en ont trop dans les "
            "mêmes communes). Ces lignes seront ajoutées comme nouvelles fiches : importez le fichier en "
            "plusieurs parties pour les comparer toutes."
        )
    if not duplicates:
        return {}
    held = st.session_state.get("ann_dup_decisions")
    if held is None or held[0] is not duplicates:
        held = (duplicates, {})
        st.session_state["ann_dup_decisions"] = held
        st.session_state["ann_dup_page"] = 0
    decisions: dict[int, str] = held[1]
    st.markdown(
        f"**{plural(len(duplicates), 'doublon probable', 'doublons probables')}** : chaque ligne est "
        "fusionnée avec la fiche existante, sauf choix contraire ci-dessous."
    )
    cols = st.columns([2, 1])
    cols[0].selectbox("Pour tous les doublons", DECISIONS, key="ann_dup_all")
    cols[1].button("Appliquer à tous", key="ann_dup_all_go", on_click=_decide_all, args=(duplicates,))
    if len(set(decisions.values())) > 1 or (decisions and "fusionner" not in decisions.values()):
        counted = {d: sum(1 for dup in duplicates if decisions.get(dup.new_index, "fusionner") == d) for d in DECISIONS}
        st.caption(" · ".join(f"{d} : {fr_number(n)}" for d, n in counted.items() if n))
    pages = (len(duplicates) - 1) // REVIEW_PAGE + 1
    page = min(max(int(st.session_state.get("ann_dup_page", 0)), 0), pages - 1)
    positions = kept("id_positions", lambda: first_positions(work["id"].astype(str)), work)
    first = page * REVIEW_PAGE
    for dup in duplicates[first : first + REVIEW_PAGE]:
        old = work.iloc[positions[dup.existing_id]]
        incoming = new.iloc[dup.new_index]
        st.markdown(
            md_escape(
                f"« {incoming['nom']} » ({incoming['adresse']} {incoming['commune']}) ↔ fiche "
                f"existante « {old['nom']} » ({old['adresse']} {old['commune']}) — {dup.reason}"
            )
        )
        decisions[dup.new_index] = st.radio(
            "Que faire ?",
            DECISIONS,
            horizontal=True,
            key=f"ann_dup_{dup.new_index}",
            index=DECISIONS.index(decisions.get(dup.new_index, "fusionner")),
        )
    if pages > 1:
        cols = st.columns([1, 2, 1])
        cols[0].button("Page précédente", key="ann_dup_prev", disabled=page == 0, on_click=_turn, args=(page - 1,))
        cols[1].caption(
            f"Doublons {fr_number(first + 1)} à {fr_number(min(first + REVIEW_PAGE, len(duplicates)))} "
            f"sur {fr_number(len(duplicates))} (page {fr_number(page + 1)} sur {fr_number(pages)})"
        )
        cols[2].button(
            "Page suivante", key="ann_dup_next", disabled=page == pages - 1, on_click=_turn, args=(page + 1,)
        )
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
    if not st.button(
        f"Géocoder {plural(missing, 'adresse sans position', 'adresses sans position')}", key="ann_geocode"
    ):
        return
    bar = st.progress(0.0, text="Géocodage…")
    records = new.to_dict("records")
    summary = geocode_records(records, offline=offline, progress=progress_bar(bar))
    st.session_state["ann_import"] = pd.DataFrame(records, columns=new.columns)
    (st.warning if summary.offline else st.success)(summary.sentence())
    if summary.problems:  # each row placed roughly or not at all, on its file line, with what to do
        st.caption(
            f"{plural(len(summary.problems), 'adresse à revoir', 'adresses à revoir')} "
            "(ligne du fichier, ce qui s'est passé et que faire) :"
        )
        st.table(
            pd.DataFrame([{"Ligne": line, "Message": message} for line, message in summary.problems[:50]]).set_index(
                "Ligne"
            )
        )  # a plain table: read by a screen reader, wrapped on a phone
        if len(summary.problems) > 50:
            st.caption(
                f"… et {fr_number(len(summary.problems) - 50)} autres (la commande "
                "« python -m reseaux importer » les compte aussi)."
            )
