"""The presenter's journey in headless Chromium: choose a scene, present it full screen at the
sizes of a webinar, move with ← →, leave with Échap, export the map (HTML opened from disk with
the network cut, PNG, CSV, Excel) and embed it. And a visitor, who presents and exports but
changes no file.

Everything runs against copies of the demo directory and scenes (RESEAUX_ACTORS, RESEAUX_SCENES).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import statistics
import time

import pandas as pd
import pytest
from playwright.sync_api import expect

from reseaux.acces.access import can
from reseaux.analyse.filters import ActorFilter
from reseaux.app_data import load_actors, load_territory, visible_view
from reseaux.carte.scenes import SceneStore
from reseaux.ui import filtered
from tests.browser import no_error, settle, sign_in
from tests.conftest import ROOT, SCREENSHOTS, ServedApp, evaluate_in_map, map_still, wait_in_map

pytestmark = pytest.mark.browser

MAP = "iframe[title='streamlit_folium.st_folium']"
#: Markers on the map, run inside its frame: single pins plus the numbers in the clusters.
COUNT_JS = """() => document.querySelectorAll('.rx-pin').length +
    [...document.querySelectorAll('.rx-cluster span')].reduce((s, e) => s + (+e.textContent.replace(/\u202f/g, "")), 0)"""
#: The markers on the map are all new (none left from before the key press) and there are n of them.
SWAPPED_JS = (
    """(n) => { const all = document.querySelectorAll('.rx-pin, .rx-cluster'); if (!all.length) return false;
  for (const e of all) if (e.dataset.old) return false;
  return (%s)() === n; }"""
    % COUNT_JS
)
MARK_OLD_JS = "() => { document.querySelectorAll('.rx-pin, .rx-cluster').forEach(e => { e.dataset.old = '1'; }); }"
#: Where everything of the stage is, in the page's coordinates. The legend and the attribution
#: are inside the map's frame (its own origin: asked of the frame, then moved by its position).
BOX_JS = """const box = e => { if (!e) return null; const r = e.getBoundingClientRect();
                     return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height}; };"""
STAGE_BOXES_JS = """() => { %s
  const button = t => box([...document.querySelectorAll('button')].find(b => b.innerText.includes(t)));
  const main = document.querySelector('[data-testid=stMain]');
  return {width: innerWidth, height: innerHeight, scroll: [document.scrollingElement.scrollHeight,
          main.scrollHeight, main.clientHeight],
          boxes: {title: box(document.querySelector('.rx-stage h1')), subtitle: box(document.querySelector('.rx-stage p')),
                  map: box(document.querySelector("%s")), previous: button('Précédente'),
                  bar: box(document.querySelector('.rx-bar')), next: button('Suivante'),
                  quit: button('Quitter le plein écran')}}; }""" % (BOX_JS, MAP)
IN_MAP_BOXES_JS = (
    """() => { %s
  return {legend: box(document.querySelector('.rx-legend')),
          attribution: box(document.querySelector('.leaflet-control-attribution')),
          scale: box(document.querySelector('.leaflet-control-scale'))}; }"""
    % BOX_JS
)


def stage_boxes(page) -> dict:
    """:data:`STAGE_BOXES_JS` with the boxes inside the map moved into the page's coordinates."""
    found = page.evaluate(STAGE_BOXES_JS)
    frame = found["boxes"]["map"]
    for name, b in evaluate_in_map(page, IN_MAP_BOXES_JS).items():
        found["boxes"][name] = b and {
            "top": b["top"] + frame["top"],
            "bottom": b["bottom"] + frame["top"],
            "left": b["left"] + frame["left"],
            "right": b["right"] + frame["left"],
            "height": b["height"],
        }
    return found


TIMINGS = SCREENSHOTS / "presentation_timings.json"


@pytest.fixture()
def data(tmp_path):
    """Copies of the demo directory and scenes the app is pointed at."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("actors.csv", "scenes.json"):
        shutil.copy(ROOT / "data" / name, folder / name)
    return folder


@pytest.fixture()
def served(data, accounts_file):
    env = {"RESEAUX_ACTORS": str(data / "actors.csv"), "RESEAUX_SCENES": str(data / "scenes.json")}
    with ServedApp(env) as app:
        yield app


@pytest.fixture(scope="module")
def territory():
    return load_territory()


def expected(referential, territory, data, scene_id: str, role: str) -> int:
    """How many actors the scene shows to ``role``, by the app's own filter functions."""
    full = load_actors(data / "actors.csv", referential)
    acts = full if can(role, "voir_toutes_les_fiches") else visible_view(full, role, "public")
    scene = next(s for s in SceneStore(data / "scenes.json").load() if s.id == scene_id)
    return len(filtered(referential, territory, acts, ActorFilter.from_query(scene.filters, referential)).actors)


