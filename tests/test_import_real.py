"""Real public files (extracts, see tests/data/README.md) import as published.

With no option, at least 95 % of their rows come out with a name and the publisher's position
(source « fichier »). Usable rows are measured with ``type`` set for the whole file; the floors
are today's counts, while an unrecognised value still rejects a row (that is being changed into a
warning, which can only raise them).
"""

from pathlib import Path

import pandas as pd
import pytest

from reseaux import config
from reseaux.annuaire.directory import validate_table
from reseaux.annuaire.fields import parse_date
from reseaux.annuaire.referential import load_referential
from reseaux.importation.importing import ImportSpec, apply_mapping, drop_blank, guess_mapping
from reseaux.importation.reading import read_upload

REAL = Path(__file__).parent / "data" / "real"
#: file, rows, minimum usable with type=structure (today's count)
FILES = [
    ("anct_france_services_extrait.geojson", 152, 149),
    ("datagouv_centres_vaccination_extrait.csv", 143, 118),
    ("gisco_healthcare_services_FR_extrait.csv", 150, 150),
]


def imported(name: str, **spec) -> pd.DataFrame:
    rows = read_upload(name, (REAL / name).read_bytes())
    return drop_blank(apply_mapping(rows, ImportSpec(mapping=guess_mapping(rows[0], extra=True), **spec), set()))


@pytest.mark.parametrize(("name", "n_rows", "_"), FILES)
def test_rows_have_a_name_and_the_publishers_position(name, n_rows, _):
    table = imported(name)
    assert len(table) == n_rows
    placed = table[(table["nom"] != "") & (table["latitude"] != "") & (table["longitude"] != "")]
    assert len(placed) >= 0.95 * n_rows
    assert set(placed["geocodage_source"]) == {"fichier"}


@pytest.mark.parametrize(("name", "n_rows", "usable"), FILES)
def test_rows_are_usable_once_the_type_is_set(name, n_rows, usable):
    report = validate_table(
        imported(name, constants={"type": "structure"}), load_referential(config.path("referential"))
    )
    assert len(report.actors) >= usable
    assert len(report.placed) >= usable - 2


def test_street_and_number_assembled_and_no_empty_column():
    gisco = imported("gisco_healthcare_services_FR_extrait.csv")
    row = gisco[gisco["nom"] == "CENTRE DE PLANIFICATION OU D'EDUCATION FAMILIALE DE BELLEY"].iloc[0]
    assert row[["adresse", "code_postal", "commune", "id"]].tolist() == [
        "52 RUE GEORGES GIRERD",
        "01300",
        "BELLEY",
        "10786879",
    ]
    header = read_upload("v.csv", (REAL / "datagouv_centres_vaccination_extrait.csv").read_bytes())[0]
    assert "" not in header and header[-1] == "rdv_consultation_prevaccination"


@pytest.mark.parametrize(("name", "n_rows", "_"), FILES)
def test_as_published_95_percent_usable_and_placed(name, n_rows, _):
    """No option at all: unknown types and values are kept (« À classer », warnings), not rejected."""
    report = validate_table(imported(name), load_referential(config.path("referential")))
    with_name_and_position = imported(name).query("nom != '' and latitude != '' and longitude != ''")
    placed = report.placed
    assert len(placed) >= 0.95 * len(with_name_and_position), (len(placed), len(with_name_and_position))
    assert len(report.rejected) <= 0.05 * n_rows


@pytest.mark.parametrize(("name", "n_rows", "_"), FILES)
def test_without_coordinates_rows_are_placed_offline_in_the_right_commune(name, n_rows, _, tmp_path):
    """The same files with their positions and commune codes removed, placed offline from the
    postcode and the commune as written (« ST », « CEDEX », capitals, old names…). The right
    answer is the commune holding the publisher's own position."""
    from reseaux.territoire.france import commune_at
    from reseaux.territoire.geocode_file import geocode_records

    table = imported(name)
    truth = commune_at(table["longitude"], table["latitude"])
    blind = table.assign(latitude="", longitude="", geocodage_source="", code_insee="")
    records = blind.to_dict("records")
    summary = geocode_records(records, offline=True, cache_path=tmp_path / "cache.sqlite")
    placed = pd.DataFrame(records)
    assert summary.commune >= 0.99 * n_rows and set(placed["geocodage_source"]) <= {"commune", ""}
    right = (placed["code_insee"] == truth) & (truth != "")
    assert right.sum() >= 0.98 * n_rows, placed.loc[~right, ["code_postal", "commune", "code_insee"]]


