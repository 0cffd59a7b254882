"""One column registry: a column added by one entry is seen everywhere a person reads one.

The registry (:mod:`reseaux.annuaire.columns`) gets an extra column « stationnement »; a copy of
the small test directory gets that column, filled for one fiche with a sentence written here.
The fiche of the map, the people's list and the map's table, Trouver's result, the Annuaire's table
and form, the three exports and an import's guess must all carry it — and the form writes what
is typed back to the file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from streamlit.testing.v1 import AppTest

from reseaux.acces.accounts import AccountStore
from reseaux.annuaire import columns
from reseaux.annuaire.columns import Column
from tests.conftest import DATA, PASSWORD, ROOT, ServedApp, map_frame, sign_in
from tests.extra_column import PARKING as PARKING_COLUMN

PARKING = "Parking gratuit rue Fictive, 20 places"
ID = "t1"  # Camille Exemple, placed in Rouen, public


@pytest.fixture()
def parking(monkeypatch):
    """The registry with one more column (tests/extra_column.py)."""
    monkeypatch.setattr(columns, "REGISTRY", (*columns.REGISTRY, PARKING_COLUMN))
    return PARKING_COLUMN


@pytest.fixture()
def directory_file(tmp_path):
    """actors_small.csv with a « stationnement » column, filled for :data:`ID` only."""
    rows = list(csv.reader(io.StringIO((DATA / "actors_small.csv").read_text(encoding="utf-8"))))
    rows[0].append("stationnement")
    for row in rows[1:]:
        row.append(PARKING if row[0] == ID else "")
    path = tmp_path / "actors.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture()
def actors(parking, directory_file, referential):
    from reseaux.annuaire.directory import load_directory

    directory = load_directory(directory_file, referential)
    assert not [i for i in directory.issues if i.column == "stationnement"]  # known: no « unknown column »
    return directory.actors


def test_the_map_fiche_shows_it(actors, referential):
    from reseaux.carte.actor_layer import fiche_fields, fiche_lines, fiche_rows

    fields = fiche_fields()
    assert ["text", "Stationnement"] in fields
    at = fields.index(["text", "Stationnement"])
    assert fields[at - 1] == ["text", "Horaires"]  # its rank: after the opening hours
    rows = fiche_rows(actors, referential)
    assert [row[at] for row in rows] == [PARKING if i == ID else "" for i in actors["id"]]
    one = actors[actors["id"] == ID]
    assert ("stationnement", "Stationnement", PARKING) in fiche_lines(one, referential)


def test_the_fiche_served_to_the_map_shows_it(actors, referential):
    """The payload the map's popup reads (fiche_service), asked as the browser asks it."""
    from reseaux.annuaire.fiche_service import FicheService

    service = FicheService()
    token = service.register("visiteur", actors, referential, ttl_s=60)
    found = service.fiches(token, [int((actors["id"] == ID).to_numpy().nonzero()[0][0])])
    fields = found["fields"]
    assert dict(zip([label for _, label in fields], found["fiches"][0], strict=True))["Stationnement"] == PARKING