def wait_markers(page, n: int, timeout: float = 60_000) -> None:
    wait_in_map(page, f"(n) => ({COUNT_JS})() === n", n, timeout=timeout)


def choose_scene(page, label: str) -> None:
    page.get_by_label("Scènes enregistrées").click()
    page.get_by_role("option", name=label).click()


def assert_fits(page, width: int, height: int, name: str) -> None:
    """Title, subtitle, scene bar, map with legend, attribution and scale: all inside the window."""
    page.set_viewport_size({"width": width, "height": height})
    # The page lays out again and the map follows its frame: wait for the window's new size,
    # then for a map that has stopped moving at the size of its frame.
    page.wait_for_function("([w, h]) => innerWidth === w && innerHeight === h", arg=[width, height], timeout=30_000)
    settle(page)
    map_still(page)
    found = stage_boxes(page)
    page.screenshot(path=str(SCREENSHOTS / f"presentation_{name}_{width}x{height}.png"))
    for what, box in found["boxes"].items():
        assert box is not None and box["height"] > 0, what
        assert box["top"] >= 0 and box["bottom"] <= height + 0.5, (what, box, height)
        assert box["left"] >= 0 and box["right"] <= width + 0.5, (what, box, width)
    assert found["boxes"]["map"]["height"] > 0.6 * height  # the map is most of the screen
    assert found["boxes"]["previous"]["bottom"] <= found["boxes"]["map"]["top"]  # the bar above: Tab reaches it first
    page_height, main_height, main_visible = found["scroll"]
    assert page_height <= height and main_height <= main_visible + 1  # nothing to scroll to


def press(page, key: str, n: int, url_part: str) -> float:
    """Press ``key`` and return the seconds until the new scene's n markers are drawn.

    As a presenter does, once the page has finished drawing (a key pressed while Streamlit is
    still running the page can be lost by its shortcut handler)."""
    page.wait_for_function("() => !document.querySelector(\"[data-testid='stStatusWidget']\")", timeout=60_000)
    settle(page)
    evaluate_in_map(page, MARK_OLD_JS)
    start = time.monotonic()
    page.keyboard.press(key)
    wait_in_map(page, SWAPPED_JS, n, timeout=30_000)
    elapsed = time.monotonic() - start
    page.wait_for_url(re.compile(re.escape(url_part)), timeout=60_000)
    return elapsed


def download(page, label: str, folder, name: str):
    with page.expect_download(timeout=120_000) as info:
        page.get_by_role("button", name=label).click()
    path = folder / name
    info.value.save_as(path)
    return path


