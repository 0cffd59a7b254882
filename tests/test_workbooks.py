"""Workbooks and headers as published.

A read-me sheet first, a title row above the header, open-data header names (FINESS extraction
« etalab cs1100507 »), FINESS as the stable key of a fiche, and no column dropped without a word.
Real files in tests/data/real/ (PROVENANCE.md); the answers below are read from those files by
hand, not from the importer.
"""

from __future__ import annotations

import csv
import io
import zipfile

import pandas as pd
import pytest

from reseaux.cli import main
from reseaux.importation import reading
from reseaux.importation.importing import ImportSpec, apply_mapping, drop_blank, guess_mapping
from reseaux.importation.reading import Sheet, UploadError, read_sheets
from reseaux.importation.workbook import NoTable, find_table
from tests.conftest import ROOT
from tests.ods import ods_workbook
from tests.test_costly_uploads import _repeated
from tests.test_hostile import _xlsx_with

REAL = ROOT / "tests" / "data" / "real"
#: Read-me first (copied from the Helios template), then « Etablissements »: a title row, the
#: header of the FINESS extraction on line 2, three establishments of the Ain.
WORKBOOK = REAL / "classeur_lisez_moi_finess.xlsx"
#: The Helios comparison template as published: « Lisez-moi » and an empty « Comparaison ».
TEMPLATE = REAL / "helios_modele_comparaison_SAN.xlsx"
FINESS_CSV = REAL / "finess_etalab_ain_2016_extrait.csv"


def _finess_rows() -> list[dict[str, str]]:
    """The extraction read with the csv module, as a person reads it: one dict per establishment."""
    with FINESS_CSV.open(encoding="utf-8", newline="") as source:
        return list(csv.DictReader(source, delimiter=";"))


def _import(tmp_path, source, *args) -> int:
    return main(["import", str(source), "--into", str(tmp_path / "annuaire.csv"), "--offline", *args])


def _directory(tmp_path) -> pd.DataFrame:
    return pd.read_csv(tmp_path / "annuaire.csv", dtype=str, keep_default_na=False)


# --- the sheet and its header ------------------------------------------------------------------


def test_the_data_sheet_after_a_read_me_is_found_with_its_header_on_line_2(tmp_path, capsys):
    assert _import(tmp_path, WORKBOOK) == 0
    err = capsys.readouterr().err
    assert "Feuille « Etablissements » lue, en-tête ligne 2 ; autres feuilles, non importées : « Lisez-moi »" in err
    table = _directory(tmp_path)
    published = _finess_rows()
    assert table["nom"].tolist() == [r["rs"].strip() for r in published]  # no fiche from the read-me
    assert table["id"].tolist() == [f"finess-{r['nofinesset']}" for r in published]


def test_a_problem_is_reported_on_its_line_of_the_sheet_under_a_title_row(tmp_path, capsys):
    assert _import(tmp_path, WORKBOOK, "--dry-run") == 0
    out = capsys.readouterr().out
    # the first establishment's phone (474454647, its 0 lost) is on line 3 of the sheet: title, header, row
    assert "ligne 3, colonne « telephone » : « 474454647 »" in out


def test_a_published_workbook_without_a_table_of_actors_stops_and_names_its_sheets(tmp_path, capsys):
    """Before: the read-me became fiches and the command said 0 (success)."""
    assert _import(tmp_path, TEMPLATE) == 1
    err = capsys.readouterr().err
    assert "Aucune feuille du classeur ne ressemble à une liste d'acteurs" in err
    assert "« Lisez-moi » (pas d'en-tête d'annuaire, 16 lignes), « Comparaison » (vide)" in err
    assert "--feuille" in err
    assert not (tmp_path / "annuaire.csv").exists()


