"""Import of a partner's spreadsheet: column guessing, duplicates, merge."""

import io

import pandas as pd
import pytest
from openpyxl import Workbook

from reseaux.annuaire.columns import names
from reseaux.importation.duplicates import find_duplicates
from reseaux.importation.import_merge import apply_import, merge_records
from reseaux.importation.importing import apply_mapping, drop_blank, guess_mapping
from reseaux.importation.reading import UploadError, read_upload

COLUMNS = names()


def existing():
    rows = [
        dict.fromkeys(COLUMNS, "")
        | {
            "id": "e1",
            "nom": "Marie Dupont",
            "type": "professionnel",
            "adresse": "12 rue des Tilleuls",
            "commune": "Rouen",
            "thematiques": "ivg",
            "telephone": "02 61 91 00 01",
        },
        dict.fromkeys(COLUMNS, "")
        | {"id": "e2", "nom": "Centre Élan", "type": "structure", "adresse": "3 place Verte", "commune": "Elbeuf"},
    ]
    return pd.DataFrame(rows, dtype=object)


def test_guesses_common_french_headers():
    mapping = guess_mapping(
        ["Nom", "Adresse", "CP", "Ville", "Spécialité", "Tél.", "Mail", "Thèmes", "Site internet", "Remarque"]
    )
    assert mapping == {
        "Nom": "nom",
        "Adresse": "adresse",
        "CP": "code_postal",
        "Ville": "commune",
        "Spécialité": "specialites",
        "Tél.": "telephone",
        "Mail": "email",
        "Thèmes": "thematiques",
        "Site internet": "site_web",
        "Remarque": "",
    }


def test_a_column_is_mapped_once():
    assert guess_mapping(["Nom", "NOM"]) == {"Nom": "nom", "NOM": ""}


def test_mapping_gives_ids_and_keeps_values():
    rows = [["Nom", "Ville"], ["Léa Martin", "Rouen"], ["Léa Martin", "Elbeuf"], ["", ""]]
    table = apply_mapping(rows, {"Nom": "nom", "Ville": "commune"}, existing_ids={"lea-martin"})
    assert list(table["id"]) == ["lea-martin-2", "lea-martin-3", ""]  # blank row kept: lines stay aligned
    assert list(drop_blank(table)["commune"]) == ["Rouen", "Elbeuf"]


def test_duplicates_same_id_or_close_name_and_address():
    new = pd.DataFrame(
        [
            dict.fromkeys(COLUMNS, "")
            | {"id": "x1", "nom": "DUPONT Marie", "adresse": "12, rue des Tilleuls", "commune": "ROUEN"},
            dict.fromkeys(COLUMNS, "") | {"id": "e2", "nom": "Autre nom", "adresse": "", "commune": ""},
            dict.fromkeys(COLUMNS, "")
            | {"id": "x3", "nom": "Marie Dupont", "adresse": "40 avenue Nue", "commune": "Dieppe"},
            dict.fromkeys(COLUMNS, "") | {"id": "x4", "nom": "Jean Neuf", "adresse": "1 rue X", "commune": "Rouen"},
        ],
        dtype=object,
    )
    found = {(d.new_index, d.existing_id, d.reason.split(" (")[0]) for d in find_duplicates(new, existing())}
    assert found == {(0, "e1", "nom proche"), (1, "e2", "même identifiant")}


def test_merge_unites_multi_values_and_keeps_manual_positions():
    old = dict.fromkeys(COLUMNS, "") | {
        "id": "e1",
        "nom": "Marie Dupont",
        "thematiques": "ivg",
        "latitude": "49.4",
        "longitude": "1.1",
        "geocodage_source": "manuel",
        "telephone": "01",
    }
    new = {
        "id": "x",
        "nom": "Marie Dupont",
        "thematiques": "contraception|ivg",
        "latitude": "48",
        "longitude": "2",
        "telephone": "",
        "email": "marie@example.org",
    }
    merged = merge_records(old, new)
    assert merged["id"] == "e1" and merged["thematiques"] == "ivg|contraception"
    assert (merged["latitude"], merged["longitude"]) == ("49.4", "1.1")
    assert merged["telephone"] == "01" and merged["email"] == "marie@example.org"


def test_apply_import_follows_each_decision():
    new = pd.DataFrame(
        [
            dict.fromkeys(COLUMNS, "")
            | {
                "id": "x1",
                "nom": "DUPONT Marie",
                "adresse": "12 rue des Tilleuls",
                "commune": "Rouen",
                "email": "m@example.org",
            },
            dict.fromkeys(COLUMNS, "") | {"id": "e2", "nom": "Centre Élan bis"},
            dict.fromkeys(COLUMNS, "") | {"id": "x3", "nom": "Nouveau"},
        ],
        dtype=object,
    )
    duplicates = find_duplicates(new, existing())
    table = apply_import(existing(), new, {0: "fusionner", 1: "garder les deux"}, duplicates)
    assert list(table["id"]) == ["e1", "e2", "centre-elan-bis", "x3"]
    assert table.set_index("id").loc["e1", "email"] == "m@example.org"
    table = apply_import(existing(), new, {0: "ignorer", 1: "ignorer"}, duplicates)
    assert list(table["id"]) == ["e1", "e2", "x3"]


def test_reads_xlsx_and_rejects_bad_uploads():
    book = Workbook()
    sheet = book.active
    sheet.append(["Nom", "CP", "Ville"])
    sheet.append(["Léa Martin", 76000, "Rouen"])
    buffer = io.BytesIO()
    book.save(buffer)
    assert read_upload("partenaires.xlsx", buffer.getvalue()) == [
        ["Nom", "CP", "Ville"],
        ["Léa Martin", "76000", "Rouen"],
    ]
    with pytest.raises(UploadError, match="Classeur Excel illisible"):
        read_upload("faux.xlsx", b"pas un classeur")
    with pytest.raises(UploadError, match="non pris en charge"):
        read_upload("photo.png", b"\x89PNG")
    with pytest.raises(UploadError, match="trop gros"):
        read_upload("gros.csv", b"x" * (10 * 1024 * 1024 + 1))


def test_the_import_page_names_every_target_in_french():
    """« numero » was offered as « numero » beside « Code postal »: every target a column of a file
    can go to has a French name, and a column's is its registry label."""
    from reseaux.annuaire import columns
    from reseaux.importation.importing import EXTRA_TARGETS, target_label, targets

    assert target_label("") == "(ne pas importer)"
    assert target_label("code_postal") == columns.label("code_postal") == "Code postal"
    assert target_label("numero") == "Numéro de voie (devant l'adresse)"
    named = [target_label(t) for t in targets() if t]
    assert all(name not in EXTRA_TARGETS and name[0].isupper() for name in named)
    assert len(set(named)) == len(named)
