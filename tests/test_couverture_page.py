"""« Couverture » page: AppTest of the summary and table, browser test of the choropleth."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from reseaux.analyse.coverage import PreparedLayer, actor_points, coverage_table
from reseaux.analyse.filters import ActorFilter, apply_filter
from reseaux.app_data import load_territory
from tests.conftest import SCREENSHOTS, ServedApp, map_frame, map_still, open_page, visible_demo, wait_in_map


def gaps(referential, layer_id, flt, distance=1000):
    actors = apply_filter(visible_demo(referential), flt, referential).actors  # as a visitor sees them
    layer = PreparedLayer.build(load_territory().layers[layer_id])
    return int(coverage_table(layer, actor_points(actors), distance_m=distance)["gap"].sum())


def page(**query):
    return open_page("couverture", **query)


def test_summary_sentence_and_table(referential):
    at = page(couche="qpv", theme="transidentite", distance="500")
    assert not at.exception
    n = gaps(referential, "qpv", ActorFilter(themes=("transidentite",)), 500)
    message = (at.error or at.success)[0].value
    assert message == f"QPV 2024 : {n} sur 16 n'ont aucun acteur de thématique « Transidentité » à moins de 500 m."
    table = at.dataframe[0].value
    assert len(table) == 16 and (table["Manque"] == "oui").sum() == n
    assert table["Acteurs à moins de 500 m (dedans compris)"].dtype.kind in "iu"  # numbers stay numbers
    assert at.get("download_button")


def test_theme_and_profession_are_both_required(referential):
    at = page(couche="qpv", theme="ivg", profession="sage_femme")
    assert not at.exception
    n = gaps(referential, "qpv", ActorFilter(themes=("ivg",), professions=("sage_femme",)))
    assert (
        (at.error or at.success)[0].value
        == f"QPV 2024 : {n} sur 16 n'ont aucun acteur de thématique « IVG » et de profession « Sage-femme » à moins de 1 km."
    )
    assert " ou " not in (at.error or at.success)[0].value
    captions = " ".join(c.value for c in at.caption)
    assert "d'acteurs de profession « Sage-femme » à moins de 1 km" in captions  # what the heat map counts


def test_switching_layer(referential):
    at = page(couche="qpv")
    at.selectbox(key="cv_layer").set_value("cpts").run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 5
    assert "Périmètres d'exemple" in " ".join(c.value for c in at.caption)


def test_every_run_sends_the_link_s_choices_to_the_browser():
    at = page(couche="cpts", theme="ivg", distance="500")
    at.run()  # a later run: the link is no longer read, the values are the session's
    assert not at.exception
    layer, themes = at.selectbox(key="cv_layer"), at.multiselect(key="cv_themes")
    assert layer.proto.set_value and layer.value == "cpts"
    assert themes.proto.set_value and themes.value == ["ivg"]
    assert at.select_slider(key="cv_distance").proto.set_value and at.select_slider(key="cv_distance").value == 500


@pytest.mark.browser
def test_switching_theme_changes_the_choropleth(page_browser, referential):
    SCREENSHOTS.mkdir(exist_ok=True)
    all_gaps = gaps(referential, "qpv", ActorFilter())
    trans_gaps = gaps(referential, "qpv", ActorFilter(themes=("transidentite",)))
    assert trans_gaps > all_gaps  # the fixture makes the change visible
    with ServedApp() as app:
        page_browser.goto(app.url + "/couverture?couche=qpv")
        frame = map_frame(page_browser)
        frame.locator("path.leaflet-interactive").first.wait_for(timeout=60_000)
        expect(frame.locator("path.leaflet-interactive")).to_have_count(16)
        expect(frame.locator('path.leaflet-interactive[fill="#ffffff"]')).to_have_count(all_gaps)
        page_browser.get_by_role("combobox", name="Thématiques").click()
        page_browser.get_by_role("option", name="Transidentité").click()
        page_browser.keyboard.press("Escape")
        wait_in_map(
            page_browser,
            """(n) => document.querySelectorAll('path.leaflet-interactive[fill="#ffffff"]').length === n""",
            trans_gaps,
            timeout=30_000,
        )
        map_still(page_browser)
        page_browser.screenshot(path=str(SCREENSHOTS / "couverture.png"), full_page=True)
