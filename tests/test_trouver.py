"""« Trouver un partenaire »: AppTest with the point from a link or a (simulated) map click,
and a browser journey typing an address into a real local geocoder."""

from __future__ import annotations

import pytest

from reseaux.filters import ActorFilter, apply_filter
from reseaux.proximity import ProximityIndex, nearest
from reseaux.text import md_escape
from tests.addok_server import AddokServer, documents, finess_addresses
from tests.conftest import SCREENSHOTS, ServedApp, map_frame, open_page, visible_demo

ROUEN = (49.4431, 1.0993)


def page(**query):
    return open_page("trouver", **query)


def expected(referential, lat, lon, flt, k=10, radius_m=10_000):
    actors = visible_demo(referential)  # AppTest runs as a visitor
    index = ProximityIndex.build(actors)
    mask = apply_filter(index.frame, flt, referential).mask.to_numpy()
    return nearest(index, lat, lon, mask=mask, k=k, radius_m=radius_m)


def headings(at):
    return [m.value for m in at.markdown if m.value.startswith("**") and ". " in m.value[:8]]


def test_a_link_reproduces_the_search(monkeypatch, referential):
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", "http://127.0.0.1:9")
    at = page(lat=str(ROUEN[0]), lon=str(ROUEN[1]), theme="ivg", profession="sage_femme", k="3", rayon="5")
    assert not at.exception
    want = expected(referential, *ROUEN, ActorFilter(themes=("ivg",), professions=("sage_femme",)), k=3, radius_m=5000)
    got = headings(at)
    assert len(got) == len(want) == 3
    for number, (line, row) in enumerate(zip(got, want.itertuples(), strict=True), start=1):
        shown = f"{row.distance_m} m" if row.distance_m < 1000 else f"{row.distance_m / 1000:.1f} km".replace(".", ",")
        assert line.startswith(f"**{number}. {md_escape(row.nom)}**") and line.endswith(f"**{shown}**")
    assert any(i.value.startswith("Ce point est dans ") for i in at.info)


def test_a_map_click_sets_the_starting_point(monkeypatch, referential):
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", "http://127.0.0.1:9")
    at = page()
    assert any("Choisissez un point de départ" in i.value for i in at.info)
    # What the map's click handler stores (st_folium's last_clicked is not rendered by AppTest).
    at.session_state["tp_point"] = (49.4016, 1.0590, "point choisi sur la carte")
    at.run()
    assert headings(at)[0].startswith("**1. ")
    assert at.query_params["lat"] == "49.401600"


def test_nothing_matches_says_which_filter_and_offers_the_rest(monkeypatch):
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", "http://127.0.0.1:9")
    # The demo has no transidentité partner offering téléconsultation and LSF within 1 km of Rouen.
    at = page(lat=str(ROUEN[0]), lon=str(ROUEN[1]), theme="transidentite", modalite="teleconsultation",
              acces="lsf", rayon="1")
    assert any("Aucun partenaire ne correspond" in w.value for w in at.warning)
    assert any("Le filtre qui vide la liste" in m.value for m in at.markdown)


def test_outside_every_layer_warns(monkeypatch):
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", "http://127.0.0.1:9")
    at = page(lat="43.3", lon="5.4")  # Marseille
    assert any("en dehors de toutes les couches" in w.value for w in at.warning)


@pytest.mark.browser
def test_type_an_address_and_see_numbered_results(page_browser, tmp_path):
    SCREENSHOTS.mkdir(exist_ok=True)
    with AddokServer(tmp_path / "addok", documents(finess_addresses())) as addok, \
            ServedApp({"RESEAUX_GEOCODER_URL": addok.url}) as app:
        page_browser.goto(app.url + "/trouver?theme=ivg&k=5")
        box = page_browser.get_by_label("Adresse du patient ou du lieu de départ")
        box.wait_for(timeout=60_000)
        box.fill("1 rue de Germont Rouen")
        box.press("Enter")
        page_browser.get_by_text("Départ : 1 Rue De Germont").wait_for(timeout=30_000)
        page_browser.get_by_text("5 partenaire(s) le(s) plus proche(s)").wait_for(timeout=30_000)
        frame = map_frame(page_browser)
        frame.locator(".rx-num").first.wait_for(timeout=30_000)
        assert frame.locator(".rx-num").all_inner_texts() == ["1", "2", "3", "4", "5"]
        assert "lat=49.44" in page_browser.url and "adresse=" in page_browser.url
        page_browser.wait_for_timeout(800)
        page_browser.screenshot(path=str(SCREENSHOTS / "trouver.png"), full_page=True)
