"""Map builders, inspected as folium objects and as rendered HTML (no browser)."""

import base64
import gzip
import json
import re
from html import unescape

import folium

from reseaux.annuaire.directory import load_directory
from reseaux.carte.actor_layer import actor_payload, decode_payload, fiche_blob
from reseaux.carte.legend import legend_codes
from reseaux.carte.mapview import MapView, build_map
from reseaux.territoire.layers import load_layers, load_registry
from tests.conftest import DATA

GEO = DATA / "geo"
XSS = "<img src=x onerror=alert(1)>"


def fixture(referential, tmp_path, name=XSS):
    text = (DATA / "actors_small.csv").read_text(encoding="utf-8").replace("Camille Exemple", name)
    path = tmp_path / "actors.csv"
    path.write_text(text, encoding="utf-8")
    actors = load_directory(path, referential).actors
    specs = load_registry(GEO / "layers.toml")
    return actors, specs, load_layers(specs, GEO)


def walk(element):
    yield element
    for child in element._children.values():
        yield from walk(child)


def render(fmap):
    return fmap.get_root().render()


def unpack(html):
    """The fiches the page carries (gzip + base64, as the browser inflates them)."""
    blob = re.search(r'rx\.blobFiches\("([A-Za-z0-9+/=]+)"', html).group(1)
    return json.loads(gzip.decompress(base64.b64decode(blob)))


def test_actors_are_drawn_in_bulk_never_one_marker_each(referential, tmp_path):
    actors, specs, layers = fixture(referential, tmp_path)
    fmap = build_map(actors, layers, specs, MapView(layers=("carres",)), referential, (1.09, 49.43, 1.13, 49.45))
    assert not any(isinstance(e, folium.Marker) for e in walk(fmap))
    html = render(fmap)
    payload = json.loads(re.search(r"rx\.actorCluster\((\{.*?\})\)\.addTo", html).group(1))
    points = decode_payload(payload)
    assert len(points) == payload["n"] == 3
    assert points[0] == (49.443, 1.099, 1, 0)  # lat, lon, colour (professionnel), fiche row
    assert len(payload["data"]) < 100  # a few bytes an actor, compressed
    fiches = unpack(html)
    assert [f[0] for f in fiches["fiches"]] == [XSS, "Centre Santé Élan", "Maraude Exemple"]


def test_map_loads_leaflet_locally_not_from_a_cdn(referential, tmp_path):
    actors, specs, layers = fixture(referential, tmp_path)
    html = render(
        build_map(actors, layers, specs, MapView(layers=("carres",)), referential, (1.09, 49.43, 1.13, 49.45))
    )
    scripts = re.findall(r'<script src="([^"]+)"', html)
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert scripts == ["/app/static/vendor/reseaux.js"]  # Leaflet and its plugins, one request
    assert "/app/static/vendor/leaflet/leaflet.css" in sheets
    assert all(s.startswith("/app/static/vendor/") for s in sheets), sheets


def test_the_bundle_is_the_map_s_scripts_in_order_as_the_registry_gave_them():
    """``make vendor`` writes Leaflet and its plugins as one file: each installed file, in
    assets.BUNDLED's order (Leaflet first), less its source-map comment."""
    from reseaux.carte.assets import BUNDLE, BUNDLED, VENDOR_DIR

    made = (VENDOR_DIR / BUNDLE[1]).read_text(encoding="utf-8")
    expected = ""
    for _, path in BUNDLED:
        text = (VENDOR_DIR / path).read_text(encoding="utf-8")
        kept = [line for line in text.splitlines(keepends=True) if not line.startswith("//# sourceMappingURL=")]
        expected += "".join(kept) + "\n;\n"
    assert made == expected
    assert made.index("Leaflet 1.9") < made.index("leaflet.fullscreen") < made.index("Dominik Moritz")


def test_html_in_a_field_never_reaches_the_page_as_markup(referential, tmp_path):
    actors, specs, layers = fixture(referential, tmp_path, name=XSS + "</script><script>alert(2)</script>")
    html = render(
        build_map(actors, layers, specs, MapView(layers=("carres",)), referential, (1.09, 49.43, 1.13, 49.45))
    )
    assert "<img src=x" not in html
    assert "</script><script>alert(2)" not in html
    # Carried as data (compressed), shown with textContent by the page's script.
    assert unpack(html)["fiches"][0][0] == XSS + "</script><script>alert(2)</script>"


def test_fiche_has_every_filled_field_with_labels(referential, tmp_path):
    actors, _, _ = fixture(referential, tmp_path, name="Camille Exemple")
    payload = json.loads(gzip.decompress(base64.b64decode(fiche_blob(actors, referential))))
    fields = [label for _, label in payload["fields"]]
    fiche = dict(zip(fields, payload["fiches"][0], strict=True))
    assert fiche["Nom"] == "Camille Exemple"
    assert fiche["Profession"] == "Sage-femme"
    assert fiche["Thématiques"] == "IVG, Contraception"
    assert fiche["Modalités"] == "Sur rendez-vous, Gratuit"
    assert fiche["Adresse"] == "1 rue Fictive, 76000 Rouen"
    assert fiche["Téléphone"] == "02 61 91 00 01"
    assert fiche["Site web"] == "https://example.org/camille"
    assert fiche[""] == "Fiche fictive (données de démonstration)"
    kinds = dict(payload["fields"][i] for i in range(len(fields)))
    assert kinds["tel"] == "Téléphone" and kinds["mail"] == "Courriel" and kinds["url"] == "Site web"