def open_offline(browser, path, n: int) -> list[str]:
    """Open a saved HTML file with every network request aborted; return the URLs it asked for."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    asked = []

    def block(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            asked.append(route.request.url)
            route.abort()

    context.route("**/*", block)
    offline = context.new_page()
    try:
        offline.goto(path.as_uri())
        offline.wait_for_function(
            """(n) => document.querySelectorAll('.rx-pin').length +
            [...document.querySelectorAll('.rx-cluster span')].reduce((s, e) => s + (+e.textContent.replace(/\u202f/g, "")), 0) === n""",
            arg=n,
            timeout=30_000,
        )
        expect(offline.locator(".rx-legend")).to_have_text(re.compile(r"^Légende"))
        expect(offline.locator(".rx-title h1")).to_have_text("IVG : qui, où ?")
        offline.screenshot(path=str(SCREENSHOTS / "presentation_export_offline.png"))
    finally:
        context.close()
    return asked


def test_a_presenter_chooses_presents_exports_and_embeds_a_scene(
    page, browser, served, data, referential, territory, tmp_path
):
    SCREENSHOTS.mkdir(exist_ok=True)
    ivg = expected(referential, territory, data, "ivg", "coordinateur")
    outreach = expected(referential, territory, data, "aller-vers", "coordinateur")
    assert ivg != outreach
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(served.url + "/presentation")
    sign_in(page, "coord")

    # A saved scene: its filters in the sidebar, its actors on the map.
    choose_scene(page, "2. IVG : qui, où ?")
    wait_markers(page, ivg)
    assert "scene=ivg" in page.url
    no_error(page)

    # Full screen, at the sizes of a webinar.
    page.get_by_role("link", name="Présenter en plein écran").click()
    page.wait_for_url(re.compile(r"plein_ecran=1"), timeout=30_000)
    page.locator(".rx-stage h1").wait_for(timeout=60_000)
    wait_markers(page, ivg)
    expect(page.locator(".rx-stage h1")).to_have_text("IVG : qui, où ?")
    expect(page.locator(".rx-stage p")).to_have_text(f"{ivg} partenaires « IVG » et les quartiers prioritaires")
    assert page.locator("[data-testid=stSidebar]").is_hidden()
    for width, height in ((1366, 768), (1920, 1080), (1440, 900)):
        assert_fits(page, width, height, "ivg")
    no_error(page)

    # ← → move between scenes in the same map; the address follows.
    evaluate_in_map(page, "() => { document.body.dataset.rxSame = 'oui'; }")
    timings = [
        press(page, "ArrowRight", outreach, "scene=aller-vers"),
        press(page, "ArrowLeft", ivg, "scene=ivg"),
        press(page, "ArrowRight", outreach, "scene=aller-vers"),
        press(page, "ArrowLeft", ivg, "scene=ivg"),
        press(page, "ArrowRight", outreach, "scene=aller-vers"),
    ]
    # The title, then the scene bar, are redrawn in that order: wait for both to show the scene.
    expect(page.locator(".rx-stage h1")).to_have_text("Aller-vers et box de protections périodiques")
    expect(page.locator(".rx-bar")).to_have_text(f"Scène 3 / 4 · {outreach} acteurs", timeout=60_000)
    assert evaluate_in_map(page, "() => document.body.dataset.rxSame") == "oui"  # not rebuilt
    TIMINGS.write_text(
        json.dumps({"seconds": [round(t, 3) for t in timings], "median": round(statistics.median(timings), 3)}),
        encoding="utf-8",
    )
    assert statistics.median(timings) < 5  # generous: the target (< 1 s) is measured, reported in docs/mesures.md
    # The keys still work with the focus in the map (a presenter clicks on it).
    page.frame_locator(MAP).locator(".leaflet-container").click(position={"x": 30, "y": 30})
    press(page, "ArrowLeft", ivg, "scene=ivg")
    assert_fits(page, 1440, 900, "ivg_after_keys")
    no_error(page)

    # Échap: back to the editor, on the same scene.
    page.keyboard.press("Escape")
    page.get_by_role("heading", name="Présentation et exports").wait_for(timeout=30_000)
    assert "plein_ecran" not in page.url and "scene=ivg" in page.url
    expect(page.get_by_label("Scènes enregistrées")).to_have_value("2. IVG : qui, où ?")
    wait_markers(page, ivg)
    no_error(page)

    # The standalone map, opened from disk with the network cut.
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.get_by_role("button", name="Préparer la carte autonome (.html)").click()
    page.get_by_role("button", name="Télécharger la carte (.html)").wait_for(timeout=60_000)
    no_error(page)
    saved = download(page, "Télécharger la carte (.html)", tmp_path, "carte.html")
    asked = open_offline(browser, saved, ivg)
    assert all("tile" in u or "basemaps" in u or "geopf" in u for u in asked), asked

    # The image, then the tables: every export still there after the HTML one.
    page.get_by_role("button", name="Préparer l'image (.png)").click()
    page.get_by_role("button", name="Télécharger l'image (.png)").wait_for(timeout=120_000)
    no_error(page)
    from PIL import Image

    image = Image.open(download(page, "Télécharger l'image (.png)", tmp_path, "carte.png"))
    assert image.format == "PNG" and image.size == (1600, 1000)
    table = pd.read_csv(
        download(page, "Acteurs (CSV)", tmp_path, "acteurs.csv"), sep=";", encoding="utf-8-sig", dtype=str
    )
    # For people, as the map's list: French headers, labels not codes, dates as people write them.
    assert len(table) == ivg and all("IVG" in t.split(", ") for t in table["Thématiques"])
    assert {"Nom", "Code postal", "Mise à jour"} <= set(table.columns) and "thematiques" not in table.columns
    assert not table["Mise à jour"].dropna().str.match(r"\d{4}-\d\d-\d\d").any()
    assert table["Mise à jour"].dropna().str.match(r"\d{1,2}(er)? [a-zéû]+ \d{4}$").all()
    workbook = pd.read_excel(download(page, "Acteurs (Excel)", tmp_path, "acteurs.xlsx"), dtype=str)
    assert len(workbook) == ivg and list(workbook.columns) == list(table.columns)
    geojson = json.loads(download(page, "Acteurs (GeoJSON)", tmp_path, "acteurs.geojson").read_text(encoding="utf-8"))
    assert len(geojson["features"]) == ivg
    perimeters = pd.read_csv(
        download(page, "Périmètres (CSV)", tmp_path, "perimetres.csv"), sep=";", encoding="utf-8-sig", dtype=str
    )
    assert len(perimeters) == 16 + 71  # the scene's QPV and communes
    assert list(perimeters.columns) == ["Couche", "Code", "Nom", "Population"]
    no_error(page)

    # The embed code, copied with the code block's button, opens the scene full screen, no sidebar.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.url)
    code = page.locator("[data-testid=stCode]").last
    code.hover()
    code.locator("button").last.click()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == code.inner_text().strip() and copied.startswith("<iframe src=")
    url = html.unescape(re.search(r'src="([^"]+)"', copied).group(1))  # « &amp; » in HTML is « & »
    assert "scene=ivg" in url and "embed=true" in url and "plein_ecran=1" in url
    visitor = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        embedded = visitor.new_page()
        embedded.goto(url)
        embedded.locator(".rx-stage h1").wait_for(timeout=60_000)
        wait_markers(embedded, expected(referential, territory, data, "ivg", "visiteur"))
        assert (
            embedded.locator("[data-testid=stSidebar]").count() == 0
            or embedded.locator("[data-testid=stSidebar]").is_hidden()
        )
        expect(embedded.get_by_role("button", name="Quitter le plein écran")).to_have_count(0)  # a partner's site
        embedded.screenshot(path=str(SCREENSHOTS / "presentation_embedded.png"))
        no_error(embedded)
    finally:
        visitor.close()


def digests(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_visitor_presents_and_exports_but_changes_no_file(page, served, data, referential, territory, tmp_path):
    before, repo_before = digests(data), digests(ROOT / "data")
    outreach = expected(referential, territory, data, "aller-vers", "visiteur")
    cpts = expected(referential, territory, data, "cpts", "visiteur")
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(served.url + "/presentation")
    page.get_by_text("seule la coordination").wait_for(timeout=60_000)
    # every scene can be presented (waited for: the list is drawn after the sentence) …
    expect(page.get_by_role("link", name="Présenter", exact=True)).to_have_count(4)
    # … and, the list drawn, none can be changed
    for label in ("↑", "↓", "✕", "Ajouter la scène"):
        assert page.get_by_role("button", name=label, exact=True).count() == 0, label
    expect(page.get_by_label("Titre (grand, lisible à l'écran)")).to_have_count(0)

    choose_scene(page, "3. Aller-vers et box de protections périodiques")
    wait_markers(page, outreach)
    page.get_by_role("link", name="Présenter en plein écran").click()
    page.locator(".rx-stage h1").wait_for(timeout=60_000)
    wait_markers(page, outreach)
    press(page, "ArrowRight", cpts, "scene=cpts")
    expect(page.locator(".rx-stage p")).to_have_text(f"Où sont les {cpts} partenaires dans chaque CPTS ?")
    page.keyboard.press("Escape")
    page.get_by_role("heading", name="Présentation et exports").wait_for(timeout=30_000)
    wait_markers(page, cpts)

    page.get_by_role("button", name="Préparer la carte autonome (.html)").click()
    saved = download(page, "Télécharger la carte (.html)", tmp_path, "carte.html")
    assert saved.stat().st_size > 100_000
    table = pd.read_csv(
        download(page, "Acteurs (CSV)", tmp_path, "acteurs.csv"), sep=";", encoding="utf-8-sig", dtype=str
    )
    assert len(table) == cpts < 185
    no_error(page)
    assert digests(data) == before and digests(ROOT / "data") == repo_before
