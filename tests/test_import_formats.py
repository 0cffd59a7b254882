"""Import of real-world shapes: GeoJSON, ODS, CSV dialects, open-data headers, joins, recodings,
profiles and the command line (``python -m reseaux import`` / ``check --json``)."""

import json

import pandas as pd

from reseaux.cli import main
from reseaux.importation.import_merge import merge_records
from reseaux.importation.importing import ImportSpec, apply_mapping, guess_mapping
from reseaux.importation.profiles import dump_profile, load_profile
from reseaux.importation.reading import read_upload
from tests.ods import ods_workbook


def geojson(features):
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def test_geojson_properties_flattened_and_point_kept_with_its_source():
    data = geojson(
        [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [1.0993, 49.4431]},
                "properties": {"title": "Boîte à dons", "contact": {"tel": "02 35 00 00 00"}, "tags": ["a", "b"]},
            }
        ]
    )
    rows = read_upload("carte.geojson", data)
    assert rows == [
        ["title", "contact.tel", "tags", "latitude", "longitude"],
        ["Boîte à dons", "02 35 00 00 00", "a|b", "49.443100", "1.099300"],
    ]
    table = apply_mapping(rows, guess_mapping(rows[0], extra=True), set())
    assert table.loc[0, ["nom", "latitude", "geocodage_source"]].tolist() == ["Boîte à dons", "49.443100", "fichier"]


def test_umap_export_reads_the_features_of_every_layer():
    data = json.dumps(
        {
            "type": "umap",
            "layers": [
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "properties": {"name": "A"},
                            "geometry": {"type": "Point", "coordinates": [1, 49]},
                        }
                    ],
                },
                {
                    "type": "FeatureCollection",
                    "features": [{"type": "Feature", "properties": {"name": "B"}, "geometry": None}],
                },
            ],
        }
    ).encode()
    assert [r[0] for r in read_upload("x.umap.json", data)] == ["name", "A", "B"]


def test_csv_with_a_trailing_separator_has_no_empty_column():
    rows = read_upload("c.csv", b"nom;com_nom;\nCentre A;Rouen;\n")
    assert rows == [["nom", "com_nom"], ["Centre A", "Rouen"]]


def test_ods_is_read():
    """Text as written, a number cell as the spreadsheet shows it (76000, not 76000.0), a blank cell blank."""
    data = ods_workbook({"Feuille1": [["Nom", "CP", "Note"], ["Léa", 76000, ""], ["Noé & Cie", "76100", "<b>"]]})
    assert read_upload("t.ods", data) == [["Nom", "CP", "Note"], ["Léa", "76000", ""], ["Noé & Cie", "76100", "<b>"]]


def test_open_data_headers_are_guessed_and_public_is_not_publics():
    mapping = guess_mapping(
        [
            "hospital_name",
            "street",
            "house_number",
            "postcode",
            "city",
            "tel",
            "url",
            "rs",
            "public",
            "tel_rdv",
            "web_rdv",
            "com_nom",
            "com_cp",
            "finess",
            "lib_com",
        ],
        extra=True,
    )
    assert mapping == {
        "hospital_name": "nom",
        "street": "adresse",
        "house_number": "numero",
        "postcode": "code_postal",
        "city": "commune",
        "tel": "telephone",
        "url": "site_web",
        "rs": "",
        "public": "",
        "tel_rdv": "",
        "web_rdv": "",
        "com_nom": "commune",
        "com_cp": "",
        "finess": "finess",
        "lib_com": "commune",
    }  # a commune may come from several: the first name


def test_sources_are_joined_number_assembled_address_split_and_ids_from_finess():
    rows = [
        ["name", "description", "info", "street", "house_number", "adresse", "finess"],
        ["CH Belley", "Hôpital", "Urgences 24 h", "RUE GEORGES GIRERD", "52", "", "010001733"],
        ["LBM", "", "", "", "", "51 AV AMEDEE MERCIER 01000 BOURG EN BRESSE", ""],
    ]
    spec = ImportSpec(
        mapping={
            "name": "nom",
            "description": "description",
            "info": "description",
            "street": "adresse",
            "house_number": "numero",
            "adresse": "adresse",
            "finess": "finess",
        }
    )
    table = apply_mapping(rows, spec, set())
    assert table.loc[0, ["description", "adresse", "id"]].tolist() == [
        "Hôpital ; Urgences 24 h",
        "52 RUE GEORGES GIRERD",
        "finess-010001733",
    ]
    assert table.loc[1, ["adresse", "code_postal", "commune"]].tolist() == [
        "51 AV AMEDEE MERCIER",
        "01000",
        "BOURG EN BRESSE",
    ]


