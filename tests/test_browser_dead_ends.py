"""No dead end, in headless Chromium: on a phone (390×844) Trouver's first result is in the first
screen after a search, when partners are near and when none is within the radius (then the nearest
beyond it are listed, and « Élargir à … » reaches them in one click). Distances are computed here by
haversine on the demo file (tests/test_trouver.py's ``by_distance``), not by the app."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.addok_server import AddokServer, documents, finess_addresses
from tests.browser import by_distance, no_error, point_in_url, result_line, settle
from tests.conftest import SCREENSHOTS, ServedApp
from tests.test_journey_professional import ADDRESS_LABEL, type_address
from tests.test_trouver import RADII_KM, km

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def in_first_screen(locator) -> None:
    """The element (a result's name and distance) is wholly within the phone's first screen."""
    expect(locator).to_be_visible(timeout=90_000)
    assert locator.evaluate("() => window.scrollY") == 0
    box = locator.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box


def test_phone_first_result_after_an_address(browser, referential, tmp_path):
    """Online: the geocoder's choice box, the outreach notice and the perimeters once stood above it."""
    SCREENSHOTS.mkdir(exist_ok=True)
    with (
        AddokServer(tmp_path / "addok", documents(finess_addresses())) as addok,
        ServedApp({"RESEAUX_GEOCODER_URL": addok.url}) as app,
    ):
        context = browser.new_context(viewport=PHONE, locale="fr-FR", is_mobile=True)
        phone = context.new_page()
        phone.goto(app.url + "/trouver")
        type_address(phone, "2 rue Danton Le Petit-Quevilly")
        lat, lon = point_in_url(phone)
        settle(phone)
        ranked = by_distance(referential, lat, lon, "")
        in_first_screen(result_line(phone, 1, ranked[0][1]))
        no_error(phone)
        phone.screenshot(path=str(SCREENSHOTS / "trouver_adresse_390.png"))
        context.close()


def test_phone_first_result_in_rouen_where_outreach_passes(browser, referential):
    """Offline, placed at Rouen's town hall: the commune's warning, the perimeters it is in and the outreach
    actions passing there once pushed the first result below the first screen."""
    with ServedApp({"RESEAUX_GEOCODER_URL": "http://127.0.0.1:9"}) as app:
        context = browser.new_context(viewport=PHONE, locale="fr-FR", is_mobile=True)
        phone = context.new_page()
        phone.goto(app.url + "/trouver")
        type_address(phone, "76000 Rouen")
        lat, lon = point_in_url(phone)
        expect(phone.get_by_text("Une action d'aller-vers passe dans ce quartier")).to_be_attached(timeout=90_000)
        settle(phone)
        in_first_screen(result_line(phone, 1, by_distance(referential, lat, lon, "")[0][1]))
        no_error(phone)
        phone.screenshot(path=str(SCREENSHOTS / "trouver_rouen_390.png"))
        context.close()


def test_phone_nothing_near_lists_the_nearest_and_widens_in_one_click(browser, referential):
    SCREENSHOTS.mkdir(exist_ok=True)
    with ServedApp({"RESEAUX_GEOCODER_URL": "http://127.0.0.1:9"}) as app:  # placed at the town hall
        context = browser.new_context(viewport=PHONE, locale="fr-FR", is_mobile=True)
        phone = context.new_page()
        phone.goto(app.url + "/trouver?theme=addictions&rayon=1")
        type_address(phone, "76140 Le Petit-Quevilly")
        lat, lon = point_in_url(phone)
        ranked = by_distance(referential, lat, lon, "addictions")
        assert ranked[0][0] > 1010, "the demo should have no addictions partner within 1 km of the town hall"
        expect(phone.get_by_text("Aucun partenaire ne correspond à moins de 1 km.")).to_be_visible(timeout=90_000)
        settle(phone)
        in_first_screen(result_line(phone, 1, ranked[0][1]))
        no_error(phone)
        phone.screenshot(path=str(SCREENSHOTS / "trouver_rien_a_1_km_390.png"))

        wider = next(r for r in RADII_KM if r * 1000 >= ranked[0][0])
        within = sum(d <= wider * 1000 for d, _ in ranked)
        button = phone.get_by_role(
            "button", name=f"Élargir à {km(wider)} ({within} partenaire{'s' if within > 1 else ''})"
        )
        in_first_screen(button)
        button.click()
        phone.wait_for_function(f"() => location.search.includes('rayon={wider:g}')", timeout=60_000)
        expect(phone.get_by_text("Aucun partenaire ne correspond")).to_have_count(0, timeout=60_000)
        settle(phone)
        in_first_screen(result_line(phone, 1, ranked[0][1]))
        lines = phone.locator("[data-testid='stMarkdownContainer'] p").filter(has_text=re.compile(r"^\d+\. .+ · "))
        expect(lines).to_have_count(within, timeout=30_000)
        assert phone.get_by_label(ADDRESS_LABEL).input_value() == "76140 Le Petit-Quevilly"
        no_error(phone)
        context.close()


# --- « À mettre à jour »: every column in view, each row opens its fiche ---------------------


def oldest_fiches(folder, days: int = 365) -> list[dict]:
    """The file's fiches not updated for ``days`` days, oldest first (read here, not by the app)."""
    import csv
    from datetime import date, timedelta

    with open(folder / "actors.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    limit = (date.today() - timedelta(days=days)).isoformat()
    return sorted((r for r in rows if r["date_maj"] < limit), key=lambda r: r["date_maj"])


def test_fiches_to_update_show_every_column_and_open_their_fiche(browser, tmp_path):
    from tests.browser import LoggedApp, data_folder, open_annuaire

    folder, env = data_folder(tmp_path)
    old = oldest_fiches(folder)
    assert len(old) > 2 and old[0]["date_maj"] < old[1]["date_maj"], "the demo should have one oldest fiche"
    with LoggedApp(env) as app:
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="fr-FR")
        open_annuaire(page, app, "coord")
        page.get_by_role("tab", name="À mettre à jour").click()
        expect(page.get_by_text(f"{len(old)} fiches non mises à jour")).to_be_visible(timeout=60_000)
        settle(page)
        table = page.get_by_role("tabpanel", name="À mettre à jour").locator("[data-testid='stDataFrame']").first
        expect(table).to_be_visible()
        page.wait_for_function(
            "(name) => [...document.querySelectorAll(\"[data-testid^='glide-cell-']\")]"
            ".some(c => c.innerText.trim() === name)",
            arg=old[0]["nom"],
            timeout=30_000,
        )
        # Every column wholly in view: the table scrolls sideways not at all.
        scroller = table.locator(".dvn-scroller").first
        expect(scroller).to_be_visible()
        overflow = scroller.evaluate("(e) => e.scrollWidth - e.clientWidth")
        page.screenshot(path=str(SCREENSHOTS / "annuaire_a_mettre_a_jour_1440.png"))
        assert overflow <= 0, f"the table is {overflow} px wider than its frame: a column is cut off"
        # The oldest fiche is the first row; ticking it opens its fiche.
        box = table.locator("canvas").first.bounding_box()
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the tick box of the first row
        expect(page.get_by_role("heading", name=f"Fiche « {old[0]['nom']} »")).to_be_visible(timeout=60_000)
        expect(page.get_by_role("tab", name="Fiches")).to_have_attribute("aria-selected", "true")
        # The heading comes before the form's fields are filled: wait for the value, not read it once.
        expect(page.get_by_label("Téléphone", exact=True)).to_have_value(old[0]["telephone"], timeout=60_000)
        no_error(page)
        page.screenshot(path=str(SCREENSHOTS / "annuaire_fiche_depuis_a_mettre_a_jour_1440.png"))
        page.close()


def test_a_row_of_the_maps_list_opens_its_fiche(browser, referential):
    from tests.conftest import visible_demo

    public = visible_demo(referential)
    on_ivg = public[public["thematiques"].map(lambda themes: "ivg" in themes)]  # the list's order: the file's
    first = on_ivg.iloc[0]
    with ServedApp() as app:
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="fr-FR")
        page.goto(app.url + "/?theme=ivg")
        header = page.get_by_role("heading", name=f"Liste des acteurs affichés ({len(on_ivg)})")
        expect(header).to_be_visible(timeout=90_000)
        settle(page)
        table = page.locator("[data-testid='stDataFrame']").first
        table.scroll_into_view_if_needed()
        page.wait_for_function(
            "(name) => [...document.querySelectorAll(\"[data-testid^='glide-cell-']\")]"
            ".some(c => c.innerText.trim() === name)",
            arg=first["nom"],
            timeout=30_000,
        )
        box = table.locator("canvas").first.bounding_box()
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the tick box of the first row
        fiche = page.locator(".st-key-carte_fiche")
        expect(fiche.get_by_role("heading", name=f"Fiche « {first['nom']} »")).to_be_visible(timeout=60_000)
        expect(fiche).to_contain_text(f"Téléphone : {first['telephone']}")
        no_error(page)
        fiche.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / "carte_fiche_depuis_la_liste_1440.png"))
        page.close()
