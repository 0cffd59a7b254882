"""The keyboard alone, in Chromium: no click, only keys pressed (page.keyboard.press).

From the top of the Carte page, the skip links lead to the map and its search box in six
presses; every pin and cluster drawn is a Tab stop, a pin named by its actor (name and
profession, checked against the demo file and the pin's position), Enter opens its fiche and
Échap gives the focus back; Enter on a cluster zooms in; the perimeters' shapes are no Tab stops;
an open fiche is never under the search box (1440×900 and 390×844); on Trouver a skip link leads
to the results; a presentation's « Suivante » is three presses of Tab away at most, and Page suivante /
Page précédente (a presenter's remote) change the scene.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser import by_distance, no_error, point_in_url, result_line, settle
from tests.conftest import ROOT, SCREENSHOTS, ServedApp, evaluate_in_map, map_frame, visible_demo, wait_in_map

pytestmark = pytest.mark.browser

#: What has the focus inside the map's frame (null when the focus is outside the frame).
_ACTIVE = """() => {
  const a = document.activeElement;
  if (!a || a === document.body) return null;
  let at = null;
  window.map.eachLayer(l => { if (l._icon && l._icon === a) at = [l.getLatLng().lat, l.getLatLng().lng]; });
  return {tag: a.tagName.toLowerCase(), cls: String(a.getAttribute("class") || ""),
          label: a.getAttribute("aria-label") || "", at: at,
          inFiche: !!a.closest(".rx-fiche"), placeholder: a.getAttribute("placeholder") || ""};
}"""

#: The open fiche's and the search box's rectangles in the map's frame.
_BOXES = """() => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const popup = document.querySelector(".leaflet-popup-content-wrapper");
  return {popup: popup && box(popup), search: box(document.querySelector(".rx-search")),
          map: box(document.querySelector(".leaflet-container"))};
}"""


#: The open fiche is clear of the search box and within the map.
_CLEAR = (
    "() => { const b = (" + _BOXES + ")(), p = b.popup, s = b.search; return p"
    " && !(Math.min(p[2], s[2]) > Math.max(p[0], s[0]) && Math.min(p[3], s[3]) > Math.max(p[1], s[1]))"
    " && p[0] >= b.map[0] && p[2] <= b.map[2] && p[3] <= b.map[3]; }"
)


def _open(page, url):
    page.goto(url)
    map_frame(page).locator(".rx-pin, .rx-cluster").first.wait_for(timeout=60_000)
    settle(page)


def _active(page):
    return evaluate_in_map(page, _ACTIVE)


def _tab_until(page, wanted, most: int) -> tuple[int, dict]:
    """Press Tab until the focused element of the map is ``wanted``; the presses and that element."""
    seen = []
    for count in range(1, most + 1):
        page.keyboard.press("Tab")
        active = _active(page)
        if active and wanted(active):
            return count, active
        seen.append(active and (active["tag"], active["cls"][:30], active["label"][:30]))
    raise AssertionError(f"not reached in {most} presses of Tab: {seen}")


def _to_search_box(page) -> None:
    """From the top of the Carte page: Streamlit's skip link to the content, ours to the map."""
    page.keyboard.press("Tab")  # Streamlit's « skip to main content », the page's first Tab stop
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Aller à la carte")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # the map itself: the arrows move it
    page.keyboard.press("Tab")
    expect(map_frame(page).get_by_placeholder("Chercher un acteur…")).to_be_focused()


def _is_pin(active) -> bool:
    return "rx-pin" in active["cls"]


def test_a_pin_is_reached_opened_and_left_with_the_keyboard(page, served, referential):
    demo = visible_demo(referential)
    professions, types = referential.labels("profession"), referential.labels("type")
    _open(page, served.url)
    _to_search_box(page)  # six presses from the top of the page

    # After the few controls (zoom, full screen, position, layers, legend, credits): the pins.
    _presses, pin = _tab_until(page, _is_pin, most=15)
    name, _, what = pin["label"].partition(", ")
    actor = demo[demo["nom"] == name]
    assert len(actor) == 1, pin
    actor = actor.iloc[0]
    assert what == (professions.get(actor["profession"]) or types[actor["type"]])
    assert pin["at"] == pytest.approx([actor["latitude"], actor["longitude"]], abs=1e-4)  # this pin is that actor

    page.keyboard.press("Enter")
    frame = map_frame(page)
    expect(frame.locator(".rx-fiche-title")).to_have_text(name)
    wait_in_map(page, "() => document.activeElement.closest('.rx-fiche')")  # read next, its links next
    page.screenshot(path=str(SCREENSHOTS / "clavier-fiche.png"))
    page.keyboard.press("Escape")
    expect(frame.locator(".rx-fiche")).to_have_count(0)
    assert _active(page)["label"] == pin["label"]  # the focus is back on the pin

    # A cluster: its count said, Enter zooms in and the focus stays on the map's markers.
    _, group = _tab_until(page, lambda a: "rx-cluster" in a["cls"], most=200)
    assert group["label"].endswith("acteurs regroupés ici : Entrée pour zoomer")
    zoom = evaluate_in_map(page, "() => window.map.getZoom()")
    page.keyboard.press("Enter")
    wait_in_map(page, "(z) => window.map.getZoom() > z", zoom)
    wait_in_map(page, "() => document.activeElement.matches('.rx-pin, .rx-cluster')")
    no_error(page)