def test_constants_and_recodings():
    rows = [["nom", "type", "profession"], ["A", "Centre Hospitalier (C.H.)", "doctor"], ["B", "", ""]]
    spec = ImportSpec(
        mapping={"nom": "nom", "type": "type", "profession": "profession"},
        constants={"type": "structure"},
        recodings={"type": {"centre hospitalier (c.h.)": "structure"}, "profession": {"Doctor": "medecin_generaliste"}},
    )
    table = apply_mapping(rows, spec, set())
    assert table["type"].tolist() == ["structure", "structure"]
    assert table["profession"].tolist() == ["medecin_generaliste", ""]


def test_a_precise_position_never_gives_way_to_a_coarser_one():
    old = {
        "id": "a",
        "nom": "A",
        "latitude": "49.1",
        "longitude": "1.1",
        "geocodage_source": "fichier",
        "telephone": "x",
    }
    new = {
        "id": "b",
        "nom": "A",
        "latitude": "49.0",
        "longitude": "1.0",
        "geocodage_source": "commune",
        "telephone": "",
    }
    assert merge_records(old, new)["latitude"] == "49.1"
    assert merge_records(old, new)["telephone"] == "x"
    assert merge_records(new, old)["latitude"] == "49.1"


def test_profile_round_trip(tmp_path):
    spec = ImportSpec(
        mapping={"hospital_name": "nom", "x": ""},
        constants={"type": "structure"},
        recodings={"type": {'Centre "Hospitalier" (C.H.)': "structure"}},
    )
    path = tmp_path / "p.toml"
    path.write_text(dump_profile(spec), encoding="utf-8")
    assert load_profile(path) == ImportSpec(
        mapping={"hospital_name": "nom"}, constants=spec.constants, recodings=spec.recodings
    )


SOURCE = (
    "hospital_name,street,house_number,postcode,city,lat,lon,facility_type\n"
    "CH DE BELLEY,RUE GEORGES GIRERD,52,01300,BELLEY,45.76121,5.68498,Centre Hospitalier (C.H.)\n"
    "CH DE ROUEN,RUE DE GERMONT,1,76000,ROUEN,49.44,1.10,Centre Hospitalier (C.H.)\n"
)


def test_cli_import_creates_then_reimport_with_profile_changes_nothing(tmp_path, capsys):
    source = tmp_path / "hopitaux.csv"
    source.write_text(SOURCE, encoding="utf-8")
    into, profile = tmp_path / "annuaire.csv", tmp_path / "imports" / "hopitaux.toml"
    assert (
        main(
            [
                "import",
                str(source),
                "--into",
                str(into),
                "--set",
                "type=structure",
                "--offline",
                "--save-profile",
                str(profile),
            ]
        )
        == 0
    )
    table = pd.read_csv(into, dtype=str).fillna("")
    assert table[["nom", "adresse", "type", "geocodage_source"]].values.tolist() == [
        ["CH DE BELLEY", "52 RUE GEORGES GIRERD", "structure", "fichier"],
        ["CH DE ROUEN", "1 RUE DE GERMONT", "structure", "fichier"],
    ]
    assert "2 lignes lues" in capsys.readouterr().err
    before = into.read_bytes()
    assert main(["import", str(source), "--into", str(into), "--profile", str(profile), "--offline"]) == 0
    assert "2 doublons fusionnés" in capsys.readouterr().err
    assert into.read_bytes() == before


def test_cli_import_without_into_imports_into_the_database(tmp_path, capsys, monkeypatch, database_url):
    # On PostgreSQL the directory is the database: « --into » was required, a file, so the command
    # could not import into the directory the app serves. Without it: the directory of the settings.
    from reseaux.stockage.postgres import PostgresDirectoryStore

    source = tmp_path / "hopitaux.csv"
    source.write_text(SOURCE, encoding="utf-8")
    stale = tmp_path / "actors.csv"
    monkeypatch.setenv("RESEAUX_DATABASE_URL", database_url)
    monkeypatch.setenv("RESEAUX_ACTORS", str(stale))
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "c.sqlite"))
    assert main(["import", str(source), "--set", "type=structure", "--offline"]) == 0
    assert "2 lignes lues" in capsys.readouterr().err
    store = PostgresDirectoryStore(database_url)
    assert store.load().table["nom"].tolist() == ["CH DE BELLEY", "CH DE ROUEN"]
    assert store.read_journal()[-1]["qui"] == "ligne de commande" and not stale.exists()
    # Again: the same two hospitals, merged into themselves, the database's version unchanged.
    version = store.current_version()
    assert main(["import", str(source), "--set", "type=structure", "--offline"]) == 0
    assert "2 doublons fusionnés" in capsys.readouterr().err and store.current_version() == version


def test_cli_dry_run_writes_nothing_and_bad_set_is_refused(tmp_path, capsys):
    source = tmp_path / "h.csv"
    source.write_text(SOURCE, encoding="utf-8")
    into = tmp_path / "a.csv"
    assert main(["import", str(source), "--into", str(into), "--dry-run", "--offline"]) == 0
    assert not into.exists()
    assert main(["import", str(source), "--into", str(into), "--set", "couleur"]) == 2


