"""Browser journeys: a coordinator imports a small XLSX, then a real open-data file as published,
saves, and sees the new actors on the map."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import Workbook
from playwright.sync_api import expect

from reseaux.acces.accounts import AccountStore
from tests.browser import no_error, open_annuaire, open_nav_page, settle, sign_in
from tests.conftest import DATA, PASSWORD, SCREENSHOTS, ServedApp, map_frame, wait_in_map

pytestmark = pytest.mark.browser

#: Markers on the map, run inside its frame (its own origin): single pins plus the numbers in the clusters.
COUNT_MARKERS = """() => { const pins = document.querySelectorAll('.rx-pin').length;
  const grouped = [...document.querySelectorAll('.rx-cluster span')].reduce((s, e) => s + (+e.textContent.replace(/\u202f/g, "")), 0);
  return pins + grouped; }"""


def xlsx(path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Nom", "Type", "Thèmes", "Adresse", "CP", "Ville", "Latitude", "Longitude"])
    sheet.append(["Cabinet Import Un (fictif)", "structure", "IVG", "5 rue Fictive", 76000, "Rouen", 49.4452, 1.0901])
    sheet.append(
        ["Cabinet Import Deux (fictif)", "structure", "Contraception", "6 rue Fictive", 76100, "Rouen", 49.4301, 1.0795]
    )
    book.save(path)


@pytest.fixture()
def coordination(tmp_path):
    """The small directory in a temporary folder, a coordinator's account, the app serving them."""
    actors = tmp_path / "actors.csv"
    actors.write_bytes((DATA / "actors_small.csv").read_bytes())
    AccountStore(tmp_path / "comptes.json").add("coord", PASSWORD, "coordinateur")
    with ServedApp({"RESEAUX_ACTORS": str(actors), "RESEAUX_ACCOUNTS": str(tmp_path / "comptes.json")}) as app:
        yield app, actors


def import_and_save(page, app, upload, n_rows: int, screenshot: str) -> None:
    """As a coordinator does: sign in, Annuaire → Importer, drop the file, add it, save."""
    page.goto(app.url + "/")
    settle(page)
    sign_in(page, "coord")  # not signed in, the Annuaire is not offered
    open_nav_page(page, "Annuaire")
    expect(page.get_by_test_id("stSidebarNav")).to_contain_text("Carte du réseau")
    page.get_by_role("tab", name="Importer").click()
    page.locator("input[type=file]").set_input_files(str(upload))
    page.get_by_text(f"{n_rows} lignes lues").wait_for(timeout=60_000)
    settle(page)
    expect(page.get_by_text(f"{n_rows} sans erreur, 0 avec erreur")).to_have_count(1)  # every row usable
    page.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True)
    page.get_by_role("button", name="Ajouter à l'annuaire (à enregistrer ensuite)").click()
    page.get_by_text(f"{n_rows} modifications en attente").wait_for(timeout=60_000)
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.get_by_text("Aucune modification en attente").wait_for(timeout=60_000)
    no_error(page)