def test_the_sheet_is_chosen_by_name_or_number_and_a_wrong_one_is_named(tmp_path, capsys):
    assert _import(tmp_path, WORKBOOK, "--feuille", "2", "--dry-run") == 0
    assert "3 lignes lues" in capsys.readouterr().err
    assert _import(tmp_path, WORKBOOK, "--sheet", "etablissements", "--dry-run") == 0
    assert "3 lignes lues" in capsys.readouterr().err
    assert _import(tmp_path, WORKBOOK, "--feuille", "3") == 1
    assert (
        "Feuille « 3 » introuvable : le fichier a 2 feuilles (1 « Lisez-moi », 2 « Etablissements »)"
        in capsys.readouterr().err
    )
    assert _import(tmp_path, WORKBOOK, "--feuille", "Lisez-moi") == 1  # chosen, but it names no actor
    assert "Aucune colonne du fichier n'a été reconnue comme le nom" in capsys.readouterr().err
    assert not (tmp_path / "annuaire.csv").exists()


def _ods(sheets: dict[str, list[list[str]]]) -> bytes:
    return ods_workbook(sheets)


def test_an_ods_header_under_a_group_row_and_a_title_row_is_read_and_lines_stay_those_of_the_sheet(referential):
    data = _ods(
        {
            "Notes": [["Source : relevé des partenaires (fictif)"], ["Mis à jour en mars"]],
            "Partenaires": [
                ["Partenaires du réseau (fictif)", "", ""],
                ["Identité", "Adresse", ""],
                ["Nom", "CP", "Ville"],
                ["Centre A (fictif)", "76000", "Rouen"],
                ["Centre B (fictif)", "7600", "Rouen"],
            ],
        }
    )
    table = find_table(read_sheets("r.ods", data))
    assert (table.sheet, table.header_line, table.rows[0]) == ("Partenaires", 3, ["Nom", "CP", "Ville"])
    from reseaux.annuaire.directory import validate_table

    mapped = apply_mapping(table.rows, guess_mapping(table.rows[0]), set())
    assert drop_blank(mapped)["nom"].tolist() == ["Centre A (fictif)", "Centre B (fictif)"]
    bad = [i for i in validate_table(mapped, referential).issues if i.column == "code_postal"]
    assert [i.line for i in bad] == [5]  # « 7600 » is on the fifth row of the sheet


def test_the_best_recognised_sheet_wins_and_a_lone_sheet_is_read_even_unrecognised():
    notes = Sheet("Notes", [["Nom du fichier", "Auteur"], ["partenaires", "ARS"]])  # one guess: not a table
    small = Sheet("Extrait", [["nom", "commune"], ["A (fictif)", "Rouen"]])
    full = Sheet("Tous", [["nom", "commune", "telephone"], ["A (fictif)", "Rouen", ""], ["B (fictif)", "Elbeuf", ""]])
    assert find_table([notes, small, full]).sheet == "Tous"
    assert find_table([Sheet("", [["x", "y"], ["1", "2"]])]).rows == [["x", "y"], ["1", "2"]]
    with pytest.raises(NoTable, match="« Notes » \\(pas d'en-tête d'annuaire, 1 ligne\\)"):
        find_table([notes, Sheet("Vide", [])])


# --- limits on every sheet --------------------------------------------------------------------


def test_a_costly_second_xlsx_sheet_is_refused_before_it_is_read(monkeypatch):
    """Every sheet is now read, so every sheet is counted before: a bomb hides in any of them."""
    from openpyxl import Workbook

    monkeypatch.setattr(reading, "MAX_CELLS", 1000)
    book = Workbook()
    book.active.append(["nom", "commune"])
    second = book.create_sheet("Données")
    for r in range(30):
        second.append([f"v{r}-{c}" for c in range(40)])
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(UploadError, match="sa feuille « Données » compte 1\u202f200 cellules"):
        read_sheets("b.xlsx", buffer.getvalue())