def test_colour_follows_the_chosen_category_and_prefers_filtered_themes(referential, tmp_path):
    actors, _, _ = fixture(referential, tmp_path)
    by_type = actor_payload(actors, referential, "type")
    colors = [by_type["colors"][p[2]] for p in decode_payload(by_type)]
    assert colors == [referential.color("type", t) for t in ("professionnel", "structure", "aller_vers")]
    themed = actor_payload(actors, referential, "thematique", highlight=("contraception",))
    points = decode_payload(themed)
    assert themed["colors"][points[0][2]] == referential.color("thematique", "contraception")
    assert themed["colors"][points[1][2]] == referential.color("thematique", "ist_vih")


def test_legend_and_layers_and_base_maps(referential, tmp_path):
    actors, specs, layers = fixture(referential, tmp_path)
    view = MapView(layers=("carres", "table"), basemap="positron", color_by="type")
    fmap = build_map(actors, layers, specs, view, referential, (1.09, 49.43, 1.13, 49.45))
    page = render(fmap)
    legend = unescape(json.loads(re.search(r"div.innerHTML = (\".*?\");", page).group(1)))
    for label in ("Professionnel·le", "Structure", "Action d'aller-vers", "Carrés", "Table"):
        assert label in legend
    assert "Point de distribution" not in legend  # absent from the directory, absent from the legend
    tiles = [e for e in walk(fmap) if isinstance(e, folium.TileLayer)]
    assert [t.layer_name for t in tiles] == [
        "OpenStreetMap France",
        "OpenStreetMap",
        "CartoDB Positron (clair, pour projeter)",
        "IGN Plan",
    ]
    assert [t.show for t in tiles] == [False, False, True, False]
    assert legend_codes(actors, "thematique") == ["contraception", "ist_vih", "ivg", "precarite_menstruelle"]


def test_view_round_trips_through_the_query_string():
    specs = load_registry(GEO / "layers.toml")
    view = MapView(layers=("table",), basemap="ign", color_by="profession")
    assert MapView.from_query(view.to_query(), specs) == view
    assert MapView.from_query({}, specs).layers == ("carres",)  # visible = true by default
    assert MapView.from_query({"couches": "-"}, specs).layers == ()
    assert MapView.from_query({"fond": "evil", "couleur": "x"}, specs) == MapView(layers=("carres",))


def test_precomputed_layers_draw_the_same_map(referential, tmp_path):
    from reseaux.carte.mapview import build_base_map
    from reseaux.carte.perimeters import display_geojson

    _actors, specs, layers = fixture(referential, tmp_path)
    view = MapView(layers=("carres", "table"))
    bounds = (1.09, 49.43, 1.13, 49.45)
    cached = {layer_id: display_geojson(frame) for layer_id, frame in layers.items()}

    def perimeters(fmap):
        return [e.data for e in walk(fmap) if isinstance(e, folium.GeoJson)]

    assert perimeters(build_base_map(layers, specs, view, referential, bounds, geojson=cached)) == perimeters(
        build_base_map(layers, specs, view, referential, bounds)
    )


def test_outlines_are_drawn_simplified_a_few_metres_at_most(tmp_path):
    """A layer added as published (the QPV 2015 of the Marseille area, tests/data/real) is drawn
    four times lighter, each outline within 10 m of the original, none lost."""
    import geopandas as gpd
    import shapely

    from reseaux.carte.perimeters import display_geojson

    frame = gpd.read_file(DATA / "real" / "qpv2015_arrondissement_marseille_13.gpkg").to_crs(4326)
    frame = frame.assign(code=frame["CODE_QP"], nom=frame["NOM_QP"], geometry=frame.geometry.make_valid())
    raw = json.dumps(frame[["code", "nom", "geometry"]].__geo_interface__)
    drawn = display_geojson(frame)
    assert len(json.dumps(drawn)) * 3 < len(raw)
    shapes = gpd.GeoSeries([shapely.geometry.shape(f["geometry"]) for f in drawn["features"]], crs=4326)
    assert len(shapes) == len(frame) and not shapes.is_empty.any() and shapes.is_valid.all()
    apart = shapes.to_crs(2154).hausdorff_distance(frame.geometry.to_crs(2154).reset_index(drop=True))
    assert apart.max() < 10


def test_every_map_lets_a_person_zoom_on_a_phone(referential, tmp_path):
    """folium's page says « maximum-scale=1.0, user-scalable=no » (no pinch-zoom, WCAG 1.4.4): the
    map as streamlit-folium serves it (the head it takes from the figure) and as exported says neither."""
    from streamlit_folium import _get_header

    from reseaux.carte.mapbits import position_picker, simple_map
    from reseaux.carte.stage_map import stage_base_map

    actors, specs, layers = fixture(referential, tmp_path)
    bounds = (0.9, 49.3, 1.2, 49.5)
    maps = {
        "carte": build_map(actors, layers, specs, MapView(layers=("qpv",)), referential, bounds),
        "présentation": stage_base_map(bounds, None),
        "simple": simple_map((49.4, 1.0), 11),
        "position": position_picker(49.4, 1.0, bounds),
    }
    for name, fmap in maps.items():
        fmap.render()  # as st_folium does before reading the head
        for html in (_get_header(fmap), render(fmap)):
            viewport = re.search(r'<meta name="viewport" content="([^"]+)"', html).group(1)
            assert "width=device-width" in viewport, name
            assert "user-scalable" not in viewport and "maximum-scale" not in viewport, (name, viewport)
