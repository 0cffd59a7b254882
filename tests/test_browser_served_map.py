"""The map of a directory too large to carry, in Chromium: with RESEAUX_MAP_SERVER_ABOVE set below
the demo's count, the page carries no position (tests/test_viewport_index.py reads the payload); the clusters come from the server's route as the
map opens and at each zoom, and a pin drawn from them opens its fiche as on any map."""

from __future__ import annotations

import csv
import re

import pytest
from playwright.sync_api import expect

from reseaux.acces.access import visible_actors
from reseaux.app_data import load_actors
from tests.browser import choose, data_folder
from tests.conftest import ROOT, ServedApp, evaluate_in_map, map_frame, wait_in_map

#: Whether the markers drawn in the map stand for ``n`` actors (each pin one, each cluster its count).
DRAWN = """(n) => { const f = document.querySelector("iframe[title='streamlit_folium.st_folium']");
  const d = f && f.contentDocument; if (!d) return false;
  return d.querySelectorAll('.rx-pin').length + [...d.querySelectorAll('.rx-cluster span')]
    .reduce((s, e) => s + (+e.textContent.replace(/\\u202f/g, "")), 0) === n; }"""


def _groups(response) -> bool:
    return "/groupes?" in response.url


@pytest.mark.browser
def test_the_map_asks_the_server_for_what_is_in_view_and_opens_a_fiche(page, tmp_path, referential):
    _, env = data_folder(tmp_path)
    demo = load_actors(ROOT / "data" / "actors.csv", referential)
    public = visible_actors(demo.directory.actors, "visiteur", "public")
    placed = int((public["latitude"].notna() & public["longitude"].notna()).sum())
    assert placed > 50
    with ServedApp({**env, "RESEAUX_MAP_SERVER_ABOVE": "50"}) as app:
        with page.expect_response(_groups, timeout=90_000) as opening:
            page.goto(app.url)
        assert opening.value.ok
        frame = map_frame(page)
        expect(frame.locator(".rx-cluster").first).to_be_visible(timeout=60_000)
        assert re.search(r"/_reseaux/carte/[^/]+/groupes\?vue=\w+&bbox=[-0-9.,]+&zoom=\d+$", opening.value.url)
        # Every public actor placed is counted once in the opening view (the demo fits in it).
        page.wait_for_function(DRAWN, arg=placed, timeout=60_000)
        # Zoom in on a cluster until a pin stands alone, each zoom answered by the route.
        for _ in range(12):
            if frame.locator(".rx-pin").count():
                break
            with page.expect_response(_groups, timeout=60_000) as zoomed:
                frame.locator(".rx-cluster").first.dispatch_event("click")
            assert zoomed.value.ok
            page.wait_for_load_state()
        pin = frame.locator(".rx-pin").first
        expect(pin).to_be_attached(timeout=30_000)
        pin.dispatch_event("click")
        fiche = frame.locator(".rx-fiche").last
        expect(fiche).to_be_visible()
        assert fiche.locator(".rx-fiche-title").inner_text() in set(public["nom"])


@pytest.mark.browser
def test_a_filter_that_keeps_fewer_than_the_threshold_still_draws_from_the_server(page, tmp_path):
    """The choice is the directory's, not the filter's: a served directory stays served whatever a
    filter keeps (else a filter keeping 86,921 of a million sent their positions in the page)."""
    _, env = data_folder(tmp_path)
    with open(ROOT / "data" / "actors.csv", encoding="utf-8", newline="") as f:
        public = [r for r in csv.DictReader(f) if r["visibilite"] == "public" and r["latitude"]]
    ivg = [r for r in public if "ivg" in r["thematiques"].split("|")]
    threshold = 50
    assert len(ivg) < threshold < len(public)  # the filter leaves fewer than the threshold
    with ServedApp({**env, "RESEAUX_MAP_SERVER_ABOVE": str(threshold)}) as app:
        with page.expect_response(_groups, timeout=90_000) as opening:
            page.goto(app.url)
        page.wait_for_function(DRAWN, arg=len(public), timeout=60_000)
        first_view = opening.value.url.split("vue=")[1].split("&")[0]
        with page.expect_response(lambda r: _groups(r) and f"vue={first_view}&" not in r.url, timeout=90_000) as asked:
            choose(page, "Thématiques", "IVG")
        assert asked.value.ok
        # Asked of the server (the page's own index never asks): each IVG actor counted once.
        page.wait_for_function(DRAWN, arg=len(ivg), timeout=60_000)


@pytest.mark.browser
def test_enter_on_a_served_cluster_zooms_in_and_keeps_the_focus_on_the_map(page, tmp_path):
    """With the keyboard alone, on a map served by views: Tab to a cluster, Entrée — the map zooms
    in, the server is asked the new view, and the focus goes to the marker nearest the cluster
    instead of being lost with it (the page's own index did so already)."""
    from tests.test_browser_keyboard import _active, _open, _tab_until, _to_search_box

    def _active_label(page) -> str:
        return (_active(page) or {}).get("label", "")

    _, env = data_folder(tmp_path)
    with ServedApp({**env, "RESEAUX_MAP_SERVER_ABOVE": "50"}) as app:
        with page.expect_response(_groups, timeout=90_000):
            _open(page, app.url)
        # The largest cluster: zooming in splits it, so the element that had the focus is gone.
        largest = evaluate_in_map(
            page,
            "() => Math.max(...[...document.querySelectorAll('.rx-cluster')].map("
            "(e) => +e.getAttribute('aria-label').split(' ')[0]))",
        )
        _to_search_box(page)
        _, group = _tab_until(page, lambda a: a["label"].startswith(f"{largest} acteurs regroupés"), most=60)
        assert group["label"].endswith("acteurs regroupés ici : Entrée pour zoomer")
        zoom = evaluate_in_map(page, "() => window.map.getZoom()")
        with page.expect_response(_groups, timeout=60_000) as zoomed:
            page.keyboard.press("Enter")
        assert zoomed.value.ok
        wait_in_map(page, "(z) => window.map.getZoom() > z", zoom)
        wait_in_map(page, "() => document.activeElement.matches('.rx-pin, .rx-cluster')")
        assert _active_label(page) != group["label"]  # another marker: the cluster was split
        near = evaluate_in_map(
            page,
            """(at) => { const m = window.map, p = m.latLngToContainerPoint(at);
              const r = document.activeElement.getBoundingClientRect(), c = m.getContainer().getBoundingClientRect();
              return Math.hypot(r.x + r.width / 2 - c.x - p.x, r.y + r.height / 2 - c.y - p.y); }""",
            group["at"],
        )
        others = evaluate_in_map(
            page,
            """(at) => { const m = window.map, p = m.latLngToContainerPoint(at), c = m.getContainer().getBoundingClientRect();
              return [...document.querySelectorAll('.rx-pin, .rx-cluster')].map((e) => { const r = e.getBoundingClientRect();
                return Math.hypot(r.x + r.width / 2 - c.x - p.x, r.y + r.height / 2 - c.y - p.y); }); }""",
            group["at"],
        )
        assert near <= min(others) + 1  # the nearest drawn marker, measured on the screen
