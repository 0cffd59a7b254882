"""Browser journey: a coordinator imports a small XLSX, saves, and sees the new actors on the map."""

from __future__ import annotations

import pytest
from openpyxl import Workbook

from reseaux.accounts import AccountStore
from tests.conftest import DATA, PASSWORD, SCREENSHOTS, ServedApp, map_frame

pytestmark = pytest.mark.browser

COUNT_MARKERS = """() => { const f = document.querySelector("iframe[title='streamlit_folium.st_folium']");
  const d = f && f.contentDocument; if (!d) return -1;
  const pins = d.querySelectorAll('.rx-pin').length;
  const grouped = [...d.querySelectorAll('.rx-cluster span')].reduce((s, e) => s + (+e.textContent), 0);
  return pins + grouped; }"""


def xlsx(path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Nom", "Type", "Thèmes", "Adresse", "CP", "Ville", "Latitude", "Longitude"])
    sheet.append(["Cabinet Import Un (fictif)", "structure", "IVG", "5 rue Fictive", 76000, "Rouen", 49.4452, 1.0901])
    sheet.append(["Cabinet Import Deux (fictif)", "structure", "Contraception", "6 rue Fictive", 76100, "Rouen",
                  49.4301, 1.0795])
    book.save(path)


def test_import_an_xlsx_and_see_the_new_actors_on_the_map(page, tmp_path):
    SCREENSHOTS.mkdir(exist_ok=True)
    actors = tmp_path / "actors.csv"
    actors.write_bytes((DATA / "actors_small.csv").read_bytes())
    upload = tmp_path / "nouveaux.xlsx"
    xlsx(upload)
    AccountStore(tmp_path / "comptes.json").add("coord", PASSWORD, "coordinateur")
    with ServedApp({"RESEAUX_ACTORS": str(actors), "RESEAUX_ACCOUNTS": str(tmp_path / "comptes.json")}) as app:
        page.goto(app.url + "/")
        # Not signed in: the Annuaire is not offered; sign in from the sidebar.
        page.get_by_text("Se connecter (membres du réseau)").click()
        page.get_by_label("Identifiant").fill("coord")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_text("Connecté·e : coord").wait_for(timeout=30_000)
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Annuaire", exact=True).click()
        page.get_by_role("tab", name="Importer").wait_for(timeout=60_000)
        assert "Carte du réseau" in page.get_by_test_id("stSidebarNav").inner_text()
        page.get_by_role("tab", name="Importer").click()
        page.locator("input[type=file]").set_input_files(str(upload))
        page.get_by_text("2 lignes lues").wait_for(timeout=60_000)
        page.screenshot(path=str(SCREENSHOTS / "annuaire-import.png"), full_page=True)
        page.get_by_role("button", name="Ajouter à l'annuaire (à enregistrer ensuite)").click()
        page.get_by_text("2 modifications en attente").wait_for(timeout=30_000)
        page.get_by_role("button", name="Enregistrer", exact=True).click()
        page.get_by_text("Aucune modification en attente").wait_for(timeout=30_000)
        assert "Cabinet Import Deux (fictif)" in actors.read_text(encoding="utf-8")

        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Carte du réseau").click()  # same session: still signed in
        map_frame(page).locator(".rx-pin, .rx-cluster").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(SCREENSHOTS / "carte-apres-import.png"), full_page=True)
        page.wait_for_function(f"() => ({COUNT_MARKERS})() === 5", timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "carte-apres-import.png"), full_page=True)


def test_a_real_open_data_file_imports_as_published(page, tmp_path):
    """Eurostat GISCO's hospital list (English headers, house number apart, phones without their 0),
    dropped as published, no option touched: the rows arrive with the publisher's positions."""
    import pandas as pd

    actors = tmp_path / "actors.csv"
    actors.write_bytes((DATA / "actors_small.csv").read_bytes())
    real = DATA / "real" / "gisco_healthcare_services_FR_extrait.csv"
    AccountStore(tmp_path / "comptes.json").add("coord", PASSWORD, "coordinateur")
    before = len(pd.read_csv(actors, dtype=str))
    with ServedApp({"RESEAUX_ACTORS": str(actors), "RESEAUX_ACCOUNTS": str(tmp_path / "comptes.json")}) as app:
        page.goto(app.url + "/")
        page.get_by_text("Se connecter (membres du réseau)").click()
        page.get_by_label("Identifiant").fill("coord")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_text("Connecté·e : coord").wait_for(timeout=30_000)
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Annuaire", exact=True).click()
        page.get_by_role("tab", name="Importer").wait_for(timeout=60_000)
        page.get_by_role("tab", name="Importer").click()
        page.locator("input[type=file]").set_input_files(str(real))
        page.get_by_text("150 lignes lues").wait_for(timeout=60_000)
        assert page.get_by_text("0 avec erreur").count() == 1
        page.screenshot(path=str(SCREENSHOTS / "annuaire-import-reel.png"), full_page=True)
        page.get_by_role("button", name="Ajouter à l'annuaire (à enregistrer ensuite)").click()
        page.get_by_text("150 modifications en attente").wait_for(timeout=60_000)
        page.get_by_role("button", name="Enregistrer", exact=True).click()
        page.get_by_text("Aucune modification en attente").wait_for(timeout=60_000)
    saved = pd.read_csv(actors, dtype=str, keep_default_na=False)
    assert len(saved) == before + 150
    new = saved.iloc[before:]
    assert (new["geocodage_source"] == "fichier").all() and (new["latitude"] != "").all()
    assert "52 RUE GEORGES GIRERD" in set(new["adresse"])