def test_perimeters_are_no_tab_stops_and_every_drawn_actor_is_one(page, served):
    _open(page, served.url)
    shapes = evaluate_in_map(page, "() => document.querySelectorAll('path.leaflet-interactive').length")
    assert shapes > 50  # the demo's communes, QPV and CPTS are drawn
    _to_search_box(page)
    drawn = evaluate_in_map(page, "() => document.querySelectorAll('.rx-pin, .rx-cluster').length")
    stops = []
    for _ in range(300):
        page.keyboard.press("Tab")
        active = _active(page)
        if active is None:  # out of the map
            break
        stops.append(active)
    tags = [a["tag"] for a in stops]
    assert "path" not in tags
    markers = [a for a in stops if "rx-pin" in a["cls"] or "rx-cluster" in a["cls"]]
    assert len(markers) == drawn and all(a["label"] for a in markers)
    assert len(stops) - len(markers) <= 10, stops  # the controls: zoom, full screen, layers, legend, credits


@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)])
def test_the_search_box_never_covers_the_open_fiche(browser, served, referential, width, height):
    demo = visible_demo(referential)
    filled = demo.astype(str).apply(lambda row: sum(v not in ("", "nan", "None") for v in row), axis=1)
    name = demo.loc[filled.idxmax(), "nom"]  # the longest fiche: the hardest to fit
    context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
    page = context.new_page()
    try:
        _open(page, served.url)
        _to_search_box(page)
        page.keyboard.type(name)
        frame = map_frame(page)
        frame.locator(".rx-search li").filter(has_text=name).first.wait_for(timeout=30_000)
        page.keyboard.press("Enter")
        expect(frame.locator(".rx-fiche-title")).to_have_text(name)
        # Once the map has panned (an animation): the fiche clear of the box, and inside the map.
        wait_in_map(page, _CLEAR, timeout=60_000)
        page.screenshot(path=str(SCREENSHOTS / f"clavier-recherche-{width}.png"))
        no_error(page)
    finally:
        context.close()


def test_trouver_has_a_skip_link_to_its_results(page, served):
    page.goto(served.url + "/trouver")
    settle(page)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    link = page.get_by_role("link", name="Aller aux résultats")
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#resultats")).to_be_focused()
    no_error(page)


def _press_until(page, key: str, url, tries: int = 3) -> None:
    """Press ``key`` until the address is ``url``, as a presenter presses again a key that did
    nothing: under load, a key pressed while Streamlit still runs the page can be lost by its
    shortcut handler (tests/test_journey_presenter.py waits for the same reason)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(tries):
        page.keyboard.press(key)
        try:
            page.wait_for_url(url, timeout=20_000)
            return
        except PlaywrightTimeout:
            settle(page, quiet_ms=600)
    raise AssertionError(f"{key} pressed {tries} times: still at {page.url}")


def test_a_presentation_is_played_with_a_few_keys(page, served):
    scenes = [s["id"] for s in json.loads((ROOT / "data" / "scenes.json").read_text(encoding="utf-8"))["scenes"]]
    assert len(scenes) >= 3
    page.goto(f"{served.url}/presentation?scene={scenes[0]}&plein_ecran=1")
    map_frame(page).locator(".rx-pin, .rx-cluster").first.wait_for(timeout=60_000)
    settle(page)
    following = page.get_by_role("button", name="Suivante")
    for presses in range(1, 5):  # noqa: B007 — read after the loop: the presses it took
        page.keyboard.press("Tab")
        if following.evaluate("b => b === document.activeElement"):
            break
    expect(following).to_be_focused()
    assert presses <= 3  # it came after the map and its 92 shapes: 91 presses
    for key, number in (("Enter", 2), ("PageDown", 3), ("PageUp", 2)):
        _press_until(page, key, re.compile(f"scene={re.escape(scenes[number - 1])}"))
        expect(page.locator(".rx-bar")).to_contain_text(f"Scène {number} / {len(scenes)}")
        settle(page, quiet_ms=600)
    no_error(page)


def test_a_trouver_search_is_run_with_the_keyboard_alone(page, referential):
    """From the top of Trouver: Tab to the address, type it, Entrée; the nearest partner (by haversine
    on the demo file, not the app's distance) comes first; the skip link then leads to the results."""

    with ServedApp({"RESEAUX_GEOCODER_URL": "http://127.0.0.1:9"}) as app:  # offline: the town hall
        page.goto(app.url + "/trouver")
        settle(page)
        address = page.get_by_label("Adresse du patient ou du lieu de départ")
        expect(address).to_be_visible(timeout=60_000)
        settle(page, quiet_ms=1000)
        skip = page.locator("[data-testid='stSkipToContent']")  # « aller au contenu principal »
        for _ in range(3):
            page.keyboard.press("Tab")
            if skip.evaluate("e => e === document.activeElement"):
                break
        expect(skip).to_be_focused()
        page.keyboard.press("Enter")  # past the sidebar
        seen = []
        for _ in range(6):
            page.keyboard.press("Tab")
            if address.evaluate("e => e === document.activeElement"):
                break
            seen.append(page.evaluate("() => document.activeElement.outerHTML.slice(0, 80)"))
        assert address.evaluate("e => e === document.activeElement"), f"address not reached by Tab: {seen}"
        page.keyboard.type("76140 Le Petit-Quevilly")
        page.keyboard.press("Enter")
        lat, lon = point_in_url(page)
        settle(page)
        nearest = by_distance(referential, lat, lon, "")[0][1]
        expect(result_line(page, 1, nearest)).to_be_visible(timeout=90_000)
        link = page.get_by_role("link", name="Aller aux résultats")
        for _ in range(12):
            page.keyboard.press("Shift+Tab")
            if link.evaluate("e => e === document.activeElement"):
                break
        expect(link).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("#resultats")).to_be_focused()
        no_error(page)
