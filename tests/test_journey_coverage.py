"""Browser journey: the coordinator shows where the network has gaps (« Couverture »).

As a visitor, then as a signed-in coordinator: choose the layer, a theme and a profession, set the
distance, read the sentence (its numbers are computed here with reseaux.analyse.coverage on the actors
that role sees), download the CSV and read it back, find every heat-map row label.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import expect

from reseaux.analyse.coverage import PreparedLayer, actor_points, coverage_table
from reseaux.analyse.coverage_report import filter_phrase, summary_sentence
from reseaux.analyse.filters import ActorFilter, apply_filter
from reseaux.app_data import load_territory
from reseaux.text import fr_distance
from tests.browser import no_error, settle, sign_in
from tests.conftest import SCREENSHOTS, ServedApp, map_frame, visible_demo

pytestmark = pytest.mark.browser

CHOSEN = ActorFilter(themes=("ivg",), professions=("sage_femme",))
DISTANCE = 500


def expected(referential, role: str, layer_id: str = "qpv") -> tuple[str, pd.DataFrame]:
    """The sentence and table the page must show, computed apart from the page."""
    actors = visible_demo(referential, role)
    assert len(actors) == (118 if role == "visiteur" else 185)
    chosen = apply_filter(actors, CHOSEN, referential).actors
    table = coverage_table(
        PreparedLayer.build(load_territory().layers[layer_id]), actor_points(chosen), distance_m=DISTANCE
    )
    return summary_sentence(table, "QPV 2024", filter_phrase(referential, CHOSEN), DISTANCE), table


def pick(page, box: str, option: str) -> None:
    page.get_by_role("combobox", name=box).click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")
    settle(page)
    no_error(page)


def heat_map_labels(page) -> set[str]:
    chart = page.get_by_test_id("stVegaLiteChart").last
    chart.locator("svg text").first.wait_for(timeout=60_000)
    return {t.strip() for t in chart.locator("svg text").evaluate_all("els => els.map(e => e.textContent)")}


def journey(page, referential, role: str) -> None:
    sentence, table = expected(referential, role)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Couverture").click()
    map_frame(page).locator("path.leaflet-interactive").first.wait_for(timeout=90_000)
    settle(page)
    no_error(page)

    # A layer of few perimeters first: every heat-map row is labelled, whole.
    pick(page, "Périmètres", "Dispositifs de santé — Contrats locaux de santé (CLS)")
    cls = load_territory().layers["cls"]
    labels = heat_map_labels(page)
    assert set(cls["nom"]) <= labels, set(cls["nom"]) - labels
    page.screenshot(path=str(SCREENSHOTS / f"couverture-cls-{role}.png"))

    pick(page, "Périmètres", "Politique de la ville — QPV 2024 (Métropole)")
    pick(page, "Thématiques", "IVG")
    pick(page, "Professions", "Sage-femme")
    slider = page.get_by_role("slider", name=re.compile("Distance au bord"))
    expect(slider).to_have_attribute("aria-valuetext", fr_distance(1000))
    for metres in range(900, DISTANCE - 1, -100):  # 1 km → 500 m, 100 m a step
        # One key, then its run: the address carries the new distance and the page is idle. A key
        # pressed while a run draws the page can be lost, as a person's is, who then presses again.
        slider.focus()
        page.keyboard.press("ArrowLeft")
        page.wait_for_url(re.compile(rf"distance={metres}(&|$)"), timeout=60_000)
        expect(slider).to_have_attribute("aria-valuetext", fr_distance(metres))
        settle(page)
    no_error(page)

    alert = page.get_by_test_id("stMain").get_by_test_id("stAlert").first
    expect(alert).to_contain_text(f"à moins de {DISTANCE} m", timeout=60_000)
    assert alert.inner_text().strip() == sentence
    gaps = int(re.search(r"QPV 2024 : (\d+) sur (\d+)", sentence).group(1))
    assert gaps == int(table["gap"].sum()) and " ou " not in sentence
    white = map_frame(page).locator('path.leaflet-interactive[fill="#ffffff"]')
    expect(white).to_have_count(gaps, timeout=30_000)  # the map draws the same gaps

    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Télécharger (CSV pour Excel)").click()
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    csv = pd.read_csv(io.StringIO(text), sep=";", dtype=str, keep_default_na=False)
    assert not csv.isin(["None", "nan", "NaN", "<NA>"]).any().any()
    assert len(csv) == 16
    within = csv[f"Acteurs à moins de {DISTANCE} m (dedans compris)"]
    assert within.str.fullmatch(r"\d+").all()  # integers written as integers
    assert within.astype(int).tolist() == table["n_within"].tolist()
    distance = csv["Distance à l'acteur le plus proche (m)"]
    assert distance.str.fullmatch(r"\d*").all()
    assert (csv["Manque"] == "oui").sum() == gaps

    names = set(load_territory().layers["qpv"]["nom"])
    labels = heat_map_labels(page)
    assert names <= labels, names - labels  # every row labelled, none cut short
    page.get_by_test_id("stMain").evaluate("(main) => main.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"couverture-{role}.png"))
    settle(page)
    no_error(page)


def test_visitor_and_coordinator_find_the_gaps(browser, referential, accounts_file):
    SCREENSHOTS.mkdir(exist_ok=True)
    with ServedApp() as app:
        for role in ("visiteur", "coordinateur"):
            context = browser.new_context(
                viewport={"width": 1440, "height": 900}, locale="fr-FR", accept_downloads=True
            )
            page = context.new_page()
            try:
                page.goto(app.url + "/")
                settle(page)
                if role == "coordinateur":
                    sign_in(page, "coord")
                journey(page, referential, role)
            finally:
                context.close()


#: Installed before choosing another layer: marks the map and tables shown, then notes whether the
#: new sentence ever stood above one of them, and whether a busy sign was seen.
WATCH_SWITCH = """(name) => {
  document.querySelectorAll("iframe, [data-testid='stDataFrame']").forEach(e => e.dataset.rxOld = "1");
  window.rxSwitch = {stale: false, busy: false};
  const look = () => {
    const text = document.querySelector("[data-testid='stMain']").innerText;
    if (text.includes("Calcul et dessin de la couverture")) window.rxSwitch.busy = true;
    if (text.includes(name + " :") && document.querySelector("[data-rx-old]")) window.rxSwitch.stale = true;
  };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_another_layer_clears_the_old_result_and_draws_2644_communes_readably(browser, referential):
    """Choosing « Communes de Normandie » after the QPV: a busy sign, the QPV map and table gone
    before the new sentence, then 2,644 shapes drawn with thin solid edges (not a black mass of
    dashed outlines), as many white gaps as communes with no public actor within 1 km — counted
    here with geopandas distances in Lambert-93."""
    import geopandas as gpd

    from tests.conftest import ROOT, wait_in_map

    actors = visible_demo(referential)
    placed = actors.dropna(subset=["latitude", "longitude"])
    points = gpd.GeoSeries(gpd.points_from_xy(placed["longitude"], placed["latitude"]), crs=4326).to_crs(2154)
    communes = gpd.read_file(ROOT / "geo" / "communes_normandie.geojson").to_crs(2154)
    gaps = int(communes.geometry.apply(lambda shape: points.distance(shape).min() > 1000).sum())
    assert 2000 < gaps < len(communes)
    with ServedApp() as app:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR")
        page = context.new_page()
        try:
            page.goto(app.url + "/couverture?distance=1000")
            map_frame(page).locator("path.leaflet-interactive").first.wait_for(timeout=90_000)
            settle(page)
            page.evaluate(WATCH_SWITCH, "Communes de Normandie")
            page.get_by_role("combobox", name="Périmètres").click()
            page.get_by_role("option", name="Territoires — Communes de Normandie", exact=True).click()
            expect(page.get_by_text("Communes de Normandie :", exact=False)).to_be_visible(timeout=120_000)
            drawn = wait_in_map(
                page,
                """() => { const s = window.rxCoverageShapes;
                const body = document.querySelector('.rx-cov-body');
                if (!s || !body || !body.innerHTML || s.getLayers().length !== 2644) return null;
                const styles = s.getLayers().map(l => l.options);
                return {white: styles.filter(o => o.fillColor === '#ffffff').length,
                        heaviest: Math.max(...styles.map(o => o.weight)),
                        dashed: styles.filter(o => o.dashArray).length}; }""",
                timeout=120_000,
            )
            settle(page)
            switch = page.evaluate("() => window.rxSwitch")
            assert switch["busy"], "no busy sign while the communes were computed and drawn"
            assert not switch["stale"], "the QPV's map or table stood under the communes' sentence"
            assert drawn["white"] == gaps
            assert drawn["heaviest"] <= 1 and drawn["dashed"] == 0, drawn
            page.screenshot(path=str(SCREENSHOTS / "couverture-communes.png"))
            no_error(page)
        finally:
            context.close()