@pytest.mark.browser
def test_the_fiche_a_visitor_opens_in_chromium_shows_it(page, directory_file, tmp_path):
    """The app served as in production, its registry given the entry at start-up (a
    sitecustomize module on its path calls tests.extra_column.add): a click on Camille's pin
    opens a fiche with the column."""
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / "sitecustomize.py").write_text("from tests.extra_column import add\n\nadd()\n")
    path = os.pathsep.join(p for p in (str(boot), str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    with ServedApp({"RESEAUX_ACTORS": str(directory_file), "PYTHONPATH": path}) as app:
        page.goto(app.url + "/?type=professionnel")  # Camille is the small directory's one professional
        frame = map_frame(page)
        pin = frame.locator(".rx-pin").first
        pin.wait_for(timeout=60_000)
        pin.dispatch_event("click")
        fiche = frame.locator(".rx-fiche")
        expect(fiche.locator(".rx-fiche-title")).to_have_text("Camille Exemple", timeout=30_000)
        expect(fiche).to_contain_text("Stationnement")
        expect(fiche).to_contain_text(PARKING)


def test_the_lists_show_it(actors, referential):
    from reseaux.annuaire.listing import people_table

    listed = people_table(actors, referential)
    assert list(listed.columns).index("Stationnement") == list(listed.columns).index("Horaires") + 1
    assert listed.loc[(actors["id"] == ID).to_numpy(), "Stationnement"].tolist() == [PARKING]
    assert "Stationnement" in people_table(actors, referential, columns.MAP_TABLE).columns


def test_trouver_shows_it(actors, referential):
    from reseaux.analyse.proximity import ProximityIndex, nearest, partners

    placed = actors[actors["latitude"].notna()]
    index = ProximityIndex.build(placed)
    camille = placed[placed["id"] == ID].iloc[0]
    found = nearest(index, camille["latitude"], camille["longitude"], k=1)
    (first,) = partners(found, referential, (camille["latitude"], camille["longitude"]))
    assert first.name == "Camille Exemple"
    assert ("Stationnement", PARKING) in first.details()


def test_the_exports_carry_it(actors):
    from reseaux.annuaire.exports import to_csv_bytes, to_geojson_bytes, to_xlsx_bytes

    table = list(csv.DictReader(io.StringIO(to_csv_bytes(actors).decode("utf-8-sig")), delimiter=";"))
    assert {row["id"]: row["stationnement"] for row in table}[ID] == PARKING
    sheet = load_workbook(io.BytesIO(to_xlsx_bytes(actors))).active
    header = [c.value for c in sheet[1]]
    column = header.index("stationnement")
    assert [r[column] for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == ID] == [PARKING]
    features = json.loads(to_geojson_bytes(actors))["features"]
    assert next(f for f in features if f["properties"]["id"] == ID)["properties"]["stationnement"] == PARKING


def test_an_import_guesses_it(parking):
    from reseaux.importation.importing import guess_mapping

    assert guess_mapping(["Nom", "Parking", "Stationnement"]) == {
        "Nom": "nom",
        "Parking": "stationnement",
        "Stationnement": "",
    }


def test_the_annuaire_table_and_form_show_it_and_the_form_writes_it(parking, directory_file, tmp_path, monkeypatch):
    monkeypatch.setenv("RESEAUX_ACTORS", str(directory_file))
    AccountStore(tmp_path / "comptes.json").add("coord", PASSWORD, "coordinateur")
    monkeypatch.setenv("RESEAUX_ACCOUNTS", str(tmp_path / "comptes.json"))
    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run(), "coord")
    at.switch_page("views/annuaire.py").run()
    assert not at.exception
    assert "Stationnement" in at.dataframe[0].value.columns
    at.session_state["ann_edit"] = ID
    at.run()
    field = at.text_input(key="ann_f_stationnement")
    assert field.label == "Stationnement" and field.value == PARKING
    field.input("Parking souterrain, 5 places")
    at.button(key=f"FormSubmitter:ann_form_{ID}-Valider la fiche").click().run()
    assert not at.exception and not at.error
    next(b for b in at.button if b.label == "Enregistrer").click().run()
    assert not at.exception
    written = {row["id"]: row for row in csv.DictReader(io.StringIO(directory_file.read_text(encoding="utf-8-sig")))}
    assert written[ID]["stationnement"] == "Parking souterrain, 5 places"


def test_the_fiche_begins_with_the_name():
    """The browser makes the fiche's first value its title (fiches.js, map_controls.js): a rank
    below the name's would put another value there."""
    assert columns.shown_in(columns.FICHE)[0].name == "nom"


def test_an_entry_says_a_known_place_and_a_kind_with_its_category():
    with pytest.raises(ValueError, match="lieux inconnus"):
        Column("x", "X", "x", shown=frozenset({"partout"}))
    with pytest.raises(ValueError, match="référentiel"):
        Column("x", "X", "x", kind=columns.REFERENTIAL)
    assert replace(columns.column("nom"), rank=1).rank == 1


@pytest.mark.parametrize(
    "module",
    [
        "reseaux.annuaire.directory",
        "reseaux.annuaire.columns",
        "reseaux.annuaire.validation",
        "reseaux.annuaire.decoding",
        "reseaux.annuaire.serialise",
        "reseaux.annuaire.referential",
        "reseaux.annuaire.exports",
        "reseaux.annuaire.fields",
        "reseaux.annuaire.listing",
    ],
)
def test_each_directory_module_imports_alone(module):
    """No import circle among the directory's modules: each imports first in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
