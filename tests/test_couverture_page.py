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


def test_a_coverage_is_measured_once_for_all_who_see_the_same_directory(monkeypatch, referential, accounts_file):
    """The table and matrix of one question are measured once per process and directory as a role
    sees it: a change of the measure shown, another visitor opening the same link, answer from
    them; a member's question is measured again, and each reads her own truth."""
    from reseaux.ui import couverture
    from tests.conftest import sign_in

    layer = PreparedLayer.build(load_territory().layers["qpv"])

    def gap_count(role: str, theme: str) -> int:
        actors = apply_filter(visible_demo(referential, role), ActorFilter(themes=(theme,)), referential).actors
        return int(coverage_table(layer, actor_points(actors), distance_m=1000)["gap"].sum())

    # a theme whose gaps differ between the public fiches and all of them (its members-only fiches count)
    theme = next(t for t in referential.labels("thematique") if gap_count("visiteur", t) != gap_count("membre", t))
    measured = []
    real_table, real_matrix = couverture.coverage_table, couverture.theme_matrix
    monkeypatch.setattr(couverture, "coverage_table", lambda *a, **k: measured.append("table") or real_table(*a, **k))
    monkeypatch.setattr(couverture, "theme_matrix", lambda *a, **k: measured.append("matrix") or real_matrix(*a, **k))
    couverture._computed.clear()  # measured by this test, not by one before it

    def sentence(at) -> str:
        assert not at.exception
        return (at.error or at.success)[0].value

    def says(n: int) -> str:
        return f"QPV 2024 : {n} sur 16 n'{'a' if n < 2 else 'ont'} aucun acteur"

    first = page(couche="qpv", theme=theme)
    assert sentence(first).startswith(says(gap_count("visiteur", theme)))
    assert measured == ["table", "matrix"]
    first.radio(key="cv_measure").set_value("per_10k").run()
    assert sentence(first).startswith(says(gap_count("visiteur", theme)))
    second = page(couche="qpv", theme=theme)  # another visitor, the same link
    assert sentence(second).startswith(says(gap_count("visiteur", theme)))
    assert measured == ["table", "matrix"]  # neither measured again
    member = page(couche="qpv", theme=theme)
    sign_in(member, "membre")
    assert sentence(member).startswith(says(gap_count("membre", theme)))
    assert measured == ["table", "matrix", "table", "matrix"]  # her view is measured for her
    second.run()
    assert sentence(second).startswith(says(gap_count("visiteur", theme)))  # the visitor's, still