@pytest.mark.parametrize(("name", "_n", "_u"), FILES)
def test_a_real_file_saved_as_the_directory_reads_back_with_the_same_warnings_made_again(name, _n, _u, monkeypatch):
    """Each real file, imported then saved as the directory, read back: its warnings made again at
    the end of the reading (``validation._compacted``, forced here from one warning) are those the
    reading made row by row — the publisher's own oddities included."""
    from reseaux.annuaire import validation
    from reseaux.annuaire.directory import load_directory
    from reseaux.annuaire.store import encode_table

    data = encode_table(imported(name, constants={"type": "structure"}))
    referential = load_referential(config.path("referential"))
    monkeypatch.setattr(validation, "COMPACT_ISSUES", 10**9)
    as_made = load_directory(data, referential)
    monkeypatch.setattr(validation, "COMPACT_ISSUES", 1)
    made_again = load_directory(data, referential)
    assert as_made.issues and made_again.issues == as_made.issues
    pd.testing.assert_frame_equal(made_again.rejected, as_made.rejected)


def test_a_file_that_dates_its_records_keeps_their_days_and_its_links_with_apostrophes(tmp_path):
    """The ARS dated each place (« _edit_datemaj », January 2021). Imported with that column as the
    date of update, every fiche keeps its day: none is « mis à jour » on the day of the import, and
    « À mettre à jour » lists them all. Its addresses with an apostrophe (« …/saint-jean-d'aulps/… »)
    are links to the same page. Checked against the file read here, cell by cell."""
    from datetime import date
    from urllib.parse import unquote

    from reseaux.annuaire.changes import stale
    from reseaux.importation.import_file import import_file

    name = "datagouv_centres_vaccination_extrait.csv"
    source = pd.read_csv(REAL / name, sep=";", dtype=str, keep_default_na=False)
    header = read_upload(name, (REAL / name).read_bytes())[0]
    mapping = {**guess_mapping(header, extra=True), "_edit_datemaj": "date_maj"}
    into = tmp_path / "annuaire.csv"
    report = import_file(REAL / name, into, load_referential(config.path("referential")), spec=ImportSpec(mapping))
    assert report.saved
    saved = pd.read_csv(into, dtype=str, keep_default_na=False)
    assert saved["nom"].tolist() == source["nom"].str.strip().tolist()
    days = [date.fromisoformat(moment[:10]) for moment in source["_edit_datemaj"]]
    assert [parse_date(value) for value in saved["date_maj"]] == days
    assert max(days) < date(2021, 2, 1)
    assert len(stale(saved)) == len(saved)

    quoted = source["rdv_site_web"].str.contains("'")
    assert quoted.sum() >= 1
    read = validate_table(saved, load_referential(config.path("referential")))
    links = read.actors.set_index("nom")["site_web"]
    for written, place in zip(source.loc[quoted, "rdv_site_web"], source.loc[quoted, "nom"], strict=True):
        assert unquote(links[place.strip()]) == unquote(written)


def test_the_problems_of_a_real_file_are_said_by_kind_errors_first_then_the_most_lines():
    """The ARS's extract has no type column: 143 rows « type absent » one under the other came
    before its other problems. By kind, each kind once, with its count, checked against the issues
    counted here one by one."""
    from collections import Counter

    from reseaux.annuaire.listing import issues_summary

    report = validate_table(
        imported("datagouv_centres_vaccination_extrait.csv"), load_referential(config.path("referential"))
    )
    summary = issues_summary(report.issues)
    counted = Counter((i.severity, i.message) for i in report.issues)
    assert sorted(zip(summary["Gravité"], summary["Message"], summary["Lignes"], strict=True)) == sorted(
        (severity, message, n) for (severity, message), n in counted.items()
    )
    assert summary["Lignes"].sum() == len(report.issues)
    severities = summary["Gravité"].tolist()
    assert severities == sorted(severities, key=lambda s: s != "erreur")  # errors first
    for severity in set(severities):
        counts = summary.loc[summary["Gravité"] == severity, "Lignes"].tolist()
        assert counts == sorted(counts, reverse=True)
    top = summary.iloc[0] if "erreur" not in severities else summary[summary["Gravité"] != "erreur"].iloc[0]
    assert (top["Colonne"], top["Lignes"]) == ("Type", 143) and top["Premières lignes"] == "2, 3, 4, 5, 6…"
