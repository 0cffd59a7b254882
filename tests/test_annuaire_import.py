"""The Annuaire page's import, run in AppTest with a stand-in for the uploader (AppTest has no
file uploader): what the page keeps between reruns belongs to the file uploaded now."""

from __future__ import annotations

from dataclasses import dataclass

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


@dataclass
class Upload:
    """What the page reads of an uploaded file (streamlit's UploadedFile)."""

    file_id: str
    name: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def getvalue(self) -> bytes:
        return self.data


def _import_script():
    import pandas as pd
    import streamlit as st

    from reseaux.annuaire.columns import names

    COLUMNS = names()
    from reseaux.annuaire.referential import load_referential
    from reseaux.ui.annuaire import importer

    work = st.session_state.setdefault(
        "work",
        pd.DataFrame(
            [dict.fromkeys(COLUMNS, "") | {"id": "e1", "nom": "Centre Existant (fictif)", "commune": "Rouen"}],
            dtype=object,
        ),
    )
    uploader = st.file_uploader
    st.file_uploader = lambda *args, **kwargs: st.session_state["upload"]
    try:
        importer.import_panel(load_referential(st.session_state["referential"]), work)
    finally:
        st.file_uploader = uploader


def test_a_corrected_file_of_the_same_name_and_size_is_the_one_imported(tmp_path, monkeypatch):
    """The rows were mapped again only when the name, the size or the mapping changed: a file
    corrected with as many characters (« Alpha » → « Alphb ») imported the old rows."""
    monkeypatch.setenv("RESEAUX_ACTORS", str(tmp_path / "actors.csv"))
    first = Upload("1", "partenaires.csv", b"nom,commune\nCentre Alpha (fictif),Rouen\n")
    second = Upload("2", "partenaires.csv", b"nom,commune\nCentre Alphb (fictif),Rouen\n")
    assert first.size == second.size
    at = AppTest.from_function(_import_script, default_timeout=60)
    at.session_state["referential"] = str(ROOT / "data" / "referentiel.csv")
    at.session_state["upload"] = first
    at.run()
    assert not at.exception
    assert at.session_state["ann_import"]["nom"].tolist() == ["Centre Alpha (fictif)"]
    at.session_state["upload"] = second
    at.run()
    assert not at.exception
    assert at.session_state["ann_import"]["nom"].tolist() == ["Centre Alphb (fictif)"]


def _review_of_a_repeated_id():
    import pandas as pd
    import streamlit as st

    from reseaux.annuaire.columns import names

    COLUMNS = names()
    from reseaux.importation.duplicates import Duplicate, Duplicates
    from reseaux.ui.annuaire.importer import duplicates_review

    fiche = dict.fromkeys(COLUMNS, "")
    work = pd.DataFrame(
        [fiche | {"id": "e1", "nom": "Cabinet Premier"}, fiche | {"id": "e1", "nom": "Cabinet Second"}], dtype=object
    )
    new = pd.DataFrame([fiche | {"id": "n1", "nom": "Cabinet Premier"}], dtype=object)
    found = st.session_state.setdefault("found", Duplicates([Duplicate(0, "e1", 100.0, "même nom")]))
    duplicates_review(new, work, found)


def test_the_review_of_a_duplicate_shows_the_fiche_it_is_merged_into():
    """Where an id is repeated, the import merges into its first fiche; the review showed the last."""
    import pandas as pd

    from reseaux.annuaire.columns import names

    COLUMNS = names()
    from reseaux.importation.duplicates import Duplicate
    from reseaux.importation.import_merge import apply_import

    at = AppTest.from_function(_review_of_a_repeated_id, default_timeout=60).run()
    assert not at.exception
    shown = next(m.value for m in at.markdown if "↔" in m.value)
    assert "existante « Cabinet Premier »" in shown
    fiche = dict.fromkeys(COLUMNS, "")
    work = pd.DataFrame(
        [fiche | {"id": "e1", "nom": "Cabinet Premier"}, fiche | {"id": "e1", "nom": "Cabinet Second"}], dtype=object
    )
    new = pd.DataFrame([fiche | {"id": "n1", "nom": "Cabinet Premier", "telephone": "02 35 00 00 00"}], dtype=object)
    merged = apply_import(work, new, {}, [Duplicate(0, "e1", 100.0, "même nom")])
    assert merged["telephone"].tolist() == ["02 35 00 00 00", ""]  # into the fiche the review showed


def test_the_import_report_names_columns_by_their_labels(tmp_path, monkeypatch):
    """The report's « Colonne » said ``code_postal``, a code neither the file (« CP »)
    nor the fiche (« Code postal ») uses."""
    monkeypatch.setenv("RESEAUX_ACTORS", str(tmp_path / "actors.csv"))
    at = AppTest.from_function(_import_script, default_timeout=60)
    at.session_state["referential"] = str(ROOT / "data" / "referentiel.csv")
    at.session_state["upload"] = Upload("1", "partenaires.csv", b"nom;CP;commune\nCentre Alpha (fictif);7600;Rouen\n")
    at.run()
    assert not at.exception
    report = next(df.value for df in at.dataframe if "Valeur" in df.value.columns)  # line by line
    assert report[report["Valeur"] == "7600"]["Colonne"].tolist() == ["Code postal"]
    summary = next(df.value for df in at.dataframe if "Premières lignes" in df.value.columns)  # by kind
    assert "Code postal" in summary["Colonne"].tolist()


def test_before_the_import_the_page_says_which_fiches_visitors_will_not_see_and_where_to_set_the_type(
    tmp_path, monkeypatch
):
    """The ARS's extract has no type column: its places are « à classer », and those the validation
    cannot call establishments are members-only. The command line said so, the page did not: a
    coordinator learnt it after the import, from a map visitors saw nearly empty. Set for the whole
    file, the type (« Structure ») makes every one public, and the page says nothing more."""
    from tests.test_import_real import REAL

    monkeypatch.setenv("RESEAUX_ACTORS", str(tmp_path / "actors.csv"))
    data = (REAL / "datagouv_centres_vaccination_extrait.csv").read_bytes()
    at = AppTest.from_function(_import_script, default_timeout=60)
    at.session_state["referential"] = str(ROOT / "data" / "referentiel.csv")
    at.session_state["upload"] = Upload("1", "vaccination.csv", data)
    at.run()
    assert not at.exception
    said = [i.value for i in at.info]
    assert len(said) == 1 and "ne seront pas visibles sans connexion" in said[0] and "à classer" in said[0]
    assert any("Aucune colonne ne donne le type" in c.value for c in at.caption)
    at.selectbox(key="ann_const_type_").set_value("structure").run()
    assert not at.exception
    assert not [i.value for i in at.info if "visible" in i.value]
    assert not any("Aucune colonne ne donne le type" in c.value for c in at.caption)
