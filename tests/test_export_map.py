"""Scenes round-trip through their file; the standalone HTML opens from disk offline; the PNG."""

from __future__ import annotations

import io
import re

import pytest

from reseaux.app_data import load_actors, load_territory
from reseaux.export_map import alt_text, chromium_path, render_png, standalone_html
from reseaux.mapview import MapView, build_map
from reseaux.scenes import Scene, SceneError, SceneStore
from tests.conftest import ROOT, SCREENSHOTS


def test_scenes_round_trip_reorder_and_delete(tmp_path):
    store = SceneStore(tmp_path / "scenes.json")
    a = Scene("Le réseau", "185 partenaires", {"theme": "ivg"}, ["qpv"], "positron", "type", [49.44, 1.09], 12.5)
    b = Scene("Les manques", layers=["qpv", "cpts"])
    c = Scene("Les maraudes", filters={"type": "aller_vers"})
    for scene in (a, b, c):
        store.add(scene)
    assert SceneStore(tmp_path / "scenes.json").load() == [a, b, c]
    assert [s.id for s in store.move(c.id, -1)] == [a.id, c.id, b.id]
    assert [s.id for s in store.move(a.id, -5)] == [a.id, c.id, b.id]  # already first: stays
    assert [s.id for s in store.delete(c.id)] == [a.id, b.id]
    assert a.query() == {"theme": "ivg", "couches": "qpv", "fond": "positron", "couleur": "type"}


def test_a_broken_scenes_file_is_a_clear_error(tmp_path):
    path = tmp_path / "scenes.json"
    path.write_text("{pas du json", encoding="utf-8")
    with pytest.raises(SceneError, match="illisible"):
        SceneStore(path).load()


@pytest.fixture(scope="module")
def exported(tmp_path_factory, referential):
    territory = load_territory()
    actors = load_actors(ROOT / "data" / "actors.csv", referential).directory.actors
    view = MapView(layers=("qpv", "cpts"), basemap="positron")
    fmap = build_map(actors, territory.layers, territory.specs, view, referential, territory.home_bounds)
    alt = alt_text("Le réseau", "Tous les acteurs.", actors, [territory.spec("qpv")], referential)
    page = standalone_html(fmap, title="Réseau santé sexuelle <Rouen>", subtitle="185 partenaires", alt=alt)
    path = tmp_path_factory.mktemp("export") / "carte.html"
    path.write_text(page, encoding="utf-8")
    return path, page


def test_standalone_html_has_no_external_script_or_style(exported):
    _, page = exported
    assert not re.findall(r'<script src=', page)
    assert not re.findall(r'<link rel="stylesheet"', page)
    assert "L.markerClusterGroup" in page and "rxActorCluster" in page
    assert "Réseau santé sexuelle &lt;Rouen&gt;" in page  # the title is escaped
    assert "Texte alternatif" in page
    # Nothing is fetched from elsewhere (the browser test below checks the requests themselves).
    assert not re.findall(r'src="https?://', page) and "url(http" not in page and "@import" not in page


@pytest.mark.browser
def test_exported_html_opens_from_disk_with_the_network_cut(exported, page):
    path, _ = exported
    requests = []

    def block(route):
        requests.append(route.request.url)
        route.abort()

    page.route(re.compile(r"^https?://"), block)  # no network at all
    page.goto(path.as_uri())
    page.locator(".rx-cluster").first.wait_for(timeout=30_000)
    # Every actor is on the map, alone or in a cluster (waited for: clusters animate at start).
    page.wait_for_function("""() => document.querySelectorAll('.rx-pin').length +
        [...document.querySelectorAll('.rx-cluster span')].reduce((s, e) => s + (+e.textContent), 0) === 185""",
                           timeout=15_000)
    assert page.locator(".rx-legend").inner_text().startswith("Légende")
    assert page.locator('path.leaflet-interactive[stroke="#D55E00"]').count() == 16
    assert page.locator(".leaflet-control-layers").count() == 1
    assert all("tile" in url or "basemaps" in url or "geopf" in url for url in requests), requests
    page.locator(".rx-cluster").first.click()
    page.wait_for_timeout(600)
    page.locator(".rx-pin").first.click()
    page.locator(".rx-fiche").wait_for(timeout=5_000)


@pytest.mark.browser
def test_png_export_has_the_expected_size_and_content(exported):
    from PIL import Image

    assert chromium_path() is not None
    _, page = exported
    data = render_png(page, width=1200, height=800)
    image = Image.open(io.BytesIO(data)).convert("RGB")
    assert image.size == (1200, 800)
    colours = image.getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50  # not a blank page
    # The title band (white box, dark text) and the purple clusters are drawn.
    assert any(abs(r - 0x7B) < 12 and abs(g - 0x2D) < 12 and abs(b - 0x8E) < 12 for _, (r, g, b) in colours)
    SCREENSHOTS.mkdir(exist_ok=True)
    (SCREENSHOTS / "export.png").write_bytes(data)