def test_an_ods_bomb_in_the_second_sheet_is_refused_before_pandas_expands_it():
    """Before: only the first table was counted, and pandas expanded the second (every sheet is read)."""
    data = _ods({"Lisez-moi": [["note"]], "Données": [["nom"], ["x"]]})
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if info.filename == "content.xml":
                head, _, tail = part.rpartition(b"</table:table>")
                part = head + _repeated(1_000_000_000, 3) + b"</table:table>" + tail
            target.writestr(info, part)
    with pytest.raises(UploadError, match="au moins 1\u202f000\u202f000\u202f001 lignes"):
        read_sheets("bombe.ods", out.getvalue())


def test_the_first_sheet_budget_still_holds_for_read_upload():
    data = _xlsx_with(lambda xml: xml)
    assert reading.read_upload("p.xlsx", data)[0][0] == "id"


# --- open-data headers ------------------------------------------------------------------------


def test_the_testers_headers_are_guessed_and_zonep_is_not_a_zone():
    headers = [
        "HOPITAL",
        "fi",
        "FINESSG",
        "FINESSJ",
        "CPO",
        "NUMVOIE",
        "TYPVOI",
        "VOIE",
        "cat",
        "catr",
        "ZONEP",
        "rs",
        "raison sociale",
        "nofinesset",
        "libcategetab",
        "SIRET",
    ]
    mapping = guess_mapping(headers, extra=True)
    assert mapping == {
        "HOPITAL": "nom",
        "fi": "finess",
        "FINESSG": "finess",
        "FINESSJ": "",
        "CPO": "code_postal",
        "NUMVOIE": "numero",
        "TYPVOI": "type_voie",
        "VOIE": "adresse",
        "cat": "type",
        "catr": "type",
        "ZONEP": "",
        "rs": "",
        "raison sociale": "",
        "nofinesset": "finess",
        "libcategetab": "type",
        "SIRET": "siret",
    }
    assert guess_mapping(["rs"])["rs"] == guess_mapping(["raison sociale"])["raison sociale"] == "nom"


def test_number_street_type_and_street_make_the_address_and_finessg_is_the_key():
    header = ["HOPITAL", "fi", "FINESSG", "FINESSJ", "NUMVOIE", "TYPVOI", "VOIE", "CPO", "cat", "ZONEP"]
    rows = [
        header,
        ["Hôpital A (fictif)", "", "760000001", "760000099", "8", "R", "MAURIN", "76000", "355", "Z1"],
        ["Hôpital B (fictif)", "", "", "760000099", "12", "av", "des Tilleuls", "76100", "355", ""],
        ["Hôpital C (fictif)", "", "", "", "3", "XYZ", "Grande Rue", "76000", "", ""],
    ]
    table = drop_blank(apply_mapping(rows, guess_mapping(header, extra=True), set()))
    assert table["adresse"].tolist() == ["8 RUE MAURIN", "12 avenue des Tilleuls", "3 XYZ Grande Rue"]
    # the FINESS géographique is the key; the juridique, shared by the entity's sites, never is
    assert table["id"].tolist() == ["finess-760000001", "hopital-b-fictif", "hopital-c-fictif"]
    assert table["zone_intervention"].tolist() == ["", "", ""]
    assert table["type"].tolist() == ["355", "355", ""]  # a code alone stays (the validator names it)


def test_the_finess_extraction_gives_its_names_addresses_and_insee_codes(tmp_path, capsys):
    assert _import(tmp_path, FINESS_CSV) == 0
    table = _directory(tmp_path)
    published = _finess_rows()
    assert table["id"].tolist() == [f"finess-{r['nofinesset']}" for r in published]
    assert table["adresse"].tolist() == ["900 ROUTE DE PARIS", "52 RUE GEORGES GIRERD", "625 AVENUE LEON BLUM"]
    assert table["type"].tolist() == [r["libcategetab"] for r in published]  # the label, not the code 355
    # « 01300 BELLEY » and « 01012 BOURG EN BRESSE CEDEX »: postcode and commune, CEDEX left out
    assert table["code_postal"].tolist() == [r["ligneacheminement"][:5] for r in published]
    assert table["commune"].tolist() == ["BOURG EN BRESSE", "BELLEY", "AMBERIEU EN BUGEY"]
    # placed in the commune the FINESS numbers « commune » within its « departement »
    assert table["code_insee"].tolist() == [r["departement"].zfill(2) + r["commune"].zfill(3) for r in published]