def test_check_json_and_grouped_messages(tmp_path, capsys):
    path = tmp_path / "a.csv"
    # seven rows without a name (errors), one with only its commune (usable, not yet placed)
    rows = (
        ["id,nom,type,latitude,longitude,commune"]
        + [f"a{i},,structure,49.4,1.1," for i in range(7)]
        + ["b,B,structure,,,Rouen"]
    )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main(["check", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert {k: report[k] for k in ("rows", "actors", "placed", "errors")} == {
        "rows": 8,
        "actors": 1,
        "placed": 0,
        "errors": 7,
    }
    main(["check", str(path)])
    out = capsys.readouterr().out.splitlines()
    grouped = [line for line in out if "colonne « nom »" in line]
    assert len(grouped) == 1 and "7 lignes : colonne « nom »" in grouped[0] and "(lignes 2, 3, 4, 5, 6…)" in grouped[0]


def test_check_without_a_file_checks_the_database(tmp_path, capsys, monkeypatch, database_url):
    # On PostgreSQL « check data/actors.csv » checked the file left from before the migration.
    from reseaux.stockage.postgres import PostgresDirectoryStore

    rows = [
        "id,nom,type,latitude,longitude,commune",
        *(f"a{i},,structure,49.4,1.1," for i in range(3)),
        "b,B,structure,,,Rouen",
    ]
    PostgresDirectoryStore(database_url).replace(("\n".join(rows) + "\n").encode(), "test", "migration")
    stale = tmp_path / "actors.csv"
    stale.write_text("id,nom\nc,C\n", encoding="utf-8")  # no error: what the old command said
    monkeypatch.setenv("RESEAUX_DATABASE_URL", database_url)
    monkeypatch.setenv("RESEAUX_ACTORS", str(stale))
    assert main(["check", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert {k: report[k] for k in ("rows", "actors", "errors")} == {"rows": 4, "actors": 1, "errors": 3}
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "la base PostgreSQL" in out and "3 lignes : colonne « nom »" in out


def test_targets_that_are_not_columns_are_guessed_only_for_a_caller_that_offers_them():
    assert guess_mapping(["street", "house_number", "finess"]) == {
        "street": "adresse",
        "house_number": "",
        "finess": "",
    }


def test_identifiers_must_look_like_one_and_sites_of_one_finess_get_their_own_id():
    rows = [["rs", "finess"], ["Site A", "130043706"], ["Site B", "130043706"], ["Drive", "DRIVE"], ["Autre", "AUTRE"]]
    table = apply_mapping(rows, {"rs": "nom", "finess": "finess"}, {"finess-130043706"})
    assert table["id"].tolist() == ["finess-130043706", "finess-130043706-2", "drive", "autre"]


def test_opening_hours_by_day_join_into_one_column_with_their_days():
    header = ["Nom", "h_lundi", "h_mardi", "latitude", "longitude"]
    mapping = guess_mapping(header, extra=True)
    assert mapping["h_lundi"] == mapping["h_mardi"] == "horaires"
    table = apply_mapping([header, ["Lieu (fictif)", "9h-12h", "fermé", "49.4", "1.1"]], mapping, set())
    assert table.loc[0, "horaires"] == "lundi : 9h-12h ; mardi : fermé"


def test_the_import_counts_the_fiches_without_position_as_check_and_the_map_do(tmp_path, capsys, referential):
    """Six fiches of Rouen, their positions read by hand: a good one (placed), « abc » (not a number:
    ignored), 0,0 (off France: ignored), empty (placed at the commune, offline), longitude and
    latitude swapped (placed, swapped back), a latitude alone (placed at the commune) — 2 without
    position. The import looked at empty cells only after the geocoding and said 0: a position the
    validation ignores is no position on the map."""
    from reseaux.app_data import load_actors
    from reseaux.importation.import_file import import_file

    source = tmp_path / "positions.csv"
    source.write_text(
        "id,nom,type,commune,latitude,longitude\n"
        "p1,Centre A,structure,Rouen,49.4431,1.0993\n"
        "p2,Centre B,structure,Rouen,abc,1.0993\n"
        "p3,Centre C,structure,Rouen,0,0\n"
        "p4,Centre D,structure,Rouen,,\n"
        "p5,Centre E,structure,Rouen,1.0993,49.4431\n"
        "p6,Centre F,structure,Rouen,49.4431,\n",
        encoding="utf-8",
    )
    into = tmp_path / "actors.csv"
    report = import_file(source, into, referential, offline=True)
    assert report.saved and report.imported == 6 and len(report.report.rejected) == 0
    assert report.unplaced == 2
    assert "2 fiches sans position" in " ".join(report.sentences())
    assert main(["check", str(into), "--json"]) == 0
    checked = json.loads(capsys.readouterr().out)
    assert checked["actors"] - checked["placed"] == 2
    unplaced = load_actors(into, referential).directory.actors.query("latitude != latitude")
    assert sorted(unplaced["id"]) == ["p2", "p3"]
