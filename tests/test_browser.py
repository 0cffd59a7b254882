"""The main journey in headless Chromium: the app on a free port, the Leaflet map, the layers."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import ROOT, SCREENSHOTS, ServedApp, map_frame, map_still, visible_demo, wait_in_map

pytestmark = pytest.mark.browser
QPV_STROKE = "#D55E00"


def open_map(page, url):
    page.goto(url)
    frame = map_frame(page)
    frame.locator(".leaflet-container").wait_for(timeout=60_000)
    frame.locator(".rx-cluster").first.wait_for(timeout=60_000)
    return frame


def test_map_shows_actor_clusters_and_the_16_qpv(page, served, referential):
    SCREENSHOTS.mkdir(exist_ok=True)
    public = len(visible_demo(referential))  # a visitor: the public view
    frame = open_map(page, served.url)
    expect(frame.locator(".rx-cluster").nth(4)).to_be_attached()  # at least five clusters
    # Every visible actor is on the map, clustered or alone (waited for: clusters animate at start).
    wait_in_map(
        page,
        """(n) => document.querySelectorAll('.rx-pin').length +
                     [...document.querySelectorAll('.rx-cluster span')].reduce((s, e) => s + (+e.textContent.replace(/\u202f/g, "")), 0) === n""",
        public,
        timeout=60_000,
    )
    expect(frame.locator(f'path.leaflet-interactive[stroke="{QPV_STROKE}"]')).to_have_count(16)
    expect(frame.locator(".rx-legend")).to_have_text(re.compile(r"^Légende"))
    # Leaflet itself came from the app's own server, not a CDN, with its plugins in one file.
    expect(frame.locator("script[src*='/app/static/vendor/reseaux.js']")).to_have_count(1)
    expect(frame.locator("script[src*='leaflet.js']")).to_have_count(0)
    map_still(page)
    page.screenshot(path=str(SCREENSHOTS / "carte.png"), full_page=True)


def test_a_fiche_opens_on_click_and_shows_html_as_text(page, tmp_path):
    actors = tmp_path / "actors.csv"
    text = (ROOT / "tests" / "data" / "actors_small.csv").read_text(encoding="utf-8")
    actors.write_text(text.replace("Camille Exemple", "<img src=x onerror=alert(1)>"), encoding="utf-8")
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with ServedApp({"RESEAUX_ACTORS": str(actors)}) as app:
        page.goto(app.url + "/?type=professionnel")
        frame = map_frame(page)
        pin = frame.locator(".rx-pin").first
        pin.wait_for(timeout=60_000)
        pin.dispatch_event("click")  # a click on the marker itself, wherever the map has panned
        popup = frame.locator(".rx-fiche")
        popup.wait_for(timeout=60_000)
        expect(popup.locator(".rx-fiche-title")).to_have_text("<img src=x onerror=alert(1)>")
        expect(popup.locator("a[href='tel:0261910001']")).to_have_text("02 61 91 00 01")
        expect(popup.locator("a[href='mailto:camille.exemple@example.org']")).to_have_count(1)
        assert popup.locator("a[href='https://example.org/camille']").get_attribute("rel") == "noopener noreferrer"
        expect(popup).to_contain_text("Fiche fictive")
        expect(frame.locator(".rx-fiche img")).to_have_count(0)
    assert dialogs == []


def test_a_filter_change_keeps_the_map_and_swaps_the_actors(page, served):
    frame = open_map(page, served.url)
    frame.locator(".leaflet-container").evaluate("el => { el.dataset.rxMarker = 'same-map'; }")
    page.get_by_label("Types d'acteurs").click()
    page.get_by_role("option", name="Action d'aller-vers").click()
    page.keyboard.press("Escape")
    wait_in_map(
        page,
        """() => { const n = document.querySelectorAll('.rx-pin').length;
                   const c = [...document.querySelectorAll('.rx-cluster span')].reduce((s, e) => s + (+e.textContent.replace(/\u202f/g, "")), 0);
                   return n + c === 7; }""",
        timeout=30_000,
    )
    # Same Leaflet container: the base map was not rebuilt, only the actors' layer.
    expect(frame.locator(".leaflet-container[data-rx-marker='same-map']")).to_have_count(1)
    # The address is written at the end of the run, after the map (drawn first since 755846c).
    expect(page).to_have_url(re.compile(r"[?&]type=aller_vers(&|$)"), timeout=30_000)
