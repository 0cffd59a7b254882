"""The professional's journey in headless Chromium, on the served app as a visitor sees it.

A professional with a patient in front of them types an address, presses Entrée, narrows the
search, reads the nearest partners and opens one on the map; then the same without the
geocoder (placed at the commune), with a click on the map, and with a free-text search.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from reseaux.analyse.filters import ActorFilter, apply_filter, search_text
from reseaux.analyse.proximity import ProximityIndex, nearest
from reseaux.text import fr_distance
from tests.addok_server import AddokServer, documents, finess_addresses
from tests.browser import choose, no_error, point_in_url
from tests.conftest import SCREENSHOTS, ServedApp, map_frame, map_still, wait_in_map

pytestmark = pytest.mark.browser
ADDRESS_LABEL = "Adresse du patient ou du lieu de départ"


def expected(referential, lat, lon, flt, k=10, radius_m=10_000):
    from tests.conftest import visible_demo

    actors = visible_demo(referential)
    index = ProximityIndex.build(actors)
    mask = apply_filter(index.frame, flt, referential, search=search_text(index.frame)).mask.to_numpy()
    return nearest(index, lat, lon, mask=mask, k=k, radius_m=radius_m)


def type_address(page, text: str) -> None:
    box = page.get_by_label(ADDRESS_LABEL)
    box.wait_for(timeout=60_000)
    box.fill(text)
    box.press("Enter")


def wait_for_results(page, count_text: str) -> None:
    try:
        page.get_by_text(count_text).first.wait_for(timeout=60_000)
    except Exception as exc:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "trouver_echec.png"))
        raise AssertionError(
            f"« {count_text} » absent de la page :\n{page.locator('body').inner_text()[:3000]}"
        ) from exc


def open_popup(frame, number: int):
    """Click marker ``number``; when it shares a pill with close ones (« 1 · 3 »), fan it out first."""
    single = frame.locator(".rx-num:not(.rx-num-group)").filter(has_text=re.compile(rf"^{number}$"))
    if not single.first.is_visible():
        frame.locator(".rx-num-group").filter(has_text=re.compile(rf"(^|\D){number}(\D|$)")).first.click()
        single.first.wait_for(state="visible", timeout=60_000)
    single.first.click()
    popup = frame.locator(".leaflet-popup .rx-popup")
    popup.wait_for(timeout=60_000)
    return popup


def test_online_address_filters_nearest_first_and_popup(page, referential, tmp_path):
    SCREENSHOTS.mkdir(exist_ok=True)
    addresses = finess_addresses()
    with (
        AddokServer(tmp_path / "addok", documents(addresses)) as addok,
        ServedApp({"RESEAUX_GEOCODER_URL": addok.url}) as app,
    ):
        page.goto(app.url + "/trouver")
        type_address(page, "2 rue Danton Le Petit-Quevilly")
        page.get_by_text("Départ : 2 Rue Danton").wait_for(timeout=60_000)
        choose(page, "Thématiques", "IVG")
        page.wait_for_function("() => location.search.includes('theme=ivg')", timeout=30_000)
        choose(page, "Professions", "Sage-femme")
        page.wait_for_function("() => location.search.includes('profession=sage_femme')", timeout=30_000)
        lat, lon = point_in_url(page)
        want = expected(referential, lat, lon, ActorFilter(themes=("ivg",), professions=("sage_femme",)))
        assert len(want) >= 2, "the demo should have IVG sages-femmes near Le Petit-Quevilly"
        count = f"{len(want)} partenaires les plus proches"
        wait_for_results(page, count)
        no_error(page)
        first = want.iloc[0]
        heading = page.get_by_text(f"1. {first['nom']}").first
        expect(heading.locator("xpath=..")).to_contain_text(fr_distance(first["distance_m"]))
        distances = list(want["distance_m"])
        assert distances == sorted(distances)

        frame = map_frame(page)
        frame.locator(".rx-num").first.wait_for(timeout=30_000)
        popup = open_popup(frame, 1)
        expect(popup.locator(".rx-popup-title")).to_have_text(f"1. {first['nom']}")
        expect(popup).to_contain_text(fr_distance(first["distance_m"]))
        route = popup.get_by_role("link", name="Itinéraire (Google Maps)").get_attribute("href")
        assert f"origin={lat:.5f},{lon:.5f}" in route
        assert f"destination={first['latitude']:.5f},{first['longitude']:.5f}" in route
        no_error(page)
        page.screenshot(path=str(SCREENSHOTS / "trouver_en_ligne_1440.png"))


def test_offline_commune_map_click_and_free_text(browser, referential):
    SCREENSHOTS.mkdir(exist_ok=True)
    with ServedApp({"RESEAUX_GEOCODER_URL": "http://127.0.0.1:9"}) as app:
        # On a phone, with the geocoder down.
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR", is_mobile=True)
        phone = context.new_page()
        phone.goto(app.url + "/trouver?theme=ivg")
        type_address(phone, "76140 Le Petit-Quevilly")
        phone.get_by_text("Position approximative : centre de la commune").wait_for(timeout=60_000)
        lat, lon = point_in_url(phone)
        assert (lat, lon) == (49.430302, 1.05256)  # the town hall
        want = expected(referential, lat, lon, ActorFilter(themes=("ivg",)))
        wait_for_results(phone, "10 partenaires les plus proches")
        first = phone.get_by_text(f"1. {want.iloc[0]['nom']}").first
        first.wait_for()
        # The address field and the first result fit in the first screen.
        box = phone.get_by_label(ADDRESS_LABEL).bounding_box()
        assert box["y"] >= 0 and first.bounding_box()["y"] + 20 < 844
        no_error(phone)
        phone.screenshot(path=str(SCREENSHOTS / "trouver_hors_ligne_390.png"))
        context.close()

        # The same typed tolerantly on a desktop, then a click on the map moves the point.
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="fr-FR")
        page.goto(app.url + "/trouver")
        type_address(page, "petit quevilly")
        page.get_by_text("Position approximative : centre de la commune").wait_for(timeout=60_000)
        wait_for_results(page, "10 partenaires les plus proches")
        frame = map_frame(page)
        frame.locator(".rx-num").first.wait_for(timeout=30_000)
        container = frame.locator(".leaflet-container")
        size = container.bounding_box()
        container.click(position={"x": 40, "y": size["height"] - 60})  # bottom left, away from the markers
        page.get_by_text("Départ : point choisi sur la carte").wait_for(timeout=30_000)
        page.wait_for_function(f"() => !location.search.includes('lat={lat:.6f}')", timeout=30_000)
        expect(page.get_by_text("Position approximative : centre de la commune")).to_have_count(0)  # no longer true
        # The address typed no longer says where the search starts: the field and the URL let it go.
        expect(page.get_by_label(ADDRESS_LABEL)).to_have_value("")
        page.wait_for_function("() => !location.search.includes('adresse=')", timeout=30_000)
        clicked = point_in_url(page)
        assert clicked != (lat, lon)
        want = expected(referential, *clicked, ActorFilter())
        page.get_by_text(f"1. {want.iloc[0]['nom']}").first.wait_for(timeout=30_000)
        no_error(page)

        # A free-text search, mirrored in the URL.
        search = page.get_by_label("Recherche libre (nom, structure, spécialités, description)")
        search.fill("IVG médicamenteuse")
        search.press("Enter")
        page.wait_for_function("() => location.search.includes('q=IVG')", timeout=30_000)
        want = expected(referential, *clicked, ActorFilter(text="IVG médicamenteuse"))
        assert len(want) and all("IVG médicamenteuse" in s for s in want["specialites"])
        page.get_by_text(f"1. {want.iloc[0]['nom']}").first.wait_for(timeout=30_000)
        page.wait_for_function(
            f"() => document.body.innerText.split('Spécialités et formations : ').length > {len(want)}"
        )
        expect(page.get_by_text("IVG médicamenteuse").nth(len(want) - 1)).to_be_attached()
        no_error(page)
        # The screenshot once the map is drawn again with the results' numbers, not while it redraws.
        wait_in_map(page, "() => document.querySelectorAll('.rx-num').length > 0")
        map_still(page)
        page.screenshot(path=str(SCREENSHOTS / "trouver_recherche_1440.png"))
        page.close()