# --- a stable key: next month's file ----------------------------------------------------------


def test_next_months_finess_file_updates_the_same_fiches(tmp_path, capsys):
    assert _import(tmp_path, FINESS_CSV) == 0
    before = _directory(tmp_path)
    text = FINESS_CSV.read_text(encoding="utf-8")
    assert text.count(";474454647;") == 1
    next_month = tmp_path / "finess_mois_suivant.csv"
    next_month.write_text(text.replace(";474454647;", ";474454600;"), encoding="utf-8")
    assert _import(tmp_path, next_month) == 0
    assert "3 doublons fusionnés" in capsys.readouterr().err
    after = _directory(tmp_path)
    assert after["id"].tolist() == before["id"].tolist()  # no fiche added, none lost
    changed = [
        (row, column)
        for row in range(len(after))
        for column in after.columns
        if after.iloc[row][column] != before.iloc[row][column]
    ]
    assert changed == [(0, "telephone")]
    assert after.loc[0, "telephone"].replace(" ", "").endswith("474454600")


# --- no column dropped silently ---------------------------------------------------------------


def test_every_column_not_imported_is_named_and_a_chosen_one_is_kept_in_the_description(tmp_path, capsys):
    assert _import(tmp_path, FINESS_CSV, "--garder", "libsph", "--garder", "nofinessej") == 0
    err = capsys.readouterr().err
    header = FINESS_CSV.read_text(encoding="utf-8").splitlines()[0].rstrip(";").split(";")
    used = {
        "finess",
        "nofinesset",
        "rs",
        "numvoie",
        "typvoie",
        "voie",
        "commune",
        "ligneacheminement",
        "telephone",
        "categetab",
        "libcategetab",
        "siret",
    }  # read in the summary by hand
    kept = ["libsph", "nofinessej"]
    unused = [h for h in header if h not in used and h not in kept]
    assert f"{len(unused)} colonnes non importées : {', '.join(f'« {h} »' for h in unused)} ;" in err
    assert "Gardées dans la description : « libsph », « nofinessej »." in err
    first = _finess_rows()[0]
    assert (
        _directory(tmp_path).loc[0, "description"] == f"nofinessej : {first['nofinessej']} ; libsph : {first['libsph']}"
    )


def test_a_kept_column_the_file_lacks_is_refused(tmp_path, capsys):
    assert _import(tmp_path, FINESS_CSV, "--garder", "couleur") == 1
    assert "Colonne(s) à garder absente(s) du fichier : « couleur »" in capsys.readouterr().err


def test_kept_columns_round_trip_through_a_profile(tmp_path):
    from reseaux.importation.profiles import load_profile, save_profile

    spec = ImportSpec(mapping={"rs": "nom"}, keep=["libsph", "catr"])
    save_profile(spec, tmp_path / "p.toml")
    assert load_profile(tmp_path / "p.toml").keep == ["libsph", "catr"]


def test_a_data_row_is_not_taken_for_the_header_of_a_file_whose_header_is_unknown():
    """Only a row that names actors replaces the first one: « structure » or « Rouen » in a data row
    of a file with unknown headers (mapped by hand) does not make it the header."""
    rows = [["Col A", "Col B", "Col C"], ["Centre (fictif)", "structure", "commune"], ["Autre (fictif)", "x", "y"]]
    table = find_table([Sheet("", rows)])
    assert (table.header_line, table.rows) == (1, rows)