def test_import_an_xlsx_and_see_the_new_actors_on_the_map(page, coordination, tmp_path):
    SCREENSHOTS.mkdir(exist_ok=True)
    app, actors = coordination
    upload = tmp_path / "nouveaux.xlsx"
    xlsx(upload)
    import_and_save(page, app, upload, 2, "annuaire-import.png")
    assert "Cabinet Import Deux (fictif)" in actors.read_text(encoding="utf-8")

    # The exports are asked for (the page does not load the map's directory to open), and hold the
    # version just saved: the three fiches of the file and the two imported.
    page.get_by_role("tab", name="Exporter").click()
    page.get_by_role("button", name="Préparer les exports").click()
    expect(page.get_by_role("button", name="CSV (Excel, ;)")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name="Préparer les exports")).to_have_count(0)  # gone at once
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="CSV (Excel, ;)").click()
    exported = pd.read_csv(info.value.path(), sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    saved = pd.read_csv(actors, dtype=str, keep_default_na=False)
    assert sorted(exported["id"]) == sorted(saved["id"]) and len(saved) == 5
    assert {"t1", "t2", "t3"} <= set(exported["id"])
    assert "Cabinet Import Un (fictif)" in set(exported["nom"])
    no_error(page)

    open_nav_page(page, "Carte du réseau")  # same session: still signed in
    map_frame(page).locator(".rx-pin, .rx-cluster").first.wait_for(timeout=60_000)
    wait_in_map(page, f"() => ({COUNT_MARKERS})() === 5", timeout=30_000)
    page.screenshot(path=str(SCREENSHOTS / "carte-apres-import.png"), full_page=True)


def test_a_real_open_data_file_imports_as_published(page, coordination):
    """Eurostat GISCO's hospital list (English headers, house number apart, phones without their 0),
    dropped as published, no option touched: the rows arrive with the publisher's positions, and
    the map counts them."""
    SCREENSHOTS.mkdir(exist_ok=True)
    app, actors = coordination
    before = len(pd.read_csv(actors, dtype=str))
    import_and_save(
        page, app, DATA / "real" / "gisco_healthcare_services_FR_extrait.csv", 150, "annuaire-import-reel.png"
    )
    saved = pd.read_csv(actors, dtype=str, keep_default_na=False)
    assert len(saved) == before + 150
    new = saved.iloc[before:]
    assert (new["geocodage_source"] == "fichier").all() and (new["latitude"] != "").all()
    assert "52 RUE GEORGES GIRERD" in set(new["adresse"])
    open_nav_page(page, "Carte du réseau")
    page.get_by_text(f"{len(saved)} acteurs sur {len(saved)}").wait_for(timeout=60_000)


def test_hostile_uploads_get_a_french_message_and_change_nothing(page, coordination, tmp_path):
    """In the browser: a workbook that would expand to gigabytes (declared dimensions,
    zip bomb, billion laughs), a binary file renamed .csv and a GeoJSON nested beyond reason are
    refused with a French message; Excel's « Texte Unicode » (UTF-16) is read; a 200,000-character
    cell puts its row aside; the directory file never changes."""
    import re

    from reseaux.importation.reading import MAX_UNPACKED_BYTES
    from tests.test_hostile import _xlsx_with, entity_workbooks

    app, actors = coordination
    before = actors.read_bytes()
    laughs, _ = entity_workbooks(b"&j;")
    unicode_text = (
        "id\tnom\ttype\tcommune\tlatitude\tlongitude\r\nu1\tCentre Émile (fictif)\tstructure\tRouen\t49.44\t1.09\r\n"
    ).encode("utf-16")
    cases = [
        (
            "dimensions.xlsx",
            _xlsx_with(lambda x: re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', x)),
            "1 ligne lue",
        ),
        (
            "zip.xlsx",
            _xlsx_with(lambda x: x.replace(b"<sheetData>", b" " * (MAX_UNPACKED_BYTES + 1024) + b"<sheetData>", 1)),
            "se décompresse en",
        ),
        ("rires.xlsx", laughs, "son XML déclare des entités"),
        ("binaire.csv", bytes(range(256)) * 100, "n'est pas un texte CSV"),
        ("profond.geojson", b"[" * 200_000, "imbriquées sur des milliers de niveaux"),
        ("texte-unicode.txt", unicode_text, "1 ligne lue"),
        # a 200,000-character cell (beyond the csv module's limit, which once took every page down)
        (
            "cellule.csv",
            (
                "id,nom,type,description,commune\nl1,Centre long (fictif),structure," + "x" * 200_000 + ",Rouen\n"
            ).encode(),
            "0 sans erreur, 1 avec erreur",
        ),
    ]
    open_annuaire(page, app, "coord")
    page.get_by_role("tab", name="Importer").click()
    for name, data, said in cases:
        path = tmp_path / name
        path.write_bytes(data)
        page.locator("input[type=file]").set_input_files(str(path))
        page.get_by_text(said).first.wait_for(timeout=60_000)
        settle(page)
        no_error(page)
        assert str(tmp_path) not in page.locator("body").inner_text()
        if name == "texte-unicode.txt":  # the UTF-16 row, usable as it is
            expect(page.get_by_text("1 sans erreur, 0 avec erreur")).to_have_count(1)
    assert actors.read_bytes() == before
