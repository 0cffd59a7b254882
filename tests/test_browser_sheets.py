"""Browser journey: a coordinator drops a published workbook whose first sheet is a
read-me. The data sheet is found and offered in « Feuille à importer »; another sheet can be
chosen; the columns not imported are named and one is kept on the fiches."""

from __future__ import annotations

import pandas as pd
import pytest
from playwright.sync_api import expect

from tests.browser import choose, no_error, open_import, settle
from tests.test_browser_a11y import AXE, check, report
from tests.test_browser_annuaire import coordination  # noqa: F401 — the fixture
from tests.test_browser_french import english_left
from tests.test_workbooks import TEMPLATE, WORKBOOK, _finess_rows

pytestmark = pytest.mark.browser


def _sheet_box(page):
    return page.get_by_role("combobox", name="Feuille à importer")


def test_the_data_sheet_is_offered_another_can_be_chosen_and_a_kept_column_reaches_the_fiche(page, coordination):  # noqa: F811 — the fixture
    app, actors = coordination
    open_import(page, app)
    page.locator("input[type=file]").set_input_files(str(WORKBOOK))
    page.get_by_text("3 lignes lues").wait_for(timeout=60_000)
    settle(page)
    expect(_sheet_box(page)).to_have_value("Etablissements")
    expect(page.get_by_text("Feuille « Etablissements » lue, en-tête ligne 2")).to_have_count(1)
    expect(page.get_by_text("19 colonnes non importées : « nofinessej », « rslongue »")).to_have_count(1)

    choose(page, "Feuille à importer", "Lisez-moi")  # the read-me has no column that gives a name
    page.get_by_text("Choisissez au moins la colonne qui donne le nom.").wait_for(timeout=60_000)
    expect(page.get_by_text("lignes lues")).to_have_count(0)

    choose(page, "Feuille à importer", "Etablissements")
    page.get_by_text("3 lignes lues").wait_for(timeout=60_000)
    choose(page, "Colonnes non importées à garder", "« libsph »")
    settle(page)
    page.get_by_role("button", name="Ajouter à l'annuaire (à enregistrer ensuite)").click()
    page.get_by_text("3 modifications en attente").wait_for(timeout=60_000)
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.get_by_text("Aucune modification en attente").wait_for(timeout=60_000)
    no_error(page)

    saved = pd.read_csv(actors, dtype=str, keep_default_na=False).set_index("id")
    for row in _finess_rows():
        fiche = saved.loc[f"finess-{row['nofinesset']}"]
        assert fiche["nom"] == row["rs"].strip()
        assert fiche["description"] == (f"libsph : {row['libsph']}" if row["libsph"] else "")  # empty: nothing kept


def test_a_workbook_without_a_table_of_actors_names_its_sheets_and_imports_nothing(page, coordination):  # noqa: F811 — the fixture
    app, actors = coordination
    before = actors.read_bytes()
    open_import(page, app)
    page.locator("input[type=file]").set_input_files(str(TEMPLATE))
    page.get_by_text("Aucune feuille du classeur ne ressemble à une liste d'acteurs").wait_for(timeout=60_000)
    settle(page)
    expect(page.get_by_text("Aucune feuille du classeur ne ressemble")).to_contain_text(
        "« Lisez-moi » (pas d'en-tête d'annuaire, 16 lignes), « Comparaison » (vide)"
    )
    expect(_sheet_box(page)).to_have_value("Lisez-moi")
    expect(page.get_by_text("Choisissez au moins la colonne qui donne le nom.")).to_have_count(1)
    expect(page.get_by_role("button", name="Ajouter à l'annuaire (à enregistrer ensuite)")).to_have_count(0)
    no_error(page)
    assert actors.read_bytes() == before


def test_the_rows_the_offline_placing_could_not_place_are_named_on_their_line(page, coordination, tmp_path):  # noqa: F811 — the fixture
    """The import page said only « 0 placée à leur commune, 1 introuvable »: a coordinator could
    not tell which row to mend. « CASTRES » (no postcode) is a commune of the Aisne and one of the
    Tarn — the COG's answer, read on the list of communes — and the file's other row, in
    Saint-Lô (Manche), says neither: the row is named on its line 3 with both candidates."""
    app, _ = coordination
    source = tmp_path / "deux_lignes.csv"
    source.write_text(
        "nom,adresse,code_postal,commune\n"
        "Centre A (fictif),1 rue Neuve,50000,Saint-Lô\n"
        "Centre B (fictif),2 rue Vieille,,CASTRES\n",
        encoding="utf-8",
    )
    open_import(page, app)
    page.locator("input[type=file]").set_input_files(str(source))
    page.get_by_text("2 lignes lues").wait_for(timeout=60_000)
    settle(page)
    # Each of its four columns is imported: said in a sentence, with no empty box to choose from
    # (whose placeholder was Streamlit's « No options to select »), and no English left.
    expect(page.get_by_text("aucune n'est laissée de côté")).to_have_count(1)
    expect(page.get_by_label("Colonnes non importées à garder", exact=False)).to_have_count(0)
    assert english_left(page) == []
    found: list[str] = []  # the import page with a file read: its mapping, its report, its buttons
    check(page, AXE.read_text(encoding="utf-8"), "Annuaire, import d'un fichier lu", found)
    assert not found, report(found)
    page.get_by_text("Hors ligne : placer à la commune").click()
    settle(page)
    page.get_by_role("button", name="Géocoder 2 adresses sans position").click()
    page.get_by_text("adresse à revoir").wait_for(timeout=60_000)
    row = page.get_by_test_id("stTable").get_by_role("row").filter(has_text="Castres (Aisne, 02)")
    expect(row).to_have_count(1, timeout=60_000)
    expect(row).to_contain_text("Castres (Tarn, 81)")
    expect(row.get_by_role("rowheader")).to_have_text("3")  # the file's line: header 1, Saint-Lô 2
    check(page, AXE.read_text(encoding="utf-8"), "Annuaire, import géocodé, lignes à revoir", found)
    assert not found, report(found)
    no_error(page)
